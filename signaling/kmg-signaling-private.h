/* kmg-signaling-private.h — the hub's internal state, shared by its files (core, presence, map, workers).
 * KmgSignaling and KmgSigConn belong to the main context; a KmgSigWorker owns its sockets on its own. */
#pragma once

#include "kmg-listeners.h"
#include "kmg-signaling.h"

G_BEGIN_DECLS

typedef struct
{
  KmgBbox bbox;
  int zoom;
  GHashTable *items; /* last item set sent (shared, immutable), see kmg_map_items_new() */
  char *key;         /* bbox and zoom as text: subscribers with the same key share one query */
  gboolean dirty;
} KmgSigMapSub;

/* kmg-sig-mailbox.c: a cross-thread queue drained by a GSource on the consumer's context. */
typedef struct _KmgSigMailbox KmgSigMailbox;
typedef void (*KmgSigMailFn) (gpointer item, gpointer user_data);
KmgSigMailbox *kmg_sig_mailbox_new (GMainContext *context, KmgSigMailFn fn, gpointer user_data,
                                    GDestroyNotify item_free);
void kmg_sig_mailbox_post (KmgSigMailbox *mb, gpointer item);
void kmg_sig_mailbox_free (KmgSigMailbox *mb);

/* kmg-sig-worker.c: owns WebSocket connections (I/O, framing, size and rate limits, pings, liveness,
 * JSON parsing). Inline workers run on the main context and call the hub directly; threaded ones
 * run their own loop and talk to the hub through mailboxes. Every function here is called on the
 * main context. */
typedef struct _KmgSigWorker KmgSigWorker;
KmgSigWorker *kmg_sig_worker_new (KmgSignaling *sig, guint index, gboolean threaded);
/* Closes the worker's connections without telling the hub, stops its thread. Accepts NULL. */
void kmg_sig_worker_free (KmgSigWorker *w);
/* Takes over an upgraded connection (@stream and @extensions are taken). */
void kmg_sig_worker_adopt (KmgSigWorker *w, guint64 conn_id, GIOStream *stream, GUri *uri, const char *origin,
                           const char *protocol, GList *extensions);
/* FALSE when the connection is known to be gone (inline workers only; threaded ones queue). */
gboolean kmg_sig_worker_send (KmgSigWorker *w, guint64 conn_id, const char *text);
/* The same, for a GRefString @text that many connections share (a fan-out). */
gboolean kmg_sig_worker_send_shared (KmgSigWorker *w, guint64 conn_id, char *text);
void kmg_sig_worker_close (KmgSigWorker *w, guint64 conn_id, gushort code, const char *reason);
guint kmg_sig_worker_load (KmgSigWorker *w);

/* What workers report, on the main context. kmg-signaling.c. */
/* A text frame, parsed: @msg (taken, may be NULL), @type and @ref borrow from it; @error set when
 * the envelope is invalid. */
void kmg_sig_hub_message (KmgSignaling *sig, guint64 conn_id, JsonObject *msg, const char *type, JsonNode *ref,
                          const GError *error);
/* Nothing heard for two ping intervals: the worker is closing the connection. */
void kmg_sig_hub_lost (KmgSignaling *sig, guint64 conn_id);
void kmg_sig_hub_closed (KmgSignaling *sig, guint64 conn_id);
/* Counts a message in the metrics with a label that is a known type, "error" or "unknown". */
void kmg_sig_count (KmgMetrics *metrics, const char *family, const char *label);

typedef struct
{
  KmgSignaling *sig;
  guint64 id;
  KmgSigWorker *worker;
  gint64 user_id;
  gboolean is_seller;
  gboolean authed;
  gint64 token_id;
  gint64 expires_at;   /* unix s, 0 = never */
  char *address;       /* key in KmgSignaling.address_conns (kmg_ws_address_key) */
  gboolean said_bye;
  gboolean gone; /* closed or being closed: send nothing more, handle nothing more */
  guint auth_timer;
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
  KmgListeners presence_listeners; /* KmgSignalingPresenceFunc */
  KmgListeners closed_listeners;   /* KmgSignalingClosedFunc */
  KmgSignalingErrorMapFunc error_map; /* NULL: every GError is "internal" */
  KmgMetrics *metrics;
  KmgPresence *presence;

  GHashTable *conns;      /* guint64* id -> KmgSigConn* (owned) */
  GHashTable *user_conns; /* gint64* user -> GPtrArray of KmgSigConn* */
  /* gint64* user -> gint64* ms of the last position handed to the map: the location throttle is
   * per user, so new connections (a reconnect, a second device) do not reset it. Entries older
   * than min_location_ms are pruned now and then. */
  GHashTable *user_last_location;
  guint locations_since_prune;
  GHashTable *watchers;   /* gint64* seller -> GHashTable set of KmgSigConn* */
  GHashTable *handlers;   /* type -> KmgSigHandler* */
  GHashTable *subs;       /* set of KmgSigConn* with a map subscription */
  guint64 next_conn_id;

  GPtrArray *workers;         /* KmgSigWorker*: one inline worker, or cfg.threads threaded ones */
  GPtrArray *extension_types; /* GTypeClass* of the WebSocket extensions offered at upgrade */
  GHashTable *upgrading;      /* SoupServerMessage* between the 101 and its "wrote-informational" ->
                               * its address key (owned, counted in address_conns) */
  GHashTable *address_conns;  /* address key -> GUINT count of upgrading and open connections */

  guint expiry_timer;         /* at the earliest token expiry of an open connection */
  gint64 expiry_at_ms;        /* unix ms it is set for */

  guint presence_timer;
  gint64 presence_deadline;

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
/* A fan-out send of a GRefString, not counted in the metrics (the caller counts the batch). */
gboolean kmg_sig_conn_send_shared (KmgSigConn *conn, char *text);
void kmg_sig_reply (KmgSigConn *conn, JsonNode *ref, const char *type, JsonObject *body);
void kmg_sig_reply_error (KmgSigConn *conn, JsonNode *ref, const char *code, const char *message,
                          JsonObject *extra);
void kmg_sig_ack (KmgSigConn *conn, JsonNode *ref);
/* The error map's code for @error, @fallback when it has none. */
const char *kmg_sig_error_code (KmgSignaling *sig, const GError *error, const char *fallback);
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
