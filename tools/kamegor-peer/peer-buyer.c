/* peer-buyer.c — the buyer side of the command-line peer: starts a watch session, follows the
 * path the server picks (answers the seller's or the relay's offer), counts decoded frames,
 * reports ICE state, first frame and P2P stats, and summarises what it saw. */
#include "peer-party.h"

static void buyer_done (PeerParty *p);

static gint64
since_start_ms (PeerParty *p, gint64 us)
{
  return us > 0 ? (us - p->watch_sent_us) / 1000 : -1;
}

static guint64
frames_total (PeerParty *p)
{
  return p->frames_before + (p->session.conn ? peer_conn_get_frames (p->session.conn) : 0);
}

static guint64
bytes_total (PeerParty *p)
{
  return p->bytes_before + (p->session.conn ? peer_conn_get_bytes (p->session.conn) : 0);
}

static guint64
packets_total (PeerParty *p)
{
  return p->packets_before + (p->session.conn ? peer_conn_get_packets (p->session.conn) : 0);
}

static void
drop_conn (PeerParty *p)
{
  if (p->session.conn == NULL)
    return;
  p->packets_before += peer_conn_get_packets (p->session.conn);
  p->frames_before += peer_conn_get_frames (p->session.conn);
  p->bytes_before += peer_conn_get_bytes (p->session.conn);
  g_clear_pointer (&p->session.conn, peer_conn_free);
}

static void
on_local_sdp (PeerConn *pc, const char *type, const char *sdp, gpointer user_data)
{
  PeerParty *p = user_data;
  peer_send_signal (p, p->session.id, p->session.path,
                    g_str_equal (type, "offer") ? "sdp_offer" : "sdp_answer", "sdp", sdp, -1);
}

static void
on_local_candidate (PeerConn *pc, guint mline, const char *candidate, gpointer user_data)
{
  PeerParty *p = user_data;
  peer_send_signal (p, p->session.id, p->session.path, "ice_candidate", "candidate", candidate,
                    (gint) mline);
}

static void
on_ice_state (PeerConn *pc, const char *state, gpointer user_data)
{
  PeerParty *p = user_data;
  peer_send_ice_state (p, p->session.id, p->session.path, state);
}

static gboolean
on_leave_timeout (gpointer user_data)
{
  PeerParty *p = user_data;

  p->timeout_timer = 0;
  buyer_done (p);
  return G_SOURCE_REMOVE;
}

static void
on_leave_due (PeerParty *p)
{
  JsonObject *m = json_object_new ();

  json_object_set_int_member (m, "session_id", p->session.id);
  peer_ws_send (p->ws, "session.leave", "leave", m);
  /* session.ended normally follows at once; do not hang when it does not. */
  g_clear_handle_id (&p->timeout_timer, g_source_remove);
  p->timeout_timer = g_timeout_add (3000, on_leave_timeout, p);
}

static gboolean
on_watch_timer (gpointer user_data)
{
  PeerParty *p = user_data;

  p->timer = 0;
  on_leave_due (p);
  return G_SOURCE_REMOVE;
}

static void
on_first_frame (PeerConn *pc, gpointer user_data)
{
  PeerParty *p = user_data;
  JsonObject *m = json_object_new ();
  g_autoptr (JsonObject) f = json_object_new ();

  if (p->first_frame_us == 0)
    p->first_frame_us = g_get_monotonic_time ();
  json_object_set_int_member (m, "session_id", p->session.id);
  json_object_set_string_member (m, "path", p->session.path);
  peer_ws_send (p->ws, "first_frame", "ff", m);
  json_object_set_string_member (f, "path", p->session.path);
  json_object_set_int_member (f, "ms", since_start_ms (p, g_get_monotonic_time ()));
  peer_event (p, "first_frame", g_steal_pointer (&f));
  if (p->timer == 0 && p->opt->duration_s > 0)
    p->timer = g_timeout_add ((guint) (p->opt->duration_s * 1000), on_watch_timer, p);
}

static const PeerConnCallbacks conn_cb = {
  .local_sdp = on_local_sdp,
  .local_candidate = on_local_candidate,
  .ice_state = on_ice_state,
  .first_frame = on_first_frame,
  .error = peer_party_on_conn_error,
};

static gboolean
on_stats_timer (gpointer user_data)
{
  PeerParty *p = user_data;
  JsonObject *m;

  if (p->session.conn == NULL || g_strcmp0 (p->session.path, "p2p") != 0)
    return G_SOURCE_CONTINUE;
  m = json_object_new ();
  json_object_set_int_member (m, "session_id", p->session.id);
  json_object_set_int_member (m, "frames_decoded", (gint64) frames_total (p));
  json_object_set_int_member (m, "bytes_received", (gint64) bytes_total (p));
  json_object_set_int_member (m, "timestamp_ms", g_get_real_time () / 1000);
  peer_ws_send (p->ws, "stats", NULL, m);
  return G_SOURCE_CONTINUE;
}

static void
use_path (PeerParty *p, const char *path, JsonObject *msg)
{
  g_autoptr (JsonObject) f = json_object_new ();

  drop_conn (p);
  g_free (p->session.path);
  p->session.path = g_strdup (path);
  if (json_object_get_boolean_member_with_default (msg, "fallback", FALSE))
    p->fell_back = TRUE;
  p->session.conn = peer_party_new_conn (p, FALSE, &conn_cb);
  json_object_set_string_member (f, "path", path);
  json_object_set_int_member (f, "ms", since_start_ms (p, g_get_monotonic_time ()));
  peer_event (p, "path", g_steal_pointer (&f));
  peer_party_inject (p, p->session.id, path);
}

static void
on_signal (PeerParty *p, JsonObject *msg)
{
  const char *path = json_object_get_string_member_with_default (msg, "path", "");
  const char *kind = json_object_get_string_member_with_default (msg, "kind", "");

  /* Late messages of an abandoned path are ignored. */
  if (p->session.conn == NULL || g_strcmp0 (path, p->session.path) != 0)
    return;
  if (g_str_equal (path, "relay") && g_str_equal (kind, "sdp_offer") && p->relay_offered)
    {
      /* The relay rebuilt this leg (new ICE credentials and DTLS certificate): webrtcbin cannot
       * take a new fingerprint on a running connection, so a new one answers. */
      g_autoptr (JsonObject) f = json_object_new ();
      drop_conn (p);
      p->session.conn = peer_party_new_conn (p, FALSE, &conn_cb);
      p->relay_restarts++;
      p->frames_at_restart = frames_total (p);
      json_object_set_int_member (f, "ms", since_start_ms (p, g_get_monotonic_time ()));
      json_object_set_string_member (f, "path", path);
      peer_event (p, "relay_restart", g_steal_pointer (&f));
      if (p->session.conn == NULL)
        return;
    }
  if (g_str_equal (kind, "sdp_offer"))
    p->relay_offered = g_str_equal (path, "relay");
  peer_party_apply_signal (p, p->session.conn, msg);
}

/* Relay path: packets stopping for --stall seconds is what a browser's consent check would call
 * "disconnected" (the network changed under the phone, say): report it once; packets coming
 * back clear it. Gaps are measured also without --stall (a seller's outage, seen downstream). */
static gboolean
on_stall_timer (gpointer user_data)
{
  PeerParty *p = user_data;
  gint64 now = g_get_monotonic_time ();
  guint64 packets = packets_total (p);

  if (p->first_frame_us == 0 || g_strcmp0 (p->session.path, "relay") != 0)
    return G_SOURCE_CONTINUE;
  if (packets != p->stall_packets || p->stall_since_us == 0)
    {
      if (p->stall_since_us != 0 && now - p->stall_since_us > MAX (p->longest_gap_us, G_USEC_PER_SEC))
        {
          p->longest_gap_us = now - p->stall_since_us;
          p->frames_at_gap_end = frames_total (p);
        }
      p->stall_packets = packets;
      p->stall_since_us = now;
      p->stall_reported = FALSE;
    }
  else if (!p->stall_reported && p->opt->stall_s > 0
           && now - p->stall_since_us >= (gint64) (p->opt->stall_s * G_USEC_PER_SEC))
    {
      g_autoptr (JsonObject) f = json_object_new ();
      p->stall_reported = TRUE;
      peer_send_ice_state (p, p->session.id, "relay", "disconnected");
      json_object_set_int_member (f, "ms", since_start_ms (p, now));
      json_object_set_string_member (f, "path", "relay");
      peer_event (p, "stall", g_steal_pointer (&f));
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
send_watch_start (gpointer user_data)
{
  PeerParty *p = user_data;
  JsonObject *m = json_object_new ();

  p->retry_timer = 0;
  json_object_set_int_member (m, "seller_id", p->opt->seller_id);
  if (p->watch_sent_us == 0)
    p->watch_sent_us = g_get_monotonic_time ();
  peer_ws_send (p->ws, "watch.start", "watch", m);
  return G_SOURCE_REMOVE;
}

static void
on_reply (PeerParty *p, JsonObject *msg, const char *type)
{
  const char *ref = json_object_get_string_member_with_default (msg, "ref", "");
  const char *code = json_object_get_string_member_with_default (msg, "code", "");

  if (!g_str_equal (ref, "watch"))
    return;
  if (g_str_equal (type, "watch.started"))
    {
      g_autoptr (JsonObject) f = json_object_new ();
      p->session.id = json_object_get_int_member_with_default (msg, "session_id", 0);
      json_object_set_int_member (f, "session_id", p->session.id);
      peer_event (p, "session", g_steal_pointer (&f));
    }
  else if (g_str_equal (type, "error")
           && (g_str_equal (code, "not_streaming") || g_str_equal (code, "not_seller")))
    {
      /* The seller may be a moment from going live (smoke tests start both at once). */
      p->watch_sent_us = 0;
      p->retry_timer = g_timeout_add (500, send_watch_start, p);
    }
  else if (g_str_equal (type, "error"))
    {
      p->error = g_strdup_printf ("watch.start refused: %s", code);
      buyer_done (p);
    }
}

static void
on_message (PeerWs *ws, JsonObject *msg, const char *type, gpointer user_data)
{
  PeerParty *p = user_data;
  gint64 id = json_object_get_int_member_with_default (msg, "session_id", 0);

  if (peer_party_inject_reply (p, msg, type))
    return;
  if (g_str_equal (type, "watch.started") || g_str_equal (type, "error"))
    on_reply (p, msg, type);
  else if (id != p->session.id || id == 0)
    return;
  else if (g_str_equal (type, "session.use_p2p"))
    use_path (p, "p2p", msg);
  else if (g_str_equal (type, "session.use_relay"))
    use_path (p, "relay", msg);
  else if (g_str_equal (type, "signal"))
    on_signal (p, msg);
  else if (g_str_equal (type, "billing.charged"))
    p->minutes_charged = json_object_get_int_member_with_default (msg, "minutes_charged", p->minutes_charged);
  else if (g_str_equal (type, "session.ended"))
    {
      p->end_reason = g_strdup (json_object_get_string_member_with_default (msg, "reason", ""));
      buyer_done (p);
    }
}

static void
on_opened (PeerWs *ws, gpointer user_data)
{
  PeerParty *p = user_data;

  peer_party_send_hello (p);
  send_watch_start (p);
}

static void
on_closed (PeerWs *ws, const char *why, gpointer user_data)
{
  PeerParty *p = user_data;

  peer_party_ws_closed (p, why);
  buyer_done (p);
}

static gboolean
on_timeout (gpointer user_data)
{
  PeerParty *p = user_data;

  p->timeout_timer = 0;
  if (p->first_frame_us == 0 && p->error == NULL)
    p->error = g_strdup_printf ("no video within %.0f s", p->opt->timeout_s);
  if (p->session.id > 0 && p->end_reason == NULL && peer_ws_is_open (p->ws))
    on_leave_due (p);
  else
    buyer_done (p);
  return G_SOURCE_REMOVE;
}

void
peer_buyer_start (PeerParty *p)
{
  static const PeerWsCallbacks cb = { on_opened, on_message, on_closed };

  p->ws = peer_ws_new (p->run->http, p->opt->server, p->account.token, p->run->log, &cb, p);
  p->stats_timer = g_timeout_add ((guint) MAX (p->account.stats_interval_ms, 500), on_stats_timer, p);
  p->stall_timer = g_timeout_add (250, on_stall_timer, p);
  if (p->opt->timeout_s > 0)
    p->timeout_timer = g_timeout_add ((guint) (p->opt->timeout_s * 1000), on_timeout, p);
}

void
peer_buyer_stop (PeerParty *p)
{
  if (p->session.id > 0 && p->end_reason == NULL && p->ws && peer_ws_is_open (p->ws))
    on_leave_due (p);
  else
    buyer_done (p);
}

static void
buyer_done (PeerParty *p)
{
  g_autoptr (JsonObject) sum = json_object_new ();
  gint64 now = g_get_monotonic_time ();
  gboolean ok;

  if (p->finished)
    return;
  g_clear_handle_id (&p->timer, g_source_remove);
  g_clear_handle_id (&p->stats_timer, g_source_remove);
  g_clear_handle_id (&p->timeout_timer, g_source_remove);
  g_clear_handle_id (&p->retry_timer, g_source_remove);
  g_clear_handle_id (&p->stall_timer, g_source_remove);
  ok = p->error == NULL && frames_total (p) > 0;
  json_object_set_int_member (sum, "user_id", p->account.user_id);
  json_object_set_int_member (sum, "session_id", p->session.id);
  json_object_set_string_member (sum, "path", p->session.path ? p->session.path : "none");
  json_object_set_boolean_member (sum, "fell_back", p->fell_back);
  json_object_set_int_member (sum, "ttff_ms", since_start_ms (p, p->first_frame_us));
  json_object_set_int_member (sum, "frames_decoded", (gint64) frames_total (p));
  json_object_set_int_member (sum, "bytes_received", (gint64) bytes_total (p));
  json_object_set_int_member (sum, "packets_received", (gint64) packets_total (p));
  json_object_set_double_member (sum, "seconds_watched",
                                 p->first_frame_us > 0 ? (now - p->first_frame_us) / 1e6 : 0);
  json_object_set_int_member (sum, "minutes_charged", p->minutes_charged);
  json_object_set_int_member (sum, "relay_restarts", p->relay_restarts);
  json_object_set_int_member (sum, "frames_after_restart",
                              p->relay_restarts > 0 ? (gint64) (frames_total (p) - p->frames_at_restart) : 0);
  json_object_set_int_member (sum, "longest_gap_ms", p->longest_gap_us / 1000);
  json_object_set_int_member (sum, "frames_after_gap",
                              p->longest_gap_us > 0 ? (gint64) (frames_total (p) - p->frames_at_gap_end) : 0);
  json_object_set_string_member (sum, "end_reason", p->end_reason ? p->end_reason : "none");
  if (p->error)
    json_object_set_string_member (sum, "error", p->error);
  drop_conn (p);
  peer_party_finish (p, ok, g_steal_pointer (&sum));
}
