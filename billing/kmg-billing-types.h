/* kmg-billing-types.h — the billing module's error domain, rules (knobs) and shared enums.
 * Everything here is plain data: pure code and SQL code both include it. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define KMG_BILLING_ERROR (kmg_billing_error_quark ())
GQuark kmg_billing_error_quark (void);

typedef enum
{
  KMG_BILLING_ERROR_INVALID,              /* bad argument or malformed input */
  KMG_BILLING_ERROR_INSUFFICIENT_CREDITS, /* the debit would make a balance negative */
  KMG_BILLING_ERROR_IDEMPOTENCY_CONFLICT, /* key reused with different content */
  KMG_BILLING_ERROR_NOT_FOUND,
  KMG_BILLING_ERROR_FORBIDDEN,            /* not the party allowed to do this */
  KMG_BILLING_ERROR_BAD_SIGNATURE,        /* webhook HMAC missing or wrong */
  KMG_BILLING_ERROR_STALE,                /* webhook timestamp outside the allowed skew */
  KMG_BILLING_ERROR_NOT_RATEABLE,         /* session not ended or without a charged minute */
  KMG_BILLING_ERROR_ALREADY_RATED,
  KMG_BILLING_ERROR_SESSION_ENDED,
} KmgBillingError;
/* Store failures are reported in the KMG_DB_ERROR domain; nothing is changed then. */

/* Who measured a delivered second (DESIGN §6). */
typedef enum
{
  KMG_DELIVERY_RELAY_MEASURED,
  KMG_DELIVERY_BUYER_ATTESTED,
} KmgDeliverySource;

const char *kmg_delivery_source_to_string (KmgDeliverySource source);
gboolean kmg_delivery_source_from_string (const char *s, KmgDeliverySource *out);

typedef enum
{
  KMG_TRANSFER_TOPUP,
  KMG_TRANSFER_GRANT,
  KMG_TRANSFER_CHARGE,
  KMG_TRANSFER_REFUND,
} KmgTransferKind;

const char *kmg_transfer_kind_to_string (KmgTransferKind kind);
gboolean kmg_transfer_kind_from_string (const char *s, KmgTransferKind *out);

/* System accounts; a user's wallet account id is the user id (always > 0). */
#define KMG_ACCOUNT_PLATFORM ((gint64) 0)
#define KMG_ACCOUNT_EXTERNAL ((gint64) -1)

#define KMG_PRICE_MIN 1
#define KMG_PRICE_MAX 10000

/* The billing.* knobs. */
typedef struct
{
  guint min_billable_s;      /* billing.min_billable_s, default 10: minute 0 is due at this many */
  guint minute_s;            /* billing.minute_s, default 60: minute k >= 1 due past minute_s·k */
  guint fee_pct;             /* billing.fee_pct, default 20: platform fee in percent */
  guint receipt_timeout_s;   /* billing.receipt_timeout_s, default 5: RTCP RR freshness */
  guint report_max_gap_s;    /* buyer stats reports further apart than this attest nothing (5) */
  guint low_balance_minutes; /* warn when fewer than this many minutes remain (2) */
} KmgBillingRules;

void kmg_billing_rules_init (KmgBillingRules *rules);
gboolean kmg_billing_rules_validate (const KmgBillingRules *rules, GError **error);

G_END_DECLS
