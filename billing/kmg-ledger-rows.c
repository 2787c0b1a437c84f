/* kmg-ledger-rows.c — multi-row INSERTs for the rows of a charge batch. Each statement run has a
 * fixed cost (VDBE setup, statement journal, constraint tables), so rows go CHUNK at a time. */

#include "kmg-ledger-rows.h"

#define CHUNK 32
#define N_COLS 13 /* both tables */

static const char TRANSFER_COLS[]
  = "transfers (id, debit_account, credit_account, amount, kind, idempotency_key, session_id, "
    "minute_index, memo, created_at, content, prev_hash, hash)";
static const char EVIDENCE_COLS[]
  = "measured_minutes (session_id, minute_index, source, first_second, last_second, "
    "delivered_seconds, total_seconds, packets, bytes, loss, jitter_ms, rtt_ms, created_at)";

typedef struct
{
  KmgTransferRow row; /* idempotency_key and memo point into key and memo */
  GString *key;
  GString *memo;
  GString *content;
  char prev_hash[KMG_HASH_HEX_LEN + 1];
  char hash[KMG_HASH_HEX_LEN + 1];
} TransferSlot;

typedef struct
{
  gint64 session_id;
  KmgMinuteEvidence e;
  gint64 created_at;
} EvidenceSlot;

struct _KmgLedgerRows
{
  TransferSlot transfers[CHUNK];
  guint n_transfers;
  EvidenceSlot evidence[CHUNK];
  guint n_evidence;
  char *transfer_sql[2]; /* one row, CHUNK rows */
  char *evidence_sql[2];
};

static char *
insert_sql (const char *table_cols, guint n_rows)
{
  GString *s = g_string_new ("INSERT INTO ");

  g_string_append (s, table_cols);
  g_string_append (s, " VALUES ");
  for (guint r = 0; r < n_rows; r++)
    {
      g_string_append (s, r == 0 ? "(" : ", (");
      for (guint c = 0; c < N_COLS; c++)
        g_string_append (s, c == 0 ? "?" : ", ?");
      g_string_append_c (s, ')');
    }
  return g_string_free (s, FALSE);
}

KmgLedgerRows *
kmg_ledger_rows_new (void)
{
  KmgLedgerRows *rows = g_new0 (KmgLedgerRows, 1);

  for (guint i = 0; i < CHUNK; i++)
    {
      rows->transfers[i].key = g_string_sized_new (96);
      rows->transfers[i].memo = g_string_sized_new (16);
      rows->transfers[i].content = g_string_sized_new (256);
    }
  rows->transfer_sql[0] = insert_sql (TRANSFER_COLS, 1);
  rows->transfer_sql[1] = insert_sql (TRANSFER_COLS, CHUNK);
  rows->evidence_sql[0] = insert_sql (EVIDENCE_COLS, 1);
  rows->evidence_sql[1] = insert_sql (EVIDENCE_COLS, CHUNK);
  return rows;
}

void
kmg_ledger_rows_free (KmgLedgerRows *rows)
{
  if (rows == NULL)
    return;
  for (guint i = 0; i < CHUNK; i++)
    {
      g_string_free (rows->transfers[i].key, TRUE);
      g_string_free (rows->transfers[i].memo, TRUE);
      g_string_free (rows->transfers[i].content, TRUE);
    }
  for (guint i = 0; i < 2; i++)
    {
      g_free (rows->transfer_sql[i]);
      g_free (rows->evidence_sql[i]);
    }
  g_free (rows);
}

void
kmg_ledger_rows_clear (KmgLedgerRows *rows)
{
  rows->n_transfers = 0;
  rows->n_evidence = 0;
}

static void
bind_transfer (sqlite3_stmt *st, int base, gconstpointer slot)
{
  const TransferSlot *s = slot;
  const KmgTransferRow *r = &s->row;

  sqlite3_bind_int64 (st, base + 1, r->id);
  sqlite3_bind_int64 (st, base + 2, r->debit_account);
  sqlite3_bind_int64 (st, base + 3, r->credit_account);
  sqlite3_bind_int64 (st, base + 4, r->amount);
  sqlite3_bind_text (st, base + 5, kmg_transfer_kind_to_string (r->kind), -1, SQLITE_STATIC);
  sqlite3_bind_text (st, base + 6, s->key->str, (int) s->key->len, SQLITE_STATIC);
  if (r->session_id > 0)
    sqlite3_bind_int64 (st, base + 7, r->session_id);
  else
    sqlite3_bind_null (st, base + 7);
  if (r->minute_index >= 0)
    sqlite3_bind_int64 (st, base + 8, r->minute_index);
  else
    sqlite3_bind_null (st, base + 8);
  sqlite3_bind_text (st, base + 9, s->memo->str, (int) s->memo->len, SQLITE_STATIC);
  sqlite3_bind_int64 (st, base + 10, r->created_at);
  sqlite3_bind_text (st, base + 11, s->content->str, (int) s->content->len, SQLITE_STATIC);
  sqlite3_bind_text (st, base + 12, s->prev_hash, KMG_HASH_HEX_LEN, SQLITE_STATIC);
  sqlite3_bind_text (st, base + 13, s->hash, KMG_HASH_HEX_LEN, SQLITE_STATIC);
}

static void
bind_optional_double (sqlite3_stmt *st, int i, double v)
{
  if (v >= 0)
    sqlite3_bind_double (st, i, v);
  else
    sqlite3_bind_null (st, i);
}

static void
bind_evidence (sqlite3_stmt *st, int base, gconstpointer slot)
{
  const EvidenceSlot *s = slot;
  const KmgMinuteEvidence *e = &s->e;

  sqlite3_bind_int64 (st, base + 1, s->session_id);
  sqlite3_bind_int64 (st, base + 2, e->minute_index);
  sqlite3_bind_text (st, base + 3, kmg_delivery_source_to_string (e->source), -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, base + 4, e->first_second);
  sqlite3_bind_int64 (st, base + 5, e->last_second);
  sqlite3_bind_int64 (st, base + 6, e->delivered_seconds);
  sqlite3_bind_int64 (st, base + 7, (gint64) e->total_seconds);
  sqlite3_bind_int64 (st, base + 8, (gint64) MIN (e->packets, (guint64) G_MAXINT64));
  sqlite3_bind_int64 (st, base + 9, (gint64) MIN (e->bytes, (guint64) G_MAXINT64));
  sqlite3_bind_double (st, base + 10, e->loss);
  bind_optional_double (st, base + 11, e->jitter_ms);
  bind_optional_double (st, base + 12, e->rtt_ms);
  sqlite3_bind_int64 (st, base + 13, s->created_at);
}

typedef void (*BindFunc) (sqlite3_stmt *st, int base, gconstpointer slot);

/* Writes @n queued slots: one CHUNK-row statement when full, else one statement per row. */
static gboolean
write_slots (KmgDb *db, char *const sql[2], const guint8 *slots, gsize slot_size, guint n,
             BindFunc bind, GError **error)
{
  guint per = n == CHUNK ? CHUNK : 1;

  for (guint done = 0; done < n; done += per)
    {
      g_autoptr (KmgDbStmt) st = kmg_db_prepare (db, sql[per == CHUNK], error);

      if (st == NULL)
        return FALSE;
      for (guint r = 0; r < per; r++)
        bind (kmg_db_stmt_raw (st), (int) (r * N_COLS), slots + (done + r) * slot_size);
      if (kmg_db_step (st, error) < 0)
        return FALSE;
    }
  return TRUE;
}

static gboolean
write_transfers (KmgLedgerRows *rows, KmgDb *db, GError **error)
{
  guint n = rows->n_transfers;

  rows->n_transfers = 0;
  return write_slots (db, rows->transfer_sql, (const guint8 *) rows->transfers,
                      sizeof (TransferSlot), n, bind_transfer, error);
}

static gboolean
write_evidence (KmgLedgerRows *rows, KmgDb *db, GError **error)
{
  guint n = rows->n_evidence;

  rows->n_evidence = 0;
  return write_slots (db, rows->evidence_sql, (const guint8 *) rows->evidence,
                      sizeof (EvidenceSlot), n, bind_evidence, error);
}

gboolean
kmg_ledger_rows_add_transfer (KmgLedgerRows *rows, KmgDb *db, const KmgTransferRow *row,
                              const GString *content, const char *prev_hash, const char *hash,
                              GError **error)
{
  TransferSlot *s = &rows->transfers[rows->n_transfers++];

  s->row = *row;
  g_string_assign (s->key, row->idempotency_key);
  g_string_assign (s->memo, row->memo ? row->memo : "");
  g_string_truncate (s->content, 0);
  g_string_append_len (s->content, content->str, (gssize) content->len);
  g_strlcpy (s->prev_hash, prev_hash, sizeof s->prev_hash);
  g_strlcpy (s->hash, hash, sizeof s->hash);
  s->row.idempotency_key = s->key->str;
  s->row.memo = s->memo->str;
  return rows->n_transfers < CHUNK || write_transfers (rows, db, error);
}

gboolean
kmg_ledger_rows_add_evidence (KmgLedgerRows *rows, KmgDb *db, gint64 session_id,
                              const KmgMinuteEvidence *evidence, gint64 created_at,
                              GError **error)
{
  EvidenceSlot *s = &rows->evidence[rows->n_evidence++];

  s->session_id = session_id;
  s->e = *evidence;
  s->created_at = created_at;
  return rows->n_evidence < CHUNK || write_evidence (rows, db, error);
}

gboolean
kmg_ledger_rows_flush (KmgLedgerRows *rows, KmgDb *db, GError **error)
{
  return write_transfers (rows, db, error) && write_evidence (rows, db, error);
}
