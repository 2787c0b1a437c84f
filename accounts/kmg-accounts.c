/* kmg-accounts.c — the accounts instance, bearer-token authentication and token management.
 * Everything here runs on the main context; hashing lives in kmg-accounts-login.c. */

#include "kmg-accounts-private.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <string.h>

#include "kmg-token.h"

/* last_used_at is for the owner's device list, not an audit trail: one write a minute is enough. */
#define LAST_USED_GRANULARITY_S 60
#define RATE_WINDOW_MS (5 * 60 * 1000)
#define REGISTER_WINDOW_MS (60 * 60 * 1000)
#define RATE_MAX_KEYS 100000

void
kmg_accounts_config_init (KmgAccountsConfig *cfg)
{
  cfg->max_concurrent_hashes = 2;
  cfg->max_queued_hashes = 64;
  cfg->token_ttl_s = 30 * 86400;
  cfg->login_per_user_per_5min = 10;
  cfg->login_per_addr_per_5min = 30;
  cfg->register_per_addr_per_hour = 20;
  cfg->picture_max_bytes = 2 * 1024 * 1024;
}

KmgAccounts *
kmg_accounts_new (KmgDb *db, const char *data_dir, const KmgAccountsConfig *cfg, GError **error)
{
  g_autoptr (KmgAccounts) a = NULL;

  g_return_val_if_fail (db != NULL && data_dir != NULL && cfg != NULL, NULL);
  g_return_val_if_fail (cfg->max_concurrent_hashes > 0 && cfg->token_ttl_s > 0, NULL);
  g_return_val_if_fail (cfg->login_per_user_per_5min > 0 && cfg->login_per_addr_per_5min > 0, NULL);
  g_return_val_if_fail (cfg->register_per_addr_per_hour > 0, NULL);

  if (sodium_init () < 0)
    {
      g_set_error_literal (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_CLOSED,
                           "libsodium could not be initialised");
      return NULL;
    }
  a = g_new0 (KmgAccounts, 1);
  a->db = db;
  a->cfg = *cfg;
  a->data_dir = g_strdup (data_dir);
  a->pictures_dir = g_build_filename (data_dir, "pictures", NULL);
  a->link = g_rc_box_new0 (KmgAccountsLink);
  a->link->owner = a;
  kmg_listeners_init (&a->changed_listeners);
  kmg_listeners_init (&a->banned_listeners);
  kmg_listeners_init (&a->revoked_listeners);
  a->login_by_user = kmg_rate_limit_new ((guint) cfg->login_per_user_per_5min, RATE_WINDOW_MS,
                                         RATE_MAX_KEYS);
  a->login_by_addr = kmg_rate_limit_new ((guint) cfg->login_per_addr_per_5min, RATE_WINDOW_MS,
                                         RATE_MAX_KEYS);
  a->register_by_addr = kmg_rate_limit_new ((guint) cfg->register_per_addr_per_hour,
                                            REGISTER_WINDOW_MS, RATE_MAX_KEYS);
  if (g_mkdir_with_parents (a->pictures_dir, 0750) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "cannot create '%s': %s", a->pictures_dir, g_strerror (saved));
      return NULL;
    }
  a->hash_pool = g_thread_pool_new_full (kmg_accounts_hash_worker, a, (GDestroyNotify) g_object_unref,
                                         (gint) cfg->max_concurrent_hashes, FALSE, error);
  if (a->hash_pool == NULL)
    return NULL;
  a->dummy_warmup = g_thread_try_new ("kmg-pw-warmup", kmg_accounts_dummy_warmup, a, NULL);
  return g_steal_pointer (&a);
}

void
kmg_accounts_free (KmgAccounts *accounts)
{
  if (accounts == NULL)
    return;
  if (accounts->link != NULL)
    {
      accounts->link->owner = NULL;
      g_rc_box_release (accounts->link);
    }
  /* Lets queued hashes finish; their main-context halves find the link cleared. */
  if (accounts->hash_pool != NULL)
    g_thread_pool_free (accounts->hash_pool, FALSE, TRUE);
  if (accounts->dummy_warmup != NULL)
    g_thread_join (accounts->dummy_warmup);
  kmg_rate_limit_free (accounts->login_by_user);
  kmg_rate_limit_free (accounts->login_by_addr);
  kmg_rate_limit_free (accounts->register_by_addr);
  g_free ((char *) accounts->dummy_once.retval);
  kmg_listeners_clear (&accounts->changed_listeners);
  kmg_listeners_clear (&accounts->banned_listeners);
  kmg_listeners_clear (&accounts->revoked_listeners);
  g_free (accounts->data_dir);
  g_free (accounts->pictures_dir);
  g_free (accounts);
}

static void
marshal_user (GHook *hook, gpointer data)
{
  ((KmgAccountsUserFunc) hook->func) (*(const gint64 *) data, hook->data);
}

void
kmg_accounts_emit_user (KmgListeners *listeners, gint64 user_id)
{
  kmg_listeners_emit (listeners, marshal_user, &user_id);
}

gulong
kmg_accounts_connect_user_changed (KmgAccounts *accounts, KmgAccountsUserFunc func,
                                   gpointer user_data)
{
  return kmg_listeners_connect (&accounts->changed_listeners, G_CALLBACK (func), user_data);
}

gulong
kmg_accounts_connect_user_banned (KmgAccounts *accounts, KmgAccountsUserFunc func,
                                  gpointer user_data)
{
  return kmg_listeners_connect (&accounts->banned_listeners, G_CALLBACK (func), user_data);
}

gulong
kmg_accounts_connect_token_revoked (KmgAccounts *accounts, KmgAccountsTokenFunc func,
                                    gpointer user_data)
{
  return kmg_listeners_connect (&accounts->revoked_listeners, G_CALLBACK (func), user_data);
}

typedef struct
{
  gint64 user_id;
  gint64 token_id;
} RevokedEvent;

static void
marshal_revoked (GHook *hook, gpointer data)
{
  const RevokedEvent *ev = data;
  ((KmgAccountsTokenFunc) hook->func) (ev->user_id, ev->token_id, hook->data);
}

static void
emit_revoked (KmgAccounts *accounts, gint64 user_id, gint64 token_id)
{
  RevokedEvent ev = { user_id, token_id };

  kmg_listeners_emit (&accounts->revoked_listeners, marshal_revoked, &ev);
}

void
kmg_accounts_user_changed (KmgAccounts *accounts, gint64 user_id)
{
  g_return_if_fail (accounts != NULL);
  kmg_accounts_emit_user (&accounts->changed_listeners, user_id);
}

/* Binds @types: 'i' gint64, 's' string (NULL → SQL NULL), 'b' 32-byte blob, 'n' NULL. */
static void
bind_va (sqlite3_stmt *st, const char *types, va_list ap)
{
  for (int i = 0; types[i]; i++)
    {
      int col = i + 1;
      switch (types[i])
        {
        case 'i':
          sqlite3_bind_int64 (st, col, va_arg (ap, gint64));
          break;
        case 's':
          {
            const char *s = va_arg (ap, const char *);
            if (s)
              sqlite3_bind_text (st, col, s, -1, SQLITE_TRANSIENT);
            else
              sqlite3_bind_null (st, col);
          }
          break;
        case 'b':
          sqlite3_bind_blob (st, col, va_arg (ap, const guint8 *), 32, SQLITE_TRANSIENT);
          break;
        default:
          sqlite3_bind_null (st, col);
          break;
        }
    }
}

gboolean
kmg_accounts_exec_stmt (KmgAccounts *accounts, const char *sql, GError **error, const char *types,
                        ...)
{
  g_autoptr (KmgDbStmt) stmt = kmg_db_prepare (accounts->db, sql, error);
  va_list ap;

  if (stmt == NULL)
    return FALSE;
  va_start (ap, types);
  bind_va (kmg_db_stmt_raw (stmt), types, ap);
  va_end (ap);
  return kmg_db_step (stmt, error) >= 0;
}

/* The token is known and unexpired, its user banned, and it was live until the ban: revoked at or
 * after banned_at (the ban revokes with the same time). Earlier revocations stay "invalid". */
static gboolean
revoked_by_ban (KmgAccounts *accounts, const guint8 *hash, gint64 now, gint64 *user_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgDbStmt) stmt = NULL;
  sqlite3_stmt *st;

  stmt = kmg_db_prepare (accounts->db,
                         "SELECT t.user_id FROM tokens t JOIN users u ON u.id = t.user_id "
                         "WHERE t.token_hash = ? AND t.expires_at > ? AND u.banned_at IS NOT NULL "
                         "AND (t.revoked_at IS NULL OR t.revoked_at >= u.banned_at)",
                         &error);
  if (stmt == NULL)
    {
      g_warning ("token lookup failed: %s", error->message);
      return FALSE;
    }
  st = kmg_db_stmt_raw (stmt);
  sqlite3_bind_blob (st, 1, hash, KMG_TOKEN_HASH_BYTES, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 2, now);
  if (kmg_db_step (stmt, &error) != SQLITE_ROW)
    {
      if (error != NULL)
        g_warning ("token lookup failed: %s", error->message);
      return FALSE;
    }
  *user_id = sqlite3_column_int64 (st, 0);
  return TRUE;
}

gboolean
kmg_accounts_authenticate (KmgAccounts *accounts, const char *token, gint64 now,
                           KmgAccountsAuth *out)
{
  guint8 hash[KMG_TOKEN_HASH_BYTES];
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgDbStmt) stmt = NULL;
  sqlite3_stmt *st;
  gint64 token_id, last_used;
  gboolean ok;

  g_return_val_if_fail (accounts != NULL && out != NULL, FALSE);
  memset (out, 0, sizeof *out);
  if (!kmg_token_hash (token, hash))
    return FALSE;
  stmt = kmg_db_prepare (accounts->db,
                         "SELECT t.id, t.user_id, u.role = 'admin', coalesce(t.last_used_at, 0), "
                         "t.expires_at "
                         "FROM tokens t JOIN users u ON u.id = t.user_id "
                         "WHERE t.token_hash = ? AND t.revoked_at IS NULL AND t.expires_at > ? "
                         "AND u.banned_at IS NULL",
                         &error);
  if (stmt == NULL)
    {
      g_warning ("token lookup failed: %s", error->message);
      return FALSE;
    }
  st = kmg_db_stmt_raw (stmt);
  sqlite3_bind_blob (st, 1, hash, sizeof hash, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 2, now);
  ok = kmg_db_step (stmt, &error) == SQLITE_ROW;
  if (!ok)
    {
      if (error != NULL)
        g_warning ("token lookup failed: %s", error->message);
      else
        out->banned = revoked_by_ban (accounts, hash, now, &out->user_id);
      return FALSE;
    }
  token_id = sqlite3_column_int64 (st, 0);
  out->token_id = token_id;
  out->user_id = sqlite3_column_int64 (st, 1);
  out->is_admin = sqlite3_column_int (st, 2) != 0;
  last_used = sqlite3_column_int64 (st, 3);
  out->expires_at = sqlite3_column_int64 (st, 4);
  g_clear_pointer (&stmt, kmg_db_stmt_release);
  if (now - last_used >= LAST_USED_GRANULARITY_S
      && !kmg_accounts_exec_stmt (accounts, "UPDATE tokens SET last_used_at = ? WHERE id = ?",
                                  &error, "ii", now, token_id))
    g_warning ("cannot record token use: %s", error->message); /* not a reason to refuse */
  return TRUE;
}

gboolean
kmg_accounts_insert_token (KmgAccounts *accounts, gint64 user_id, const char *label, gint64 now,
                           KmgAccountsLogin *out, GError **error)
{
  guint8 hash[KMG_TOKEN_HASH_BYTES];
  g_autofree char *text = kmg_token_generate (hash);
  gint64 expires = now + accounts->cfg.token_ttl_s;

  if (!kmg_accounts_exec_stmt (accounts,
                               "INSERT INTO tokens (user_id, token_hash, label, created_at, expires_at) "
                               "VALUES (?, ?, ?, ?, ?)",
                               error, "ibsii", user_id, hash, label ? label : "", now, expires))
    return FALSE;
  out->user_id = user_id;
  out->token_id = kmg_db_last_insert_rowid (accounts->db);
  out->expires_at = expires;
  out->token = g_steal_pointer (&text);
  return TRUE;
}

void
kmg_accounts_login_free (KmgAccountsLogin *login)
{
  if (login == NULL)
    return;
  if (login->token != NULL)
    sodium_memzero (login->token, strlen (login->token));
  g_free (login->token);
  g_clear_pointer (&login->user, json_object_unref);
  g_free (login);
}

JsonArray *
kmg_accounts_list_tokens (KmgAccounts *accounts, gint64 user_id, gint64 current_token_id,
                          gint64 now, GError **error)
{
  g_autoptr (KmgDbStmt) stmt = NULL;
  g_autoptr (JsonArray) out = json_array_new ();
  sqlite3_stmt *st;
  int rc;

  stmt = kmg_db_prepare (accounts->db,
                         "SELECT id, label, created_at, expires_at, last_used_at FROM tokens "
                         "WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY id",
                         error);
  if (stmt == NULL)
    return NULL;
  st = kmg_db_stmt_raw (stmt);
  sqlite3_bind_int64 (st, 1, user_id);
  sqlite3_bind_int64 (st, 2, now);
  while ((rc = kmg_db_step (stmt, error)) == SQLITE_ROW)
    {
      JsonObject *o = json_object_new ();
      json_object_set_int_member (o, "id", sqlite3_column_int64 (st, 0));
      json_object_set_string_member (o, "label", (const char *) sqlite3_column_text (st, 1));
      json_object_set_int_member (o, "created_at", sqlite3_column_int64 (st, 2));
      json_object_set_int_member (o, "expires_at", sqlite3_column_int64 (st, 3));
      if (sqlite3_column_type (st, 4) == SQLITE_NULL)
        json_object_set_null_member (o, "last_used_at");
      else
        json_object_set_int_member (o, "last_used_at", sqlite3_column_int64 (st, 4));
      json_object_set_boolean_member (o, "current", sqlite3_column_int64 (st, 0) == current_token_id);
      json_array_add_object_element (out, o);
    }
  return rc < 0 ? NULL : g_steal_pointer (&out);
}

gboolean
kmg_accounts_revoke_token (KmgAccounts *accounts, gint64 user_id, gint64 token_id, gint64 now,
                           GError **error)
{
  /* The user_id condition is the object-level check: another user's id looks like a missing one. */
  if (!kmg_accounts_exec_stmt (accounts,
                               "UPDATE tokens SET revoked_at = ? WHERE id = ? AND user_id = ? "
                               "AND revoked_at IS NULL AND expires_at > ?",
                               error, "iiii", now, token_id, user_id, now))
    return FALSE;
  if (kmg_db_changes (accounts->db) == 0)
    {
      g_set_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_NOT_FOUND,
                   "no active token %" G_GINT64_FORMAT, token_id);
      return FALSE;
    }
  emit_revoked (accounts, user_id, token_id);
  return TRUE;
}

gint64
kmg_accounts_revoke_all_rows (KmgAccounts *accounts, gint64 user_id, gint64 now, GError **error)
{
  if (!kmg_accounts_exec_stmt (accounts,
                               "UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                               error, "ii", now, user_id))
    return -1;
  return kmg_db_changes (accounts->db);
}

gint64
kmg_accounts_revoke_all_tokens (KmgAccounts *accounts, gint64 user_id, gint64 now, GError **error)
{
  gint64 n = kmg_accounts_revoke_all_rows (accounts, user_id, now, error);

  if (n > 0)
    emit_revoked (accounts, user_id, 0);
  return n;
}

gint64
kmg_accounts_prune_tokens (KmgAccounts *accounts, gint64 before, GError **error)
{
  if (!kmg_accounts_exec_stmt (accounts,
                               "DELETE FROM tokens WHERE expires_at < ? OR revoked_at < ?", error,
                               "ii", before, before))
    return -1;
  return kmg_db_changes (accounts->db);
}

gboolean
kmg_accounts_record_admin_action (KmgAccounts *accounts, gint64 admin_id, const char *action,
                                  gint64 target_user, const char *reason, const char *detail,
                                  gint64 now, GError **error)
{
  g_autoptr (KmgDbStmt) stmt = kmg_db_prepare (
      accounts->db,
      "INSERT INTO admin_actions (admin_id, action, target_user, reason, detail, created_at) "
      "VALUES (?, ?, ?, ?, ?, ?)",
      error);
  sqlite3_stmt *st;

  if (stmt == NULL)
    return FALSE;
  st = kmg_db_stmt_raw (stmt);
  if (admin_id > 0)
    sqlite3_bind_int64 (st, 1, admin_id);
  sqlite3_bind_text (st, 2, action, -1, SQLITE_TRANSIENT);
  if (target_user > 0)
    sqlite3_bind_int64 (st, 3, target_user);
  sqlite3_bind_text (st, 4, reason ? reason : "", -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 5, detail ? detail : "{}", -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 6, now);
  return kmg_db_step (stmt, error) >= 0;
}
