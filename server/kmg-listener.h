/* kmg-listener.h — accepts TCP connections for a SoupServer on our own listening socket, so that
 * running out of file descriptors pauses accepting instead of ending it. */
#pragma once

#include <libsoup/soup.h>

#include "kmg-metrics.h"

G_BEGIN_DECLS

typedef struct _KmgListener KmgListener;

/* Binds @listen ("host:port", port 0 = any) with a large backlog and hands every accepted
 * connection to @server. When accept fails for lack of descriptors (EMFILE, ENFILE, ENOBUFS,
 * ENOMEM) it logs once, counts kamegor_http_accept_paused_total on @metrics (may be NULL), waits
 * (50 ms doubling to 1 s) and resumes by itself. Borrows @server and @metrics. */
KmgListener *kmg_listener_new (SoupServer *server, const char *listen, KmgMetrics *metrics,
                               GError **error);
void kmg_listener_free (KmgListener *listener);
guint16 kmg_listener_get_port (KmgListener *listener);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgListener, kmg_listener_free)

G_END_DECLS
