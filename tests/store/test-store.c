/* test-store.c — migrations run from empty, are idempotent, and a newer database is refused. */
#include "kmg-db.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct
{
  char *dir;
  char *path;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("kmg-store-XXXXXX", NULL);
  f->path = g_build_filename (f->dir, "kamegor.db", NULL);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_autofree char *wal = g_strconcat (f->path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (f->path, "-shm", NULL);
  g_unlink (f->path);
  g_unlink (wal);
  g_unlink (shm);
  g_rmdir (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

static char *
pragma_text (KmgDb *db, const char *sql)
{
  g_autoptr (sqlite3_stmt) st = NULL;
  g_assert_cmpint (sqlite3_prepare_v2 (kmg_db_handle (db), sql, -1, &st, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  return g_strdup ((const char *) sqlite3_column_text (st, 0));
}

static void
test_migrate_from_empty (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgDb) db = kmg_db_open (f->path, &error);
  g_autofree char *mode = NULL, *sync = NULL, *fk = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (kmg_db_schema_version (db), ==, kmg_db_latest_version ());
  g_assert_cmpint (kmg_db_latest_version (), >=, 1);
  mode = pragma_text (db, "PRAGMA journal_mode");
  sync = pragma_text (db, "PRAGMA synchronous");
  fk = pragma_text (db, "PRAGMA foreign_keys");
  g_assert_cmpstr (mode, ==, "wal");
  g_assert_cmpstr (sync, ==, "2"); /* FULL */
  g_assert_cmpstr (fk, ==, "1");
  g_assert_true (kmg_db_exec (db, "SELECT id, username_key FROM users LIMIT 0", &error));
}

static void
test_reopen_is_idempotent (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  KmgDb *db = kmg_db_open (f->path, &error);

  g_assert_no_error (error);
  g_assert_true (kmg_db_exec (db,
                              "INSERT INTO users (username, username_key, password_hash, created_at,"
                              " updated_at) VALUES ('Ann', 'ann', 'x', 1, 1)",
                              &error));
  kmg_db_close (db);
  db = kmg_db_open (f->path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (kmg_db_schema_version (db), ==, kmg_db_latest_version ());
  {
    g_autofree char *n = pragma_text (db, "SELECT count(*) FROM users");
    g_assert_cmpstr (n, ==, "1");
  }
  kmg_db_close (db);
}

static void
test_newer_database_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  KmgDb *db = kmg_db_open (f->path, &error);
  g_autofree char *bump = g_strdup_printf ("PRAGMA user_version = %d",
                                           kmg_db_latest_version () + 1);

  g_assert_true (kmg_db_exec (db, bump, &error));
  kmg_db_close (db);
  db = kmg_db_open (f->path, &error);
  g_assert_null (db);
  g_assert_error (error, KMG_DB_ERROR, KMG_DB_ERROR_TOO_NEW);
  g_assert_nonnull (strstr (error->message, "newer"));
  g_clear_error (&error);
  db = kmg_db_open_readonly (f->path, &error);
  g_assert_null (db);
  g_assert_error (error, KMG_DB_ERROR, KMG_DB_ERROR_TOO_NEW);
}

static void
test_constraint_error_code (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgDb) db = kmg_db_open (f->path, &error);
  const char *ins = "INSERT INTO users (username, username_key, password_hash, created_at,"
                    " updated_at) VALUES ('Ann', 'ann', 'x', 1, 1)";

  g_assert_true (kmg_db_exec (db, ins, &error));
  g_assert_false (kmg_db_exec (db, ins, &error));
  g_assert_error (error, KMG_DB_ERROR, KMG_DB_ERROR_CONSTRAINT);
  g_assert_cmpuint (kmg_db_error_count (db), ==, 0);
}

static void
test_cached_statements (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgDb) db = kmg_db_open (f->path, &error);

  for (int i = 0; i < 3; i++)
    {
      g_autoptr (KmgDbStmt) outer = kmg_db_prepare (db, "SELECT ?1", &error);
      g_autoptr (KmgDbStmt) inner = kmg_db_prepare (db, "SELECT ?1", &error); /* re-entrant */
      sqlite3_bind_int (kmg_db_stmt_raw (outer), 1, i);
      sqlite3_bind_int (kmg_db_stmt_raw (inner), 1, i + 10);
      g_assert_cmpint (kmg_db_step (outer, &error), ==, SQLITE_ROW);
      g_assert_cmpint (kmg_db_step (inner, &error), ==, SQLITE_ROW);
      g_assert_cmpint (sqlite3_column_int (kmg_db_stmt_raw (outer), 0), ==, i);
      g_assert_cmpint (sqlite3_column_int (kmg_db_stmt_raw (inner), 0), ==, i + 10);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/store/migrate-from-empty", Fixture, NULL, setup, test_migrate_from_empty, teardown);
  g_test_add ("/store/reopen-idempotent", Fixture, NULL, setup, test_reopen_is_idempotent,
              teardown);
  g_test_add ("/store/newer-database-refused", Fixture, NULL, setup, test_newer_database_refused,
              teardown);
  g_test_add ("/store/constraint-error-code", Fixture, NULL, setup, test_constraint_error_code,
              teardown);
  g_test_add ("/store/cached-statements", Fixture, NULL, setup, test_cached_statements, teardown);
  return g_test_run ();
}
