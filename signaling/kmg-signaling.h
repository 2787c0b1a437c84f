/* kmg-signaling.h — the WebSocket hub at /api/v1/ws: auth, envelope, limits, liveness, presence,
 * profile status, map subscriptions, and a handler registry for message types owned elsewhere. */
#pragma once

#include <libsoup/soup.h>

#include "kmg-metrics.h"
#include "kmg-presence.h"
#include "kmg-ws-proto.h"

G_BEGIN_DECLS

#define KMG_SIGNALING_PATH "/api/v1/ws"
#define KMG_SIGNALING_SUBPROTOCOL "kamegor.v1"
#define KMG_SIGNALING_BEARER_PREFIX "bearer."
#define KMG_SIGNALING_MAX_THREADS 64

/* Close codes sent by the hub (besides 1000 after bye and 1009 for oversize messages). */
#define KMG_WS_CLOSE_POLICY 1008        /* rate limit exceeded repeatedly */
#define KMG_WS_CLOSE_AUTH_FAILED 4001   /* bad token, first message not auth, or the token expired
                                         * or was revoked while the connection was open */
#define KMG_WS_CLOSE_BANNED 4003        /* banned user */
#define KMG_WS_CLOSE_AUTH_TIMEOUT 4008  /* no auth message in time */
#define KMG_WS_CLOSE_REPLACED 4009      /* closed by the server (ban, shutdown) */
#define KMG_WS_CLOSE_TOO_MANY 4029      /* the user already has max_per_user connections */

#define KMG_SIGNALING_ERROR (kmg_signaling_error_quark ())
GQuark kmg_signaling_error_quark (void);

/* Errors handlers may return through kmg_signaling_reply_gerror(); the server's error table gives
 * each one API code (the one noted here). */
typedef enum
{
  KMG_SIGNALING_ERROR_BAD_REQUEST, /* "bad_request" */
  KMG_SIGNALING_ERROR_FORBIDDEN,   /* "forbidden" */
  KMG_SIGNALING_ERROR_NOT_FOUND,   /* "not_found" */
  KMG_SIGNALING_ERROR_CONFLICT,    /* "conflict" */
  KMG_SIGNALING_ERROR_INTERNAL,    /* "internal" */
} KmgSignalingError;

typedef struct _KmgSignaling KmgSignaling;

typedef struct
{
  char **allowed_origins;     /* NULL-terminated; "*" allows any. Requests without Origin pass. */
  gsize max_message_bytes;    /* default 16 KiB; larger frames close with 1009 */
  double messages_per_s;      /* token refill per connection, default 20 */
  double burst;               /* bucket size, default 40 */
  guint max_strikes;          /* rate-limited messages (net of accepted ones) before close, default 20 */
  guint ping_ms;              /* presence.ping_s; 0 disables pings and the liveness check */
  guint grace_ms;             /* presence.grace_s */
  guint auth_timeout_ms;      /* default 5000 */
  guint min_location_ms;      /* map.min_update_s */
  guint flush_ms;             /* map.flush_ms */
  guint max_connections;      /* 0 = unlimited; above it upgrades get 503 */
  guint max_per_user;         /* authenticated connections per user, default 8; 0 = unlimited.
                               * One more is refused at auth (too_many_connections, 4029) */
  guint max_per_address;      /* connections (upgrading, unauthenticated or not) per client address,
                               * an IPv6 /64 counting as one, default 500; 0 = unlimited. Above it
                               * upgrades get 429 */
  guint max_watches;          /* profiles watched per connection, default 64 */
  guint threads;              /* ws.threads: 0 = sockets on the main context; N = N socket threads
                               * (at most KMG_SIGNALING_MAX_THREADS); state stays on the main context */
  gboolean permessage_deflate; /* ws.permessage_deflate: accept the compression browsers ask for
                                * (≈ 100 KiB of zlib state per connection); default FALSE */
  KmgMetrics *metrics;        /* optional, borrowed */
} KmgSignalingConfig;

/* Fills @config with the defaults of DESIGN.md (allowed_origins NULL). */
void kmg_signaling_config_init (KmgSignalingConfig *config);

typedef struct
{
  gint64 user_id;
  gboolean is_seller;
  gboolean banned;
  gint64 token_id;   /* what kmg_signaling_token_revoked() matches; 0 when the token has no id */
  gint64 expires_at; /* unix time (s) at which the connection is closed; 0 = never */
} KmgSignalingAuth;

/* What the server provides. Every function runs on the main context; all but authenticate may be NULL. */
typedef struct
{
  /* Resolves a bearer token; FALSE when unknown, expired or revoked. A banned user's token may
   * resolve with @out->banned set (the client is then told "banned", not "invalid"). */
  gboolean (*authenticate) (const char *token, KmgSignalingAuth *out, gpointer user_data);
  /* An accepted precise location (memory only: never log or store it). @accuracy is -1 when absent.
   * Called before the presence transition it may cause, so the map knows the position first;
   * @state is the user's presence until then (the transition follows as presence_changed). */
  void (*location) (gint64 user_id, gboolean is_seller, KmgPresenceState state, double lat,
                    double lon, double accuracy, gpointer user_data);
  /* Items shown in a viewport: an array of objects each with a string "id", or of such objects
   * already serialised as strings (see kmg_ws_map_result_to_array, kmg_map_items_from_array).
   * A GError is sent to the client with the error map's code (bad_request when it has none) and
   * its message. */
  JsonArray *(*map_query) (const KmgBbox *bbox, int zoom, gpointer user_data, GError **error);
  /* May @viewer watch @seller's profile status? FALSE with a KMG_SIGNALING_ERROR to refuse. */
  gboolean (*can_watch) (gint64 viewer_id, gint64 seller_id, gpointer user_data, GError **error);
} KmgSignalingCallbacks;

/* Events of the hub, for any number of listeners (kmg_signaling_connect_*). */

/* Every presence transition (after the hub has pushed it to clients). A transition out of
 * STREAMING with a reason other than STOP_LIVE means watch sessions end with seller_gone. */
typedef void (*KmgSignalingPresenceFunc) (gint64 user_id, KmgPresenceState old_state,
                                          KmgPresenceState new_state, KmgPresenceReason reason,
                                          gpointer user_data);
/* An authenticated connection is gone (after presence has been told); @n_left is how many
 * connections the user still has on this hub. */
typedef void (*KmgSignalingClosedFunc) (guint64 conn_id, gint64 user_id, guint n_left,
                                        gpointer user_data);

/* Handler of a message type owned by another module. @ref is NULL when the client sent none;
 * @msg includes `type` and `ref` (use kmg_ws_check_fields for strict field checks). */
typedef void (*KmgSignalingHandler) (KmgSignaling *sig, guint64 conn_id, gint64 user_id, JsonNode *ref,
                                     JsonObject *msg, gpointer user_data);

/* Registers the handler on @server at KMG_SIGNALING_PATH. @config is copied; @callbacks is copied.
 * Upgrades are checked and answered on @server's (main) context; the upgraded socket then belongs to
 * a worker: the main context itself (threads = 0) or one of config->threads socket threads. Every
 * callback and handler still runs on the main context. */
KmgSignaling *kmg_signaling_new (SoupServer *server, const KmgSignalingConfig *config,
                                 const KmgSignalingCallbacks *callbacks, gpointer user_data);
/* Closes every connection (no grace), removes the handlers. Accepts NULL. */
void kmg_signaling_free (KmgSignaling *sig);

/* Listeners run in the order they connected and stay until the hub is freed. */
gulong kmg_signaling_connect_presence_changed (KmgSignaling *sig, KmgSignalingPresenceFunc func,
                                               gpointer user_data);
gulong kmg_signaling_connect_connection_closed (KmgSignaling *sig, KmgSignalingClosedFunc func,
                                                gpointer user_data);

/* Adds a handler for @type (not one of the hub's own types); replaces a previous one. */
void kmg_signaling_add_handler (KmgSignaling *sig, const char *type, KmgSignalingHandler fn,
                                gpointer user_data);

/* Replies on one connection: {"type":@type,"ref":@ref,...@body}. @body may be NULL. */
gboolean kmg_signaling_reply (KmgSignaling *sig, guint64 conn_id, JsonNode *ref, const char *type,
                              JsonObject *body);
gboolean kmg_signaling_reply_error (KmgSignaling *sig, guint64 conn_id, JsonNode *ref, const char *code,
                                    const char *message);

/* The WebSocket error code of @error (docs/protocol.md), or NULL when it has none. */
typedef const char *(*KmgSignalingErrorMapFunc) (const GError *error);
/* The server's error table, shared with its HTTP routes: the hub keeps no mapping of its own. */
void kmg_signaling_set_error_map (KmgSignaling *sig, KmgSignalingErrorMapFunc func);
/* Replies with the error map's code for @error; "internal" when it has none (or no map is set). */
gboolean kmg_signaling_reply_gerror (KmgSignaling *sig, guint64 conn_id, JsonNode *ref, const GError *error);

/* Sends @msg (which carries its own "type") as is. Return the number of connections it was queued on. */
guint kmg_signaling_send_to_conn (KmgSignaling *sig, guint64 conn_id, JsonObject *msg);
guint kmg_signaling_send_to_user (KmgSignaling *sig, gint64 user_id, JsonObject *msg);
guint kmg_signaling_broadcast (KmgSignaling *sig, JsonObject *msg);

/* The map changed at these displayed positions (old and new ones). Subscribers whose bbox contains
 * one of them get a diff at the next flush. @points NULL means "anything may have changed". */
void kmg_signaling_map_changed (KmgSignaling *sig, const KmgLatLon *points, guint n_points);

/* Presence, as seen by the hub. The KmgPresence is owned by the hub: read it, do not mutate it. */
KmgPresence *kmg_signaling_get_presence (KmgSignaling *sig);
KmgPresenceState kmg_signaling_get_state (KmgSignaling *sig, gint64 user_id);
/* Admin actions: end a user's stream; change the seller flag; disconnect a user (ban). */
gboolean kmg_signaling_stop_live (KmgSignaling *sig, gint64 user_id);
void kmg_signaling_set_seller (KmgSignaling *sig, gint64 user_id, gboolean is_seller);
void kmg_signaling_disconnect_user (KmgSignaling *sig, gint64 user_id, gushort code, const char *reason);
/* Token @token_id of @user_id (0: every token of the user) was revoked: its connections get an
 * error token_revoked and close with KMG_WS_CLOSE_AUTH_FAILED, without presence grace. */
void kmg_signaling_token_revoked (KmgSignaling *sig, gint64 user_id, gint64 token_id);

guint kmg_signaling_get_n_connections (KmgSignaling *sig);
/* User of a connection, 0 when unknown or not yet authenticated. */
gint64 kmg_signaling_conn_user (KmgSignaling *sig, guint64 conn_id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgSignaling, kmg_signaling_free)

G_END_DECLS
