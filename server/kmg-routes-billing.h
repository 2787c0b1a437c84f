/* kmg-routes-billing.h — wallet, top-up webhook, ratings, seller history, and the billing part
 * of a public seller profile. */
#pragma once

#include "kmg-app.h"
#include "kmg-billing.h"

G_BEGIN_DECLS

void kmg_routes_billing_register (KmgRouter *router, KmgApp *app);

/* Seller profile additions: status, rating summary, reputation, first page of history. */
void kmg_billing_decorate_seller (KmgApp *app, gint64 seller_id, JsonObject *profile);

G_END_DECLS
