/* kmg-signaling-presence.h — the hub's presence layer: the presence machine, its messages (hello,
 * app_state, location, go_live, stop_live, bye, profile.watch/unwatch), profile watchers, the grace
 * timer and the fan-out of transitions. Above the connection layer; main context only. */
#pragma once

#include "kmg-sig-conn.h"

G_BEGIN_DECLS

typedef struct _KmgSigPresence KmgSigPresence;

/* @conns, @config and @callbacks are borrowed and outlive the layer. */
KmgSigPresence *kmg_sig_presence_new (KmgSigConns *conns, const KmgSignalingConfig *config,
                                      const KmgSignalingCallbacks *callbacks, gpointer user_data);
void kmg_sig_presence_free (KmgSigPresence *p);
/* Owned by the layer; the hub drives connects, losses and admin actions on it directly. */
KmgPresence *kmg_sig_presence_get_machine (KmgSigPresence *p);
/* Called after every transition, once its clients were told. */
gulong kmg_sig_presence_connect_changed (KmgSigPresence *p, KmgSignalingPresenceFunc func, gpointer user_data);

/* Is @type one of the messages this layer answers? */
gboolean kmg_sig_presence_handles (const char *type);
/* Handles @msg of an authenticated @conn; FALSE when @type is not this layer's. */
gboolean kmg_sig_presence_dispatch (KmgSigPresence *p, KmgSigConn *conn, const char *type, JsonNode *ref,
                                    JsonObject *msg);
/* Re-arms the grace timer: after every change that may move the earliest deadline. */
void kmg_sig_presence_schedule (KmgSigPresence *p);
/* @conn is closing: it watches nothing any more. */
void kmg_sig_presence_conn_gone (KmgSigPresence *p, KmgSigConn *conn);

G_END_DECLS
