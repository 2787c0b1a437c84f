/* kmg-accounts-login.c — registration and login: argon2id hashing on a capped worker pool.
 * Threads: kmg_accounts_hash_worker runs on pool threads and touches only its job; it hands the
 * task back to the task's main context with g_main_context_invoke_full, where the database work is. */

#include "kmg-accounts-private.h"

#include <sodium.h>
#include <string.h>

typedef enum
{
  JOB_HASH,   /* registration: make a new hash of the password */
  JOB_VERIFY, /* login: check the password against a stored (or the dummy) hash */
} JobKind;

/* Task data of register and login. Only password/stored_hash/result fields cross threads, and only
 * while the worker owns the job (between push and invoke). */
typedef struct
{
  JobKind kind;
  KmgAccountsLink *link;
  char *password;
  char *stored_hash; /* JOB_VERIFY: NULL → use the dummy hash */
  char *new_hash;    /* JOB_HASH result */
  gboolean verified; /* JOB_VERIFY result */
  gboolean hash_failed;

  gint64 retry_after_s; /* register or login refused by the rate limit */
  gint64 user_id; /* login: the user found on the main context, 0 if none */
  gboolean banned;
  char *username;
  char *username_key;
  char *display_name;
  char *device;
  gint64 now;
} Job;

static void
job_free (gpointer p)
{
  Job *j = p;

  if (j->password)
    sodium_memzero (j->password, strlen (j->password));
  g_free (j->password);
  g_free (j->stored_hash);
  g_free (j->new_hash);
  g_free (j->username);
  g_free (j->username_key);
  g_free (j->display_name);
  g_free (j->device);
  if (j->link)
    g_rc_box_release (j->link);
  g_free (j);
}

char *
kmg_accounts_hash_password (const char *password, GError **error)
{
  char out[crypto_pwhash_STRBYTES];

  if (crypto_pwhash_str (out, password, strlen (password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                         crypto_pwhash_MEMLIMIT_INTERACTIVE)
      != 0)
    {
      g_set_error_literal (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_BUSY,
                           "password hashing ran out of memory");
      return NULL;
    }
  return g_strdup (out);
}

static gpointer
make_dummy_hash (gpointer unused)
{
  guint8 secret[32];
  char text[65];
  char *hash;

  randombytes_buf (secret, sizeof secret);
  sodium_bin2hex (text, sizeof text, secret, sizeof secret);
  hash = kmg_accounts_hash_password (text, NULL);
  sodium_memzero (text, sizeof text);
  return hash;
}

const char *
kmg_accounts_dummy_hash (KmgAccounts *accounts)
{
  return g_once (&accounts->dummy_once, make_dummy_hash, NULL);
}

/* Thread function: only touches dummy_once, which g_once guards. */
gpointer
kmg_accounts_dummy_warmup (gpointer accounts)
{
  kmg_accounts_dummy_hash (accounts);
  return NULL;
}

static gboolean main_stage (gpointer data);

/* Pool thread. Only the job's own fields are touched; the instance is used for the dummy hash,
 * which g_once makes thread-safe, and it outlives the pool (free() waits for it). */
void
kmg_accounts_hash_worker (gpointer data, gpointer user_data)
{
  GTask *task = data;
  KmgAccounts *accounts = user_data;
  Job *j = g_task_get_task_data (task);

  if (j->kind == JOB_HASH)
    {
      j->new_hash = kmg_accounts_hash_password (j->password, NULL);
      j->hash_failed = j->new_hash == NULL;
    }
  else
    {
      const char *h = j->stored_hash ? j->stored_hash : kmg_accounts_dummy_hash (accounts);
      j->verified = h != NULL
                    && crypto_pwhash_str_verify (h, j->password, strlen (j->password)) == 0
                    && j->stored_hash != NULL;
    }
  sodium_memzero (j->password, strlen (j->password));
  g_main_context_invoke_full (g_task_get_context (task), G_PRIORITY_DEFAULT, main_stage, task,
                              g_object_unref);
}

static gboolean
queue_job (KmgAccounts *accounts, GTask *task, GError **error)
{
  if (g_thread_pool_unprocessed (accounts->hash_pool) >= (guint) accounts->cfg.max_queued_hashes)
    {
      g_set_error_literal (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_BUSY,
                           "too many logins in progress, try again shortly");
      return FALSE;
    }
  return g_thread_pool_push (accounts->hash_pool, g_object_ref (task), error);
}

static Job *
job_new (KmgAccounts *accounts, JobKind kind, const char *password, gint64 now)
{
  Job *j = g_new0 (Job, 1);

  j->kind = kind;
  j->link = g_rc_box_acquire (accounts->link);
  j->password = g_strdup (password);
  j->now = now;
  return j;
}

static KmgAccountsLogin *
finish_register (KmgAccounts *a, Job *j, GError **error)
{
  g_autoptr (KmgAccountsLogin) login = g_new0 (KmgAccountsLogin, 1);
  gint64 user_id;

  if (!kmg_db_begin (a->db, error))
    return NULL;
  if (!kmg_accounts_exec_stmt (a,
                               "INSERT INTO users (username, username_key, password_hash, display_name, "
                               "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                               error, "ssssii", j->username, j->username_key, j->new_hash,
                               j->display_name ? j->display_name : "", j->now, j->now))
    {
      kmg_db_rollback (a->db);
      /* Someone took the name while we were hashing. */
      if (g_error_matches (*error, KMG_DB_ERROR, KMG_DB_ERROR_CONSTRAINT))
        {
          g_clear_error (error);
          g_set_error_literal (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_USERNAME_TAKEN,
                               "this username is taken");
        }
      return NULL;
    }
  user_id = kmg_db_last_insert_rowid (a->db);
  if (!kmg_accounts_insert_token (a, user_id, j->device, j->now, login, error)
      || !kmg_db_commit (a->db, error))
    {
      kmg_db_rollback (a->db);
      return NULL;
    }
  login->user = kmg_accounts_get_me (a, user_id, error);
  if (login->user == NULL)
    return NULL;
  g_info ("registered user %" G_GINT64_FORMAT, user_id);
  return g_steal_pointer (&login);
}

static KmgAccountsLogin *
finish_login (KmgAccounts *a, Job *j, GError **error)
{
  g_autoptr (KmgAccountsLogin) login = g_new0 (KmgAccountsLogin, 1);

  if (!j->verified)
    {
      g_set_error_literal (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_CREDENTIALS,
                           "wrong username or password");
      return NULL;
    }
  /* Told only to someone who knows the password: it reveals nothing to a guesser. */
  if (j->banned)
    {
      g_set_error_literal (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_BANNED,
                           "this account is banned");
      return NULL;
    }
  if (!kmg_accounts_insert_token (a, j->user_id, j->device, j->now, login, error))
    return NULL;
  login->user = kmg_accounts_get_me (a, j->user_id, error);
  return login->user ? g_steal_pointer (&login) : NULL;
}

/* Main context, after the worker. */
static gboolean
main_stage (gpointer data)
{
  GTask *task = data;
  Job *j = g_task_get_task_data (task);
  KmgAccounts *a = j->link->owner;
  GError *error = NULL;
  KmgAccountsLogin *login;

  if (a == NULL)
    {
      g_task_return_new_error (task, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_CLOSED,
                               "the server is shutting down");
      return G_SOURCE_REMOVE;
    }
  if (j->hash_failed)
    {
      g_task_return_new_error (task, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_BUSY,
                               "password hashing failed, try again shortly");
      return G_SOURCE_REMOVE;
    }
  login = j->kind == JOB_HASH ? finish_register (a, j, &error) : finish_login (a, j, &error);
  if (login != NULL)
    g_task_return_pointer (task, login, (GDestroyNotify) kmg_accounts_login_free);
  else
    g_task_return_error (task, error);
  return G_SOURCE_REMOVE;
}

static gboolean
username_taken (KmgAccounts *a, const char *key, GError **error)
{
  g_autoptr (KmgDbStmt) stmt = kmg_db_prepare (a->db, "SELECT 1 FROM users WHERE username_key = ?",
                                                error);
  int rc;

  if (stmt == NULL)
    return TRUE;
  sqlite3_bind_text (kmg_db_stmt_raw (stmt), 1, key, -1, SQLITE_TRANSIENT);
  rc = kmg_db_step (stmt, error);
  if (rc == SQLITE_ROW)
    g_set_error_literal (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_USERNAME_TAKEN,
                         "this username is taken");
  return rc != SQLITE_DONE;
}

static gboolean
check_register (KmgAccounts *a, const char *username, const char *password,
                const char *display_name, const char *device, GError **error)
{
  if (!kmg_username_check (username, error) || !kmg_password_check (password, strlen (password), error))
    return FALSE;
  if (display_name && !kmg_text_check ("display_name", display_name, KMG_DISPLAY_NAME_MAX, FALSE, error))
    return FALSE;
  if (device && !kmg_text_check ("device", device, KMG_DISPLAY_NAME_MAX, FALSE, error))
    return FALSE;
  return TRUE;
}

/* One bucket per address: a script must not mint accounts (each a fresh login and WebSocket
 * budget) faster than people sign up. Charged before the name check, so probing which names are
 * taken is limited too. */
static gboolean
take_register_token (KmgAccounts *a, const char *addr, gint64 now, gint64 *retry_after_s)
{
  gint64 wait = 0;

  if (addr == NULL || kmg_rate_limit_take (a->register_by_addr, addr, now * 1000, &wait))
    return TRUE;
  *retry_after_s = MAX (1, (wait + 999) / 1000);
  return FALSE;
}

void
kmg_accounts_register_async (KmgAccounts *accounts, const char *username, const char *password,
                             const char *display_name, const char *device,
                             const char *client_addr, gint64 now, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autofree char *key = NULL;
  GError *error = NULL;
  Job *j;

  g_return_if_fail (accounts != NULL && username != NULL && password != NULL);
  g_task_set_source_tag (task, kmg_accounts_register_async);
  j = job_new (accounts, JOB_HASH, password, now);
  g_task_set_task_data (task, j, job_free);
  if (!check_register (accounts, username, password, display_name, device, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (!take_register_token (accounts, client_addr, now, &j->retry_after_s))
    {
      g_task_return_new_error (task, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_RATE_LIMITED,
                               "too many registrations, retry in %" G_GINT64_FORMAT " s",
                               j->retry_after_s);
      return;
    }
  key = kmg_username_key (username);
  /* Checked before hashing so a taken name costs no hash; the UNIQUE index decides races. */
  if (username_taken (accounts, key, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  j->username = g_strdup (username);
  j->username_key = g_steal_pointer (&key);
  j->display_name = g_strdup (display_name);
  j->device = g_strdup (device);
  if (!queue_job (accounts, task, &error))
    g_task_return_error (task, error);
}

KmgAccountsLogin *
kmg_accounts_register_finish (KmgAccounts *accounts, GAsyncResult *result, gint64 *retry_after_s,
                              GError **error)
{
  Job *j;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  j = g_task_get_task_data (G_TASK (result));
  if (retry_after_s)
    *retry_after_s = j ? j->retry_after_s : 0;
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Both buckets are charged, so one address cannot try many names nor many addresses one name. */
static gboolean
take_login_tokens (KmgAccounts *a, const char *key, const char *addr, gint64 now,
                   gint64 *retry_after_s)
{
  gint64 now_ms = now * 1000, wait_user = 0, wait_addr = 0;
  gboolean ok = TRUE;

  if (addr != NULL && !kmg_rate_limit_take (a->login_by_addr, addr, now_ms, &wait_addr))
    ok = FALSE;
  if (ok && !kmg_rate_limit_take (a->login_by_user, key, now_ms, &wait_user))
    ok = FALSE;
  *retry_after_s = MAX (1, (MAX (wait_user, wait_addr) + 999) / 1000);
  return ok;
}

/* Finds the user by name on the main context; leaves user_id 0 when there is none. */
static gboolean
lookup_login_user (KmgAccounts *a, Job *j, GError **error)
{
  g_autoptr (KmgDbStmt) stmt = kmg_db_prepare (
      a->db, "SELECT id, password_hash, banned_at IS NOT NULL FROM users WHERE username_key = ?",
      error);
  sqlite3_stmt *st;
  int rc;

  if (stmt == NULL)
    return FALSE;
  st = kmg_db_stmt_raw (stmt);
  sqlite3_bind_text (st, 1, j->username_key, -1, SQLITE_TRANSIENT);
  rc = kmg_db_step (stmt, error);
  if (rc < 0)
    return FALSE;
  if (rc == SQLITE_ROW)
    {
      j->user_id = sqlite3_column_int64 (st, 0);
      j->stored_hash = g_strdup ((const char *) sqlite3_column_text (st, 1));
      j->banned = sqlite3_column_int (st, 2) != 0;
    }
  return TRUE;
}

void
kmg_accounts_login_async (KmgAccounts *accounts, const char *username, const char *password,
                          const char *device, const char *client_addr, gint64 now,
                          GCancellable *cancellable, GAsyncReadyCallback callback,
                          gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  GError *error = NULL;
  gsize pw_len;
  Job *j;

  g_return_if_fail (accounts != NULL && username != NULL && password != NULL);
  g_task_set_source_tag (task, kmg_accounts_login_async);
  j = job_new (accounts, JOB_VERIFY, password, now);
  j->username_key = kmg_username_key (username);
  j->device = g_strdup (device);
  g_task_set_task_data (task, j, job_free);
  if (device && !kmg_text_check ("device", device, KMG_DISPLAY_NAME_MAX, FALSE, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (!take_login_tokens (accounts, j->username_key, client_addr, now, &j->retry_after_s))
    {
      g_task_return_new_error (task, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_RATE_LIMITED,
                               "too many login attempts, retry in %" G_GINT64_FORMAT " s",
                               j->retry_after_s);
      return;
    }
  pw_len = strlen (password);
  /* Over-long or empty passwords can match no account; refusing them early reveals nothing. */
  if (pw_len == 0 || pw_len > KMG_PASSWORD_MAX)
    {
      g_task_return_new_error (task, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_CREDENTIALS,
                               "wrong username or password");
      return;
    }
  /* A malformed name simply matches nobody and still goes through the dummy hash. */
  if (!lookup_login_user (accounts, j, &error) || !queue_job (accounts, task, &error))
    g_task_return_error (task, error);
}

KmgAccountsLogin *
kmg_accounts_login_finish (KmgAccounts *accounts, GAsyncResult *result, gint64 *retry_after_s,
                           GError **error)
{
  Job *j;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  j = g_task_get_task_data (G_TASK (result));
  if (retry_after_s)
    *retry_after_s = j ? j->retry_after_s : 0;
  return g_task_propagate_pointer (G_TASK (result), error);
}

gint64
kmg_accounts_create_user_sync (KmgAccounts *accounts, const char *username, const char *password,
                               gboolean is_admin, gint64 now, GError **error)
{
  g_autofree char *key = NULL;
  g_autofree char *hash = NULL;

  g_return_val_if_fail (accounts != NULL && username != NULL && password != NULL, 0);
  /* Reserved names exist for staff: an admin may be called "admin". */
  if (!(is_admin ? kmg_username_check_format (username, error) : kmg_username_check (username, error)))
    return 0;
  if (!kmg_password_check (password, strlen (password), error))
    return 0;
  key = kmg_username_key (username);
  if (username_taken (accounts, key, error))
    return 0;
  hash = kmg_accounts_hash_password (password, error);
  if (hash == NULL)
    return 0;
  if (!kmg_accounts_exec_stmt (accounts,
                               "INSERT INTO users (username, username_key, password_hash, role, "
                               "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                               error, "ssssii", username, key, hash, is_admin ? "admin" : "user", now, now))
    return 0;
  return kmg_db_last_insert_rowid (accounts->db);
}
