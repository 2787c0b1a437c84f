/* test-signaling.c — protocol tests of the WebSocket hub: an in-process SoupServer on 127.0.0.1:0,
 * a fake authenticator and map, and real libsoup WebSocket clients in the same main context. */

#include "kmg-api-error.h"
#include "kmg-json.h"
#include "kmg-signaling.h"

#include <string.h>

#define GRACE_MS 600
#define FLUSH_MS 30
#define WAIT_MS 5000

typedef struct
{
  char *id;
  double lat, lon;
  const char *status;
} FakeItem;

typedef struct
{
  SoupServer *server;
  KmgSignaling *sig;
  SoupSession *session;
  char *url;
  GArray *transitions; /* gint64 user, old, new, reason as 4 × gint64 */
  guint locations;
  GPtrArray *items; /* FakeItem* */
  guint map_queries;
  guint closed_conns;
} Fixture;

typedef struct
{
  Fixture *f;
  SoupWebsocketConnection *ws;
  GQueue msgs; /* JsonObject* */
  gboolean closed;
  gushort close_code;
  guint http_status;
  gboolean done;
} Client;

typedef struct
{
  double rate, burst;
  guint strikes;
  gboolean deflate;
  guint max_per_user, max_per_address; /* 0: the hub's defaults */
} Limits;

static const Limits default_limits = { 200, 50, 10, FALSE, 0, 0 };
static const Limits deflate_on = { 200, 50, 10, TRUE, 0, 0 };
static const Limits caps = { 200, 50, 10, FALSE, 2, 4 };
/* --threads=N runs every case with the sockets on N worker threads. */
static guint ws_threads;
static const Limits tight_limits = { 1, 3, 3, FALSE, 0, 0 };

/* ---- fakes ---- */

static gboolean
fake_authenticate (const char *token, KmgSignalingAuth *out, gpointer user_data)
{
  if (strcmp (token, "banned") == 0)
    {
      out->user_id = 99;
      out->banned = TRUE;
      return TRUE;
    }
  const char *part;

  if (token[0] != 'u' || !g_ascii_isdigit (token[1]))
    return FALSE;
  out->user_id = g_ascii_strtoll (token + 1, NULL, 10);
  out->is_seller = g_str_has_suffix (token, "s");
  /* "u5.t3": token id 3; "u5.e1": expires one second from now (at the next whole second). */
  if ((part = strstr (token, ".t")) != NULL)
    out->token_id = g_ascii_strtoll (part + 2, NULL, 10);
  if ((part = strstr (token, ".e")) != NULL)
    out->expires_at = g_get_real_time () / G_USEC_PER_SEC + g_ascii_strtoll (part + 2, NULL, 10);
  return TRUE;
}

static void
fake_presence_changed (gint64 user_id, KmgPresenceState old_state, KmgPresenceState new_state,
                       KmgPresenceReason reason, gpointer user_data)
{
  Fixture *f = user_data;
  gint64 rec[4] = { user_id, old_state, new_state, reason };

  g_array_append_vals (f->transitions, rec, 4);
}

static void
fake_location (gint64 user_id, gboolean is_seller, KmgPresenceState state, double lat, double lon,
               double accuracy, gpointer user_data)
{
  ((Fixture *) user_data)->locations++;
}

static JsonArray *
fake_map_query (const KmgBbox *bbox, int zoom, gpointer user_data, GError **error)
{
  Fixture *f = user_data;
  JsonArray *out;

  if (bbox->south > bbox->north || bbox->south < -90 || bbox->north > 90)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "bbox south must be <= north");
      return NULL;
    }
  f->map_queries++;
  out = json_array_new ();
  for (guint i = 0; i < f->items->len; i++)
    {
      FakeItem *it = g_ptr_array_index (f->items, i);
      JsonObject *o;

      if (!kmg_bbox_contains (bbox, it->lat, it->lon))
        continue;
      o = json_object_new ();
      json_object_set_string_member (o, "id", it->id);
      json_object_set_string_member (o, "status", it->status);
      json_object_set_double_member (o, "lat", it->lat);
      json_object_set_double_member (o, "lon", it->lon);
      json_array_add_object_element (out, o);
    }
  return out;
}

static void
fake_closed (guint64 conn_id, gint64 user_id, guint n_left, gpointer user_data)
{
  ((Fixture *) user_data)->closed_conns++;
}

static void
fake_item_free (FakeItem *it)
{
  g_free (it->id);
  g_free (it);
}

static void
add_item (Fixture *f, const char *id, double lat, double lon, const char *status)
{
  FakeItem *it = g_new0 (FakeItem, 1);

  it->id = g_strdup (id);
  it->lat = lat;
  it->lon = lon;
  it->status = status;
  g_ptr_array_add (f->items, it);
}

static void
on_echo (KmgSignaling *sig, guint64 conn_id, gint64 user_id, JsonNode *ref, JsonObject *msg, gpointer data)
{
  static const char *const fields[] = { "text", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) body = json_object_new ();
  const char *text = NULL;

  if (!kmg_ws_check_fields (msg, fields, &error) || !kmg_json_get_string (msg, "text", TRUE, 100, &text, &error))
    {
      kmg_signaling_reply_gerror (sig, conn_id, ref, error);
      return;
    }
  json_object_set_string_member (body, "text", text);
  json_object_set_int_member (body, "user_id", user_id);
  kmg_signaling_reply (sig, conn_id, ref, "test.echoed", body);
}

/* ---- fixture ---- */

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  const Limits *limits = data != NULL ? data : &default_limits;
  char *origins[] = { (char *) "http://good.example", NULL };
  KmgSignalingConfig cfg;
  KmgSignalingCallbacks cb = {
    .authenticate = fake_authenticate,
    .location = fake_location,
    .map_query = fake_map_query,
  };
  g_autoptr (GError) error = NULL;
  GSList *uris;

  f->transitions = g_array_new (FALSE, FALSE, sizeof (gint64));
  f->items = g_ptr_array_new_with_free_func ((GDestroyNotify) fake_item_free);
  f->server = soup_server_new (NULL, NULL);
  g_assert_true (soup_server_listen_local (f->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error (error);
  uris = soup_server_get_uris (f->server);
  f->url = g_strdup_printf ("ws://127.0.0.1:%d" KMG_SIGNALING_PATH, g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  kmg_signaling_config_init (&cfg);
  cfg.allowed_origins = origins;
  cfg.grace_ms = GRACE_MS;
  cfg.ping_ms = 0;
  cfg.auth_timeout_ms = 300;
  cfg.min_location_ms = 1000;
  cfg.flush_ms = FLUSH_MS;
  cfg.messages_per_s = limits->rate;
  cfg.burst = limits->burst;
  cfg.max_strikes = limits->strikes;
  cfg.max_message_bytes = 16 * 1024;
  cfg.threads = ws_threads;
  cfg.permessage_deflate = limits->deflate;
  if (limits->max_per_user > 0)
    cfg.max_per_user = limits->max_per_user;
  if (limits->max_per_address > 0)
    cfg.max_per_address = limits->max_per_address;
  f->sig = kmg_signaling_new (f->server, &cfg, &cb, f);
  kmg_signaling_connect_presence_changed (f->sig, fake_presence_changed, f);
  kmg_signaling_connect_connection_closed (f->sig, fake_closed, f);
  kmg_signaling_set_error_map (f->sig, kmg_api_error_ws_code); /* as the server does */
  kmg_signaling_add_handler (f->sig, "test.echo", on_echo, f);
  f->session = soup_session_new ();
  /* Clients ask for permessage-deflate, as browsers do. */
  soup_session_add_feature_by_type (f->session, SOUP_TYPE_WEBSOCKET_EXTENSION_MANAGER);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  kmg_signaling_free (f->sig);
  g_object_unref (f->session);
  soup_server_disconnect (f->server);
  g_object_unref (f->server);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_ptr_array_unref (f->items);
  g_array_unref (f->transitions);
  g_free (f->url);
}

/* ---- client helpers ---- */

static void
on_client_message (SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer user_data)
{
  Client *c = user_data;
  gsize len;
  const char *data = g_bytes_get_data (message, &len);
  g_autoptr (GError) error = NULL;
  JsonObject *obj = kmg_json_parse_object (data, len, &error);

  g_assert_no_error (error);
  g_queue_push_tail (&c->msgs, obj);
}

static void
on_client_closed (SoupWebsocketConnection *ws, gpointer user_data)
{
  Client *c = user_data;

  c->closed = TRUE;
  c->close_code = soup_websocket_connection_get_close_code (ws);
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Client *c = user_data;

  c->ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, NULL);
  if (c->ws != NULL)
    {
      g_signal_connect (c->ws, "message", G_CALLBACK (on_client_message), c);
      g_signal_connect (c->ws, "closed", G_CALLBACK (on_client_closed), c);
    }
  c->done = TRUE;
}

static void
iterate_until (gboolean *flag, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * 1000;

  while (!*flag && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
}

static void
pump (guint ms)
{
  gboolean never = FALSE;

  iterate_until (&never, ms);
}

static Client *
client_connect (Fixture *f, const char *token, const char *origin)
{
  Client *c = g_new0 (Client, 1);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", f->url);
  g_autofree char *bearer = token != NULL ? g_strconcat (KMG_SIGNALING_BEARER_PREFIX, token, NULL) : NULL;
  char *protocols[] = { (char *) KMG_SIGNALING_SUBPROTOCOL, bearer, NULL };

  c->f = f;
  g_queue_init (&c->msgs);
  soup_session_websocket_connect_async (f->session, msg, origin, protocols, G_PRIORITY_DEFAULT, NULL,
                                        on_connected, c);
  iterate_until (&c->done, WAIT_MS);
  g_assert_true (c->done);
  c->http_status = soup_message_get_status (msg);
  return c;
}

static void
client_free (Client *c)
{
  if (c->ws != NULL)
    {
      g_signal_handlers_disconnect_by_data (c->ws, c);
      if (soup_websocket_connection_get_state (c->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (c->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_object_unref (c->ws);
    }
  g_queue_clear_full (&c->msgs, (GDestroyNotify) json_object_unref);
  g_free (c);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Client, client_free)

static void
client_send (Client *c, const char *text)
{
  soup_websocket_connection_send_text (c->ws, text);
}

static gboolean
has_type (Client *c, const char *type)
{
  for (GList *l = c->msgs.head; l != NULL; l = l->next)
    if (g_strcmp0 (json_object_get_string_member (l->data, "type"), type) == 0)
      return TRUE;
  return FALSE;
}

/* Waits for a message of @type, dropping the ones before it. */
static JsonObject *
client_wait (Client *c, const char *type)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      while (!g_queue_is_empty (&c->msgs))
        {
          JsonObject *obj = g_queue_pop_head (&c->msgs);
          if (g_strcmp0 (json_object_get_string_member (obj, "type"), type) == 0)
            return obj;
          json_object_unref (obj);
        }
      g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
    }
  g_error ("no %s message within %d ms", type, WAIT_MS);
  return NULL;
}

static void
client_wait_error (Client *c, const char *code, const char *ref)
{
  g_autoptr (JsonObject) err = client_wait (c, "error");

  g_assert_cmpstr (json_object_get_string_member (err, "code"), ==, code);
  g_assert_nonnull (json_object_get_string_member (err, "message"));
  if (ref != NULL)
    g_assert_cmpstr (json_object_get_string_member (err, "ref"), ==, ref);
}

static void
client_wait_closed (Client *c, gushort code)
{
  iterate_until (&c->closed, WAIT_MS);
  g_assert_true (c->closed);
  g_assert_cmpuint (c->close_code, ==, code);
}

static Client *
client_authed (Fixture *f, const char *token)
{
  Client *c = client_connect (f, token, NULL);
  g_autoptr (JsonObject) ok = NULL;

  g_assert_nonnull (c->ws);
  ok = client_wait (c, "auth_ok");
  return c;
}

/* Authenticated, foreground, location sent: the user is online. */
static Client *
client_online (Fixture *f, const char *token)
{
  Client *c = client_authed (f, token);
  g_autoptr (JsonObject) ack = NULL;
  g_autoptr (JsonObject) presence = NULL;

  client_send (c, "{\"type\":\"location\",\"ref\":\"loc\",\"lat\":48.85,\"lon\":2.35}");
  presence = client_wait (c, "presence");
  g_assert_cmpstr (json_object_get_string_member (presence, "state"), ==, "online");
  ack = client_wait (c, "ack");
  return c;
}

static guint
count_transitions (Fixture *f, gint64 user_id, KmgPresenceState new_state)
{
  guint n = 0;

  for (guint i = 0; i + 3 < f->transitions->len; i += 4)
    if (g_array_index (f->transitions, gint64, i) == user_id &&
        g_array_index (f->transitions, gint64, i + 2) == new_state)
      n++;
  return n;
}

/* ---- tests ---- */

static void
test_auth_subprotocol (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) c = client_connect (f, "u1", NULL);
  g_autoptr (JsonObject) ok = NULL;

  g_assert_nonnull (c->ws);
  g_assert_cmpstr (soup_websocket_connection_get_protocol (c->ws), ==, KMG_SIGNALING_SUBPROTOCOL);
  ok = client_wait (c, "auth_ok");
  g_assert_cmpint (json_object_get_int_member (ok, "user_id"), ==, 1);
  g_assert_false (json_object_get_boolean_member (ok, "is_seller"));
  g_assert_cmpstr (json_object_get_string_member (ok, "state"), ==, "offline");
  g_assert_cmpuint (kmg_signaling_get_n_connections (f->sig), ==, 1);
}

/* Browsers (and libsoup's client, as here) ask for permessage-deflate: by default the server
 * declines it (≈ 100 KiB of zlib state per connection); ws.permessage_deflate accepts it. */
static void
test_permessage_deflate (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) c = client_connect (f, "u1", NULL);
  g_autoptr (JsonObject) ok = NULL;
  const Limits *limits = data;

  g_assert_nonnull (c->ws);
  GList *ext = soup_websocket_connection_get_extensions (c->ws);
  if (limits->deflate)
    {
      g_assert_cmpuint (g_list_length (ext), ==, 1);
      g_assert_true (SOUP_IS_WEBSOCKET_EXTENSION_DEFLATE (ext->data));
    }
  else
    g_assert_null (ext);
  ok = client_wait (c, "auth_ok");
  client_send (c, "{\"type\":\"test.echo\",\"ref\":\"e\",\"text\":\"compressible compressible compressible\"}");
  g_autoptr (JsonObject) echo = client_wait (c, "test.echoed");
  g_assert_cmpstr (json_object_get_string_member (echo, "text"), ==, "compressible compressible compressible");
}

static void
test_auth_first_message (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) c = client_connect (f, NULL, "http://good.example");
  g_autoptr (JsonObject) ok = NULL;

  g_assert_nonnull (c->ws);
  client_send (c, "{\"type\":\"auth\",\"ref\":1,\"token\":\"u7s\"}");
  ok = client_wait (c, "auth_ok");
  g_assert_cmpint (json_object_get_int_member (ok, "ref"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (ok, "user_id"), ==, 7);
  g_assert_true (json_object_get_boolean_member (ok, "is_seller"));
}

static void
test_auth_timeout (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) c = client_connect (f, NULL, NULL);

  g_assert_nonnull (c->ws);
  client_wait_error (c, "auth_timeout", NULL);
  client_wait_closed (c, KMG_WS_CLOSE_AUTH_TIMEOUT);
}

static void
test_auth_bad_token (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) c1 = client_connect (f, "nope", NULL);
  g_autoptr (Client) c2 = client_connect (f, "banned", NULL);
  g_autoptr (Client) c3 = client_connect (f, NULL, NULL);
  g_autoptr (Client) c4 = client_connect (f, NULL, NULL);

  g_assert_null (c1->ws);
  g_assert_cmpuint (c1->http_status, ==, 401);
  g_assert_null (c2->ws);
  g_assert_cmpuint (c2->http_status, ==, 403);

  client_send (c3, "{\"type\":\"auth\",\"ref\":\"a\",\"token\":\"bogus\"}");
  client_wait_error (c3, "auth_failed", "a");
  client_wait_closed (c3, KMG_WS_CLOSE_AUTH_FAILED);

  /* Anything but auth first is refused. */
  client_send (c4, "{\"type\":\"hello\"}");
  client_wait_error (c4, "unauthorized", NULL);
  client_wait_closed (c4, KMG_WS_CLOSE_AUTH_FAILED);
}

static void
test_origin (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) bad = client_connect (f, "u1", "http://evil.example");
  g_autoptr (Client) good = client_connect (f, "u1", "http://good.example");

  g_assert_null (bad->ws);
  g_assert_cmpuint (bad->http_status, ==, 403);
  g_assert_nonnull (good->ws);
}

static void
test_oversize (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) c = client_authed (f, "u1");
  g_autofree char *big = g_strnfill (17 * 1024, 'x');

  client_send (c, big);
  client_wait_closed (c, SOUP_WEBSOCKET_CLOSE_TOO_BIG);
}

static void
test_rate_limit (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) c = client_authed (f, "u1");

  /* Burst of 3 passes, the 4th is refused, persistent abuse closes the connection. */
  for (guint i = 0; i < 3; i++)
    client_send (c, "{\"type\":\"app_state\",\"foreground\":true}");
  client_send (c, "{\"type\":\"app_state\",\"foreground\":true}");
  client_wait_error (c, "rate_limited", NULL);
  g_assert_false (c->closed);
  for (guint i = 0; i < 4; i++)
    client_send (c, "{\"type\":\"app_state\",\"foreground\":true}");
  client_wait_closed (c, KMG_WS_CLOSE_POLICY);
}

static void
test_unknown_type (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) c = client_authed (f, "u1");

  client_send (c, "{\"type\":\"nope\",\"ref\":\"r1\"}");
  client_wait_error (c, "unknown_type", "r1");
  g_assert_false (c->closed);
}

static void
test_bad_fields (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) c = client_authed (f, "u1");
  static const char *const bad[] = {
    "{\"type\":\"location\",\"ref\":\"b\",\"lat\":1,\"lon\":2,\"speed\":3}",
    "{\"type\":\"location\",\"ref\":\"b\",\"lat\":91,\"lon\":2}",
    "{\"type\":\"location\",\"ref\":\"b\",\"lat\":\"1\",\"lon\":2}",
    "{\"type\":\"app_state\",\"ref\":\"b\"}",
    "{\"type\":\"profile.watch\",\"ref\":\"b\",\"seller_id\":0}",
    "{\"type\":\"test.echo\",\"ref\":\"b\",\"text\":5}",
    "{\"type\":\"map.subscribe\",\"ref\":\"b\",\"bbox\":{\"south\":1},\"zoom\":3}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      client_send (c, bad[i]);
      client_wait_error (c, "bad_request", "b");
    }
  client_send (c, "not json");
  client_wait_error (c, "bad_request", NULL);
  g_assert_cmpuint (f->locations, ==, 0);
  g_assert_cmpint (kmg_signaling_get_state (f->sig, 1), ==, KMG_PRESENCE_OFFLINE);

  /* The connection is still usable, and registered handlers see the user. */
  client_send (c, "{\"type\":\"test.echo\",\"ref\":9,\"text\":\"hi\"}");
  {
    g_autoptr (JsonObject) echoed = client_wait (c, "test.echoed");
    g_assert_cmpint (json_object_get_int_member (echoed, "ref"), ==, 9);
    g_assert_cmpint (json_object_get_int_member (echoed, "user_id"), ==, 1);
  }
}

static void
test_location_too_soon (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) c = client_online (f, "u1");
  g_autoptr (JsonObject) err = NULL;

  g_assert_cmpuint (f->locations, ==, 1);
  client_send (c, "{\"type\":\"location\",\"ref\":\"l2\",\"lat\":10,\"lon\":10}");
  err = client_wait (c, "error");
  g_assert_cmpstr (json_object_get_string_member (err, "code"), ==, "too_soon");
  g_assert_cmpstr (json_object_get_string_member (err, "ref"), ==, "l2");
  g_assert_cmpint (json_object_get_int_member (err, "retry_after_ms"), >, 0);
  g_assert_cmpint (json_object_get_int_member (err, "retry_after_ms"), <=, 1000);
  g_assert_cmpuint (f->locations, ==, 1);

  /* A second connection (a reconnect, another device) is no way around it: its first fix is
   * acknowledged and counts for presence, but reaches the map only once the user's window is over. */
  g_autoptr (Client) c2 = client_authed (f, "u1");
  client_send (c2, "{\"type\":\"location\",\"ref\":\"l3\",\"lat\":11,\"lon\":11}");
  g_autoptr (JsonObject) ack = client_wait (c2, "ack");
  g_assert_cmpstr (json_object_get_string_member (ack, "ref"), ==, "l3");
  g_assert_cmpuint (f->locations, ==, 1);
  pump (1100);
  client_send (c2, "{\"type\":\"location\",\"ref\":\"l4\",\"lat\":12,\"lon\":12}");
  g_autoptr (JsonObject) ack2 = client_wait (c2, "ack");
  g_assert_cmpstr (json_object_get_string_member (ack2, "ref"), ==, "l4");
  g_assert_cmpuint (f->locations, ==, 2);
}

static void
test_app_state_background (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) c = client_online (f, "u1");
  g_autoptr (JsonObject) presence = NULL;

  g_assert_cmpuint (count_transitions (f, 1, KMG_PRESENCE_ONLINE), ==, 1);
  client_send (c, "{\"type\":\"app_state\",\"foreground\":false}");
  presence = client_wait (c, "presence");
  g_assert_cmpstr (json_object_get_string_member (presence, "state"), ==, "offline");
  g_assert_cmpstr (json_object_get_string_member (presence, "reason"), ==, "background");
  g_assert_cmpuint (count_transitions (f, 1, KMG_PRESENCE_OFFLINE), ==, 1);
}

static void
test_bye (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) c = client_online (f, "u1");
  g_autoptr (JsonObject) ack = NULL;

  client_send (c, "{\"type\":\"bye\",\"ref\":\"x\"}");
  ack = client_wait (c, "ack");
  /* Offline at once, no grace. */
  g_assert_cmpint (kmg_signaling_get_state (f->sig, 1), ==, KMG_PRESENCE_OFFLINE);
  g_assert_cmpint (g_array_index (f->transitions, gint64, f->transitions->len - 1), ==,
                   KMG_PRESENCE_REASON_GOODBYE);
  client_wait_closed (c, SOUP_WEBSOCKET_CLOSE_NORMAL);
  pump (50);
  g_assert_cmpuint (f->closed_conns, ==, 1);
}

static void
drop_network (Client *c)
{
  /* Close the socket under the WebSocket: the server sees EOF without a close frame or bye. */
  g_io_stream_close (soup_websocket_connection_get_io_stream (c->ws), NULL, NULL);
}

static void
test_loss_reconnect_no_flap (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) seller = client_online (f, "u2s");
  g_autoptr (Client) watcher = client_authed (f, "u3");
  g_autoptr (Client) seller2 = NULL;
  g_autoptr (JsonObject) status = NULL;

  client_send (watcher, "{\"type\":\"profile.watch\",\"ref\":\"w\",\"seller_id\":2}");
  status = client_wait (watcher, "profile.status");
  g_assert_cmpstr (json_object_get_string_member (status, "status"), ==, "online");
  g_assert_cmpstr (json_object_get_string_member (status, "ref"), ==, "w");

  drop_network (seller);
  pump (GRACE_MS / 3);
  g_assert_cmpuint (f->closed_conns, ==, 1);
  g_assert_cmpint (kmg_signaling_get_state (f->sig, 2), ==, KMG_PRESENCE_ONLINE);
  seller2 = client_authed (f, "u2s");
  client_send (seller2, "{\"type\":\"location\",\"ref\":\"again\",\"lat\":48.85,\"lon\":2.35}");
  {
    g_autoptr (JsonObject) ack = client_wait (seller2, "ack");
    g_assert_cmpstr (json_object_get_string_member (ack, "ref"), ==, "again");
  }
  pump (GRACE_MS + 200);

  g_assert_false (has_type (watcher, "profile.status"));
  g_assert_cmpuint (count_transitions (f, 2, KMG_PRESENCE_OFFLINE), ==, 0);
  g_assert_cmpint (kmg_signaling_get_state (f->sig, 2), ==, KMG_PRESENCE_ONLINE);

  /* Without a reconnect the grace runs out and the watcher sees offline. */
  drop_network (seller2);
  g_clear_pointer (&status, json_object_unref);
  status = client_wait (watcher, "profile.status");
  g_assert_cmpstr (json_object_get_string_member (status, "status"), ==, "offline");
  g_assert_cmpint (count_transitions (f, 2, KMG_PRESENCE_OFFLINE), ==, 1);
}

static void
test_profile_watch (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) seller = client_online (f, "u2s");
  g_autoptr (Client) buyer = client_online (f, "u4");
  g_autoptr (Client) watcher = client_authed (f, "u3");
  g_autoptr (JsonObject) s1 = NULL, s2 = NULL, s3 = NULL, err = NULL, ack = NULL;

  client_send (watcher, "{\"type\":\"profile.watch\",\"seller_id\":2}");
  s1 = client_wait (watcher, "profile.status");
  g_assert_cmpint (json_object_get_int_member (s1, "seller_id"), ==, 2);

  client_send (seller, "{\"type\":\"go_live\",\"ref\":1}");
  ack = client_wait (seller, "ack");
  s2 = client_wait (watcher, "profile.status");
  g_assert_cmpstr (json_object_get_string_member (s2, "status"), ==, "streaming");

  client_send (seller, "{\"type\":\"stop_live\"}");
  s3 = client_wait (watcher, "profile.status");
  g_assert_cmpstr (json_object_get_string_member (s3, "status"), ==, "online");

  /* Only sellers go live. */
  client_send (buyer, "{\"type\":\"go_live\",\"ref\":2}");
  err = client_wait (buyer, "error");
  g_assert_cmpstr (json_object_get_string_member (err, "code"), ==, "forbidden");

  /* After unwatch, changes are no longer pushed. */
  client_send (watcher, "{\"type\":\"profile.unwatch\",\"ref\":\"u\",\"seller_id\":2}");
  g_clear_pointer (&ack, json_object_unref);
  ack = client_wait (watcher, "ack");
  client_send (seller, "{\"type\":\"go_live\"}");
  pump (100);
  g_assert_cmpint (kmg_signaling_get_state (f->sig, 2), ==, KMG_PRESENCE_STREAMING);
  g_assert_false (has_type (watcher, "profile.status"));
}

static JsonArray *
member_array (JsonObject *obj, const char *name)
{
  g_assert_true (json_object_has_member (obj, name));
  return json_object_get_array_member (obj, name);
}

static void
test_map_subscribe_diff (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) c = client_authed (f, "u1");
  g_autoptr (Client) fiji = client_authed (f, "u5");
  g_autoptr (JsonObject) snap = NULL, diff = NULL, snap2 = NULL, diff2 = NULL;
  KmgLatLon moved[] = { { 48.85, 2.35 } };
  KmgLatLon far[] = { { -33.9, 151.2 } };
  FakeItem *a;

  add_item (f, "a", 48.85, 2.35, "online");
  add_item (f, "z", -33.9, 151.2, "online");
  client_send (c, "{\"type\":\"map.subscribe\",\"ref\":\"m\",\"bbox\":{\"south\":48,\"west\":2,\"north\":49,"
                  "\"east\":3},\"zoom\":12}");
  snap = client_wait (c, "map.snapshot");
  g_assert_cmpstr (json_object_get_string_member (snap, "ref"), ==, "m");
  g_assert_cmpuint (json_array_get_length (member_array (snap, "items")), ==, 1);

  /* Antimeridian viewport over Fiji: sees only its own area. */
  add_item (f, "f", -17.7, 178.0, "online");
  client_send (fiji, "{\"type\":\"map.subscribe\",\"bbox\":{\"south\":-20,\"west\":170,\"north\":-10,"
                     "\"east\":-170},\"zoom\":6}");
  snap2 = client_wait (fiji, "map.snapshot");
  g_assert_cmpuint (json_array_get_length (member_array (snap2, "items")), ==, 1);

  a = g_ptr_array_index (f->items, 0);
  a->status = "streaming";
  add_item (f, "b", 48.5, 2.5, "online");
  kmg_signaling_map_changed (f->sig, moved, 1);
  kmg_signaling_map_changed (f->sig, (KmgLatLon[]){ { 48.5, 2.5 } }, 1); /* coalesced */
  diff = client_wait (c, "map.diff");
  g_assert_cmpuint (json_array_get_length (member_array (diff, "add")), ==, 1);
  g_assert_cmpuint (json_array_get_length (member_array (diff, "update")), ==, 1);
  g_assert_cmpuint (json_array_get_length (member_array (diff, "remove")), ==, 0);
  pump (FLUSH_MS * 3);
  g_assert_false (has_type (c, "map.diff"));
  g_assert_false (has_type (fiji, "map.diff"));

  /* A change far away re-queries nobody. */
  {
    guint queries = f->map_queries;
    kmg_signaling_map_changed (f->sig, far, 1);
    pump (FLUSH_MS * 3);
    g_assert_cmpuint (f->map_queries, ==, queries);
  }

  /* Removal. */
  g_ptr_array_remove_index (f->items, 0);
  kmg_signaling_map_changed (f->sig, moved, 1);
  diff2 = client_wait (c, "map.diff");
  g_assert_cmpuint (json_array_get_length (member_array (diff2, "remove")), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (member_array (diff2, "remove"), 0), ==, "a");

  /* Errors from the map callback are bad_request. */
  client_send (c, "{\"type\":\"map.subscribe\",\"ref\":\"bad\",\"bbox\":{\"south\":49,\"west\":2,\"north\":48,"
                  "\"east\":3},\"zoom\":12}");
  client_wait_error (c, "bad_request", "bad");
}


/* What the server side's own "message" handlers leave of a frame: seen by a handler connected
 * after the hub's, on whichever thread runs the connection. */
typedef struct
{
  gint seen;     /* frames seen */
  gint wiped;    /* of them, all zero bytes */
  gint nonempty; /* of them, not empty */
  gint hooked;   /* a server-side connection is audited */
} FrameAudit;

static void
audit_frame (SoupWebsocketConnection *ws, gint data_type, GBytes *message, gpointer user_data)
{
  FrameAudit *a = user_data;
  gsize len;
  const guint8 *data = g_bytes_get_data (message, &len);
  gboolean zero = TRUE;

  for (gsize i = 0; i < len; i++)
    zero = zero && data[i] == 0;
  g_atomic_int_inc (&a->seen);
  if (len > 0)
    g_atomic_int_inc (&a->nonempty);
  if (zero)
    g_atomic_int_inc (&a->wiped);
}

/* The first frame a server-side connection gets shows us that connection: audit it from then on. */
static gboolean
catch_server_conn (GSignalInvocationHint *hint, guint n_values, const GValue *values, gpointer user_data)
{
  SoupWebsocketConnection *ws = g_value_get_object (&values[0]);
  FrameAudit *a = user_data;

  if (soup_websocket_connection_get_connection_type (ws) == SOUP_WEBSOCKET_CONNECTION_SERVER
      && g_atomic_int_compare_and_exchange (&a->hooked, 0, 1))
    g_signal_connect_after (ws, "message", G_CALLBACK (audit_frame), a);
  return TRUE;
}

/* The received text of a location (a precise fix) is overwritten once the hub has handled it. */
static void
test_location_frame_wiped (Fixture *f, gconstpointer data)
{
  FrameAudit audit = { 0 };
  gpointer klass = g_type_class_ref (SOUP_TYPE_WEBSOCKET_CONNECTION); /* registers "message" */
  guint signal_id = g_signal_lookup ("message", SOUP_TYPE_WEBSOCKET_CONNECTION);
  gulong hook = g_signal_add_emission_hook (signal_id, 0, catch_server_conn, &audit, NULL);
  g_autoptr (Client) c = client_authed (f, "u1");
  g_autoptr (JsonObject) err = NULL;
  g_autoptr (JsonObject) ack = NULL;

  client_send (c, "{\"type\":\"no.such.type\",\"ref\":\"x\"}");
  err = client_wait (c, "error");
  g_signal_remove_emission_hook (signal_id, hook);
  g_assert_cmpint (g_atomic_int_get (&audit.hooked), ==, 1);
  client_send (c, "{\"type\":\"location\",\"ref\":\"l\",\"lat\":48.8583701,\"lon\":2.2944813}");
  ack = client_wait (c, "ack");
  g_assert_cmpuint (f->locations, ==, 1);
  g_assert_cmpint (g_atomic_int_get (&audit.seen), ==, 1);
  g_assert_cmpint (g_atomic_int_get (&audit.nonempty), ==, 1);
  g_assert_cmpint (g_atomic_int_get (&audit.wiped), ==, 1);
  g_clear_pointer (&c, client_free); /* closes before @audit goes out of scope */
  pump (50);
  g_type_class_unref (klass);
}

/* Waits until the hub has seen @n connections close in all. */
static void
wait_closed_conns (Fixture *f, guint n)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;

  while (f->closed_conns < n && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
  g_assert_cmpuint (f->closed_conns, ==, n);
}

/* Echo round trip: the connection is open and authenticated. */
static void
assert_alive (Client *c)
{
  g_autoptr (JsonObject) echo = NULL;

  client_send (c, "{\"type\":\"test.echo\",\"ref\":\"alive\",\"text\":\"x\"}");
  echo = client_wait (c, "test.echoed");
  g_assert_false (c->closed);
}

/* One account holds at most max_per_user (2 here) authenticated connections, by either way of
 * authenticating; a closed one frees its slot; other users are not affected. */
static void
test_max_per_user (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) a = client_authed (f, "u1");
  g_autoptr (Client) b = client_authed (f, "u1");
  g_autoptr (Client) third = client_connect (f, "u1", NULL);
  g_autoptr (Client) fourth = client_connect (f, NULL, NULL);
  g_autoptr (Client) other = client_authed (f, "u2");
  g_autoptr (Client) again = NULL;
  g_autoptr (JsonObject) err = NULL;

  g_assert_nonnull (third->ws);
  err = client_wait (third, "error");
  g_assert_cmpstr (json_object_get_string_member (err, "code"), ==, "too_many_connections");
  g_assert_cmpint (json_object_get_int_member (err, "max_per_user"), ==, 2);
  client_wait_closed (third, KMG_WS_CLOSE_TOO_MANY);
  g_assert_false (has_type (third, "auth_ok"));

  client_send (fourth, "{\"type\":\"auth\",\"ref\":\"a4\",\"token\":\"u1\"}");
  client_wait_error (fourth, "too_many_connections", "a4");
  client_wait_closed (fourth, KMG_WS_CLOSE_TOO_MANY);

  assert_alive (a);
  assert_alive (b);
  assert_alive (other);
  g_assert_cmpuint (count_transitions (f, 1, KMG_PRESENCE_ONLINE), ==, 0);

  soup_websocket_connection_close (a->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  wait_closed_conns (f, 1); /* refused ones were never authenticated: not counted as closed */
  again = client_authed (f, "u1");
  assert_alive (again);
}

/* At most max_per_address (4 here) connections from one address, authenticated or not; above it
 * the upgrade gets 429. Refused upgrades take no slot; a closed connection gives its slot back. */
static void
test_max_per_address (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) c1 = client_authed (f, "u1");
  g_autoptr (Client) c2 = client_authed (f, "u2");
  g_autoptr (Client) c3 = client_connect (f, NULL, NULL); /* not authenticated yet */
  g_autoptr (Client) bad1 = client_connect (f, "nope", NULL);
  g_autoptr (Client) bad2 = client_connect (f, "u3", "http://evil.example");
  g_autoptr (Client) c4 = client_authed (f, "u3");
  g_autoptr (Client) refused = client_connect (f, "u4", NULL);
  g_autoptr (Client) refused_anon = client_connect (f, NULL, NULL);
  g_autoptr (Client) later = NULL;

  g_assert_null (bad1->ws);
  g_assert_cmpuint (bad1->http_status, ==, 401);
  g_assert_null (bad2->ws);
  g_assert_cmpuint (bad2->http_status, ==, 403);
  g_assert_nonnull (c3->ws);
  g_assert_null (refused->ws);
  g_assert_cmpuint (refused->http_status, ==, 429);
  g_assert_null (refused_anon->ws);
  g_assert_cmpuint (refused_anon->http_status, ==, 429);
  assert_alive (c1);
  assert_alive (c2);
  assert_alive (c4);

  /* The unauthenticated one times out (auth_timeout_ms 300) and frees its slot. */
  client_wait_closed (c3, KMG_WS_CLOSE_AUTH_TIMEOUT);
  pump (50);
  later = client_authed (f, "u4");
  assert_alive (later);
}

/* A connection closes when its token expires: error token_expired, close 4001, and no presence
 * grace (the user goes offline at once, as after bye). */
static void
test_token_expiry (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) expiring = client_online (f, "u5.t1.e1");
  g_autoptr (Client) lasting = client_authed (f, "u6.t2");
  gint64 start = g_get_monotonic_time ();
  g_autoptr (JsonObject) err = client_wait (expiring, "error");

  g_assert_cmpstr (json_object_get_string_member (err, "code"), ==, "token_expired");
  g_assert_false (json_object_has_member (err, "ref"));
  client_wait_closed (expiring, KMG_WS_CLOSE_AUTH_FAILED);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
  wait_closed_conns (f, 1);
  g_assert_cmpuint (count_transitions (f, 5, KMG_PRESENCE_OFFLINE), ==, 1);
  for (guint i = 0; i + 3 < f->transitions->len; i += 4)
    if (g_array_index (f->transitions, gint64, i) == 5
        && g_array_index (f->transitions, gint64, i + 2) == KMG_PRESENCE_OFFLINE)
      g_assert_cmpint (g_array_index (f->transitions, gint64, i + 3), ==, KMG_PRESENCE_REASON_GOODBYE);
  assert_alive (lasting);
}

/* A revoked token closes the connections that authenticated with it (token_revoked, 4001); 0
 * revokes all of a user's. Other tokens, and the same token id of another user, stay. */
static void
test_token_revoked (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) t1 = client_authed (f, "u5.t1");
  g_autoptr (Client) t1_browser = client_connect (f, NULL, NULL);
  g_autoptr (Client) t2 = client_authed (f, "u5.t2");
  g_autoptr (Client) other = client_authed (f, "u6.t1");
  g_autoptr (Client) unauthed = client_connect (f, NULL, NULL);
  g_autoptr (JsonObject) ok = NULL;

  client_send (t1_browser, "{\"type\":\"auth\",\"ref\":\"a\",\"token\":\"u5.t1\"}");
  ok = client_wait (t1_browser, "auth_ok");
  kmg_signaling_token_revoked (f->sig, 5, 1);
  client_wait_error (t1, "token_revoked", NULL);
  client_wait_closed (t1, KMG_WS_CLOSE_AUTH_FAILED);
  client_wait_error (t1_browser, "token_revoked", NULL);
  client_wait_closed (t1_browser, KMG_WS_CLOSE_AUTH_FAILED);
  assert_alive (t2);
  assert_alive (other);

  kmg_signaling_token_revoked (f->sig, 5, 0);
  client_wait_error (t2, "token_revoked", NULL);
  client_wait_closed (t2, KMG_WS_CLOSE_AUTH_FAILED);
  assert_alive (other);
  kmg_signaling_token_revoked (f->sig, 42, 0); /* no connection: nothing happens */
  g_assert_false (unauthed->closed);
  wait_closed_conns (f, 3);
}

/* A ref beyond 64 bits is refused (json-glib would hand over 2^64 as -1) and not echoed. */
static void
test_ref_out_of_range (Fixture *f, gconstpointer data)
{
  g_autoptr (Client) c = client_authed (f, "u1");
  static const char *const refs[] = { "9223372036854775808", "18446744073709551616", "-9223372036854775809",
                                      "1e3" };

  for (guint i = 0; i < G_N_ELEMENTS (refs); i++)
    {
      g_autofree char *text = g_strdup_printf ("{\"type\":\"test.echo\",\"ref\":%s,\"text\":\"x\"}", refs[i]);
      g_autoptr (JsonObject) err = NULL;

      client_send (c, text);
      err = client_wait (c, "error");
      g_assert_cmpstr (json_object_get_string_member (err, "code"), ==, "bad_request");
      g_assert_false (json_object_has_member (err, "ref"));
      g_assert_false (has_type (c, "test.echoed"));
    }
  client_send (c, "{\"type\":\"test.echo\",\"ref\":9223372036854775807,\"text\":\"x\"}");
  {
    g_autoptr (JsonObject) echo = client_wait (c, "test.echoed");
    g_assert_cmpint (json_object_get_int_member (echo, "ref"), ==, G_MAXINT64);
  }
  g_assert_false (c->closed);
}

int
main (int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    if (g_str_has_prefix (argv[i], "--threads="))
      {
        ws_threads = (guint) g_ascii_strtoull (argv[i] + strlen ("--threads="), NULL, 10);
        argv[i] = (char *) "";
      }
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/signaling/ws/auth-subprotocol", test_auth_subprotocol);
  ADD ("/signaling/ws/auth-first-message", test_auth_first_message);
  ADD ("/signaling/ws/auth-timeout", test_auth_timeout);
  ADD ("/signaling/ws/auth-bad-token", test_auth_bad_token);
  ADD ("/signaling/ws/origin", test_origin);
  ADD ("/signaling/ws/oversize", test_oversize);
  g_test_add ("/signaling/ws/rate-limit", Fixture, &tight_limits, fixture_setup, test_rate_limit,
              fixture_teardown);
  ADD ("/signaling/ws/unknown-type", test_unknown_type);
  g_test_add ("/signaling/ws/permessage-deflate-declined", Fixture, &default_limits, fixture_setup,
              test_permessage_deflate, fixture_teardown);
  g_test_add ("/signaling/ws/permessage-deflate-accepted", Fixture, &deflate_on, fixture_setup,
              test_permessage_deflate, fixture_teardown);
  ADD ("/signaling/ws/bad-fields", test_bad_fields);
  ADD ("/signaling/ws/location-too-soon", test_location_too_soon);
  ADD ("/signaling/ws/location-frame-wiped", test_location_frame_wiped);
  ADD ("/signaling/ws/app-state-background", test_app_state_background);
  ADD ("/signaling/ws/bye", test_bye);
  ADD ("/signaling/ws/loss-reconnect-no-flap", test_loss_reconnect_no_flap);
  ADD ("/signaling/ws/profile-watch", test_profile_watch);
  ADD ("/signaling/ws/map-subscribe-diff", test_map_subscribe_diff);
  g_test_add ("/signaling/ws/max-per-user", Fixture, &caps, fixture_setup, test_max_per_user, fixture_teardown);
  g_test_add ("/signaling/ws/max-per-address", Fixture, &caps, fixture_setup, test_max_per_address,
              fixture_teardown);
  ADD ("/signaling/ws/token-expiry", test_token_expiry);
  ADD ("/signaling/ws/token-revoked", test_token_revoked);
  ADD ("/signaling/ws/ref-out-of-range", test_ref_out_of_range);
#undef ADD
  return g_test_run ();
}
