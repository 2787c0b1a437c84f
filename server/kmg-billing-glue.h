/* kmg-billing-glue.h — charges every due minute once a second, and once more on a clean stop so
 * nothing measured is lost; billing's events as WebSocket messages to the buyer and the seller. */
#pragma once

#include "kmg-billing.h"
#include "kmg-metrics.h"

G_BEGIN_DECLS

typedef struct _KmgBillingTick KmgBillingTick;

/* Borrows @billing and @metrics, which must outlive the tick; counts charged minutes in
 * kamegor_billing_minutes_total. */
KmgBillingTick *kmg_billing_tick_start (KmgBilling *billing, KmgMetrics *metrics);
/* Stops the timer and charges what is due now. A failure is logged as a warning: after the
 * restart those sessions are closed as server_restart and the minutes due now go unbilled
 * (docs/billing.md, crash rules). Accepts NULL. */
void kmg_billing_tick_stop (KmgBillingTick *tick);

/* Billing listener (user_data: the KmgSignaling hub): charges and low-balance warnings to the
 * buyer and the seller; an end is the session glue's (it stops the media). */
void kmg_billing_glue_push_event (const KmgBillingEvent *event, gpointer user_data);

G_END_DECLS
