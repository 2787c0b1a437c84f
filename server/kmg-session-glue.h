/* kmg-session-glue.h — watch sessions end to end: WebSocket messages → session manager → relay legs and
 * billing. Translation glue only: the composition root creates the manager, the relay and the STUN
 * responder and hands this glue their callbacks. */
#pragma once

#include "kmg-app.h"
#include "kmg-billing.h"
#include "kmg-relay.h"
#include "kmg-session-manager.h"
#include "kmg-signaling.h"

G_BEGIN_DECLS

typedef struct _KmgSessionGlue KmgSessionGlue;

/* Registers the session metrics on app->metrics. */
KmgSessionGlue *kmg_session_glue_new (KmgApp *app);
/* The manager's effects and the relay's callbacks (user_data: the KmgSessionGlue). */
void kmg_session_glue_effects (KmgSessionEffects *fx);
void kmg_session_glue_relay_callbacks (KmgRelayCallbacks *cb);
/* The manager and relay made with those (borrowed). */
void kmg_session_glue_attach (KmgSessionGlue *watch, KmgSessionManager *sessions, KmgRelay *relay);
/* The session messages of the WebSocket protocol (watch.start, signal, stats, ...). */
void kmg_session_glue_register_messages (KmgSessionGlue *watch, KmgSignaling *sig);
/* Ends live sessions with server_restart (billing told) and stops the timers; call before the
 * manager, the relay and billing are freed. */
void kmg_session_glue_shutdown (KmgSessionGlue *watch);
void kmg_session_glue_free (KmgSessionGlue *watch);

/* Listeners (user_data: the KmgSessionGlue). */
void kmg_session_glue_on_presence_changed (gint64 user_id, KmgPresenceState old_state,
                                    KmgPresenceState new_state, KmgPresenceReason reason,
                                    gpointer user_data);
void kmg_session_glue_on_connection_closed (guint64 conn_id, gint64 user_id, guint n_left,
                                     gpointer user_data);
/* A ban ends the user's sessions (the relay stops forwarding) before its connections close. */
void kmg_session_glue_on_user_banned (gint64 user_id, gpointer user_data);
void kmg_session_glue_on_billing_event (const KmgBillingEvent *event, gpointer user_data);

/* Ends a live session now (admin); FALSE when it is not live. */
gboolean kmg_session_glue_end_session (KmgSessionGlue *watch, gint64 session_id, KmgSessionEndReason reason);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgSessionGlue, kmg_session_glue_free)

G_END_DECLS
