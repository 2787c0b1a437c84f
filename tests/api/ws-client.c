/* ws-client.c — WebSocket clients of the in-process test server and shared HTTP helpers.
 * Everything runs on the default main context, which the waits iterate so the server answers. */

#include "ws-client.h"

#include "kmg-accounts.h"
#include "kmg-geohash.h"
#include "kmg-json.h"
#include "kmg-signaling.h"

#include <string.h>

#define PASSWORD "correct horse battery"

void
kmg_test_pump (guint ms)
{
  gboolean never = FALSE;

  kmg_test_wait (&never, ms);
}

gboolean
kmg_test_wait_for (gboolean (*cond) (gpointer data), gpointer data, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!cond (data))
    {
      if (g_get_monotonic_time () >= deadline)
        return FALSE;
      g_main_context_iteration (NULL, FALSE) || (g_usleep (500), TRUE);
    }
  return TRUE;
}

static void
on_message (SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer user_data)
{
  KmgTestWs *c = user_data;
  gsize len;
  const char *data = g_bytes_get_data (message, &len);
  g_autoptr (GError) error = NULL;
  JsonObject *obj;

  g_assert_cmpint (type, ==, SOUP_WEBSOCKET_DATA_TEXT);
  g_string_append_len (c->raw, data, (gssize) len);
  g_string_append_c (c->raw, '\n');
  obj = kmg_json_parse_object (data, len, &error);
  g_assert_no_error (error);
  g_ptr_array_add (c->msgs, obj);
}

static void
on_closed (SoupWebsocketConnection *ws, gpointer user_data)
{
  KmgTestWs *c = user_data;

  c->closed = TRUE;
  c->close_code = soup_websocket_connection_get_close_code (ws);
}

typedef struct
{
  KmgTestWs *c;
  gboolean done;
} Connecting;

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Connecting *p = user_data;

  p->c->ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, NULL);
  if (p->c->ws != NULL)
    {
      /* Frames larger than libsoup's default would be dropped silently by the client. */
      soup_websocket_connection_set_max_incoming_payload_size (p->c->ws, 1 << 20);
      g_signal_connect (p->c->ws, "message", G_CALLBACK (on_message), p->c);
      g_signal_connect (p->c->ws, "closed", G_CALLBACK (on_closed), p->c);
    }
  p->done = TRUE;
}

KmgTestWs *
kmg_test_ws_connect (KmgTestServer *ts, const char *token)
{
  KmgTestWs *c = g_new0 (KmgTestWs, 1);
  g_autofree char *url = g_strconcat ("ws", ts->base_url + strlen ("http"), KMG_SIGNALING_PATH,
                                      NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
  g_autofree char *bearer = token ? g_strconcat (KMG_SIGNALING_BEARER_PREFIX, token, NULL) : NULL;
  char *protocols[] = { (char *) KMG_SIGNALING_SUBPROTOCOL, bearer, NULL };
  Connecting p = { c, FALSE };

  c->msgs = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  c->raw = g_string_new (NULL);
  soup_session_websocket_connect_async (ts->session, msg, NULL, protocols, G_PRIORITY_DEFAULT,
                                        NULL, on_connected, &p);
  g_assert_true (kmg_test_wait (&p.done, KMG_TEST_WS_WAIT_MS));
  c->http_status = soup_message_get_status (msg);
  return c;
}

KmgTestWs *
kmg_test_ws_connect_auth_message (KmgTestServer *ts, const char *token)
{
  KmgTestWs *c = kmg_test_ws_connect (ts, NULL);

  g_assert_nonnull (c->ws);
  kmg_test_ws_send (c, "{\"type\":\"auth\",\"ref\":\"a\",\"token\":\"%s\"}", token);
  g_assert_nonnull (kmg_test_ws_wait (c, "auth_ok", NULL, KMG_TEST_WS_WAIT_MS));
  return c;
}

void
kmg_test_ws_free (KmgTestWs *c)
{
  if (c == NULL)
    return;
  if (c->ws != NULL)
    {
      g_signal_handlers_disconnect_by_data (c->ws, c);
      if (soup_websocket_connection_get_state (c->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (c->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_object_unref (c->ws);
    }
  g_ptr_array_unref (c->msgs);
  g_string_free (c->raw, TRUE);
  g_free (c);
}

void
kmg_test_ws_send (KmgTestWs *c, const char *format, ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_assert_nonnull (c->ws);
  soup_websocket_connection_send_text (c->ws, text);
}

JsonObject *
kmg_test_ws_wait_match (KmgTestWs *c, KmgTestWsMatch match, gconstpointer data, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  for (;;)
    {
      for (guint i = c->cursor; i < c->msgs->len; i++)
        if (match (g_ptr_array_index (c->msgs, i), data))
          {
            c->cursor = i + 1;
            return g_ptr_array_index (c->msgs, i);
          }
      if (g_get_monotonic_time () >= deadline)
        return NULL;
      g_main_context_iteration (NULL, FALSE) || (g_usleep (500), TRUE);
    }
}

typedef struct
{
  const char *type;
  const char *ref;
} TypeRef;

static gboolean
match_type_ref (JsonObject *msg, gconstpointer data)
{
  const TypeRef *tr = data;

  if (g_strcmp0 (json_object_get_string_member_with_default (msg, "type", ""), tr->type) != 0)
    return FALSE;
  if (tr->ref == NULL)
    return TRUE;
  return json_object_has_member (msg, "ref")
         && JSON_NODE_HOLDS_VALUE (json_object_get_member (msg, "ref"))
         && json_node_get_value_type (json_object_get_member (msg, "ref")) == G_TYPE_STRING
         && g_strcmp0 (json_object_get_string_member (msg, "ref"), tr->ref) == 0;
}

JsonObject *
kmg_test_ws_wait (KmgTestWs *c, const char *type, const char *ref, guint timeout_ms)
{
  TypeRef tr = { type, ref };

  return kmg_test_ws_wait_match (c, match_type_ref, &tr, timeout_ms);
}

guint
kmg_test_ws_count (KmgTestWs *c, guint from, KmgTestWsMatch match, gconstpointer data)
{
  guint n = 0;

  for (guint i = from; i < c->msgs->len; i++)
    if (match (g_ptr_array_index (c->msgs, i), data))
      n++;
  return n;
}

gboolean
kmg_test_ws_wait_closed (KmgTestWs *c, guint timeout_ms)
{
  return kmg_test_wait (&c->closed, timeout_ms);
}

/* ---- HTTP helpers ---- */

char *
kmg_test_admin_token (KmgTestServer *ts, const char *username, gint64 *user_id)
{
  KmgApp *app = kmg_server_get_app (ts->server);
  g_autoptr (GError) error = NULL;
  g_autofree char *body = g_strdup_printf ("{\"username\":\"%s\",\"password\":\"" PASSWORD "\"}",
                                           username);
  g_autoptr (KmgTestResponse) r = NULL;
  gint64 id = kmg_accounts_create_user_sync (app->accounts, username, PASSWORD, TRUE,
                                             g_get_real_time () / G_USEC_PER_SEC, &error);
  JsonObject *o;

  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  r = kmg_test_request (ts, "POST", "/api/v1/auth/login", NULL, body);
  g_assert_cmpuint (r->status, ==, 200);
  o = kmg_test_response_object (r);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (o, "user"), "role"),
                   ==, "admin");
  if (user_id)
    *user_id = id;
  return g_strdup (json_object_get_string_member (o, "token"));
}

char *
kmg_test_seller (KmgTestServer *ts, const char *username, gint64 price, gint64 *user_id)
{
  char *token = kmg_test_register (ts, username, PASSWORD, user_id);
  g_autofree char *body = NULL;
  g_autoptr (KmgTestResponse) r = NULL;

  if (price > 0)
    body = g_strdup_printf ("{\"is_seller\":true,\"location_consent\":true,"
                            "\"price_per_minute\":%" G_GINT64_FORMAT "}",
                            price);
  else
    body = g_strdup ("{\"is_seller\":true,\"location_consent\":true}");
  r = kmg_test_request (ts, "PATCH", "/api/v1/me", token, body);
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_true (json_object_get_boolean_member (kmg_test_response_object (r), "is_seller"));
  return token;
}

KmgTestResponse *
kmg_test_get (KmgTestServer *ts, const char *token, guint expect_status, const char *path_format,
              ...)
{
  va_list args;
  g_autofree char *path = NULL;
  KmgTestResponse *r;

  va_start (args, path_format);
  path = g_strdup_vprintf (path_format, args);
  va_end (args);
  r = kmg_test_request (ts, "GET", path, token, NULL);
  if (r->status != expect_status)
    g_test_message ("GET %s → %u %.*s", path, r->status, (int) g_bytes_get_size (r->body),
                    (const char *) g_bytes_get_data (r->body, NULL));
  g_assert_cmpuint (r->status, ==, expect_status);
  return r;
}

KmgTestResponse *
kmg_test_map (KmgTestServer *ts, double south, double west, double north, double east, int zoom)
{
  char s[G_ASCII_DTOSTR_BUF_SIZE], w[G_ASCII_DTOSTR_BUF_SIZE], n[G_ASCII_DTOSTR_BUF_SIZE],
      e[G_ASCII_DTOSTR_BUF_SIZE];

  return kmg_test_get (ts, NULL, 200, "/api/v1/map?south=%s&west=%s&north=%s&east=%s&zoom=%d",
                       g_ascii_dtostr (s, sizeof s, south), g_ascii_dtostr (w, sizeof w, west),
                       g_ascii_dtostr (n, sizeof n, north), g_ascii_dtostr (e, sizeof e, east),
                       zoom);
}

JsonObject *
kmg_test_map_marker (KmgTestResponse *map, gint64 user_id)
{
  JsonArray *items = json_object_get_array_member (kmg_test_response_object (map), "items");

  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *it = json_array_get_object_element (items, i);
      if (g_strcmp0 (json_object_get_string_member (it, "kind"), "marker") == 0
          && json_object_get_int_member (it, "user_id") == user_id)
        return it;
    }
  return NULL;
}

char *
kmg_test_seller_status (KmgTestServer *ts, gint64 seller_id)
{
  g_autoptr (KmgTestResponse) r = kmg_test_get (ts, NULL, 200, "/api/v1/sellers/%" G_GINT64_FORMAT,
                                                seller_id);

  return g_strdup (json_object_get_string_member (kmg_test_response_object (r), "status"));
}

void
kmg_test_cell_centre (double lat, double lon, guint precision, double *clat, double *clon)
{
  KmgGeohashBox box;

  g_assert_true (kmg_geohash_cell (lat, lon, precision, &box));
  kmg_geohash_box_centre (&box, clat, clon);
}
