/* kmg-wallet.c — wallet queries: O(1) balance and keyset-paged transfer history.
 * Read-only. */

#include "kmg-wallet.h"

static void
entry_clear (gpointer p)
{
  g_free (((KmgWalletEntry *) p)->memo);
}

void
kmg_wallet_page_free (KmgWalletPage *page)
{
  if (page == NULL)
    return;
  g_clear_pointer (&page->entries, g_array_unref);
  g_free (page);
}

static gboolean
read_balance (KmgDb *db, gint64 user_id, gint64 *out, GError **error)
{
  g_autoptr (KmgDbStmt) st = kmg_db_prepare (db, "SELECT balance FROM accounts WHERE id = ?1", error);
  int rc;

  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (kmg_db_stmt_raw (st), 1, user_id);
  if ((rc = kmg_db_step (st, error)) < 0)
    return FALSE;
  *out = rc == SQLITE_ROW ? sqlite3_column_int64 (kmg_db_stmt_raw (st), 0) : 0;
  return TRUE;
}

KmgWalletPage *
kmg_wallet_page (KmgDb *db, gint64 user_id, gint64 before_id, guint limit, GError **error)
{
  /* The UNION lets each side use its (account, id) index. */
  g_autoptr (KmgDbStmt) st = kmg_db_prepare (
    db,
    "SELECT id, created_at, kind, amount, IFNULL (session_id, 0), IFNULL (minute_index, -1), "
    "memo, credit_account = ?1 FROM ("
    " SELECT * FROM transfers WHERE debit_account = ?1 AND id < ?2"
    " UNION ALL SELECT * FROM transfers WHERE credit_account = ?1 AND id < ?2"
    ") ORDER BY id DESC LIMIT ?3",
    error);
  g_autoptr (KmgWalletPage) page = g_new0 (KmgWalletPage, 1);
  sqlite3_stmt *raw;
  guint want = CLAMP (limit, 1, 100);
  int rc;

  if (st == NULL || !read_balance (db, user_id, &page->balance, error))
    return NULL;
  page->entries = g_array_new (FALSE, FALSE, sizeof (KmgWalletEntry));
  g_array_set_clear_func (page->entries, entry_clear);
  raw = kmg_db_stmt_raw (st);
  sqlite3_bind_int64 (raw, 1, user_id);
  sqlite3_bind_int64 (raw, 2, before_id > 0 ? before_id : G_MAXINT64);
  sqlite3_bind_int (raw, 3, (int) want + 1); /* one more tells whether a next page exists */
  while ((rc = kmg_db_step (st, error)) == SQLITE_ROW)
    {
      KmgWalletEntry e = { 0 };
      if (page->entries->len == want)
        {
          page->next_before_id = g_array_index (page->entries, KmgWalletEntry, want - 1).transfer_id;
          continue;
        }
      e.transfer_id = sqlite3_column_int64 (raw, 0);
      e.created_at = sqlite3_column_int64 (raw, 1);
      kmg_transfer_kind_from_string ((const char *) sqlite3_column_text (raw, 2), &e.kind);
      e.amount = sqlite3_column_int64 (raw, 3) * (sqlite3_column_int (raw, 7) ? 1 : -1);
      e.session_id = sqlite3_column_int64 (raw, 4);
      e.minute_index = sqlite3_column_int64 (raw, 5);
      e.memo = g_strdup ((const char *) sqlite3_column_text (raw, 6));
      g_array_append_val (page->entries, e);
    }
  if (rc < 0)
    return NULL;
  return g_steal_pointer (&page);
}
