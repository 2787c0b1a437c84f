/* kmg-sig-conn.h — the connection layer of the hub: one KmgSigConn per WebSocket, the registry of them
 * by id and by user, and everything that sends to one (replies, errors, acks, close, message metrics).
 * Presence, map and the hub facade sit above it; the worker below. Main context only. */
#pragma once

#include "kmg-sig-worker.h"
#include "kmg-signaling.h" /* the module's public types: config, callbacks, error map, close codes */

G_BEGIN_DECLS

typedef struct _KmgSigConns KmgSigConns;
typedef struct _KmgSigMapSub KmgSigMapSub; /* kmg-signaling-map.c: a connection's map subscription */

typedef struct
{
  KmgSigConns *conns;
  guint64 id;
  KmgSigWorker *worker;
  gint64 user_id;
  gboolean is_seller;
  gboolean authed;
  gint64 token_id;
  gint64 expires_at;   /* unix s, 0 = never */
  char *address;       /* the hub's per-address count key (kmg_ws_address_key) */
  gboolean said_bye;
  gboolean gone; /* closed or being closed: send nothing more, handle nothing more */
  guint auth_timer;
  gint64 last_location_ms; /* -1 before the first one */
  GHashTable *watching;    /* seller ids (gint64*), kept by kmg-signaling-presence.c */
  KmgSigMapSub *sub;       /* kept by kmg-signaling-map.c, NULL when not subscribed */
} KmgSigConn;

struct _KmgSigConns
{
  KmgMetrics *metrics;                /* optional, borrowed */
  KmgSignalingErrorMapFunc error_map; /* NULL: every GError is "internal" */
  GHashTable *handler_types;          /* borrowed: type -> the hub's handler; keys read for labels */
  GHashTable *by_id;                  /* guint64* id -> KmgSigConn* (owned) */
  GHashTable *by_user;                /* gint64* user -> GPtrArray of authenticated KmgSigConn* */
  guint64 next_id;
};

gint64 kmg_sig_now_ms (void);

void kmg_sig_conns_init (KmgSigConns *conns, KmgMetrics *metrics, GHashTable *handler_types);
/* Frees every connection (none may hold a map subscription any more). */
void kmg_sig_conns_clear (KmgSigConns *conns);
/* A new connection with the next id, owned by @worker; @address is taken. */
KmgSigConn *kmg_sig_conns_add (KmgSigConns *conns, KmgSigWorker *worker, char *address);
KmgSigConn *kmg_sig_conns_lookup (KmgSigConns *conns, guint64 id);
/* Frees @id's connection: presence and map must be done with it. */
void kmg_sig_conns_remove (KmgSigConns *conns, guint64 id);
/* Authenticated connections are listed per user (conn->user_id). */
void kmg_sig_conns_bind_user (KmgSigConns *conns, KmgSigConn *conn);
void kmg_sig_conns_unbind_user (KmgSigConns *conns, KmgSigConn *conn);
/* KmgSigConn* of @user_id, NULL when none (borrowed: do not keep it across a close). */
GPtrArray *kmg_sig_conns_of_user (KmgSigConns *conns, gint64 user_id);
guint kmg_sig_conns_n_of_user (KmgSigConns *conns, gint64 user_id);

/* Counts a message of @type in @family; the label is a known type, "other" or "unknown", so a
 * client cannot grow the registry. */
void kmg_sig_conns_count (KmgSigConns *conns, const char *family, const char *type);
/* The error map's code for @error, @fallback when it has none. */
const char *kmg_sig_error_code (KmgSigConns *conns, const GError *error, const char *fallback);

/* Queues @text (taken) on @conn; @type labels the outgoing-message metric. */
gboolean kmg_sig_conn_send_text (KmgSigConn *conn, const char *type, char *text);
gboolean kmg_sig_conn_send_borrowed (KmgSigConn *conn, const char *type, const char *text);
/* A fan-out send of a GRefString, not counted in the metrics (the caller counts the batch). */
gboolean kmg_sig_conn_send_shared (KmgSigConn *conn, char *text);
void kmg_sig_reply (KmgSigConn *conn, JsonNode *ref, const char *type, JsonObject *body);
void kmg_sig_reply_error (KmgSigConn *conn, JsonNode *ref, const char *code, const char *message,
                          JsonObject *extra);
/* The error map's code for @error ("internal" when it has none) and its message. */
void kmg_sig_reply_gerror (KmgSigConn *conn, JsonNode *ref, const GError *error);
void kmg_sig_ack (KmgSigConn *conn, JsonNode *ref);
void kmg_sig_conn_close (KmgSigConn *conn, gushort code, const char *reason);

G_END_DECLS
