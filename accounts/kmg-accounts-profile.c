/* kmg-accounts-profile.c — reading users and changing profiles (seller switch, consent, price).
 * Updates validate everything first, then write in one transaction: a bad request changes nothing. */

#include "kmg-accounts-private.h"

#define USER_COLUMNS                                                                         \
  "id, username, display_name, role = 'admin', is_seller, always_relay, banned_at IS NOT NULL, " \
  "price_per_minute, seller_description, picture_id, created_at"

static gboolean
not_found (gint64 user_id, GError **error)
{
  g_set_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_NOT_FOUND,
               "no user %" G_GINT64_FORMAT, user_id);
  return FALSE;
}

void
kmg_user_free (KmgUser *user)
{
  if (user == NULL)
    return;
  g_free (user->username);
  g_free (user->display_name);
  g_free (user->seller_description);
  g_free (user->picture_id);
  g_free (user);
}

static char *
column_dup (sqlite3_stmt *st, int col)
{
  const char *s = (const char *) sqlite3_column_text (st, col);
  return s ? g_strdup (s) : NULL;
}

static KmgUser *
load_user (KmgAccounts *accounts, gint64 user_id, gint64 *created_at, GError **error)
{
  g_autoptr (KmgDbStmt) stmt = kmg_db_prepare (accounts->db,
                                                "SELECT " USER_COLUMNS " FROM users WHERE id = ?", error);
  sqlite3_stmt *st;
  KmgUser *u;
  int rc;

  if (stmt == NULL)
    return NULL;
  st = kmg_db_stmt_raw (stmt);
  sqlite3_bind_int64 (st, 1, user_id);
  rc = kmg_db_step (stmt, error);
  if (rc < 0)
    return NULL;
  if (rc != SQLITE_ROW)
    {
      not_found (user_id, error);
      return NULL;
    }
  u = g_new0 (KmgUser, 1);
  u->id = sqlite3_column_int64 (st, 0);
  u->username = column_dup (st, 1);
  u->display_name = column_dup (st, 2);
  u->is_admin = sqlite3_column_int (st, 3) != 0;
  u->is_seller = sqlite3_column_int (st, 4) != 0;
  u->always_relay = sqlite3_column_int (st, 5) != 0;
  u->banned = sqlite3_column_int (st, 6) != 0;
  u->price_per_minute = sqlite3_column_int64 (st, 7);
  u->seller_description = column_dup (st, 8);
  u->picture_id = column_dup (st, 9);
  if (created_at)
    *created_at = sqlite3_column_int64 (st, 10);
  return u;
}

KmgUser *
kmg_accounts_get_user (KmgAccounts *accounts, gint64 user_id, GError **error)
{
  g_return_val_if_fail (accounts != NULL, NULL);
  return load_user (accounts, user_id, NULL, error);
}

char *
kmg_accounts_picture_url (const char *picture_id)
{
  return picture_id ? g_strconcat ("/media/pictures/", picture_id, NULL) : NULL;
}

static void
set_picture_member (JsonObject *o, const char *picture_id)
{
  g_autofree char *url = kmg_accounts_picture_url (picture_id);

  if (url)
    json_object_set_string_member (o, "picture_url", url);
  else
    json_object_set_null_member (o, "picture_url");
}

gboolean
kmg_accounts_consent_state (KmgAccounts *accounts, gint64 user_id, gboolean *granted,
                            GError **error)
{
  g_autoptr (KmgDbStmt) stmt = kmg_db_prepare (
      accounts->db,
      "SELECT granted FROM consents WHERE user_id = ? AND kind = 'location' ORDER BY id DESC LIMIT 1",
      error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (kmg_db_stmt_raw (stmt), 1, user_id);
  rc = kmg_db_step (stmt, error);
  if (rc < 0)
    return FALSE;
  *granted = rc == SQLITE_ROW && sqlite3_column_int (kmg_db_stmt_raw (stmt), 0) != 0;
  return TRUE;
}

JsonObject *
kmg_accounts_user_row_json (KmgAccounts *accounts, gint64 user_id, gboolean owner_view,
                            GError **error)
{
  gint64 created_at = 0;
  g_autoptr (KmgUser) u = load_user (accounts, user_id, &created_at, error);
  gboolean consent = FALSE;
  JsonObject *o;

  if (u == NULL)
    return NULL;
  if (owner_view && !kmg_accounts_consent_state (accounts, user_id, &consent, error))
    return NULL;
  o = json_object_new ();
  json_object_set_int_member (o, "id", u->id);
  json_object_set_string_member (o, "username", u->username);
  json_object_set_string_member (o, "display_name", u->display_name);
  if (owner_view)
    {
      json_object_set_string_member (o, "role", u->is_admin ? "admin" : "user");
      json_object_set_boolean_member (o, "is_seller", u->is_seller);
      json_object_set_boolean_member (o, "location_consent", consent);
      json_object_set_string_member (o, "seller_description", u->seller_description);
      json_object_set_int_member (o, "price_per_minute", u->price_per_minute);
      json_object_set_boolean_member (o, "always_relay", u->always_relay);
      json_object_set_int_member (o, "created_at", created_at);
    }
  else
    {
      json_object_set_string_member (o, "description", u->seller_description);
      json_object_set_int_member (o, "price_per_minute", u->price_per_minute);
    }
  set_picture_member (o, u->picture_id);
  return o;
}

JsonObject *
kmg_accounts_get_me (KmgAccounts *accounts, gint64 user_id, GError **error)
{
  g_return_val_if_fail (accounts != NULL, NULL);
  return kmg_accounts_user_row_json (accounts, user_id, TRUE, error);
}

JsonObject *
kmg_accounts_seller_profile (KmgAccounts *accounts, gint64 user_id, GError **error)
{
  g_autoptr (KmgUser) u = NULL;

  g_return_val_if_fail (accounts != NULL, NULL);
  u = load_user (accounts, user_id, NULL, error);
  if (u == NULL)
    return NULL;
  /* Same answer for "not a seller", "banned" and "no such user": nothing to enumerate. */
  if (!u->is_seller || u->banned)
    {
      g_set_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_NOT_FOUND,
                   "no seller %" G_GINT64_FORMAT, user_id);
      return NULL;
    }
  return kmg_accounts_user_row_json (accounts, user_id, FALSE, error);
}

static gboolean
write_profile (KmgAccounts *accounts, gint64 user_id, const KmgProfilePatch *p,
               const KmgProfileState *next, int consent_change, gint64 now, GError **error)
{
  KmgAccounts *a = accounts;

  /* COALESCE keeps a column when its member was absent (bound as NULL). */
  g_autoptr (KmgDbStmt) stmt = kmg_db_prepare (
      a->db,
      "UPDATE users SET display_name = coalesce(?, display_name), is_seller = ?, "
      "seller_description = coalesce(?, seller_description), "
      "price_per_minute = coalesce(?, price_per_minute), "
      "always_relay = coalesce(?, always_relay), updated_at = ? WHERE id = ?",
      error);
  sqlite3_stmt *st;

  if (stmt == NULL)
    return FALSE;
  st = kmg_db_stmt_raw (stmt);
  if (p->has_display_name)
    sqlite3_bind_text (st, 1, p->display_name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (st, 2, next->is_seller ? 1 : 0);
  if (p->has_seller_description)
    sqlite3_bind_text (st, 3, p->seller_description, -1, SQLITE_TRANSIENT);
  if (p->has_price_per_minute)
    sqlite3_bind_int64 (st, 4, p->price_per_minute);
  if (p->has_always_relay)
    sqlite3_bind_int (st, 5, p->always_relay ? 1 : 0);
  sqlite3_bind_int64 (st, 6, now);
  sqlite3_bind_int64 (st, 7, user_id);
  if (kmg_db_step (stmt, error) < 0)
    return FALSE;
  if (consent_change >= 0
      && !kmg_accounts_exec_stmt (a,
                                  "INSERT INTO consents (user_id, kind, granted, created_at) "
                                  "VALUES (?, 'location', ?, ?)",
                                  error, "iii", user_id, (gint64) consent_change, now))
    return FALSE;
  return TRUE;
}

gboolean
kmg_accounts_update_profile (KmgAccounts *accounts, gint64 user_id, const KmgProfilePatch *patch,
                             gint64 now, GError **error)
{
  g_autoptr (KmgUser) u = NULL;
  KmgProfileState current = { 0 }, next = { 0 };
  int consent_change = -1;

  g_return_val_if_fail (accounts != NULL && patch != NULL, FALSE);
  if (!kmg_db_begin (accounts->db, error))
    return FALSE;
  u = load_user (accounts, user_id, NULL, error);
  if (u == NULL || !kmg_accounts_consent_state (accounts, user_id, &current.location_consent, error))
    goto fail;
  current.is_seller = u->is_seller;
  if (!kmg_profile_patch_plan (patch, &current, &next, &consent_change, error)
      || !write_profile (accounts, user_id, patch, &next, consent_change, now, error))
    goto fail;
  if (!kmg_db_commit (accounts->db, error))
    return FALSE;
  kmg_accounts_emit_user (&accounts->changed_listeners, user_id);
  return TRUE;

fail:
  kmg_db_rollback (accounts->db);
  return FALSE;
}
