/* peer-http.c — register/login/profile and ICE servers for the command-line peer, with libsoup's
 * blocking API (used before the main loop runs). */
#include "peer-http.h"

#include <string.h>

G_DEFINE_QUARK (peer-http-error-quark, peer_http_error)

/* json-glib 1.6 has no *_with_default getters for objects and arrays. */
static JsonObject *
member_object (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  return n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static JsonArray *
member_array (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  return n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

JsonObject *
peer_http_call (SoupSession *session, const char *method, const char *url, const char *token,
                JsonObject *body, GError **error)
{
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  const char *data;
  gsize len;
  guint status;

  if (msg == NULL)
    {
      g_set_error (error, PEER_HTTP_ERROR, PEER_HTTP_ERROR_STATUS, "bad URL %s", url);
      return NULL;
    }
  if (token != NULL)
    {
      g_autofree char *auth = g_strconcat ("Bearer ", token, NULL);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
    }
  if (body != NULL)
    {
      g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), body);
      char *text = json_to_string (node, FALSE);
      gsize n = strlen (text);
      g_autoptr (GBytes) bytes = g_bytes_new_take (text, n);
      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }
  reply = soup_session_send_and_read (session, msg, NULL, error);
  if (reply == NULL)
    return NULL;
  status = soup_message_get_status (msg);
  data = g_bytes_get_data (reply, &len);
  if (len > 0 && !json_parser_load_from_data (parser, data, (gssize) len, NULL))
    {
      g_set_error (error, PEER_HTTP_ERROR, PEER_HTTP_ERROR_BODY, "%s %s: HTTP %u, body is not JSON",
                   method, url, status);
      return NULL;
    }
  if (status < 200 || status >= 300)
    {
      JsonNode *root = len > 0 ? json_parser_get_root (parser) : NULL;
      const char *code = NULL, *message = NULL;
      if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
        {
          JsonObject *o = json_node_get_object (root);
          JsonObject *e = member_object (o, "error");
          JsonObject *src = e != NULL ? e : o;
          code = json_object_get_string_member_with_default (src, "code", NULL);
          message = json_object_get_string_member_with_default (src, "message", NULL);
        }
      g_set_error (error, PEER_HTTP_ERROR,
                   status == 409 ? PEER_HTTP_ERROR_CONFLICT : PEER_HTTP_ERROR_STATUS,
                   "%s %s: HTTP %u %s%s%s", method,
                   url, status, code ? code : "", message ? ": " : "", message ? message : "");
      return NULL;
    }
  if (len == 0)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, PEER_HTTP_ERROR, PEER_HTTP_ERROR_BODY, "%s %s: not a JSON object", method, url);
      return NULL;
    }
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

void
peer_account_clear (PeerAccount *account)
{
  g_clear_pointer (&account->token, g_free);
  g_clear_pointer (&account->stun_server, g_free);
}

static gboolean
read_login (JsonObject *login, PeerAccount *out, GError **error)
{
  JsonObject *user = member_object (login, "user");
  const char *token = json_object_get_string_member_with_default (login, "token", NULL);

  if (user == NULL || token == NULL)
    {
      g_set_error (error, PEER_HTTP_ERROR, PEER_HTTP_ERROR_BODY, "login answer without user or token");
      return FALSE;
    }
  out->token = g_strdup (token);
  out->user_id = json_object_get_int_member_with_default (user, "id", 0);
  return TRUE;
}

/* "stun:host:port" → "stun://host:port", the form webrtcbin takes. */
static void
read_rtc (JsonObject *rtc, PeerAccount *out)
{
  JsonArray *servers = member_array (rtc, "ice_servers");

  out->stats_interval_ms = json_object_get_int_member_with_default (rtc, "stats_interval_ms", 2000);
  for (guint i = 0; servers != NULL && i < json_array_get_length (servers); i++)
    {
      JsonObject *s = json_array_get_object_element (servers, i);
      JsonArray *urls = s ? member_array (s, "urls") : NULL;
      for (guint j = 0; urls != NULL && j < json_array_get_length (urls); j++)
        {
          const char *u = json_array_get_string_element (urls, j);
          if (out->stun_server == NULL && u != NULL && g_str_has_prefix (u, "stun:"))
            out->stun_server = g_strconcat ("stun://", u + strlen ("stun:"), NULL);
        }
    }
}

gboolean
peer_account_open (SoupSession *session, const char *server, const char *username,
                   const char *password, gboolean register_first, gboolean seller, gint64 price,
                   PeerAccount *out, GError **error)
{
  g_autoptr (JsonObject) creds = json_object_new ();
  g_autoptr (JsonObject) login = NULL;
  g_autoptr (JsonObject) rtc = NULL;
  g_autofree char *url = NULL;

  json_object_set_string_member (creds, "username", username);
  json_object_set_string_member (creds, "password", password);
  json_object_set_string_member (creds, "device", "kamegor-peer");
  if (register_first)
    {
      g_autoptr (GError) local = NULL;
      url = g_strconcat (server, "/api/v1/auth/register", NULL);
      login = peer_http_call (session, "POST", url, NULL, creds, &local);
      /* An existing account is fine: log in instead (re-runs of the same smoke test). */
      if (login == NULL && !g_error_matches (local, PEER_HTTP_ERROR, PEER_HTTP_ERROR_CONFLICT))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      g_clear_pointer (&url, g_free);
    }
  if (login == NULL)
    {
      url = g_strconcat (server, "/api/v1/auth/login", NULL);
      login = peer_http_call (session, "POST", url, NULL, creds, error);
      g_clear_pointer (&url, g_free);
      if (login == NULL)
        return FALSE;
    }
  if (!read_login (login, out, error))
    return FALSE;
  if (register_first && seller)
    {
      g_autoptr (JsonObject) patch = json_object_new ();
      g_autoptr (JsonObject) me = NULL;
      json_object_set_boolean_member (patch, "location_consent", TRUE);
      json_object_set_boolean_member (patch, "is_seller", TRUE);
      if (price > 0)
        json_object_set_int_member (patch, "price_per_minute", price);
      url = g_strconcat (server, "/api/v1/me", NULL);
      me = peer_http_call (session, "PATCH", url, out->token, patch, error);
      g_clear_pointer (&url, g_free);
      if (me == NULL)
        return FALSE;
    }
  url = g_strconcat (server, "/api/v1/rtc", NULL);
  rtc = peer_http_call (session, "GET", url, out->token, NULL, error);
  if (rtc == NULL)
    return FALSE;
  read_rtc (rtc, out);
  return TRUE;
}
