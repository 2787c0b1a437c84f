/* peer-http.h — the HTTP calls of the command-line peer (register, login, profile, ICE servers),
 * blocking: they run before the main loop starts. */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define PEER_HTTP_ERROR (peer_http_error_quark ())
GQuark peer_http_error_quark (void);

typedef enum
{
  PEER_HTTP_ERROR_STATUS, /* the server answered with an error status */
  PEER_HTTP_ERROR_CONFLICT, /* HTTP 409 (e.g. the username is taken) */
  PEER_HTTP_ERROR_BODY,   /* the answer is not the expected JSON */
} PeerHttpError;

/* @body may be NULL. Returns the parsed JSON object of a 2xx answer (NULL for an empty one, with
 * no error); otherwise NULL with an error naming the status and the server's error code. */
JsonObject *peer_http_call (SoupSession *session, const char *method, const char *url,
                            const char *token, JsonObject *body, GError **error);

typedef struct
{
  char *token;
  gint64 user_id;
  char *stun_server;        /* "stun://host:port" from GET /api/v1/rtc, or NULL */
  gint64 stats_interval_ms; /* from /api/v1/rtc, default 2000 */
} PeerAccount;

void peer_account_clear (PeerAccount *account);

/* Logs in (or registers first with @register_first: a seller also gets is_seller, location
 * consent and @price when > 0), then reads /api/v1/rtc. */
gboolean peer_account_open (SoupSession *session, const char *server, const char *username,
                            const char *password, gboolean register_first, gboolean seller,
                            gint64 price, PeerAccount *out, GError **error);

G_END_DECLS
