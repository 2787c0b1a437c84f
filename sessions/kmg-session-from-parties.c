/* kmg-session-from-parties.c — events coming from the two parties: watch.start, accept/decline, signal,
 * ice_state, first_frame, stats, leave. Each refusal returns a GError and changes nothing. */

#include "kmg-session-private.h"

#include <string.h>

#define FAIL(code, ...) (g_set_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_##code, __VA_ARGS__), FALSE)

static gboolean
buyer_is_watching (KmgSessionManager *mgr, gint64 buyer)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, mgr->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((KmgSession *) value)->buyer == buyer && kmg_session_is_live (value))
      return TRUE;
  return FALSE;
}

static guint
seller_live_sessions (KmgSessionManager *mgr, gint64 seller)
{
  GHashTableIter iter;
  gpointer value;
  guint n = 0;

  g_hash_table_iter_init (&iter, mgr->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    n += ((KmgSession *) value)->seller == seller && kmg_session_is_live (value);
  return n;
}

static gboolean
needs_relay (KmgSessionManager *mgr, const KmgSession *s)
{
  return mgr->config.policy == KMG_SESSION_POLICY_ALWAYS || s->buyer_always_relay || s->seller_always_relay;
}

static gboolean
admit (KmgSessionManager *mgr, gint64 buyer, gint64 seller, const KmgWatchRequest *req, GError **error)
{
  guint max = mgr->config.max_sessions_per_seller;

  if (buyer == seller)
    return FAIL (SELF, "you cannot watch yourself");
  if (req->buyer_banned || req->seller_banned)
    return FAIL (BANNED, "a banned user cannot take part in a session");
  if (!req->is_seller)
    return FAIL (NOT_SELLER, "user %" G_GINT64_FORMAT " is not a seller", seller);
  if (!req->streaming)
    return FAIL (NOT_STREAMING, "the seller is not streaming");
  if (req->price_per_minute < 1 || req->price_per_minute > 10000)
    return FAIL (INVALID, "the seller has no valid price");
  if (buyer_is_watching (mgr, buyer))
    return FAIL (ALREADY_WATCHING, "end your current session first");
  if (max > 0 && seller_live_sessions (mgr, seller) >= max)
    return FAIL (SELLER_BUSY, "the seller has no free slot");
  if (mgr->config.policy == KMG_SESSION_POLICY_NEVER && (req->buyer_always_relay || req->seller_always_relay))
    return FAIL (RELAY_UNAVAILABLE, "a party requires the relay and the relay is disabled");
  if (mgr->fx.balance_ok != NULL && !mgr->fx.balance_ok (buyer, req->price_per_minute, mgr->user_data))
    return FAIL (INSUFFICIENT_CREDITS, "your balance does not cover one minute at %" G_GINT64_FORMAT
                 " credits", req->price_per_minute);
  return TRUE;
}

static gint64
create (KmgSessionManager *mgr, gint64 buyer, guint64 conn_id, gint64 seller, const KmgWatchRequest *req,
        gint64 now_ms, GError **error)
{
  g_autofree KmgSession *s = g_new0 (KmgSession, 1);
  KmgSession *owned;
  gint64 id = 0;

  *s = (KmgSession){
    .buyer = buyer, .seller = seller, .price = req->price_per_minute, .buyer_conn = conn_id,
    .state = KMG_SESSION_REQUESTED, .path = KMG_SESSION_PATH_NONE,
    .buyer_always_relay = req->buyer_always_relay, .seller_always_relay = req->seller_always_relay,
    .created_ms = now_ms, .state_deadline = now_ms + mgr->config.answer_timeout_ms,
    .grace_deadline = KMG_NO_DEADLINE, .free_at = KMG_NO_DEADLINE, .silence_deadline = KMG_NO_DEADLINE,
  };
  if (mgr->fx.billing_session_started == NULL)
    id = mgr->next_id++;
  else if (!mgr->fx.billing_session_started (s, &id, mgr->user_data, error))
    return 0;
  else
    s->billing_started = TRUE;
  if (id <= 0 || g_hash_table_contains (mgr->sessions, &id))
    {
      g_critical ("unusable session id %" G_GINT64_FORMAT " from billing_session_started", id);
      g_set_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_INVALID, "could not create the session");
      return 0;
    }
  s->id = id;
  owned = g_steal_pointer (&s);
  g_hash_table_insert (mgr->sessions, &owned->id, owned);
  kmg_session_send (mgr, owned, KMG_SESSION_ROLE_SELLER,
                    kmg_session_msg_offer (owned, mgr->config.answer_timeout_ms));
  kmg_session_set_state (mgr, owned, KMG_SESSION_REQUESTED, now_ms);
  return id;
}

gint64
kmg_session_manager_watch_start (KmgSessionManager *mgr, gint64 buyer_id, guint64 conn_id, gint64 seller_id,
                                 const KmgWatchRequest *req, gint64 now_ms, GError **error)
{
  gint64 id = 0;

  g_return_val_if_fail (req != NULL, 0);
  if (!kmg_session_enter (mgr))
    return 0;
  if (admit (mgr, buyer_id, seller_id, req, error))
    id = create (mgr, buyer_id, conn_id, seller_id, req, now_ms, error);
  kmg_session_leave (mgr);
  return id;
}

/* Common prologue of the per-session events: lookup, role, conn hint. */
static KmgSession *
open_session (KmgSessionManager *mgr, gint64 id, gint64 user, guint64 conn_id, KmgSessionRole *role,
              GError **error)
{
  KmgSession *s = kmg_session_lookup (mgr, id, user, FALSE, role, error);

  if (s != NULL && conn_id != 0)
    {
      if (*role == KMG_SESSION_ROLE_BUYER)
        s->buyer_conn = conn_id;
      else
        s->seller_conn = conn_id;
    }
  return s;
}

static gboolean
answer (KmgSessionManager *mgr, gint64 id, gint64 user, guint64 conn_id, gboolean accept, gint64 now_ms,
        GError **error)
{
  KmgSessionRole role;
  KmgSession *s = open_session (mgr, id, user, conn_id, &role, error);

  if (s == NULL)
    return FALSE;
  if (role != KMG_SESSION_ROLE_SELLER)
    return FAIL (FORBIDDEN, "only the seller can accept or decline");
  if (s->state != KMG_SESSION_REQUESTED)
    return FAIL (BAD_STATE, "the session was already accepted");
  s->state_deadline = KMG_NO_DEADLINE;
  if (!accept)
    kmg_session_end (mgr, s, KMG_SESSION_END_DECLINED, now_ms);
  else if (mgr->fx.balance_ok != NULL && !mgr->fx.balance_ok (s->buyer, s->price, mgr->user_data))
    kmg_session_end (mgr, s, KMG_SESSION_END_INSUFFICIENT_CREDITS, now_ms);
  else if (needs_relay (mgr, s))
    kmg_session_start_relay (mgr, s, FALSE, now_ms);
  else
    kmg_session_start_p2p (mgr, s, now_ms);
  return TRUE;
}

gboolean
kmg_session_manager_accept (KmgSessionManager *mgr, gint64 session_id, gint64 user_id, guint64 conn_id,
                            gint64 now_ms, GError **error)
{
  gboolean ok;

  if (!kmg_session_enter (mgr))
    return FALSE;
  ok = answer (mgr, session_id, user_id, conn_id, TRUE, now_ms, error);
  kmg_session_leave (mgr);
  return ok;
}

gboolean
kmg_session_manager_decline (KmgSessionManager *mgr, gint64 session_id, gint64 user_id, guint64 conn_id,
                             gint64 now_ms, GError **error)
{
  gboolean ok;

  if (!kmg_session_enter (mgr))
    return FALSE;
  ok = answer (mgr, session_id, user_id, conn_id, FALSE, now_ms, error);
  kmg_session_leave (mgr);
  return ok;
}

/* Connected sessions only, and only about the path in use. */
static gboolean
check_connected (const KmgSession *s, KmgSessionPath path, GError **error)
{
  if (s->state == KMG_SESSION_REQUESTED)
    return FAIL (BAD_STATE, "the seller has not accepted yet");
  if (path != KMG_SESSION_PATH_NONE && path != s->path)
    return FAIL (STALE_PATH, "the session now uses the %s path", kmg_session_path_to_string (s->path));
  return TRUE;
}

static gboolean
check_payload (KmgSessionManager *mgr, KmgSessionRole role, const KmgSessionSignal *sig, GError **error)
{
  gboolean seller = role == KMG_SESSION_ROLE_SELLER;

  switch (sig->kind)
    {
    case KMG_SESSION_SIGNAL_SDP_OFFER:
    case KMG_SESSION_SIGNAL_SDP_ANSWER:
      if (seller != (sig->kind == KMG_SESSION_SIGNAL_SDP_OFFER))
        return FAIL (FORBIDDEN, "the seller sends offers and the buyer answers");
      if (sig->sdp == NULL)
        return FAIL (INVALID, "sdp missing");
      return kmg_session_validate_sdp_full (mgr->deny, sig->sdp, error);
    case KMG_SESSION_SIGNAL_ICE_CANDIDATE:
      if (sig->candidate == NULL)
        return FAIL (INVALID, "candidate missing");
      if (sig->mline_index < -1 || sig->mline_index > 255)
        return FAIL (INVALID, "sdp_mline_index must be 0..255");
      if (sig->sdp_mid != NULL && (strlen (sig->sdp_mid) > 32 || !g_str_is_ascii (sig->sdp_mid)))
        return FAIL (INVALID, "sdp_mid must be at most 32 ASCII characters");
      return kmg_session_validate_candidate_full (mgr->deny, sig->candidate, error);
    default:
      return FAIL (INVALID, "unknown signal kind");
    }
}

static gboolean
route_signal (KmgSessionManager *mgr, gint64 id, gint64 user, guint64 conn_id, const KmgSessionSignal *sig,
              GError **error)
{
  KmgSessionRole role;
  KmgSession *s = open_session (mgr, id, user, conn_id, &role, error);

  if (s == NULL || !check_connected (s, sig->path, error) || !check_payload (mgr, role, sig, error))
    return FALSE;
  if (s->path == KMG_SESSION_PATH_RELAY)
    {
      /* Never to the other party: its address would leak to a user who asked for the relay. */
      if (mgr->fx.relay_signal != NULL)
        mgr->fx.relay_signal (s, role, sig, mgr->user_data);
      return TRUE;
    }
  kmg_session_send (mgr, s, role == KMG_SESSION_ROLE_BUYER ? KMG_SESSION_ROLE_SELLER : KMG_SESSION_ROLE_BUYER,
                    kmg_session_msg_signal (s->id, kmg_session_role_to_string (role), s->path, sig));
  return TRUE;
}

gboolean
kmg_session_manager_signal (KmgSessionManager *mgr, gint64 session_id, gint64 user_id, guint64 conn_id,
                            const KmgSessionSignal *signal, gint64 now_ms, GError **error)
{
  gboolean ok;

  g_return_val_if_fail (signal != NULL, FALSE);
  if (!kmg_session_enter (mgr))
    return FALSE;
  ok = route_signal (mgr, session_id, user_id, conn_id, signal, error);
  kmg_session_leave (mgr);
  return ok;
}

static gboolean
ice_state (KmgSessionManager *mgr, gint64 id, gint64 user, guint64 conn_id, KmgSessionPath path,
           KmgSessionIceState state, gint64 now_ms, GError **error)
{
  KmgSessionRole role;
  KmgSession *s = open_session (mgr, id, user, conn_id, &role, error);
  gboolean buyer;

  if (s == NULL || !check_connected (s, path, error))
    return FALSE;
  buyer = role == KMG_SESSION_ROLE_BUYER;
  if (buyer && state == KMG_SESSION_ICE_CONNECTED)
    s->buyer_ice_connected = TRUE;
  kmg_session_transport_state (mgr, s, buyer ? TRANSPORT_BUYER_PC : TRANSPORT_SELLER_PC, state, now_ms);
  if (kmg_session_is_live (s))
    kmg_session_maybe_activate (mgr, s, now_ms);
  return TRUE;
}

gboolean
kmg_session_manager_ice_state (KmgSessionManager *mgr, gint64 session_id, gint64 user_id, guint64 conn_id,
                               KmgSessionPath path, KmgSessionIceState state, gint64 now_ms, GError **error)
{
  gboolean ok;

  if (!kmg_session_enter (mgr))
    return FALSE;
  ok = ice_state (mgr, session_id, user_id, conn_id, path, state, now_ms, error);
  kmg_session_leave (mgr);
  return ok;
}

static gboolean
first_frame (KmgSessionManager *mgr, gint64 id, gint64 user, guint64 conn_id, KmgSessionPath path,
             gint64 now_ms, GError **error)
{
  KmgSessionRole role;
  KmgSession *s = open_session (mgr, id, user, conn_id, &role, error);

  if (s == NULL || !check_connected (s, path, error))
    return FALSE;
  if (role != KMG_SESSION_ROLE_BUYER)
    return FAIL (FORBIDDEN, "only the buyer reports frames");
  s->first_frame = TRUE;
  kmg_session_maybe_activate (mgr, s, now_ms);
  return TRUE;
}

gboolean
kmg_session_manager_first_frame (KmgSessionManager *mgr, gint64 session_id, gint64 user_id, guint64 conn_id,
                                 KmgSessionPath path, gint64 now_ms, GError **error)
{
  gboolean ok;

  if (!kmg_session_enter (mgr))
    return FALSE;
  ok = first_frame (mgr, session_id, user_id, conn_id, path, now_ms, error);
  kmg_session_leave (mgr);
  return ok;
}

static gboolean
stats (KmgSessionManager *mgr, gint64 id, gint64 user, const KmgSessionStats *report, gint64 now_ms,
       GError **error)
{
  KmgSessionRole role;
  KmgSession *s = open_session (mgr, id, user, 0, &role, error);

  if (s == NULL || !check_connected (s, KMG_SESSION_PATH_NONE, error))
    return FALSE;
  if (role != KMG_SESSION_ROLE_BUYER)
    return FAIL (FORBIDDEN, "only the buyer reports receive statistics");
  if (report->timestamp_ms < 0)
    return FAIL (INVALID, "timestamp must not be negative");
  /* On the relay path billing measures delivery itself (relay_measured): buyer claims are ignored. */
  if (s->path == KMG_SESSION_PATH_P2P)
    kmg_session_silence_buyer_report (mgr, s, mgr->fx.p2p_stats != NULL ? mgr->fx.p2p_stats (s, report, mgr->user_data)
                                                                         : 1,
                                      now_ms);
  return TRUE;
}

gboolean
kmg_session_manager_stats (KmgSessionManager *mgr, gint64 session_id, gint64 user_id,
                           const KmgSessionStats *report, gint64 now_ms, GError **error)
{
  gboolean ok;

  g_return_val_if_fail (report != NULL, FALSE);
  if (!kmg_session_enter (mgr))
    return FALSE;
  ok = stats (mgr, session_id, user_id, report, now_ms, error);
  kmg_session_leave (mgr);
  return ok;
}

static gboolean
seller_stats (KmgSessionManager *mgr, gint64 id, gint64 user, const KmgSessionSellerStats *report,
              gint64 now_ms, GError **error)
{
  KmgSessionRole role;
  KmgSession *s = open_session (mgr, id, user, 0, &role, error);

  if (s == NULL || !check_connected (s, KMG_SESSION_PATH_NONE, error))
    return FALSE;
  if (role != KMG_SESSION_ROLE_SELLER)
    return FAIL (FORBIDDEN, "only the seller reports send statistics");
  if (report->timestamp_ms < 0)
    return FAIL (INVALID, "timestamp must not be negative");
  if (!(report->fraction_lost <= 1.0)) /* NaN fails too */
    return FAIL (INVALID, "fraction_lost must be 0..1");
  /* Evidence about the P2P connection only: on the relay the server sees the media itself. */
  if (s->path == KMG_SESSION_PATH_P2P)
    {
      if (kmg_session_silence_seller_report (mgr, s, report, now_ms))
        kmg_session_leave_p2p_unattested (mgr, s, now_ms);
    }
  return TRUE;
}

gboolean
kmg_session_manager_seller_stats (KmgSessionManager *mgr, gint64 session_id, gint64 user_id,
                                  const KmgSessionSellerStats *report, gint64 now_ms, GError **error)
{
  gboolean ok;

  g_return_val_if_fail (report != NULL, FALSE);
  if (!kmg_session_enter (mgr))
    return FALSE;
  ok = seller_stats (mgr, session_id, user_id, report, now_ms, error);
  kmg_session_leave (mgr);
  return ok;
}

gboolean
kmg_session_manager_leave (KmgSessionManager *mgr, gint64 session_id, gint64 user_id, gint64 now_ms,
                           GError **error)
{
  KmgSessionRole role;
  KmgSession *s;

  if (!kmg_session_enter (mgr))
    return FALSE;
  s = kmg_session_lookup (mgr, session_id, user_id, FALSE, &role, error);
  if (s != NULL)
    kmg_session_end (mgr, s,
                     role == KMG_SESSION_ROLE_BUYER ? KMG_SESSION_END_BUYER_LEFT
                     : s->state == KMG_SESSION_REQUESTED ? KMG_SESSION_END_DECLINED
                     : KMG_SESSION_END_SELLER_LEFT,
                     now_ms);
  kmg_session_leave (mgr);
  return s != NULL;
}
