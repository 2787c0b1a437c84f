/* billing-test-util.h — fixtures shared by the billing tests: a fresh database in a temporary
 * folder and users created directly in SQL. */
#pragma once

#include "kmg-db.h"

G_BEGIN_DECLS

typedef struct
{
  char *dir;
  char *path;
  KmgDb *db;
} BillingTestDb;

BillingTestDb *billing_test_db_new (void);
void billing_test_db_free (BillingTestDb *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BillingTestDb, billing_test_db_free)

/* Inserts a user (seller when @price > 0) and returns its id. */
gint64 billing_test_add_user (KmgDb *db, const char *name, gint64 price);
/* Runs SQL through a separate raw sqlite3 connection, as an intruder with the sqlite3 shell would. */
void billing_test_raw_exec (const char *path, const char *sql);
gint64 billing_test_scalar (KmgDb *db, const char *sql);
/* The first column of the one row @sql returns, as text. */
char *billing_test_text (KmgDb *db, const char *sql);

G_END_DECLS
