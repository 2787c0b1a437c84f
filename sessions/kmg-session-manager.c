/* kmg-session-manager.c — session table, state transitions, path start/fallback, ICE grace, ending
 * and timeouts. Runs on the main context only; the effects are the server's code. */

#include "kmg-session-private.h"

#include <string.h>

void
kmg_session_config_init (KmgSessionConfig *config)
{
  *config = (KmgSessionConfig){
    .policy = KMG_SESSION_POLICY_AUTO,
    .p2p_timeout_ms = 5000,
    .connect_timeout_ms = 15000,
    .answer_timeout_ms = 30000,
    .ice_grace_ms = 20000,
    .ended_keep_ms = 60000,
    .buyer_silence_ms = 6000,
  };
}

static void
session_free (gpointer p)
{
  KmgSession *s = p;

  if (s->destroy != NULL)
    s->destroy (s->data);
  g_free (s);
}

KmgSessionManager *
kmg_session_manager_new (const KmgSessionConfig *config, const KmgSessionEffects *effects,
                         gpointer user_data, GError **error)
{
  g_autoptr (KmgSessionManager) mgr = NULL;

  g_return_val_if_fail (config != NULL && effects != NULL && effects->send != NULL, NULL);
  mgr = g_new0 (KmgSessionManager, 1);
  mgr->config = *config;
  mgr->config.denied_cidrs = g_strdupv (config->denied_cidrs);
  mgr->fx = *effects;
  mgr->user_data = user_data;
  mgr->sessions = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, session_free);
  mgr->gone = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  mgr->next_id = 1;
  mgr->deny = kmg_session_deny_list_new ((const char *const *) config->denied_cidrs,
                                          config->allow_loopback, error);
  if (mgr->deny == NULL)
    return NULL;
  return g_steal_pointer (&mgr);
}

void
kmg_session_manager_free (KmgSessionManager *mgr)
{
  if (mgr == NULL)
    return;
  g_clear_pointer (&mgr->sessions, g_hash_table_unref);
  g_clear_pointer (&mgr->gone, g_hash_table_unref);
  kmg_session_deny_list_free (mgr->deny);
  g_strfreev (mgr->config.denied_cidrs);
  g_free (mgr);
}

gboolean
kmg_session_enter (KmgSessionManager *mgr)
{
  g_return_val_if_fail (mgr != NULL, FALSE);
  g_return_val_if_fail (!mgr->busy, FALSE);
  mgr->busy = TRUE;
  return TRUE;
}

void
kmg_session_leave (KmgSessionManager *mgr)
{
  /* Still busy here: a schedule effect calling back in is refused like any other effect. */
  if (mgr->fx.schedule != NULL)
    mgr->fx.schedule (kmg_session_manager_next_deadline (mgr), mgr->user_data);
  mgr->busy = FALSE;
}

gboolean
kmg_session_is_live (const KmgSession *s)
{
  return s->state != KMG_SESSION_ENDED;
}

KmgSession *
kmg_session_lookup (KmgSessionManager *mgr, gint64 id, gint64 user, gboolean allow_ended,
                    KmgSessionRole *role, GError **error)
{
  KmgSession *s = g_hash_table_lookup (mgr->sessions, &id);

  if (s == NULL)
    {
      g_set_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_NOT_FOUND, "no session %" G_GINT64_FORMAT, id);
      return NULL;
    }
  if (user != s->buyer && user != s->seller)
    {
      g_set_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_NOT_PARTICIPANT,
                   "not a participant of session %" G_GINT64_FORMAT, id);
      return NULL;
    }
  if (!allow_ended && s->state == KMG_SESSION_ENDED)
    {
      g_set_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_SESSION_ENDED,
                   "session %" G_GINT64_FORMAT " has ended (%s)", id,
                   kmg_session_end_reason_to_string (s->end_reason));
      return NULL;
    }
  if (role != NULL)
    *role = user == s->buyer ? KMG_SESSION_ROLE_BUYER : KMG_SESSION_ROLE_SELLER;
  return s;
}

void
kmg_session_send (KmgSessionManager *mgr, KmgSession *s, KmgSessionRole role, JsonObject *msg)
{
  gboolean buyer = role == KMG_SESSION_ROLE_BUYER;

  mgr->fx.send (buyer ? s->buyer : s->seller, buyer ? s->buyer_conn : s->seller_conn, msg, mgr->user_data);
  json_object_unref (msg);
}

static void
send_state (KmgSessionManager *mgr, KmgSession *s)
{
  kmg_session_send (mgr, s, KMG_SESSION_ROLE_BUYER, kmg_session_msg_state (s, KMG_SESSION_ROLE_BUYER));
  kmg_session_send (mgr, s, KMG_SESSION_ROLE_SELLER, kmg_session_msg_state (s, KMG_SESSION_ROLE_SELLER));
}

static void
log_transition (const KmgSession *s, KmgSessionState old_state)
{
  g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, s->id);

  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_DEBUG, "KMG_SESSION", id, "MESSAGE",
                    "session %s: %s -> %s (path %s%s%s)", id, kmg_session_state_to_string (old_state),
                    kmg_session_state_to_string (s->state), kmg_session_path_to_string (s->path),
                    s->state == KMG_SESSION_ENDED ? ", " : "",
                    s->state == KMG_SESSION_ENDED ? kmg_session_end_reason_to_string (s->end_reason) : "");
}

void
kmg_session_set_state (KmgSessionManager *mgr, KmgSession *s, KmgSessionState state, gint64 now_ms)
{
  KmgSessionState old_state = s->state;

  s->state = state;
  if (state == KMG_SESSION_ACTIVE && s->active_ms == 0)
    s->active_ms = now_ms;
  log_transition (s, old_state);
  if (mgr->fx.state_changed != NULL)
    mgr->fx.state_changed (s, old_state, mgr->user_data);
  send_state (mgr, s);
}

gboolean
kmg_session_end (KmgSessionManager *mgr, KmgSession *s, KmgSessionEndReason reason, gint64 now_ms)
{
  if (s->state == KMG_SESSION_ENDED)
    return FALSE;
  s->end_reason = reason;
  s->ended_ms = now_ms;
  s->state_deadline = s->grace_deadline = KMG_NO_DEADLINE;
  kmg_session_silence_clear (s);
  s->free_at = now_ms + mgr->config.ended_keep_ms;
  /* Media first: the relay stops forwarding before anything else happens (DESIGN §5.6). */
  if (s->relay_started)
    {
      s->relay_started = FALSE;
      if (mgr->fx.relay_stop_buyer != NULL)
        mgr->fx.relay_stop_buyer (s, mgr->user_data);
    }
  if (s->billing_started)
    {
      s->billing_started = FALSE;
      if (mgr->fx.billing_session_ended != NULL)
        mgr->fx.billing_session_ended (s, reason, mgr->user_data);
    }
  kmg_session_set_state (mgr, s, KMG_SESSION_ENDED, now_ms);
  return TRUE;
}

static void
reset_path (KmgSession *s)
{
  s->buyer_ice_connected = FALSE;
  s->first_frame = FALSE;
  s->disconnected = 0;
  s->grace_deadline = KMG_NO_DEADLINE;
  kmg_session_silence_clear (s);
}

void
kmg_session_start_p2p (KmgSessionManager *mgr, KmgSession *s, gint64 now_ms)
{
  gboolean fallback_possible = mgr->config.policy == KMG_SESSION_POLICY_AUTO;

  reset_path (s);
  s->path = KMG_SESSION_PATH_P2P;
  s->state_deadline = now_ms + (fallback_possible ? mgr->config.p2p_timeout_ms : mgr->config.connect_timeout_ms);
  kmg_session_send (mgr, s, KMG_SESSION_ROLE_BUYER, kmg_session_msg_path (s, KMG_SESSION_ROLE_BUYER, FALSE));
  kmg_session_send (mgr, s, KMG_SESSION_ROLE_SELLER, kmg_session_msg_path (s, KMG_SESSION_ROLE_SELLER, FALSE));
  kmg_session_set_state (mgr, s, KMG_SESSION_CONNECTING_P2P, now_ms);
}

void
kmg_session_start_relay (KmgSessionManager *mgr, KmgSession *s, gboolean fallback, gint64 now_ms)
{
  g_autoptr (GError) error = NULL;
  JsonObject *buyer_msg, *seller_msg;
  gboolean offer_needed = FALSE;

  reset_path (s);
  s->path = KMG_SESSION_PATH_RELAY;
  s->fell_back = fallback;
  buyer_msg = kmg_session_msg_path (s, KMG_SESSION_ROLE_BUYER, fallback);
  seller_msg = kmg_session_msg_path (s, KMG_SESSION_ROLE_SELLER, fallback);
  if (mgr->fx.relay_start_buyer == NULL
      || !mgr->fx.relay_start_buyer (s, &offer_needed, buyer_msg, seller_msg, mgr->user_data, &error))
    {
      g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, s->id);

      /* An operational event (relay full, leg limit), not a bug: message level. */
      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "KMG_SESSION", id, "MESSAGE",
                        "session %s: relay refused the buyer leg: %s", id,
                        error != NULL ? error->message : "no relay");
      json_object_unref (buyer_msg);
      json_object_unref (seller_msg);
      kmg_session_end (mgr, s, KMG_SESSION_END_RELAY_ERROR, now_ms);
      return;
    }
  s->relay_started = TRUE;
  json_object_set_boolean_member (seller_msg, "offer_needed", offer_needed);
  s->state_deadline = now_ms + mgr->config.connect_timeout_ms;
  kmg_session_send (mgr, s, KMG_SESSION_ROLE_BUYER, buyer_msg);
  kmg_session_send (mgr, s, KMG_SESSION_ROLE_SELLER, seller_msg);
  kmg_session_set_state (mgr, s, KMG_SESSION_CONNECTING_RELAY, now_ms);
}

void
kmg_session_p2p_failed (KmgSessionManager *mgr, KmgSession *s, gint64 now_ms)
{
  if (mgr->config.policy == KMG_SESSION_POLICY_AUTO)
    kmg_session_start_relay (mgr, s, TRUE, now_ms);
  else
    kmg_session_end (mgr, s, KMG_SESSION_END_ICE_FAILED, now_ms);
}

void
kmg_session_maybe_activate (KmgSessionManager *mgr, KmgSession *s, gint64 now_ms)
{
  gboolean ready = s->state == KMG_SESSION_CONNECTING_P2P ? s->buyer_ice_connected && s->first_frame
                 : s->state == KMG_SESSION_CONNECTING_RELAY ? s->first_frame
                 : FALSE;

  if (!ready)
    return;
  s->state_deadline = KMG_NO_DEADLINE;
  kmg_session_set_state (mgr, s, KMG_SESSION_ACTIVE, now_ms);
  kmg_session_silence_restart (mgr, s, now_ms);
}

/* Grace bookkeeping for one transport: a deadline runs while any transport is disconnected. */
void
kmg_session_transport_state (KmgSessionManager *mgr, KmgSession *s, guint transport,
                             KmgSessionIceState state, gint64 now_ms)
{
  guint before = s->disconnected;

  switch (state)
    {
    case KMG_SESSION_ICE_CONNECTED:
      s->disconnected &= ~transport;
      break;
    case KMG_SESSION_ICE_DISCONNECTED:
      s->disconnected |= transport;
      break;
    case KMG_SESSION_ICE_FAILED:
      if (s->path == KMG_SESSION_PATH_P2P)
        kmg_session_p2p_failed (mgr, s, now_ms);
      else
        kmg_session_end (mgr, s, KMG_SESSION_END_ICE_FAILED, now_ms);
      return;
    default:
      return;
    }
  if ((before == 0) == (s->disconnected == 0))
    return;
  s->grace_deadline = s->disconnected != 0 ? now_ms + mgr->config.ice_grace_ms : KMG_NO_DEADLINE;
  /* Reconnected: the buyer could not attest meanwhile, so its silence counts from now. */
  if (s->disconnected == 0)
    kmg_session_silence_restart (mgr, s, now_ms);
  if (s->disconnected != 0 && (transport & (TRANSPORT_BUYER_PC | TRANSPORT_RELAY_BUYER))
      && s->path == KMG_SESSION_PATH_RELAY && mgr->fx.relay_restart_ice != NULL)
    mgr->fx.relay_restart_ice (s, mgr->user_data);
  /* Not a state change, but both sides show "reconnecting" while the grace runs. */
  send_state (mgr, s);
}

/* ---- time ---- */

static gint64
session_deadline (const KmgSession *s)
{
  if (s->state == KMG_SESSION_ENDED)
    return s->free_at;
  return MIN (MIN (s->state_deadline, s->grace_deadline), s->silence_deadline);
}

static void
fire_state_deadline (KmgSessionManager *mgr, KmgSession *s, gint64 now_ms)
{
  s->state_deadline = KMG_NO_DEADLINE;
  switch (s->state)
    {
    case KMG_SESSION_REQUESTED:
      kmg_session_end (mgr, s, KMG_SESSION_END_NO_ANSWER, now_ms);
      break;
    case KMG_SESSION_CONNECTING_P2P:
      kmg_session_p2p_failed (mgr, s, now_ms);
      break;
    case KMG_SESSION_CONNECTING_RELAY:
      kmg_session_end (mgr, s, KMG_SESSION_END_ICE_FAILED, now_ms);
      break;
    default:
      break;
    }
}

static gint
compare_ids (gconstpointer a, gconstpointer b)
{
  gint64 x = (*(KmgSession *const *) a)->id, y = (*(KmgSession *const *) b)->id;

  return x < y ? -1 : x > y;
}

/* The silent-buyer rule (kmg-session-silence.c) said the buyer no longer attests while media
 * flows: the relay measures from now on, or, when policy forbids it, the session ends. */
void
kmg_session_leave_p2p_unattested (KmgSessionManager *mgr, KmgSession *s, gint64 now_ms)
{
  g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, s->id);
  gboolean relay = mgr->config.policy == KMG_SESSION_POLICY_AUTO;

  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "KMG_SESSION", id, "MESSAGE",
                    "session %s: no buyer attestation for %" G_GINT64_FORMAT " ms while the seller's "
                    "reports show media flowing: %s", id, now_ms - s->attested_ms,
                    relay ? "moving to the relay" : "ending (relay not allowed)");
  if (relay)
    kmg_session_start_relay (mgr, s, TRUE, now_ms);
  else
    kmg_session_end (mgr, s, KMG_SESSION_END_UNATTESTED, now_ms);
}

/* ---- selection of live sessions, and the buyer-gone grace timers ---- */

gboolean
kmg_session_match_buyer (const KmgSession *s, gint64 user)
{
  return s->buyer == user;
}

/* Live sessions matching @user, in id order so effects come out deterministically. */
GPtrArray *
kmg_session_select_live (KmgSessionManager *mgr, KmgSessionMatch match, gint64 user)
{
  GPtrArray *out = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, mgr->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (kmg_session_is_live (value) && match (value, user))
      g_ptr_array_add (out, value);
  g_ptr_array_sort (out, compare_ids);
  return out;
}

guint
kmg_session_end_live (KmgSessionManager *mgr, KmgSessionMatch match, gint64 user, KmgSessionEndReason reason, gint64 now_ms)
{
  g_autoptr (GPtrArray) list = kmg_session_select_live (mgr, match, user);
  guint n = 0;

  for (guint i = 0; i < list->len; i++)
    n += kmg_session_end (mgr, list->pdata[i], reason, now_ms);
  return n;
}

static gint
compare_users (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static void
gone_tick (KmgSessionManager *mgr, gint64 now_ms)
{
  g_autoptr (GArray) due = g_array_new (FALSE, FALSE, sizeof (gint64));
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, mgr->gone);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((KmgGoneGrace *) value)->deadline <= now_ms)
      g_array_append_val (due, ((KmgGoneGrace *) value)->user_id);
  g_array_sort (due, compare_users); /* deterministic order of effects */
  for (guint i = 0; i < due->len; i++)
    {
      gint64 user = g_array_index (due, gint64, i);

      g_hash_table_remove (mgr->gone, &user);
      /* A connection back within the grace (or one presence still holds) keeps the sessions. */
      if (mgr->fx.user_connections == NULL || mgr->fx.user_connections (user, mgr->user_data) == 0)
        kmg_session_end_live (mgr, kmg_session_match_buyer, user, KMG_SESSION_END_BUYER_GONE, now_ms);
    }
}

static gint64
gone_next (KmgSessionManager *mgr)
{
  GHashTableIter iter;
  gpointer value;
  gint64 next = KMG_NO_DEADLINE;

  g_hash_table_iter_init (&iter, mgr->gone);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    next = MIN (next, ((KmgGoneGrace *) value)->deadline);
  return next;
}

gint64
kmg_session_manager_tick (KmgSessionManager *mgr, gint64 now_ms)
{
  g_autoptr (GPtrArray) due = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  if (!kmg_session_enter (mgr))
    return -1;
  g_hash_table_iter_init (&iter, mgr->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (session_deadline (value) <= now_ms)
      g_ptr_array_add (due, value);
  g_ptr_array_sort (due, compare_ids); /* deterministic order of effects */
  for (guint i = 0; i < due->len; i++)
    {
      KmgSession *s = due->pdata[i];

      if (s->state == KMG_SESSION_ENDED)
        g_hash_table_remove (mgr->sessions, &s->id);
      else if (s->grace_deadline <= now_ms)
        kmg_session_end (mgr, s, KMG_SESSION_END_ICE_FAILED, now_ms);
      else if (s->state_deadline <= now_ms)
        fire_state_deadline (mgr, s, now_ms);
      else
        {
          if (kmg_session_silence_due (mgr, s, now_ms))
            kmg_session_leave_p2p_unattested (mgr, s, now_ms);
        }
    }
  gone_tick (mgr, now_ms);
  kmg_session_leave (mgr);
  return kmg_session_manager_next_deadline (mgr);
}

gint64
kmg_session_manager_next_deadline (KmgSessionManager *mgr)
{
  GHashTableIter iter;
  gpointer value;
  gint64 next;

  g_return_val_if_fail (mgr != NULL, -1);
  next = gone_next (mgr);
  g_hash_table_iter_init (&iter, mgr->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    next = MIN (next, session_deadline (value));
  return next == KMG_NO_DEADLINE ? -1 : next;
}

/* ---- reading ---- */

KmgSession *
kmg_session_manager_get (KmgSessionManager *mgr, gint64 session_id)
{
  g_return_val_if_fail (mgr != NULL, NULL);
  return g_hash_table_lookup (mgr->sessions, &session_id);
}

void
kmg_session_manager_count (KmgSessionManager *mgr, guint by_state[KMG_SESSION_N_STATES],
                           guint by_path[KMG_SESSION_N_PATHS])
{
  GHashTableIter iter;
  gpointer value;

  memset (by_state, 0, sizeof (guint) * KMG_SESSION_N_STATES);
  memset (by_path, 0, sizeof (guint) * KMG_SESSION_N_PATHS);
  g_hash_table_iter_init (&iter, mgr->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      KmgSession *s = value;

      if (!kmg_session_is_live (s))
        continue;
      by_state[s->state]++;
      by_path[s->path]++;
    }
}

void
kmg_session_manager_foreach (KmgSessionManager *mgr, KmgSessionFunc func, gpointer user_data)
{
  g_autoptr (GPtrArray) all = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  if (!kmg_session_enter (mgr))
    return;
  g_hash_table_iter_init (&iter, mgr->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (all, value);
  g_ptr_array_sort (all, compare_ids);
  for (guint i = 0; i < all->len; i++)
    func (all->pdata[i], user_data);
  mgr->busy = FALSE; /* reading only: no deadline moved, nothing to schedule */
}

gint64 kmg_session_get_id (const KmgSession *s) { return s->id; }
gint64 kmg_session_get_buyer (const KmgSession *s) { return s->buyer; }
gint64 kmg_session_get_seller (const KmgSession *s) { return s->seller; }
gint64 kmg_session_get_price (const KmgSession *s) { return s->price; }
KmgSessionState kmg_session_get_state (const KmgSession *s) { return s->state; }
KmgSessionPath kmg_session_get_path (const KmgSession *s) { return s->path; }
KmgSessionEndReason kmg_session_get_end_reason (const KmgSession *s) { return s->end_reason; }
gboolean kmg_session_get_fell_back (const KmgSession *s) { return s->fell_back; }
gint64 kmg_session_get_created_ms (const KmgSession *s) { return s->created_ms; }
gint64 kmg_session_get_active_ms (const KmgSession *s) { return s->active_ms; }
gint64 kmg_session_get_ended_ms (const KmgSession *s) { return s->ended_ms; }

void
kmg_session_set_data (KmgSession *s, gpointer data, GDestroyNotify destroy)
{
  if (s->destroy != NULL)
    s->destroy (s->data);
  s->data = data;
  s->destroy = destroy;
}

gpointer
kmg_session_get_data (const KmgSession *s)
{
  return s->data;
}
