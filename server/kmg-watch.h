/* kmg-watch.h — watch sessions end to end: WebSocket messages → session manager → relay legs and
 * billing. Owns the relay, the STUN responder and the mapping between sessions and relay legs. */
#pragma once

#include "kmg-app.h"

G_BEGIN_DECLS

typedef struct _KmgWatch KmgWatch;

/* Needs app->signaling, app->billing, app->accounts. Installs the app hooks it serves
 * (presence, connection closed, billing ended, admin end, ban). */
KmgWatch *kmg_watch_new (KmgApp *app, GError **error);
/* Ends live sessions with server_restart (billing told), stops the relay. Accepts NULL. */
void kmg_watch_free (KmgWatch *watch);

/* Price per minute fixed into a session still known to the manager; 0 when unknown. */
gint64 kmg_watch_session_price (KmgWatch *watch, gint64 session_id);

/* The STUN port actually bound (0 when off). */
guint kmg_watch_get_stun_port (KmgWatch *watch);

void kmg_routes_watch_register (KmgRouter *router, KmgApp *app);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgWatch, kmg_watch_free)

G_END_DECLS
