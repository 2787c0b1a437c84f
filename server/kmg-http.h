/* kmg-http.h — request routing and JSON replies on top of SoupServer.
 * Every route gets path parameters, a decoded-and-checked body, the authenticated user, and one way to fail. */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct _KmgRouter KmgRouter;
typedef struct _KmgHttpRequest KmgHttpRequest;

typedef enum
{
  KMG_ROUTE_PUBLIC, /* no token needed (a valid one is still resolved) */
  KMG_ROUTE_AUTH,   /* a valid bearer token */
  KMG_ROUTE_ADMIN,  /* a valid bearer token of an admin */
} KmgRouteAccess;

typedef struct
{
  gint64 user_id;
  gint64 token_id;
  gboolean is_admin;
} KmgAuthInfo;

/* Resolves a bearer token; returns FALSE when unknown, expired, revoked or the user is banned. */
typedef gboolean (*KmgAuthFunc) (const char *token, KmgAuthInfo *out, gpointer user_data);

typedef void (*KmgRouteFunc) (KmgHttpRequest *req, gpointer user_data);

/* Turns a module's GError into an HTTP status and API code; FALSE when it does not know the error
 * (the reply is then 500 internal_error). The server installs the one table (kmg-api-error.c). */
typedef gboolean (*KmgErrorMapFunc) (const GError *error, guint *status, const char **code);

#define KMG_HTTP_MAX_BODY (64 * 1024)

KmgRouter *kmg_router_new (void);
void kmg_router_free (KmgRouter *router);
void kmg_router_set_auth (KmgRouter *router, KmgAuthFunc func, gpointer user_data);
/* Without a mapper every GError replies 500 internal_error. */
void kmg_router_set_error_map (KmgRouter *router, KmgErrorMapFunc func);
/* Body limit of routes added with max_body 0 (server.max_body_bytes); call before adding routes. */
void kmg_router_set_default_max_body (KmgRouter *router, gsize max_body);
/* Metrics are optional: requests counted by route pattern and status when set. */
void kmg_router_set_metrics (KmgRouter *router, gpointer kmg_metrics);
/* @pattern: "/api/v1/sellers/{id}" — "{name}" matches one path segment.
 * @max_body: bytes accepted (0 = KMG_HTTP_MAX_BODY); larger bodies get 413 before the handler. */
void kmg_router_add (KmgRouter *router, const char *method, const char *pattern,
                     KmgRouteAccess access, gsize max_body, KmgRouteFunc func, gpointer user_data);
/* Installs the router as @server's handler for every path under @prefix (usually "/"). */
void kmg_router_attach (KmgRouter *router, SoupServer *server, const char *prefix);

/* Request accessors (valid during the handler, or until released when held). */
SoupServerMessage *kmg_http_request_message (KmgHttpRequest *req);
const char *kmg_http_request_method (KmgHttpRequest *req);
const char *kmg_http_request_param (KmgHttpRequest *req, const char *name);
/* Parses a positive integer path parameter; replies 404 not_found and returns FALSE if it is not one. */
gboolean kmg_http_request_param_id (KmgHttpRequest *req, const char *name, gint64 *out);
const char *kmg_http_request_query (KmgHttpRequest *req, const char *name);
GBytes *kmg_http_request_body (KmgHttpRequest *req);
const char *kmg_http_request_header (KmgHttpRequest *req, const char *name);
const char *kmg_http_request_client_addr (KmgHttpRequest *req);
/* The caller when a valid token came with the request; user_id is 0 otherwise. */
const KmgAuthInfo *kmg_http_request_auth (KmgHttpRequest *req);

/* Decodes the body as a JSON object whose members are all in @allowed (NULL-terminated).
 * On failure replies 400 (bad_json / unknown_field) and returns NULL. Returns a new reference. */
JsonObject *kmg_http_request_json (KmgHttpRequest *req, const char *const *allowed);

/* Replies. Exactly one reply per request. */
void kmg_http_reply_object (KmgHttpRequest *req, guint status, JsonObject *obj);
void kmg_http_reply_node (KmgHttpRequest *req, guint status, JsonNode *node);
void kmg_http_reply_empty (KmgHttpRequest *req, guint status);
void kmg_http_reply_error (KmgHttpRequest *req, guint status, const char *code,
                           const char *format, ...) G_GNUC_PRINTF (4, 5);
/* Maps @error through the router's error mapper (see kmg_router_set_error_map). */
void kmg_http_reply_gerror (KmgHttpRequest *req, const GError *error);
void kmg_http_reply_bytes (KmgHttpRequest *req, guint status, const char *content_type,
                           GBytes *body, const char *cache_control);
void kmg_http_reply_text (KmgHttpRequest *req, guint status, const char *content_type,
                          const char *text);

/* For handlers that answer later (e.g. after password hashing on a worker thread): hold pauses
 * the message and keeps the request alive; reply as usual later on the main context, then release. */
KmgHttpRequest *kmg_http_request_hold (KmgHttpRequest *req);
void kmg_http_request_release (KmgHttpRequest *req);

G_END_DECLS
