/* peer-ws.c — WebSocket client of the command-line peer: connects with the bearer subprotocol,
 * parses every text frame into a JSON object, logs it when asked. */
#include "peer-ws.h"

#include <string.h>

struct _PeerWs
{
  PeerWsCallbacks cb;
  gpointer user_data;
  SoupWebsocketConnection *conn;
  GCancellable *cancel;
  FILE *log;
  gboolean authed;
};

static void
on_message (SoupWebsocketConnection *conn, gint type, GBytes *message, gpointer user_data)
{
  PeerWs *ws = user_data;
  gsize len;
  const char *data = g_bytes_get_data (message, &len);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *obj;
  const char *t;

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;
  if (ws->log != NULL)
    {
      fwrite (data, 1, len, ws->log);
      fputc ('\n', ws->log);
      fflush (ws->log);
    }
  if (!json_parser_load_from_data (parser, data, (gssize) len, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return;
  obj = json_node_get_object (json_parser_get_root (parser));
  t = json_object_get_string_member_with_default (obj, "type", "");
  if (!ws->authed && g_str_equal (t, "auth_ok"))
    {
      ws->authed = TRUE;
      if (ws->cb.opened)
        ws->cb.opened (ws, ws->user_data);
    }
  if (ws->cb.message)
    ws->cb.message (ws, obj, t, ws->user_data);
}

static void
on_closed (SoupWebsocketConnection *conn, gpointer user_data)
{
  PeerWs *ws = user_data;
  g_autofree char *why = g_strdup_printf ("closed with code %u",
                                          soup_websocket_connection_get_close_code (conn));
  if (ws->cb.closed)
    ws->cb.closed (ws, why, ws->user_data);
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PeerWs *ws = user_data;
  g_autoptr (GError) error = NULL;
  SoupWebsocketConnection *conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result,
                                                                         &error);
  if (conn == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && ws->cb.closed)
        ws->cb.closed (ws, error->message, ws->user_data);
      return;
    }
  ws->conn = conn;
  /* Frames larger than libsoup's default limit would be dropped silently (SDPs are big). */
  soup_websocket_connection_set_max_incoming_payload_size (conn, 1 << 20);
  soup_websocket_connection_set_keepalive_interval (conn, 0);
  g_signal_connect (conn, "message", G_CALLBACK (on_message), ws);
  g_signal_connect (conn, "closed", G_CALLBACK (on_closed), ws);
}

PeerWs *
peer_ws_new (SoupSession *session, const char *server, const char *token, FILE *log,
             const PeerWsCallbacks *cb, gpointer user_data)
{
  PeerWs *ws = g_new0 (PeerWs, 1);
  const char *rest = g_str_has_prefix (server, "https") ? server + 5 : server + 4;
  g_autofree char *url = g_strconcat (g_str_has_prefix (server, "https") ? "wss" : "ws", rest,
                                      "/api/v1/ws", NULL);
  g_autofree char *bearer = g_strconcat ("bearer.", token, NULL);
  char *protocols[] = { (char *) "kamegor.v1", bearer, NULL };
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);

  ws->cb = *cb;
  ws->user_data = user_data;
  ws->log = log;
  ws->cancel = g_cancellable_new ();
  soup_session_websocket_connect_async (session, msg, NULL, protocols, G_PRIORITY_DEFAULT,
                                        ws->cancel, on_connected, ws);
  return ws;
}

void
peer_ws_free (PeerWs *ws)
{
  if (ws == NULL)
    return;
  g_cancellable_cancel (ws->cancel);
  if (ws->conn != NULL)
    {
      g_signal_handlers_disconnect_by_data (ws->conn, ws);
      if (soup_websocket_connection_get_state (ws->conn) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (ws->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_object_unref (ws->conn);
    }
  g_object_unref (ws->cancel);
  g_free (ws);
}

gboolean
peer_ws_is_open (PeerWs *ws)
{
  return ws->conn != NULL && ws->authed
         && soup_websocket_connection_get_state (ws->conn) == SOUP_WEBSOCKET_STATE_OPEN;
}

void
peer_ws_send_text (PeerWs *ws, const char *text)
{
  if (ws->conn == NULL || soup_websocket_connection_get_state (ws->conn) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  soup_websocket_connection_send_text (ws->conn, text);
  /* Sent lines are marked so a check can tell what a party revealed from what it was told. */
  if (ws->log != NULL)
    {
      fprintf (ws->log, "> %s\n", text);
      fflush (ws->log);
    }
}

void
peer_ws_send (PeerWs *ws, const char *type, const char *ref, JsonObject *msg)
{
  g_autoptr (JsonObject) o = msg != NULL ? msg : json_object_new ();
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *text = NULL;

  json_object_set_string_member (o, "type", type);
  if (ref != NULL)
    json_object_set_string_member (o, "ref", ref);
  node = json_node_init_object (json_node_alloc (), o);
  text = json_to_string (node, FALSE);
  peer_ws_send_text (ws, text);
}
