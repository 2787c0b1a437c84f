/* kmg-signaling-map.h — the hub's map layer: map.subscribe/unsubscribe, a snapshot on subscribe and
 * coalesced diffs after changes. Above the connection layer; main context only. */
#pragma once

#include "kmg-sig-conn.h"

G_BEGIN_DECLS

typedef struct _KmgSigMap KmgSigMap;

/* @conns, @config and @callbacks are borrowed and outlive the layer. */
KmgSigMap *kmg_sig_map_new (KmgSigConns *conns, const KmgSignalingConfig *config,
                            const KmgSignalingCallbacks *callbacks, gpointer user_data);
/* Drops every subscription (their connections must still exist). Accepts NULL. */
void kmg_sig_map_free (KmgSigMap *map);

/* Is @type one of the messages this layer answers? */
gboolean kmg_sig_map_handles (const char *type);
/* Handles @msg of an authenticated @conn; FALSE when @type is not this layer's. */
gboolean kmg_sig_map_dispatch (KmgSigMap *map, KmgSigConn *conn, const char *type, JsonNode *ref,
                               JsonObject *msg);
/* @conn is closing: its subscription goes. */
void kmg_sig_map_conn_gone (KmgSigMap *map, KmgSigConn *conn);
/* See kmg_signaling_map_changed(). */
void kmg_sig_map_changed (KmgSigMap *map, const KmgLatLon *points, guint n_points);

G_END_DECLS
