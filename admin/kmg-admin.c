/* kmg-admin.c — moderation store: the admin action log and the operator views of sessions,
 * transfers and seller flags. Reads use cached statements; pages are keyed by id, not offset. */

#include "kmg-admin.h"

#include <string.h>

G_DEFINE_QUARK (kmg-admin-error-quark, kmg_admin_error)

gboolean
kmg_admin_check_reason (const char *reason, GError **error)
{
  g_autofree char *trimmed = reason ? g_strstrip (g_strdup (reason)) : NULL;

  if (trimmed == NULL || *trimmed == '\0')
    {
      g_set_error_literal (error, KMG_ADMIN_ERROR, KMG_ADMIN_ERROR_REASON_REQUIRED,
                           "a reason is required for every admin action");
      return FALSE;
    }
  if (!g_utf8_validate (trimmed, -1, NULL) || g_utf8_strlen (trimmed, -1) > KMG_ADMIN_REASON_MAX)
    {
      g_set_error (error, KMG_ADMIN_ERROR, KMG_ADMIN_ERROR_INVALID,
                   "reason must be at most %d characters", KMG_ADMIN_REASON_MAX);
      return FALSE;
    }
  return TRUE;
}

gboolean
kmg_admin_record (KmgDb *db, gint64 admin_id, const char *action, gint64 target_user,
                  const char *target_ref, const char *reason, const char *detail, gint64 now_s,
                  GError **error)
{
  g_autoptr (KmgDbStmt) st = NULL;
  sqlite3_stmt *s;

  if (!kmg_admin_check_reason (reason, error))
    return FALSE;
  st = kmg_db_prepare (db,
                       "INSERT INTO admin_actions (admin_id, action, target_user, target_ref, "
                       "reason, detail, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                       error);
  if (st == NULL)
    return FALSE;
  s = kmg_db_stmt_raw (st);
  if (admin_id > 0)
    sqlite3_bind_int64 (s, 1, admin_id);
  sqlite3_bind_text (s, 2, action, -1, SQLITE_TRANSIENT);
  if (target_user > 0)
    sqlite3_bind_int64 (s, 3, target_user);
  if (target_ref)
    sqlite3_bind_text (s, 4, target_ref, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (s, 5, reason, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (s, 6, detail ? detail : "{}", -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (s, 7, now_s);
  return kmg_db_step (st, error) == SQLITE_DONE;
}

gboolean
kmg_admin_set_seller (KmgDb *db, gint64 admin_id, gint64 user_id, int is_seller,
                      const char *description, const char *reason, gint64 now_s, GError **error)
{
  g_autoptr (JsonObject) detail = json_object_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree char *detail_text = NULL;

  if (!kmg_admin_check_reason (reason, error))
    return FALSE;
  if (description && g_utf8_strlen (description, -1) > 1000)
    {
      g_set_error_literal (error, KMG_ADMIN_ERROR, KMG_ADMIN_ERROR_INVALID,
                           "seller_description must be at most 1000 characters");
      return FALSE;
    }
  if (is_seller >= 0)
    json_object_set_boolean_member (detail, "is_seller", is_seller);
  if (description)
    json_object_set_string_member (detail, "seller_description", description);
  json_node_set_object (node, detail);
  json_generator_set_root (gen, node);
  detail_text = json_generator_to_data (gen, NULL);

  if (!kmg_db_begin (db, error))
    return FALSE;
  if (is_seller == 1)
    {
      g_autoptr (KmgDbStmt) st = kmg_db_prepare (
          db,
          "SELECT granted FROM consents WHERE user_id = ?1 AND kind = 'location' "
          "ORDER BY id DESC LIMIT 1",
          error);
      int rc;
      if (st == NULL)
        goto fail;
      sqlite3_bind_int64 (kmg_db_stmt_raw (st), 1, user_id);
      rc = kmg_db_step (st, error);
      if (rc < 0)
        goto fail;
      if (rc != SQLITE_ROW || sqlite3_column_int (kmg_db_stmt_raw (st), 0) != 1)
        {
          g_set_error_literal (error, KMG_ADMIN_ERROR, KMG_ADMIN_ERROR_CONSENT_REQUIRED,
                               "the user has not given location consent; only the user can");
          goto fail;
        }
    }
  {
    g_autoptr (KmgDbStmt) st = kmg_db_prepare (
        db,
        "UPDATE users SET is_seller = coalesce (?2, is_seller), "
        "seller_description = coalesce (?3, seller_description), updated_at = ?4 WHERE id = ?1",
        error);
    if (st == NULL)
      goto fail;
    sqlite3_bind_int64 (kmg_db_stmt_raw (st), 1, user_id);
    if (is_seller >= 0)
      sqlite3_bind_int (kmg_db_stmt_raw (st), 2, is_seller ? 1 : 0);
    if (description)
      sqlite3_bind_text (kmg_db_stmt_raw (st), 3, description, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64 (kmg_db_stmt_raw (st), 4, now_s);
    if (kmg_db_step (st, error) != SQLITE_DONE)
      goto fail;
    if (kmg_db_changes (db) == 0)
      {
        g_set_error_literal (error, KMG_ADMIN_ERROR, KMG_ADMIN_ERROR_NOT_FOUND, "no such user");
        goto fail;
      }
  }
  if (!kmg_admin_record (db, admin_id, "set_seller", user_id, NULL, reason, detail_text, now_s,
                         error))
    goto fail;
  return kmg_db_commit (db, error);

fail:
  kmg_db_rollback (db);
  return FALSE;
}

static void
set_column (JsonObject *o, sqlite3_stmt *s, int col)
{
  const char *name = sqlite3_column_name (s, col);

  switch (sqlite3_column_type (s, col))
    {
    case SQLITE_INTEGER:
      json_object_set_int_member (o, name, sqlite3_column_int64 (s, col));
      break;
    case SQLITE_FLOAT:
      json_object_set_double_member (o, name, sqlite3_column_double (s, col));
      break;
    case SQLITE_NULL:
      json_object_set_null_member (o, name);
      break;
    default:
      json_object_set_string_member (o, name, (const char *) sqlite3_column_text (s, col));
      break;
    }
}

/* Runs a page query whose ?1 is the id bound ("before") and ?2 the limit. */
static JsonArray *
page (KmgDb *db, const char *sql, gint64 before_id, guint limit, GError **error)
{
  g_autoptr (KmgDbStmt) st = kmg_db_prepare (db, sql, error);
  g_autoptr (JsonArray) out = json_array_new ();
  int rc;

  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (kmg_db_stmt_raw (st), 1, before_id > 0 ? before_id : G_MAXINT64);
  sqlite3_bind_int (kmg_db_stmt_raw (st), 2, (int) CLAMP (limit, 1, 500));
  while ((rc = kmg_db_step (st, error)) == SQLITE_ROW)
    {
      sqlite3_stmt *s = kmg_db_stmt_raw (st);
      JsonObject *o = json_object_new ();
      for (int c = 0; c < sqlite3_column_count (s); c++)
        set_column (o, s, c);
      json_array_add_object_element (out, o);
    }
  return rc == SQLITE_DONE ? g_steal_pointer (&out) : NULL;
}

JsonArray *
kmg_admin_list_sessions (KmgDb *db, gboolean live, gint64 before_id, guint limit, GError **error)
{
  return page (db,
               live ? "SELECT s.id, s.buyer_id, b.username AS buyer, s.seller_id, "
                      "v.username AS seller, s.price_per_minute, s.path, s.started_at, s.ended_at, "
                      "s.end_reason, s.delivered_seconds, s.charged_minutes FROM watch_sessions s "
                      "JOIN users b ON b.id = s.buyer_id JOIN users v ON v.id = s.seller_id "
                      "WHERE s.ended_at IS NULL AND s.id < ?1 ORDER BY s.id DESC LIMIT ?2"
                    : "SELECT s.id, s.buyer_id, b.username AS buyer, s.seller_id, "
                      "v.username AS seller, s.price_per_minute, s.path, s.started_at, s.ended_at, "
                      "s.end_reason, s.delivered_seconds, s.charged_minutes FROM watch_sessions s "
                      "JOIN users b ON b.id = s.buyer_id JOIN users v ON v.id = s.seller_id "
                      "WHERE s.ended_at IS NOT NULL AND s.id < ?1 ORDER BY s.id DESC LIMIT ?2",
               before_id, limit, error);
}

JsonArray *
kmg_admin_list_transfers (KmgDb *db, gint64 before_id, guint limit, GError **error)
{
  return page (db,
               "SELECT id, debit_account, credit_account, amount, kind, session_id, minute_index, "
               "memo, created_at, hash FROM transfers WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
               before_id, limit, error);
}

JsonArray *
kmg_admin_list_actions (KmgDb *db, gint64 before_id, guint limit, GError **error)
{
  return page (db,
               "SELECT a.id, a.admin_id, u.username AS admin, a.action, a.target_user, "
               "t.username AS target, a.target_ref, a.reason, a.detail, a.created_at "
               "FROM admin_actions a LEFT JOIN users u ON u.id = a.admin_id "
               "LEFT JOIN users t ON t.id = a.target_user WHERE a.id < ?1 "
               "ORDER BY a.id DESC LIMIT ?2",
               before_id, limit, error);
}

JsonObject *
kmg_admin_get_session (KmgDb *db, gint64 session_id, GError **error)
{
  g_autoptr (KmgDbStmt) st = kmg_db_prepare (
      db, "SELECT id, buyer_id, seller_id, ended_at IS NOT NULL AS ended FROM watch_sessions "
          "WHERE id = ?1",
      error);
  JsonObject *o;
  int rc;

  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (kmg_db_stmt_raw (st), 1, session_id);
  rc = kmg_db_step (st, error);
  if (rc < 0)
    return NULL;
  if (rc != SQLITE_ROW)
    {
      g_set_error_literal (error, KMG_ADMIN_ERROR, KMG_ADMIN_ERROR_NOT_FOUND, "no such session");
      return NULL;
    }
  o = json_object_new ();
  for (int c = 0; c < 4; c++)
    set_column (o, kmg_db_stmt_raw (st), c);
  return o;
}
