/* kmg-routes-map.h — GET /api/v1/map: the live map's REST snapshot. */
#pragma once

#include "kmg-app.h"

G_BEGIN_DECLS

/* Needs app->map when a request comes in (not at registration). */
void kmg_routes_map_register (KmgRouter *router, KmgApp *app);

G_END_DECLS
