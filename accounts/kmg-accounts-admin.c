/* kmg-accounts-admin.c — what operators do to accounts: list, promote, ban.
 * Every change writes an admin_actions row in the same transaction (who, what, when, why). */

#include "kmg-accounts-private.h"

JsonArray *
kmg_accounts_list_users (KmgAccounts *accounts, const char *search, gint64 offset, gint64 limit,
                         GError **error)
{
  g_autoptr (KmgDbStmt) stmt = NULL;
  g_autoptr (JsonArray) out = json_array_new ();
  g_autofree char *pattern = NULL;
  sqlite3_stmt *st;
  int rc;

  g_return_val_if_fail (accounts != NULL, NULL);
  stmt = kmg_db_prepare (accounts->db,
                         "SELECT id, username, display_name, role, is_seller, banned_at IS NOT NULL, "
                         "created_at FROM users WHERE ?1 IS NULL OR instr(username_key, ?1) > 0 "
                         "ORDER BY id DESC LIMIT ?2 OFFSET ?3",
                         error);
  if (stmt == NULL)
    return NULL;
  st = kmg_db_stmt_raw (stmt);
  /* instr() rather than LIKE: a search text with % or _ means itself. */
  if (search != NULL && *search != '\0')
    {
      pattern = g_ascii_strdown (search, -1);
      sqlite3_bind_text (st, 1, pattern, -1, SQLITE_TRANSIENT);
    }
  sqlite3_bind_int64 (st, 2, CLAMP (limit, 1, 1000));
  sqlite3_bind_int64 (st, 3, MAX (offset, 0));
  while ((rc = kmg_db_step (stmt, error)) == SQLITE_ROW)
    {
      JsonObject *o = json_object_new ();
      json_object_set_int_member (o, "id", sqlite3_column_int64 (st, 0));
      json_object_set_string_member (o, "username", (const char *) sqlite3_column_text (st, 1));
      json_object_set_string_member (o, "display_name", (const char *) sqlite3_column_text (st, 2));
      json_object_set_string_member (o, "role", (const char *) sqlite3_column_text (st, 3));
      json_object_set_boolean_member (o, "is_seller", sqlite3_column_int (st, 4) != 0);
      json_object_set_boolean_member (o, "banned", sqlite3_column_int (st, 5) != 0);
      json_object_set_int_member (o, "created_at", sqlite3_column_int64 (st, 6));
      json_array_add_object_element (out, o);
    }
  return rc < 0 ? NULL : g_steal_pointer (&out);
}

static gboolean
require_user (KmgAccounts *a, gint64 user_id, GError **error)
{
  g_autoptr (KmgUser) u = kmg_accounts_get_user (a, user_id, error);
  return u != NULL;
}

gboolean
kmg_accounts_set_role (KmgAccounts *accounts, gint64 admin_id, gint64 user_id, gboolean is_admin,
                       const char *reason, gint64 now, GError **error)
{
  const char *role = is_admin ? "admin" : "user";
  g_autofree char *detail = g_strdup_printf ("{\"role\":\"%s\"}", role);

  g_return_val_if_fail (accounts != NULL, FALSE);
  if (!kmg_db_begin (accounts->db, error))
    return FALSE;
  if (!require_user (accounts, user_id, error)
      || !kmg_accounts_exec_stmt (accounts, "UPDATE users SET role = ?, updated_at = ? WHERE id = ?",
                                  error, "sii", role, now, user_id)
      || !kmg_accounts_record_admin_action (accounts, admin_id, "set_role", user_id, reason, detail,
                                            now, error))
    {
      kmg_db_rollback (accounts->db);
      return FALSE;
    }
  return kmg_db_commit (accounts->db, error);
}

gboolean
kmg_accounts_set_banned (KmgAccounts *accounts, gint64 admin_id, gint64 user_id, gboolean banned,
                         const char *reason, gint64 now, GError **error)
{
  g_return_val_if_fail (accounts != NULL, FALSE);
  if (!kmg_db_begin (accounts->db, error))
    return FALSE;
  if (!require_user (accounts, user_id, error))
    goto fail;
  if (banned)
    {
      if (!kmg_accounts_exec_stmt (accounts,
                                   "UPDATE users SET banned_at = coalesce(banned_at, ?), ban_reason = ?, "
                                   "updated_at = ? WHERE id = ?",
                                   error, "isii", now, reason ? reason : "", now, user_id)
          || kmg_accounts_revoke_all_rows (accounts, user_id, now, error) < 0)
        goto fail;
    }
  else if (!kmg_accounts_exec_stmt (accounts,
                                    "UPDATE users SET banned_at = NULL, ban_reason = NULL, updated_at = ? "
                                    "WHERE id = ?",
                                    error, "ii", now, user_id))
    goto fail;
  if (!kmg_accounts_record_admin_action (accounts, admin_id, banned ? "ban" : "unban", user_id,
                                         reason, "{}", now, error))
    goto fail;
  if (!kmg_db_commit (accounts->db, error))
    return FALSE;
  kmg_accounts_emit_user (banned ? &accounts->banned_listeners : &accounts->changed_listeners,
                          user_id);
  return TRUE;

fail:
  kmg_db_rollback (accounts->db);
  return FALSE;
}
