/* test-api-hostile.c — kamegord under hostile load: what a client that exhausts a resource leaves
 * behind for everyone else. */

#include "kmg-test-server.h"

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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (writer, NULL, NULL);
  g_test_add_func ("/api/hostile/accept-survives-fd-exhaustion", test_accept_survives_fd_exhaustion);
  return g_test_run ();
}
