/* kmg-routes-billing.h — wallet, top-up webhook, ratings, seller history; billing events to clients. */
#pragma once

#include "kmg-app.h"
#include "kmg-billing.h"

G_BEGIN_DECLS

/* Billing listener (user_data: the KmgApp): charges and low-balance warnings as WebSocket messages
 * to the buyer and the seller. */
void kmg_billing_push_event (const KmgBillingEvent *ev, gpointer user_data);

void kmg_routes_billing_register (KmgRouter *router, KmgApp *app);

/* Seller profile additions: status, rating summary, reputation, first page of history. */
void kmg_billing_decorate_seller (KmgApp *app, gint64 seller_id, JsonObject *profile);

G_END_DECLS
