/* kmg-app.h — the application context: every module instance, owned by the main context.
 * server/ is the only place that wires modules together; routes receive this object, never globals. */
#pragma once

#include <libsoup/soup.h>

#include "kmg-config.h"
#include "kmg-db.h"
#include "kmg-http.h"
#include "kmg-metrics.h"

G_BEGIN_DECLS

typedef struct _KmgAccounts KmgAccounts;

typedef struct _KmgApp
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
} KmgApp;

G_END_DECLS
