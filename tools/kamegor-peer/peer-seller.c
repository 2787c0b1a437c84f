/* peer-seller.c — the seller side of the command-line peer: goes live, accepts every watch
 * session, offers test video to the buyer (P2P) or to the relay (one shared connection), and
 * restarts the relay connection when the server or its own ICE says it went quiet. */
#include "peer-party.h"

/* One restart covers both the server's "reconnecting" and our own ICE state about the same
 * outage; a restart that fails (the network still down) is tried again after this. */
#define RELAY_RESTART_GAP_US (3 * G_USEC_PER_SEC)

static void seller_stopped (PeerParty *p);
static void restart_relay_leg (PeerParty *p, gint64 session_id, const char *why);

static PeerSession *
session_get (PeerParty *p, JsonObject *msg)
{
  gint64 id = json_object_get_int_member_with_default (msg, "session_id", 0);
  return g_hash_table_lookup (p->sessions, &id);
}

static void
session_free (gpointer data)
{
  PeerSession *s = data;
  peer_session_clear (s);
  g_free (s);
}

/* The relay connection's signaling names one live relayed session of this seller. */
static gint64
relay_session_id (PeerParty *p)
{
  GHashTableIter it;
  PeerSession *s;

  if (g_hash_table_contains (p->sessions, &p->relay_session))
    return p->relay_session;
  g_hash_table_iter_init (&it, p->sessions);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &s))
    if (g_strcmp0 (s->path, "relay") == 0)
      return p->relay_session = s->id;
  return p->relay_session;
}

/* Which session and path a connection's events belong to. */
static gint64
conn_session (PeerParty *p, PeerConn *pc, const char **path)
{
  GHashTableIter it;
  PeerSession *s;

  if (pc == p->relay_leg)
    {
      *path = "relay";
      return relay_session_id (p);
    }
  *path = "p2p";
  g_hash_table_iter_init (&it, p->sessions);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &s))
    if (s->conn == pc)
      return s->id;
  return 0;
}

static void
on_local_sdp (PeerConn *pc, const char *type, const char *sdp, gpointer user_data)
{
  PeerParty *p = user_data;
  const char *path;
  gint64 id = conn_session (p, pc, &path);

  peer_send_signal (p, id, path, g_str_equal (type, "offer") ? "sdp_offer" : "sdp_answer", "sdp", sdp, -1);
}

static void
on_local_candidate (PeerConn *pc, guint mline, const char *candidate, gpointer user_data)
{
  PeerParty *p = user_data;
  const char *path;
  gint64 id = conn_session (p, pc, &path);

  peer_send_signal (p, id, path, "ice_candidate", "candidate", candidate, (gint) mline);
}

static void
on_ice_state (PeerConn *pc, const char *state, gpointer user_data)
{
  PeerParty *p = user_data;
  const char *path;
  gint64 id = conn_session (p, pc, &path);
  gboolean relay = pc == p->relay_leg && id > 0;

  if (relay && (g_str_equal (state, "connected") || g_str_equal (state, "completed")))
    p->relay_was_up = TRUE;
  /* A relay connection that worked and then fails is replaced, not given up: "failed" would end
   * every relayed session at once, the grace of "disconnected" lets the network come back. */
  if (relay && p->relay_was_up && g_str_equal (state, "failed"))
    state = "disconnected";
  peer_send_ice_state (p, id, path, state);
  /* protocol.md: the seller restarts ICE on its relay connection when it goes disconnected. */
  if (relay && g_str_equal (state, "disconnected"))
    restart_relay_leg (p, id, state);
}

static const PeerConnCallbacks conn_cb = {
  .local_sdp = on_local_sdp,
  .local_candidate = on_local_candidate,
  .ice_state = on_ice_state,
  .error = peer_party_on_conn_error,
};

static void
note_path (PeerParty *p, const char *path)
{
  for (guint i = 0; i < json_array_get_length (p->paths_seen); i++)
    if (g_strcmp0 (json_array_get_string_element (p->paths_seen, i), path) == 0)
      return;
  json_array_add_string_element (p->paths_seen, path);
}

static void
on_use_p2p (PeerParty *p, JsonObject *msg)
{
  PeerSession *s = session_get (p, msg);

  if (s == NULL)
    return;
  g_clear_pointer (&s->conn, peer_conn_free);
  g_free (s->path);
  s->path = g_strdup ("p2p");
  note_path (p, "p2p");
  /* Set before the offer exists: its candidates must find the session. */
  s->conn = peer_party_new_conn (p, TRUE, &conn_cb);
  if (s->conn != NULL)
    peer_conn_create_offer (s->conn);
  peer_party_inject (p, s->id, "p2p");
}

static void
on_use_relay (PeerParty *p, JsonObject *msg)
{
  PeerSession *s = session_get (p, msg);
  gboolean needed = json_object_get_boolean_member_with_default (msg, "offer_needed", FALSE);

  if (s != NULL)
    {
      g_clear_pointer (&s->conn, peer_conn_free);
      g_free (s->path);
      s->path = g_strdup ("relay");
      p->relay_session = s->id;
    }
  note_path (p, "relay");
  if (!needed && p->relay_leg != NULL)
    return;
  g_clear_handle_id (&p->restart_timer, g_source_remove);
  p->relay_was_up = FALSE;
  g_clear_pointer (&p->relay_leg, peer_conn_free);
  p->relay_leg = peer_party_new_conn (p, TRUE, &conn_cb);
  if (p->relay_leg != NULL)
    peer_conn_create_offer (p->relay_leg);
  if (s != NULL)
    peer_party_inject (p, s->id, "relay");
}

/* A fresh connection and offer: the relay answers it from a new transport (new ICE credentials
 * and DTLS certificate) and keeps every buyer's leg. webrtcbin cannot take a new fingerprint on
 * a running connection, so the old one goes. */
static gboolean
on_restart_timer (gpointer user_data)
{
  PeerParty *p = user_data;

  p->restart_timer = 0;
  restart_relay_leg (p, p->restart_session, "retry");
  return G_SOURCE_REMOVE;
}

static void
restart_relay_leg (PeerParty *p, gint64 session_id, const char *why)
{
  gint64 now = g_get_monotonic_time ();
  g_autoptr (JsonObject) f = NULL;

  if (p->relay_leg == NULL)
    return;
  if (p->restarted_us != 0 && now - p->restarted_us < RELAY_RESTART_GAP_US)
    {
      /* Asked again so soon: the last attempt is either under way (a second "reconnecting"
       * about the same outage) or already failed; then try once more when the gap is over. */
      if (!g_str_equal (why, "reconnecting") && p->restart_timer == 0)
        {
          p->restart_session = session_id;
          p->restart_timer = g_timeout_add ((guint) ((RELAY_RESTART_GAP_US - (now - p->restarted_us)) / 1000) + 1,
                                            on_restart_timer, p);
        }
      return;
    }
  g_clear_handle_id (&p->restart_timer, g_source_remove);
  p->restarted_us = now;
  p->seller_restarts++;
  p->relay_session = session_id;
  g_clear_pointer (&p->relay_leg, peer_conn_free);
  p->relay_leg = peer_party_new_conn (p, TRUE, &conn_cb);
  if (p->relay_leg != NULL)
    peer_conn_create_offer (p->relay_leg);
  f = json_object_new ();
  json_object_set_int_member (f, "session_id", session_id);
  json_object_set_string_member (f, "path", "relay");
  json_object_set_string_member (f, "why", why);
  peer_event (p, "relay_restart", g_steal_pointer (&f));
}

/* protocol.md: a relayed session turning "reconnecting" means the relay lost the seller's media
 * (or a buyer leg is down); the seller's own connection may still look connected. */
static void
on_state (PeerParty *p, JsonObject *msg)
{
  PeerSession *s = session_get (p, msg);
  gboolean reconnecting = json_object_get_boolean_member_with_default (msg, "reconnecting", FALSE);
  gboolean was;

  if (s == NULL)
    return;
  was = s->reconnecting;
  s->reconnecting = reconnecting;
  if (reconnecting && !was
      && g_str_equal (json_object_get_string_member_with_default (msg, "path", ""), "relay"))
    restart_relay_leg (p, s->id, "reconnecting");
}

static void
on_signal (PeerParty *p, JsonObject *msg)
{
  const char *path = json_object_get_string_member_with_default (msg, "path", "");
  PeerSession *s = session_get (p, msg);
  PeerConn *pc = g_str_equal (path, "relay") ? p->relay_leg : s ? s->conn : NULL;

  if (pc != NULL)
    peer_party_apply_signal (p, pc, msg);
}

static void
on_ended (PeerParty *p, JsonObject *msg)
{
  gint64 id = json_object_get_int_member_with_default (msg, "session_id", 0);
  g_autoptr (JsonObject) f = json_object_new ();

  json_object_set_int_member (f, "session_id", id);
  json_object_set_string_member (f, "reason", json_object_get_string_member_with_default (msg, "reason", ""));
  peer_event (p, "session_ended", g_steal_pointer (&f));
  g_hash_table_remove (p->sessions, &id);
  /* The relay drops its seller leg with the last relayed buyer; a new one asks for an offer. */
  if (relay_session_id (p) == id || g_hash_table_size (p->sessions) == 0)
    {
      GHashTableIter it;
      PeerSession *s;
      gboolean relayed = FALSE;
      g_hash_table_iter_init (&it, p->sessions);
      while (g_hash_table_iter_next (&it, NULL, (gpointer *) &s))
        relayed = relayed || g_strcmp0 (s->path, "relay") == 0;
      if (!relayed)
        {
          g_clear_handle_id (&p->restart_timer, g_source_remove);
          g_clear_pointer (&p->relay_leg, peer_conn_free);
        }
    }
}

static gboolean
on_duration (gpointer user_data)
{
  PeerParty *p = user_data;

  p->timer = 0;
  peer_seller_stop (p);
  return G_SOURCE_REMOVE;
}

static gboolean
send_location (gpointer user_data)
{
  PeerParty *p = user_data;
  JsonObject *loc = json_object_new ();

  p->timer = 0;
  json_object_set_double_member (loc, "lat", p->opt->lat);
  json_object_set_double_member (loc, "lon", p->opt->lon);
  peer_ws_send (p->ws, "location", "loc", loc);
  return G_SOURCE_REMOVE;
}

static void
on_reply (PeerParty *p, JsonObject *msg, const char *type)
{
  const char *ref = json_object_get_string_member_with_default (msg, "ref", "");
  const char *code = json_object_get_string_member_with_default (msg, "code", "");

  if (g_str_equal (ref, "loc") && g_str_equal (type, "ack"))
    peer_ws_send (p->ws, "go_live", "live", NULL);
  else if (g_str_equal (ref, "loc") && g_str_equal (code, "too_soon"))
    p->timer = g_timeout_add ((guint) json_object_get_int_member_with_default (msg, "retry_after_ms", 1000),
                              send_location, p);
  else if (g_str_equal (ref, "live") && g_str_equal (type, "ack"))
    {
      g_autoptr (JsonObject) f = json_object_new ();
      p->live = TRUE;
      json_object_set_int_member (f, "user_id", p->account.user_id);
      peer_event (p, "live", g_steal_pointer (&f));
      if (p->opt->duration_s > 0)
        p->timer = g_timeout_add ((guint) (p->opt->duration_s * 1000), on_duration, p);
    }
  else if (g_str_equal (ref, "stop"))
    seller_stopped (p);
  else if (g_str_equal (type, "error") && (g_str_equal (ref, "loc") || g_str_equal (ref, "live")))
    {
      p->error = g_strdup_printf ("%s refused: %s", ref, code);
      seller_stopped (p);
    }
}

static void
on_message (PeerWs *ws, JsonObject *msg, const char *type, gpointer user_data)
{
  PeerParty *p = user_data;

  if (peer_party_inject_reply (p, msg, type))
    return;
  if (g_str_equal (type, "ack") || g_str_equal (type, "error"))
    on_reply (p, msg, type);
  else if (g_str_equal (type, "session.offer"))
    {
      PeerSession *s = g_new0 (PeerSession, 1);
      JsonObject *a = json_object_new ();
      s->id = json_object_get_int_member_with_default (msg, "session_id", 0);
      g_hash_table_insert (p->sessions, &s->id, s);
      p->accepted++;
      json_object_set_int_member (a, "session_id", s->id);
      peer_ws_send (p->ws, "session.accept", "accept", a);
    }
  else if (g_str_equal (type, "session.use_p2p"))
    on_use_p2p (p, msg);
  else if (g_str_equal (type, "session.use_relay"))
    on_use_relay (p, msg);
  else if (g_str_equal (type, "signal"))
    on_signal (p, msg);
  else if (g_str_equal (type, "session.state"))
    on_state (p, msg);
  else if (g_str_equal (type, "session.ended"))
    on_ended (p, msg);
  else if (g_str_equal (type, "billing.earned"))
    p->minutes_earned++;
}

static void
on_opened (PeerWs *ws, gpointer user_data)
{
  PeerParty *p = user_data;

  peer_party_send_hello (p);
  send_location (p);
}

static void
on_closed (PeerWs *ws, const char *why, gpointer user_data)
{
  PeerParty *p = user_data;

  peer_party_ws_closed (p, why);
  seller_stopped (p);
}

void
peer_seller_start (PeerParty *p)
{
  static const PeerWsCallbacks cb = { on_opened, on_message, on_closed };

  p->sessions = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, session_free);
  p->paths_seen = json_array_new ();
  p->ws = peer_ws_new (p->run->http, p->opt->server, p->account.token, p->run->log, &cb, p);
}

/* Duration over or SIGTERM: stop streaming, then finish once the server acknowledged. */
void
peer_seller_stop (PeerParty *p)
{
  if (p->finished)
    return;
  if (p->ws != NULL && peer_ws_is_open (p->ws) && p->live)
    {
      p->live = FALSE;
      peer_ws_send (p->ws, "stop_live", "stop", NULL);
      g_clear_handle_id (&p->timer, g_source_remove);
      p->timer = g_timeout_add (2000, on_duration, p); /* no answer: finish anyway */
      return;
    }
  seller_stopped (p);
}

static void
seller_stopped (PeerParty *p)
{
  g_autoptr (JsonObject) sum = json_object_new ();

  if (p->finished)
    return;
  g_clear_handle_id (&p->timer, g_source_remove);
  g_clear_handle_id (&p->restart_timer, g_source_remove);
  g_clear_pointer (&p->relay_leg, peer_conn_free);
  g_hash_table_remove_all (p->sessions);
  json_object_set_int_member (sum, "user_id", p->account.user_id);
  json_object_set_int_member (sum, "sessions_accepted", p->accepted);
  json_object_set_array_member (sum, "paths", json_array_ref (p->paths_seen));
  json_object_set_int_member (sum, "minutes_earned", p->minutes_earned);
  json_object_set_int_member (sum, "relay_restarts", p->seller_restarts);
  if (p->error)
    json_object_set_string_member (sum, "error", p->error);
  peer_party_finish (p, p->error == NULL, g_steal_pointer (&sum));
}
