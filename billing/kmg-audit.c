/* kmg-audit.c — the auditor's checks, read-only, over one snapshot of the database.
 * Recomputes everything from the transfers and evidence; trusts no stored summary. */

#include "kmg-audit.h"
#include "kmg-audit-evidence.h"

#include "kmg-canon.h"
#include "kmg-charging.h"

#include <json-glib/json-glib.h>
#include <string.h>


static void
bad_transfer (KmgAuditReport *r, gint64 id, const char *why)
{
  r->bad_transfers++;
  if (r->first_bad_transfer == 0)
    {
      r->first_bad_transfer = id;
      r->first_bad_reason = g_strdup (why);
    }
  kmg_audit_report_add_problem (r, "transfer %" G_GINT64_FORMAT ": %s", id, why);
}

/* Running sum per account; flags a non-external account dipping below zero. */
static void
move (KmgAuditReport *r, GHashTable *sums, gint64 account, gint64 delta, gint64 id)
{
  gint64 *v = g_hash_table_lookup (sums, &account);

  if (v == NULL)
    {
      v = g_new0 (gint64, 2); /* [0] account id (the key), [1] sum */
      v[0] = account;
      g_hash_table_insert (sums, &v[0], v);
    }
  v[1] += delta;
  if (v[1] < 0 && account != KMG_ACCOUNT_EXTERNAL)
    {
      r->negative_balances++;
      kmg_audit_report_add_problem (r, "account %" G_GINT64_FORMAT " is negative (%" G_GINT64_FORMAT
                  ") after transfer %" G_GINT64_FORMAT,
               account, v[1], id);
    }
}

static void
check_row (KmgAuditReport *r, sqlite3_stmt *raw, gint64 expect_id, const char *prev,
           GString *buf)
{
  KmgTransferRow row = { 0 };
  const char *content = (const char *) sqlite3_column_text (raw, 10);
  const char *prev_hash = (const char *) sqlite3_column_text (raw, 11);
  const char *hash = (const char *) sqlite3_column_text (raw, 12);
  char want[KMG_HASH_HEX_LEN + 1];

  row.id = sqlite3_column_int64 (raw, 0);
  row.debit_account = sqlite3_column_int64 (raw, 1);
  row.credit_account = sqlite3_column_int64 (raw, 2);
  row.amount = sqlite3_column_int64 (raw, 3);
  row.idempotency_key = (const char *) sqlite3_column_text (raw, 5);
  row.session_id = sqlite3_column_int64 (raw, 6);
  row.minute_index = sqlite3_column_int64 (raw, 7);
  row.memo = (const char *) sqlite3_column_text (raw, 8);
  row.created_at = sqlite3_column_int64 (raw, 9);
  if (!kmg_transfer_kind_from_string ((const char *) sqlite3_column_text (raw, 4), &row.kind))
    return bad_transfer (r, row.id, "unknown kind");
  if (row.id != expect_id)
    return bad_transfer (r, row.id, "id out of sequence (a row is missing or inserted)");
  if (g_strcmp0 (prev_hash, prev) != 0)
    return bad_transfer (r, row.id, "prev_hash does not match the previous row's hash");
  kmg_transfer_canonical (&row, buf);
  if (g_strcmp0 (content, buf->str) != 0)
    return bad_transfer (r, row.id, "columns do not match the hashed content");
  kmg_transfer_hash (prev_hash, content, strlen (content), want);
  if (g_strcmp0 (hash, want) != 0)
    return bad_transfer (r, row.id, "hash does not match SHA-256(prev_hash || content)");
}

static gboolean
check_chain (KmgDb *db, KmgAuditReport *r, GHashTable *sums, GError **error)
{
  g_autoptr (KmgDbStmt) st = kmg_db_prepare (
    db,
    "SELECT id, debit_account, credit_account, amount, kind, idempotency_key, "
    "IFNULL (session_id, 0), IFNULL (minute_index, -1), memo, created_at, content, prev_hash, "
    "hash FROM transfers ORDER BY id",
    error);
  g_autoptr (GString) buf = g_string_new (NULL);
  char prev[KMG_HASH_HEX_LEN + 1] = KMG_GENESIS_HASH;
  gint64 expect_id = 1;
  sqlite3_stmt *raw;
  int rc;

  if (st == NULL)
    return FALSE;
  raw = kmg_db_stmt_raw (st);
  while ((rc = kmg_db_step (st, error)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (raw, 0);
      gint64 amount = sqlite3_column_int64 (raw, 3);
      const char *hash = (const char *) sqlite3_column_text (raw, 12);

      r->transfers++;
      check_row (r, raw, expect_id, prev, buf);
      /* Continue from the stored hash so one edited row is reported once, not forever. */
      g_strlcpy (prev, hash ? hash : "", sizeof prev);
      expect_id = id + 1;
      move (r, sums, sqlite3_column_int64 (raw, 1), -amount, id);
      move (r, sums, sqlite3_column_int64 (raw, 2), amount, id);
    }
  return rc == SQLITE_DONE;
}

static gboolean
check_balances (KmgDb *db, KmgAuditReport *r, GHashTable *sums, GError **error)
{
  g_autoptr (KmgDbStmt) st = kmg_db_prepare (db, "SELECT id, balance FROM accounts ORDER BY id", error);
  sqlite3_stmt *raw;
  int rc;

  if (st == NULL)
    return FALSE;
  raw = kmg_db_stmt_raw (st);
  while ((rc = kmg_db_step (st, error)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (raw, 0), balance = sqlite3_column_int64 (raw, 1);
      gint64 *v = g_hash_table_lookup (sums, &id);
      gint64 sum = v ? v[1] : 0;

      r->accounts++;
      r->ledger_sum += balance;
      if (v)
        g_hash_table_remove (sums, &id);
      if (balance != sum)
        {
          if (r->balance_mismatches++ == 0)
            r->first_balance_mismatch = id;
          kmg_audit_report_add_problem (r, "account %" G_GINT64_FORMAT " balance %" G_GINT64_FORMAT
                      " but its transfers sum to %" G_GINT64_FORMAT,
                   id, balance, sum);
        }
      if (balance < 0 && id != KMG_ACCOUNT_EXTERNAL)
        {
          r->negative_balances++;
          kmg_audit_report_add_problem (r, "account %" G_GINT64_FORMAT " has a negative balance", id);
        }
    }
  if (rc != SQLITE_DONE)
    return FALSE;
  if (r->ledger_sum != 0)
    kmg_audit_report_add_problem (r, "balances sum to %" G_GINT64_FORMAT ", not 0", r->ledger_sum);
  if (g_hash_table_size (sums) > 0)
    {
      r->balance_mismatches += g_hash_table_size (sums);
      kmg_audit_report_add_problem (r, "%u accounts appear in transfers but not in accounts", g_hash_table_size (sums));
    }
  return TRUE;
}

static gboolean
check_duplicates (KmgDb *db, KmgAuditReport *r, GError **error)
{
  g_autoptr (KmgDbStmt) st = kmg_db_prepare (
    db,
    "SELECT session_id, minute_index, credit_account, COUNT (*) FROM transfers "
    "WHERE kind = 'charge' GROUP BY session_id, minute_index, credit_account HAVING COUNT (*) > 1",
    error);
  sqlite3_stmt *raw;
  int rc;

  if (st == NULL)
    return FALSE;
  raw = kmg_db_stmt_raw (st);
  while ((rc = kmg_db_step (st, error)) == SQLITE_ROW)
    {
      r->duplicate_charges++;
      kmg_audit_report_add_problem (r, "session %" G_GINT64_FORMAT " minute %" G_GINT64_FORMAT
                  " charged %d times to account %" G_GINT64_FORMAT,
               (gint64) sqlite3_column_int64 (raw, 0), (gint64) sqlite3_column_int64 (raw, 1),
               sqlite3_column_int (raw, 3), (gint64) sqlite3_column_int64 (raw, 2));
    }
  return rc == SQLITE_DONE;
}

KmgAuditReport *
kmg_audit_run (KmgDb *db, GError **error)
{
  g_autoptr (KmgAuditReport) r = g_new0 (KmgAuditReport, 1);
  g_autoptr (GHashTable) sums = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  gboolean done;

  r->ok = TRUE;
  r->problems = g_ptr_array_new_with_free_func (g_free);
  /* A deferred read transaction: every query below sees the same snapshot, and nothing is
   * written (the database may be opened read-only). */
  if (!kmg_db_exec (db, "BEGIN", error))
    return NULL;
  done = check_chain (db, r, sums, error) && check_balances (db, r, sums, error)
         && check_duplicates (db, r, error) && kmg_audit_check_evidence (db, r, error);
  kmg_db_exec (db, "ROLLBACK", NULL);
  if (!done)
    return NULL;
  return g_steal_pointer (&r);
}

gboolean
kmg_audit_check_anchors (KmgAuditReport *r, KmgDb *db, const char *path, GError **error)
{
  KmgAnchorCheck check;

  if (!kmg_anchor_check (db, path, &check, error))
    return FALSE;
  r->anchors_checked = TRUE;
  r->anchors = check.anchors;
  r->bad_anchors = check.bad;
  r->first_bad_anchor = check.first_bad_id;
  g_free (r->first_bad_anchor_reason);
  r->first_bad_anchor_reason = g_strdup (check.first_bad_reason);
  if (check.bad > 0)
    kmg_audit_report_add_problem (r, "%s", check.first_bad_reason);
  if (check.malformed > 0)
    kmg_audit_report_add_problem (r, "%u lines of %s are not anchors", check.malformed, path);
  kmg_anchor_check_clear (&check);
  return TRUE;
}
