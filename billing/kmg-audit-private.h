/* kmg-audit-private.h — the pieces of the audit shared between its two source files.
 * Not installed, not for other modules. */
#pragma once

#include "kmg-audit.h"

G_BEGIN_DECLS

void kmg_audit_evidence_mismatch (KmgAuditReport *r, gint64 session_id, const char *why);
/* Re-derives every session's charges from its measured-minute evidence and compares. */
gboolean kmg_audit_check_evidence (KmgDb *db, KmgAuditReport *r, GError **error);

G_END_DECLS
