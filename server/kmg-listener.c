/* kmg-listener.c — the accept loop behind kamegord's HTTP listeners (see kmg-listener.h).
 * libsoup's own listener stops watching its socket after the first failed accept, so a burst of
 * connections that exhausts the descriptor limit would leave the server deaf for good while
 * keep-alive connections (and health checks on them) still work. Main context only. */

#include "kmg-listener.h"

#include "kmg-config.h"

#include <gio/gnetworking.h>

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 1000
/* Connections taken per wake-up: drains a reconnect storm without starving the main loop. */
#define ACCEPT_BATCH 64

struct _KmgListener
{
  SoupServer *server;
  KmgMetrics *metrics;
  GSocket *socket;
  GSource *watch;   /* readable listening socket; NULL while paused */
  guint retry;      /* timeout while paused */
  guint backoff_ms;
  gboolean paused;  /* inside an episode of descriptor exhaustion: logged once */
};

static gboolean on_readable (GSocket *socket, GIOCondition cond, gpointer user_data);

static void
watch_start (KmgListener *l)
{
  l->watch = g_socket_create_source (l->socket, G_IO_IN, NULL);
  g_source_set_callback (l->watch, G_SOURCE_FUNC (on_readable), l, NULL);
  g_source_attach (l->watch, g_main_context_get_thread_default ());
}

static void
watch_stop (KmgListener *l)
{
  if (l->watch != NULL)
    {
      g_source_destroy (l->watch);
      g_clear_pointer (&l->watch, g_source_unref);
    }
}

static gboolean
on_retry (gpointer user_data)
{
  KmgListener *l = user_data;

  l->retry = 0;
  watch_start (l);
  return G_SOURCE_REMOVE;
}

/* Out of descriptors: stop polling (the socket stays readable, so polling would spin) and try
 * again later; connections wait in the kernel's backlog meanwhile. */
static void
pause_accepting (KmgListener *l, const GError *error)
{
  if (!l->paused)
    {
      g_warning ("not accepting connections for now: %s; retrying", error->message);
      l->paused = TRUE;
      l->backoff_ms = BACKOFF_MIN_MS;
    }
  else
    l->backoff_ms = MIN (l->backoff_ms * 2, BACKOFF_MAX_MS);
  if (l->metrics != NULL)
    kmg_metrics_add (l->metrics, "kamegor_http_accept_paused_total", NULL, 1);
  watch_stop (l);
  l->retry = g_timeout_add (l->backoff_ms, on_retry, l);
}

/* EMFILE/ENFILE, and what GIO has no code for (ENOBUFS, ENOMEM): the socket stays readable, so
 * going on would spin; pausing is harmless. */
static gboolean
must_pause (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_FAILED);
}

static void
hand_over (KmgListener *l, GSocket *client)
{
  g_autoptr (GSocketConnection) conn = g_socket_connection_factory_create_connection (client);
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (client, NULL);
  g_autoptr (GSocketAddress) remote = g_socket_get_remote_address (client, NULL);
  g_autoptr (GError) error = NULL;

  g_socket_set_option (client, IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);
  if (!soup_server_accept_iostream (l->server, G_IO_STREAM (conn), local, remote, &error))
    g_info ("connection refused by the HTTP server: %s", error->message);
}

static gboolean
on_readable (GSocket *socket, GIOCondition cond, gpointer user_data)
{
  KmgListener *l = user_data;

  for (guint i = 0; i < ACCEPT_BATCH; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GSocket) client = g_socket_accept (l->socket, NULL, &error);

      if (client != NULL)
        {
          if (l->paused)
            {
              g_message ("accepting connections again");
              l->paused = FALSE;
            }
          hand_over (l, client);
          continue;
        }
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      if (must_pause (error))
        {
          pause_accepting (l, error); /* destroys this source */
          return G_SOURCE_REMOVE;
        }
      /* A client that gave up between SYN and accept (ECONNABORTED) and the like: next one. */
      g_debug ("accept failed: %s", error->message);
    }
  return G_SOURCE_CONTINUE;
}

KmgListener *
kmg_listener_new (SoupServer *server, const char *listen, KmgMetrics *metrics, GError **error)
{
  g_autoptr (KmgListener) l = g_new0 (KmgListener, 1);
  g_autofree char *host = NULL;
  g_autoptr (GInetAddress) inet = NULL;
  g_autoptr (GSocketAddress) addr = NULL;
  guint16 port;

  l->server = server;
  l->metrics = metrics;
  if (metrics != NULL)
    kmg_metrics_declare (metrics, "kamegor_http_accept_paused_total", KMG_METRIC_COUNTER,
                         "Times accepting connections paused for lack of file descriptors", NULL, 0);
  if (!kmg_config_parse_listen (listen, &host, &port, error))
    return NULL;
  inet = g_inet_address_new_from_string (host);
  addr = g_inet_socket_address_new (inet, port);
  l->socket = g_socket_new (g_inet_address_get_family (inet), G_SOCKET_TYPE_STREAM,
                            G_SOCKET_PROTOCOL_TCP, error);
  if (l->socket == NULL)
    return NULL;
  g_socket_set_blocking (l->socket, FALSE);
  /* A reconnect storm after a network blip must not stall on SYN retries (the default is 10). */
  g_socket_set_listen_backlog (l->socket, 4096);
  if (!g_socket_bind (l->socket, addr, TRUE, error) || !g_socket_listen (l->socket, error))
    {
      g_prefix_error (error, "cannot listen on %s: ", listen);
      return NULL;
    }
  watch_start (l);
  return g_steal_pointer (&l);
}

void
kmg_listener_free (KmgListener *l)
{
  if (l == NULL)
    return;
  watch_stop (l);
  g_clear_handle_id (&l->retry, g_source_remove);
  if (l->socket != NULL)
    g_socket_close (l->socket, NULL);
  g_clear_object (&l->socket);
  g_free (l);
}

guint16
kmg_listener_get_port (KmgListener *l)
{
  g_autoptr (GSocketAddress) addr = g_socket_get_local_address (l->socket, NULL);

  return addr != NULL ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (addr)) : 0;
}
