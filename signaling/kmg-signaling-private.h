/* kmg-signaling-private.h — the hub's internal state, shared by its files (core, presence, map).
 * Everything here belongs to the main context. */
#pragma once

#include "kmg-signaling.h"

G_BEGIN_DECLS

typedef struct
{
  KmgBbox bbox;
  int zoom;
  GHashTable *items; /* last item set sent (shared, immutable), see kmg_map_items_new() */
  gboolean dirty;
} KmgSigMapSub;

typedef struct
{
  KmgSignaling *sig;
  guint64 id;
  SoupWebsocketConnection *ws;
  gint64 user_id;
  gboolean is_seller;
  gboolean authed;
  gboolean said_bye;
  gboolean gone; /* closed or being closed: send nothing more, handle nothing more */
  guint auth_timer;
  gint64 last_rx_ms;
  KmgTokenBucket bucket;
  guint strikes;
  gint64 last_location_ms; /* -1 before the first one */
  GHashTable *watching;    /* seller ids (gint64*) */
  KmgSigMapSub *sub;
} KmgSigConn;

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
  KmgMetrics *metrics;
  KmgPresence *presence;

  GHashTable *conns;      /* guint64* id -> KmgSigConn* (owned) */
  GHashTable *user_conns; /* gint64* user -> GPtrArray of KmgSigConn* */
  GHashTable *watchers;   /* gint64* seller -> GHashTable set of KmgSigConn* */
  GHashTable *handlers;   /* type -> KmgSigHandler* */
  GHashTable *subs;       /* set of KmgSigConn* with a map subscription */
  guint64 next_conn_id;

  guint presence_timer;
  gint64 presence_deadline;
  guint liveness_timer;

  GArray *pending_points; /* KmgLatLon changed since the last flush */
  gboolean pending_all;
  guint flush_timer;
  gint64 first_change_us;
};

typedef void (*KmgSigBuiltin) (KmgSignaling *sig, KmgSigConn *conn, JsonNode *ref, JsonObject *msg);

gint64 kmg_sig_now_ms (void);
/* Queues @text (taken) on @conn; @type labels the outgoing-message metric. */
gboolean kmg_sig_conn_send_text (KmgSigConn *conn, const char *type, char *text);
gboolean kmg_sig_conn_send_borrowed (KmgSigConn *conn, const char *type, const char *text);
void kmg_sig_reply (KmgSigConn *conn, JsonNode *ref, const char *type, JsonObject *body);
void kmg_sig_reply_error (KmgSigConn *conn, JsonNode *ref, const char *code, const char *message,
                          JsonObject *extra);
void kmg_sig_ack (KmgSigConn *conn, JsonNode *ref);
void kmg_sig_conn_close (KmgSigConn *conn, gushort code, const char *reason);

/* kmg-signaling-presence.c */
KmgSigBuiltin kmg_sig_presence_builtin (const char *type);
void kmg_sig_presence_changed (gint64 user_id, KmgPresenceState old_state, KmgPresenceState new_state,
                               KmgPresenceReason reason, gpointer user_data);
void kmg_sig_presence_schedule (KmgSignaling *sig);
void kmg_sig_presence_conn_gone (KmgSignaling *sig, KmgSigConn *conn);

/* kmg-signaling-map.c */
KmgSigBuiltin kmg_sig_map_builtin (const char *type);
void kmg_sig_map_conn_gone (KmgSignaling *sig, KmgSigConn *conn);
void kmg_sig_map_free (KmgSignaling *sig);

G_END_DECLS
