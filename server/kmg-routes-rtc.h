/* kmg-routes-rtc.h — GET /api/v1/rtc. */
#pragma once

#include "kmg-app.h"

G_BEGIN_DECLS

void kmg_routes_rtc_register (KmgRouter *router, KmgApp *app);

G_END_DECLS
