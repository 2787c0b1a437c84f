/* ctl-billing.h — kamegorctl's billing commands: audit, grant, export of a session's evidence.
 * Each returns the process exit code: 0 success, 1 audit failed, 2 error (message on stderr). */
#pragma once

#include <stdio.h>

#include "kmg-db.h"

G_BEGIN_DECLS

/* `kamegorctl audit [--json] [--anchors FILE]`: read-only; prints the report to stdout.
 * 0 = ledger verified. @anchors: the anchor file to check; it must exist when @required, else
 * it is checked only if present. */
int kmg_ctl_audit (KmgDb *db, gboolean json, const char *anchors, gboolean required);
/* `kamegorctl grant USER AMOUNT REASON`: credits from the external account, recorded as an
 * admin action done from the command line; the new chain head goes to @anchors as kamegord's do. */
int kmg_ctl_grant (KmgDb *db, gint64 user, gint64 amount, const char *reason, const char *anchors);
/* `kamegorctl export-session ID`: the session's measured minutes as CSV on @out. */
int kmg_ctl_export_session (KmgDb *db, gint64 session_id, FILE *out);

G_END_DECLS
