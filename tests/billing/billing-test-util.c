/* billing-test-util.c — temporary databases and users for the billing tests.
 * Each fixture lives in its own mkdtemp folder, removed on free. */

#include "billing-test-util.h"

#include <glib/gstdio.h>
#include <sqlite3.h>

BillingTestDb *
billing_test_db_new (void)
{
  BillingTestDb *t = g_new0 (BillingTestDb, 1);
  g_autoptr (GError) error = NULL;

  t->dir = g_dir_make_tmp ("kmg-billing-XXXXXX", &error);
  g_assert_no_error (error);
  t->path = g_build_filename (t->dir, "kamegor.db", NULL);
  t->db = kmg_db_open (t->path, &error);
  g_assert_no_error (error);
  return t;
}

void
billing_test_db_free (BillingTestDb *t)
{
  const char *suffixes[] = { "", "-wal", "-shm" };

  if (t == NULL)
    return;
  kmg_db_close (t->db);
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *p = g_strconcat (t->path, suffixes[i], NULL);
      g_unlink (p);
    }
  g_rmdir (t->dir);
  g_free (t->path);
  g_free (t->dir);
  g_free (t);
}

gint64
billing_test_add_user (KmgDb *db, const char *name, gint64 price)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgDbStmt) st = kmg_db_prepare (
    db,
    "INSERT INTO users (username, username_key, password_hash, is_seller, price_per_minute, "
    "created_at, updated_at) VALUES (?1, ?1, 'x', ?2, ?3, 0, 0)",
    &error);

  g_assert_no_error (error);
  sqlite3_bind_text (kmg_db_stmt_raw (st), 1, name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (kmg_db_stmt_raw (st), 2, price > 0);
  sqlite3_bind_int64 (kmg_db_stmt_raw (st), 3, price > 0 ? price : 10);
  g_assert_cmpint (kmg_db_step (st, &error), ==, SQLITE_DONE);
  return kmg_db_last_insert_rowid (db);
}

void
billing_test_raw_exec (const char *path, const char *sql)
{
  sqlite3 *h = NULL;
  char *msg = NULL;

  g_assert_cmpint (sqlite3_open (path, &h), ==, SQLITE_OK);
  sqlite3_busy_timeout (h, 5000);
  if (sqlite3_exec (h, sql, NULL, NULL, &msg) != SQLITE_OK)
    g_error ("raw sql failed: %s", msg);
  sqlite3_close (h);
}

gint64
billing_test_scalar (KmgDb *db, const char *sql)
{
  g_autoptr (sqlite3_stmt) st = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (kmg_db_handle (db), sql, -1, &st, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  return sqlite3_column_int64 (st, 0);
}

char *
billing_test_text (KmgDb *db, const char *sql)
{
  g_autoptr (sqlite3_stmt) st = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (kmg_db_handle (db), sql, -1, &st, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  return g_strdup ((const char *) sqlite3_column_text (st, 0));
}
