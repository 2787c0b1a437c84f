/* kmg-session-glue-messages.c — the watch-session messages clients send over the WebSocket: strict field
 * checks, then one call into the session manager; refusals answer with the request's ref. */

#include "kmg-session-glue-private.h"

#include "kmg-accounts.h"
#include "kmg-json.h"
#include "kmg-presence.h"


static gboolean
get_session_id (JsonObject *msg, gint64 *id, GError **error)
{
  return kmg_json_get_int (msg, "session_id", TRUE, 1, G_MAXINT64, id, error);
}

static void
finish (KmgSessionGlue *w, KmgSignaling *sig, guint64 conn, JsonNode *ref, gboolean ok, GError *error,
        const char *reply_type, JsonObject *body)
{
  if (!ok)
    kmg_signaling_reply_gerror (sig, conn, ref, error); /* coded by the one error table */
  else if (reply_type != NULL)
    kmg_signaling_reply (sig, conn, ref, reply_type, body);
  else if (ref != NULL)
    kmg_signaling_reply (sig, conn, ref, "ack", NULL);
}

void
kmg_session_glue_on_watch_start (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref, JsonObject *msg,
                gpointer user_data)
{
  static const char *const allowed[] = { "type", "ref", "seller_id", NULL };
  KmgSessionGlue *w = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgUser) buyer = NULL;
  g_autoptr (KmgUser) seller = NULL;
  g_autoptr (JsonObject) body = NULL;
  KmgWatchRequest req = { 0 };
  gint64 seller_id = 0, id = 0;

  if (kmg_json_check_fields (msg, allowed, &error)
      && kmg_json_get_int (msg, "seller_id", TRUE, 1, G_MAXINT64, &seller_id, &error))
    {
      buyer = kmg_accounts_get_user (w->app->accounts, user, NULL);
      seller = kmg_accounts_get_user (w->app->accounts, seller_id, NULL);
      if (seller == NULL || buyer == NULL)
        g_set_error (&error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_NOT_SELLER, "no such seller");
      else
        {
          req.streaming
              = kmg_signaling_get_state (w->app->signaling, seller_id) == KMG_PRESENCE_STREAMING;
          req.is_seller = seller->is_seller;
          req.seller_banned = seller->banned;
          req.buyer_banned = buyer->banned;
          req.price_per_minute = seller->price_per_minute;
          req.seller_always_relay = seller->always_relay;
          req.buyer_always_relay = buyer->always_relay;
          id = kmg_session_manager_watch_start (w->mgr, user, conn, seller_id, &req, kmg_session_glue_now_ms (),
                                                &error);
        }
    }
  if (id > 0)
    {
      body = json_object_new ();
      json_object_set_int_member (body, "session_id", id);
      json_object_set_int_member (body, "seller_id", seller_id);
      json_object_set_int_member (body, "price_per_minute", req.price_per_minute);
    }
  finish (w, sig, conn, ref, id > 0, error, id > 0 ? "watch.started" : NULL, body);
}

static void
on_accept_or_decline (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref,
                      JsonObject *msg, gpointer user_data, gboolean accept)
{
  static const char *const allowed[] = { "type", "ref", "session_id", NULL };
  KmgSessionGlue *w = user_data;
  g_autoptr (GError) error = NULL;
  gint64 id = 0;
  gboolean ok = kmg_json_check_fields (msg, allowed, &error) && get_session_id (msg, &id, &error)
                && (accept ? kmg_session_manager_accept (w->mgr, id, user, conn, kmg_session_glue_now_ms (), &error)
                           : kmg_session_manager_decline (w->mgr, id, user, conn, kmg_session_glue_now_ms (), &error));
  finish (w, sig, conn, ref, ok, error, NULL, NULL);
}

void
kmg_session_glue_on_accept (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref, JsonObject *msg,
           gpointer user_data)
{
  on_accept_or_decline (sig, conn, user, ref, msg, user_data, TRUE);
}

void
kmg_session_glue_on_decline (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref, JsonObject *msg,
            gpointer user_data)
{
  on_accept_or_decline (sig, conn, user, ref, msg, user_data, FALSE);
}

static gboolean
get_path (JsonObject *msg, KmgSessionPath *path, GError **error)
{
  const char *p = NULL;

  *path = KMG_SESSION_PATH_NONE;
  if (!kmg_json_get_string (msg, "path", FALSE, 16, &p, error))
    return FALSE;
  if (p != NULL && (!kmg_session_path_from_string (p, path) || *path == KMG_SESSION_PATH_NONE))
    {
      g_set_error (error, KMG_JSON_ERROR, KMG_JSON_ERROR_RANGE, "path must be p2p or relay");
      return FALSE;
    }
  return TRUE;
}

static gboolean
missing (GError **error, const char *field)
{
  g_set_error (error, KMG_JSON_ERROR, KMG_JSON_ERROR_MISSING, "field '%s' is required", field);
  return FALSE;
}

void
kmg_session_glue_on_signal (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref, JsonObject *msg,
           gpointer user_data)
{
  static const char *const allowed[] = { "type",      "ref",     "session_id",      "kind", "sdp",
                                         "candidate", "sdp_mid", "sdp_mline_index", "path", NULL };
  KmgSessionGlue *w = user_data;
  g_autoptr (GError) error = NULL;
  KmgSessionSignal s = { .mline_index = -1 };
  const char *kind = NULL;
  gint64 id = 0, mline = -1;
  gboolean ok = kmg_json_check_fields (msg, allowed, &error) && get_session_id (msg, &id, &error)
                && kmg_json_get_string (msg, "kind", TRUE, 32, &kind, &error)
                && kmg_json_get_string (msg, "sdp", FALSE, 0, &s.sdp, &error)
                && kmg_json_get_string (msg, "candidate", FALSE, 0, &s.candidate, &error)
                && kmg_json_get_string (msg, "sdp_mid", FALSE, 64, &s.sdp_mid, &error)
                && kmg_json_get_int (msg, "sdp_mline_index", FALSE, 0, 64, &mline, &error)
                && get_path (msg, &s.path, &error);

  if (ok && !kmg_session_signal_kind_from_string (kind, &s.kind))
    {
      g_set_error (&error, KMG_JSON_ERROR, KMG_JSON_ERROR_RANGE,
                   "kind must be sdp_offer, sdp_answer or ice_candidate");
      ok = FALSE;
    }
  s.mline_index = (gint) mline;
  if (ok && s.kind == KMG_SESSION_SIGNAL_ICE_CANDIDATE && s.candidate == NULL)
    ok = missing (&error, "candidate");
  if (ok && s.kind != KMG_SESSION_SIGNAL_ICE_CANDIDATE && s.sdp == NULL)
    ok = missing (&error, "sdp");
  if (ok)
    ok = kmg_session_manager_signal (w->mgr, id, user, conn, &s, kmg_session_glue_now_ms (), &error);
  finish (w, sig, conn, ref, ok, error, NULL, NULL);
}

void
kmg_session_glue_on_ice_state (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref, JsonObject *msg,
              gpointer user_data)
{
  static const char *const allowed[] = { "type", "ref", "session_id", "state", "path", NULL };
  KmgSessionGlue *w = user_data;
  g_autoptr (GError) error = NULL;
  const char *state = NULL;
  KmgSessionIceState st = KMG_SESSION_ICE_NEW;
  KmgSessionPath path;
  gint64 id = 0;
  gboolean ok = kmg_json_check_fields (msg, allowed, &error) && get_session_id (msg, &id, &error)
                && kmg_json_get_string (msg, "state", TRUE, 32, &state, &error)
                && get_path (msg, &path, &error);

  if (ok && !kmg_session_ice_state_from_string (state, &st))
    {
      g_set_error (&error, KMG_JSON_ERROR, KMG_JSON_ERROR_RANGE,
                   "state must be new, checking, connected, completed, disconnected, failed "
                   "or closed");
      ok = FALSE;
    }
  if (ok)
    ok = kmg_session_manager_ice_state (w->mgr, id, user, conn, path, st, kmg_session_glue_now_ms (), &error);
  finish (w, sig, conn, ref, ok, error, NULL, NULL);
}

void
kmg_session_glue_on_first_frame (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref, JsonObject *msg,
                gpointer user_data)
{
  static const char *const allowed[] = { "type", "ref", "session_id", "path", NULL };
  KmgSessionGlue *w = user_data;
  g_autoptr (GError) error = NULL;
  KmgSessionPath path;
  gint64 id = 0;
  gboolean ok = kmg_json_check_fields (msg, allowed, &error) && get_session_id (msg, &id, &error)
                && get_path (msg, &path, &error)
                && kmg_session_manager_first_frame (w->mgr, id, user, conn, path, kmg_session_glue_now_ms (), &error);
  finish (w, sig, conn, ref, ok, error, NULL, NULL);
}

/* The seller's shape of `stats`: its outbound video and the buyer's receiver reports. */
static gboolean
seller_stats (KmgSessionGlue *w, gint64 user, JsonObject *msg, gint64 id, gint64 ts, GError **error)
{
  gint64 packets = 0, bytes = 0, rrs = 0;
  KmgSessionSellerStats st = { .fraction_lost = -1 };

  if (json_object_has_member (msg, "frames_decoded") || json_object_has_member (msg, "bytes_received"))
    {
      g_set_error (error, KMG_JSON_ERROR, KMG_JSON_ERROR_RANGE,
                   "stats carry either receive (buyer) or send (seller) counters, not both");
      return FALSE;
    }
  if (!kmg_json_get_int (msg, "packets_sent", TRUE, 0, G_MAXINT64, &packets, error)
      || !kmg_json_get_int (msg, "bytes_sent", TRUE, 0, G_MAXINT64, &bytes, error)
      || !kmg_json_get_int (msg, "rr_count", TRUE, 0, G_MAXINT64, &rrs, error)
      || !kmg_json_get_double (msg, "fraction_lost", FALSE, 0.0, 1.0, &st.fraction_lost, error))
    return FALSE;
  st.packets_sent = (guint64) packets;
  st.bytes_sent = (guint64) bytes;
  st.rr_count = (guint64) rrs;
  st.timestamp_ms = ts;
  return kmg_session_manager_seller_stats (w->mgr, id, user, &st, kmg_session_glue_now_ms (), error);
}

void
kmg_session_glue_on_stats (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref, JsonObject *msg,
          gpointer user_data)
{
  static const char *const allowed[] = { "type",         "ref",      "session_id",    "frames_decoded",
                                         "bytes_received", "packets_sent", "bytes_sent", "rr_count",
                                         "fraction_lost", "timestamp_ms", NULL };
  KmgSessionGlue *w = user_data;
  g_autoptr (GError) error = NULL;
  gint64 id = 0, frames = 0, bytes = 0, ts = 0;
  KmgSessionStats st;
  gboolean ok = kmg_json_check_fields (msg, allowed, &error) && get_session_id (msg, &id, &error)
                && kmg_json_get_int (msg, "timestamp_ms", FALSE, 0, G_MAXINT64, &ts, &error);

  /* Any send counter makes it the seller's report; otherwise it is the buyer's, as it always was. */
  if (ok && (json_object_has_member (msg, "packets_sent") || json_object_has_member (msg, "bytes_sent")
             || json_object_has_member (msg, "rr_count") || json_object_has_member (msg, "fraction_lost")))
    {
      ok = seller_stats (w, user, msg, id, ts, &error);
      finish (w, sig, conn, ref, ok, error, NULL, NULL);
      return;
    }
  ok = ok && kmg_json_get_int (msg, "frames_decoded", TRUE, 0, G_MAXINT64, &frames, &error)
       && kmg_json_get_int (msg, "bytes_received", TRUE, 0, G_MAXINT64, &bytes, &error);
  st.frames_decoded = (guint64) frames;
  st.bytes_received = (guint64) bytes;
  st.timestamp_ms = ts;
  if (ok)
    ok = kmg_session_manager_stats (w->mgr, id, user, &st, kmg_session_glue_now_ms (), &error);
  finish (w, sig, conn, ref, ok, error, NULL, NULL);
}

void
kmg_session_glue_on_leave (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref, JsonObject *msg,
          gpointer user_data)
{
  static const char *const allowed[] = { "type", "ref", "session_id", NULL };
  KmgSessionGlue *w = user_data;
  g_autoptr (GError) error = NULL;
  gint64 id = 0;
  gboolean ok = kmg_json_check_fields (msg, allowed, &error) && get_session_id (msg, &id, &error)
                && kmg_session_manager_leave (w->mgr, id, user, kmg_session_glue_now_ms (), &error);
  finish (w, sig, conn, ref, ok, error, NULL, NULL);
}

