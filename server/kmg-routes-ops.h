/* kmg-routes-ops.h — operator routes: /healthz and /metrics. */
#pragma once

#include "kmg-app.h"

void kmg_routes_ops_register (KmgRouter *router, KmgApp *app);
