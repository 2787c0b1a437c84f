/* kmg-watch-private.h — what the watch wiring files share: the KmgWatch struct, the clock and the
 * WebSocket message handlers. */
#pragma once

#include "kmg-watch.h"

#include "kmg-relay.h"
#include "kmg-session-manager.h"
#include "kmg-signaling.h"

G_BEGIN_DECLS

struct _KmgWatch
{
  KmgApp *app;
  KmgSessionManager *mgr; /* borrowed: app->sessions */
  KmgRelay *relay;        /* borrowed: app->relay */
  guint tick;              /* the session manager's timer (fx_schedule) */
  gint64 tick_at;          /* the deadline it was armed for */
  GArray *refused;         /* session ids whose SDP the relay refused: ended from an idle */
  guint refused_idle;
};

gint64 kmg_watch_now_ms (void);

/* WebSocket handlers (kmg-watch-messages.c); user_data is the KmgWatch. */
void kmg_watch_on_watch_start (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref,
                               JsonObject *msg, gpointer user_data);
void kmg_watch_on_accept (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref,
                          JsonObject *msg, gpointer user_data);
void kmg_watch_on_decline (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref,
                           JsonObject *msg, gpointer user_data);
void kmg_watch_on_signal (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref,
                          JsonObject *msg, gpointer user_data);
void kmg_watch_on_ice_state (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref,
                             JsonObject *msg, gpointer user_data);
void kmg_watch_on_first_frame (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref,
                               JsonObject *msg, gpointer user_data);
void kmg_watch_on_stats (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref,
                         JsonObject *msg, gpointer user_data);
void kmg_watch_on_leave (KmgSignaling *sig, guint64 conn, gint64 user, JsonNode *ref,
                         JsonObject *msg, gpointer user_data);

G_END_DECLS
