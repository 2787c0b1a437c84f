/* kmg-app.h — the application context: every module instance of one kamegord, owned by the main
 * context. Only kmg-server.c (the composition root) creates, connects and frees them; routes and
 * glue receive this object and read it, never globals. */
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
typedef struct _KmgBilling KmgBilling;
typedef struct _KmgSessionManager KmgSessionManager;
typedef struct _KmgRelay KmgRelay;
typedef struct _KmgStunServer KmgStunServer;
typedef struct _KmgMapGlue KmgMapGlue;
typedef struct _KmgSessionGlue KmgSessionGlue;
typedef struct _KmgBillingTick KmgBillingTick;
typedef struct _KmgApp KmgApp;

struct _KmgApp
{
  KmgConfig *config;
  gint64 started_at_us;

  /* Modules, in the order kmg_server_new() creates them. */
  KmgDb *db;
  KmgMetrics *metrics;
  KmgRouter *router;       /* public API */
  KmgRouter *admin_router; /* admin API: == router unless admin.listen is set */
  SoupServer *http;        /* public listener */
  SoupServer *admin_http;  /* NULL unless admin.listen is set */
  KmgAccounts *accounts;
  KmgMap *map;
  KmgSignaling *signaling;
  KmgBilling *billing;
  KmgSessionManager *sessions;
  KmgRelay *relay;
  KmgStunServer *stun;     /* NULL unless relay.stun_port is set */

  /* Translation glue between the modules (callbacks in, calls out). */
  KmgMapGlue *map_glue;         /* precise fixes and presence → the live map */
  KmgSessionGlue *session_glue; /* watch sessions ↔ WebSocket messages, relay legs, billing */
  KmgBillingTick *billing_tick; /* charges due minutes every second */
};

G_END_DECLS
