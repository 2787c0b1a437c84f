/* kmg-map-glue.h — wires the WebSocket hub, presence and the live map together.
 * Owns the sellers' last precise fixes (memory only) and their marker profiles. */
#pragma once

#include "kmg-app.h"
#include "kmg-signaling.h"

G_BEGIN_DECLS

/* Reads app->accounts, app->db, app->map and app->signaling when called (they are created after
 * it, by the composition root). Registers its map gauges on app->metrics. */
KmgMapGlue *kmg_map_glue_new (KmgApp *app);
void kmg_map_glue_free (KmgMapGlue *rt);

/* The hub's providers (user_data: the KmgMapGlue): token check, precise fixes, map queries,
 * who may watch whom. */
void kmg_map_glue_signaling_callbacks (KmgSignalingCallbacks *cb);

/* Listeners (user_data: the KmgMapGlue). */
void kmg_map_glue_on_presence_changed (gint64 user_id, KmgPresenceState old_state,
                                       KmgPresenceState new_state, KmgPresenceReason reason,
                                       gpointer user_data);
/* A user's profile or seller flag changed: refresh marker and hub state. */
void kmg_map_glue_on_user_changed (gint64 user_id, gpointer user_data);
/* Removes a banned user from the map and closes its connections. */
void kmg_map_glue_on_user_banned (gint64 user_id, gpointer user_data);
/* WebSocket "map.visibility". */
void kmg_map_glue_on_visibility (KmgSignaling *sig, guint64 conn_id, gint64 user_id, JsonNode *ref,
                                 JsonObject *msg, gpointer user_data);

/* "offline" / "online" / "streaming" as shown to others (hidden sellers count as shown). */
const char *kmg_map_glue_status (KmgMapGlue *rt, gint64 user_id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgMapGlue, kmg_map_glue_free)

G_END_DECLS
