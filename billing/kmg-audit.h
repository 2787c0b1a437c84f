/* kmg-audit.h — read-only ledger audit (DESIGN §6): hash chain, balances, zero sum, no negative
 * balance, one charge per minute, charges re-derived from evidence. Used by kamegorctl audit. */
#pragma once

#include "kmg-anchor.h"
#include "kmg-audit-report.h"
#include "kmg-billing-types.h"
#include "kmg-db.h"

G_BEGIN_DECLS


/* Runs every check in one read transaction (a consistent snapshot). NULL only when the store
 * could not be read; a failed check is a report with ok = FALSE. */
KmgAuditReport *kmg_audit_run (KmgDb *db, GError **error);

/* Adds the check of the anchors in @path to @report (ok turns FALSE on a bad anchor). FALSE when
 * the file cannot be read. */
gboolean kmg_audit_check_anchors (KmgAuditReport *report, KmgDb *db, const char *path, GError **error);


G_END_DECLS
