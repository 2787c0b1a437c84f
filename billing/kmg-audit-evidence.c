/* kmg-audit-evidence.c — re-derives each session's charges from its evidence rows by the rules
 * fixed in the session, and compares them with the charge transfers actually made. */

#include "kmg-audit-evidence.h"

#include "kmg-charging.h"

typedef struct
{
  gint64 id;
  gint64 buyer_id;
  gint64 seller_id;
  gint64 price;
  guint fee_pct;
  guint min_billable_s;
  guint minute_s;
  gint64 started_at;
  guint charged_minutes;
} AuditSession;

typedef struct
{
  gint64 minute;
  gint64 debit;
  gint64 credit;
  gint64 amount;
} Leg;

/* Prepares a per-session query with the session id bound to ?1. */
static KmgDbStmt *
session_query (KmgDb *db, const char *sql, gint64 session_id, GError **error)
{
  KmgDbStmt *st = kmg_db_prepare (db, sql, error);

  if (st != NULL)
    sqlite3_bind_int64 (kmg_db_stmt_raw (st), 1, session_id);
  return st;
}

static GArray *
load_evidence (KmgDb *db, gint64 session_id, GError **error)
{
  g_autoptr (KmgDbStmt) st = session_query (
    db,
    "SELECT minute_index, source, first_second, last_second, delivered_seconds, total_seconds "
    "FROM measured_minutes WHERE session_id = ?1 ORDER BY minute_index",
    session_id, error);
  g_autoptr (GArray) rows = g_array_new (FALSE, TRUE, sizeof (KmgMinuteEvidence));
  sqlite3_stmt *raw;
  int rc;

  if (st == NULL)
    return NULL;
  raw = kmg_db_stmt_raw (st);
  while ((rc = kmg_db_step (st, error)) == SQLITE_ROW)
    {
      KmgMinuteEvidence e = { 0 };
      e.minute_index = (guint) sqlite3_column_int64 (raw, 0);
      kmg_delivery_source_from_string ((const char *) sqlite3_column_text (raw, 1), &e.source);
      e.first_second = sqlite3_column_int64 (raw, 2);
      e.last_second = sqlite3_column_int64 (raw, 3);
      e.delivered_seconds = (guint) sqlite3_column_int64 (raw, 4);
      e.total_seconds = (guint64) sqlite3_column_int64 (raw, 5);
      g_array_append_val (rows, e);
    }
  return rc == SQLITE_DONE ? g_steal_pointer (&rows) : NULL;
}

static GArray *
load_charges (KmgDb *db, gint64 session_id, GError **error)
{
  g_autoptr (KmgDbStmt) st = session_query (
    db,
    "SELECT minute_index, debit_account, credit_account, amount FROM transfers "
    "WHERE session_id = ?1 AND kind = 'charge' ORDER BY minute_index, credit_account",
    session_id, error);
  g_autoptr (GArray) legs = g_array_new (FALSE, TRUE, sizeof (Leg));
  sqlite3_stmt *raw;
  int rc;

  if (st == NULL)
    return NULL;
  raw = kmg_db_stmt_raw (st);
  while ((rc = kmg_db_step (st, error)) == SQLITE_ROW)
    {
      Leg l = { sqlite3_column_int64 (raw, 0), sqlite3_column_int64 (raw, 1),
                sqlite3_column_int64 (raw, 2), sqlite3_column_int64 (raw, 3) };
      g_array_append_val (legs, l);
    }
  return rc == SQLITE_DONE ? g_steal_pointer (&legs) : NULL;
}

/* The legs the rules produce for @n evidenced minutes, in (minute, credit account) order:
 * the platform (account 0) sorts before the seller (id > 0). */
static GArray *
expected_legs (const AuditSession *s, guint n)
{
  GArray *legs = g_array_new (FALSE, TRUE, sizeof (Leg));
  gint64 share, fee;

  kmg_charge_split (s->price, s->fee_pct, &share, &fee);
  for (guint k = 0; k < n; k++)
    {
      Leg f = { k, s->buyer_id, KMG_ACCOUNT_PLATFORM, fee };
      Leg sl = { k, s->buyer_id, s->seller_id, share };
      if (fee > 0)
        g_array_append_val (legs, f);
      if (share > 0)
        g_array_append_val (legs, sl);
    }
  return legs;
}

static gboolean
check_session (KmgDb *db, KmgAuditReport *r, const AuditSession *s, GError **error)
{
  g_autoptr (GArray) ev = load_evidence (db, s->id, error);
  g_autoptr (GArray) made = ev ? load_charges (db, s->id, error) : NULL;
  g_autoptr (GArray) want = NULL;
  g_autofree char *why = NULL;

  if (made == NULL)
    return FALSE;
  r->charged_minutes += s->charged_minutes;
  if (!kmg_charge_check_evidence (s->min_billable_s, s->minute_s, s->started_at,
                                  (const KmgMinuteEvidence *) ev->data, ev->len, &why))
    {
      kmg_audit_evidence_mismatch (r, s->id, why);
      return TRUE;
    }
  if (s->charged_minutes != ev->len)
    {
      why = g_strdup_printf ("charged_minutes is %u but %u minutes are evidenced",
                             s->charged_minutes, ev->len);
      kmg_audit_evidence_mismatch (r, s->id, why);
      return TRUE;
    }
  want = expected_legs (s, ev->len);
  for (guint i = 0; i < MAX (want->len, made->len); i++)
    {
      const Leg *w = i < want->len ? &g_array_index (want, Leg, i) : NULL;
      const Leg *m = i < made->len ? &g_array_index (made, Leg, i) : NULL;
      if (w && m && w->minute == m->minute && w->debit == m->debit && w->credit == m->credit
          && w->amount == m->amount)
        continue;
      why = g_strdup_printf ("charges differ from the evidence at minute %" G_GINT64_FORMAT
                             " (%u legs made, %u re-derived)",
                             (m ? m : w)->minute, made->len, want->len);
      kmg_audit_evidence_mismatch (r, s->id, why);
      return TRUE;
    }
  return TRUE;
}

gboolean
kmg_audit_check_evidence (KmgDb *db, KmgAuditReport *r, GError **error)
{
  g_autoptr (KmgDbStmt) st = kmg_db_prepare (
    db,
    "SELECT id, buyer_id, seller_id, price_per_minute, fee_pct, min_billable_s, minute_s, "
    "started_at, charged_minutes FROM watch_sessions ORDER BY id",
    error);
  sqlite3_stmt *raw;
  int rc;

  if (st == NULL)
    return FALSE;
  raw = kmg_db_stmt_raw (st);
  while ((rc = kmg_db_step (st, error)) == SQLITE_ROW)
    {
      AuditSession s = {
        .id = sqlite3_column_int64 (raw, 0),
        .buyer_id = sqlite3_column_int64 (raw, 1),
        .seller_id = sqlite3_column_int64 (raw, 2),
        .price = sqlite3_column_int64 (raw, 3),
        .fee_pct = (guint) sqlite3_column_int (raw, 4),
        .min_billable_s = (guint) sqlite3_column_int (raw, 5),
        .minute_s = (guint) sqlite3_column_int (raw, 6),
        .started_at = sqlite3_column_int64 (raw, 7),
        .charged_minutes = (guint) sqlite3_column_int (raw, 8),
      };
      r->sessions++;
      if (!check_session (db, r, &s, error))
        return FALSE;
    }
  return rc == SQLITE_DONE;
}
