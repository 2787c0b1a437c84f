/* test-api-hostile.c — kamegord under hostile load: what a client that exhausts a resource leaves
 * behind for everyone else. */

#include "kmg-test-server.h"
#include "ws-client.h"

#include "kmg-app.h"

#include <string.h>
#include <sys/resource.h>

static guint paused_warnings;

/* The pause is a warning an operator must see; here it is expected, once. */
static GLogWriterOutput
writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  const char *message = NULL;

  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "MESSAGE"))
      message = fields[i].value;
  if ((level & G_LOG_LEVEL_WARNING) && message != NULL
      && g_str_has_prefix (message, "not accepting connections for now:")
      && strstr (message, "Too many open files") != NULL)
    {
      paused_warnings++;
      return G_LOG_WRITER_HANDLED;
    }
  return g_log_writer_default (level, fields, n_fields, user_data);
}

static guint
count_open_fds (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static void
spin (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE);
}

/* Under a low descriptor limit, connections beyond it make accept() fail with EMFILE. Once they
 * are gone the server must accept new connections again by itself (libsoup's own listener stopped
 * polling for good, while keep-alive connections still worked). */
static void
test_accept_survives_fd_exhaustion (void)
{
  g_autoptr (KmgTestServer) ts = kmg_test_server_new (NULL);
  KmgApp *app = kmg_server_get_app (ts->server);
  g_autoptr (GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, kmg_server_get_port (ts->server));
  g_autoptr (KmgTestResponse) r = NULL;
  g_autoptr (SoupSession) fresh = NULL;
  struct rlimit saved, low;
  gboolean exhausted = FALSE;

  /* Let start-up work that opens files (the relay loads GStreamer plugins on a thread) finish. */
  spin (1500);
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  low = saved;
  low.rlim_cur = count_open_fds () + 24;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &low), ==, 0);

  for (guint i = 0; i < 200 && !exhausted; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, &error);

      if (s == NULL || !g_socket_connect (s, addr, NULL, &error))
        {
          g_assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES));
          exhausted = TRUE;
          break;
        }
      g_ptr_array_add (clients, g_steal_pointer (&s));
    }
  g_assert_true (exhausted);
  /* Every connection waits in the backlog; the server may take a few, then runs out. */
  g_assert_cmpuint (clients->len, >, 8);
  g_ptr_array_remove_range (clients, 0, 4);
  spin (300);
  g_assert_cmpuint (paused_warnings, ==, 1); /* logged once per episode, however many retries */
  g_assert_cmpfloat (kmg_metrics_get (app->metrics, "kamegor_http_accept_paused_total", NULL), >,
                     0);

  g_ptr_array_set_size (clients, 0);
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  spin (100);

  /* A new connection, not the session's kept-alive one: that one never needed the listener. */
  fresh = soup_session_new_with_options ("timeout", 10, NULL);
  g_clear_object (&ts->session);
  ts->session = g_steal_pointer (&fresh);
  r = kmg_test_request (ts, "GET", "/healthz", NULL, NULL);
  g_assert_cmpuint (r->status, ==, 200);
}

/* A raw TCP client of the test server: what a hostile script holds open. */
static GSocket *
raw_connect (KmgTestServer *ts)
{
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, kmg_server_get_port (ts->server));
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                        G_SOCKET_PROTOCOL_TCP, &error);

  g_assert_no_error (error);
  g_assert_true (g_socket_connect (s, addr, NULL, &error));
  g_assert_no_error (error);
  g_socket_set_blocking (s, FALSE);
  return g_steal_pointer (&s);
}

static void
raw_send (GSocket *s, const char *text)
{
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_socket_send (s, text, strlen (text), NULL, &error), ==, (gssize) strlen (text));
  g_assert_no_error (error);
}

/* Iterates the server until the peer closes @s (EOF or reset) or @timeout_ms passes. Returns the
 * milliseconds it took, or -1; what the server sent before closing is appended to @got. */
static gint64
raw_wait_closed (GSocket *s, guint timeout_ms, GString *got)
{
  gint64 start = g_get_monotonic_time ();

  while (g_get_monotonic_time () - start < (gint64) timeout_ms * 1000)
    {
      g_autoptr (GError) error = NULL;
      char buf[1024];
      gssize n = g_socket_receive (s, buf, sizeof buf, NULL, &error);

      if (n > 0 && got != NULL)
        g_string_append_len (got, buf, n);
      if (n == 0 || (n < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)))
        return (g_get_monotonic_time () - start) / 1000;
      if (n < 0)
        g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
    }
  return -1;
}

static void
short_timeouts (KmgConfig *c)
{
  c->http_header_timeout_s = 1;
  c->http_body_timeout_s = 1;
  c->http_body_min_bytes_per_s = 1000;
}

/* A client that never completes its request head is dropped after http.header_timeout_s, whether
 * it sent part of a head or nothing at all (such connections used to stay open for good). */
static void
test_header_timeout (void)
{
  g_autoptr (KmgTestServer) ts = kmg_test_server_new (short_timeouts);
  KmgApp *app = kmg_server_get_app (ts->server);
  g_autoptr (GSocket) partial = raw_connect (ts);
  g_autoptr (GSocket) silent = raw_connect (ts);
  g_autoptr (KmgTestResponse) r = NULL;
  gint64 took;

  raw_send (partial, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  took = raw_wait_closed (partial, 4000, NULL);
  g_assert_cmpint (took, >=, 800);
  g_assert_cmpint (took, <, 2500);
  g_assert_cmpint (raw_wait_closed (silent, 1000, NULL), >=, 0);
  g_assert_cmpfloat (kmg_metrics_get (app->metrics, "kamegor_http_timeouts_total",
                                      "phase=\"head\""), ==, 2);
  /* A client that takes its time but finishes within the limit is served. */
  r = kmg_test_request (ts, "GET", "/healthz", NULL, NULL);
  g_assert_cmpuint (r->status, ==, 200);
}

/* One request per connection, and the reply says so: a client must not send a second request on
 * a connection the server is about to close. (libsoup kept connections alive without ever
 * noticing the idle ones close: a client could leave descriptors open for good.) */
static void
test_one_request_per_connection (void)
{
  g_autoptr (KmgTestServer) ts = kmg_test_server_new (short_timeouts);
  g_autoptr (GSocket) s = raw_connect (ts);
  g_autoptr (GString) got = g_string_new (NULL);
  g_autoptr (KmgTestResponse) r = NULL;

  raw_send (s, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  g_assert_cmpint (raw_wait_closed (s, 800, got), >=, 0); /* closed right after, not idled out */
  g_assert_true (g_str_has_prefix (got->str, "HTTP/1.1 200 "));
  g_assert_nonnull (strstr (got->str, "\r\nConnection: close\r\n"));
  r = kmg_test_request (ts, "GET", "/healthz", NULL, NULL);
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (r->headers, "Connection"), ==, "close");
}

/* A body must keep coming: after http.body_timeout_s, at no less than http.body_min_bytes_per_s
 * on average. One that stalls is dropped; one that trickles at the pace is read to the end. */
static void
test_body_timeout (void)
{
  g_autoptr (KmgTestServer) ts = kmg_test_server_new (short_timeouts);
  KmgApp *app = kmg_server_get_app (ts->server);
  g_autoptr (GSocket) stalled = raw_connect (ts);
  g_autoptr (GSocket) steady = NULL;
  g_autoptr (GString) reply = g_string_new (NULL);
  g_autofree char *chunk = g_strnfill (500, ' ');
  gint64 took;

  /* 100 of 4000 bytes: 1 s + 0.1 s allowed. */
  raw_send (stalled, "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n");
  raw_send (stalled, chunk + 400);
  took = raw_wait_closed (stalled, 4000, NULL);
  g_assert_cmpint (took, >=, 900);
  g_assert_cmpint (took, <, 2500);
  g_assert_cmpfloat (kmg_metrics_get (app->metrics, "kamegor_http_timeouts_total",
                                      "phase=\"body\""), ==, 1);

  /* 3000 bytes over ~2.5 s, always ahead of 1 s + 1000 B/s: longer than body_timeout_s alone. */
  steady = raw_connect (ts);
  raw_send (steady, "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Content-Type: application/json\r\nContent-Length: 3000\r\n\r\n");
  for (guint i = 0; i < 5; i++)
    {
      raw_send (steady, chunk);
      g_assert_cmpint (raw_wait_closed (steady, 450, NULL), ==, -1);
    }
  raw_send (steady, chunk);
  g_assert_cmpint (raw_wait_closed (steady, 2000, reply), >=, 0);
  /* Spaces are not JSON: the request was read to its end and answered. */
  g_assert_true (g_str_has_prefix (reply->str, "HTTP/1.1 400"));
  g_assert_nonnull (strstr (reply->str, "bad_json"));
  g_assert_cmpfloat (kmg_metrics_get (app->metrics, "kamegor_http_timeouts_total",
                                      "phase=\"body\""), ==, 1);
}

static void
cap_two (KmgConfig *c)
{
  short_timeouts (c);
  c->http_max_connections_per_address = 2;
}

/* A WebSocket is the hub's, with its own ping and auth timeouts: the request timers of the
 * listener stop at the upgrade, and the socket no longer counts against its address's cap. */
static void
test_websocket_not_timed_out (void)
{
  g_autoptr (KmgTestServer) ts = kmg_test_server_new (cap_two);
  KmgApp *app = kmg_server_get_app (ts->server);
  g_autofree char *token = kmg_test_register (ts, "wendy", "correct horse battery", NULL);
  g_autoptr (KmgTestWs) a = kmg_test_ws_connect (ts, token);
  g_autoptr (KmgTestWs) b = kmg_test_ws_connect (ts, token);
  g_autoptr (KmgTestResponse) r = NULL;

  g_assert_nonnull (a->ws);
  g_assert_nonnull (b->ws);
  g_assert_nonnull (kmg_test_ws_wait (a, "auth_ok", NULL, KMG_TEST_WS_WAIT_MS));
  g_assert_nonnull (kmg_test_ws_wait (b, "auth_ok", NULL, KMG_TEST_WS_WAIT_MS));
  kmg_test_pump (2500); /* past header and body timeouts */
  g_assert_false (a->closed);
  kmg_test_ws_send (a, "{\"type\":\"hello\",\"ref\":\"h1\"}");
  g_assert_nonnull (kmg_test_ws_wait (a, "presence", "h1", KMG_TEST_WS_WAIT_MS));
  g_assert_cmpfloat (kmg_metrics_get (app->metrics, "kamegor_http_timeouts_total",
                                      "phase=\"head\""), ==, 0);
  /* Two WebSockets open, cap two: plain requests still get through. */
  r = kmg_test_request (ts, "GET", "/healthz", NULL, NULL);
  g_assert_cmpuint (r->status, ==, 200);
}

/* Over http.max_connections_per_address the connection is answered 429 too_many_connections and
 * closed at once (1,100 idle connections from one address used to be held until the descriptor
 * limit); a slot that frees up can be used again. */
static void
test_connection_cap (void)
{
  g_autoptr (KmgTestServer) ts = kmg_test_server_new (cap_two);
  KmgApp *app = kmg_server_get_app (ts->server);
  g_autoptr (GSocket) first = raw_connect (ts);
  g_autoptr (GSocket) second = raw_connect (ts);
  g_autoptr (GSocket) third = NULL;
  g_autoptr (GString) reply = g_string_new (NULL);
  g_autoptr (KmgTestResponse) r = NULL;

  kmg_test_pump (100);
  third = raw_connect (ts);
  raw_send (third, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  g_assert_cmpint (raw_wait_closed (third, 500, reply), >=, 0);
  g_assert_true (g_str_has_prefix (reply->str, "HTTP/1.1 429 "));
  g_assert_nonnull (strstr (reply->str, "Content-Type: application/json\r\n"));
  g_assert_nonnull (strstr (reply->str, "\r\n\r\n{\"error\":{\"code\":\"too_many_connections\","));
  g_assert_cmpfloat (kmg_metrics_get (app->metrics, "kamegor_http_connections_refused_total",
                                      NULL), ==, 1);

  /* The held ones are not served meanwhile (no request), and closing one frees its slot. */
  g_socket_close (first, NULL);
  kmg_test_pump (100);
  r = kmg_test_request (ts, "GET", "/healthz", NULL, NULL);
  g_assert_cmpuint (r->status, ==, 200);
  /* Connections dropped on a timeout free theirs too. */
  g_assert_cmpint (raw_wait_closed (second, 2500, NULL), >=, 0);
  kmg_test_pump (100);
  {
    g_autoptr (GSocket) x = raw_connect (ts); /* holds the second slot */
    g_autoptr (GSocket) y = raw_connect (ts);
    g_autoptr (GString) ry = g_string_new (NULL);

    g_assert_true (g_socket_is_connected (x));
    raw_send (y, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    g_assert_cmpint (raw_wait_closed (y, 2000, ry), >=, 0);
    g_assert_true (g_str_has_prefix (ry->str, "HTTP/1.1 200 "));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (writer, NULL, NULL);
  g_test_add_func ("/api/hostile/accept-survives-fd-exhaustion", test_accept_survives_fd_exhaustion);
  g_test_add_func ("/api/hostile/one-request-per-connection", test_one_request_per_connection);
  g_test_add_func ("/api/hostile/header-timeout", test_header_timeout);
  g_test_add_func ("/api/hostile/body-timeout", test_body_timeout);
  g_test_add_func ("/api/hostile/websocket-not-timed-out", test_websocket_not_timed_out);
  g_test_add_func ("/api/hostile/connection-cap", test_connection_cap);
  return g_test_run ();
}
