/* kmg-accounts-private.h — the KmgAccounts instance, shared by the accounts source files only.
 * Not installed and not included outside accounts/. */
#pragma once

#include "kmg-accounts.h"
#include "kmg-listeners.h"
#include "kmg-rate-limit.h"

G_BEGIN_DECLS

/* Lets work finishing on the main context after kmg_accounts_free() see that the owner is gone:
 * jobs hold a reference to the link, free() clears the owner pointer. */
typedef struct
{
  KmgAccounts *owner;
} KmgAccountsLink;

struct _KmgAccounts
{
  KmgDb *db;
  char *data_dir;
  char *pictures_dir;
  KmgAccountsConfig cfg;
  GThreadPool *hash_pool;
  KmgRateLimit *login_by_user;
  KmgRateLimit *login_by_addr;
  KmgRateLimit *register_by_addr;
  KmgAccountsLink *link;
  /* Verified against when the username is unknown, so that path costs one real hash too. */
  GOnce dummy_once;
  GThread *dummy_warmup; /* builds it at start, so the first unknown-user login is not slower */
  KmgListeners changed_listeners; /* KmgAccountsUserFunc */
  KmgListeners banned_listeners;  /* KmgAccountsUserFunc */
  KmgListeners revoked_listeners; /* KmgAccountsTokenFunc */
};

/* Tells the listeners of @listeners that @user_id changed (kmg-accounts.c). */
void kmg_accounts_emit_user (KmgListeners *listeners, gint64 user_id);

/* Common statement helpers (kmg-accounts.c). */
gboolean kmg_accounts_exec_stmt (KmgAccounts *accounts, const char *sql, GError **error,
                                 const char *types, ...);
JsonObject *kmg_accounts_user_row_json (KmgAccounts *accounts, gint64 user_id, gboolean owner_view,
                                        GError **error);
/* Revokes every live token of @user_id without telling anyone (for the ban's own transaction);
 * returns how many, -1 on error. */
gint64 kmg_accounts_revoke_all_rows (KmgAccounts *accounts, gint64 user_id, gint64 now,
                                     GError **error);
gboolean kmg_accounts_insert_token (KmgAccounts *accounts, gint64 user_id, const char *label,
                                    gint64 now, KmgAccountsLogin *out, GError **error);
gboolean kmg_accounts_record_admin_action (KmgAccounts *accounts, gint64 admin_id,
                                           const char *action, gint64 target_user,
                                           const char *reason, const char *detail, gint64 now,
                                           GError **error);
gboolean kmg_accounts_consent_state (KmgAccounts *accounts, gint64 user_id, gboolean *granted,
                                     GError **error);

/* Hashing (kmg-accounts-login.c). */
const char *kmg_accounts_dummy_hash (KmgAccounts *accounts);
gpointer kmg_accounts_dummy_warmup (gpointer accounts);
/* GThreadPool function: @data is a GTask whose task data starts with a KmgHashJob. */
void kmg_accounts_hash_worker (gpointer data, gpointer accounts);
char *kmg_accounts_hash_password (const char *password, GError **error);

G_END_DECLS
