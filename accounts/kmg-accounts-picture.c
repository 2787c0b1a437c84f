/* kmg-accounts-picture.c — profile pictures: content check, metadata stripping, serving.
 * Files are named by the SHA-256 of the stripped bytes: a URL never changes meaning, caches forever. */

#include "kmg-accounts-private.h"
#include "kmg-picture-strip.h"

#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>

gsize
kmg_accounts_picture_max_bytes (KmgAccounts *accounts)
{
  return (gsize) accounts->cfg.picture_max_bytes;
}

/* Ids come from URLs: only 64 lowercase hex digits may ever reach a file name. */
static gboolean
picture_id_valid (const char *id)
{
  if (id == NULL || strlen (id) != 64)
    return FALSE;
  for (const char *p = id; *p; p++)
    if (!g_ascii_isdigit (*p) && !(*p >= 'a' && *p <= 'f'))
      return FALSE;
  return TRUE;
}

static const char *
extension_for (const char *content_type)
{
  if (g_strcmp0 (content_type, "image/png") == 0)
    return "png";
  if (g_strcmp0 (content_type, "image/jpeg") == 0)
    return "jpg";
  return "webp";
}

static char *
picture_path (KmgAccounts *a, const char *id, const char *ext)
{
  g_autofree char *name = g_strconcat (id, ".", ext, NULL);
  return g_build_filename (a->pictures_dir, name, NULL);
}

/* The old picture stays if another user (same bytes) still shows it. */
static void
forget_old_picture (KmgAccounts *a, const char *old_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgDbStmt) stmt = NULL;
  g_autofree char *content_type = NULL;
  g_autofree char *path = NULL;
  int rc;

  stmt = kmg_db_prepare (a->db,
                         "SELECT content_type FROM pictures WHERE id = ? "
                         "AND NOT EXISTS (SELECT 1 FROM users WHERE picture_id = ?)",
                         &error);
  if (stmt == NULL)
    return;
  sqlite3_bind_text (kmg_db_stmt_raw (stmt), 1, old_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (kmg_db_stmt_raw (stmt), 2, old_id, -1, SQLITE_TRANSIENT);
  rc = kmg_db_step (stmt, &error);
  if (rc != SQLITE_ROW)
    return;
  content_type = g_strdup ((const char *) sqlite3_column_text (kmg_db_stmt_raw (stmt), 0));
  g_clear_pointer (&stmt, kmg_db_stmt_release);
  if (!kmg_accounts_exec_stmt (a, "DELETE FROM pictures WHERE id = ?", &error, "s", old_id))
    {
      g_warning ("cannot forget picture %s: %s", old_id, error->message);
      return;
    }
  path = picture_path (a, old_id, extension_for (content_type));
  if (g_unlink (path) != 0)
    g_message ("old picture %s was already gone", old_id);
}

static char *
hash_hex (GBytes *data)
{
  guint8 digest[crypto_hash_sha256_BYTES];
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  gsize len;
  const guint8 *p = g_bytes_get_data (data, &len);

  crypto_hash_sha256 (digest, p ? p : (const guint8 *) "", len);
  sodium_bin2hex (hex, sizeof hex, digest, sizeof digest);
  return g_strdup (hex);
}

static gboolean
store_row (KmgAccounts *a, gint64 user_id, const char *id, const KmgPictureInfo *info, gsize size,
           gint64 now, GError **error)
{
  if (!kmg_db_begin (a->db, error))
    return FALSE;
  /* Same bytes uploaded twice (by anyone) share one file and one row. */
  if (!kmg_accounts_exec_stmt (a,
                               "INSERT OR IGNORE INTO pictures (id, user_id, content_type, size, created_at) "
                               "VALUES (?, ?, ?, ?, ?)",
                               error, "sisii", id, user_id, info->content_type, (gint64) size, now)
      || !kmg_accounts_exec_stmt (a, "UPDATE users SET picture_id = ?, updated_at = ? WHERE id = ?",
                                  error, "sii", id, now, user_id))
    {
      kmg_db_rollback (a->db);
      return FALSE;
    }
  return kmg_db_commit (a->db, error);
}

char *
kmg_accounts_set_picture (KmgAccounts *accounts, gint64 user_id, GBytes *data, gint64 now,
                          GError **error)
{
  g_autoptr (KmgUser) user = NULL;
  g_autoptr (GBytes) clean = NULL;
  g_autofree char *id = NULL;
  g_autofree char *path = NULL;
  KmgPictureInfo info;
  gsize len;
  const guint8 *bytes;

  g_return_val_if_fail (accounts != NULL && data != NULL, NULL);
  bytes = g_bytes_get_data (data, &len);
  if (len > kmg_accounts_picture_max_bytes (accounts))
    {
      g_set_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_PICTURE_TOO_LARGE,
                   "picture is larger than %" G_GSIZE_FORMAT " bytes",
                   kmg_accounts_picture_max_bytes (accounts));
      return NULL;
    }
  /* Only pixels are kept (no EXIF GPS fix reaches the disk), and the id hashes what is kept: the
   * same picture with other metadata is the same file. */
  clean = kmg_picture_strip (bytes, len, &info, error);
  if (clean == NULL)
    return NULL;
  bytes = g_bytes_get_data (clean, &len);
  user = kmg_accounts_get_user (accounts, user_id, error);
  if (user == NULL)
    return NULL;
  id = hash_hex (clean);
  path = picture_path (accounts, id, info.extension);
  /* File first, then the row: a crash in between leaves an unreferenced file, never a dead link. */
  if (!g_file_set_contents_full (path, (const char *) bytes, (gssize) len,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0640, error))
    return NULL;
  if (!store_row (accounts, user_id, id, &info, len, now, error))
    return NULL;
  if (user->picture_id != NULL && strcmp (user->picture_id, id) != 0)
    forget_old_picture (accounts, user->picture_id);
  kmg_accounts_emit_user (&accounts->changed_listeners, user_id);
  return g_steal_pointer (&id);
}

GBytes *
kmg_accounts_get_picture (KmgAccounts *accounts, const char *picture_id, const char **content_type,
                          GError **error)
{
  g_autoptr (KmgDbStmt) stmt = NULL;
  g_autoptr (GMappedFile) file = NULL;
  g_autofree char *path = NULL;
  const char *ct;
  int rc;

  g_return_val_if_fail (accounts != NULL, NULL);
  if (!picture_id_valid (picture_id))
    goto missing;
  stmt = kmg_db_prepare (accounts->db, "SELECT content_type FROM pictures WHERE id = ?", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (kmg_db_stmt_raw (stmt), 1, picture_id, -1, SQLITE_TRANSIENT);
  rc = kmg_db_step (stmt, error);
  if (rc < 0)
    return NULL;
  if (rc != SQLITE_ROW)
    goto missing;
  /* Back to a static string so the caller needs no copy. */
  ct = (const char *) sqlite3_column_text (kmg_db_stmt_raw (stmt), 0);
  ct = g_strcmp0 (ct, "image/png") == 0 ? "image/png"
       : g_strcmp0 (ct, "image/jpeg") == 0 ? "image/jpeg"
                                           : "image/webp";
  path = picture_path (accounts, picture_id, extension_for (ct));
  file = g_mapped_file_new (path, FALSE, NULL);
  if (file == NULL)
    goto missing;
  if (content_type)
    *content_type = ct;
  return g_mapped_file_get_bytes (file);

missing:
  g_set_error_literal (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_NOT_FOUND, "no such picture");
  return NULL;
}
