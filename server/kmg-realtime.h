/* kmg-realtime.h — wires the WebSocket hub, presence and the live map together.
 * Owns the sellers' last precise fixes (memory only) and their marker profiles. */
#pragma once

#include "kmg-app.h"

G_BEGIN_DECLS

typedef struct _KmgRealtime KmgRealtime;

/* Needs app->http, app->accounts, app->db and app->metrics; sets app->signaling and app->map. */
KmgRealtime *kmg_realtime_new (KmgApp *app, GError **error);
void kmg_realtime_free (KmgRealtime *rt);

/* A user's profile or seller flag changed (PATCH /me, admin): refresh marker and hub state. */
void kmg_realtime_user_changed (KmgRealtime *rt, gint64 user_id);
/* Removes a user from the map and closes its connections (ban). */
void kmg_realtime_user_banned (KmgRealtime *rt, gint64 user_id);

/* "offline" / "online" / "streaming" as shown to others (hidden sellers count as shown). */
const char *kmg_realtime_status (KmgRealtime *rt, gint64 user_id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgRealtime, kmg_realtime_free)

G_END_DECLS
