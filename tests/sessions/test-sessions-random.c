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

/* How far the walks got, so a walk that never reaches the interesting states fails. */
typedef struct
{
  guint active_p2p, active_relay, fallbacks, relay_signals, p2p_signals;
} Coverage;

typedef struct
{
  SessionFx fx;
  Coverage *cov;
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
  KmgSession *s;
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
      g_assert_cmpint (kmg_session_get_path (s), ==, KMG_SESSION_PATH_P2P);
      g_assert_false (sh->private_party);
      run->cov->p2p_signals++;
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
          run->cov->active_p2p += g_str_has_suffix (c, ":connecting_p2p>active");
          run->cov->active_relay += g_str_has_suffix (c, ":connecting_relay>active");
          run->cov->fallbacks += g_str_has_suffix (c, "p2p>connecting_relay");
          continue;
        }
      if (g_str_has_prefix (c, "relay_start:"))
        shadow_of (run, id)->relay_starts++;
      else if (g_str_has_prefix (c, "relay_stop:"))
        shadow_of (run, id)->relay_stops++;
      else if (g_str_has_prefix (c, "billing_end:"))
        shadow_of (run, id)->billing_ends++;
      else if (g_str_has_prefix (c, "relay_signal:") && ++run->cov->relay_signals)
        g_assert_cmpint (kmg_session_get_path (kmg_session_manager_get (run->fx.mgr, id)), ==,
                         KMG_SESSION_PATH_RELAY);
    }
}

static gint64
pick_user (Run *run)
{
  return g_rand_int_range (run->rand, 1, N_USERS + 1);
}

/* Mostly one of the newest sessions (older ones have usually ended), sometimes any id at all. */
static gint64
pick_session (Run *run)
{
  guint n = run->ids->len;

  if (n == 0 || g_rand_int_range (run->rand, 0, 20) == 0)
    return g_rand_int_range (run->rand, 1, 500);
  if (g_rand_int_range (run->rand, 0, 4) > 0)
    return g_array_index (run->ids, gint64, n - 1 - (guint) g_rand_int_range (run->rand, 0, MIN (n, 3)));
  return g_array_index (run->ids, gint64, g_rand_int_range (run->rand, 0, n));
}

/* Usually the party that would send this event (@role), sometimes the other one or anyone. */
static gint64
pick_actor (Run *run, gint64 id, int role)
{
  Shadow *sh = g_hash_table_lookup (run->shadow, &id);
  int dice = g_rand_int_range (run->rand, 0, 10);

  if (sh == NULL || dice == 0)
    return pick_user (run);
  if (role < 0 || dice < 3)
    return g_rand_boolean (run->rand) ? sh->buyer : sh->seller;
  return role == KMG_SESSION_ROLE_BUYER ? sh->buyer : sh->seller;
}

static KmgSessionIceState
pick_ice (Run *run)
{
  static const KmgSessionIceState states[] = {
    KMG_SESSION_ICE_CONNECTED, KMG_SESSION_ICE_CONNECTED, KMG_SESSION_ICE_CONNECTED, KMG_SESSION_ICE_CONNECTED,
    KMG_SESSION_ICE_DISCONNECTED, KMG_SESSION_ICE_FAILED, KMG_SESSION_ICE_CHECKING, KMG_SESSION_ICE_CLOSED,
  };
  return states[g_rand_int_range (run->rand, 0, G_N_ELEMENTS (states))];
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
  else if (g_rand_int_range (run->rand, 0, 10) == 0)
    sig.candidate = "candidate:1 1 udp 1 ::ffff:169.254.169.254 80 typ host"; /* always refused */
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

/* Event weights: constructive events dominate so walks reach active sessions and fallbacks. */
enum { EV_WATCH, EV_ACCEPT, EV_DECLINE, EV_SIGNAL, EV_ICE, EV_FRAME, EV_STATS, EV_LEAVE, EV_SERVER, EV_CLOSE,
       EV_TIME, EV_N };
static const guint weights[EV_N] = { 3, 4, 1, 6, 6, 5, 2, 1, 3, 1, 3 };

static guint
pick_event (Run *run)
{
  guint total = 0, r;

  for (guint i = 0; i < EV_N; i++)
    total += weights[i];
  r = g_rand_int_range (run->rand, 0, total);
  for (guint i = 0; i < EV_N; i++)
    {
      if (r < weights[i])
        return i;
      r -= weights[i];
    }
  return EV_TIME;
}

static void
server_event (Run *run, gint64 id, gint64 user)
{
  KmgSessionManager *mgr = run->fx.mgr;
  gint64 now = run->fx.now;
  KmgSessionSignal relay_sig = { .kind = KMG_SESSION_SIGNAL_ICE_CANDIDATE,
                                 .candidate = "candidate:9 1 udp 1 192.0.2.200 3478 typ host", .mline_index = 0 };

  switch (g_rand_int_range (run->rand, 0, 14))
    {
    case 0: kmg_session_manager_presence_gone (mgr, user, now); break;
    case 1: kmg_session_manager_stop_live (mgr, user, now); break;
    case 2: kmg_session_manager_ban (mgr, user, now); break;
    case 3: kmg_session_manager_billing_exhausted (mgr, id, now); break;
    case 4: case 5: kmg_session_manager_relay_leg_state (mgr, id, pick_ice (run), now); break;
    case 6: case 7: kmg_session_manager_relay_seller_leg_state (mgr, user, pick_ice (run), now); break;
    case 8: kmg_session_manager_relay_error (mgr, id, now); break;
    case 9: case 10: kmg_session_manager_relay_to_buyer (mgr, id, &relay_sig, now); break;
    case 11: case 12: kmg_session_manager_relay_to_seller (mgr, user, &relay_sig, now); break;
    default: kmg_session_manager_end (mgr, id, KMG_SESSION_END_ADMIN, now); break;
    }
}

static void
step (Run *run)
{
  g_autoptr (GError) error = NULL;
  KmgSessionManager *mgr = run->fx.mgr;
  gint64 now = run->fx.now, id = pick_session (run);
  KmgSessionStats stats = { .frames_decoded = g_rand_int (run->rand), .timestamp_ms = now };
  guint sent = run->fx.sent->len;
  guint ev = pick_event (run);

  run->fx.relay_fails = g_rand_int_range (run->rand, 0, 10) == 0;
  switch (ev)
    {
    case EV_WATCH: do_watch (run, &error); break;
    case EV_ACCEPT:
      kmg_session_manager_accept (mgr, id, pick_actor (run, id, KMG_SESSION_ROLE_SELLER), 0, now, &error);
      break;
    case EV_DECLINE:
      kmg_session_manager_decline (mgr, id, pick_actor (run, id, KMG_SESSION_ROLE_SELLER), 0, now, &error);
      break;
    case EV_SIGNAL: do_signal (run, id, pick_actor (run, id, -1), &error); break;
    case EV_ICE:
      kmg_session_manager_ice_state (mgr, id, pick_actor (run, id, -1), 0, pick_path (run), pick_ice (run), now,
                                     &error);
      break;
    case EV_FRAME:
      kmg_session_manager_first_frame (mgr, id, pick_actor (run, id, KMG_SESSION_ROLE_BUYER), 0, pick_path (run),
                                       now, &error);
      break;
    case EV_STATS:
      kmg_session_manager_stats (mgr, id, pick_actor (run, id, KMG_SESSION_ROLE_BUYER), &stats, now, &error);
      break;
    case EV_LEAVE: kmg_session_manager_leave (mgr, id, pick_actor (run, id, -1), now, &error); break;
    case EV_SERVER: server_event (run, id, pick_actor (run, id, -1)); break;
    case EV_CLOSE:
      {
        gint64 user = pick_actor (run, id, -1);

        /* A WebSocket closes; the user may still (or again) have another one. */
        session_fx_set_connections (&run->fx, user, (guint) g_rand_int_range (run->rand, 0, 2));
        kmg_session_manager_user_connection_closed (mgr, user, now);
      }
      break;
    default: session_fx_advance (&run->fx, g_rand_int_range (run->rand, 0, 8000)); break;
    }
  /* A refusal is a KMG_SESSION_ERROR and changes nothing. */
  if (error != NULL)
    {
      g_assert_true (error->domain == KMG_SESSION_ERROR);
      g_assert_cmpuint (run->fx.sent->len, ==, sent);
    }
  /* Whatever happened, the timer the server would arm is the manager's next deadline. */
  g_assert_cmpint (run->fx.scheduled, ==, kmg_session_manager_next_deadline (mgr));
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
count_kept (KmgSession *session, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
one_run (guint32 seed, Coverage *cov)
{
  Run run = { .cov = cov };

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
  {
    guint kept = 0;
    kmg_session_manager_foreach (run.fx.mgr, count_kept, &kept);
    /* Ended sessions are kept a while (a run may also have none left: all freed already). */
    if (kept > 0)
      g_assert_cmpint (kmg_session_manager_next_deadline (run.fx.mgr), >, 0);
  }
  /* Past every grace and every kept session: nothing left to wake up for. */
  session_fx_advance (&run.fx, run.fx.config.ended_keep_ms);
  g_assert_cmpint (kmg_session_manager_next_deadline (run.fx.mgr), ==, -1);
  g_assert_cmpint (run.fx.scheduled, ==, -1);
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
  Coverage cov = { 0 };

  g_printerr ("# sessions random walk: base seed %u (replay with KMG_TEST_SEED=<seed of a run>)\n", base);
  for (guint i = 0; i < runs; i++)
    {
      g_test_message ("run seed %u", base + i);
      one_run (base + i, &cov);
    }
  g_printerr ("# active p2p %u, active relay %u, fallbacks %u, p2p signals %u, relay signals %u\n",
              cov.active_p2p, cov.active_relay, cov.fallbacks, cov.p2p_signals, cov.relay_signals);
  if (env == NULL)
    {
      g_assert_cmpuint (cov.active_p2p, >, 0);
      g_assert_cmpuint (cov.active_relay, >, 0);
      g_assert_cmpuint (cov.fallbacks, >, 0);
      g_assert_cmpuint (cov.p2p_signals, >, 0);
      g_assert_cmpuint (cov.relay_signals, >, 0);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sessions/random/invariants", test_random_invariants);
  return g_test_run ();
}
