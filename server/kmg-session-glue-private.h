/* kmg-session-glue-private.h — what the session glue files share: the KmgSessionGlue struct, the clock and the
 * WebSocket message handlers. */
#pragma once

#include "kmg-session-glue.h"

#include "kmg-relay.h"
#include "kmg-session-manager.h"
#include "kmg-signaling.h"

G_BEGIN_DECLS

struct _KmgSessionGlue
{
  KmgApp *app;
  KmgSessionManager *mgr; /* borrowed: app->sessions */
  KmgRelay *relay;        /* borrowed: app->relay */
  guint tick;              /* the session manager's timer (fx_schedule) */
  gint64 tick_at;          /* the deadline it was armed for */
  GArray *refused;         /* session ids whose SDP the relay refused: ended from an idle */
  guint refused_idle;
};

gint64 kmg_session_glue_now_ms (void);

/* WebSocket handlers (kmg-session-glue-messages.c); user_data is the KmgSessionGlue. */
void kmg_session_glue_on_watch_start (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref,
                               JsonObject *msg, gpointer user_data);
void kmg_session_glue_on_accept (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref,
                          JsonObject *msg, gpointer user_data);
void kmg_session_glue_on_decline (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref,
                           JsonObject *msg, gpointer user_data);
void kmg_session_glue_on_signal (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref,
                          JsonObject *msg, gpointer user_data);
void kmg_session_glue_on_ice_state (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref,
                             JsonObject *msg, gpointer user_data);
void kmg_session_glue_on_first_frame (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref,
                               JsonObject *msg, gpointer user_data);
void kmg_session_glue_on_stats (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref,
                         JsonObject *msg, gpointer user_data);
void kmg_session_glue_on_leave (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref,
                         JsonObject *msg, gpointer user_data);

G_END_DECLS
