/* kmg-listener.c — the accept loop behind kamegord's HTTP listeners, and the limits on each
 * connection until it has handed in its request (see kmg-listener.h).
 * libsoup's own listener stops watching its socket after the first failed accept, so a burst of
 * connections that exhausts the descriptor limit would leave the server deaf for good while
 * keep-alive connections (and health checks on them) still work. libsoup has no read timeouts of
 * its own: each connection gets a record here with one deadline, moved along by the server's
 * signals and enforced by shutting the socket down (libsoup then sees EOF and cleans up itself).
 * Main context only; a WebSocket is released from its record, in the main context, before the
 * hub may take it elsewhere. */

#include "kmg-listener.h"

#include "kmg-config.h"

#include <gio/gnetworking.h>
#include <string.h>

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 1000
/* Connections taken per wake-up: drains a reconnect storm without starving the main loop. */
#define ACCEPT_BATCH 64
/* The record of a connection hangs on the GSocketConnection handed to libsoup and dies with it. */
#define CONN_KEY "kmg-listener-conn"
/* Refusals are logged at most this often: a flood must not become a log flood. */
#define REFUSAL_LOG_INTERVAL_US (60 * G_USEC_PER_SEC)

struct _KmgListener
{
  SoupServer *server;
  KmgMetrics *metrics;
  KmgListenerLimits limits;
  GSocket *socket;
  GSource *watch;   /* readable listening socket; NULL while paused */
  guint retry;      /* timeout while paused */
  guint backoff_ms;
  gboolean paused;  /* inside an episode of descriptor exhaustion: logged once */
  gulong started_id;
  GHashTable *conns;    /* remote GSocketAddress* (as libsoup gives it back) → Conn*, not owned */
  GHashTable *per_addr; /* address key → open HTTP connections (GUINT_TO_POINTER) */
  gint64 last_refusal_log_us;
};

typedef enum
{
  PHASE_HEAD,    /* waiting for a complete request head */
  PHASE_BODY,    /* reading the request body */
  PHASE_HANDLER, /* the request is in; the server answers at its own pace */
} Phase;

typedef struct
{
  KmgListener *l;         /* NULL once released (WebSocket) or once the listener is gone */
  GObject *stream;        /* the GSocketConnection this record hangs on (not a reference) */
  GSocket *socket;
  GSocketAddress *remote; /* key in l->conns */
  char *addr_key;         /* counted under this key in l->per_addr */
  Phase phase;
  gint64 deadline_us;     /* monotonic; 0 = none */
  gint64 body_start_us;
  guint64 body_received;
  guint timer;
  gint64 timer_at_us;
} Conn;

void
kmg_listener_limits_init (KmgListenerLimits *limits)
{
  limits->header_timeout_s = 10;
  limits->body_timeout_s = 10;
  limits->body_min_bytes_per_s = 4096;
  limits->max_connections_per_address = 256;
}

/* --- Per-address counting ------------------------------------------------------------------ */

/* IPv4 (also IPv4-mapped IPv6) counts by address; IPv6 by /64, what one host is usually given. */
static char *
address_key (GSocketAddress *remote)
{
  static const guint8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  GInetAddress *ia;
  const guint8 *b;
  guint8 net[16] = { 0 };
  g_autoptr (GInetAddress) folded = NULL;
  g_autofree char *text = NULL;

  if (!G_IS_INET_SOCKET_ADDRESS (remote))
    return g_strdup ("other");
  ia = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote));
  if (g_inet_address_get_family (ia) != G_SOCKET_FAMILY_IPV6)
    return g_inet_address_to_string (ia);
  b = g_inet_address_to_bytes (ia);
  if (memcmp (b, mapped, sizeof mapped) == 0)
    {
      folded = g_inet_address_new_from_bytes (b + 12, G_SOCKET_FAMILY_IPV4);
      return g_inet_address_to_string (folded);
    }
  memcpy (net, b, 8);
  folded = g_inet_address_new_from_bytes (net, G_SOCKET_FAMILY_IPV6);
  text = g_inet_address_to_string (folded);
  return g_strconcat (text, "/64", NULL);
}

static guint
address_count (KmgListener *l, const char *key)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (l->per_addr, key));
}

static void
address_add (KmgListener *l, const char *key, int delta)
{
  guint n = address_count (l, key) + delta;

  if (n == 0)
    g_hash_table_remove (l->per_addr, key);
  else
    g_hash_table_insert (l->per_addr, g_strdup (key), GUINT_TO_POINTER (n));
}

/* --- Deadlines ----------------------------------------------------------------------------- */

static void conn_schedule (Conn *c);

static const char *
phase_name (Phase phase)
{
  return phase == PHASE_BODY ? "body" : "head";
}

/* Shutting down (not closing) leaves the descriptor valid for libsoup, whose next read sees EOF
 * and disconnects; the record goes when libsoup drops the stream. */
static void
conn_expire (Conn *c)
{
  g_autofree char *labels = g_strdup_printf ("phase=\"%s\"", phase_name (c->phase));

  g_debug ("closing a connection from %s: request %s not in time", c->addr_key,
           phase_name (c->phase));
  if (c->l->metrics != NULL)
    kmg_metrics_add (c->l->metrics, "kamegor_http_timeouts_total", labels, 1);
  c->deadline_us = 0;
  g_socket_shutdown (c->socket, TRUE, TRUE, NULL);
}

static gboolean
on_deadline (gpointer user_data)
{
  Conn *c = user_data;

  c->timer = 0;
  if (c->deadline_us == 0)
    return G_SOURCE_REMOVE;
  if (g_get_monotonic_time () < c->deadline_us)
    conn_schedule (c); /* the deadline moved on since the timer was set */
  else
    conn_expire (c);
  return G_SOURCE_REMOVE;
}

/* Keeps one timer due no later than the deadline; a deadline that only moves later (a body
 * arriving chunk by chunk) costs no timer churn. */
static void
conn_schedule (Conn *c)
{
  gint64 now = g_get_monotonic_time ();
  gint64 delay_ms;

  if (c->deadline_us == 0)
    {
      g_clear_handle_id (&c->timer, g_source_remove);
      return;
    }
  if (c->timer != 0 && c->timer_at_us <= c->deadline_us)
    return;
  g_clear_handle_id (&c->timer, g_source_remove);
  delay_ms = MAX (0, (c->deadline_us - now + 999) / 1000);
  c->timer = g_timeout_add ((guint) delay_ms, on_deadline, c);
  c->timer_at_us = now + delay_ms * 1000;
}

static void
conn_set_phase (Conn *c, Phase phase, gint64 deadline_us)
{
  c->phase = phase;
  c->deadline_us = deadline_us;
  conn_schedule (c);
}

static gint64
body_deadline (const Conn *c)
{
  const KmgListenerLimits *lim = &c->l->limits;
  gint64 d = c->body_start_us + (gint64) lim->body_timeout_s * G_USEC_PER_SEC;

  if (lim->body_min_bytes_per_s > 0)
    d += (gint64) MIN (c->body_received * G_USEC_PER_SEC / lim->body_min_bytes_per_s,
                       (guint64) G_MAXINT32 * G_USEC_PER_SEC);
  return d;
}

/* --- Connection records -------------------------------------------------------------------- */

/* Out of the listener's books: no more deadlines, no longer counted for its address. */
static void
conn_detach (Conn *c)
{
  g_clear_handle_id (&c->timer, g_source_remove);
  if (c->l == NULL)
    return;
  g_hash_table_remove (c->l->conns, c->remote);
  address_add (c->l, c->addr_key, -1);
  c->l = NULL;
}

static void
conn_free (gpointer data)
{
  Conn *c = data;

  conn_detach (c);
  g_clear_object (&c->socket);
  g_clear_object (&c->remote);
  g_free (c->addr_key);
  g_free (c);
}

static Conn *
conn_of (GObject *stream)
{
  Conn *c = g_object_get_data (stream, CONN_KEY);

  return c != NULL && c->l != NULL ? c : NULL;
}

static void
on_got_headers (SoupServerMessage *msg, GObject *stream)
{
  Conn *c = conn_of (stream);
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  SoupEncoding enc = soup_message_headers_get_encoding (h);

  if (c == NULL)
    return;
  /* One request per connection: libsoup (3.2) keeps a connection alive only for servers that
   * listen themselves, and between requests it would not notice a kept-alive connection going
   * away (its descriptor stayed open for good). Say so, so that no client reuses the connection;
   * an upgrade keeps its own Connection header. */
  if (soup_message_headers_get_one (h, "Upgrade") == NULL)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                  "close");
  if (enc == SOUP_ENCODING_CHUNKED
      || (enc == SOUP_ENCODING_CONTENT_LENGTH && soup_message_headers_get_content_length (h) > 0))
    {
      c->body_start_us = g_get_monotonic_time ();
      c->body_received = 0;
      conn_set_phase (c, PHASE_BODY, body_deadline (c));
    }
  else
    conn_set_phase (c, PHASE_HANDLER, 0);
}

static void
on_got_chunk (SoupServerMessage *msg, GBytes *chunk, GObject *stream)
{
  Conn *c = conn_of (stream);

  if (c == NULL || c->phase != PHASE_BODY)
    return;
  c->body_received += g_bytes_get_size (chunk);
  conn_set_phase (c, PHASE_BODY, body_deadline (c));
}

static void
on_got_body (SoupServerMessage *msg, GObject *stream)
{
  Conn *c = conn_of (stream);

  if (c != NULL)
    conn_set_phase (c, PHASE_HANDLER, 0);
}

/* Runs before libsoup hands the stream to the WebSocket (its handler is connected later). */
static void
on_wrote_informational (SoupServerMessage *msg, GObject *stream)
{
  Conn *c = conn_of (stream);

  if (c != NULL && soup_server_message_get_status (msg) == SOUP_STATUS_SWITCHING_PROTOCOLS)
    conn_detach (c);
}

/* Emitted when a connection is ready for a request: at accept (from inside
 * soup_server_accept_iostream) and again for each request of a kept-alive connection. */
static void
on_request_started (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  KmgListener *l = user_data;
  Conn *c = g_hash_table_lookup (l->conns, soup_server_message_get_remote_address (msg));

  if (c == NULL)
    return;
  g_signal_connect_object (msg, "got-headers", G_CALLBACK (on_got_headers), c->stream, 0);
  g_signal_connect_object (msg, "got-chunk", G_CALLBACK (on_got_chunk), c->stream, 0);
  g_signal_connect_object (msg, "got-body", G_CALLBACK (on_got_body), c->stream, 0);
  g_signal_connect_object (msg, "wrote-informational", G_CALLBACK (on_wrote_informational),
                           c->stream, 0);
  conn_set_phase (c, PHASE_HEAD,
                  g_get_monotonic_time () + (gint64) l->limits.header_timeout_s * G_USEC_PER_SEC);
}

/* --- Accepting ----------------------------------------------------------------------------- */

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

/* Over the cap: answered without libsoup and closed, so the connection costs no descriptor
 * beyond this call. What the client already sent is read first, so that closing does not reset
 * the connection under the reply; a request still in flight may yet get a reset instead. */
static void
refuse (KmgListener *l, GSocket *client, const char *key)
{
  static const char body[] = "{\"error\":{\"code\":\"too_many_connections\","
                             "\"message\":\"too many connections from this address\"}}";
  char scratch[4096];
  g_autofree char *reply = g_strdup_printf ("HTTP/1.1 429 Too Many Requests\r\n"
                                            "Content-Type: application/json\r\n"
                                            "Content-Length: %zu\r\n"
                                            "Connection: close\r\n\r\n%s",
                                            sizeof body - 1, body);
  gint64 now = g_get_monotonic_time ();

  if (l->metrics != NULL)
    kmg_metrics_add (l->metrics, "kamegor_http_connections_refused_total", NULL, 1);
  if (now - l->last_refusal_log_us >= REFUSAL_LOG_INTERVAL_US)
    {
      l->last_refusal_log_us = now;
      g_message ("refusing connections from %s: %u open (http.max_connections_per_address)", key,
                 address_count (l, key));
    }
  for (guint i = 0; i < 4; i++)
    if (g_socket_receive_with_blocking (client, scratch, sizeof scratch, FALSE, NULL, NULL) <= 0)
      break;
  g_socket_send_with_blocking (client, reply, strlen (reply), FALSE, NULL, NULL);
  g_socket_shutdown (client, FALSE, TRUE, NULL);
  g_socket_close (client, NULL);
}

static void
hand_over (KmgListener *l, GSocket *client)
{
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (client, NULL);
  g_autoptr (GSocketAddress) remote = g_socket_get_remote_address (client, NULL);
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *key = NULL;
  Conn *c;

  if (local == NULL || remote == NULL)
    return; /* the peer is already gone */
  key = address_key (remote);
  if (l->limits.max_connections_per_address > 0
      && address_count (l, key) >= l->limits.max_connections_per_address)
    {
      refuse (l, client, key);
      return;
    }
  g_socket_set_option (client, IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);
  conn = g_socket_connection_factory_create_connection (client);
  c = g_new0 (Conn, 1);
  c->l = l;
  c->stream = G_OBJECT (conn);
  c->socket = g_object_ref (client);
  c->remote = g_object_ref (remote);
  c->addr_key = g_steal_pointer (&key);
  g_object_set_data_full (G_OBJECT (conn), CONN_KEY, c, conn_free);
  g_hash_table_insert (l->conns, c->remote, c);
  address_add (l, c->addr_key, 1);
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
kmg_listener_new (SoupServer *server, const char *listen, const KmgListenerLimits *limits,
                  KmgMetrics *metrics, GError **error)
{
  g_autoptr (KmgListener) l = g_new0 (KmgListener, 1);
  g_autofree char *host = NULL;
  g_autoptr (GInetAddress) inet = NULL;
  g_autoptr (GSocketAddress) addr = NULL;
  guint16 port;

  g_return_val_if_fail (limits != NULL && limits->header_timeout_s > 0, NULL);
  l->server = server;
  l->metrics = metrics;
  l->limits = *limits;
  l->conns = g_hash_table_new (g_direct_hash, g_direct_equal);
  l->per_addr = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (metrics != NULL)
    {
      kmg_metrics_declare (metrics, "kamegor_http_accept_paused_total", KMG_METRIC_COUNTER,
                           "Times accepting connections paused for lack of file descriptors", NULL,
                           0);
      kmg_metrics_declare (metrics, "kamegor_http_timeouts_total", KMG_METRIC_COUNTER,
                           "Connections closed for a request head or body not sent in time", NULL,
                           0);
      kmg_metrics_declare (metrics, "kamegor_http_connections_refused_total", KMG_METRIC_COUNTER,
                           "Connections refused over http.max_connections_per_address", NULL, 0);
    }
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
  l->started_id = g_signal_connect (server, "request-started", G_CALLBACK (on_request_started), l);
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
  g_clear_signal_handler (&l->started_id, l->server);
  /* Connections still open outlive their listener: their records forget it. */
  if (l->conns != NULL)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, l->conns);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          Conn *c = value;

          g_clear_handle_id (&c->timer, g_source_remove);
          c->l = NULL;
        }
      g_hash_table_unref (l->conns);
    }
  g_clear_pointer (&l->per_addr, g_hash_table_unref);
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
