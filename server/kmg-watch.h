/* kmg-watch.h — watch sessions end to end: WebSocket messages → session manager → relay legs and
 * billing. Translation glue only: the composition root creates the manager, the relay and the STUN
 * responder and hands this glue their callbacks. */
#pragma once

#include "kmg-app.h"
#include "kmg-billing.h"
#include "kmg-relay.h"
#include "kmg-session-manager.h"
#include "kmg-signaling.h"

G_BEGIN_DECLS

typedef struct _KmgWatch KmgWatch;

/* Registers the session metrics on app->metrics. */
KmgWatch *kmg_watch_new (KmgApp *app);
/* The manager's effects and the relay's callbacks (user_data: the KmgWatch). */
void kmg_watch_session_effects (KmgSessionEffects *fx);
void kmg_watch_relay_callbacks (KmgRelayCallbacks *cb);
/* The manager and relay made with those (borrowed). */
void kmg_watch_attach (KmgWatch *watch, KmgSessionManager *sessions, KmgRelay *relay);
/* The session messages of the WebSocket protocol (watch.start, signal, stats, ...). */
void kmg_watch_register_messages (KmgWatch *watch, KmgSignaling *sig);
/* Ends live sessions with server_restart (billing told) and stops the timers; call before the
 * manager, the relay and billing are freed. */
void kmg_watch_shutdown (KmgWatch *watch);
void kmg_watch_free (KmgWatch *watch);

/* Listeners (user_data: the KmgWatch). */
void kmg_watch_on_presence_changed (gint64 user_id, KmgPresenceState old_state,
                                    KmgPresenceState new_state, KmgPresenceReason reason,
                                    gpointer user_data);
void kmg_watch_on_connection_closed (guint64 conn_id, gint64 user_id, guint n_left,
                                     gpointer user_data);
/* A ban ends the user's sessions (the relay stops forwarding) before its connections close. */
void kmg_watch_on_user_banned (gint64 user_id, gpointer user_data);
void kmg_watch_on_billing_event (const KmgBillingEvent *event, gpointer user_data);

/* Ends a live session now (admin); FALSE when it is not live. */
gboolean kmg_watch_end_session (KmgWatch *watch, gint64 session_id, KmgSessionEndReason reason);

void kmg_routes_watch_register (KmgRouter *router, KmgApp *app);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgWatch, kmg_watch_free)

G_END_DECLS
