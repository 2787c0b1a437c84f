/* kmg-ratings.c — SQL for ratings, the seller summary (feeding the pure reputation formula)
 * and the anonymous history list. */

#include "kmg-ratings.h"

static gboolean
check_rateable (KmgDb *db, gint64 session_id, gint64 buyer_id, gint64 *seller_id, GError **error)
{
  g_autoptr (KmgDbStmt) st = kmg_db_prepare (
    db,
    "SELECT buyer_id, seller_id, ended_at IS NOT NULL, charged_minutes, "
    "EXISTS (SELECT 1 FROM ratings WHERE session_id = ?1) FROM watch_sessions WHERE id = ?1",
    error);
  sqlite3_stmt *raw;
  int rc;

  if (st == NULL)
    return FALSE;
  raw = kmg_db_stmt_raw (st);
  sqlite3_bind_int64 (raw, 1, session_id);
  if ((rc = kmg_db_step (st, error)) < 0)
    return FALSE;
  if (rc == SQLITE_DONE)
    g_set_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_NOT_FOUND,
                 "no session %" G_GINT64_FORMAT, session_id);
  else if (sqlite3_column_int64 (raw, 0) != buyer_id)
    g_set_error_literal (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_FORBIDDEN,
                         "only the buyer of a session may rate it");
  else if (!sqlite3_column_int (raw, 2) || sqlite3_column_int (raw, 3) < 1)
    g_set_error_literal (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_NOT_RATEABLE,
                         "only an ended session with at least one billed minute can be rated");
  else if (sqlite3_column_int (raw, 4))
    g_set_error_literal (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_ALREADY_RATED,
                         "this session is already rated");
  else
    {
      *seller_id = sqlite3_column_int64 (raw, 1);
      return TRUE;
    }
  return FALSE;
}

gboolean
kmg_ratings_rate (KmgDb *db, gint64 session_id, gint64 buyer_id, guint stars, gint64 now_ms,
                  GError **error)
{
  g_autoptr (KmgDbStmt) st = NULL;
  gint64 seller_id = 0;
  sqlite3_stmt *raw;

  if (stars < 1 || stars > 5)
    {
      g_set_error_literal (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_INVALID,
                           "stars must be 1..5");
      return FALSE;
    }
  if (!kmg_db_begin (db, error))
    return FALSE;
  if (!check_rateable (db, session_id, buyer_id, &seller_id, error))
    goto fail;
  st = kmg_db_prepare (db,
                       "INSERT INTO ratings (session_id, buyer_id, seller_id, stars, created_at) "
                       "VALUES (?1, ?2, ?3, ?4, ?5)",
                       error);
  if (st == NULL)
    goto fail;
  raw = kmg_db_stmt_raw (st);
  sqlite3_bind_int64 (raw, 1, session_id);
  sqlite3_bind_int64 (raw, 2, buyer_id);
  sqlite3_bind_int64 (raw, 3, seller_id);
  sqlite3_bind_int (raw, 4, (int) stars);
  sqlite3_bind_int64 (raw, 5, now_ms / 1000);
  if (kmg_db_step (st, error) < 0)
    goto fail;
  g_clear_pointer (&st, kmg_db_stmt_release);
  return kmg_db_commit (db, error);

fail:
  kmg_db_rollback (db);
  return FALSE;
}

gboolean
kmg_ratings_seller_summary (KmgDb *db, gint64 seller_id, KmgReputation *out, GError **error)
{
  /* Weights are summed as integers (minutes capped at the full-weight cap) and scaled after. */
  g_autoptr (KmgDbStmt) st = kmg_db_prepare (
    db,
    "SELECT COUNT (r.id), IFNULL (SUM (r.stars), 0), "
    "IFNULL (SUM (MIN (s.charged_minutes, ?2) * r.stars), 0), "
    "IFNULL (SUM (MIN (s.charged_minutes, ?2)), 0), "
    "(SELECT IFNULL (SUM (charged_minutes), 0) FROM watch_sessions WHERE seller_id = ?1) "
    "FROM ratings r JOIN watch_sessions s ON s.id = r.session_id WHERE r.seller_id = ?1",
    error);
  sqlite3_stmt *raw;
  double scale = KMG_REPUTATION_FULL_WEIGHT_MINUTES;

  if (st == NULL)
    return FALSE;
  raw = kmg_db_stmt_raw (st);
  sqlite3_bind_int64 (raw, 1, seller_id);
  sqlite3_bind_int (raw, 2, KMG_REPUTATION_FULL_WEIGHT_MINUTES);
  if (kmg_db_step (st, error) != SQLITE_ROW)
    return FALSE;
  kmg_reputation_compute ((guint) sqlite3_column_int64 (raw, 0),
                          (guint64) sqlite3_column_int64 (raw, 1),
                          (double) sqlite3_column_int64 (raw, 2) / scale,
                          (double) sqlite3_column_int64 (raw, 3) / scale,
                          (guint64) sqlite3_column_int64 (raw, 4), out);
  return TRUE;
}

GArray *
kmg_ratings_history (KmgDb *db, gint64 seller_id, guint offset, guint limit, GError **error)
{
  g_autoptr (KmgDbStmt) st = kmg_db_prepare (
    db,
    "SELECT s.started_at, s.charged_minutes, IFNULL (r.stars, 0) FROM watch_sessions s "
    "LEFT JOIN ratings r ON r.session_id = s.id "
    "WHERE s.seller_id = ?1 AND s.charged_minutes >= 1 AND s.ended_at IS NOT NULL "
    "ORDER BY s.id DESC LIMIT ?2 OFFSET ?3",
    error);
  g_autoptr (GArray) rows = g_array_new (FALSE, FALSE, sizeof (KmgHistoryRow));
  sqlite3_stmt *raw;
  int rc;

  if (st == NULL)
    return NULL;
  raw = kmg_db_stmt_raw (st);
  sqlite3_bind_int64 (raw, 1, seller_id);
  sqlite3_bind_int (raw, 2, (int) CLAMP (limit, 1, 100));
  sqlite3_bind_int64 (raw, 3, offset);
  while ((rc = kmg_db_step (st, error)) == SQLITE_ROW)
    {
      KmgHistoryRow r = {
        .started_at = sqlite3_column_int64 (raw, 0),
        .minutes = (guint) sqlite3_column_int (raw, 1),
        .stars = (guint) sqlite3_column_int (raw, 2),
      };
      g_array_append_val (rows, r);
    }
  if (rc < 0)
    return NULL;
  return g_steal_pointer (&rows);
}

char *
kmg_history_row_format (const KmgHistoryRow *row)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (row->started_at);
  g_autofree char *date = dt ? g_date_time_format (dt, "%Y-%m-%d") : g_strdup ("?");

  if (row->stars == 0)
    return g_strdup_printf ("streamed %u min on %s — not rated", row->minutes, date);
  return g_strdup_printf ("streamed %u min on %s — rated %u", row->minutes, date, row->stars);
}
