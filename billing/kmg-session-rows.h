/* kmg-session-rows.h — the watch_sessions rows billing depends on: create with the price fixed,
 * set path, close with a reason, and close everything left active after a crash. */
#pragma once

#include "kmg-billing-types.h"
#include "kmg-db.h"

G_BEGIN_DECLS

typedef struct
{
  gint64 id;
  gint64 buyer_id;
  gint64 seller_id;
  gint64 price_per_minute;
  guint fee_pct;
  guint min_billable_s;
  guint minute_s;
  char *path;           /* pending | p2p | relay */
  gint64 started_at;    /* unix seconds */
  gint64 ended_at;      /* 0 while active */
  char *end_reason;     /* NULL while active */
  guint64 delivered_seconds;
  guint charged_minutes;
} KmgSessionRow;

void kmg_session_row_free (KmgSessionRow *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgSessionRow, kmg_session_row_free)

/* Inserts an active session; the caller has checked the parties. Call inside a transaction or
 * not: it is one statement. */
gint64 kmg_session_rows_insert (KmgDb *db, gint64 buyer_id, gint64 seller_id, gint64 price,
                            const KmgBillingRules *rules, gint64 now_ms, GError **error);
/* @path: "p2p" or "relay". */
gboolean kmg_session_rows_set_path (KmgDb *db, gint64 session_id, const char *path, GError **error);
/* Ends an active session. SESSION_ENDED if it had already ended, NOT_FOUND if unknown. */
gboolean kmg_session_rows_close (KmgDb *db, gint64 session_id, const char *reason,
                             guint64 delivered_seconds, gint64 now_ms, GError **error);
KmgSessionRow *kmg_session_rows_get (KmgDb *db, gint64 session_id, GError **error);

/* After a crash or restart: closes every session still active with end_reason
 * "server_restart". Charges nothing. Returns how many were closed, or -1 with @error. */
gint kmg_billing_recover (KmgDb *db, gint64 now_ms, GError **error);

G_END_DECLS
