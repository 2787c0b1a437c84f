/* test-accounts-store.c — accounts against a real SQLite file in a temporary data dir:
 * migrations, register/login, tokens, profiles, pictures, rate limits, administration. */

#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>

#include "kmg-accounts.h"
#include "kmg-json.h"
#include "kmg-token.h"
#include "picture-samples.h"

#define NOW G_GINT64_CONSTANT (1700000000)

typedef struct
{
  char *dir;
  char *db_path;
  KmgDb *db;
  KmgAccounts *accounts;
  KmgAccountsConfig cfg;
} Fixture;

static void
open_accounts (Fixture *f)
{
  g_autoptr (GError) error = NULL;

  f->db = kmg_db_open (f->db_path, &error);
  g_assert_no_error (error);
  f->accounts = kmg_accounts_new (f->db, f->dir, &f->cfg, &error);
  g_assert_no_error (error);
}

static void
close_accounts (Fixture *f)
{
  g_clear_pointer (&f->accounts, kmg_accounts_free);
  g_clear_pointer (&f->db, kmg_db_close);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("kmg-accounts-XXXXXX", &error);
  g_assert_no_error (error);
  f->db_path = g_build_filename (f->dir, "kamegor.db", NULL);
  kmg_accounts_config_init (&f->cfg);
  f->cfg.login_per_user_per_5min = 4;
  f->cfg.login_per_addr_per_5min = 1000;
  f->cfg.picture_max_bytes = 4096;
  open_accounts (f);
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  close_accounts (f);
  remove_tree (f->dir);
  g_free (f->db_path);
  g_free (f->dir);
}

/* --- async helpers --------------------------------------------------------------------------- */

typedef struct
{
  gboolean done;
  KmgAccountsLogin *login;
  GError *error;
  gint64 retry_after;
  gboolean is_login;
  KmgAccounts *accounts;
} Wait;

static void
on_done (GObject *source, GAsyncResult *res, gpointer data)
{
  Wait *w = data;

  if (w->is_login)
    w->login = kmg_accounts_login_finish (w->accounts, res, &w->retry_after, &w->error);
  else
    w->login = kmg_accounts_register_finish (w->accounts, res, &w->retry_after, &w->error);
  w->done = TRUE;
}

static void
wait_done (Wait *w)
{
  while (!w->done)
    g_main_context_iteration (NULL, TRUE);
}

static KmgAccountsLogin *
do_register_from (Fixture *f, const char *user, const char *pw, const char *addr, gint64 now,
                  gint64 *retry_after, GError **error)
{
  Wait w = { .accounts = f->accounts };

  kmg_accounts_register_async (f->accounts, user, pw, "Display", "phone", addr, now, NULL, on_done,
                               &w);
  wait_done (&w);
  if (retry_after)
    *retry_after = w.retry_after;
  if (w.error)
    g_propagate_error (error, w.error);
  return w.login;
}

static KmgAccountsLogin *
do_register (Fixture *f, const char *user, const char *pw, GError **error)
{
  return do_register_from (f, user, pw, NULL, NOW, NULL, error);
}

static KmgAccountsLogin *
do_login (Fixture *f, const char *user, const char *pw, const char *addr, gint64 now,
          gint64 *retry_after, GError **error)
{
  Wait w = { .accounts = f->accounts, .is_login = TRUE };

  kmg_accounts_login_async (f->accounts, user, pw, "laptop", addr, now, NULL, on_done, &w);
  wait_done (&w);
  if (retry_after)
    *retry_after = w.retry_after;
  if (w.error)
    g_propagate_error (error, w.error);
  return w.login;
}

static gint64
count_rows (Fixture *f, const char *sql)
{
  g_autoptr (sqlite3_stmt) st = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (kmg_db_handle (f->db), sql, -1, &st, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  return sqlite3_column_int64 (st, 0);
}

/* --- tests ----------------------------------------------------------------------------------- */

static void
test_migrations (Fixture *f, gconstpointer data)
{
  g_autoptr (KmgAccountsLogin) login = NULL;

  g_assert_cmpint (kmg_db_latest_version (), >=, 1);
  g_assert_cmpint (kmg_db_schema_version (f->db), ==, kmg_db_latest_version ());
  login = do_register (f, "persist", "correct horse battery", NULL);
  g_assert_nonnull (login);
  /* Reopening an up-to-date database changes nothing and keeps the data. */
  for (int i = 0; i < 2; i++)
    {
      close_accounts (f);
      open_accounts (f);
      g_assert_cmpint (kmg_db_schema_version (f->db), ==, kmg_db_latest_version ());
      g_assert_cmpint (count_rows (f, "SELECT count(*) FROM users WHERE username = 'persist'"), ==, 1);
    }
}

static void
test_register_login (Fixture *f, gconstpointer data)
{
  g_autoptr (KmgAccountsLogin) reg = NULL;
  g_autoptr (KmgAccountsLogin) login = NULL;
  g_autoptr (GError) error = NULL;
  KmgAccountsAuth auth;

  reg = do_register (f, "Alice", "correct horse battery", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (reg->token), ==, KMG_TOKEN_TEXT_LEN);
  g_assert_cmpstr (json_object_get_string_member (reg->user, "username"), ==, "Alice");
  g_assert_cmpstr (json_object_get_string_member (reg->user, "display_name"), ==, "Display");
  g_assert_cmpint (reg->expires_at, ==, NOW + f->cfg.token_ttl_s);
  g_assert_true (kmg_accounts_authenticate (f->accounts, reg->token, NOW, &auth));
  g_assert_cmpint (auth.user_id, ==, reg->user_id);
  g_assert_false (auth.is_admin);
  /* The password is stored as argon2id, never in clear. */
  g_assert_cmpint (count_rows (f, "SELECT count(*) FROM users WHERE password_hash LIKE '$argon2id$%'"),
                   ==, 1);

  /* Names are unique case-insensitively. */
  g_assert_null (do_register (f, "ALICE", "another password", &error));
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_USERNAME_TAKEN);
  g_clear_error (&error);
  g_assert_null (do_register (f, "bob", "short", &error));
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_PASSWORD);
  g_clear_error (&error);
  g_assert_null (do_register (f, "root", "long enough password", &error));
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_USERNAME);
  g_clear_error (&error);

  login = do_login (f, "aLiCe", "correct horse battery", "10.0.0.1", NOW, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (login->user_id, ==, reg->user_id);
  g_assert_cmpstr (login->token, !=, reg->token);
  g_clear_pointer (&login, kmg_accounts_login_free);

  g_assert_null (do_login (f, "alice", "wrong password!", "10.0.0.1", NOW, NULL, &error));
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_CREDENTIALS);
  g_clear_error (&error);
  g_assert_null (do_login (f, "nobody", "whatever password", "10.0.0.1", NOW, NULL, &error));
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_CREDENTIALS);
  g_clear_error (&error);
  g_assert_null (do_login (f, "bad name!", "whatever password", "10.0.0.1", NOW, NULL, &error));
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_CREDENTIALS);
}

static double
time_login (Fixture *f, const char *user, gint64 now)
{
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgAccountsLogin) l = do_login (f, user, "not the password", NULL, now, NULL, &error);

  g_assert_null (l);
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_CREDENTIALS);
  return (g_get_monotonic_time () - t0) / 1000.0;
}

static void
test_unknown_user_spends_hash (Fixture *f, gconstpointer data)
{
  g_autoptr (KmgAccountsLogin) reg = do_register (f, "carol", "correct horse battery", NULL);
  double known = 0, unknown = 0;

  g_assert_nonnull (reg);
  time_login (f, "nobody", NOW); /* warm-up, as the first login of any kind */
  for (int i = 0; i < 3; i++)
    {
      known += time_login (f, "carol", NOW + 100 * (i + 1));
      unknown += time_login (f, "nobody", NOW + 100 * (i + 1));
    }
  g_test_message ("wrong password: %.1f ms, unknown user: %.1f ms", known / 3, unknown / 3);
  /* Same work both ways: a missing hash would make the unknown case ~1000x faster. */
  g_assert_cmpfloat (unknown, >, known / 3);
  g_assert_cmpfloat (known, >, unknown / 3);
}

static void
test_tokens (Fixture *f, gconstpointer data)
{
  g_autoptr (KmgAccountsLogin) a1 = do_register (f, "dave", "correct horse battery", NULL);
  g_autoptr (KmgAccountsLogin) a2 = do_login (f, "dave", "correct horse battery", NULL, NOW + 10, NULL, NULL);
  g_autoptr (KmgAccountsLogin) b = do_register (f, "erin", "correct horse battery", NULL);
  g_autoptr (JsonArray) list = NULL;
  g_autoptr (GError) error = NULL;
  guint8 hash[KMG_TOKEN_HASH_BYTES];
  g_autoptr (sqlite3_stmt) st = NULL;
  KmgAccountsAuth auth;
  char *last_used_sql;

  g_assert_nonnull (a1);
  g_assert_nonnull (a2);
  g_assert_nonnull (b);
  /* Stored: the SHA-256 of the raw bytes, and no trace of the text. */
  g_assert_true (kmg_token_hash (a1->token, hash));
  sqlite3_prepare_v2 (kmg_db_handle (f->db), "SELECT count(*) FROM tokens WHERE token_hash = ?", -1, &st, NULL);
  sqlite3_bind_blob (st, 1, hash, sizeof hash, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (st, 0), ==, 1);
  g_assert_cmpint (count_rows (f, "SELECT count(*) FROM tokens WHERE length(token_hash) != 32"), ==, 0);

  list = kmg_accounts_list_tokens (f->accounts, a1->user_id, a2->token_id, NOW + 20, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (list), ==, 2);
  g_assert_true (json_object_get_boolean_member (json_array_get_object_element (list, 1), "current"));
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (list, 1), "label"), ==,
                   "laptop");

  /* Expiry. */
  g_assert_true (kmg_accounts_authenticate (f->accounts, a1->token, a1->expires_at - 1, &auth));
  g_assert_false (kmg_accounts_authenticate (f->accounts, a1->token, a1->expires_at, &auth));
  /* last_used_at: written on use, then not again within a minute. */
  last_used_sql = g_strdup_printf ("SELECT last_used_at FROM tokens WHERE id = %" G_GINT64_FORMAT, b->token_id);
  g_assert_true (kmg_accounts_authenticate (f->accounts, b->token, NOW + 100, &auth));
  g_assert_cmpint (count_rows (f, last_used_sql), ==, NOW + 100);
  g_assert_true (kmg_accounts_authenticate (f->accounts, b->token, NOW + 159, &auth));
  g_assert_cmpint (count_rows (f, last_used_sql), ==, NOW + 100);
  g_assert_true (kmg_accounts_authenticate (f->accounts, b->token, NOW + 160, &auth));
  g_assert_cmpint (count_rows (f, last_used_sql), ==, NOW + 160);
  g_free (last_used_sql);

  /* Another user's token cannot be revoked, nor told apart from a missing one. */
  g_assert_false (kmg_accounts_revoke_token (f->accounts, b->user_id, a1->token_id, NOW + 30, &error));
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (kmg_accounts_authenticate (f->accounts, a1->token, NOW + 30, &auth));
  g_assert_true (kmg_accounts_revoke_token (f->accounts, a1->user_id, a1->token_id, NOW + 30, &error));
  g_assert_false (kmg_accounts_authenticate (f->accounts, a1->token, NOW + 31, &auth));
  g_assert_true (kmg_accounts_authenticate (f->accounts, a2->token, NOW + 31, &auth));
  g_assert_false (kmg_accounts_revoke_token (f->accounts, a1->user_id, a1->token_id, NOW + 32, &error));
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpint (kmg_accounts_revoke_all_tokens (f->accounts, a1->user_id, NOW + 40, NULL), ==, 1);
  g_assert_false (kmg_accounts_authenticate (f->accounts, a2->token, NOW + 41, &auth));
  g_assert_true (kmg_accounts_authenticate (f->accounts, b->token, NOW + 41, &auth));

  /* Banned users' tokens stop working at once (and are revoked). */
  g_assert_true (kmg_accounts_set_banned (f->accounts, 0, b->user_id, TRUE, "spam", NOW + 50, &error));
  g_assert_false (kmg_accounts_authenticate (f->accounts, b->token, NOW + 51, &auth));
  g_assert_false (kmg_accounts_authenticate (f->accounts, "not-a-token", NOW, &auth));
  g_assert_cmpint (kmg_accounts_prune_tokens (f->accounts, NOW + 1000, NULL), ==, 3);
}

typedef struct
{
  GArray *revoked; /* gint64 user, token pairs */
  guint banned;
} Events;

static void
on_token_revoked (gint64 user_id, gint64 token_id, gpointer user_data)
{
  Events *ev = user_data;
  gint64 pair[2] = { user_id, token_id };

  g_array_append_vals (ev->revoked, pair, 2);
}

static void
on_banned (gint64 user_id, gpointer user_data)
{
  ((Events *) user_data)->banned++;
}

/* Revocations are told (one token, or 0 for all of them) once stored; a ban is told as a ban; a
 * token that only the ban stopped is reported as banned, not as unknown. */
static void
test_token_revoked_events (Fixture *f, gconstpointer data)
{
  g_autoptr (KmgAccountsLogin) a1 = do_register (f, "hank", "correct horse battery", NULL);
  g_autoptr (KmgAccountsLogin) a2 = do_login (f, "hank", "correct horse battery", NULL, NOW + 10, NULL, NULL);
  g_autoptr (KmgAccountsLogin) b1 = do_register (f, "iris", "correct horse battery", NULL);
  g_autoptr (KmgAccountsLogin) b2 = do_login (f, "iris", "correct horse battery", NULL, NOW + 10, NULL, NULL);
  g_autoptr (KmgAccountsLogin) b3 = do_login (f, "iris", "correct horse battery", NULL, NOW + 10, NULL, NULL);
  g_autoptr (GArray) revoked = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GError) error = NULL;
  Events ev = { revoked, 0 };
  KmgAccountsAuth auth;

  g_assert_nonnull (a1);
  g_assert_nonnull (a2);
  g_assert_nonnull (b1);
  g_assert_nonnull (b2);
  g_assert_nonnull (b3);
  kmg_accounts_connect_token_revoked (f->accounts, on_token_revoked, &ev);
  kmg_accounts_connect_user_banned (f->accounts, on_banned, &ev);

  g_assert_true (kmg_accounts_authenticate (f->accounts, a1->token, NOW + 20, &auth));
  g_assert_cmpint (auth.token_id, ==, a1->token_id);
  g_assert_cmpint (auth.expires_at, ==, a1->expires_at);
  g_assert_false (auth.banned);

  g_assert_true (kmg_accounts_revoke_token (f->accounts, a1->user_id, a1->token_id, NOW + 30, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (revoked->len, ==, 2);
  g_assert_cmpint (g_array_index (revoked, gint64, 0), ==, a1->user_id);
  g_assert_cmpint (g_array_index (revoked, gint64, 1), ==, a1->token_id);
  /* Nothing revoked, nothing told. */
  g_assert_false (kmg_accounts_revoke_token (f->accounts, a1->user_id, a1->token_id, NOW + 31, NULL));
  g_assert_false (kmg_accounts_revoke_token (f->accounts, b1->user_id, a2->token_id, NOW + 31, NULL));
  g_assert_cmpuint (revoked->len, ==, 2);

  g_assert_cmpint (kmg_accounts_revoke_all_tokens (f->accounts, a1->user_id, NOW + 40, NULL), ==, 1);
  g_assert_cmpuint (revoked->len, ==, 4);
  g_assert_cmpint (g_array_index (revoked, gint64, 2), ==, a1->user_id);
  g_assert_cmpint (g_array_index (revoked, gint64, 3), ==, 0);
  g_assert_cmpint (kmg_accounts_revoke_all_tokens (f->accounts, a1->user_id, NOW + 41, NULL), ==, 0);
  g_assert_cmpuint (revoked->len, ==, 4);
  g_assert_false (kmg_accounts_authenticate (f->accounts, a2->token, NOW + 42, &auth));
  g_assert_false (auth.banned);

  /* b1 logged out before the ban; b2 and b3 were live until it. */
  g_assert_true (kmg_accounts_revoke_token (f->accounts, b1->user_id, b1->token_id, NOW + 45, NULL));
  g_assert_cmpuint (revoked->len, ==, 6);
  g_assert_true (kmg_accounts_set_banned (f->accounts, 0, b1->user_id, TRUE, "spam", NOW + 50, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ev.banned, ==, 1);
  g_assert_cmpuint (revoked->len, ==, 6); /* the ban is its own event */
  g_assert_false (kmg_accounts_authenticate (f->accounts, b2->token, NOW + 51, &auth));
  g_assert_true (auth.banned);
  g_assert_cmpint (auth.user_id, ==, b1->user_id);
  g_assert_cmpint (auth.token_id, ==, 0);
  g_assert_false (kmg_accounts_authenticate (f->accounts, b3->token, NOW + 51, &auth));
  g_assert_true (auth.banned);
  g_assert_false (kmg_accounts_authenticate (f->accounts, b1->token, NOW + 51, &auth));
  g_assert_false (auth.banned);
  g_assert_cmpint (auth.user_id, ==, 0);
  g_assert_false (kmg_accounts_authenticate (f->accounts, "not-a-token", NOW + 51, &auth));
  g_assert_false (auth.banned);
  /* Past its expiry a banned user's token is just expired. */
  g_assert_false (kmg_accounts_authenticate (f->accounts, b2->token, b2->expires_at, &auth));
  g_assert_false (auth.banned);
  /* Unbanned, the revoked tokens stay revoked and are no longer "banned". */
  g_assert_true (kmg_accounts_set_banned (f->accounts, 0, b1->user_id, FALSE, "appeal", NOW + 60, NULL));
  g_assert_false (kmg_accounts_authenticate (f->accounts, b2->token, NOW + 61, &auth));
  g_assert_false (auth.banned);
  g_assert_cmpuint (revoked->len, ==, 6);
}

static JsonObject *
me (Fixture *f, gint64 id)
{
  g_autoptr (GError) error = NULL;
  JsonObject *o = kmg_accounts_get_me (f->accounts, id, &error);
  g_assert_no_error (error);
  return o;
}

static gboolean
apply (Fixture *f, gint64 id, const char *json, GError **error)
{
  g_autoptr (JsonObject) o = kmg_json_parse_object (json, strlen (json), NULL);
  KmgProfilePatch p;
  gboolean ok;

  g_assert_nonnull (o);
  if (!kmg_profile_patch_decode (o, &p, error))
    return FALSE;
  ok = kmg_accounts_update_profile (f->accounts, id, &p, NOW + 5, error);
  kmg_profile_patch_clear (&p);
  return ok;
}

static void
test_profile (Fixture *f, gconstpointer data)
{
  g_autoptr (KmgAccountsLogin) u = do_register (f, "frank", "correct horse battery", NULL);
  g_autoptr (JsonObject) before = NULL;
  g_autoptr (JsonObject) after = NULL;
  g_autoptr (JsonObject) seller = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *s1 = NULL;
  g_autofree char *s2 = NULL;

  g_assert_nonnull (u);
  g_assert_true (apply (f, u->user_id, "{\"display_name\":\"Frank\",\"price_per_minute\":30}", &error));
  g_assert_no_error (error);
  before = me (f, u->user_id);
  g_assert_cmpstr (json_object_get_string_member (before, "display_name"), ==, "Frank");
  g_assert_cmpint (json_object_get_int_member (before, "price_per_minute"), ==, 30);
  g_assert_false (json_object_get_boolean_member (before, "is_seller"));

  /* Not a seller: no public profile. */
  g_assert_null (kmg_accounts_seller_profile (f->accounts, u->user_id, &error));
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Each bad request changes nothing at all, even the valid members it carries. */
  g_assert_false (apply (f, u->user_id, "{\"display_name\":\"X\",\"is_seller\":true}", &error));
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_CONSENT_REQUIRED);
  g_clear_error (&error);
  g_assert_false (apply (f, u->user_id, "{\"display_name\":\"X\",\"price_per_minute\":0}", &error));
  g_clear_error (&error);
  g_assert_false (apply (f, u->user_id, "{\"display_name\":\"X\",\"bogus\":1}", &error));
  g_clear_error (&error);
  after = me (f, u->user_id);
  s1 = kmg_json_object_to_string (before);
  s2 = kmg_json_object_to_string (after);
  g_assert_cmpstr (s1, ==, s2);
  g_assert_cmpint (count_rows (f, "SELECT count(*) FROM consents"), ==, 0);
  g_clear_pointer (&after, json_object_unref);

  /* Becoming a seller, with consent recorded at its time. */
  g_assert_true (apply (f, u->user_id,
                        "{\"is_seller\":true,\"location_consent\":true,\"seller_description\":\"Live cooking\"}",
                        &error));
  g_assert_no_error (error);
  g_assert_cmpint (count_rows (f, "SELECT count(*) FROM consents WHERE granted = 1 AND created_at > 0"), ==, 1);
  seller = kmg_accounts_seller_profile (f->accounts, u->user_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (seller, "username"), ==, "frank");
  g_assert_cmpstr (json_object_get_string_member (seller, "description"), ==, "Live cooking");
  g_assert_cmpint (json_object_get_int_member (seller, "price_per_minute"), ==, 30);
  g_assert_false (json_object_has_member (seller, "role"));
  g_assert_false (json_object_has_member (seller, "always_relay"));

  /* Withdrawing consent turns selling off and keeps the history. */
  g_assert_true (apply (f, u->user_id, "{\"location_consent\":false}", &error));
  after = me (f, u->user_id);
  g_assert_false (json_object_get_boolean_member (after, "is_seller"));
  g_assert_false (json_object_get_boolean_member (after, "location_consent"));
  g_assert_cmpint (count_rows (f, "SELECT count(*) FROM consents"), ==, 2);
  g_assert_null (kmg_accounts_seller_profile (f->accounts, u->user_id, NULL));

  /* A banned seller has no public profile either. */
  g_assert_true (apply (f, u->user_id, "{\"is_seller\":true,\"location_consent\":true}", NULL));
  g_clear_pointer (&seller, json_object_unref);
  seller = kmg_accounts_seller_profile (f->accounts, u->user_id, NULL);
  g_assert_nonnull (seller);
  g_assert_true (kmg_accounts_set_banned (f->accounts, 0, u->user_id, TRUE, "test", NOW, NULL));
  g_assert_null (kmg_accounts_seller_profile (f->accounts, u->user_id, NULL));
  g_assert_null (kmg_accounts_seller_profile (f->accounts, 9999, NULL));
}

static void
test_pictures (Fixture *f, gconstpointer data)
{
  g_autoptr (KmgAccountsLogin) u = do_register (f, "gina", "correct horse battery", NULL);
  g_autoptr (GBytes) png = g_bytes_new_static (tiny_png, sizeof tiny_png);
  g_autoptr (GBytes) jpg = g_bytes_new_static (tiny_jpg, sizeof tiny_jpg);
  g_autoptr (GBytes) junk = g_bytes_new_static ("not a picture", 13);
  g_autoptr (GBytes) big = NULL;
  g_autoptr (GBytes) got = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *id1 = NULL;
  g_autofree char *id2 = NULL;
  g_autofree char *path1 = NULL;
  g_autofree char *name1 = NULL;
  g_autoptr (JsonObject) m = NULL;
  const char *ct = NULL;
  guint8 *zeros;

  id1 = kmg_accounts_set_picture (f->accounts, u->user_id, png, NOW, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (id1), ==, 64);
  name1 = g_strconcat (id1, ".png", NULL);
  path1 = g_build_filename (f->dir, "pictures", name1, NULL);
  g_assert_true (g_file_test (path1, G_FILE_TEST_IS_REGULAR));
  got = kmg_accounts_get_picture (f->accounts, id1, &ct, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ct, ==, "image/png");
  g_assert_true (g_bytes_equal (got, png));
  m = me (f, u->user_id);
  g_assert_true (g_str_has_suffix (json_object_get_string_member (m, "picture_url"), id1));

  /* Garbage and oversize are refused and leave the picture as it was. */
  g_assert_null (kmg_accounts_set_picture (f->accounts, u->user_id, junk, NOW, &error));
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_BAD_PICTURE);
  g_clear_error (&error);
  zeros = g_malloc0 (f->cfg.picture_max_bytes + 1);
  memcpy (zeros, tiny_png, sizeof tiny_png);
  big = g_bytes_new_take (zeros, f->cfg.picture_max_bytes + 1);
  g_assert_null (kmg_accounts_set_picture (f->accounts, u->user_id, big, NOW, &error));
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_PICTURE_TOO_LARGE);
  g_clear_error (&error);
  g_clear_pointer (&m, json_object_unref);
  m = me (f, u->user_id);
  g_assert_true (g_str_has_suffix (json_object_get_string_member (m, "picture_url"), id1));

  /* Replacing: a new id (so a new URL), the old file and row go away. */
  id2 = kmg_accounts_set_picture (f->accounts, u->user_id, jpg, NOW + 1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (id1, !=, id2);
  g_assert_false (g_file_test (path1, G_FILE_TEST_EXISTS));
  g_assert_null (kmg_accounts_get_picture (f->accounts, id1, &ct, &error));
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_clear_pointer (&got, g_bytes_unref);
  got = kmg_accounts_get_picture (f->accounts, id2, &ct, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ct, ==, "image/jpeg");

  /* Ids that are not 64 hex digits never reach the file system. */
  g_assert_null (kmg_accounts_get_picture (f->accounts, "../kamegor.db", &ct, NULL));
  g_assert_null (kmg_accounts_get_picture (f->accounts, "", &ct, NULL));
}

static void
test_rate_limit (Fixture *f, gconstpointer data)
{
  g_autoptr (KmgAccountsLogin) u = do_register (f, "hank", "correct horse battery", NULL);
  g_autoptr (KmgAccountsLogin) ok = NULL;
  g_autoptr (GError) error = NULL;
  gint64 retry = 0;

  g_assert_nonnull (u);
  for (int i = 0; i < 4; i++)
    {
      g_assert_null (do_login (f, "hank", "wrong password!!", "10.0.0.1", NOW, &retry, &error));
      g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_CREDENTIALS);
      g_clear_error (&error);
    }
  /* Even the right password is refused now, from any address, with a retry time. */
  g_assert_null (do_login (f, "HANK", "correct horse battery", "10.9.9.9", NOW + 1, &retry, &error));
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_RATE_LIMITED);
  g_clear_error (&error);
  g_assert_cmpint (retry, >, 0);
  g_assert_cmpint (retry, <=, 75);
  ok = do_login (f, "hank", "correct horse battery", "10.9.9.9", NOW + 1 + retry, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ok);
}

static void
test_rate_limit_addr (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gint64 retry = 0;

  close_accounts (f);
  f->cfg.login_per_addr_per_5min = 2;
  open_accounts (f);
  /* Different usernames from one address share the address bucket. */
  for (int i = 0; i < 2; i++)
    {
      g_autofree char *name = g_strdup_printf ("user%d", i);
      g_assert_null (do_login (f, name, "whatever password", "192.0.2.7", NOW, &retry, &error));
      g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_CREDENTIALS);
      g_clear_error (&error);
    }
  g_assert_null (do_login (f, "user9", "whatever password", "192.0.2.7", NOW, &retry, &error));
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_RATE_LIMITED);
  g_assert_cmpint (retry, ==, 150);
  g_clear_error (&error);
  g_assert_null (do_login (f, "user9", "whatever password", "192.0.2.8", NOW, &retry, &error));
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_CREDENTIALS);
}

/* Registrations from one address share a bucket; a taken name costs a token too, and a
 * malformed request none. */
static void
test_rate_limit_register (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gint64 retry = 0;

  close_accounts (f);
  f->cfg.register_per_addr_per_hour = 3;
  open_accounts (f);
  for (int i = 0; i < 2; i++)
    {
      g_autofree char *name = g_strdup_printf ("newbie%d", i);
      g_autoptr (KmgAccountsLogin) login = do_register_from (f, name, "correct horse battery",
                                                             "192.0.2.7", NOW, &retry, &error);
      g_assert_no_error (error);
      g_assert_nonnull (login);
    }
  g_assert_null (do_register_from (f, "x", "correct horse battery", "192.0.2.7", NOW, &retry,
                                   &error));
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_USERNAME);
  g_clear_error (&error);
  g_assert_null (do_register_from (f, "newbie0", "correct horse battery", "192.0.2.7", NOW, &retry,
                                   &error));
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_USERNAME_TAKEN);
  g_clear_error (&error);
  g_assert_null (do_register_from (f, "newbie9", "correct horse battery", "192.0.2.7", NOW, &retry,
                                   &error));
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_RATE_LIMITED);
  g_assert_cmpint (retry, ==, 1200); /* one of 3 tokens an hour */
  g_clear_error (&error);
  g_assert_cmpint (count_rows (f, "SELECT count(*) FROM users"), ==, 2);
  {
    g_autoptr (KmgAccountsLogin) other = do_register_from (f, "newbie9", "correct horse battery",
                                                           "192.0.2.8", NOW, &retry, &error);
    g_autoptr (KmgAccountsLogin) later = NULL;

    g_assert_no_error (error);
    g_assert_nonnull (other);
    later = do_register_from (f, "newbie10", "correct horse battery", "192.0.2.7", NOW + 1200,
                              &retry, &error);
    g_assert_no_error (error);
    g_assert_nonnull (later);
  }
}

typedef struct
{
  KmgAccounts *accounts;
  int pending, busy, done_ok, other;
} Burst;

static void
on_burst (GObject *source, GAsyncResult *res, gpointer data)
{
  Burst *b = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgAccountsLogin) l = kmg_accounts_login_finish (b->accounts, res, NULL, &error);

  g_assert_null (l);
  if (g_error_matches (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_BUSY))
    b->busy++;
  else if (g_error_matches (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_CREDENTIALS))
    b->done_ok++;
  else
    b->other++;
  b->pending--;
}

static void
test_hash_queue_bounded (Fixture *f, gconstpointer data)
{
  Burst b = { 0 };

  close_accounts (f);
  f->cfg.max_concurrent_hashes = 1;
  f->cfg.max_queued_hashes = 1;
  f->cfg.login_per_user_per_5min = 100;
  open_accounts (f);
  b.accounts = f->accounts;
  for (int i = 0; i < 6; i++)
    {
      b.pending++;
      kmg_accounts_login_async (f->accounts, "nobody", "whatever password", NULL, NULL, NOW, NULL,
                                on_burst, &b);
    }
  while (b.pending > 0)
    g_main_context_iteration (NULL, TRUE);
  g_test_message ("hashed %d, refused busy %d", b.done_ok, b.busy);
  g_assert_cmpint (b.other, ==, 0);
  g_assert_cmpint (b.done_ok, >=, 1);
  g_assert_cmpint (b.done_ok, <=, 2);
  g_assert_cmpint (b.busy, ==, 6 - b.done_ok);
}

static void
test_admin (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgAccountsLogin) user = do_register (f, "ivan", "correct horse battery", NULL);
  g_autoptr (KmgAccountsLogin) adm_login = NULL;
  g_autoptr (JsonArray) all = NULL;
  g_autoptr (JsonArray) some = NULL;
  KmgAccountsAuth auth;
  gint64 admin_id;

  /* Operators may create a staff account with a reserved name; users may not. */
  admin_id = kmg_accounts_create_user_sync (f->accounts, "admin", "correct horse battery", TRUE, NOW, &error);
  g_assert_no_error (error);
  g_assert_cmpint (admin_id, >, 0);
  g_assert_cmpint (kmg_accounts_create_user_sync (f->accounts, "support", "correct horse battery", FALSE,
                                                  NOW, &error), ==, 0);
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_USERNAME);
  g_clear_error (&error);
  g_assert_cmpint (kmg_accounts_create_user_sync (f->accounts, "Admin", "correct horse battery", TRUE,
                                                  NOW, &error), ==, 0);
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_USERNAME_TAKEN);
  g_clear_error (&error);

  adm_login = do_login (f, "admin", "correct horse battery", NULL, NOW, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (kmg_accounts_authenticate (f->accounts, adm_login->token, NOW, &auth));
  g_assert_true (auth.is_admin);

  all = kmg_accounts_list_users (f->accounts, NULL, 0, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (all), ==, 2);
  some = kmg_accounts_list_users (f->accounts, "IV", 0, 100, &error);
  g_assert_cmpuint (json_array_get_length (some), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (some, 0), "username"),
                   ==, "ivan");

  g_assert_true (kmg_accounts_set_role (f->accounts, admin_id, user->user_id, TRUE, "helps out", NOW, &error));
  g_assert_true (kmg_accounts_authenticate (f->accounts, user->token, NOW, &auth));
  g_assert_true (auth.is_admin);
  g_assert_false (kmg_accounts_set_role (f->accounts, admin_id, 4242, TRUE, "x", NOW, &error));
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_NOT_FOUND);
  g_assert_cmpint (count_rows (f, "SELECT count(*) FROM admin_actions WHERE action = 'set_role' "
                                  "AND reason = 'helps out' AND admin_id IS NOT NULL"),
                   ==, 1);
}

static void
test_free_while_hashing (Fixture *f, gconstpointer data)
{
  Wait w = { .accounts = f->accounts };

  kmg_accounts_register_async (f->accounts, "jack", "correct horse battery", NULL, NULL, NULL, NOW,
                               NULL, on_done, &w);
  /* Freed with the hash in flight: the callback still comes, with CLOSED, and nothing leaks. */
  g_clear_pointer (&f->accounts, kmg_accounts_free);
  wait_done (&w);
  g_assert_error (w.error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_CLOSED);
  g_clear_error (&w.error);
  g_assert_cmpint (count_rows (f, "SELECT count(*) FROM users"), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add ("/accounts/store/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("migrations-idempotent", test_migrations);
  ADD ("register-login", test_register_login);
  ADD ("unknown-user-spends-hash", test_unknown_user_spends_hash);
  ADD ("tokens", test_tokens);
  ADD ("token-revoked-events", test_token_revoked_events);
  ADD ("profile", test_profile);
  ADD ("pictures", test_pictures);
  ADD ("rate-limit-user", test_rate_limit);
  ADD ("rate-limit-addr", test_rate_limit_addr);
  ADD ("rate-limit-register", test_rate_limit_register);
  ADD ("hash-queue-bounded", test_hash_queue_bounded);
  ADD ("admin", test_admin);
  ADD ("free-while-hashing", test_free_while_hashing);
#undef ADD
  return g_test_run ();
}
