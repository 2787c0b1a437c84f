/* kmg-test-server.h — a real kamegord on 127.0.0.1:0 with a temporary data dir, and a JSON client.
 * Requests run asynchronously while the test iterates the default main context, so the in-process
 * server answers them. */
#pragma once

#include "kmg-server.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct
{
  KmgServer *server;
  SoupSession *session;
  char *data_dir;
  char *base_url;
} KmgTestServer;

/* @setup may adjust the config before start (e.g. short billing minutes); may be NULL. */
KmgTestServer *kmg_test_server_new (void (*setup) (KmgConfig *config));
void kmg_test_server_free (KmgTestServer *ts);

typedef struct
{
  guint status;
  JsonNode *json;     /* NULL if the body was not JSON */
  GBytes *body;
  SoupMessageHeaders *headers;
} KmgTestResponse;

void kmg_test_response_free (KmgTestResponse *r);

/* @body: a JSON text (sent as application/json) or NULL. @token: bearer token or NULL. */
KmgTestResponse *kmg_test_request (KmgTestServer *ts, const char *method, const char *path,
                                   const char *token, const char *body);
KmgTestResponse *kmg_test_request_bytes (KmgTestServer *ts, const char *method, const char *path,
                                         const char *token, const char *content_type,
                                         GBytes *body);
/* Same, with extra request headers: @headers is NULL or name, value, name, value, …, NULL
 * (a NULL value leaves that header out). */
KmgTestResponse *kmg_test_request_full (KmgTestServer *ts, const char *method, const char *path,
                                        const char *token, const char *content_type, GBytes *body,
                                        const char *const *headers, guint n_headers);

/* The error code of an error reply ("" when the body is not an error). */
const char *kmg_test_response_error_code (KmgTestResponse *r);
JsonObject *kmg_test_response_object (KmgTestResponse *r);

/* Registers a user and returns its token (asserts success). */
char *kmg_test_register (KmgTestServer *ts, const char *username, const char *password,
                         gint64 *user_id);

/* Runs the default main context until @done is TRUE or @timeout_ms passes; returns done. */
gboolean kmg_test_wait (gboolean *done, guint timeout_ms);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgTestServer, kmg_test_server_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgTestResponse, kmg_test_response_free)

G_END_DECLS
