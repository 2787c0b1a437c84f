/* kmg-ledger-rows.h — the rows a charge batch appends (transfers and evidence), written many per
 * statement. Private to the ledger; runs inside the ledger's open transaction. */
#pragma once

#include "kmg-canon.h"
#include "kmg-charging.h"
#include "kmg-db.h"

G_BEGIN_DECLS

typedef struct _KmgLedgerRows KmgLedgerRows;

KmgLedgerRows *kmg_ledger_rows_new (void);
void kmg_ledger_rows_free (KmgLedgerRows *rows);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgLedgerRows, kmg_ledger_rows_free)

/* Forgets rows not yet written (after a rollback). */
void kmg_ledger_rows_clear (KmgLedgerRows *rows);

/* Queues a transfer row with its canonical @content and chain hashes (all copied); writes a
 * full chunk when one is ready. */
gboolean kmg_ledger_rows_add_transfer (KmgLedgerRows *rows, KmgDb *db, const KmgTransferRow *row,
                                       const GString *content, const char *prev_hash,
                                       const char *hash, GError **error);
/* Queues the evidence row of a charged minute; writes a full chunk when one is ready. */
gboolean kmg_ledger_rows_add_evidence (KmgLedgerRows *rows, KmgDb *db, gint64 session_id,
                                       const KmgMinuteEvidence *evidence, gint64 created_at,
                                       GError **error);
/* Writes every queued row. Call before anything reads the tables and before COMMIT. */
gboolean kmg_ledger_rows_flush (KmgLedgerRows *rows, KmgDb *db, GError **error);

G_END_DECLS
