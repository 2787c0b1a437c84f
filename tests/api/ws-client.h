/* ws-client.h — WebSocket clients of the in-process test server (libsoup, same main context) and
 * the small HTTP helpers the API suites share (admins, sellers, map queries). */
#pragma once

#include "kmg-test-server.h"

G_BEGIN_DECLS

#define KMG_TEST_WS_WAIT_MS 5000

typedef struct
{
  SoupWebsocketConnection *ws;
  GPtrArray *msgs;  /* JsonObject*, every message received, in order */
  guint cursor;     /* kmg_test_ws_wait() looks at msgs from here on */
  GString *raw;     /* every text frame received, concatenated with '\n' */
  gboolean closed;
  gushort close_code;
  guint http_status; /* of the upgrade request */
} KmgTestWs;

/* Connects with the subprotocols "kamegor.v1, bearer.<token>" (@token NULL: "kamegor.v1" only).
 * Returns a client whose ws is NULL when the upgrade was refused (see http_status). */
KmgTestWs *kmg_test_ws_connect (KmgTestServer *ts, const char *token);
/* Connects, authenticates by the "auth" first message and waits for auth_ok (asserts). */
KmgTestWs *kmg_test_ws_connect_auth_message (KmgTestServer *ts, const char *token);
void kmg_test_ws_free (KmgTestWs *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgTestWs, kmg_test_ws_free)

void kmg_test_ws_send (KmgTestWs *c, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* The first message of @type (and, when @ref is not NULL, with that string ref) received after the
 * cursor, waiting up to @timeout_ms; moves the cursor past it. Borrowed; NULL on timeout. */
JsonObject *kmg_test_ws_wait (KmgTestWs *c, const char *type, const char *ref, guint timeout_ms);

/* Like kmg_test_ws_wait() for a message accepted by @match. */
typedef gboolean (*KmgTestWsMatch) (JsonObject *msg, gconstpointer data);
JsonObject *kmg_test_ws_wait_match (KmgTestWs *c, KmgTestWsMatch match, gconstpointer data,
                                    guint timeout_ms);

/* Counts messages in msgs[@from..] accepted by @match (without waiting). */
guint kmg_test_ws_count (KmgTestWs *c, guint from, KmgTestWsMatch match, gconstpointer data);

gboolean kmg_test_ws_wait_closed (KmgTestWs *c, guint timeout_ms);

/* Runs the main context for @ms (only where the absence of an event is being checked). */
void kmg_test_pump (guint ms);

/* Runs the main context until @cond (@data) holds or @timeout_ms passes. */
gboolean kmg_test_wait_for (gboolean (*cond) (gpointer data), gpointer data, guint timeout_ms);

/* ---- HTTP helpers ---- */

/* Creates an admin account directly in the store and logs it in; returns its token. */
char *kmg_test_admin_token (KmgTestServer *ts, const char *username, gint64 *user_id);

/* Registers @username and makes it a seller with consent (and a price when @price > 0). */
char *kmg_test_seller (KmgTestServer *ts, const char *username, gint64 price, gint64 *user_id);

/* GET with a printf-style path; asserts the status. */
KmgTestResponse *kmg_test_get (KmgTestServer *ts, const char *token, guint expect_status,
                               const char *path_format, ...) G_GNUC_PRINTF (4, 5);

/* The map items of the REST map for a bbox. Asserts 200. */
KmgTestResponse *kmg_test_map (KmgTestServer *ts, double south, double west, double north,
                               double east, int zoom);
/* The marker of @user_id in a REST map response, or NULL. */
JsonObject *kmg_test_map_marker (KmgTestResponse *map, gint64 user_id);

/* The REST seller profile's "status" (asserts 200). */
char *kmg_test_seller_status (KmgTestServer *ts, gint64 seller_id);

/* Centre of the geohash cell of precision @precision around (lat, lon). */
void kmg_test_cell_centre (double lat, double lon, guint precision, double *clat, double *clon);

G_END_DECLS
