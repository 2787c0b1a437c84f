/* kmg-listener.h — accepts TCP connections for a SoupServer on our own listening socket, so that
 * running out of file descriptors pauses accepting instead of ending it, and enforces the
 * connection-level limits a peer could otherwise exhaust (slow request heads and bodies, many
 * connections from one address). */
#pragma once

#include <libsoup/soup.h>

#include "kmg-metrics.h"

G_BEGIN_DECLS

typedef struct _KmgListener KmgListener;

typedef struct
{
  /* A connection must deliver each complete request head within this many seconds of being ready
   * for it (accepted, or done with the previous request). */
  guint header_timeout_s;
  /* A request body may take header-to-end body_timeout_s + received / body_min_bytes_per_s
   * seconds (0 = body_timeout_s in all): slow links get time in proportion to what they send. */
  guint body_timeout_s;
  guint body_min_bytes_per_s;
  /* Concurrent HTTP connections per client address (an IPv6 client: its /64); 0 = no cap. A
   * connection that became a WebSocket no longer counts: the hub's own caps govern it. */
  guint max_connections_per_address;
} KmgListenerLimits;

/* Defaults: 10 s for a head, 10 s + 4 KiB/s for a body, 256 connections per address. */
void kmg_listener_limits_init (KmgListenerLimits *limits);

/* Binds @listen ("host:port", port 0 = any) with a large backlog and hands every accepted
 * connection to @server. When accept fails for lack of descriptors (EMFILE, ENFILE, ENOBUFS,
 * ENOMEM) it logs once, counts kamegor_http_accept_paused_total on @metrics (may be NULL), waits
 * (50 ms doubling to 1 s) and resumes by itself. A connection over a time limit is shut down
 * (kamegor_http_timeouts_total{phase}); one over the per-address cap is answered 429
 * too_many_connections and closed at once (kamegor_http_connections_refused_total).
 * Borrows @server and @metrics; @server must outlive the listener. */
KmgListener *kmg_listener_new (SoupServer *server, const char *listen,
                               const KmgListenerLimits *limits, KmgMetrics *metrics,
                               GError **error);
void kmg_listener_free (KmgListener *listener);
guint16 kmg_listener_get_port (KmgListener *listener);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgListener, kmg_listener_free)

G_END_DECLS
