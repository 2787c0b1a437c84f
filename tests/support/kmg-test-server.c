/* kmg-test-server.c — a real kamegord on 127.0.0.1:0 with a temporary data dir, and a JSON client.
 * Used by the API, protocol and billing integration suites. */

#include "kmg-test-server.h"

#include <glib/gstdio.h>
#include <string.h>

static void
rm_rf (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);
        if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
          rm_rf (child);
        else
          g_unlink (child);
      }
  g_rmdir (path);
}

KmgTestServer *
kmg_test_server_new (void (*setup) (KmgConfig *config))
{
  KmgTestServer *ts = g_new0 (KmgTestServer, 1);
  KmgConfig *config = kmg_config_new_default ();
  g_autoptr (GError) error = NULL;

  ts->data_dir = g_dir_make_tmp ("kmg-test-XXXXXX", &error);
  g_assert_no_error (error);
  g_free (config->data_dir);
  config->data_dir = g_strdup (ts->data_dir);
  g_free (config->listen);
  config->listen = g_strdup ("127.0.0.1:0");
  config->stun_port = 0;
  g_free (config->log_level);
  config->log_level = g_strdup ("warning");
  if (setup)
    setup (config);
  ts->server = kmg_server_new (config, &error);
  g_assert_no_error (error);
  ts->base_url = g_strdup_printf ("http://127.0.0.1:%u", kmg_server_get_port (ts->server));
  ts->session = soup_session_new_with_options ("timeout", 30, NULL);
  return ts;
}

void
kmg_test_server_free (KmgTestServer *ts)
{
  if (ts == NULL)
    return;
  g_clear_object (&ts->session);
  kmg_server_free (ts->server);
  rm_rf (ts->data_dir);
  g_free (ts->data_dir);
  g_free (ts->base_url);
  g_free (ts);
}

void
kmg_test_response_free (KmgTestResponse *r)
{
  if (r == NULL)
    return;
  g_clear_pointer (&r->json, json_node_unref);
  g_clear_pointer (&r->body, g_bytes_unref);
  g_clear_pointer (&r->headers, soup_message_headers_unref);
  g_free (r);
}

gboolean
kmg_test_wait (gboolean *done, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!*done && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (200), TRUE);
  return *done;
}

typedef struct
{
  gboolean done;
  GBytes *body;
  GError *error;
} Pending;

static void
on_sent (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Pending *p = user_data;
  p->body = soup_session_send_and_read_finish (SOUP_SESSION (source), res, &p->error);
  p->done = TRUE;
}

KmgTestResponse *
kmg_test_request_bytes (KmgTestServer *ts, const char *method, const char *path, const char *token,
                        const char *content_type, GBytes *body)
{
  return kmg_test_request_full (ts, method, path, token, content_type, body, NULL, 0);
}

KmgTestResponse *
kmg_test_request_full (KmgTestServer *ts, const char *method, const char *path, const char *token,
                       const char *content_type, GBytes *body, const char *const *headers,
                       guint n_headers)
{
  g_autofree char *url = g_strconcat (ts->base_url, path, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  KmgTestResponse *r = g_new0 (KmgTestResponse, 1);
  Pending p = { 0 };
  g_autoptr (JsonParser) parser = json_parser_new ();

  g_assert_nonnull (msg);
  if (token)
    {
      g_autofree char *auth = g_strconcat ("Bearer ", token, NULL);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
    }
  for (guint i = 0; headers != NULL && i + 1 < n_headers; i += 2)
    if (headers[i + 1] != NULL)
      soup_message_headers_replace (soup_message_get_request_headers (msg), headers[i],
                                    headers[i + 1]);
  if (body)
    soup_message_set_request_body_from_bytes (msg, content_type, body);
  soup_session_send_and_read_async (ts->session, msg, G_PRIORITY_DEFAULT, NULL, on_sent, &p);
  g_assert_true (kmg_test_wait (&p.done, 30000));
  g_assert_no_error (p.error);
  r->status = soup_message_get_status (msg);
  r->body = p.body;
  r->headers = soup_message_headers_ref (soup_message_get_response_headers (msg));
  if (g_bytes_get_size (r->body) > 0
      && json_parser_load_from_data (parser, g_bytes_get_data (r->body, NULL),
                                     (gssize) g_bytes_get_size (r->body), NULL))
    r->json = json_node_ref (json_parser_get_root (parser));
  return r;
}

KmgTestResponse *
kmg_test_request (KmgTestServer *ts, const char *method, const char *path, const char *token,
                  const char *body)
{
  g_autoptr (GBytes) b = body ? g_bytes_new (body, strlen (body)) : NULL;
  return kmg_test_request_bytes (ts, method, path, token, "application/json", b);
}

JsonObject *
kmg_test_response_object (KmgTestResponse *r)
{
  g_assert_nonnull (r->json);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (r->json));
  return json_node_get_object (r->json);
}

const char *
kmg_test_response_error_code (KmgTestResponse *r)
{
  JsonObject *o, *e;

  if (r->json == NULL || !JSON_NODE_HOLDS_OBJECT (r->json))
    return "";
  o = json_node_get_object (r->json);
  if (!json_object_has_member (o, "error"))
    return "";
  e = json_object_get_object_member (o, "error");
  g_assert_true (json_object_has_member (e, "message"));
  return json_object_get_string_member (e, "code");
}

char *
kmg_test_register (KmgTestServer *ts, const char *username, const char *password,
                   gint64 *user_id)
{
  g_autofree char *body = g_strdup_printf ("{\"username\":\"%s\",\"password\":\"%s\"}", username,
                                           password);
  g_autoptr (KmgTestResponse) r = kmg_test_request (ts, "POST", "/api/v1/auth/register", NULL,
                                                    body);
  JsonObject *o;

  g_assert_cmpuint (r->status, ==, 201);
  o = kmg_test_response_object (r);
  if (user_id)
    *user_id = json_object_get_int_member (json_object_get_object_member (o, "user"), "id");
  return g_strdup (json_object_get_string_member (o, "token"));
}
