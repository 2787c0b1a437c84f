/* kmg-http.c — request routing and JSON replies on top of SoupServer.
 * Bodies are size-checked from the headers before libsoup reads them; every reply goes through here. */

#include "kmg-http.h"

#include "kmg-json.h"
#include "kmg-metrics.h"

#include <string.h>

typedef struct
{
  guint status;
  const char *code;
} KmgApiError;

typedef struct
{
  char *method;
  char *pattern;
  char **segments; /* pattern split on '/', "{x}" marks a parameter */
  KmgRouteAccess access;
  gsize max_body;
  KmgRouteFunc func;
  gpointer user_data;
} Route;

struct _KmgRouter
{
  GPtrArray *routes;
  KmgAuthFunc auth;
  gpointer auth_data;
  KmgMetrics *metrics;
  gsize default_max_body;
  KmgErrorMapFunc map_error;
};

struct _KmgHttpRequest
{
  gint refs;
  KmgRouter *router;
  SoupServer *server;
  SoupServerMessage *msg;
  const Route *route;
  GHashTable *params; /* name → value, owned */
  GHashTable *query;  /* owned by us */
  KmgAuthInfo auth;
  gboolean replied;
  gboolean held;
};

static const double duration_buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                           0.5, 1, 2.5 };

static void
route_free (gpointer p)
{
  Route *r = p;
  g_free (r->method);
  g_free (r->pattern);
  g_strfreev (r->segments);
  g_free (r);
}

KmgRouter *
kmg_router_new (void)
{
  KmgRouter *r = g_new0 (KmgRouter, 1);
  r->routes = g_ptr_array_new_with_free_func (route_free);
  r->default_max_body = KMG_HTTP_MAX_BODY;
  return r;
}

void
kmg_router_free (KmgRouter *router)
{
  if (router == NULL)
    return;
  g_ptr_array_unref (router->routes);
  g_free (router);
}

void
kmg_router_set_auth (KmgRouter *router, KmgAuthFunc func, gpointer user_data)
{
  router->auth = func;
  router->auth_data = user_data;
}

void
kmg_router_set_error_map (KmgRouter *router, KmgErrorMapFunc func)
{
  router->map_error = func;
}

void
kmg_router_set_default_max_body (KmgRouter *router, gsize max_body)
{
  g_return_if_fail (router->routes->len == 0);
  router->default_max_body = max_body;
}

void
kmg_router_set_metrics (KmgRouter *router, gpointer kmg_metrics)
{
  router->metrics = kmg_metrics;
  kmg_metrics_declare (router->metrics, "kamegor_http_requests_total", KMG_METRIC_COUNTER,
                       "HTTP requests by route pattern, method and status", NULL, 0);
  kmg_metrics_declare (router->metrics, "kamegor_http_request_duration_seconds",
                       KMG_METRIC_HISTOGRAM, "HTTP request handling time by route pattern",
                       duration_buckets, G_N_ELEMENTS (duration_buckets));
}

void
kmg_router_add (KmgRouter *router, const char *method, const char *pattern, KmgRouteAccess access,
                gsize max_body, KmgRouteFunc func, gpointer user_data)
{
  Route *r = g_new0 (Route, 1);

  g_return_if_fail (pattern[0] == '/');
  r->method = g_strdup (method);
  r->pattern = g_strdup (pattern);
  r->segments = g_strsplit (pattern + 1, "/", -1);
  r->access = access;
  r->max_body = max_body ? max_body : router->default_max_body;
  r->func = func;
  r->user_data = user_data;
  g_ptr_array_add (router->routes, r);
}

static gboolean
is_param (const char *segment)
{
  gsize n = strlen (segment);
  return n > 2 && segment[0] == '{' && segment[n - 1] == '}';
}

/* Matches @path against the routes; sets *path_matched when some route has this path. */
static const Route *
match (KmgRouter *router, const char *method, const char *path, GHashTable **params_out,
       gboolean *path_matched, GString *allow)
{
  g_auto (GStrv) parts = g_strsplit (path + 1, "/", -1);
  guint nparts = g_strv_length (parts);

  *path_matched = FALSE;
  for (guint i = 0; i < router->routes->len; i++)
    {
      const Route *r = g_ptr_array_index (router->routes, i);
      g_autoptr (GHashTable) params = NULL;
      gboolean ok = g_strv_length (r->segments) == nparts;

      for (guint s = 0; ok && s < nparts; s++)
        {
          if (is_param (r->segments[s]))
            {
              if (*parts[s] == '\0')
                ok = FALSE;
              else
                {
                  if (params == NULL)
                    params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
                  g_hash_table_insert (params,
                                       g_strndup (r->segments[s] + 1, strlen (r->segments[s]) - 2),
                                       g_uri_unescape_string (parts[s], NULL));
                }
            }
          else if (!g_str_equal (r->segments[s], parts[s]))
            ok = FALSE;
        }
      if (!ok)
        continue;
      *path_matched = TRUE;
      if (g_str_equal (r->method, method)
          || (g_str_equal (method, "HEAD") && g_str_equal (r->method, "GET")))
        {
          *params_out = g_steal_pointer (&params);
          return r;
        }
      if (allow && !strstr (allow->str, r->method))
        g_string_append_printf (allow, "%s%s", allow->len ? ", " : "", r->method);
    }
  return NULL;
}

static void
request_free (KmgHttpRequest *req)
{
  g_clear_pointer (&req->params, g_hash_table_unref);
  g_clear_pointer (&req->query, g_hash_table_unref);
  g_clear_object (&req->msg);
  g_clear_object (&req->server);
  g_free (req);
}

KmgHttpRequest *
kmg_http_request_hold (KmgHttpRequest *req)
{
  if (!req->held)
    {
      req->held = TRUE;
      soup_server_message_pause (req->msg);
    }
  req->refs++;
  return req;
}

void
kmg_http_request_release (KmgHttpRequest *req)
{
  if (req == NULL)
    return;
  if (--req->refs == 0)
    {
      if (!req->replied)
        kmg_http_reply_error (req, 500, "internal_error", "request was not answered");
      request_free (req);
    }
}

SoupServerMessage *
kmg_http_request_message (KmgHttpRequest *req)
{
  return req->msg;
}

const char *
kmg_http_request_method (KmgHttpRequest *req)
{
  return soup_server_message_get_method (req->msg);
}

const char *
kmg_http_request_param (KmgHttpRequest *req, const char *name)
{
  return req->params ? g_hash_table_lookup (req->params, name) : NULL;
}

gboolean
kmg_http_request_param_id (KmgHttpRequest *req, const char *name, gint64 *out)
{
  const char *v = kmg_http_request_param (req, name);
  guint64 id;

  if (v == NULL || !g_ascii_string_to_unsigned (v, 10, 1, G_MAXINT64, &id, NULL))
    {
      kmg_http_reply_error (req, 404, "not_found", "no such %s", name);
      return FALSE;
    }
  *out = (gint64) id;
  return TRUE;
}

const char *
kmg_http_request_query (KmgHttpRequest *req, const char *name)
{
  return req->query ? g_hash_table_lookup (req->query, name) : NULL;
}

GBytes *
kmg_http_request_body (KmgHttpRequest *req)
{
  SoupMessageBody *body = soup_server_message_get_request_body (req->msg);
  return soup_message_body_flatten (body);
}

const char *
kmg_http_request_header (KmgHttpRequest *req, const char *name)
{
  return soup_message_headers_get_one (soup_server_message_get_request_headers (req->msg), name);
}

const char *
kmg_http_request_client_addr (KmgHttpRequest *req)
{
  const char *host = soup_server_message_get_remote_host (req->msg);
  return host ? host : "unknown";
}

const KmgAuthInfo *
kmg_http_request_auth (KmgHttpRequest *req)
{
  return &req->auth;
}

JsonObject *
kmg_http_request_json (KmgHttpRequest *req, const char *const *allowed)
{
  g_autoptr (GBytes) body = kmg_http_request_body (req);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) obj = NULL;
  gsize len;
  const char *data = g_bytes_get_data (body, &len);

  obj = kmg_json_parse_object (data, len, &error);
  if (obj != NULL && allowed != NULL)
    kmg_json_check_fields (obj, allowed, &error);
  if (error != NULL)
    {
      kmg_http_reply_gerror (req, error);
      return NULL;
    }
  return g_steal_pointer (&obj);
}

static void
set_common_headers (SoupServerMessage *msg)
{
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
  soup_message_headers_replace (h, "X-Content-Type-Options", "nosniff");
  soup_message_headers_replace (h, "Referrer-Policy", "no-referrer");
}

static void
finish_reply (KmgHttpRequest *req)
{
  req->replied = TRUE;
  if (req->held)
    soup_server_message_unpause (req->msg);
}

void
kmg_http_reply_bytes (KmgHttpRequest *req, guint status, const char *content_type, GBytes *body,
                      const char *cache_control)
{
  gsize len;
  const char *data;

  g_return_if_fail (!req->replied);
  data = g_bytes_get_data (body, &len);
  set_common_headers (req->msg);
  soup_message_headers_replace (soup_server_message_get_response_headers (req->msg),
                                "Cache-Control", cache_control ? cache_control : "no-store");
  soup_server_message_set_status (req->msg, status, NULL);
  if (g_str_equal (soup_server_message_get_method (req->msg), "HEAD"))
    soup_message_headers_set_content_length (
        soup_server_message_get_response_headers (req->msg), len);
  else
    soup_server_message_set_response (req->msg, content_type, SOUP_MEMORY_COPY, data, len);
  finish_reply (req);
}

void
kmg_http_reply_text (KmgHttpRequest *req, guint status, const char *content_type,
                     const char *text)
{
  g_autoptr (GBytes) b = g_bytes_new_static (text, strlen (text));
  kmg_http_reply_bytes (req, status, content_type, b, NULL);
}

void
kmg_http_reply_node (KmgHttpRequest *req, guint status, JsonNode *node)
{
  char *text = kmg_json_to_string (node);
  gsize len = strlen (text);
  g_autoptr (GBytes) b = g_bytes_new_take (text, len);
  kmg_http_reply_bytes (req, status, "application/json", b, NULL);
}

void
kmg_http_reply_object (KmgHttpRequest *req, guint status, JsonObject *obj)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (node, obj);
  kmg_http_reply_node (req, status, node);
}

void
kmg_http_reply_empty (KmgHttpRequest *req, guint status)
{
  g_return_if_fail (!req->replied);
  set_common_headers (req->msg);
  soup_server_message_set_status (req->msg, status, NULL);
  finish_reply (req);
}

void
kmg_http_reply_error (KmgHttpRequest *req, guint status, const char *code, const char *format, ...)
{
  g_autoptr (JsonObject) outer = json_object_new ();
  JsonObject *inner = json_object_new ();
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  json_object_set_string_member (inner, "code", code);
  json_object_set_string_member (inner, "message", message);
  json_object_set_object_member (outer, "error", inner);
  kmg_http_reply_object (req, status, outer);
}

void
kmg_http_reply_gerror (KmgHttpRequest *req, const GError *error)
{
  KmgApiError e = { 500, "internal_error" };

  if (req->router->map_error == NULL || !req->router->map_error (error, &e.status, &e.code))
    e = (KmgApiError) { 500, "internal_error" };

  if (e.status >= 500)
    {
      g_warning ("%s %s failed: %s", soup_server_message_get_method (req->msg),
                 req->route ? req->route->pattern : "?", error->message);
      kmg_http_reply_error (req, e.status, e.code, "internal error");
      return;
    }
  kmg_http_reply_error (req, e.status, e.code, "%s", error->message);
}

static const char *
bearer_token (SoupServerMessage *msg)
{
  const char *h = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                "Authorization");
  if (h == NULL || g_ascii_strncasecmp (h, "Bearer ", 7) != 0)
    return NULL;
  return h + 7;
}

static void
on_finished (SoupServerMessage *msg, gpointer user_data)
{
  KmgRouter *router = user_data;
  const char *pattern = g_object_get_data (G_OBJECT (msg), "kmg-route");
  gint64 start = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (msg), "kmg-start"));
  g_autofree char *route = kmg_metrics_escape_label (pattern ? pattern : "unmatched");
  g_autofree char *labels = g_strdup_printf ("route=\"%s\",method=\"%s\",status=\"%u\"", route,
                                             soup_server_message_get_method (msg),
                                             soup_server_message_get_status (msg));
  g_autofree char *dlabels = g_strdup_printf ("route=\"%s\"", route);

  kmg_metrics_add (router->metrics, "kamegor_http_requests_total", labels, 1);
  if (start > 0)
    kmg_metrics_observe (router->metrics, "kamegor_http_request_duration_seconds", dlabels,
                         (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC);
}

static void
on_got_headers (SoupServerMessage *msg, gpointer user_data)
{
  KmgRouter *router = user_data;
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  GUri *uri = soup_server_message_get_uri (msg);
  g_autoptr (GHashTable) params = NULL;
  gboolean path_matched;
  const Route *r;
  gsize max = router->default_max_body;

  r = match (router, soup_server_message_get_method (msg), g_uri_get_path (uri), &params,
             &path_matched, NULL);
  if (r != NULL)
    max = r->max_body;
  if (soup_message_headers_get_encoding (h) == SOUP_ENCODING_CHUNKED)
    {
      /* Refusing chunked bodies keeps every size check a header check. */
      soup_server_message_set_status (msg, 411, NULL);
      soup_server_message_set_response (
          msg, "application/json", SOUP_MEMORY_STATIC,
          "{\"error\":{\"code\":\"length_required\",\"message\":\"send Content-Length\"}}", 68);
      return;
    }
  if ((gsize) soup_message_headers_get_content_length (h) > max)
    {
      g_autofree char *body = g_strdup_printf (
          "{\"error\":{\"code\":\"body_too_large\",\"message\":\"body exceeds %" G_GSIZE_FORMAT
          " bytes\"}}",
          max);
      soup_server_message_set_status (msg, 413, NULL);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                    "close");
      soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, body,
                                        strlen (body));
    }
}

static void
on_request_started (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  g_object_set_data (G_OBJECT (msg), "kmg-start", GSIZE_TO_POINTER (g_get_monotonic_time ()));
  g_signal_connect (msg, "got-headers", G_CALLBACK (on_got_headers), user_data);
  g_signal_connect (msg, "finished", G_CALLBACK (on_finished), user_data);
}

static void
handle (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
        gpointer user_data)
{
  KmgRouter *router = user_data;
  g_autoptr (GString) allow = g_string_new (NULL);
  g_autoptr (GHashTable) params = NULL;
  KmgHttpRequest *req;
  gboolean path_matched;
  const Route *r;
  const char *token;

  if (soup_server_message_get_status (msg) != 0)
    return; /* answered while reading headers (413/411) */

  r = match (router, soup_server_message_get_method (msg), path, &params, &path_matched, allow);
  req = g_new0 (KmgHttpRequest, 1);
  req->refs = 1;
  req->router = router;
  req->server = g_object_ref (server);
  req->msg = g_object_ref (msg);
  req->route = r;
  req->params = g_steal_pointer (&params);
  if (query)
    req->query = g_hash_table_ref (query);

  if (r == NULL && path_matched)
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                    allow->str);
      kmg_http_reply_error (req, 405, "method_not_allowed", "use %s", allow->str);
    }
  else if (r == NULL)
    kmg_http_reply_error (req, 404, "not_found", "no route for %s", path);
  else
    {
      g_object_set_data_full (G_OBJECT (msg), "kmg-route", g_strdup (r->pattern), g_free);
      token = bearer_token (msg);
      if (token != NULL && router->auth != NULL)
        {
          if (!router->auth (token, &req->auth, router->auth_data))
            memset (&req->auth, 0, sizeof req->auth);
        }
      if (r->access != KMG_ROUTE_PUBLIC && req->auth.user_id == 0)
        {
          soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                        "WWW-Authenticate", "Bearer");
          kmg_http_reply_error (req, 401, "unauthorized",
                                token ? "token is invalid, expired or revoked"
                                      : "a bearer token is required");
        }
      else if (r->access == KMG_ROUTE_ADMIN && !req->auth.is_admin)
        kmg_http_reply_error (req, 403, "forbidden", "admin role required");
      else
        r->func (req, r->user_data);
    }
  kmg_http_request_release (req);
}

void
kmg_router_attach (KmgRouter *router, SoupServer *server, const char *prefix)
{
  soup_server_add_handler (server, prefix, handle, router, NULL);
  g_signal_connect (server, "request-started", G_CALLBACK (on_request_started), router);
}
