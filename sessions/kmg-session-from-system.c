/* kmg-session-from-system.c — events the server feeds on behalf of presence, moderation, billing and
 * the relay: users gone, stop live, ban, exhausted balance, relay leg states and relay signaling. */

#include "kmg-session-private.h"


static gboolean
match_seller (const KmgSession *s, gint64 user)
{
  return s->seller == user;
}


static gboolean
match_any (const KmgSession *s, gint64 user)
{
  return s->seller == user || s->buyer == user;
}

static gboolean
match_all (const KmgSession *s, gint64 user)
{
  return TRUE;
}




static guint
end_matching (KmgSessionManager *mgr, KmgSessionMatch match, gint64 user, KmgSessionEndReason reason, gint64 now_ms)
{
  guint n;

  if (!kmg_session_enter (mgr))
    return 0;
  n = kmg_session_end_live (mgr, match, user, reason, now_ms);
  kmg_session_leave (mgr);
  return n;
}

guint
kmg_session_manager_seller_gone (KmgSessionManager *mgr, gint64 seller_id, gint64 now_ms)
{
  return end_matching (mgr, match_seller, seller_id, KMG_SESSION_END_SELLER_GONE, now_ms);
}

guint
kmg_session_manager_buyer_gone (KmgSessionManager *mgr, gint64 buyer_id, gint64 now_ms)
{
  return end_matching (mgr, kmg_session_match_buyer, buyer_id, KMG_SESSION_END_BUYER_GONE, now_ms);
}

guint
kmg_session_manager_presence_gone (KmgSessionManager *mgr, gint64 user_id, gint64 now_ms)
{
  return kmg_session_manager_seller_gone (mgr, user_id, now_ms)
         + kmg_session_manager_buyer_gone (mgr, user_id, now_ms);
}

/* ---- buyer-gone grace ---- */

static gboolean
is_live_buyer (KmgSessionManager *mgr, gint64 user)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, mgr->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (kmg_session_is_live (value) && kmg_session_match_buyer (value, user))
      return TRUE;
  return FALSE;
}

void
kmg_session_manager_user_connection_closed (KmgSessionManager *mgr, gint64 user_id, gint64 now_ms)
{
  KmgGoneGrace *g;

  if (!kmg_session_enter (mgr))
    return;
  /* Every close restarts the grace: the buyer is gone only once its LAST connection has been
   * closed for a whole grace. A user without a live session as buyer has nothing to end, and can
   * only start one on a connection whose close will be reported in turn. */
  if (is_live_buyer (mgr, user_id))
    {
      g = g_new (KmgGoneGrace, 1);
      g->user_id = user_id;
      g->deadline = now_ms + mgr->config.ice_grace_ms + KMG_SESSION_GONE_MARGIN_MS;
      g_hash_table_replace (mgr->gone, &g->user_id, g);
    }
  else
    g_hash_table_remove (mgr->gone, &user_id);
  kmg_session_leave (mgr);
}




guint
kmg_session_manager_stop_live (KmgSessionManager *mgr, gint64 seller_id, gint64 now_ms)
{
  return end_matching (mgr, match_seller, seller_id, KMG_SESSION_END_SELLER_LEFT, now_ms);
}

guint
kmg_session_manager_ban (KmgSessionManager *mgr, gint64 user_id, gint64 now_ms)
{
  return end_matching (mgr, match_any, user_id, KMG_SESSION_END_BANNED, now_ms);
}

guint
kmg_session_manager_shutdown (KmgSessionManager *mgr, gint64 now_ms)
{
  return end_matching (mgr, match_all, 0, KMG_SESSION_END_SERVER_RESTART, now_ms);
}

/* A live session by id, for server-side events (no participant check: the server is trusted). */
static KmgSession *
live_session (KmgSessionManager *mgr, gint64 id)
{
  KmgSession *s = g_hash_table_lookup (mgr->sessions, &id);

  return s != NULL && kmg_session_is_live (s) ? s : NULL;
}

gboolean
kmg_session_manager_end (KmgSessionManager *mgr, gint64 session_id, KmgSessionEndReason reason, gint64 now_ms)
{
  KmgSession *s;
  gboolean ended = FALSE;

  g_return_val_if_fail (reason != KMG_SESSION_END_NONE, FALSE);
  if (!kmg_session_enter (mgr))
    return FALSE;
  s = live_session (mgr, session_id);
  if (s != NULL)
    ended = kmg_session_end (mgr, s, reason, now_ms);
  kmg_session_leave (mgr);
  return ended;
}

gboolean
kmg_session_manager_billing_exhausted (KmgSessionManager *mgr, gint64 session_id, gint64 now_ms)
{
  return kmg_session_manager_end (mgr, session_id, KMG_SESSION_END_INSUFFICIENT_CREDITS, now_ms);
}

gboolean
kmg_session_manager_relay_error (KmgSessionManager *mgr, gint64 session_id, gint64 now_ms)
{
  return kmg_session_manager_end (mgr, session_id, KMG_SESSION_END_RELAY_ERROR, now_ms);
}

gboolean
kmg_session_manager_relay_leg_failed (KmgSessionManager *mgr, gint64 session_id, gint64 now_ms)
{
  return kmg_session_manager_relay_leg_state (mgr, session_id, KMG_SESSION_ICE_FAILED, now_ms);
}

/* Relay legs exist only for sessions on the relay path; late callbacks of a stopped leg are dropped. */
static void
relay_transport (KmgSessionManager *mgr, KmgSession *s, guint transport, KmgSessionIceState state,
                 gint64 now_ms)
{
  if (s->path != KMG_SESSION_PATH_RELAY || !s->relay_started)
    return;
  kmg_session_transport_state (mgr, s, transport, state, now_ms);
}

gboolean
kmg_session_manager_relay_leg_state (KmgSessionManager *mgr, gint64 session_id, KmgSessionIceState state,
                                     gint64 now_ms)
{
  KmgSession *s;

  if (!kmg_session_enter (mgr))
    return FALSE;
  s = live_session (mgr, session_id);
  if (s != NULL)
    relay_transport (mgr, s, TRANSPORT_RELAY_BUYER, state, now_ms);
  kmg_session_leave (mgr);
  return s != NULL;
}

guint
kmg_session_manager_relay_seller_leg_state (KmgSessionManager *mgr, gint64 seller_id,
                                            KmgSessionIceState state, gint64 now_ms)
{
  g_autoptr (GPtrArray) list = NULL;

  if (!kmg_session_enter (mgr))
    return 0;
  list = kmg_session_select_live (mgr, match_seller, seller_id);
  for (guint i = 0; i < list->len; i++)
    relay_transport (mgr, list->pdata[i], TRANSPORT_RELAY_SELLER, state, now_ms);
  kmg_session_leave (mgr);
  return list->len;
}

gboolean
kmg_session_manager_relay_to_buyer (KmgSessionManager *mgr, gint64 session_id, const KmgSessionSignal *signal,
                                    gint64 now_ms)
{
  KmgSession *s;
  gboolean sent = FALSE;

  g_return_val_if_fail (signal != NULL, FALSE);
  if (!kmg_session_enter (mgr))
    return FALSE;
  s = live_session (mgr, session_id);
  if (s != NULL && s->path == KMG_SESSION_PATH_RELAY && s->relay_started)
    {
      kmg_session_send (mgr, s, KMG_SESSION_ROLE_BUYER,
                        kmg_session_msg_signal (s->id, "relay", KMG_SESSION_PATH_RELAY, signal));
      sent = TRUE;
    }
  kmg_session_leave (mgr);
  return sent;
}

gboolean
kmg_session_manager_relay_to_seller (KmgSessionManager *mgr, gint64 seller_id, const KmgSessionSignal *signal,
                                     gint64 now_ms)
{
  g_autoptr (GPtrArray) list = NULL;
  gboolean sent = FALSE;

  g_return_val_if_fail (signal != NULL, FALSE);
  if (!kmg_session_enter (mgr))
    return FALSE;
  list = kmg_session_select_live (mgr, match_seller, seller_id);
  /* The seller leg is shared: one message, on the connection of the seller's first relayed session. */
  for (guint i = 0; i < list->len && !sent; i++)
    {
      KmgSession *s = list->pdata[i];

      if (s->path != KMG_SESSION_PATH_RELAY || !s->relay_started)
        continue;
      kmg_session_send (mgr, s, KMG_SESSION_ROLE_SELLER,
                        kmg_session_msg_signal (0, "relay", KMG_SESSION_PATH_RELAY, signal));
      sent = TRUE;
    }
  kmg_session_leave (mgr);
  return sent;
}
