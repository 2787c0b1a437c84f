/* ctl-billing.c — kamegorctl billing commands over an opened KmgDb (main() lives elsewhere).
 * Library errors become one line on stderr and exit code 2. */

#include "ctl-billing.h"

#include "kmg-audit.h"
#include "kmg-ledger.h"

enum
{
  EXIT_OK = 0,
  EXIT_AUDIT_FAILED = 1,
  EXIT_ERROR = 2,
};

int
kmg_ctl_audit (KmgDb *db, gboolean json, const char *anchors, gboolean required)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgAuditReport) report = kmg_audit_run (db, &error);
  g_autofree char *text = NULL;

  if (report == NULL)
    {
      fprintf (stderr, "audit: %s\n", error->message);
      return EXIT_ERROR;
    }
  if ((required || g_file_test (anchors, G_FILE_TEST_EXISTS))
      && !kmg_audit_check_anchors (report, db, anchors, &error))
    {
      fprintf (stderr, "audit: %s\n", error->message);
      return EXIT_ERROR;
    }
  text = json ? kmg_audit_report_to_json (report) : kmg_audit_report_to_text (report);
  fputs (text, stdout);
  if (json)
    fputc ('\n', stdout);
  fflush (stdout);
  return report->ok ? EXIT_OK : EXIT_AUDIT_FAILED;
}

int
kmg_ctl_grant (KmgDb *db, gint64 user, gint64 amount, const char *reason, const char *anchors)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgAnchorLog) log = kmg_anchor_log_open (anchors, &error);
  g_autoptr (KmgLedger) ledger = kmg_ledger_new (db);
  KmgTransferResult res = { 0 };

  if (log == NULL)
    {
      fprintf (stderr, "grant: %s\n", error->message);
      return EXIT_ERROR;
    }
  kmg_ledger_set_anchor_log (ledger, log);

  if (!kmg_ledger_grant (ledger, user, amount, reason, 0, NULL, g_get_real_time () / 1000, &res,
                         &error))
    {
      fprintf (stderr, "grant: %s\n", error->message);
      return EXIT_ERROR;
    }
  printf ("granted %" G_GINT64_FORMAT " credits to user %" G_GINT64_FORMAT
          " (transfer %" G_GINT64_FORMAT ")\n",
          amount, user, res.transfer_id);
  return EXIT_OK;
}

static void
csv_real (FILE *out, sqlite3_stmt *raw, int col)
{
  if (sqlite3_column_type (raw, col) != SQLITE_NULL)
    fprintf (out, "%.3f", sqlite3_column_double (raw, col));
}

int
kmg_ctl_export_session (KmgDb *db, gint64 session_id, FILE *out)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgDbStmt) st = kmg_db_prepare (
    db,
    "SELECT m.minute_index, m.source, m.first_second, m.last_second, m.delivered_seconds, "
    "m.total_seconds, m.packets, m.bytes, m.loss, m.jitter_ms, m.rtt_ms, "
    "(SELECT IFNULL (SUM (amount), 0) FROM transfers t WHERE t.session_id = m.session_id "
    " AND t.kind = 'charge' AND t.minute_index = m.minute_index) "
    "FROM watch_sessions s LEFT JOIN measured_minutes m ON m.session_id = s.id "
    "WHERE s.id = ?1 ORDER BY m.minute_index",
    &error);
  sqlite3_stmt *raw;
  int rc, rows = 0;

  if (st == NULL)
    goto fail;
  raw = kmg_db_stmt_raw (st);
  sqlite3_bind_int64 (raw, 1, session_id);
  fputs ("session_id,minute_index,source,first_second,last_second,delivered_seconds,"
         "total_seconds,packets,bytes,loss,jitter_ms,rtt_ms,charged\n",
         out);
  while ((rc = kmg_db_step (st, &error)) == SQLITE_ROW)
    {
      rows++;
      if (sqlite3_column_type (raw, 0) == SQLITE_NULL)
        continue; /* session without evidence: header only */
      fprintf (out,
               "%" G_GINT64_FORMAT ",%d,%s,%lld,%lld,%d,%lld,%lld,%lld,%.4f,", session_id,
               sqlite3_column_int (raw, 0), sqlite3_column_text (raw, 1),
               (long long) sqlite3_column_int64 (raw, 2), (long long) sqlite3_column_int64 (raw, 3),
               sqlite3_column_int (raw, 4), (long long) sqlite3_column_int64 (raw, 5),
               (long long) sqlite3_column_int64 (raw, 6), (long long) sqlite3_column_int64 (raw, 7),
               sqlite3_column_double (raw, 8));
      csv_real (out, raw, 9);
      fputc (',', out);
      csv_real (out, raw, 10);
      fprintf (out, ",%lld\n", (long long) sqlite3_column_int64 (raw, 11));
    }
  if (rc < 0)
    goto fail;
  if (rows == 0)
    {
      fprintf (stderr, "export-session: no session %" G_GINT64_FORMAT "\n", session_id);
      return EXIT_ERROR;
    }
  return EXIT_OK;

fail:
  fprintf (stderr, "export-session: %s\n", error->message);
  return EXIT_ERROR;
}
