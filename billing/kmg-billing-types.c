/* kmg-billing-types.c — error quark, enum names and the defaults of the billing.* knobs.
 * The string forms here are the ones stored in the database and documented for auditors. */

#include "kmg-billing-types.h"

#include "kmg-enum-names.h"

G_DEFINE_QUARK (kmg-billing-error-quark, kmg_billing_error)

/* Stored in the database, kinds also hashed into the ledger chain: never rename one. */
static const KmgEnumName source_names[] = {
  { KMG_DELIVERY_RELAY_MEASURED, "relay_measured" },
  { KMG_DELIVERY_BUYER_ATTESTED, "buyer_attested" },
};
static const KmgEnumName kind_names[] = {
  { KMG_TRANSFER_TOPUP, "topup" },
  { KMG_TRANSFER_GRANT, "grant" },
  { KMG_TRANSFER_CHARGE, "charge" },
  { KMG_TRANSFER_REFUND, "refund" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (source_names) == KMG_DELIVERY_BUYER_ATTESTED + 1);
G_STATIC_ASSERT (G_N_ELEMENTS (kind_names) == KMG_TRANSFER_REFUND + 1);

const char *
kmg_delivery_source_to_string (KmgDeliverySource source)
{
  const char *name = KMG_ENUM_NAMES_TO_STRING (source_names, source);

  g_return_val_if_fail (name != NULL, NULL);
  return name;
}

gboolean
kmg_delivery_source_from_string (const char *s, KmgDeliverySource *out)
{
  int v;

  if (!KMG_ENUM_NAMES_FROM_STRING (source_names, s, &v))
    return FALSE;
  *out = (KmgDeliverySource) v;
  return TRUE;
}

const char *
kmg_transfer_kind_to_string (KmgTransferKind kind)
{
  const char *name = KMG_ENUM_NAMES_TO_STRING (kind_names, kind);

  g_return_val_if_fail (name != NULL, NULL);
  return name;
}

gboolean
kmg_transfer_kind_from_string (const char *s, KmgTransferKind *out)
{
  int v;

  if (!KMG_ENUM_NAMES_FROM_STRING (kind_names, s, &v))
    return FALSE;
  *out = (KmgTransferKind) v;
  return TRUE;
}

void
kmg_billing_rules_init (KmgBillingRules *rules)
{
  rules->min_billable_s = 10;
  rules->minute_s = 60;
  rules->fee_pct = 20;
  rules->receipt_timeout_s = 5;
  rules->report_max_gap_s = 5;
  rules->low_balance_minutes = 2;
}

gboolean
kmg_billing_rules_validate (const KmgBillingRules *r, GError **error)
{
  const char *bad = NULL;

  if (r->minute_s < 1 || r->minute_s > 3600)
    bad = "billing.minute_s must be 1..3600";
  else if (r->min_billable_s < 1 || r->min_billable_s > r->minute_s)
    bad = "billing.min_billable_s must be 1..billing.minute_s";
  else if (r->fee_pct > 100)
    bad = "billing.fee_pct must be 0..100";
  else if (r->receipt_timeout_s < 1 || r->receipt_timeout_s > 60)
    bad = "billing.receipt_timeout_s must be 1..60";
  else if (r->report_max_gap_s < 1 || r->report_max_gap_s > 60)
    bad = "billing report gap must be 1..60 s";
  else if (r->low_balance_minutes > 1000)
    bad = "low-balance warning threshold must be 0..1000 minutes";
  if (bad == NULL)
    return TRUE;
  g_set_error_literal (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_INVALID, bad);
  return FALSE;
}
