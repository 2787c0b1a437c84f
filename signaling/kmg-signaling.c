/* kmg-signaling.c — the hub's facade, on top of its layers: upgrade checks (Origin, bearer subprotocol)
 * and hand-over to a worker, connection lifecycle, auth, envelope dispatch and the public API.
 * Below it: presence and map (kmg-signaling-presence.c, -map.c), connections (kmg-sig-conn.c), sockets
 * (kmg-sig-worker.c, which reports here only through the events given at its creation). */

#include "kmg-signaling-map.h"
#include "kmg-signaling-presence.h"

#include "kmg-json.h"
#include "kmg-listeners.h"

#include <string.h>

#define AUTH_DATA_KEY "kmg-signaling-auth"

typedef struct
{
  KmgSignalingHandler fn;
  gpointer user_data;
} KmgSigHandler;

struct _KmgSignaling
{
  SoupServer *server;
  KmgSignalingConfig cfg;
  KmgSignalingCallbacks cb;
  gpointer cb_data;
  KmgListeners closed_listeners; /* KmgSignalingClosedFunc */
  KmgMetrics *metrics;

  KmgSigConns conns;
  KmgSigPresence *pres;
  KmgPresence *presence; /* pres's machine */
  KmgSigMap *map;
  GHashTable *handlers; /* type -> KmgSigHandler* */

  GPtrArray *workers;         /* KmgSigWorker*: one inline worker, or cfg.threads threaded ones */
  GPtrArray *extension_types; /* GTypeClass* of the WebSocket extensions offered at upgrade */
  GHashTable *upgrading;      /* SoupServerMessage* between the 101 and its "wrote-informational" ->
                               * its address key (owned, counted in address_conns) */
  GHashTable *address_conns;  /* address key -> GUINT count of upgrading and open connections */

  guint expiry_timer;         /* at the earliest token expiry of an open connection */
  gint64 expiry_at_ms;        /* unix ms it is set for */
};

static const double fanout_buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5 };

void
kmg_signaling_config_init (KmgSignalingConfig *config)
{
  memset (config, 0, sizeof *config);
  config->max_message_bytes = 16 * 1024;
  config->messages_per_s = 20;
  config->burst = 40;
  config->max_strikes = 20;
  config->ping_ms = 10000;
  config->grace_ms = 20000;
  config->auth_timeout_ms = 5000;
  config->min_location_ms = 5000;
  config->flush_ms = 200;
  config->max_watches = 64;
  config->max_per_user = 8;
  config->max_per_address = 500;
  config->threads = 0;
}

static KmgSigConn *
lookup_conn (KmgSignaling *sig, guint64 conn_id)
{
  return kmg_sig_conns_lookup (&sig->conns, conn_id);
}

static void
count_message (KmgSignaling *sig, const char *family, const char *type)
{
  kmg_sig_conns_count (&sig->conns, family, type);
}

/* ---- connections per client address ---- */

static guint
address_count (KmgSignaling *sig, const char *address)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (sig->address_conns, address));
}

static void
address_take (KmgSignaling *sig, const char *address)
{
  g_hash_table_replace (sig->address_conns, g_strdup (address),
                        GUINT_TO_POINTER (address_count (sig, address) + 1));
}

static void
address_release (KmgSignaling *sig, const char *address)
{
  guint n;

  if (address == NULL)
    return;
  n = address_count (sig, address);
  if (n <= 1)
    g_hash_table_remove (sig->address_conns, address);
  else
    g_hash_table_replace (sig->address_conns, g_strdup (address), GUINT_TO_POINTER (n - 1));
}

/* ---- token expiry: one timer for the earliest one ---- */

static gint64
wall_ms (void)
{
  return g_get_real_time () / 1000;
}

static void expiry_schedule (KmgSignaling *sig, gint64 at_ms);

/* The token is dead: the connection says so and goes, without presence grace (as after bye). */
static void
conn_token_ended (KmgSignaling *sig, KmgSigConn *conn, const char *code, const char *message, const char *reason)
{
  if (conn->gone)
    return;
  kmg_sig_reply_error (conn, NULL, code, message, NULL);
  conn->said_bye = TRUE;
  kmg_presence_goodbye (sig->presence, conn->id, kmg_sig_now_ms ());
  kmg_sig_conn_close (conn, KMG_WS_CLOSE_AUTH_FAILED, reason);
}

/* Ends the connections in @ids (looked up again: ending one runs presence listeners). */
static void
end_tokens (KmgSignaling *sig, GArray *ids, const char *code, const char *message, const char *reason)
{
  for (guint i = 0; i < ids->len; i++)
    {
      KmgSigConn *conn = lookup_conn (sig, g_array_index (ids, guint64, i));
      if (conn != NULL)
        conn_token_ended (sig, conn, code, message, reason);
    }
  if (ids->len > 0)
    kmg_sig_presence_schedule (sig->pres);
}

static gboolean
on_expiry_timer (gpointer user_data)
{
  KmgSignaling *sig = user_data;
  g_autoptr (GArray) expired = g_array_new (FALSE, FALSE, sizeof (guint64));
  gint64 now = wall_ms (), next = G_MAXINT64;
  GHashTableIter iter;
  KmgSigConn *conn;

  sig->expiry_timer = 0;
  /* A scan per expiry: tokens live for days, so this runs rarely. */
  g_hash_table_iter_init (&iter, sig->conns.by_id);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &conn))
    {
      if (!conn->authed || conn->gone || conn->expires_at <= 0)
        continue;
      if (conn->expires_at * 1000 <= now)
        g_array_append_val (expired, conn->id);
      else
        next = MIN (next, conn->expires_at * 1000);
    }
  if (next != G_MAXINT64)
    expiry_schedule (sig, next);
  end_tokens (sig, expired, "token_expired", "the token has expired: log in again", "token expired");
  return G_SOURCE_REMOVE;
}

static void
expiry_schedule (KmgSignaling *sig, gint64 at_ms)
{
  if (sig->expiry_timer != 0 && sig->expiry_at_ms <= at_ms)
    return;
  g_clear_handle_id (&sig->expiry_timer, g_source_remove);
  sig->expiry_at_ms = at_ms;
  /* Beyond G_MAXINT ms (≈ 24 days) the timer fires early and the scan sets it again. */
  sig->expiry_timer = g_timeout_add ((guint) CLAMP (at_ms - wall_ms (), 0, G_MAXINT), on_expiry_timer, sig);
}

typedef struct
{
  guint64 conn_id;
  gint64 user_id;
  guint n_left;
} ClosedEvent;

static void
marshal_closed (GHook *hook, gpointer data)
{
  const ClosedEvent *ev = data;
  ((KmgSignalingClosedFunc) hook->func) (ev->conn_id, ev->user_id, ev->n_left, hook->data);
}

static void
update_connection_gauge (KmgSignaling *sig)
{
  if (sig->metrics != NULL)
    kmg_metrics_set (sig->metrics, "kamegor_ws_connections", NULL, g_hash_table_size (sig->conns.by_id));
}

/* The worker's report that a socket closed, whoever closed it. */
static void
on_worker_closed (guint64 id, gpointer user_data)
{
  KmgSignaling *sig = user_data;
  KmgSigConn *conn = lookup_conn (sig, id);

  if (conn == NULL)
    return;
  conn->gone = TRUE;
  if (conn->authed)
    {
      /* Without a goodbye the connection is held for the grace period (kmg_presence_lost). */
      if (!conn->said_bye)
        kmg_presence_lost (sig->presence, conn->id, kmg_sig_now_ms ());
      kmg_sig_presence_conn_gone (sig->pres, conn);
      kmg_sig_map_conn_gone (sig->map, conn);
      kmg_sig_conns_unbind_user (&sig->conns, conn);
      kmg_sig_presence_schedule (sig->pres);
      {
        ClosedEvent ev = { id, conn->user_id, kmg_sig_conns_n_of_user (&sig->conns, conn->user_id) };
        kmg_listeners_emit (&sig->closed_listeners, marshal_closed, &ev);
      }
    }
  address_release (sig, conn->address);
  kmg_sig_conns_remove (&sig->conns, id);
  update_connection_gauge (sig);
}

static void
conn_authenticated (KmgSignaling *sig, KmgSigConn *conn, const KmgSignalingAuth *auth, JsonNode *ref)
{
  g_autoptr (JsonObject) body = json_object_new ();
  KmgPresenceState state;

  g_clear_handle_id (&conn->auth_timer, g_source_remove);
  /* Checked here, after the token is known, for both ways of authenticating. */
  if (sig->cfg.max_per_user > 0 && kmg_sig_conns_n_of_user (&sig->conns, auth->user_id) >= sig->cfg.max_per_user)
    {
      g_autoptr (JsonObject) extra = json_object_new ();
      json_object_set_int_member (extra, "max_per_user", sig->cfg.max_per_user);
      kmg_sig_reply_error (conn, ref, "too_many_connections", "too many connections for this account", extra);
      kmg_sig_conn_close (conn, KMG_WS_CLOSE_TOO_MANY, "too many connections");
      return;
    }
  conn->authed = TRUE;
  conn->user_id = auth->user_id;
  conn->is_seller = auth->is_seller;
  conn->token_id = auth->token_id;
  conn->expires_at = auth->expires_at;
  if (conn->expires_at > 0)
    expiry_schedule (sig, conn->expires_at * 1000);

  kmg_sig_conns_bind_user (&sig->conns, conn);
  kmg_presence_connect (sig->presence, conn->id, conn->user_id, conn->is_seller, kmg_sig_now_ms ());
  state = kmg_presence_get_state (sig->presence, conn->user_id);

  json_object_set_int_member (body, "user_id", conn->user_id);
  json_object_set_boolean_member (body, "is_seller", conn->is_seller);
  json_object_set_string_member (body, "state", kmg_presence_state_to_string (state));
  json_object_set_int_member (body, "ping_ms", sig->cfg.ping_ms);
  json_object_set_int_member (body, "min_location_ms", sig->cfg.min_location_ms);
  json_object_set_int_member (body, "max_message_bytes", (gint64) sig->cfg.max_message_bytes);
  kmg_sig_reply (conn, ref, "auth_ok", body);
  {
    char user[24];
    g_snprintf (user, sizeof user, "%" G_GINT64_FORMAT, conn->user_id);
    g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_DEBUG, "KMG_USER", user, "MESSAGE",
                      "websocket %" G_GUINT64_FORMAT " authenticated", conn->id);
  }
}

static gboolean
on_auth_timeout (gpointer user_data)
{
  KmgSigConn *conn = user_data;

  conn->auth_timer = 0;
  kmg_sig_reply_error (conn, NULL, "auth_timeout", "no auth message in time", NULL);
  kmg_sig_conn_close (conn, KMG_WS_CLOSE_AUTH_TIMEOUT, "auth timeout");
  return G_SOURCE_REMOVE;
}

/* The first message of a connection not authenticated at upgrade must be {"type":"auth","token":...}. */
static void
handle_auth_message (KmgSignaling *sig, KmgSigConn *conn, const char *type, JsonNode *ref, JsonObject *msg)
{
  static const char *const fields[] = { "token", NULL };
  g_autoptr (GError) error = NULL;
  const char *token = NULL;
  KmgSignalingAuth auth = { 0 };

  if (g_strcmp0 (type, "auth") != 0)
    {
      kmg_sig_reply_error (conn, ref, "unauthorized", "the first message must be auth", NULL);
      kmg_sig_conn_close (conn, KMG_WS_CLOSE_AUTH_FAILED, "not authenticated");
      return;
    }
  if (!kmg_ws_check_fields (msg, fields, &error) ||
      !kmg_json_get_string (msg, "token", TRUE, 512, &token, &error))
    {
      kmg_sig_reply_error (conn, ref, "bad_request", error->message, NULL);
      kmg_sig_conn_close (conn, KMG_WS_CLOSE_AUTH_FAILED, "bad auth message");
      return;
    }
  if (!sig->cb.authenticate (token, &auth, sig->cb_data) || auth.user_id <= 0)
    {
      kmg_sig_reply_error (conn, ref, "auth_failed", "token is invalid, expired or revoked", NULL);
      kmg_sig_conn_close (conn, KMG_WS_CLOSE_AUTH_FAILED, "auth failed");
      return;
    }
  if (auth.banned)
    {
      kmg_sig_reply_error (conn, ref, "banned", "this account is banned", NULL);
      kmg_sig_conn_close (conn, KMG_WS_CLOSE_BANNED, "banned");
      return;
    }
  conn_authenticated (sig, conn, &auth, ref);
}

static void
dispatch (KmgSignaling *sig, KmgSigConn *conn, const char *type, JsonNode *ref, JsonObject *msg)
{
  KmgSigHandler *handler;

  if (kmg_sig_presence_dispatch (sig->pres, conn, type, ref, msg) ||
      kmg_sig_map_dispatch (sig->map, conn, type, ref, msg))
    return;
  if ((handler = g_hash_table_lookup (sig->handlers, type)) != NULL)
    handler->fn (sig, conn->id, conn->user_id, ref, msg, handler->user_data);
  else if (g_strcmp0 (type, "auth") == 0)
    kmg_sig_reply_error (conn, ref, "bad_request", "already authenticated", NULL);
  else
    kmg_sig_reply_error (conn, ref, "unknown_type", "unknown message type", NULL);
}

static void
on_worker_message (guint64 conn_id, JsonObject *msg_owned, const char *type, JsonNode *ref, const GError *error,
                   gpointer user_data)
{
  KmgSignaling *sig = user_data;
  g_autoptr (JsonObject) msg = msg_owned;
  KmgSigConn *conn = lookup_conn (sig, conn_id);

  if (conn == NULL || conn->gone)
    return;
  if (error != NULL)
    {
      count_message (sig, "kamegor_ws_messages_in_total", NULL);
      kmg_sig_reply_error (conn, ref, "bad_request", error->message, NULL);
      if (!conn->authed)
        kmg_sig_conn_close (conn, KMG_WS_CLOSE_AUTH_FAILED, "not authenticated");
      return;
    }
  count_message (sig, "kamegor_ws_messages_in_total", type);
  if (!conn->authed)
    handle_auth_message (sig, conn, type, ref, msg);
  else
    dispatch (sig, conn, type, ref, msg);
}

static void
on_worker_lost (guint64 conn_id, gpointer user_data)
{
  KmgSignaling *sig = user_data;
  KmgSigConn *conn = lookup_conn (sig, conn_id);

  if (conn == NULL || conn->gone)
    return;
  if (conn->authed)
    kmg_presence_lost (sig->presence, conn->id, kmg_sig_now_ms ());
  conn->gone = TRUE; /* the worker is closing it */
  kmg_sig_presence_schedule (sig->pres);
}

/* ---- upgrade ---- */

static gboolean
origin_allowed (KmgSignaling *sig, const char *origin)
{
  char **list = sig->cfg.allowed_origins;

  for (guint i = 0; list != NULL && list[i] != NULL; i++)
    if (strcmp (list[i], "*") == 0 || g_ascii_strcasecmp (list[i], origin) == 0)
      return TRUE;
  return FALSE;
}

#define HTTP_TOO_MANY_REQUESTS 429 /* libsoup has no name for it */

static void
refuse (SoupServerMessage *msg, guint status, const char *code, const char *message)
{
  g_autofree char *body = g_strdup_printf ("{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, message);

  soup_server_message_set_status (msg, status, status == HTTP_TOO_MANY_REQUESTS ? "Too Many Requests" : NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, body, strlen (body));
}

/* The token rides in the subprotocol list ("kamegor.v1, bearer.<token>") because browsers cannot
 * set headers on a WebSocket, and a query string would end up in access logs. */
static char *
bearer_from_protocols (SoupMessageHeaders *headers)
{
  const char *value = soup_message_headers_get_list (headers, "Sec-WebSocket-Protocol");
  g_autoptr (GSList) list = NULL;
  char *token = NULL;

  if (value == NULL)
    return NULL;
  list = soup_header_parse_list (value);
  for (GSList *l = list; l != NULL && token == NULL; l = l->next)
    if (g_str_has_prefix (l->data, KMG_SIGNALING_BEARER_PREFIX))
      token = g_strdup ((const char *) l->data + strlen (KMG_SIGNALING_BEARER_PREFIX));
  g_slist_free_full (g_steal_pointer (&list), g_free);
  return token;
}

/* Origin, connection limits (in all, and per client @address) and (when the subprotocol list carries
 * one) the bearer token. FALSE with a status set on @msg refuses the upgrade. */
static gboolean
check_upgrade (KmgSignaling *sig, SoupServerMessage *msg, const char *address)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *origin = soup_message_headers_get_one (headers, "Origin");
  g_autofree char *token = NULL;
  KmgSignalingAuth auth = { 0 };

  if (origin != NULL && !origin_allowed (sig, origin))
    {
      refuse (msg, SOUP_STATUS_FORBIDDEN, "origin_not_allowed", "origin not allowed");
      return FALSE;
    }
  if (sig->cfg.max_connections > 0 &&
      g_hash_table_size (sig->conns.by_id) + g_hash_table_size (sig->upgrading) >= sig->cfg.max_connections)
    {
      refuse (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "too_many_connections", "try again later");
      return FALSE;
    }
  if (sig->cfg.max_per_address > 0 && address_count (sig, address) >= sig->cfg.max_per_address)
    {
      refuse (msg, HTTP_TOO_MANY_REQUESTS, "too_many_connections",
              "too many connections from this address");
      return FALSE;
    }
  token = bearer_from_protocols (headers);
  if (token == NULL)
    return TRUE; /* browsers authenticate with the first message */
  if (!sig->cb.authenticate (token, &auth, sig->cb_data) || auth.user_id <= 0)
    {
      refuse (msg, SOUP_STATUS_UNAUTHORIZED, "auth_failed", "token is invalid, expired or revoked");
      return FALSE;
    }
  if (auth.banned)
    {
      refuse (msg, SOUP_STATUS_FORBIDDEN, "banned", "this account is banned");
      return FALSE;
    }
  g_object_set_data_full (G_OBJECT (msg), AUTH_DATA_KEY, g_memdup2 (&auth, sizeof auth), g_free);
  return TRUE;
}

/* The least loaded worker takes a new connection. */
static KmgSigWorker *
pick_worker (KmgSignaling *sig)
{
  KmgSigWorker *best = g_ptr_array_index (sig->workers, 0);

  for (guint i = 1; i < sig->workers->len; i++)
    if (kmg_sig_worker_load (g_ptr_array_index (sig->workers, i)) < kmg_sig_worker_load (best))
      best = g_ptr_array_index (sig->workers, i);
  return best;
}

/* An upgrade that never completed gives its address slot back. */
static void
on_upgrading_gone (gpointer data, GObject *where)
{
  KmgSignaling *sig = data;
  const char *address = g_hash_table_lookup (sig->upgrading, where);

  if (address != NULL)
    address_release (sig, address);
  g_hash_table_remove (sig->upgrading, where);
}

/* Returns the address key, whose slot now belongs to the caller. */
static char *
upgrading_forget (KmgSignaling *sig, SoupServerMessage *msg)
{
  char *address = NULL;

  g_signal_handlers_disconnect_by_data (msg, sig);
  g_object_weak_unref (G_OBJECT (msg), on_upgrading_gone, sig);
  g_hash_table_steal_extended (sig->upgrading, msg, NULL, (gpointer *) &address);
  return address;
}

/* The 101 is on the wire: take the socket from the HTTP server and give it to a worker. This is
 * what libsoup's own websocket handler does, except that the connection object is built on the
 * worker's context so that its I/O never runs on the main one. */
static void
on_upgraded (SoupServerMessage *msg, gpointer user_data)
{
  KmgSignaling *sig = user_data;
  const KmgSignalingAuth *auth = g_object_get_data (G_OBJECT (msg), AUTH_DATA_KEY);
  SoupMessageHeaders *req = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *resp = soup_server_message_get_response_headers (msg);
  GList *extensions = g_object_steal_data (G_OBJECT (msg), "kmg-signaling-extensions");
  KmgSigConn *conn;
  char *address;
  GIOStream *stream;

  g_object_ref (msg);
  address = upgrading_forget (sig, msg);
  stream = soup_server_message_steal_connection (msg);

  conn = kmg_sig_conns_add (&sig->conns, pick_worker (sig), address);
  update_connection_gauge (sig);
  kmg_sig_worker_adopt (conn->worker, conn->id, stream, soup_server_message_get_uri (msg),
                        soup_message_headers_get_one (req, "Origin"),
                        soup_message_headers_get_one (resp, "Sec-WebSocket-Protocol"), extensions);

  if (auth != NULL)
    conn_authenticated (sig, conn, auth, NULL);
  else
    conn->auth_timer = g_timeout_add (sig->cfg.auth_timeout_ms, on_auth_timeout, conn);
  g_object_unref (msg);
}

static void
free_extensions (gpointer list)
{
  g_list_free_full (list, g_object_unref);
}

static void
on_http_request (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
                 gpointer user_data)
{
  KmgSignaling *sig = user_data;
  static char *protocols[] = { (char *) KMG_SIGNALING_SUBPROTOCOL, NULL };
  const char *host = soup_server_message_get_remote_host (msg);
  g_autofree char *address = kmg_ws_address_key (host != NULL ? host : "unknown");
  GList *extensions = NULL;

  if (!check_upgrade (sig, msg, address))
    return;
  /* Sets 101 and the handshake headers, or an error status when this is no valid upgrade. */
  if (!soup_websocket_server_process_handshake (msg, NULL, protocols, sig->extension_types, &extensions))
    return;
  g_object_set_data_full (G_OBJECT (msg), "kmg-signaling-extensions", extensions, free_extensions);
  address_take (sig, address);
  g_hash_table_insert (sig->upgrading, msg, g_steal_pointer (&address));
  g_object_weak_ref (G_OBJECT (msg), on_upgrading_gone, sig);
  g_signal_connect (msg, "wrote-informational", G_CALLBACK (on_upgraded), sig);
}

/* ---- public API ---- */

KmgSignaling *
kmg_signaling_new (SoupServer *server, const KmgSignalingConfig *config,
                   const KmgSignalingCallbacks *callbacks, gpointer user_data)
{
  static const KmgSigWorkerEvents worker_events = { on_worker_message, on_worker_lost, on_worker_closed };
  KmgSigWorkerConfig worker_cfg = { 0 };
  KmgSignaling *sig;
  guint n_workers;

  g_return_val_if_fail (SOUP_IS_SERVER (server), NULL);
  g_return_val_if_fail (config != NULL && callbacks != NULL && callbacks->authenticate != NULL, NULL);

  sig = g_new0 (KmgSignaling, 1);
  sig->server = g_object_ref (server);
  sig->cfg = *config;
  sig->cfg.allowed_origins = g_strdupv (config->allowed_origins);
  sig->cfg.max_strikes = MAX (1u, sig->cfg.max_strikes);
  sig->cb = *callbacks;
  sig->cb_data = user_data;
  kmg_listeners_init (&sig->closed_listeners);
  sig->metrics = config->metrics;
  sig->handlers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  kmg_sig_conns_init (&sig->conns, sig->metrics, sig->handlers);
  sig->pres = kmg_sig_presence_new (&sig->conns, &sig->cfg, &sig->cb, sig->cb_data);
  sig->presence = kmg_sig_presence_get_machine (sig->pres);
  sig->map = kmg_sig_map_new (&sig->conns, &sig->cfg, &sig->cb, sig->cb_data);
  sig->upgrading = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  sig->address_conns = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  /* Compression only when asked for: browsers request it on every connection, and its zlib state
   * costs ≈ 100 KiB per connection against ≈ 5 KiB without (bench/ws/ws-load --deflate). */
  sig->extension_types = g_ptr_array_new_with_free_func ((GDestroyNotify) g_type_class_unref);
  if (config->permessage_deflate)
    g_ptr_array_add (sig->extension_types, g_type_class_ref (SOUP_TYPE_WEBSOCKET_EXTENSION_DEFLATE));

  if (sig->metrics != NULL)
    {
      kmg_metrics_declare (sig->metrics, "kamegor_ws_connections", KMG_METRIC_GAUGE,
                           "Open WebSocket connections", NULL, 0);
      kmg_metrics_declare (sig->metrics, "kamegor_ws_messages_in_total", KMG_METRIC_COUNTER,
                           "WebSocket messages received, by type", NULL, 0);
      kmg_metrics_declare (sig->metrics, "kamegor_ws_messages_out_total", KMG_METRIC_COUNTER,
                           "WebSocket messages sent, by type", NULL, 0);
      kmg_metrics_declare (sig->metrics, "kamegor_ws_fanout_seconds", KMG_METRIC_HISTOGRAM,
                           "Time from a map change to the last diff queued", fanout_buckets,
                           G_N_ELEMENTS (fanout_buckets));
      kmg_metrics_declare (sig->metrics, "kamegor_presence_users", KMG_METRIC_GAUGE,
                           "Users by presence state", NULL, 0);
      update_connection_gauge (sig);
    }

  worker_cfg.max_message_bytes = sig->cfg.max_message_bytes;
  worker_cfg.messages_per_s = sig->cfg.messages_per_s;
  worker_cfg.burst = sig->cfg.burst;
  worker_cfg.max_strikes = sig->cfg.max_strikes;
  worker_cfg.ping_ms = sig->cfg.ping_ms;
  worker_cfg.metrics = sig->metrics;
  n_workers = MIN (sig->cfg.threads, KMG_SIGNALING_MAX_THREADS);
  sig->workers = g_ptr_array_new ();
  if (n_workers == 0)
    g_ptr_array_add (sig->workers, kmg_sig_worker_new (&worker_cfg, 0, FALSE, &worker_events, sig));
  for (guint i = 0; i < n_workers; i++)
    g_ptr_array_add (sig->workers, kmg_sig_worker_new (&worker_cfg, i, TRUE, &worker_events, sig));

  soup_server_add_handler (server, KMG_SIGNALING_PATH, on_http_request, sig, NULL);
  return sig;
}

void
kmg_signaling_free (KmgSignaling *sig)
{
  GHashTableIter iter;
  gpointer msg;

  if (sig == NULL)
    return;
  soup_server_remove_handler (sig->server, KMG_SIGNALING_PATH);
  g_hash_table_iter_init (&iter, sig->upgrading);
  while (g_hash_table_iter_next (&iter, &msg, NULL))
    {
      g_signal_handlers_disconnect_by_data (msg, sig);
      g_object_weak_unref (msg, on_upgrading_gone, sig);
    }
  g_clear_handle_id (&sig->expiry_timer, g_source_remove);
  /* Workers close their sockets without reporting back: the hub's state goes in one piece below. */
  for (guint i = 0; i < sig->workers->len; i++)
    kmg_sig_worker_free (g_ptr_array_index (sig->workers, i));
  kmg_sig_map_free (sig->map);
  kmg_sig_presence_free (sig->pres);
  kmg_listeners_clear (&sig->closed_listeners);
  kmg_sig_conns_clear (&sig->conns);
  g_hash_table_unref (sig->handlers);
  g_hash_table_unref (sig->upgrading);
  g_hash_table_unref (sig->address_conns);
  g_ptr_array_unref (sig->workers);
  g_ptr_array_unref (sig->extension_types);
  g_strfreev (sig->cfg.allowed_origins);
  g_object_unref (sig->server);
  g_free (sig);
}

void
kmg_signaling_add_handler (KmgSignaling *sig, const char *type, KmgSignalingHandler fn, gpointer user_data)
{
  KmgSigHandler *handler;

  g_return_if_fail (sig != NULL && type != NULL && fn != NULL);
  g_return_if_fail (!kmg_sig_presence_handles (type) && !kmg_sig_map_handles (type));

  handler = g_new0 (KmgSigHandler, 1);
  handler->fn = fn;
  handler->user_data = user_data;
  g_hash_table_replace (sig->handlers, g_strdup (type), handler);
}

gboolean
kmg_signaling_reply (KmgSignaling *sig, guint64 conn_id, JsonNode *ref, const char *type, JsonObject *body)
{
  KmgSigConn *conn = lookup_conn (sig, conn_id);

  g_return_val_if_fail (type != NULL, FALSE);
  return conn != NULL && kmg_sig_conn_send_text (conn, type, kmg_ws_envelope_build (type, ref, body));
}

gboolean
kmg_signaling_reply_error (KmgSignaling *sig, guint64 conn_id, JsonNode *ref, const char *code,
                           const char *message)
{
  KmgSigConn *conn = lookup_conn (sig, conn_id);

  return conn != NULL && kmg_sig_conn_send_text (conn, "error", kmg_ws_envelope_error (ref, code, message, NULL));
}

void
kmg_signaling_set_error_map (KmgSignaling *sig, KmgSignalingErrorMapFunc func)
{
  g_return_if_fail (sig != NULL);
  sig->conns.error_map = func;
}

gboolean
kmg_signaling_reply_gerror (KmgSignaling *sig, guint64 conn_id, JsonNode *ref, const GError *error)
{
  g_return_val_if_fail (sig != NULL && error != NULL, FALSE);
  return kmg_signaling_reply_error (sig, conn_id, ref, kmg_sig_error_code (&sig->conns, error, "internal"),
                                    error->message);
}

static const char *
msg_type (JsonObject *msg)
{
  JsonNode *node = json_object_get_member (msg, "type");

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_string (node) : NULL;
}

guint
kmg_signaling_send_to_conn (KmgSignaling *sig, guint64 conn_id, JsonObject *msg)
{
  KmgSigConn *conn = lookup_conn (sig, conn_id);

  if (conn == NULL || !conn->authed)
    return 0;
  return kmg_sig_conn_send_text (conn, msg_type (msg), kmg_json_object_to_string (msg)) ? 1 : 0;
}

guint
kmg_signaling_send_to_user (KmgSignaling *sig, gint64 user_id, JsonObject *msg)
{
  GPtrArray *list = kmg_sig_conns_of_user (&sig->conns, user_id);
  g_autofree char *text = NULL;
  guint sent = 0;

  if (list == NULL)
    return 0;
  text = kmg_json_object_to_string (msg);
  for (guint i = 0; i < list->len; i++)
    sent += kmg_sig_conn_send_text (g_ptr_array_index (list, i), msg_type (msg), g_strdup (text));
  return sent;
}

guint
kmg_signaling_broadcast (KmgSignaling *sig, JsonObject *msg)
{
  g_autofree char *text = kmg_json_object_to_string (msg);
  GHashTableIter iter;
  KmgSigConn *conn;
  guint sent = 0;

  g_hash_table_iter_init (&iter, sig->conns.by_id);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &conn))
    if (conn->authed)
      sent += kmg_sig_conn_send_text (conn, msg_type (msg), g_strdup (text));
  return sent;
}

void
kmg_signaling_map_changed (KmgSignaling *sig, const KmgLatLon *points, guint n_points)
{
  g_return_if_fail (sig != NULL);
  kmg_sig_map_changed (sig->map, points, n_points);
}

KmgPresence *
kmg_signaling_get_presence (KmgSignaling *sig)
{
  return sig->presence;
}

KmgPresenceState
kmg_signaling_get_state (KmgSignaling *sig, gint64 user_id)
{
  return kmg_presence_get_state (sig->presence, user_id);
}

gboolean
kmg_signaling_stop_live (KmgSignaling *sig, gint64 user_id)
{
  return kmg_presence_stop_live (sig->presence, user_id, kmg_sig_now_ms ());
}

void
kmg_signaling_set_seller (KmgSignaling *sig, gint64 user_id, gboolean is_seller)
{
  GPtrArray *list = kmg_sig_conns_of_user (&sig->conns, user_id);

  for (guint i = 0; list != NULL && i < list->len; i++)
    ((KmgSigConn *) g_ptr_array_index (list, i))->is_seller = is_seller;
  kmg_presence_set_seller (sig->presence, user_id, is_seller, kmg_sig_now_ms ());
}

void
kmg_signaling_disconnect_user (KmgSignaling *sig, gint64 user_id, gushort code, const char *reason)
{
  GPtrArray *list = kmg_sig_conns_of_user (&sig->conns, user_id);

  /* No grace: the user is removed from presence at once, then the sockets close. */
  kmg_presence_remove_user (sig->presence, user_id, kmg_sig_now_ms ());
  for (guint i = 0; list != NULL && i < list->len; i++)
    {
      KmgSigConn *conn = g_ptr_array_index (list, i);
      conn->said_bye = TRUE;
      kmg_sig_conn_close (conn, code, reason);
    }
  kmg_sig_presence_schedule (sig->pres);
}

void
kmg_signaling_token_revoked (KmgSignaling *sig, gint64 user_id, gint64 token_id)
{
  GPtrArray *list = kmg_sig_conns_of_user (&sig->conns, user_id);
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint64));

  g_return_if_fail (sig != NULL);
  for (guint i = 0; list != NULL && i < list->len; i++)
    {
      KmgSigConn *conn = g_ptr_array_index (list, i);
      if (token_id == 0 || conn->token_id == token_id)
        g_array_append_val (ids, conn->id);
    }
  end_tokens (sig, ids, "token_revoked", "the token was revoked", "token revoked");
}

gulong
kmg_signaling_connect_presence_changed (KmgSignaling *sig, KmgSignalingPresenceFunc func,
                                        gpointer user_data)
{
  return kmg_sig_presence_connect_changed (sig->pres, func, user_data);
}

gulong
kmg_signaling_connect_connection_closed (KmgSignaling *sig, KmgSignalingClosedFunc func,
                                         gpointer user_data)
{
  return kmg_listeners_connect (&sig->closed_listeners, G_CALLBACK (func), user_data);
}

guint
kmg_signaling_get_n_connections (KmgSignaling *sig)
{
  return g_hash_table_size (sig->conns.by_id);
}

gint64
kmg_signaling_conn_user (KmgSignaling *sig, guint64 conn_id)
{
  KmgSigConn *conn = lookup_conn (sig, conn_id);

  return conn != NULL && conn->authed ? conn->user_id : 0;
}
