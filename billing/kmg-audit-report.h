/* kmg-audit-report.h — what an audit found (kmg-audit.h runs it): counts, the first bad row of
 * each kind, problem sentences, and the report as text or JSON for kamegorctl and the admin API. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  gboolean ok;
  guint64 transfers;
  guint64 accounts;
  guint64 sessions;
  guint64 charged_minutes;
  /* Hash chain: first row whose id, prev_hash, content or hash is wrong (0 = none). */
  gint64 first_bad_transfer;
  char *first_bad_reason;
  guint bad_transfers;
  /* Sum of all balances (must be 0). */
  gint64 ledger_sum;
  guint balance_mismatches;
  gint64 first_balance_mismatch; /* account id; meaningful when balance_mismatches > 0 */
  guint negative_balances;       /* stored, or reached at some point of the history */
  guint duplicate_charges;
  guint evidence_mismatches;
  gint64 first_evidence_mismatch; /* session id; meaningful when evidence_mismatches > 0 */
  char *first_evidence_reason;
  GPtrArray *problems;            /* human sentences, at most the first 100 */
  /* Anchors (kmg-anchor.h), when a file was checked. */
  gboolean anchors_checked;
  guint anchors;
  guint bad_anchors;
  gint64 first_bad_anchor; /* transfer id; 0 = none */
  char *first_bad_anchor_reason;
} KmgAuditReport;

void kmg_audit_report_free (KmgAuditReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgAuditReport, kmg_audit_report_free)

/* Adds a problem sentence to @report and marks it failed. */
void kmg_audit_report_add_problem (KmgAuditReport *report, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
/* A session whose charges do not follow from its evidence. */
void kmg_audit_evidence_mismatch (KmgAuditReport *report, gint64 session_id, const char *why);

char *kmg_audit_report_to_text (const KmgAuditReport *report);
char *kmg_audit_report_to_json (const KmgAuditReport *report);

G_END_DECLS
