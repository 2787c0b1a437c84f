/* kmg-anchor.c — the ledger's chain head appended to a text file, and its check. */
#include "kmg-anchor.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "kmg-canon.h"

#define ANCHOR_TAG "kamegor-anchor-v1"

struct _KmgAnchorLog
{
  int fd;
  gint64 last_id;
};

KmgAnchorLog *
kmg_anchor_log_open (const char *path, GError **error)
{
  int fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

  if (fd < 0)
    {
      int err = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (err), "cannot open %s: %s", path,
                   g_strerror (err));
      return NULL;
    }
  KmgAnchorLog *log = g_new0 (KmgAnchorLog, 1);
  log->fd = fd;
  return log;
}

void
kmg_anchor_log_free (KmgAnchorLog *log)
{
  if (log == NULL)
    return;
  close (log->fd);
  g_free (log);
}

gboolean
kmg_anchor_log_append (KmgAnchorLog *log, gint64 id, const char *hash, gint64 now_ms, GError **error)
{
  if (id <= 0 || id == log->last_id)
    return TRUE;
  g_autofree char *line = g_strdup_printf (ANCHOR_TAG " %" G_GINT64_FORMAT " %s %" G_GINT64_FORMAT "\n", id, hash,
                                           now_ms);
  gsize len = strlen (line);
  /* One write of a short line to an O_APPEND file: lines of concurrent writers (kamegord and
   * kamegorctl) do not interleave. */
  if (write (log->fd, line, len) != (ssize_t) len)
    {
      int err = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (err), "cannot append a ledger anchor: %s",
                   g_strerror (err));
      return FALSE;
    }
  log->last_id = id;
  return TRUE;
}

void
kmg_anchor_check_clear (KmgAnchorCheck *check)
{
  g_free (check->first_bad_reason);
  memset (check, 0, sizeof *check);
}

static void
note_bad (KmgAnchorCheck *out, gint64 id, char *reason)
{
  out->bad++;
  if (out->first_bad_id == 0)
    {
      out->first_bad_id = id;
      out->first_bad_reason = reason;
    }
  else
    g_free (reason);
}

/* "kamegor-anchor-v1 <id> <hash> <ms>" */
static gboolean
parse_line (const char *line, gint64 *id, char hash[KMG_HASH_HEX_LEN + 1])
{
  g_auto (GStrv) f = g_strsplit (line, " ", -1);
  guint64 v = 0;

  if (g_strv_length (f) != 4 || strcmp (f[0], ANCHOR_TAG) != 0
      || !g_ascii_string_to_unsigned (f[1], 10, 1, G_MAXINT64, &v, NULL)
      || strlen (f[2]) != KMG_HASH_HEX_LEN || !g_ascii_string_to_unsigned (f[3], 10, 0, G_MAXINT64, NULL, NULL))
    return FALSE;
  for (const char *p = f[2]; *p; p++)
    if (!g_ascii_isxdigit (*p) || g_ascii_isupper (*p))
      return FALSE;
  *id = (gint64) v;
  memcpy (hash, f[2], KMG_HASH_HEX_LEN + 1);
  return TRUE;
}

gboolean
kmg_anchor_check (KmgDb *db, const char *path, KmgAnchorCheck *out, GError **error)
{
  static const char *const sql = "SELECT hash FROM transfers WHERE id = ?1";
  g_autofree char *text = NULL;
  gsize len = 0;

  memset (out, 0, sizeof *out);
  if (!g_file_get_contents (path, &text, &len, error))
    return FALSE;
  g_autoptr (KmgDbStmt) st = kmg_db_prepare_static (db, &sql, error);
  if (st == NULL)
    return FALSE;
  char *line = text, *end = text + len;
  while (line < end)
    {
      char *nl = memchr (line, '\n', (gsize) (end - line));
      if (nl == NULL)
        break; /* an unfinished last line: a crash while appending */
      *nl = '\0';
      gint64 id = 0;
      char hash[KMG_HASH_HEX_LEN + 1];
      if (!parse_line (line, &id, hash))
        out->malformed++;
      else
        {
          out->anchors++;
          sqlite3_stmt *raw = kmg_db_stmt_raw (st);
          sqlite3_reset (raw);
          sqlite3_bind_int64 (raw, 1, id);
          int rc = kmg_db_step (st, error);
          if (rc < 0)
            return FALSE;
          if (rc != SQLITE_ROW)
            note_bad (out, id, g_strdup_printf ("anchored transfer %" G_GINT64_FORMAT " is missing", id));
          else if (strcmp ((const char *) sqlite3_column_text (raw, 0), hash) != 0)
            note_bad (out, id,
                      g_strdup_printf ("transfer %" G_GINT64_FORMAT " does not have its anchored hash (chain rewritten)",
                                       id));
        }
      line = nl + 1;
    }
  return TRUE;
}
