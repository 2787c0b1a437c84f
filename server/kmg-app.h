/* kmg-app.h — the application context: every module instance, owned by the main context.
 * server/ is the only place that wires modules together; routes receive this object, never globals. */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "kmg-config.h"
#include "kmg-db.h"
#include "kmg-http.h"
#include "kmg-metrics.h"

G_BEGIN_DECLS

typedef struct _KmgAccounts KmgAccounts;
typedef struct _KmgSignaling KmgSignaling;
typedef struct _KmgMap KmgMap;
typedef struct _KmgRealtime KmgRealtime;
typedef struct _KmgBilling KmgBilling;
typedef struct _KmgWatch KmgWatch;
typedef struct _KmgApp KmgApp;

struct _KmgApp
{
  KmgConfig *config;
  KmgDb *db;
  KmgMetrics *metrics;
  KmgRouter *router;       /* public API */
  KmgRouter *admin_router; /* admin API: == router unless admin.listen is set */
  SoupServer *http;       /* public listener */
  SoupServer *admin_http; /* NULL unless admin.listen is set */
  GMainLoop *loop;
  gint64 started_at_us;

  KmgAccounts *accounts;
  KmgSignaling *signaling;
  KmgMap *map;
  KmgRealtime *realtime;
  KmgBilling *billing;
  guint billing_tick;
  KmgWatch *watch;

  /* Hooks between modules, set by the server wiring (may be NULL). presence_changed's state and
   * reason arguments are KmgPresenceState / KmgPresenceReason. */
  void (*on_presence_changed) (KmgApp *app, gint64 user_id, int old_state, int new_state,
                               int reason);
  void (*on_connection_closed) (KmgApp *app, guint64 conn_id, gint64 user_id);
  /* A user's profile, picture or seller flag changed. */
  void (*on_user_changed) (KmgApp *app, gint64 user_id);
  /* Adds live status, rating summary and history to a public seller profile. */
  void (*decorate_seller) (KmgApp *app, gint64 seller_id, JsonObject *profile);
  /* Is @seller_id a public seller (a seller, not banned)? */
  gboolean (*seller_exists) (KmgApp *app, gint64 seller_id);
  /* Billing ended a session (e.g. insufficient_credits): stop its media now. */
  void (*on_billing_ended) (KmgApp *app, gint64 session_id, const char *reason);
  /* Ends a live watch session now (admin); FALSE when it is not live. */
  gboolean (*end_session) (KmgApp *app, gint64 session_id, const char *reason);
  /* A user was banned: end its sessions (reason "banned"). */
  void (*on_user_banned) (KmgApp *app, gint64 user_id);
};

G_END_DECLS
