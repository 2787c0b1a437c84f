/* kmg-routes-billing.h — wallet, top-up webhook, ratings, seller history and the billing tick. */
#pragma once

#include "kmg-app.h"

G_BEGIN_DECLS

/* Creates app->billing (recovering sessions left open by a crash) and starts the 1 s tick. */
gboolean kmg_billing_wiring_start (KmgApp *app, GError **error);
void kmg_billing_wiring_stop (KmgApp *app);

void kmg_routes_billing_register (KmgRouter *router, KmgApp *app);

/* Seller profile additions: status, rating summary, reputation, first page of history. */
void kmg_billing_decorate_seller (KmgApp *app, gint64 seller_id, JsonObject *profile);

G_END_DECLS
