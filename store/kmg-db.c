/* kmg-db.c — the SQLite store: opening, pragmas, migrations, statements and transactions.
 * Statements are cached per SQL text, or per address of a static SQL string on hot paths. */

#include "kmg-db.h"

#include <stdlib.h>
#include <string.h>

#define SCHEMA_PREFIX "/kamegor/schema"

G_DEFINE_QUARK (kmg-db-error-quark, kmg_db_error)

struct _KmgDb
{
  sqlite3 *handle;
  GHashTable *stmts;        /* SQL text → KmgDbStmt */
  GHashTable *static_stmts; /* address of a static SQL string pointer → KmgDbStmt */
  guint64 errors;
  gboolean readonly;
};

struct _KmgDbStmt
{
  KmgDb *db;
  sqlite3_stmt *stmt;
  gboolean in_use;
};

static void
stmt_free (gpointer p)
{
  KmgDbStmt *s = p;
  sqlite3_finalize (s->stmt);
  g_free (s);
}

gboolean
kmg_db_set_error (KmgDb *db, int rc, GError **error)
{
  int code = KMG_DB_ERROR_SQL;
  int primary = rc & 0xff;

  if (primary == SQLITE_CONSTRAINT)
    code = KMG_DB_ERROR_CONSTRAINT;
  else if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
    code = KMG_DB_ERROR_BUSY;
  else
    g_atomic_pointer_add (&db->errors, 1);  /* constraint violations are input errors, not DB faults */
  g_set_error (error, KMG_DB_ERROR, code, "database: %s", sqlite3_errmsg (db->handle));
  return FALSE;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Migration files are named NNNN_description.sql; the number is the version it brings. */
static GPtrArray *
list_migrations (GError **error)
{
  g_auto (GStrv) names = g_resources_enumerate_children (SCHEMA_PREFIX, 0, error);
  GPtrArray *out;

  if (names == NULL)
    return NULL;
  out = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; names[i] != NULL; i++)
    if (g_str_has_suffix (names[i], ".sql"))
      g_ptr_array_add (out, g_strdup (names[i]));
  g_ptr_array_sort (out, compare_names);
  for (guint i = 0; i < out->len; i++)
    {
      const char *n = g_ptr_array_index (out, i);
      if ((int) strtol (n, NULL, 10) != (int) i + 1)
        {
          g_set_error (error, KMG_DB_ERROR, KMG_DB_ERROR_MIGRATION,
                       "migration '%s' is out of sequence (expected number %u)", n, i + 1);
          g_ptr_array_unref (out);
          return NULL;
        }
    }
  return out;
}

int
kmg_db_latest_version (void)
{
  g_autoptr (GPtrArray) list = list_migrations (NULL);
  return list ? (int) list->len : 0;
}

int
kmg_db_schema_version (KmgDb *db)
{
  g_autoptr (sqlite3_stmt) st = NULL;
  int v = -1;

  if (sqlite3_prepare_v2 (db->handle, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK
      && sqlite3_step (st) == SQLITE_ROW)
    v = sqlite3_column_int (st, 0);
  return v;
}

static gboolean
migrate (KmgDb *db, GError **error)
{
  g_autoptr (GPtrArray) list = list_migrations (error);
  int current;

  if (list == NULL)
    return FALSE;
  current = kmg_db_schema_version (db);
  if (current > (int) list->len)
    {
      g_set_error (error, KMG_DB_ERROR, KMG_DB_ERROR_TOO_NEW,
                   "database schema version %d is newer than this kamegord supports (%u); "
                   "run a newer kamegord",
                   current, list->len);
      return FALSE;
    }
  for (int v = current + 1; v <= (int) list->len; v++)
    {
      const char *name = g_ptr_array_index (list, v - 1);
      g_autofree char *path = g_strdup_printf (SCHEMA_PREFIX "/%s", name);
      g_autoptr (GBytes) sql = g_resources_lookup_data (path, 0, error);
      g_autofree char *text = NULL;
      g_autofree char *bump = NULL;

      if (sql == NULL)
        return FALSE;
      text = g_strndup (g_bytes_get_data (sql, NULL), g_bytes_get_size (sql));
      bump = g_strdup_printf ("PRAGMA user_version = %d", v);
      /* DDL and the version bump commit together, or not at all. */
      if (!kmg_db_begin (db, error))
        return FALSE;
      if (!kmg_db_exec (db, text, error) || !kmg_db_exec (db, bump, error))
        {
          kmg_db_rollback (db);
          g_prefix_error (error, "migration %s: ", name);
          return FALSE;
        }
      if (!kmg_db_commit (db, error))
        return FALSE;
      g_info ("applied migration %s", name);
    }
  return TRUE;
}

static KmgDb *
open_common (const char *path, int flags, GError **error)
{
  g_autoptr (KmgDb) db = g_new0 (KmgDb, 1);
  int rc;

  db->stmts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, stmt_free);
  db->static_stmts = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, stmt_free);
  db->readonly = (flags & SQLITE_OPEN_READONLY) != 0;
  rc = sqlite3_open_v2 (path, &db->handle, flags | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      g_set_error (error, KMG_DB_ERROR, KMG_DB_ERROR_OPEN, "cannot open database '%s': %s", path,
                   db->handle ? sqlite3_errmsg (db->handle) : sqlite3_errstr (rc));
      return NULL;
    }
  sqlite3_extended_result_codes (db->handle, 1);
  sqlite3_busy_timeout (db->handle, 5000);
  return g_steal_pointer (&db);
}

KmgDb *
kmg_db_open (const char *path, GError **error)
{
  g_autoptr (KmgDb) db = open_common (path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, error);

  if (db == NULL)
    return NULL;
  /* WAL + FULL: a committed transaction survives a power cut, not only a crash.
   * The page cache holds a whole billing tick's working set (32 MiB), so a large transaction
   * neither spills pages to the WAL twice nor re-reads them; statement journals (multi-row
   * writes) stay in memory instead of a temporary file. The WAL is copied back into the database
   * every 16384 pages (64 MiB at 4 KiB pages) rather than every 1000: the same index pages are
   * rewritten by every tick, so a rarer checkpoint copies each of them once for several ticks.
   * None of this changes what COMMIT makes durable. */
  if (!kmg_db_exec (db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                        "PRAGMA foreign_keys = ON; PRAGMA trusted_schema = OFF; "
                        "PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY; "
                        "PRAGMA wal_autocheckpoint = 16384;",
                    error))
    return NULL;
  if (!migrate (db, error))
    return NULL;
  return g_steal_pointer (&db);
}

KmgDb *
kmg_db_open_readonly (const char *path, GError **error)
{
  g_autoptr (KmgDb) db = NULL;
  int version;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, KMG_DB_ERROR, KMG_DB_ERROR_OPEN, "no database at '%s'", path);
      return NULL;
    }
  db = open_common (path, SQLITE_OPEN_READONLY, error);
  if (db == NULL)
    return NULL;
  version = kmg_db_schema_version (db);
  if (version > kmg_db_latest_version ())
    {
      g_set_error (error, KMG_DB_ERROR, KMG_DB_ERROR_TOO_NEW,
                   "database schema version %d is newer than this tool supports (%d)", version,
                   kmg_db_latest_version ());
      return NULL;
    }
  return g_steal_pointer (&db);
}

void
kmg_db_close (KmgDb *db)
{
  if (db == NULL)
    return;
  if (db->stmts)
    g_hash_table_unref (db->stmts);
  if (db->static_stmts)
    g_hash_table_unref (db->static_stmts);
  if (db->handle)
    {
      if (!db->readonly)
        sqlite3_exec (db->handle, "PRAGMA optimize", NULL, NULL, NULL);
      sqlite3_close_v2 (db->handle);
    }
  g_free (db);
}

sqlite3 *
kmg_db_handle (KmgDb *db)
{
  return db->handle;
}

guint64
kmg_db_error_count (KmgDb *db)
{
  return (guint64) g_atomic_pointer_get (&db->errors);
}

/* Hands out the cached statement @s, or, when it is already in use (re-entrant use of the same
 * SQL, rare), an uncached one that is freed on release. */
static KmgDbStmt *
take_cached (KmgDb *db, KmgDbStmt *s, const char *sql, GError **error)
{
  KmgDbStmt *extra;
  int rc;

  if (!s->in_use)
    {
      s->in_use = TRUE;
      return s;
    }
  extra = g_new0 (KmgDbStmt, 1);
  extra->db = db;
  rc = sqlite3_prepare_v2 (db->handle, sql, -1, &extra->stmt, NULL);
  if (rc != SQLITE_OK)
    {
      g_free (extra);
      kmg_db_set_error (db, rc, error);
      return NULL;
    }
  extra->in_use = 2; /* marks "not cached": freed on release */
  return extra;
}

static KmgDbStmt *
prepare_new (KmgDb *db, const char *sql, GError **error)
{
  KmgDbStmt *s = g_new0 (KmgDbStmt, 1);
  int rc;

  s->db = db;
  rc = sqlite3_prepare_v3 (db->handle, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmt, NULL);
  if (rc != SQLITE_OK)
    {
      g_free (s);
      kmg_db_set_error (db, rc, error);
      g_prefix_error (error, "preparing '%.60s': ", sql);
      return NULL;
    }
  s->in_use = TRUE;
  return s;
}

KmgDbStmt *
kmg_db_prepare (KmgDb *db, const char *sql, GError **error)
{
  KmgDbStmt *s = g_hash_table_lookup (db->stmts, sql);

  if (s != NULL)
    return take_cached (db, s, sql, error);
  s = prepare_new (db, sql, error);
  if (s != NULL)
    g_hash_table_insert (db->stmts, g_strdup (sql), s);
  return s;
}

KmgDbStmt *
kmg_db_prepare_static (KmgDb *db, const char *const *sql_ptr, GError **error)
{
  KmgDbStmt *s = g_hash_table_lookup (db->static_stmts, sql_ptr);

  if (s != NULL)
    return take_cached (db, s, *sql_ptr, error);
  s = prepare_new (db, *sql_ptr, error);
  if (s != NULL)
    g_hash_table_insert (db->static_stmts, (gpointer) sql_ptr, s);
  return s;
}

sqlite3_stmt *
kmg_db_stmt_raw (KmgDbStmt *stmt)
{
  return stmt->stmt;
}

void
kmg_db_stmt_release (KmgDbStmt *stmt)
{
  if (stmt == NULL)
    return;
  if (stmt->in_use == 2)
    {
      stmt_free (stmt);
      return;
    }
  sqlite3_reset (stmt->stmt);
  sqlite3_clear_bindings (stmt->stmt);
  stmt->in_use = FALSE;
}

int
kmg_db_step (KmgDbStmt *stmt, GError **error)
{
  int rc = sqlite3_step (stmt->stmt);

  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    return rc;
  kmg_db_set_error (stmt->db, rc, error);
  return -1;
}

gboolean
kmg_db_exec (KmgDb *db, const char *sql, GError **error)
{
  char *msg = NULL;
  int rc = sqlite3_exec (db->handle, sql, NULL, NULL, &msg);

  if (rc == SQLITE_OK)
    return TRUE;
  sqlite3_free (msg);
  return kmg_db_set_error (db, rc, error);
}

gboolean
kmg_db_begin (KmgDb *db, GError **error)
{
  return kmg_db_exec (db, "BEGIN IMMEDIATE", error);
}

gboolean
kmg_db_commit (KmgDb *db, GError **error)
{
  if (kmg_db_exec (db, "COMMIT", error))
    return TRUE;
  kmg_db_rollback (db);
  return FALSE;
}

void
kmg_db_rollback (KmgDb *db)
{
  if (!sqlite3_get_autocommit (db->handle))
    sqlite3_exec (db->handle, "ROLLBACK", NULL, NULL, NULL);
}

gint64
kmg_db_last_insert_rowid (KmgDb *db)
{
  return sqlite3_last_insert_rowid (db->handle);
}

int
kmg_db_changes (KmgDb *db)
{
  return sqlite3_changes (db->handle);
}
