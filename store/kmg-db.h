/* kmg-db.h — the SQLite store: opening, pragmas, migrations, statements and transactions.
 * One connection, owned by the main context; read-only opens for kamegorctl audit. */
#pragma once

#include <gio/gio.h>
#include <sqlite3.h>

G_BEGIN_DECLS

#define KMG_DB_ERROR (kmg_db_error_quark ())
GQuark kmg_db_error_quark (void);

typedef enum
{
  KMG_DB_ERROR_OPEN,
  KMG_DB_ERROR_TOO_NEW,   /* database written by a newer kamegord */
  KMG_DB_ERROR_MIGRATION,
  KMG_DB_ERROR_SQL,
  KMG_DB_ERROR_CONSTRAINT,
  KMG_DB_ERROR_BUSY,
} KmgDbError;

typedef struct _KmgDb KmgDb;

/* Opens (creating if needed) and migrates to the newest schema. */
KmgDb *kmg_db_open (const char *path, GError **error);
/* Opens an existing database read-only, without migrating; refuses one that is too new. */
KmgDb *kmg_db_open_readonly (const char *path, GError **error);
void kmg_db_close (KmgDb *db);

sqlite3 *kmg_db_handle (KmgDb *db);
int kmg_db_schema_version (KmgDb *db);
/* Highest migration compiled into this binary. */
int kmg_db_latest_version (void);
/* Count of SQL errors since open (for /metrics). */
guint64 kmg_db_error_count (KmgDb *db);

/* Prepares a cached statement; returns NULL and sets @error on failure. The statement is reset
 * and its bindings cleared when released with kmg_db_stmt_release (or g_autoptr(KmgDbStmt)). */
typedef struct _KmgDbStmt KmgDbStmt;
KmgDbStmt *kmg_db_prepare (KmgDb *db, const char *sql, GError **error);
/* Same, for hot paths: the cache is keyed by the address @sql_ptr of a static string pointer
 * (e.g. `static const char *const SQL_X = "...";` passed as &SQL_X), so no text is hashed or
 * compared per call. The pointed-to SQL must never change for the life of @db. */
KmgDbStmt *kmg_db_prepare_static (KmgDb *db, const char *const *sql_ptr, GError **error);
sqlite3_stmt *kmg_db_stmt_raw (KmgDbStmt *stmt);
void kmg_db_stmt_release (KmgDbStmt *stmt);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgDbStmt, kmg_db_stmt_release)

/* Steps once: returns SQLITE_ROW or SQLITE_DONE, or -1 with @error set. */
int kmg_db_step (KmgDbStmt *stmt, GError **error);

/* Executes SQL with no results. */
gboolean kmg_db_exec (KmgDb *db, const char *sql, GError **error);
gboolean kmg_db_begin (KmgDb *db, GError **error);     /* BEGIN IMMEDIATE */
gboolean kmg_db_commit (KmgDb *db, GError **error);
void kmg_db_rollback (KmgDb *db);

/* Sets @error from the connection's last error and counts it; returns FALSE for convenience. */
gboolean kmg_db_set_error (KmgDb *db, int rc, GError **error);

gint64 kmg_db_last_insert_rowid (KmgDb *db);
int kmg_db_changes (KmgDb *db);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgDb, kmg_db_close)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

G_END_DECLS
