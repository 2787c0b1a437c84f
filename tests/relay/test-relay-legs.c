/* test-relay-legs.c — the relay's leg handles without peers: the id → leg map, limits and the
 * leg getters. Runs the main context only to let stopped legs close. */
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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/relay/legs/id-map", test_id_map);
  return g_test_run ();
}
