/* kmg-sig-worker.h — the socket side of the hub: owns WebSocket connections (I/O, framing, size and
 * rate limits, pings, liveness, JSON parsing) and reports what happens through the events it is given. */
#pragma once

#include <libsoup/soup.h>

#include "kmg-metrics.h"
#include "kmg-ws-proto.h"

G_BEGIN_DECLS

typedef struct _KmgSigWorker KmgSigWorker;

/* Read on the worker's thread: copy it, or keep it unchanged for the worker's life. */
typedef struct
{
  gsize max_message_bytes; /* larger frames close with 1009 */
  double messages_per_s;   /* token refill per connection */
  double burst;            /* bucket size */
  guint max_strikes;       /* rate-limited messages (net of accepted ones) before close */
  guint ping_ms;           /* 0 disables pings and the liveness check */
  KmgMetrics *metrics;     /* optional, borrowed: counts the errors the worker sends itself */
} KmgSigWorkerConfig;

/* What a worker reports, always on the main context (the one kmg_sig_worker_new ran on), in the
 * order libsoup emitted it. The worker never calls anything else of the hub. */
typedef struct
{
  /* A text frame, parsed: @msg (taken, may be NULL), @type and @ref borrow from it; @error set
   * when the envelope is invalid. */
  void (*message) (guint64 conn_id, JsonObject *msg, const char *type, JsonNode *ref, const GError *error,
                   gpointer user_data);
  /* Nothing heard for two ping intervals: the worker is closing the connection. */
  void (*lost) (guint64 conn_id, gpointer user_data);
  void (*closed) (guint64 conn_id, gpointer user_data);
} KmgSigWorkerEvents;

/* Inline workers (!@threaded) run on the main context and report at once; threaded ones run their
 * own loop and report through a mailbox. @config and @events are copied. Every function here is
 * called on the main context. */
KmgSigWorker *kmg_sig_worker_new (const KmgSigWorkerConfig *config, guint index, gboolean threaded,
                                  const KmgSigWorkerEvents *events, gpointer user_data);
/* Closes the worker's connections without reporting them, stops its thread. Accepts NULL. */
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

G_END_DECLS
