/* kmg-session-rows.c — SQL for watch_sessions: create, path, close, read, crash recovery.
 * Charged minutes are bumped by the ledger in the charge's own transaction, never here. */

#include "kmg-session-rows.h"

#include <string.h>

void
kmg_session_row_free (KmgSessionRow *info)
{
  if (info == NULL)
    return;
  g_free (info->path);
  g_free (info->end_reason);
  g_free (info);
}

gint64
kmg_session_rows_insert (KmgDb *db, gint64 buyer_id, gint64 seller_id, gint64 price,
                     const KmgBillingRules *rules, gint64 now_ms, GError **error)
{
  g_autoptr (KmgDbStmt) st = kmg_db_prepare (
    db,
    "INSERT INTO watch_sessions (buyer_id, seller_id, price_per_minute, fee_pct, "
    "min_billable_s, minute_s, started_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    error);
  sqlite3_stmt *raw;

  if (st == NULL)
    return 0;
  raw = kmg_db_stmt_raw (st);
  sqlite3_bind_int64 (raw, 1, buyer_id);
  sqlite3_bind_int64 (raw, 2, seller_id);
  sqlite3_bind_int64 (raw, 3, price);
  sqlite3_bind_int64 (raw, 4, rules->fee_pct);
  sqlite3_bind_int64 (raw, 5, rules->min_billable_s);
  sqlite3_bind_int64 (raw, 6, rules->minute_s);
  sqlite3_bind_int64 (raw, 7, now_ms / 1000);
  if (kmg_db_step (st, error) < 0)
    return 0;
  return kmg_db_last_insert_rowid (db);
}

gboolean
kmg_session_rows_set_path (KmgDb *db, gint64 session_id, const char *path, GError **error)
{
  g_autoptr (KmgDbStmt) st = NULL;

  if (g_strcmp0 (path, "p2p") != 0 && g_strcmp0 (path, "relay") != 0)
    {
      g_set_error_literal (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_INVALID,
                           "path must be p2p or relay");
      return FALSE;
    }
  st = kmg_db_prepare (db, "UPDATE watch_sessions SET path = ?2 WHERE id = ?1", error);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (kmg_db_stmt_raw (st), 1, session_id);
  sqlite3_bind_text (kmg_db_stmt_raw (st), 2, path, -1, SQLITE_STATIC);
  if (kmg_db_step (st, error) < 0)
    return FALSE;
  if (kmg_db_changes (db) == 1)
    return TRUE;
  g_set_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_NOT_FOUND,
               "no session %" G_GINT64_FORMAT, session_id);
  return FALSE;
}

gboolean
kmg_session_rows_close (KmgDb *db, gint64 session_id, const char *reason, guint64 delivered_seconds,
                    gint64 now_ms, GError **error)
{
  g_autoptr (KmgDbStmt) st = NULL;
  g_autoptr (KmgSessionRow) info = NULL;

  if (reason == NULL || *reason == '\0' || strlen (reason) > 64)
    {
      g_set_error_literal (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_INVALID,
                           "end reason must be 1..64 bytes");
      return FALSE;
    }
  st = kmg_db_prepare (db,
                       "UPDATE watch_sessions SET ended_at = ?2, end_reason = ?3, "
                       "delivered_seconds = MAX (delivered_seconds, ?4) "
                       "WHERE id = ?1 AND ended_at IS NULL",
                       error);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (kmg_db_stmt_raw (st), 1, session_id);
  sqlite3_bind_int64 (kmg_db_stmt_raw (st), 2, now_ms / 1000);
  sqlite3_bind_text (kmg_db_stmt_raw (st), 3, reason, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (kmg_db_stmt_raw (st), 4, (gint64) MIN (delivered_seconds, G_MAXINT64));
  if (kmg_db_step (st, error) < 0)
    return FALSE;
  if (kmg_db_changes (db) == 1)
    return TRUE;
  info = kmg_session_rows_get (db, session_id, error);
  if (info != NULL)
    g_set_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_SESSION_ENDED,
                 "session %" G_GINT64_FORMAT " already ended (%s)", session_id, info->end_reason);
  return FALSE;
}

KmgSessionRow *
kmg_session_rows_get (KmgDb *db, gint64 session_id, GError **error)
{
  g_autoptr (KmgDbStmt) st = kmg_db_prepare (
    db,
    "SELECT buyer_id, seller_id, price_per_minute, fee_pct, min_billable_s, minute_s, path, "
    "started_at, IFNULL (ended_at, 0), end_reason, delivered_seconds, charged_minutes "
    "FROM watch_sessions WHERE id = ?1",
    error);
  sqlite3_stmt *raw;
  KmgSessionRow *info;
  int rc;

  if (st == NULL)
    return NULL;
  raw = kmg_db_stmt_raw (st);
  sqlite3_bind_int64 (raw, 1, session_id);
  if ((rc = kmg_db_step (st, error)) < 0)
    return NULL;
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_NOT_FOUND,
                   "no session %" G_GINT64_FORMAT, session_id);
      return NULL;
    }
  info = g_new0 (KmgSessionRow, 1);
  info->id = session_id;
  info->buyer_id = sqlite3_column_int64 (raw, 0);
  info->seller_id = sqlite3_column_int64 (raw, 1);
  info->price_per_minute = sqlite3_column_int64 (raw, 2);
  info->fee_pct = (guint) sqlite3_column_int (raw, 3);
  info->min_billable_s = (guint) sqlite3_column_int (raw, 4);
  info->minute_s = (guint) sqlite3_column_int (raw, 5);
  info->path = g_strdup ((const char *) sqlite3_column_text (raw, 6));
  info->started_at = sqlite3_column_int64 (raw, 7);
  info->ended_at = sqlite3_column_int64 (raw, 8);
  info->end_reason = g_strdup ((const char *) sqlite3_column_text (raw, 9));
  info->delivered_seconds = (guint64) sqlite3_column_int64 (raw, 10);
  info->charged_minutes = (guint) sqlite3_column_int (raw, 11);
  return info;
}

gint
kmg_billing_recover (KmgDb *db, gint64 now_ms, GError **error)
{
  g_autoptr (KmgDbStmt) st = NULL;
  int closed;

  /* Seconds delivered after the last charged minute were never persisted as charges and are
   * not charged now: a restart may only ever cost the seller, never the buyer twice. */
  if (!kmg_db_begin (db, error))
    return -1;
  st = kmg_db_prepare (db,
                       "UPDATE watch_sessions SET ended_at = ?1, end_reason = 'server_restart' "
                       "WHERE ended_at IS NULL",
                       error);
  if (st == NULL)
    {
      kmg_db_rollback (db);
      return -1;
    }
  sqlite3_bind_int64 (kmg_db_stmt_raw (st), 1, now_ms / 1000);
  if (kmg_db_step (st, error) < 0)
    {
      kmg_db_rollback (db);
      return -1;
    }
  closed = kmg_db_changes (db);
  if (!kmg_db_commit (db, error))
    return -1;
  if (closed > 0)
    g_info ("closed %d watch sessions left active by the previous run", closed);
  return closed;
}
