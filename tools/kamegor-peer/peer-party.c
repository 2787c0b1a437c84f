/* peer-party.c — what seller, buyer and probe parties share: event lines and summaries, new peer
 * connections with the account's ICE servers, signaling helpers, injected candidates, probes. */
#include "peer-party.h"

#include <stdio.h>

static const char *
role_name (PeerRole role)
{
  return role == PEER_ROLE_SELLER ? "seller" : role == PEER_ROLE_BUYER ? "buyer" : "none";
}

gint64
peer_now_ms (PeerParty *p)
{
  return (g_get_monotonic_time () - p->started_us) / 1000;
}

static void
print_object (PeerParty *p, const char *event, JsonObject *o, FILE *out)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), o);
  g_autofree char *text = json_to_string (node, FALSE);

  if (p->opt->json)
    fprintf (out, "%s\n", text);
  else
    fprintf (stderr, "[%s %s] %s %s\n", role_name (p->role), p->username, event, text);
  fflush (out);
}

void
peer_event (PeerParty *p, const char *event, JsonObject *fields)
{
  g_autoptr (JsonObject) o = fields ? fields : json_object_new ();

  json_object_set_string_member (o, "event", event);
  json_object_set_string_member (o, "role", role_name (p->role));
  json_object_set_string_member (o, "user", p->username);
  json_object_set_int_member (o, "t_ms", peer_now_ms (p));
  print_object (p, event, o, stdout);
}

void
peer_party_finish (PeerParty *p, gboolean ok, JsonObject *summary)
{
  g_autoptr (JsonObject) o = summary;

  if (p->finished)
    return;
  p->finished = TRUE;
  json_object_set_string_member (o, "event", "summary");
  json_object_set_string_member (o, "role", role_name (p->role));
  json_object_set_string_member (o, "user", p->username);
  json_object_set_boolean_member (o, "ok", ok);
  if (p->inject_replies != NULL)
    json_object_set_array_member (o, "inject_replies", json_array_ref (p->inject_replies));
  if (p->replies != NULL)
    json_object_set_array_member (o, "replies", json_array_ref (p->replies));
  if (p->opt->json)
    print_object (p, "summary", o, stdout);
  else
    {
      g_autoptr (GList) members = json_object_get_members (o);
      printf ("%s %s:\n", role_name (p->role), p->username);
      for (GList *l = members; l != NULL; l = l->next)
        {
          JsonNode *n = json_object_get_member (o, l->data);
          g_autofree char *v = json_to_string (n, FALSE);
          printf ("  %-18s %s\n", (const char *) l->data, v);
        }
      fflush (stdout);
    }
  if (!ok)
    p->run->failed = TRUE;
  if (p->run->running > 0 && --p->run->running == 0)
    g_main_loop_quit (p->run->loop);
}

PeerConn *
peer_party_new_conn (PeerParty *p, gboolean send, const PeerConnCallbacks *cb)
{
  g_autoptr (GError) error = NULL;
  PeerConnConfig c = {
    .send = send,
    .codec = p->opt->codec,
    .stun_server = p->account.stun_server,
    .allow_loopback = p->opt->allow_loopback,
    .decode = !p->opt->no_decode,
    .width = 320,
    .height = 240,
    .fps = 15,
  };
  PeerConn *pc = peer_conn_new (&c, cb, p, &error);

  if (pc == NULL)
    peer_party_on_conn_error (NULL, error->message, p);
  return pc;
}

void
peer_party_on_conn_error (PeerConn *pc, const char *message, gpointer user_data)
{
  g_autoptr (JsonObject) f = json_object_new ();

  json_object_set_string_member (f, "message", message);
  peer_event (user_data, "media_error", g_steal_pointer (&f));
}

void
peer_party_apply_signal (PeerParty *p, PeerConn *pc, JsonObject *msg)
{
  const char *kind = json_object_get_string_member_with_default (msg, "kind", "");
  g_autoptr (GError) error = NULL;

  if (g_str_equal (kind, "ice_candidate"))
    peer_conn_add_candidate (pc, (guint) json_object_get_int_member_with_default (msg, "sdp_mline_index", 0),
                             json_object_get_string_member_with_default (msg, "candidate", ""));
  else if (!peer_conn_set_remote (pc, g_str_equal (kind, "sdp_offer") ? "offer" : "answer",
                                  json_object_get_string_member_with_default (msg, "sdp", ""), &error))
    peer_party_on_conn_error (pc, error->message, p);
}

void
peer_party_send_hello (PeerParty *p)
{
  JsonObject *hello = json_object_new ();

  json_object_set_boolean_member (hello, "foreground", TRUE);
  json_object_set_string_member (hello, "platform", "kamegor-peer");
  peer_ws_send (p->ws, "hello", "hello", hello);
}

void
peer_party_ws_closed (PeerParty *p, const char *why)
{
  if (p->error == NULL)
    p->error = g_strdup_printf ("WebSocket %s", why);
}

void
peer_send_signal (PeerParty *p, gint64 session_id, const char *path, const char *kind,
                  const char *key, const char *value, gint mline)
{
  JsonObject *m = json_object_new ();

  if (session_id > 0)
    json_object_set_int_member (m, "session_id", session_id);
  json_object_set_string_member (m, "kind", kind);
  json_object_set_string_member (m, key, value);
  if (mline >= 0)
    json_object_set_int_member (m, "sdp_mline_index", mline);
  if (path != NULL)
    json_object_set_string_member (m, "path", path);
  peer_ws_send (p->ws, "signal", NULL, m);
}

void
peer_send_ice_state (PeerParty *p, gint64 session_id, const char *path, const char *state)
{
  JsonObject *m;
  g_autoptr (JsonObject) f = json_object_new ();

  json_object_set_string_member (f, "state", state);
  json_object_set_string_member (f, "path", path ? path : "none");
  peer_event (p, "ice", g_steal_pointer (&f));
  if (session_id <= 0 || g_str_equal (state, "new"))
    return;
  m = json_object_new ();
  json_object_set_int_member (m, "session_id", session_id);
  json_object_set_string_member (m, "state", state);
  if (path != NULL)
    json_object_set_string_member (m, "path", path);
  peer_ws_send (p->ws, "ice_state", NULL, m);
}

void
peer_party_inject (PeerParty *p, gint64 session_id, const char *path)
{
  if (p->opt->inject == NULL || p->injected > 0)
    return;
  p->inject_replies = json_array_new ();
  for (guint i = 0; p->opt->inject[i] != NULL; i++)
    {
      JsonObject *m = json_object_new ();
      g_autofree char *ref = g_strdup_printf ("inject-%u", i);
      json_object_set_int_member (m, "session_id", session_id);
      json_object_set_string_member (m, "kind", "ice_candidate");
      json_object_set_string_member (m, "candidate", p->opt->inject[i]);
      json_object_set_int_member (m, "sdp_mline_index", 0);
      json_object_set_string_member (m, "path", path);
      peer_ws_send (p->ws, "signal", ref, m);
      p->injected++;
    }
}

gboolean
peer_party_inject_reply (PeerParty *p, JsonObject *msg, const char *type)
{
  const char *ref = json_object_get_string_member_with_default (msg, "ref", "");
  guint64 i;
  g_autoptr (JsonObject) f = NULL;
  JsonObject *r;

  if (!g_str_has_prefix (ref, "inject-") || p->inject_replies == NULL
      || !g_ascii_string_to_unsigned (ref + 7, 10, 0, p->injected - 1, &i, NULL))
    return FALSE;
  r = json_object_new ();
  json_object_set_string_member (r, "candidate", p->opt->inject[i]);
  json_object_set_string_member (r, "reply", g_str_equal (type, "error")
                                                 ? json_object_get_string_member_with_default (msg, "code", "")
                                                 : type);
  f = json_object_new ();
  json_object_set_string_member (f, "candidate", p->opt->inject[i]);
  json_object_set_string_member (f, "reply", json_object_get_string_member (r, "reply"));
  json_array_add_object_element (p->inject_replies, r);
  peer_event (p, "inject_reply", g_steal_pointer (&f));
  return TRUE;
}

void
peer_session_clear (PeerSession *s)
{
  g_clear_pointer (&s->conn, peer_conn_free);
  g_clear_pointer (&s->path, g_free);
  g_clear_pointer (&s->state, g_free);
}

/* ---- probes: raw messages, replies collected by ref ---------------------------------------- */

static void
probe_done (PeerParty *p)
{
  g_autoptr (JsonObject) sum = json_object_new ();

  g_clear_handle_id (&p->timer, g_source_remove);
  json_object_set_int_member (sum, "user_id", p->account.user_id);
  json_object_set_int_member (sum, "sent", p->sent);
  json_object_set_int_member (sum, "answered", p->answered);
  peer_party_finish (p, p->answered == p->sent, g_steal_pointer (&sum));
}

static void
probe_message (PeerWs *ws, JsonObject *msg, const char *type, gpointer user_data)
{
  PeerParty *p = user_data;
  JsonObject *r;

  if (!json_object_has_member (msg, "ref") || g_str_equal (type, "auth_ok") || p->finished)
    return;
  r = json_object_new ();
  json_object_set_member (r, "ref", json_node_copy (json_object_get_member (msg, "ref")));
  json_object_set_string_member (r, "type", type);
  if (json_object_has_member (msg, "code"))
    json_object_set_string_member (r, "code", json_object_get_string_member (msg, "code"));
  json_array_add_object_element (p->replies, r);
  if (++p->answered >= p->sent)
    probe_done (p);
}

static void
probe_opened (PeerWs *ws, gpointer user_data)
{
  PeerParty *p = user_data;

  for (guint i = 0; p->opt->send[i] != NULL; i++, p->sent++)
    peer_ws_send_text (ws, p->opt->send[i]);
}

static void
probe_closed (PeerWs *ws, const char *why, gpointer user_data)
{
  probe_done (user_data);
}

static gboolean
probe_timeout (gpointer user_data)
{
  PeerParty *p = user_data;

  p->timer = 0;
  probe_done (p);
  return G_SOURCE_REMOVE;
}

void
peer_probe_start (PeerParty *p)
{
  static const PeerWsCallbacks cb = { probe_opened, probe_message, probe_closed };

  if (p->opt->send == NULL || p->opt->send[0] == NULL)
    {
      probe_done (p);
      return;
    }
  p->replies = json_array_new ();
  p->ws = peer_ws_new (p->run->http, p->opt->server, p->account.token, p->run->log, &cb, p);
  p->timer = g_timeout_add (5000, probe_timeout, p);
}
