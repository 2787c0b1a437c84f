/* kmg-anchor.h — ledger anchors: the hash chain's head written outside the database.
 *
 * The hash chain proves that no transfer was changed in place, but someone who can write the
 * database can rewrite a transfer and recompute every hash after it. After each committed ledger
 * transaction the head (last transfer id and its hash) is appended to a plain text file, one line
 * per head; the audit then checks every anchored id still has its anchored hash. Copy the file off
 * the machine (or tail it into remote logs) so that it cannot be rewritten together with the DB.
 *
 * File format, one line per anchor, LF-terminated, appended only:
 *   kamegor-anchor-v1 <transfer id> <hash, 64 lowercase hex> <unix ms>
 * A last line without its LF (a crash while writing) is ignored. */
#pragma once

#include "kmg-db.h"

G_BEGIN_DECLS

#define KMG_ANCHOR_FILE_NAME "ledger-anchors.log"

typedef struct _KmgAnchorLog KmgAnchorLog;

/* Opens @path for appending (created 0600). */
KmgAnchorLog *kmg_anchor_log_open (const char *path, GError **error);
void kmg_anchor_log_free (KmgAnchorLog *log);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgAnchorLog, kmg_anchor_log_free)

/* Appends the chain head @id/@hash unless it is the head written last. Not synced to disk: a head
 * lost in a crash only leaves an older anchor, which the audit checks all the same. */
gboolean kmg_anchor_log_append (KmgAnchorLog *log, gint64 id, const char *hash, gint64 now_ms, GError **error);

typedef struct
{
  guint anchors;          /* lines checked */
  guint bad;              /* anchored id missing or with another hash */
  gint64 first_bad_id;    /* 0 = none */
  char *first_bad_reason;
  guint malformed;        /* complete lines that are not anchors */
} KmgAnchorCheck;

void kmg_anchor_check_clear (KmgAnchorCheck *check);

/* Checks every anchor of @path against the transfers of @db. FALSE only when the file cannot be
 * read (a missing file is an error too: the caller decides whether one is expected). */
gboolean kmg_anchor_check (KmgDb *db, const char *path, KmgAnchorCheck *out, GError **error);

G_END_DECLS
