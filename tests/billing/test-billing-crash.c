/* test-billing-crash.c — SIGKILL during concurrent billed sessions, then recover: integrity
 * check, audit, no session left active, nothing committed lost. */

#include "billing-test-util.h"
#include "kmg-audit.h"
#include "kmg-session-rows.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/wait.h>

#define ROUNDS 8

static void
kill_child_at_random (const char *db_path, guint seed, guint delay_ms)
{
  g_autofree char *child = g_test_build_filename (G_TEST_BUILT, "crash-child", NULL);
  g_autofree char *seed_s = g_strdup_printf ("%u", seed);
  const char *argv[] = { child, db_path, seed_s, NULL };
  g_autoptr (GError) error = NULL;
  GPid pid = 0;
  int status = 0;

  g_assert_true (g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                &pid, &error));
  g_assert_no_error (error);
  g_usleep (delay_ms * 1000);
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  /* Killed, not crashed on its own. */
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);
  g_spawn_close_pid (pid);
}

static void
test_kill9 (void)
{
  g_autofree char *dir = g_dir_make_tmp ("kmg-crash-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "kamegor.db", NULL);
  gint64 prev_transfers = 0;

  for (guint round = 0; round < ROUNDS; round++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (KmgDb) db = NULL;
      g_autoptr (KmgAuditReport) r = NULL;
      g_autoptr (sqlite3_stmt) st = NULL;
      guint seed = (guint) g_test_rand_int ();
      guint delay = (guint) g_test_rand_int_range (300, 1200);
      gint64 transfers;

      g_test_message ("round %u: child seed %u killed after %u ms", round, seed, delay);
      kill_child_at_random (path, seed, delay);
      db = kmg_db_open (path, &error);
      g_assert_no_error (error);
      g_assert_cmpint (kmg_billing_recover (db, g_get_real_time () / 1000, &error), >=, 0);
      g_assert_no_error (error);
      g_assert_cmpint (billing_test_scalar (db, "SELECT COUNT (*) FROM watch_sessions "
                                                "WHERE ended_at IS NULL"),
                       ==, 0);
      g_assert_cmpint (sqlite3_prepare_v2 (kmg_db_handle (db), "PRAGMA integrity_check", -1, &st,
                                           NULL),
                       ==, SQLITE_OK);
      g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
      g_assert_cmpstr ((const char *) sqlite3_column_text (st, 0), ==, "ok");
      r = kmg_audit_run (db, &error);
      g_assert_no_error (error);
      if (!r->ok)
        {
          g_autofree char *text = kmg_audit_report_to_text (r);
          g_test_message ("%s", text);
        }
      g_assert_true (r->ok);
      transfers = billing_test_scalar (db, "SELECT COUNT (*) FROM transfers");
      g_assert_cmpint (transfers, >=, prev_transfers); /* committed charges survive */
      prev_transfers = transfers;
    }
  g_assert_cmpint (prev_transfers, >, 100); /* the children really billed something */
  {
    const char *suffixes[] = { "", "-wal", "-shm" };
    for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
      {
        g_autofree char *p = g_strconcat (path, suffixes[i], NULL);
        g_remove (p);
      }
    g_rmdir (dir);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/billing/crash/kill9-recover-audit", test_kill9);
  return g_test_run ();
}
