/* kmg-billing.h — the billing engine the server drives: session start/end, delivered-second
 * ingestion, and a per-tick flush that charges every due minute in one transaction. */
#pragma once

#include "kmg-billing-types.h"
#include "kmg-charging.h"
#include "kmg-ledger.h"
#include "kmg-session-rows.h"

G_BEGIN_DECLS

typedef struct _KmgBilling KmgBilling;

/* Borrows @db. State belongs to the main context: call everything from it. */
KmgBilling *kmg_billing_new (KmgDb *db, const KmgBillingRules *rules, GError **error);
void kmg_billing_free (KmgBilling *billing);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgBilling, kmg_billing_free)

KmgLedger *kmg_billing_get_ledger (KmgBilling *billing);
/* Appends the ledger's chain head to @path after every commit (kmg-anchor.h). */
gboolean kmg_billing_open_anchors (KmgBilling *billing, const char *path, GError **error);
const KmgBillingRules *kmg_billing_get_rules (KmgBilling *billing);

/* Creates a session at the seller's current price, which stays fixed for the session. Fails with
 * INSUFFICIENT_CREDITS when the buyer cannot pay one minute, NOT_FOUND / INVALID for bad
 * parties. Returns the session id (> 0). */
gint64 kmg_billing_session_start (KmgBilling *billing, gint64 buyer_id, gint64 seller_id,
                                  gint64 now_ms, GError **error);
/* Records the path the session took ("p2p" or "relay"). */
gboolean kmg_billing_session_set_path (KmgBilling *billing, gint64 session_id, const char *path,
                                       GError **error);
/* Whether the session is active, i.e. its buyer has seen the first frame and the picture has not
 * been lost since. A session starts inactive; seconds handed over while it is inactive do not
 * count (INACTIVE). Call on every state change. FALSE for sessions billing does not know. */
gboolean kmg_billing_session_set_active (KmgBilling *billing, gint64 session_id, gboolean active);
/* One delivered second (from kmg_relay_second_delivered). Cheap, no I/O: due minutes are charged
 * by the next kmg_billing_flush. REJECTED for unknown sessions. */
KmgMeterVerdict kmg_billing_delivered_second (KmgBilling *billing, gint64 session_id,
                                              const KmgDeliveredSecond *ev, gint64 now_ms);
/* Relay path: what the relay measured in one second of @session_id, judged by the
 * delivered-second rule (DESIGN §6, billing.receipt_timeout_s) and counted when delivered;
 * KMG_METER_UNDELIVERED when the rule says no. */
KmgMeterVerdict kmg_billing_relay_second (KmgBilling *billing, gint64 session_id,
                                          const KmgRelaySecondSample *sample, gint64 now_ms);
/* One stats report of the buyer (P2P path). Billing keeps the session's previous report and
 * counts the seconds the two attest (kmg_buyer_report_seconds); the report then becomes the
 * baseline for the next, whatever it attested. Forgotten when the session's billing ends.
 * Returns how many new seconds were counted. */
guint kmg_billing_buyer_report (KmgBilling *billing, gint64 session_id,
                                const KmgBuyerStatsReport *report, gint64 now_ms);

typedef enum
{
  KMG_BILLING_EVENT_CHARGED,     /* a minute was charged */
  KMG_BILLING_EVENT_LOW_BALANCE, /* fewer than low_balance_minutes minutes remain: warn buyer */
  KMG_BILLING_EVENT_ENDED,       /* billing ended the session: stop media now */
} KmgBillingEventKind;

typedef struct
{
  KmgBillingEventKind kind;
  gint64 session_id;
  gint64 buyer_id;
  gint64 seller_id;
  guint minute_index;     /* CHARGED */
  /* CHARGED: what the ledger moved for that minute, at the price and fee fixed for the session:
   * price = seller_share + fee. */
  gint64 price;
  gint64 seller_share;
  gint64 fee;
  gint64 balance;         /* buyer's balance after the event */
  const char *end_reason; /* ENDED: "insufficient_credits" (static string) */
} KmgBillingEvent;

/* Listeners of the events a flush produces, called after its commit in the order they connected;
 * they stay until billing is freed. A listener may end sessions (kmg_billing_session_end). */
typedef void (*KmgBillingEventFunc) (const KmgBillingEvent *event, gpointer user_data);
gulong kmg_billing_connect_events (KmgBilling *billing, KmgBillingEventFunc func,
                                   gpointer user_data);

/* Charges every due minute of every session in ONE transaction and ends sessions whose buyer
 * cannot pay. Tells the listeners, and returns the events (KmgBillingEvent), or NULL with @error,
 * in which case nothing was charged and the same minutes are tried again next tick. Call once per
 * tick (e.g. 1 s). */
GArray *kmg_billing_flush (KmgBilling *billing, gint64 now_ms, GError **error);

/* Ends a session for @reason (buyer_left, seller_gone, banned, ...): a minute that was already
 * due is charged first if the buyer can pay, then the row is closed. */
gboolean kmg_billing_session_end (KmgBilling *billing, gint64 session_id, const char *reason,
                                  gint64 now_ms, GError **error);

guint kmg_billing_active_sessions (KmgBilling *billing);

G_END_DECLS
