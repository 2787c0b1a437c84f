/* kmg-routes-admin.h — the admin API under /api/v1/admin (admin role only). */
#pragma once

#include "kmg-app.h"

void kmg_routes_admin_register (KmgRouter *router, KmgApp *app);
