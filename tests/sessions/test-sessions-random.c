/* test-sessions-random.c — seeded random event sequences against the session manager, checking
 * invariants after every step. The seed is printed; KMG_TEST_SEED=<n> replays one run. */

#include "sessions-fixture.h"

#include <stdlib.h>
#include <string.h>

#define N_USERS 6
#define N_RUNS 150
#define N_STEPS 400

typedef struct
{
  gint64 buyer, seller;
  gboolean private_party; /* a party asked for always_relay */
  gboolean ended_seen;    /* session.ended was sent */
  guint relay_starts, relay_stops, billing_starts, billing_ends;
} Shadow;

typedef struct
{
  SessionFx fx;
  GRand *rand;
  GHashTable *shadow; /* id -> Shadow */
  GArray *ids;        /* gint64, every id ever created */
  gint64 pending_buyer, pending_seller;
  gboolean pending_private;
} Run;

static char *
ip_of (gint64 user)
{
  return g_strdup_printf ("10.%" G_GINT64_FORMAT ".0.1", user);
}

static Shadow *
shadow_of (Run *run, gint64 id)
{
  Shadow *sh = g_hash_table_lookup (run->shadow, &id);

  g_assert_nonnull (sh);
  return sh;
}

/* A new id can only come from the watch_start in progress: its parties are the ones it asked for. */
static Shadow *
shadow_get_or_create (Run *run, gint64 id)
{
  Shadow *sh = g_hash_table_lookup (run->shadow, &id);

  if (sh != NULL)
    return sh;
  sh = g_new0 (Shadow, 1);
  sh->buyer = run->pending_buyer;
  sh->seller = run->pending_seller;
  sh->private_party = run->pending_private;
  g_hash_table_insert (run->shadow, g_memdup2 (&id, sizeof id), sh);
  g_array_append_val (run->ids, id);
  return sh;
}

/* Checked at the moment each message leaves the manager. */
static void
check_send (gpointer p, gint64 user, JsonObject *msg)
{
  Run *run = p;
  const char *type = json_object_get_string_member (msg, "type");
  KmgWatchSession *s;
  Shadow *sh;
  gint64 id;

  if (!json_object_has_member (msg, "session_id"))
    {
      /* Only relay signaling towards a seller's shared leg carries no session. */
      g_assert_cmpstr (type, ==, "signal");
      g_assert_cmpstr (json_object_get_string_member (msg, "from"), ==, "relay");
      return;
    }
  id = json_object_get_int_member (msg, "session_id");
  sh = shadow_get_or_create (run, id);
  g_assert_true (user == sh->buyer || user == sh->seller); /* never to a non-participant */
  g_assert_false (sh->ended_seen);                        /* ended is terminal */
  /* session.ended goes to the buyer, then to the seller: nothing may follow the second one. */
  if (g_str_equal (type, "session.ended") && user == sh->seller)
    sh->ended_seen = TRUE;
  if (g_str_equal (type, "signal") && !g_str_equal (json_object_get_string_member (msg, "from"), "relay"))
    {
      s = kmg_session_manager_get (run->fx.mgr, id);
      g_assert_cmpint (kmg_watch_session_get_path (s), ==, KMG_SESSION_PATH_P2P);
      g_assert_false (sh->private_party);
    }
  if (sh->private_party)
    {
      g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), msg);
      g_autofree char *text = json_to_string (node, FALSE);
      g_autofree char *other_ip = ip_of (user == sh->buyer ? sh->seller : sh->buyer);

      g_assert_null (strstr (text, other_ip));
    }
}

static void
absorb_calls (Run *run, guint from)
{
  for (guint i = from; i < run->fx.calls->len; i++)
    {
      const char *c = run->fx.calls->pdata[i];
      const char *colon = strchr (c, ':');
      gint64 id = g_ascii_strtoll (colon + 1, NULL, 10);

      if (g_str_has_prefix (c, "billing_start:"))
        {
          shadow_get_or_create (run, id)->billing_starts++;
          continue;
        }
      if (g_str_has_prefix (c, "state:"))
        {
          /* Nothing leaves ended. */
          g_assert_null (strstr (c, ":ended>"));
          continue;
        }
      if (g_str_has_prefix (c, "relay_start:"))
        shadow_of (run, id)->relay_starts++;
      else if (g_str_has_prefix (c, "relay_stop:"))
        shadow_of (run, id)->relay_stops++;
      else if (g_str_has_prefix (c, "billing_end:"))
        shadow_of (run, id)->billing_ends++;
      else if (g_str_has_prefix (c, "relay_signal:"))
        g_assert_cmpint (kmg_watch_session_get_path (kmg_session_manager_get (run->fx.mgr, id)), ==,
                         KMG_SESSION_PATH_RELAY);
    }
}

static gint64
pick_user (Run *run)
{
  return g_rand_int_range (run->rand, 1, N_USERS + 1);
}

static gint64
pick_session (Run *run)
{
  if (run->ids->len == 0 || g_rand_int_range (run->rand, 0, 20) == 0)
    return g_rand_int_range (run->rand, 1, 500);
  return g_array_index (run->ids, gint64, g_rand_int_range (run->rand, 0, run->ids->len));
}

/* A participant of @id most of the time, anyone sometimes. */
static gint64
pick_actor (Run *run, gint64 id)
{
  Shadow *sh = g_hash_table_lookup (run->shadow, &id);

  if (sh == NULL || g_rand_int_range (run->rand, 0, 8) == 0)
    return pick_user (run);
  return g_rand_boolean (run->rand) ? sh->buyer : sh->seller;
}

static KmgSessionPath
pick_path (Run *run)
{
  return (KmgSessionPath) g_rand_int_range (run->rand, 0, KMG_SESSION_N_PATHS);
}

static void
do_signal (Run *run, gint64 id, gint64 user, GError **error)
{
  g_autofree char *ip = ip_of (user);
  g_autofree char *sdp = session_fx_sdp (ip), *cand = session_fx_candidate (ip);
  KmgSessionSignal sig = { .kind = g_rand_int_range (run->rand, 0, 3), .sdp = sdp, .candidate = cand,
                           .mline_index = -1 };

  if (g_rand_int_range (run->rand, 0, 4) == 0)
    sig.path = pick_path (run);
  kmg_session_manager_signal (run->fx.mgr, id, user, 0, &sig, run->fx.now, error);
}

static void
do_watch (Run *run, GError **error)
{
  KmgWatchRequest req = session_fx_request ();

  run->pending_buyer = pick_user (run);
  run->pending_seller = pick_user (run);
  req.streaming = g_rand_int_range (run->rand, 0, 10) > 0;
  req.buyer_always_relay = g_rand_int_range (run->rand, 0, 5) == 0;
  req.seller_always_relay = g_rand_int_range (run->rand, 0, 5) == 0;
  run->pending_private = req.buyer_always_relay || req.seller_always_relay;
  run->fx.balance_ok = g_rand_int_range (run->rand, 0, 10) > 0;
  kmg_session_manager_watch_start (run->fx.mgr, run->pending_buyer, 0, run->pending_seller, &req, run->fx.now,
                                   error);
}

static void
step (Run *run)
{
  g_autoptr (GError) error = NULL;
  KmgSessionManager *mgr = run->fx.mgr;
  gint64 now = run->fx.now, id = pick_session (run), user = pick_actor (run, id);
  KmgSessionIceState ice = g_rand_int_range (run->rand, 0, KMG_SESSION_ICE_CLOSED + 1);
  KmgSessionStats stats = { .frames_decoded = g_rand_int (run->rand), .timestamp_ms = now };
  KmgSessionSignal relay_sig = { .kind = KMG_SESSION_SIGNAL_ICE_CANDIDATE,
                                 .candidate = "candidate:9 1 udp 1 192.0.2.200 3478 typ host", .mline_index = 0 };
  guint sent = run->fx.sent->len;
  gboolean client_event = TRUE;

  run->fx.relay_fails = g_rand_int_range (run->rand, 0, 10) == 0;
  switch (g_rand_int_range (run->rand, 0, 22))
    {
    case 0: case 1: case 2: do_watch (run, &error); break;
    case 3: case 4: kmg_session_manager_accept (mgr, id, user, 0, now, &error); break;
    case 5: kmg_session_manager_decline (mgr, id, user, 0, now, &error); break;
    case 6: case 7: do_signal (run, id, user, &error); break;
    case 8: case 9: kmg_session_manager_ice_state (mgr, id, user, 0, pick_path (run), ice, now, &error); break;
    case 10: kmg_session_manager_first_frame (mgr, id, user, 0, pick_path (run), now, &error); break;
    case 11: kmg_session_manager_stats (mgr, id, user, &stats, now, &error); break;
    case 12: kmg_session_manager_leave (mgr, id, user, now, &error); break;
    default:
      client_event = FALSE;
      switch (g_rand_int_range (run->rand, 0, 12))
        {
        case 0: kmg_session_manager_presence_gone (mgr, user, now); break;
        case 1: kmg_session_manager_stop_live (mgr, user, now); break;
        case 2: kmg_session_manager_ban (mgr, user, now); break;
        case 3: kmg_session_manager_billing_exhausted (mgr, id, now); break;
        case 4: kmg_session_manager_relay_leg_state (mgr, id, ice, now); break;
        case 5: kmg_session_manager_relay_seller_leg_state (mgr, user, ice, now); break;
        case 6: kmg_session_manager_relay_error (mgr, id, now); break;
        case 7: kmg_session_manager_relay_to_buyer (mgr, id, &relay_sig, now); break;
        case 8: kmg_session_manager_relay_to_seller (mgr, user, &relay_sig, now); break;
        case 9: kmg_session_manager_end (mgr, id, KMG_SESSION_END_ADMIN, now); break;
        default: session_fx_advance (&run->fx, g_rand_int_range (run->rand, 0, 8000)); break;
        }
    }
  /* A refusal is a KMG_SESSIONS_ERROR and changes nothing. */
  if (client_event && error != NULL)
    {
      g_assert_true (error->domain == KMG_SESSIONS_ERROR);
      g_assert_cmpuint (run->fx.sent->len, ==, sent);
    }
}

static void
check_final (Run *run)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, run->shadow);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Shadow *sh = value;

      g_assert_cmpuint (sh->relay_starts, <=, 1);
      g_assert_cmpuint (sh->relay_stops, ==, sh->relay_starts);
      g_assert_cmpuint (sh->billing_ends, ==, sh->billing_starts);
    }
}

static void
one_run (guint32 seed)
{
  Run run = { 0 };

  session_fx_init (&run.fx, (KmgSessionPolicy) (seed % 3));
  run.fx.config.max_sessions_per_seller = seed % 4;
  session_fx_restart (&run.fx);
  run.fx.on_send = check_send;
  run.rand = g_rand_new_with_seed (seed);
  run.shadow = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  run.ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint i = 0; i < N_STEPS; i++)
    {
      guint calls = run.fx.calls->len;

      step (&run);
      absorb_calls (&run, calls);
    }
  {
    guint calls = run.fx.calls->len;
    kmg_session_manager_shutdown (run.fx.mgr, run.fx.now);
    absorb_calls (&run, calls);
  }
  check_final (&run);
  g_assert_cmpint (kmg_session_manager_next_deadline (run.fx.mgr), >, 0); /* ended ones still kept */
  session_fx_advance (&run.fx, run.fx.config.ended_keep_ms);
  g_assert_cmpint (kmg_session_manager_next_deadline (run.fx.mgr), ==, -1);
  g_hash_table_unref (run.shadow);
  g_array_unref (run.ids);
  g_rand_free (run.rand);
  session_fx_clear (&run.fx);
}

static void
test_random_invariants (void)
{
  const char *env = g_getenv ("KMG_TEST_SEED");
  guint32 base = env != NULL ? (guint32) g_ascii_strtoull (env, NULL, 10) : g_random_int ();
  guint runs = env != NULL ? 1 : N_RUNS;

  g_printerr ("# sessions random walk: base seed %u (replay with KMG_TEST_SEED=<seed of a run>)\n", base);
  for (guint i = 0; i < runs; i++)
    {
      g_test_message ("run seed %u", base + i);
      one_run (base + i);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sessions/random/invariants", test_random_invariants);
  return g_test_run ();
}
