/* test-relay-legs.c — the relay's leg handles without peers: the id → leg map, limits and the
 * leg getters. Runs the main context only to let stopped legs close. */
#include "kmg-host-addrs.h"
#include "kmg-net-deny.h"
#include "kmg-relay.h"

typedef struct
{
  guint closed;
} LegsCtx;

static void
on_leg_state (KmgRelayLeg *leg, KmgRelayLegState state, gpointer user_data)
{
  LegsCtx *ctx = user_data;

  if (state == KMG_RELAY_LEG_STATE_CLOSED)
    ctx->closed++;
}

static void
run_until_closed (LegsCtx *ctx, guint closed)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (ctx->closed < closed && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  g_assert_cmpuint (ctx->closed, ==, closed);
}

static void
test_id_map (void)
{
  g_autoptr (GError) error = NULL;
  KmgRelayCallbacks cb = { .leg_state = on_leg_state };
  LegsCtx ctx = { 0 };
  gboolean created = FALSE;
  g_autoptr (KmgRelayConfig) config = kmg_relay_config_new ();

  config->allow_loopback = TRUE;
  g_autoptr (KmgRelay) relay = kmg_relay_new (config, &cb, &ctx, &error);
  g_assert_no_error (error);

  KmgRelayLeg *a = kmg_relay_buyer_add (relay, 7, 42, &created, &error);
  g_assert_no_error (error);
  g_assert_true (created);
  KmgRelayLeg *b = kmg_relay_buyer_add (relay, 7, 43, &created, &error);
  g_assert_no_error (error);
  g_assert_false (created);
  KmgRelayLeg *seller = kmg_relay_get_seller_leg (relay, 7);
  g_assert_nonnull (seller);
  g_assert_null (kmg_relay_get_seller_leg (relay, 8));

  g_assert_true (kmg_relay_get_buyer_leg (relay, 42) == a);
  g_assert_true (kmg_relay_get_buyer_leg (relay, 43) == b);
  g_assert_null (kmg_relay_get_buyer_leg (relay, 44));
  g_assert_cmpint (kmg_relay_leg_get_kind (a), ==, KMG_RELAY_LEG_BUYER);
  g_assert_cmpint (kmg_relay_leg_get_session_id (a), ==, 42);
  g_assert_cmpint (kmg_relay_leg_get_seller_id (a), ==, 7);
  g_assert_cmpint (kmg_relay_leg_get_kind (seller), ==, KMG_RELAY_LEG_SELLER);
  g_assert_cmpint (kmg_relay_leg_get_session_id (seller), ==, 0);
  g_assert_cmpint (kmg_relay_leg_get_seller_id (seller), ==, 7);

  /* One buyer leg per session. */
  g_assert_null (kmg_relay_buyer_add (relay, 7, 42, NULL, &error));
  g_assert_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_STATE);
  g_clear_error (&error);

  /* A stopped leg leaves the map at once; the session may have a new one before it closes. */
  kmg_relay_buyer_stop (a);
  g_assert_null (kmg_relay_get_buyer_leg (relay, 42));
  KmgRelayLeg *again = kmg_relay_buyer_add (relay, 7, 42, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (kmg_relay_get_buyer_leg (relay, 42) == again);
  run_until_closed (&ctx, 1);
  g_assert_true (kmg_relay_get_buyer_leg (relay, 42) == again);

  /* The seller leg goes with its last buyer. */
  kmg_relay_buyer_stop (b);
  kmg_relay_buyer_stop (again);
  run_until_closed (&ctx, 4);
  g_assert_null (kmg_relay_get_seller_leg (relay, 7));
  g_assert_null (kmg_relay_get_buyer_leg (relay, 42));
}

/* The host's own addresses as deny entries: single hosts after the given list; loopback only when
 * loopback is not allowed anyway; the IPv6 forms carrying an IPv4 one are covered by it. */
static void
test_host_addrs_cidrs (void)
{
  g_autoptr (GPtrArray) addrs = g_ptr_array_new_with_free_func (g_object_unref);
  const char *const base[] = { "169.254.0.0/16", NULL };
  const char *const given[] = { "192.0.2.7", "2001:db8::5", "127.0.0.1", "::1", "192.0.2.7", NULL };
  g_autoptr (GError) error = NULL;

  for (guint i = 0; given[i] != NULL; i++)
    g_ptr_array_add (addrs, g_inet_address_new_from_string (given[i]));
  g_auto (GStrv) strict = kmg_host_addrs_deny_cidrs (base, addrs, FALSE);
  const char *const want_strict[] = { "169.254.0.0/16", "192.0.2.7", "2001:db8::5", "127.0.0.1", "::1", NULL };
  g_assert_true (g_strv_equal ((const char *const *) strict, want_strict));
  g_auto (GStrv) loose = kmg_host_addrs_deny_cidrs (base, addrs, TRUE);
  const char *const want_loose[] = { "169.254.0.0/16", "192.0.2.7", "2001:db8::5", NULL };
  g_assert_true (g_strv_equal ((const char *const *) loose, want_loose));
  g_auto (GStrv) defaults = kmg_host_addrs_deny_cidrs (NULL, NULL, TRUE);
  g_assert_true (g_strv_equal ((const char *const *) defaults, kmg_net_deny_default_cidrs ()));

  g_autoptr (KmgNetDeny) deny = kmg_net_deny_new ((const char *const *) loose, TRUE, &error);
  g_assert_no_error (error);
  const char *denied[] = { "192.0.2.7", "::ffff:192.0.2.7", "64:ff9b::192.0.2.7", "2001:db8::5", NULL };
  const char *allowed[] = { "192.0.2.8", "2001:db8::6", "127.0.0.1", NULL };
  for (guint i = 0; denied[i] != NULL; i++)
    g_assert_true (kmg_net_deny_is_denied (deny, denied[i]));
  for (guint i = 0; allowed[i] != NULL; i++)
    g_assert_false (kmg_net_deny_is_denied (deny, allowed[i]));
}

/* What getifaddrs lists: at least loopback, every entry an IPv4 or IPv6 address. */
static void
test_host_addrs_list (void)
{
  g_autoptr (GPtrArray) addrs = kmg_host_addrs_list ();
  gboolean loopback = FALSE;

  for (guint i = 0; i < addrs->len; i++)
    {
      GInetAddress *a = g_ptr_array_index (addrs, i);
      GSocketFamily family = g_inet_address_get_family (a);
      g_assert_true (family == G_SOCKET_FAMILY_IPV4 || family == G_SOCKET_FAMILY_IPV6);
      loopback |= g_inet_address_get_is_loopback (a);
    }
  g_assert_true (loopback);
}

/* The first address of an interface of this host that is neither loopback nor link-local. */
static char *
host_address (void)
{
  g_autoptr (GPtrArray) addrs = kmg_host_addrs_list ();

  for (guint i = 0; i < addrs->len; i++)
    {
      GInetAddress *a = g_ptr_array_index (addrs, i);
      if (!g_inet_address_get_is_loopback (a) && !g_inet_address_get_is_link_local (a))
        return g_inet_address_to_string (a);
    }
  return NULL;
}

/* A peer naming the server's own address, trickled or in its description, is refused unless
 * relay.deny_host_addresses is off; loopback follows allow_loopback. */
static void
test_host_addresses_denied (void)
{
  g_autofree char *own = host_address ();
  KmgRelayCallbacks cb = { 0 };

  if (own == NULL)
    {
      g_test_skip ("no interface address but loopback");
      return;
    }
  for (guint deny = 0; deny < 2; deny++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (KmgRelayConfig) config = kmg_relay_config_new ();
      config->allow_loopback = TRUE;
      config->deny_host_addresses = deny;
      g_autoptr (KmgRelay) relay = kmg_relay_new (config, &cb, NULL, &error);
      g_assert_no_error (error);
      kmg_relay_buyer_add (relay, 7, 42, NULL, &error);
      g_assert_no_error (error);
      KmgRelayLeg *seller = kmg_relay_get_seller_leg (relay, 7);

      g_autofree char *cand = g_strdup_printf ("candidate:1 1 UDP 2122252543 %s 5353 typ host", own);
      gboolean ok = kmg_relay_leg_add_remote_candidate (seller, 0, cand, &error);
      if (deny)
        {
          g_assert_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_DENIED_ADDRESS);
          g_assert_false (ok);
        }
      else
        g_assert_no_error (error);
      g_clear_error (&error);

      g_autofree char *sdp = g_strdup_printf ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                                              "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n"
                                              "a=mid:0\r\na=rtpmap:96 VP8/90000\r\na=%s\r\n", cand);
      ok = kmg_relay_leg_set_remote_sdp (seller, "offer", sdp, &error);
      if (deny)
        g_assert_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_DENIED_ADDRESS);
      else
        g_assert_no_error (error);
      g_assert_true (ok == !deny);
      g_clear_error (&error);

      g_assert_true (kmg_relay_leg_add_remote_candidate (seller, 0, "candidate:1 1 UDP 2122252543 127.0.0.1 5353 typ host",
                                                         &error));
      g_assert_no_error (error);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/relay/legs/id-map", test_id_map);
  g_test_add_func ("/relay/host-addrs/deny-cidrs", test_host_addrs_cidrs);
  g_test_add_func ("/relay/host-addrs/list", test_host_addrs_list);
  g_test_add_func ("/relay/host-addrs/denied-to-peers", test_host_addresses_denied);
  return g_test_run ();
}
