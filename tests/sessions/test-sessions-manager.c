/* test-sessions-manager.c — the watch-session state machine on a fake clock: paths, fallback,
 * privacy of relayed parties, end reasons, grace, late messages. */

#include "sessions-fixture.h"

#include <math.h>

#define BUYER 1
#define SELLER 2
#define OTHER 99
#define BUYER_IP "203.0.113.11"
#define SELLER_IP "198.51.100.22"

static KmgSessionSignal
sig_sdp (KmgSessionSignalKind kind, const char *sdp)
{
  return (KmgSessionSignal){ .kind = kind, .sdp = sdp, .mline_index = -1 };
}

static KmgSessionSignal
sig_cand (const char *cand)
{
  return (KmgSessionSignal){ .kind = KMG_SESSION_SIGNAL_ICE_CANDIDATE, .candidate = cand, .mline_index = 0,
                             .sdp_mid = "0" };
}

static const char *
str (JsonObject *o, const char *name)
{
  g_assert_nonnull (o);
  return json_object_get_string_member (o, name);
}

/* Both parties exchange offer/answer/candidates naming their own address. */
static void
exchange_signals (SessionFx *fx, gint64 id, GError **seller_err, GError **buyer_err)
{
  g_autofree char *seller_sdp = session_fx_sdp (SELLER_IP), *buyer_sdp = session_fx_sdp (BUYER_IP);
  g_autofree char *seller_cand = session_fx_candidate (SELLER_IP), *buyer_cand = session_fx_candidate (BUYER_IP);
  KmgSessionSignal offer = sig_sdp (KMG_SESSION_SIGNAL_SDP_OFFER, seller_sdp);
  KmgSessionSignal answer = sig_sdp (KMG_SESSION_SIGNAL_SDP_ANSWER, buyer_sdp);
  KmgSessionSignal sc = sig_cand (seller_cand), bc = sig_cand (buyer_cand);

  g_assert_true (kmg_session_manager_signal (fx->mgr, id, SELLER, 0, &offer, fx->now, seller_err));
  g_assert_true (kmg_session_manager_signal (fx->mgr, id, BUYER, 0, &answer, fx->now, buyer_err));
  g_assert_true (kmg_session_manager_signal (fx->mgr, id, SELLER, 0, &sc, fx->now, seller_err));
  g_assert_true (kmg_session_manager_signal (fx->mgr, id, BUYER, 0, &bc, fx->now, buyer_err));
}

static void
buyer_connects (SessionFx *fx, gint64 id)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (kmg_session_manager_ice_state (fx->mgr, id, BUYER, 0, KMG_SESSION_PATH_NONE,
                                                KMG_SESSION_ICE_CONNECTED, fx->now, &error));
  g_assert_true (kmg_session_manager_first_frame (fx->mgr, id, BUYER, 0, KMG_SESSION_PATH_NONE, fx->now, &error));
  g_assert_no_error (error);
}

static KmgSessionState
state_of (SessionFx *fx, gint64 id)
{
  KmgSession *s = kmg_session_manager_get (fx->mgr, id);

  g_assert_nonnull (s);
  return kmg_session_get_state (s);
}

static void
assert_ended (SessionFx *fx, gint64 id, const char *reason)
{
  g_autofree char *call = g_strdup_printf ("billing_end:%" G_GINT64_FORMAT ":%s", id, reason);
  g_autofree char *prefix = g_strdup_printf ("billing_end:%" G_GINT64_FORMAT ":", id);
  KmgSession *s = kmg_session_manager_get (fx->mgr, id);

  g_assert_cmpint (kmg_session_get_state (s), ==, KMG_SESSION_ENDED);
  g_assert_cmpstr (kmg_session_end_reason_to_string (kmg_session_get_end_reason (s)), ==, reason);
  g_assert_true (session_fx_has_call (fx, call));
  g_assert_cmpuint (session_fx_count_calls (fx, prefix), ==, 1);
  for (gint64 u = kmg_session_get_buyer (s); u; u = u == kmg_session_get_buyer (s)
                                                         ? kmg_session_get_seller (s) : 0)
    {
      guint n = 0;

      for (guint i = 0; i < fx->sent->len; i++)
        {
          Sent *m = fx->sent->pdata[i];
          if (m->user != u || !g_str_equal (m->type, "session.ended")
              || json_object_get_int_member (m->msg, "session_id") != id)
            continue;
          g_assert_cmpstr (str (m->msg, "reason"), ==, reason);
          g_assert_cmpstr (str (m->msg, "state"), ==, "ended");
          n++;
        }
      g_assert_cmpuint (n, ==, 1);
    }
}

/* No message to one party carries the other's address (the promise of always_relay). */
static void
assert_no_address_leak (SessionFx *fx)
{
  g_assert_false (session_fx_user_saw (fx, BUYER, SELLER_IP));
  g_assert_false (session_fx_user_saw (fx, SELLER, BUYER_IP));
  for (guint i = 0; i < fx->sent->len; i++)
    {
      Sent *s = fx->sent->pdata[i];
      if (g_str_equal (s->type, "signal"))
        g_assert_cmpstr (str (s->msg, "from"), ==, "relay");
    }
}

static void
test_p2p_happy_path (void)
{
  SessionFx fx;
  g_autoptr (GError) error = NULL;
  KmgSessionStats stats = { .frames_decoded = 30, .bytes_received = 40000, .timestamp_ms = 5 };
  gint64 id;
  JsonObject *m;

  session_fx_init (&fx, KMG_SESSION_POLICY_AUTO);
  id = session_fx_start (&fx, BUYER, SELLER, NULL);
  g_assert_cmpint (id, ==, 101); /* the billing id names the session */
  m = session_fx_last (&fx, SELLER, "session.offer");
  g_assert_cmpint (json_object_get_int_member (m, "buyer_id"), ==, BUYER);
  g_assert_cmpint (json_object_get_int_member (m, "price_per_minute"), ==, 10);
  g_assert_cmpuint (session_fx_count (&fx, BUYER, "session.offer"), ==, 0);
  g_assert_cmpstr (str (session_fx_last (&fx, BUYER, "session.state"), "state"), ==, "requested");

  g_assert_true (kmg_session_manager_accept (fx.mgr, id, SELLER, 20, fx.now, &error));
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_CONNECTING_P2P);
  g_assert_cmpstr (str (session_fx_last (&fx, BUYER, "session.use_p2p"), "initiator"), ==, "seller");
  g_assert_nonnull (session_fx_last (&fx, SELLER, "session.use_p2p"));
  m = session_fx_last (&fx, BUYER, "session.state");
  g_assert_cmpstr (str (m, "state"), ==, "connecting_p2p");
  g_assert_cmpint (json_object_get_int_member (m, "seller_id"), ==, SELLER);
  g_assert_cmpint (json_object_get_int_member (session_fx_last (&fx, SELLER, "session.state"), "buyer_id"), ==,
                   BUYER);

  exchange_signals (&fx, id, &error, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (session_fx_count (&fx, BUYER, "signal"), ==, 2);
  g_assert_cmpuint (session_fx_count (&fx, SELLER, "signal"), ==, 2);
  m = session_fx_last (&fx, BUYER, "signal");
  g_assert_cmpstr (str (m, "from"), ==, "seller");
  g_assert_cmpstr (str (m, "kind"), ==, "ice_candidate");
  g_assert_nonnull (strstr (str (m, "candidate"), SELLER_IP));
  g_assert_cmpstr (str (session_fx_last (&fx, SELLER, "signal"), "from"), ==, "buyer");
  /* Each party is reached on the connection it used for this session. */
  for (guint i = 0; i < fx.sent->len; i++)
    {
      Sent *s = fx.sent->pdata[i];
      if (g_str_equal (s->type, "signal"))
        g_assert_cmpuint (s->conn, ==, s->user == BUYER ? BUYER * 10 : 20);
    }

  /* Connected alone is not enough: the buyer must see a frame. */
  g_assert_true (kmg_session_manager_ice_state (fx.mgr, id, BUYER, 0, KMG_SESSION_PATH_P2P,
                                                KMG_SESSION_ICE_CONNECTED, fx.now, &error));
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_CONNECTING_P2P);
  fx.now += 800;
  g_assert_true (kmg_session_manager_first_frame (fx.mgr, id, BUYER, 0, KMG_SESSION_PATH_P2P, fx.now, &error));
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_ACTIVE);
  g_assert_cmpint (kmg_session_get_active_ms (kmg_session_manager_get (fx.mgr, id)), ==, fx.now);

  g_assert_true (kmg_session_manager_stats (fx.mgr, id, BUYER, &stats, fx.now, &error));
  g_assert_true (session_fx_has_call (&fx, "stats:101:30"));
  session_fx_advance (&fx, 60000); /* no timeout fires on an active session */
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_ACTIVE);

  g_assert_true (kmg_session_manager_leave (fx.mgr, id, BUYER, fx.now, &error));
  g_assert_no_error (error);
  assert_ended (&fx, id, "buyer_left");
  g_assert_cmpuint (session_fx_count_calls (&fx, "relay_"), ==, 0);
  session_fx_clear (&fx);
}

static void
assert_fell_back (SessionFx *fx, gint64 id)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *start = g_strdup_printf ("relay_start:%" G_GINT64_FORMAT, id);
  guint to_buyer = session_fx_count (fx, BUYER, "signal"), to_seller = session_fx_count (fx, SELLER, "signal");
  KmgSessionSignal stale;

  g_assert_cmpint (state_of (fx, id), ==, KMG_SESSION_CONNECTING_RELAY);
  g_assert_true (kmg_session_get_fell_back (kmg_session_manager_get (fx->mgr, id)));
  g_assert_true (session_fx_has_call (fx, start));
  g_assert_true (json_object_get_boolean_member (session_fx_last (fx, BUYER, "session.use_relay"), "fallback"));
  g_assert_cmpint (json_object_get_int_member (session_fx_last (fx, SELLER, "session.use_relay"), "session_id"),
                   ==, id);

  /* After the switch nothing crosses between the parties: it all goes to the relay legs. */
  exchange_signals (fx, id, &error, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (session_fx_count (fx, BUYER, "signal"), ==, to_buyer);
  g_assert_cmpuint (session_fx_count (fx, SELLER, "signal"), ==, to_seller);
  g_assert_cmpuint (session_fx_count_calls (fx, "relay_signal:"), ==, 4);
  g_assert_true (session_fx_has_call (fx, "relay_signal:101:seller:sdp_offer"));
  g_assert_true (session_fx_has_call (fx, "relay_signal:101:buyer:sdp_answer"));

  /* A late message about the abandoned P2P connection is refused, not applied. */
  stale = sig_cand ("candidate:1 1 udp 1 192.0.2.1 9 typ host");
  stale.path = KMG_SESSION_PATH_P2P;
  g_assert_false (kmg_session_manager_signal (fx->mgr, id, BUYER, 0, &stale, fx->now, &error));
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_STALE_PATH);
  g_clear_error (&error);
  g_assert_false (kmg_session_manager_ice_state (fx->mgr, id, SELLER, 0, KMG_SESSION_PATH_P2P,
                                                 KMG_SESSION_ICE_FAILED, fx->now, &error));
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_STALE_PATH);
  g_clear_error (&error);
  g_assert_cmpint (state_of (fx, id), ==, KMG_SESSION_CONNECTING_RELAY);

  g_assert_true (kmg_session_manager_first_frame (fx->mgr, id, BUYER, 0, KMG_SESSION_PATH_RELAY, fx->now, &error));
  g_assert_cmpint (state_of (fx, id), ==, KMG_SESSION_ACTIVE);
  g_assert_cmpint (kmg_session_get_path (kmg_session_manager_get (fx->mgr, id)), ==, KMG_SESSION_PATH_RELAY);
  kmg_session_manager_leave (fx->mgr, id, SELLER, fx->now, NULL);
  assert_ended (fx, id, "seller_left");
  g_assert_cmpuint (session_fx_count_calls (fx, "relay_stop:"), ==, 1);
}

static void
test_fallback_timeout (void)
{
  SessionFx fx;
  gint64 id;

  session_fx_init (&fx, KMG_SESSION_POLICY_AUTO);
  id = session_fx_start_accepted (&fx, BUYER, SELLER, NULL);
  exchange_signals (&fx, id, NULL, NULL);
  g_assert_true (kmg_session_manager_ice_state (fx.mgr, id, BUYER, 0, 0, KMG_SESSION_ICE_CONNECTED, fx.now, NULL));
  g_assert_cmpint (kmg_session_manager_next_deadline (fx.mgr), ==, fx.now + 5000);
  session_fx_advance (&fx, 4999);
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_CONNECTING_P2P);
  g_assert_cmpuint (session_fx_count_calls (&fx, "relay_start:"), ==, 0);
  session_fx_advance (&fx, 1);
  assert_fell_back (&fx, id);
  session_fx_clear (&fx);
}

static void
test_fallback_ice_failed (gconstpointer data)
{
  gboolean from_active = GPOINTER_TO_INT (data);
  SessionFx fx;
  gint64 id;

  session_fx_init (&fx, KMG_SESSION_POLICY_AUTO);
  id = session_fx_start_accepted (&fx, BUYER, SELLER, NULL);
  if (from_active)
    buyer_connects (&fx, id);
  fx.now += 100;
  g_assert_true (kmg_session_manager_ice_state (fx.mgr, id, SELLER, 0, KMG_SESSION_PATH_P2P,
                                                KMG_SESSION_ICE_FAILED, fx.now, NULL));
  assert_fell_back (&fx, id);
  session_fx_clear (&fx);
}

static void
test_always_relay (gconstpointer data)
{
  const char *who = data;
  SessionFx fx;
  g_autoptr (GError) error = NULL;
  KmgWatchRequest req = session_fx_request ();
  g_autofree char *relay_sdp = session_fx_sdp ("192.0.2.50");
  KmgSessionSignal relay_offer = sig_sdp (KMG_SESSION_SIGNAL_SDP_OFFER, relay_sdp);
  KmgSessionSignal relay_answer = sig_sdp (KMG_SESSION_SIGNAL_SDP_ANSWER, relay_sdp);
  gint64 id;

  session_fx_init (&fx, g_str_equal (who, "policy") ? KMG_SESSION_POLICY_ALWAYS : KMG_SESSION_POLICY_AUTO);
  fx.offer_needed = TRUE;
  req.buyer_always_relay = g_str_equal (who, "buyer");
  req.seller_always_relay = g_str_equal (who, "seller");
  id = session_fx_start_accepted (&fx, BUYER, SELLER, &req);
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_CONNECTING_RELAY);
  g_assert_false (kmg_session_get_fell_back (kmg_session_manager_get (fx.mgr, id)));
  g_assert_cmpuint (session_fx_count (&fx, BUYER, "session.use_p2p") + session_fx_count (&fx, SELLER, "session.use_p2p"),
                    ==, 0);
  g_assert_false (json_object_get_boolean_member (session_fx_last (&fx, BUYER, "session.use_relay"), "fallback"));
  g_assert_cmpstr (str (session_fx_last (&fx, BUYER, "session.use_relay"), "relay_hint"), ==, "relay.example");
  g_assert_true (json_object_get_boolean_member (session_fx_last (&fx, SELLER, "session.use_relay"), "offer_needed"));

  exchange_signals (&fx, id, &error, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (session_fx_count_calls (&fx, "relay_signal:"), ==, 4);
  g_assert_true (kmg_session_manager_relay_to_buyer (fx.mgr, id, &relay_offer, fx.now));
  g_assert_true (kmg_session_manager_relay_to_seller (fx.mgr, SELLER, &relay_answer, fx.now));
  g_assert_cmpstr (str (session_fx_last (&fx, BUYER, "signal"), "kind"), ==, "sdp_offer");
  g_assert_cmpstr (str (session_fx_last (&fx, SELLER, "signal"), "kind"), ==, "sdp_answer");
  /* Timeouts never turn a relayed session into P2P. */
  session_fx_advance (&fx, 6000);
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_CONNECTING_RELAY);
  g_assert_true (kmg_session_manager_ice_state (fx.mgr, id, BUYER, 0, 0, KMG_SESSION_ICE_FAILED, fx.now, NULL));
  assert_ended (&fx, id, "ice_failed");
  g_assert_cmpuint (session_fx_count_calls (&fx, "relay_stop:"), ==, 1);
  assert_no_address_leak (&fx);
  session_fx_clear (&fx);
}

static void
test_never_policy (void)
{
  SessionFx fx;
  g_autoptr (GError) error = NULL;
  KmgWatchRequest req = session_fx_request ();
  gint64 id;

  session_fx_init (&fx, KMG_SESSION_POLICY_NEVER);
  id = session_fx_start_accepted (&fx, BUYER, SELLER, NULL);
  session_fx_advance (&fx, 6000); /* past p2p_timeout: no fallback under never */
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_CONNECTING_P2P);
  g_assert_true (kmg_session_manager_ice_state (fx.mgr, id, BUYER, 0, 0, KMG_SESSION_ICE_FAILED, fx.now, NULL));
  assert_ended (&fx, id, "ice_failed");

  id = session_fx_start_accepted (&fx, BUYER, SELLER, NULL);
  session_fx_advance (&fx, fx.config.connect_timeout_ms);
  assert_ended (&fx, id, "ice_failed");
  g_assert_cmpuint (session_fx_count_calls (&fx, "relay_"), ==, 0);

  req.seller_always_relay = TRUE;
  g_assert_cmpint (kmg_session_manager_watch_start (fx.mgr, BUYER, 0, SELLER, &req, fx.now, &error), ==, 0);
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_RELAY_UNAVAILABLE);
  session_fx_clear (&fx);
}

static void
test_non_participant (void)
{
  SessionFx fx;
  g_autoptr (GError) error = NULL;
  g_autofree char *cand = session_fx_candidate ("192.0.2.9");
  KmgSessionSignal sig = sig_cand (cand);
  KmgSessionStats stats = { 0 };
  gint64 id;
  guint sent;

  session_fx_init (&fx, KMG_SESSION_POLICY_AUTO);
  id = session_fx_start_accepted (&fx, BUYER, SELLER, NULL);
  sent = fx.sent->len;
#define REFUSED(call)                                                                   \
  G_STMT_START                                                                          \
  {                                                                                     \
    g_assert_false (call);                                                              \
    g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_NOT_PARTICIPANT);     \
    g_clear_error (&error);                                                             \
  }                                                                                     \
  G_STMT_END
  REFUSED (kmg_session_manager_signal (fx.mgr, id, OTHER, 0, &sig, fx.now, &error));
  REFUSED (kmg_session_manager_ice_state (fx.mgr, id, OTHER, 0, 0, KMG_SESSION_ICE_FAILED, fx.now, &error));
  REFUSED (kmg_session_manager_first_frame (fx.mgr, id, OTHER, 0, 0, fx.now, &error));
  REFUSED (kmg_session_manager_stats (fx.mgr, id, OTHER, &stats, fx.now, &error));
  REFUSED (kmg_session_manager_leave (fx.mgr, id, OTHER, fx.now, &error));
  REFUSED (kmg_session_manager_accept (fx.mgr, id, OTHER, 0, fx.now, &error));
#undef REFUSED
  g_assert_cmpuint (fx.sent->len, ==, sent);
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_CONNECTING_P2P);
  g_assert_false (kmg_session_manager_signal (fx.mgr, 4242, BUYER, 0, &sig, fx.now, &error));
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_NOT_FOUND);
  session_fx_clear (&fx);
}

static void
test_roles_and_payloads (void)
{
  SessionFx fx;
  g_autoptr (GError) error = NULL;
  g_autofree char *sdp = session_fx_sdp (SELLER_IP);
  g_autofree char *bad_sdp = session_fx_sdp ("169.254.169.254");
  KmgSessionSignal offer = sig_sdp (KMG_SESSION_SIGNAL_SDP_OFFER, sdp);
  KmgSessionSignal bad_offer = sig_sdp (KMG_SESSION_SIGNAL_SDP_OFFER, bad_sdp);
  KmgSessionSignal metadata = sig_cand ("candidate:1 1 udp 1 ::ffff:169.254.169.254 80 typ host");
  gint64 id;
  guint sent;

  session_fx_init (&fx, KMG_SESSION_POLICY_AUTO);
  id = session_fx_start (&fx, BUYER, SELLER, NULL);
  g_assert_false (kmg_session_manager_signal (fx.mgr, id, SELLER, 0, &offer, fx.now, &error));
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_BAD_STATE);
  g_clear_error (&error);
  g_assert_false (kmg_session_manager_accept (fx.mgr, id, BUYER, 0, fx.now, &error));
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_FORBIDDEN);
  g_clear_error (&error);
  g_assert_true (kmg_session_manager_accept (fx.mgr, id, SELLER, 0, fx.now, &error));
  g_assert_false (kmg_session_manager_accept (fx.mgr, id, SELLER, 0, fx.now, &error));
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_BAD_STATE);
  g_clear_error (&error);

  sent = fx.sent->len;
  g_assert_false (kmg_session_manager_signal (fx.mgr, id, BUYER, 0, &offer, fx.now, &error));
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_FORBIDDEN);
  g_clear_error (&error);
  g_assert_false (kmg_session_manager_first_frame (fx.mgr, id, SELLER, 0, 0, fx.now, &error));
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_FORBIDDEN);
  g_clear_error (&error);
  g_assert_false (kmg_session_manager_signal (fx.mgr, id, SELLER, 0, &bad_offer, fx.now, &error));
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_DENIED_ADDRESS);
  g_clear_error (&error);
  g_assert_false (kmg_session_manager_signal (fx.mgr, id, SELLER, 0, &metadata, fx.now, &error));
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_DENIED_ADDRESS);
  g_assert_cmpuint (fx.sent->len, ==, sent);
  session_fx_clear (&fx);
}

static void
test_admission (void)
{
  SessionFx fx;
  KmgWatchRequest req;
  struct
  {
    const char *what;
    gint64 buyer;
    int code;
  } cases[] = {
    { "not_streaming", BUYER, KMG_SESSION_ERROR_NOT_STREAMING },
    { "not_seller", BUYER, KMG_SESSION_ERROR_NOT_SELLER },
    { "self", SELLER, KMG_SESSION_ERROR_SELF },
    { "buyer_banned", BUYER, KMG_SESSION_ERROR_BANNED },
    { "seller_banned", BUYER, KMG_SESSION_ERROR_BANNED },
    { "poor", BUYER, KMG_SESSION_ERROR_INSUFFICIENT_CREDITS },
    { "already_watching", 5, KMG_SESSION_ERROR_ALREADY_WATCHING },
    { "busy", BUYER, KMG_SESSION_ERROR_SELLER_BUSY },
  };

  session_fx_init (&fx, KMG_SESSION_POLICY_AUTO);
  fx.config.max_sessions_per_seller = 2;
  session_fx_restart (&fx);
  session_fx_start (&fx, 5, 6, NULL);
  session_fx_start (&fx, 7, 6, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      guint sent = fx.sent->len, calls = fx.calls->len;
      gint64 seller = g_str_equal (cases[i].what, "busy") ? 6 : SELLER;

      req = session_fx_request ();
      req.streaming = !g_str_equal (cases[i].what, "not_streaming");
      req.is_seller = !g_str_equal (cases[i].what, "not_seller");
      req.buyer_banned = g_str_equal (cases[i].what, "buyer_banned");
      req.seller_banned = g_str_equal (cases[i].what, "seller_banned");
      fx.balance_ok = !g_str_equal (cases[i].what, "poor");
      g_test_message ("case %s", cases[i].what);
      g_assert_cmpint (kmg_session_manager_watch_start (fx.mgr, cases[i].buyer, 0, seller, &req, fx.now, &error),
                       ==, 0);
      g_assert_error (error, KMG_SESSION_ERROR, cases[i].code);
      g_assert_cmpuint (fx.sent->len, ==, sent);
      g_assert_cmpuint (fx.calls->len, ==, calls);
    }
  session_fx_clear (&fx);
}

/* Every end reason, each reached by its own event. */
static void
test_end_reasons (void)
{
  static const char *const reasons[] = {
    "declined", "no_answer", "buyer_left", "seller_left", "stop_live", "buyer_gone", "seller_gone", "banned",
    "insufficient_credits", "poor_at_accept", "ice_failed", "relay_error", "relay_refused", "admin",
    "server_restart",
  };

  for (guint i = 0; i < G_N_ELEMENTS (reasons); i++)
    {
      const char *r = reasons[i], *expect = r;
      SessionFx fx;
      gint64 id;

      g_test_message ("reason %s", r);
      session_fx_init (&fx, KMG_SESSION_POLICY_AUTO);
      id = session_fx_start (&fx, BUYER, SELLER, NULL);
      if (g_str_equal (r, "declined"))
        g_assert_true (kmg_session_manager_decline (fx.mgr, id, SELLER, 0, fx.now, NULL));
      else if (g_str_equal (r, "no_answer"))
        session_fx_advance (&fx, fx.config.answer_timeout_ms);
      else if (g_str_equal (r, "poor_at_accept"))
        {
          fx.balance_ok = FALSE;
          g_assert_true (kmg_session_manager_accept (fx.mgr, id, SELLER, 0, fx.now, NULL));
          expect = "insufficient_credits";
        }
      else if (g_str_equal (r, "relay_refused"))
        {
          fx.relay_fails = TRUE;
          kmg_session_manager_accept (fx.mgr, id, SELLER, 0, fx.now, NULL);
          kmg_session_manager_ice_state (fx.mgr, id, BUYER, 0, 0, KMG_SESSION_ICE_FAILED, fx.now, NULL);
          expect = "relay_error";
        }
      else
        {
          kmg_session_manager_accept (fx.mgr, id, SELLER, 0, fx.now, NULL);
          buyer_connects (&fx, id);
          if (g_str_equal (r, "buyer_left"))
            kmg_session_manager_leave (fx.mgr, id, BUYER, fx.now, NULL);
          else if (g_str_equal (r, "seller_left"))
            kmg_session_manager_leave (fx.mgr, id, SELLER, fx.now, NULL);
          else if (g_str_equal (r, "stop_live"))
            {
              g_assert_cmpuint (kmg_session_manager_stop_live (fx.mgr, SELLER, fx.now), ==, 1);
              expect = "seller_left";
            }
          else if (g_str_equal (r, "buyer_gone"))
            g_assert_cmpuint (kmg_session_manager_presence_gone (fx.mgr, BUYER, fx.now), ==, 1);
          else if (g_str_equal (r, "seller_gone"))
            g_assert_cmpuint (kmg_session_manager_presence_gone (fx.mgr, SELLER, fx.now), ==, 1);
          else if (g_str_equal (r, "banned"))
            g_assert_cmpuint (kmg_session_manager_ban (fx.mgr, BUYER, fx.now), ==, 1);
          else if (g_str_equal (r, "insufficient_credits"))
            g_assert_true (kmg_session_manager_billing_exhausted (fx.mgr, id, fx.now));
          else if (g_str_equal (r, "ice_failed"))
            {
              kmg_session_manager_ice_state (fx.mgr, id, SELLER, 0, 0, KMG_SESSION_ICE_FAILED, fx.now, NULL);
              g_assert_true (kmg_session_manager_relay_leg_failed (fx.mgr, id, fx.now));
            }
          else if (g_str_equal (r, "relay_error"))
            {
              kmg_session_manager_ice_state (fx.mgr, id, SELLER, 0, 0, KMG_SESSION_ICE_FAILED, fx.now, NULL);
              g_assert_true (kmg_session_manager_relay_error (fx.mgr, id, fx.now));
            }
          else if (g_str_equal (r, "admin"))
            g_assert_true (kmg_session_manager_end (fx.mgr, id, KMG_SESSION_END_ADMIN, fx.now));
          else if (g_str_equal (r, "server_restart"))
            g_assert_cmpuint (kmg_session_manager_shutdown (fx.mgr, fx.now), ==, 1);
        }
      assert_ended (&fx, id, expect);
      g_assert_cmpuint (session_fx_count_calls (&fx, "relay_start:"), ==, session_fx_count_calls (&fx, "relay_stop:"));
      /* Ended is terminal: nothing moves it any more. */
      g_assert_false (kmg_session_manager_end (fx.mgr, id, KMG_SESSION_END_ADMIN, fx.now));
      g_assert_cmpuint (kmg_session_manager_shutdown (fx.mgr, fx.now), ==, 0);
      assert_ended (&fx, id, expect);
      session_fx_clear (&fx);
    }
}

static void
test_stop_live_ends_all (void)
{
  SessionFx fx;
  gint64 a, b, c, other;
  KmgWatchRequest relay = session_fx_request ();

  session_fx_init (&fx, KMG_SESSION_POLICY_AUTO);
  relay.buyer_always_relay = TRUE;
  a = session_fx_start (&fx, 11, SELLER, NULL);          /* requested */
  b = session_fx_start_accepted (&fx, 12, SELLER, NULL); /* p2p */
  c = session_fx_start_accepted (&fx, 13, SELLER, &relay);
  other = session_fx_start_accepted (&fx, 14, 3, NULL);
  g_assert_cmpuint (kmg_session_manager_stop_live (fx.mgr, SELLER, fx.now), ==, 3);
  assert_ended (&fx, a, "seller_left");
  assert_ended (&fx, b, "seller_left");
  assert_ended (&fx, c, "seller_left");
  g_assert_cmpint (state_of (&fx, other), ==, KMG_SESSION_CONNECTING_P2P);
  g_assert_cmpuint (session_fx_count_calls (&fx, "relay_stop:"), ==, 1);
  g_assert_cmpuint (session_fx_count (&fx, SELLER, "session.ended"), ==, 3);
  g_assert_cmpuint (session_fx_count (&fx, 3, "session.ended"), ==, 0);
  session_fx_clear (&fx);
}

static void
test_ban (void)
{
  SessionFx fx;
  gint64 a, b, c;

  session_fx_init (&fx, KMG_SESSION_POLICY_AUTO);
  a = session_fx_start_accepted (&fx, 11, SELLER, NULL);
  b = session_fx_start_accepted (&fx, 12, SELLER, NULL);
  c = session_fx_start_accepted (&fx, SELLER, 3, NULL); /* the seller also watches someone */
  g_assert_cmpuint (kmg_session_manager_ban (fx.mgr, 11, fx.now), ==, 1);
  assert_ended (&fx, a, "banned");
  g_assert_cmpint (state_of (&fx, b), ==, KMG_SESSION_CONNECTING_P2P);
  g_assert_cmpuint (kmg_session_manager_ban (fx.mgr, SELLER, fx.now), ==, 2);
  assert_ended (&fx, b, "banned");
  assert_ended (&fx, c, "banned");
  session_fx_clear (&fx);
}

static void
test_ice_restart (gconstpointer data)
{
  gboolean beyond = GPOINTER_TO_INT (data);
  SessionFx fx;
  gint64 id, grace;
  JsonObject *m;

  session_fx_init (&fx, KMG_SESSION_POLICY_AUTO);
  grace = fx.config.ice_grace_ms;
  id = session_fx_start_accepted (&fx, BUYER, SELLER, NULL);
  buyer_connects (&fx, id);
  g_assert_true (kmg_session_manager_ice_state (fx.mgr, id, BUYER, 0, 0, KMG_SESSION_ICE_DISCONNECTED, fx.now, NULL));
  g_assert_true (kmg_session_manager_ice_state (fx.mgr, id, SELLER, 0, 0, KMG_SESSION_ICE_DISCONNECTED, fx.now, NULL));
  m = session_fx_last (&fx, SELLER, "session.state");
  g_assert_true (json_object_get_boolean_member (m, "reconnecting"));
  g_assert_cmpint (kmg_session_manager_next_deadline (fx.mgr), ==, fx.now + grace);
  session_fx_advance (&fx, grace - 1);
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_ACTIVE);
  if (beyond)
    {
      /* One side came back, the other did not: the grace keeps running. */
      kmg_session_manager_ice_state (fx.mgr, id, SELLER, 0, 0, KMG_SESSION_ICE_CONNECTED, fx.now, NULL);
      session_fx_advance (&fx, 1);
      assert_ended (&fx, id, "ice_failed");
    }
  else
    {
      kmg_session_manager_ice_state (fx.mgr, id, BUYER, 0, 0, KMG_SESSION_ICE_CONNECTED, fx.now, NULL);
      kmg_session_manager_ice_state (fx.mgr, id, SELLER, 0, 0, KMG_SESSION_ICE_CONNECTED, fx.now, NULL);
      g_assert_false (json_object_get_boolean_member (session_fx_last (&fx, BUYER, "session.state"), "reconnecting"));
      session_fx_advance (&fx, grace * 2);
      g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_ACTIVE);
      g_assert_cmpint (kmg_session_manager_next_deadline (fx.mgr), ==, -1);
      g_assert_cmpuint (session_fx_count_calls (&fx, "relay_start:"), ==, 0);
    }
  session_fx_clear (&fx);
}

static void
test_relay_leg_grace (void)
{
  SessionFx fx;
  KmgWatchRequest req = session_fx_request ();
  gint64 id, id2;

  session_fx_init (&fx, KMG_SESSION_POLICY_ALWAYS);
  id = session_fx_start_accepted (&fx, BUYER, SELLER, &req);
  id2 = session_fx_start_accepted (&fx, 5, SELLER, &req);
  kmg_session_manager_first_frame (fx.mgr, id, BUYER, 0, 0, fx.now, NULL);
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_ACTIVE);
  g_assert_true (kmg_session_manager_relay_leg_state (fx.mgr, id, KMG_SESSION_ICE_DISCONNECTED, fx.now));
  g_assert_true (session_fx_has_call (&fx, "restart:101"));
  session_fx_advance (&fx, 1000);
  g_assert_true (kmg_session_manager_relay_leg_state (fx.mgr, id, KMG_SESSION_ICE_CONNECTED, fx.now));
  /* The shared seller leg drops: every relayed session of that seller waits, then ends. */
  g_assert_cmpuint (kmg_session_manager_relay_seller_leg_state (fx.mgr, SELLER, KMG_SESSION_ICE_DISCONNECTED, fx.now),
                    ==, 2);
  session_fx_advance (&fx, fx.config.ice_grace_ms);
  assert_ended (&fx, id, "ice_failed");
  assert_ended (&fx, id2, "ice_failed");
  g_assert_cmpuint (session_fx_count_calls (&fx, "relay_stop:"), ==, 2);
  session_fx_clear (&fx);
}

static void
test_late_messages (void)
{
  SessionFx fx;
  g_autoptr (GError) error = NULL;
  g_autofree char *cand = session_fx_candidate ("192.0.2.9");
  KmgSessionSignal sig = sig_cand (cand);
  gint64 id;
  guint sent;

  session_fx_init (&fx, KMG_SESSION_POLICY_AUTO);
  id = session_fx_start_accepted (&fx, BUYER, SELLER, NULL);
  kmg_session_manager_leave (fx.mgr, id, SELLER, fx.now, NULL);
  sent = fx.sent->len;
  g_assert_false (kmg_session_manager_signal (fx.mgr, id, BUYER, 0, &sig, fx.now, &error));
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_SESSION_ENDED);
  g_clear_error (&error);
  g_assert_false (kmg_session_manager_first_frame (fx.mgr, id, BUYER, 0, 0, fx.now, &error));
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_SESSION_ENDED);
  g_clear_error (&error);
  g_assert_false (kmg_session_manager_leave (fx.mgr, id, SELLER, fx.now, &error));
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_SESSION_ENDED);
  g_clear_error (&error);
  g_assert_false (kmg_session_manager_relay_to_buyer (fx.mgr, id, &sig, fx.now));
  g_assert_cmpuint (fx.sent->len, ==, sent);
  g_assert_cmpuint (session_fx_count_calls (&fx, "billing_end:"), ==, 1);

  session_fx_advance (&fx, fx.config.ended_keep_ms - 1);
  g_assert_nonnull (kmg_session_manager_get (fx.mgr, id));
  session_fx_advance (&fx, 1);
  g_assert_null (kmg_session_manager_get (fx.mgr, id));
  g_assert_false (kmg_session_manager_signal (fx.mgr, id, BUYER, 0, &sig, fx.now, &error));
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_NOT_FOUND);
  g_assert_cmpint (kmg_session_manager_next_deadline (fx.mgr), ==, -1);
  session_fx_clear (&fx);
}

static void
test_count (void)
{
  SessionFx fx;
  guint by_state[KMG_SESSION_N_STATES], by_path[KMG_SESSION_N_PATHS];
  KmgWatchRequest relay = session_fx_request ();

  session_fx_init (&fx, KMG_SESSION_POLICY_AUTO);
  relay.seller_always_relay = TRUE;
  session_fx_start (&fx, 11, SELLER, NULL);
  session_fx_start_accepted (&fx, 12, SELLER, NULL);
  session_fx_start_accepted (&fx, 13, 3, &relay);
  kmg_session_manager_leave (fx.mgr, session_fx_start (&fx, 14, 3, NULL), 14, fx.now, NULL);
  kmg_session_manager_count (fx.mgr, by_state, by_path);
  g_assert_cmpuint (by_state[KMG_SESSION_REQUESTED], ==, 1);
  g_assert_cmpuint (by_state[KMG_SESSION_CONNECTING_P2P], ==, 1);
  g_assert_cmpuint (by_state[KMG_SESSION_CONNECTING_RELAY], ==, 1);
  g_assert_cmpuint (by_state[KMG_SESSION_ENDED], ==, 0);
  g_assert_cmpuint (by_path[KMG_SESSION_PATH_RELAY], ==, 1);
  g_assert_cmpuint (by_path[KMG_SESSION_PATH_NONE], ==, 1);
  session_fx_clear (&fx);
}

/* A buyer's WebSocket closes: the gone-grace (presence.grace_s + the margin) decides. */
static gint64
gone_grace (SessionFx *fx)
{
  return fx->config.ice_grace_ms + KMG_SESSION_GONE_MARGIN_MS;
}

static void
test_buyer_gone_after_grace (void)
{
  SessionFx fx;
  gint64 id, id2;

  session_fx_init (&fx, KMG_SESSION_POLICY_AUTO);
  id = session_fx_start_accepted (&fx, BUYER, SELLER, NULL);
  buyer_connects (&fx, id);
  g_assert_cmpint (kmg_session_manager_next_deadline (fx.mgr), ==, -1);
  kmg_session_manager_user_connection_closed (fx.mgr, BUYER, fx.now);
  g_assert_cmpint (kmg_session_manager_next_deadline (fx.mgr), ==, fx.now + gone_grace (&fx));
  g_assert_cmpint (fx.scheduled, ==, fx.now + gone_grace (&fx));
  session_fx_advance (&fx, gone_grace (&fx) - 1);
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_ACTIVE);
  g_assert_cmpuint (session_fx_count (&fx, BUYER, "session.ended"), ==, 0);
  session_fx_advance (&fx, 1);
  assert_ended (&fx, id, "buyer_gone");
  /* The grace is spent: the buyer's next session is not ended by it. */
  id2 = session_fx_start_accepted (&fx, BUYER, 3, NULL);
  buyer_connects (&fx, id2);
  session_fx_advance (&fx, gone_grace (&fx) * 2);
  g_assert_cmpint (state_of (&fx, id2), ==, KMG_SESSION_ACTIVE);
  session_fx_clear (&fx);
}

static void
test_buyer_gone_reconnect (void)
{
  SessionFx fx;
  gint64 id;

  session_fx_init (&fx, KMG_SESSION_POLICY_AUTO);
  id = session_fx_start_accepted (&fx, BUYER, SELLER, NULL);
  buyer_connects (&fx, id);
  kmg_session_manager_user_connection_closed (fx.mgr, BUYER, fx.now);
  session_fx_advance (&fx, gone_grace (&fx) / 2);
  session_fx_set_connections (&fx, BUYER, 1); /* back within the grace */
  session_fx_advance (&fx, gone_grace (&fx));
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_ACTIVE);
  g_assert_cmpint (kmg_session_manager_next_deadline (fx.mgr), ==, -1);
  g_assert_cmpint (fx.scheduled, ==, -1);
  /* Only a new close starts a new grace. */
  session_fx_set_connections (&fx, BUYER, 0);
  session_fx_advance (&fx, gone_grace (&fx) * 2);
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_ACTIVE);
  kmg_session_manager_user_connection_closed (fx.mgr, BUYER, fx.now);
  session_fx_advance (&fx, gone_grace (&fx));
  assert_ended (&fx, id, "buyer_gone");
  session_fx_clear (&fx);
}

static void
test_buyer_gone_restart (void)
{
  SessionFx fx;
  gint64 id, second;

  session_fx_init (&fx, KMG_SESSION_POLICY_AUTO);
  id = session_fx_start_accepted (&fx, BUYER, SELLER, NULL);
  buyer_connects (&fx, id);
  /* Two tabs: one closes (the other is still there), later the other. */
  session_fx_set_connections (&fx, BUYER, 1);
  kmg_session_manager_user_connection_closed (fx.mgr, BUYER, fx.now);
  session_fx_advance (&fx, 3000);
  session_fx_set_connections (&fx, BUYER, 0);
  kmg_session_manager_user_connection_closed (fx.mgr, BUYER, fx.now);
  second = fx.now;
  g_assert_cmpint (fx.scheduled, ==, second + gone_grace (&fx));
  session_fx_advance (&fx, gone_grace (&fx) - 3000);
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_ACTIVE);
  session_fx_advance (&fx, 3000 - 1);
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_ACTIVE);
  session_fx_advance (&fx, 1);
  g_assert_cmpint (fx.now, ==, second + gone_grace (&fx));
  assert_ended (&fx, id, "buyer_gone");
  session_fx_clear (&fx);
}

static void
test_buyer_gone_seller_unaffected (void)
{
  SessionFx fx;
  gint64 sold, bought;

  session_fx_init (&fx, KMG_SESSION_POLICY_AUTO);
  sold = session_fx_start_accepted (&fx, BUYER, SELLER, NULL);
  buyer_connects (&fx, sold);
  kmg_session_manager_user_connection_closed (fx.mgr, SELLER, fx.now);
  g_assert_cmpint (kmg_session_manager_next_deadline (fx.mgr), ==, -1);
  session_fx_advance (&fx, gone_grace (&fx) * 2);
  g_assert_cmpint (state_of (&fx, sold), ==, KMG_SESSION_ACTIVE);

  /* The seller also watches someone: only that session is its as a buyer. */
  bought = session_fx_start_accepted (&fx, SELLER, 3, NULL);
  kmg_session_manager_ice_state (fx.mgr, bought, SELLER, 0, 0, KMG_SESSION_ICE_CONNECTED, fx.now, NULL);
  kmg_session_manager_first_frame (fx.mgr, bought, SELLER, 0, 0, fx.now, NULL);
  g_assert_cmpint (state_of (&fx, bought), ==, KMG_SESSION_ACTIVE);
  kmg_session_manager_user_connection_closed (fx.mgr, SELLER, fx.now);
  session_fx_advance (&fx, gone_grace (&fx));
  assert_ended (&fx, bought, "buyer_gone");
  g_assert_cmpint (state_of (&fx, sold), ==, KMG_SESSION_ACTIVE);
  session_fx_clear (&fx);
}

static void
count_kept (KmgSession *session, gpointer user_data)
{
  (*(guint *) user_data)++;
}

/* After every entry point the schedule effect has the manager's next deadline. */
#define SCHEDULED(call, expect)                                                                   \
  G_STMT_START                                                                                    \
  {                                                                                               \
    guint before_ = fx.n_scheduled;                                                               \
    call;                                                                                         \
    g_assert_cmpuint (fx.n_scheduled, >, before_);                                                \
    g_assert_cmpint (fx.scheduled, ==, kmg_session_manager_next_deadline (fx.mgr));               \
    g_assert_cmpint (fx.scheduled, ==, (expect));                                                 \
  }                                                                                               \
  G_STMT_END

static void
test_schedule (void)
{
  SessionFx fx;
  g_autoptr (GError) error = NULL;
  KmgWatchRequest req;
  gint64 id = 0, t;
  guint kept = 0, n;

  session_fx_init (&fx, KMG_SESSION_POLICY_AUTO);
  req = session_fx_request ();
  t = fx.now;
  SCHEDULED (id = kmg_session_manager_watch_start (fx.mgr, BUYER, 0, SELLER, &req, fx.now, NULL),
             t + fx.config.answer_timeout_ms);
  SCHEDULED (session_fx_advance (&fx, 1000), t + fx.config.answer_timeout_ms);
  SCHEDULED (kmg_session_manager_accept (fx.mgr, id, SELLER, 0, fx.now, NULL), fx.now + fx.config.p2p_timeout_ms);
  /* A refusal changes nothing, the deadline given stays right. */
  SCHEDULED (g_assert_false (kmg_session_manager_accept (fx.mgr, id, SELLER, 0, fx.now, &error)),
             fx.now + fx.config.p2p_timeout_ms);
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_BAD_STATE);
  SCHEDULED (session_fx_advance (&fx, fx.config.p2p_timeout_ms), fx.now + fx.config.connect_timeout_ms);
  SCHEDULED (kmg_session_manager_first_frame (fx.mgr, id, BUYER, 0, 0, fx.now, NULL), -1);
  SCHEDULED (kmg_session_manager_relay_leg_state (fx.mgr, id, KMG_SESSION_ICE_DISCONNECTED, fx.now),
             fx.now + fx.config.ice_grace_ms);
  SCHEDULED (kmg_session_manager_relay_leg_state (fx.mgr, id, KMG_SESSION_ICE_CONNECTED, fx.now), -1);
  SCHEDULED (kmg_session_manager_user_connection_closed (fx.mgr, BUYER, fx.now), fx.now + gone_grace (&fx));
  t = fx.now;
  SCHEDULED (kmg_session_manager_ban (fx.mgr, OTHER, fx.now), t + gone_grace (&fx));
  SCHEDULED (kmg_session_manager_end (fx.mgr, id, KMG_SESSION_END_ADMIN, fx.now), t + gone_grace (&fx));
  SCHEDULED (session_fx_advance (&fx, gone_grace (&fx)), t + fx.config.ended_keep_ms);
  /* Reading does not schedule. */
  n = fx.n_scheduled;
  kmg_session_manager_foreach (fx.mgr, count_kept, &kept);
  g_assert_cmpuint (kept, ==, 1);
  g_assert_cmpuint (fx.n_scheduled, ==, n);
  SCHEDULED (session_fx_advance (&fx, fx.config.ended_keep_ms), -1);
  SCHEDULED (kmg_session_manager_shutdown (fx.mgr, fx.now), -1);
  session_fx_clear (&fx);
}

/* The schedule effect runs inside the manager: calling back in is refused, nothing breaks. */
static void
test_schedule_no_reentry (void)
{
  SessionFx fx;
  gint64 id;

  session_fx_init (&fx, KMG_SESSION_POLICY_AUTO);
  fx.schedule_reenters = TRUE;
  g_test_expect_message ("kamegor-sessions", G_LOG_LEVEL_CRITICAL, "*busy*");
  id = session_fx_start (&fx, BUYER, SELLER, NULL);
  g_test_assert_expected_messages ();
  fx.schedule_reenters = FALSE;
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_REQUESTED);
  g_assert_true (kmg_session_manager_accept (fx.mgr, id, SELLER, 0, fx.now, NULL));
  g_assert_cmpint (fx.scheduled, ==, fx.now + fx.config.p2p_timeout_ms);
  session_fx_clear (&fx);
}

/* ---- the silent-buyer rule (P2P) ---- */

/* The seller's cumulative send counters, grown by every report that shows flow. */
typedef struct
{
  SessionFx *fx;
  gint64 id;
  KmgSessionSellerStats st;
} SellerFeed;

/* One seller report at fx->now; @flowing: packets, bytes and receiver reports all grew. */
static void
seller_reports (SellerFeed *f, gboolean flowing)
{
  g_autoptr (GError) error = NULL;

  f->st.packets_sent += 180; /* a dead network still takes packets: only receiver reports tell */
  f->st.bytes_sent += 180000;
  f->st.rr_count += flowing ? 2 : 0;
  f->st.fraction_lost = flowing ? 0.02 : f->st.fraction_lost;
  f->st.timestamp_ms = f->fx->now;
  g_assert_true (kmg_session_manager_seller_stats (f->fx->mgr, f->id, SELLER, &f->st, f->fx->now, &error));
  g_assert_no_error (error);
}

static void
buyer_reports (SessionFx *fx, gint64 id)
{
  g_autoptr (GError) error = NULL;
  KmgSessionStats st = { .frames_decoded = (guint64) fx->now, .bytes_received = (guint64) fx->now };

  g_assert_true (kmg_session_manager_stats (fx->mgr, id, BUYER, &st, fx->now, &error));
  g_assert_no_error (error);
}

/* An active P2P session whose seller reports every 2 s: returns its id, clock at activation. */
static gint64
silence_setup (SessionFx *fx, KmgSessionPolicy policy, SellerFeed *feed)
{
  gint64 id;

  session_fx_init (fx, policy);
  id = session_fx_start_accepted (fx, BUYER, SELLER, NULL);
  *feed = (SellerFeed){ .fx = fx, .id = id, .st = { .fraction_lost = -1 } };
  seller_reports (feed, FALSE); /* the baseline, before any receiver report */
  buyer_connects (fx, id);
  g_assert_cmpint (state_of (fx, id), ==, KMG_SESSION_ACTIVE);
  return id;
}

/* @ms of seller reports every 2 s (the first one 2 s from now), the clock ticking each second. */
static void
seller_runs (SellerFeed *f, gint64 ms, gboolean flowing)
{
  for (gint64 t = 1000; t <= ms; t += 1000)
    {
      KmgSession *s;

      session_fx_advance (f->fx, 1000);
      s = kmg_session_manager_get (f->fx->mgr, f->id);
      /* Once moved (or ended) the seller's P2P connection is closed: it stops reporting. */
      if (t % 2000 == 0 && kmg_session_get_path (s) == KMG_SESSION_PATH_P2P
          && kmg_session_get_state (s) != KMG_SESSION_ENDED)
        seller_reports (f, flowing);
    }
}

static void
test_seller_flowing_predicate (void)
{
  KmgSessionSellerStats a = { .packets_sent = 100, .bytes_sent = 1000, .rr_count = 3, .fraction_lost = 0 };
  KmgSessionSellerStats b = { .packets_sent = 200, .bytes_sent = 2000, .rr_count = 5, .fraction_lost = 0.1 };
  KmgSessionSellerStats c;

  g_assert_true (kmg_session_seller_report_flowing (&a, 1000, &b, 3000));
  g_assert_true (kmg_session_seller_report_flowing (&a, 1000, &b, 1000 + KMG_SESSION_SELLER_REPORT_MAX_GAP_MS));
  g_assert_false (kmg_session_seller_report_flowing (&a, 1000, &b, 1001 + KMG_SESSION_SELLER_REPORT_MAX_GAP_MS));
  g_assert_false (kmg_session_seller_report_flowing (&a, 3000, &b, 3000)); /* no time passed */
  g_assert_false (kmg_session_seller_report_flowing (&b, 1000, &a, 3000)); /* counters went back */
  c = b, c.rr_count = a.rr_count; /* sending into a dead network: no receiver report came back */
  g_assert_false (kmg_session_seller_report_flowing (&a, 1000, &c, 3000));
  c = b, c.packets_sent = a.packets_sent;
  g_assert_false (kmg_session_seller_report_flowing (&a, 1000, &c, 3000));
  c = b, c.bytes_sent = a.bytes_sent;
  g_assert_false (kmg_session_seller_report_flowing (&a, 1000, &c, 3000));
  c = b, c.fraction_lost = 0.5; /* the relay's rule: a second with half lost is not delivered */
  g_assert_false (kmg_session_seller_report_flowing (&a, 1000, &c, 3000));
  c = b, c.fraction_lost = -1; /* no receiver report yet */
  g_assert_false (kmg_session_seller_report_flowing (&a, 1000, &c, 3000));
}

/* The buyer stops attesting while the seller's reports show media reaching it: moved to the relay
 * exactly buyer_silence_ms after its last attestation. */
static void
test_silent_buyer_to_relay (void)
{
  SessionFx fx;
  SellerFeed feed;
  gint64 id, last, n;

  id = silence_setup (&fx, KMG_SESSION_POLICY_AUTO, &feed);
  n = fx.config.buyer_silence_ms;
  g_assert_cmpint (n, ==, 6000);
  /* Both report for a while: nothing happens. */
  for (int i = 0; i < 5; i++)
    {
      seller_runs (&feed, 2000, TRUE);
      buyer_reports (&fx, id);
    }
  g_assert_cmpint (kmg_session_manager_next_deadline (fx.mgr), ==, fx.now + n);
  last = fx.now;
  /* The buyer falls silent; the seller keeps sending and the buyer's receiver reports keep coming. */
  seller_runs (&feed, n - 1000, TRUE);
  session_fx_advance (&fx, 999);
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_ACTIVE);
  g_assert_cmpuint (session_fx_count_calls (&fx, "relay_start:"), ==, 0);
  session_fx_advance (&fx, 1);
  g_assert_cmpint (fx.now - last, ==, n);
  assert_fell_back (&fx, id);
  session_fx_clear (&fx);
}

/* Past the deadline without current seller evidence, the next flowing seller report decides. */
static void
test_silent_buyer_late_seller (void)
{
  SessionFx fx;
  SellerFeed feed;
  gint64 id;

  id = silence_setup (&fx, KMG_SESSION_POLICY_AUTO, &feed);
  seller_runs (&feed, 2000, TRUE);
  buyer_reports (&fx, id);
  /* The seller's app pauses its reports for a while (its evidence goes stale at the deadline). */
  session_fx_advance (&fx, 7000);
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_ACTIVE);
  g_assert_cmpint (kmg_session_manager_next_deadline (fx.mgr), ==, -1);
  seller_reports (&feed, TRUE); /* more than 5 s after the previous one: a new baseline only */
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_ACTIVE);
  session_fx_advance (&fx, 2000);
  seller_reports (&feed, TRUE);
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_CONNECTING_RELAY);
  g_assert_true (kmg_session_get_fell_back (kmg_session_manager_get (fx.mgr, id)));
  session_fx_clear (&fx);
}

/* A buyer that keeps sending reports billing counts nothing from is as silent as one that sends none. */
static void
test_silent_buyer_flat_reports (void)
{
  SessionFx fx;
  SellerFeed feed;
  gint64 id, start;

  id = silence_setup (&fx, KMG_SESSION_POLICY_AUTO, &feed);
  buyer_reports (&fx, id);
  start = fx.now;
  fx.attested = 0;
  for (int i = 0; i < 3 && state_of (&fx, id) == KMG_SESSION_ACTIVE; i++)
    {
      seller_runs (&feed, 2000, TRUE);
      buyer_reports (&fx, id);
    }
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_CONNECTING_RELAY);
  g_assert_cmpint (fx.now - start, ==, fx.config.buyer_silence_ms);
  g_assert_cmpuint (session_fx_count_calls (&fx, "stats:"), ==, 3); /* all handed to billing */
  session_fx_clear (&fx);
}

/* Policy never: no relay to measure on, so the session ends unattested. */
static void
test_silent_buyer_never (void)
{
  SessionFx fx;
  SellerFeed feed;
  gint64 id;

  id = silence_setup (&fx, KMG_SESSION_POLICY_NEVER, &feed);
  buyer_reports (&fx, id);
  seller_runs (&feed, fx.config.buyer_silence_ms, TRUE);
  assert_ended (&fx, id, "unattested");
  g_assert_cmpuint (session_fx_count_calls (&fx, "relay_start:"), ==, 0);
  session_fx_clear (&fx);
}

/* The buyer is silent because the media stopped: the seller's reports show no receiver report
 * coming back, so this rule leaves the session alone (ICE and presence rules decide). */
static void
test_silent_buyer_silent_seller (gconstpointer data)
{
  gboolean seller_reports_flat = GPOINTER_TO_INT (data);
  SessionFx fx;
  SellerFeed feed;
  gint64 id;

  id = silence_setup (&fx, KMG_SESSION_POLICY_AUTO, &feed);
  seller_runs (&feed, 2000, TRUE);
  buyer_reports (&fx, id);
  if (seller_reports_flat)
    seller_runs (&feed, 60000, FALSE);
  else
    session_fx_advance (&fx, 60000);
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_ACTIVE);
  g_assert_cmpint (kmg_session_get_path (kmg_session_manager_get (fx.mgr, id)), ==, KMG_SESSION_PATH_P2P);
  g_assert_cmpuint (session_fx_count_calls (&fx, "relay_start:"), ==, 0);
  g_assert_cmpint (kmg_session_manager_next_deadline (fx.mgr), ==, -1);
  session_fx_clear (&fx);
}

/* The buyer resumes within the limit: nothing happens, and its clock starts again. */
static void
test_silent_buyer_resumes (void)
{
  SessionFx fx;
  SellerFeed feed;
  gint64 id, n;
  guint sent;

  id = silence_setup (&fx, KMG_SESSION_POLICY_AUTO, &feed);
  n = fx.config.buyer_silence_ms;
  buyer_reports (&fx, id);
  seller_runs (&feed, n - 2000, TRUE);
  sent = fx.sent->len;
  buyer_reports (&fx, id);
  g_assert_cmpint (kmg_session_manager_next_deadline (fx.mgr), ==, fx.now + n);
  seller_runs (&feed, n - 1000, TRUE);
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_ACTIVE);
  g_assert_cmpuint (session_fx_count_calls (&fx, "relay_start:"), ==, 0);
  g_assert_cmpuint (fx.sent->len, ==, sent); /* not even a message */
  session_fx_clear (&fx);
}

/* While a transport is disconnected the ICE grace owns the session; once reconnected the buyer
 * gets a whole limit again before the rule applies. */
static void
test_silent_buyer_reconnecting (void)
{
  SessionFx fx;
  SellerFeed feed;
  gint64 id, n, back;

  id = silence_setup (&fx, KMG_SESSION_POLICY_AUTO, &feed);
  n = fx.config.buyer_silence_ms;
  buyer_reports (&fx, id);
  g_assert_true (kmg_session_manager_ice_state (fx.mgr, id, BUYER, 0, 0, KMG_SESSION_ICE_DISCONNECTED, fx.now, NULL));
  seller_runs (&feed, 10000, TRUE);
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_ACTIVE);
  g_assert_true (kmg_session_manager_ice_state (fx.mgr, id, BUYER, 0, 0, KMG_SESSION_ICE_CONNECTED, fx.now, NULL));
  back = fx.now;
  seller_runs (&feed, n - 1000, TRUE);
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_ACTIVE);
  seller_runs (&feed, 1000, TRUE);
  g_assert_cmpint (fx.now - back, ==, n);
  g_assert_cmpint (state_of (&fx, id), ==, KMG_SESSION_CONNECTING_RELAY);
  session_fx_clear (&fx);
}

/* Seller reports: the seller only, strict values, ignored on the relay and before P2P activity. */
static void
test_seller_stats_checks (void)
{
  SessionFx fx;
  g_autoptr (GError) error = NULL;
  KmgSessionSellerStats st = { .packets_sent = 1, .bytes_sent = 1, .rr_count = 1, .fraction_lost = 0 };
  KmgWatchRequest relay = session_fx_request ();
  gint64 id, rid;

  session_fx_init (&fx, KMG_SESSION_POLICY_AUTO);
  id = session_fx_start (&fx, BUYER, SELLER, NULL);
  g_assert_false (kmg_session_manager_seller_stats (fx.mgr, id, SELLER, &st, fx.now, &error));
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_BAD_STATE);
  g_clear_error (&error);
  g_assert_true (kmg_session_manager_accept (fx.mgr, id, SELLER, 0, fx.now, NULL));
  g_assert_false (kmg_session_manager_seller_stats (fx.mgr, id, BUYER, &st, fx.now, &error));
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_FORBIDDEN);
  g_clear_error (&error);
  g_assert_false (kmg_session_manager_seller_stats (fx.mgr, id, OTHER, &st, fx.now, &error));
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_NOT_PARTICIPANT);
  g_clear_error (&error);
  st.fraction_lost = 1.5;
  g_assert_false (kmg_session_manager_seller_stats (fx.mgr, id, SELLER, &st, fx.now, &error));
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_INVALID);
  g_clear_error (&error);
  st.fraction_lost = NAN;
  g_assert_false (kmg_session_manager_seller_stats (fx.mgr, id, SELLER, &st, fx.now, &error));
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_INVALID);
  g_clear_error (&error);
  st.fraction_lost = 0;
  st.timestamp_ms = -1;
  g_assert_false (kmg_session_manager_seller_stats (fx.mgr, id, SELLER, &st, fx.now, &error));
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_INVALID);
  g_clear_error (&error);
  st.timestamp_ms = 0;
  g_assert_true (kmg_session_manager_seller_stats (fx.mgr, id, SELLER, &st, fx.now, &error));

  /* On the relay the server measures: a seller's report there changes nothing. */
  relay.buyer_always_relay = TRUE;
  rid = session_fx_start_accepted (&fx, 5, SELLER, &relay);
  kmg_session_manager_first_frame (fx.mgr, rid, 5, 0, 0, fx.now, NULL);
  for (int i = 0; i < 10; i++)
    {
      session_fx_advance (&fx, 2000);
      st.packets_sent += 100, st.bytes_sent += 100, st.rr_count += 2;
      g_assert_true (kmg_session_manager_seller_stats (fx.mgr, rid, SELLER, &st, fx.now, &error));
    }
  g_assert_no_error (error);
  g_assert_cmpint (state_of (&fx, rid), ==, KMG_SESSION_ACTIVE);
  session_fx_clear (&fx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sessions/manager/p2p-happy-path", test_p2p_happy_path);
  g_test_add_func ("/sessions/manager/fallback-on-timeout", test_fallback_timeout);
  g_test_add_data_func ("/sessions/manager/fallback-on-ice-failed/connecting", GINT_TO_POINTER (FALSE),
                        test_fallback_ice_failed);
  g_test_add_data_func ("/sessions/manager/fallback-on-ice-failed/active", GINT_TO_POINTER (TRUE),
                        test_fallback_ice_failed);
  g_test_add_data_func ("/sessions/manager/always-relay/buyer", "buyer", test_always_relay);
  g_test_add_data_func ("/sessions/manager/always-relay/seller", "seller", test_always_relay);
  g_test_add_data_func ("/sessions/manager/always-relay/policy", "policy", test_always_relay);
  g_test_add_func ("/sessions/manager/never-policy", test_never_policy);
  g_test_add_func ("/sessions/manager/non-participant-refused", test_non_participant);
  g_test_add_func ("/sessions/manager/roles-and-payloads", test_roles_and_payloads);
  g_test_add_func ("/sessions/manager/admission-errors", test_admission);
  g_test_add_func ("/sessions/manager/end-reasons", test_end_reasons);
  g_test_add_func ("/sessions/manager/stop-live-ends-all", test_stop_live_ends_all);
  g_test_add_func ("/sessions/manager/ban", test_ban);
  g_test_add_data_func ("/sessions/manager/ice-restart/within-grace", GINT_TO_POINTER (FALSE), test_ice_restart);
  g_test_add_data_func ("/sessions/manager/ice-restart/beyond-grace", GINT_TO_POINTER (TRUE), test_ice_restart);
  g_test_add_func ("/sessions/manager/relay-leg-grace", test_relay_leg_grace);
  g_test_add_func ("/sessions/manager/late-messages", test_late_messages);
  g_test_add_func ("/sessions/manager/count", test_count);
  g_test_add_func ("/sessions/manager/buyer-gone/after-grace", test_buyer_gone_after_grace);
  g_test_add_func ("/sessions/manager/buyer-gone/reconnect-within-grace", test_buyer_gone_reconnect);
  g_test_add_func ("/sessions/manager/buyer-gone/each-close-restarts", test_buyer_gone_restart);
  g_test_add_func ("/sessions/manager/buyer-gone/seller-unaffected", test_buyer_gone_seller_unaffected);
  g_test_add_func ("/sessions/manager/schedule/every-entry-point", test_schedule);
  g_test_add_func ("/sessions/manager/schedule/no-reentry", test_schedule_no_reentry);
  g_test_add_func ("/sessions/manager/silent-buyer/seller-flowing-predicate", test_seller_flowing_predicate);
  g_test_add_func ("/sessions/manager/silent-buyer/to-relay", test_silent_buyer_to_relay);
  g_test_add_func ("/sessions/manager/silent-buyer/late-seller-report", test_silent_buyer_late_seller);
  g_test_add_func ("/sessions/manager/silent-buyer/flat-reports", test_silent_buyer_flat_reports);
  g_test_add_func ("/sessions/manager/silent-buyer/policy-never-ends", test_silent_buyer_never);
  g_test_add_data_func ("/sessions/manager/silent-buyer/silent-seller", GINT_TO_POINTER (FALSE),
                        test_silent_buyer_silent_seller);
  g_test_add_data_func ("/sessions/manager/silent-buyer/no-receiver-reports", GINT_TO_POINTER (TRUE),
                        test_silent_buyer_silent_seller);
  g_test_add_func ("/sessions/manager/silent-buyer/resumes", test_silent_buyer_resumes);
  g_test_add_func ("/sessions/manager/silent-buyer/reconnecting", test_silent_buyer_reconnecting);
  g_test_add_func ("/sessions/manager/seller-stats/checks", test_seller_stats_checks);
  return g_test_run ();
}
