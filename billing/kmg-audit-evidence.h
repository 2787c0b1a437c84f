/* kmg-audit-evidence.h — the audit's re-derivation of every charge from its measured-minute
 * evidence with the engine's own pure rules (kmg-charging.h). Used by kmg-audit.c. */
#pragma once

#include "kmg-audit-report.h"
#include "kmg-db.h"

G_BEGIN_DECLS

/* Re-derives every session's charges from its measured-minute evidence and compares. */
gboolean kmg_audit_check_evidence (KmgDb *db, KmgAuditReport *report, GError **error);

G_END_DECLS
