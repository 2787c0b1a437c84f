/* kmg-billing.c — the engine: in-memory meters per active session, batched charging per tick.
 * Owned by the main context; the database is the truth, memory only holds what is not due yet. */

#include "kmg-billing.h"
#include "kmg-listeners.h"

typedef struct
{
  gint64 id;
  gint64 buyer_id;
  gint64 seller_id;
  gint64 price;
  guint fee_pct;
  KmgChargeMeter *meter;
  gboolean warned; /* low-balance warning already sent */
  gboolean has_report;
  KmgBuyerStatsReport last_report; /* the buyer's previous stats report (P2P) */
} Session;

struct _KmgBilling
{
  KmgDb *db;
  KmgLedger *ledger;
  KmgAnchorLog *anchors;
  KmgBillingRules rules;
  GHashTable *sessions; /* id → Session */
  GArray *batch;        /* KmgMinuteCharge scratch */
  KmgListeners listeners; /* KmgBillingEventFunc */
};

static void
session_free (gpointer p)
{
  Session *s = p;
  kmg_charge_meter_free (s->meter);
  g_free (s);
}

KmgBilling *
kmg_billing_new (KmgDb *db, const KmgBillingRules *rules, GError **error)
{
  KmgBilling *b;

  if (!kmg_billing_rules_validate (rules, error))
    return NULL;
  b = g_new0 (KmgBilling, 1);
  b->db = db;
  b->ledger = kmg_ledger_new (db);
  b->rules = *rules;
  b->sessions = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, session_free);
  b->batch = g_array_new (FALSE, FALSE, sizeof (KmgMinuteCharge));
  kmg_listeners_init (&b->listeners);
  return b;
}

void
kmg_billing_free (KmgBilling *b)
{
  if (b == NULL)
    return;
  kmg_listeners_clear (&b->listeners);
  g_hash_table_unref (b->sessions);
  g_array_unref (b->batch);
  kmg_ledger_free (b->ledger);
  kmg_anchor_log_free (b->anchors);
  g_free (b);
}

KmgLedger *
kmg_billing_get_ledger (KmgBilling *b)
{
  return b->ledger;
}

gboolean
kmg_billing_open_anchors (KmgBilling *b, const char *path, GError **error)
{
  KmgAnchorLog *log = kmg_anchor_log_open (path, error);

  if (log == NULL)
    return FALSE;
  kmg_ledger_set_anchor_log (b->ledger, log);
  kmg_anchor_log_free (b->anchors);
  b->anchors = log;
  return TRUE;
}

const KmgBillingRules *
kmg_billing_get_rules (KmgBilling *b)
{
  return &b->rules;
}

guint
kmg_billing_active_sessions (KmgBilling *b)
{
  return g_hash_table_size (b->sessions);
}

static gboolean
seller_price (KmgBilling *b, gint64 seller_id, gint64 *price, GError **error)
{
  static const char *const sql = "SELECT price_per_minute FROM users WHERE id = ?1";
  g_autoptr (KmgDbStmt) st = kmg_db_prepare_static (b->db, &sql, error);
  int rc;

  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (kmg_db_stmt_raw (st), 1, seller_id);
  if ((rc = kmg_db_step (st, error)) < 0)
    return FALSE;
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_NOT_FOUND,
                   "no seller %" G_GINT64_FORMAT, seller_id);
      return FALSE;
    }
  *price = sqlite3_column_int64 (kmg_db_stmt_raw (st), 0);
  return TRUE;
}

static gint64
start_in_txn (KmgBilling *b, gint64 buyer_id, gint64 seller_id, gint64 now_ms, gint64 *price,
              GError **error)
{
  gint64 balance = 0;

  if (!seller_price (b, seller_id, price, error)
      || !kmg_ledger_ensure_account (b->ledger, buyer_id, now_ms, error)
      || !kmg_ledger_ensure_account (b->ledger, seller_id, now_ms, error)
      || !kmg_ledger_balance (b->ledger, buyer_id, &balance, error))
    return 0;
  if (balance < *price)
    {
      g_set_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_INSUFFICIENT_CREDITS,
                   "balance %" G_GINT64_FORMAT " does not cover one minute at %" G_GINT64_FORMAT,
                   balance, *price);
      return 0;
    }
  return kmg_session_rows_insert (b->db, buyer_id, seller_id, *price, &b->rules, now_ms, error);
}

gint64
kmg_billing_session_start (KmgBilling *b, gint64 buyer_id, gint64 seller_id, gint64 now_ms,
                           GError **error)
{
  gint64 price = 0, id;
  Session *s;

  if (buyer_id <= 0 || seller_id <= 0 || buyer_id == seller_id)
    {
      g_set_error_literal (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_INVALID,
                           "a session needs two different users");
      return 0;
    }
  if (!kmg_db_begin (b->db, error))
    return 0;
  id = start_in_txn (b, buyer_id, seller_id, now_ms, &price, error);
  if (id <= 0)
    {
      kmg_db_rollback (b->db);
      return 0;
    }
  if (!kmg_db_commit (b->db, error))
    return 0;
  s = g_new0 (Session, 1);
  s->id = id;
  s->buyer_id = buyer_id;
  s->seller_id = seller_id;
  s->price = price;
  s->fee_pct = b->rules.fee_pct;
  /* The session's first billable second is the one it started in. */
  s->meter = kmg_charge_meter_new (b->rules.min_billable_s, b->rules.minute_s, now_ms / 1000);
  g_hash_table_insert (b->sessions, &s->id, s);
  {
    g_autofree char *sid = g_strdup_printf ("%" G_GINT64_FORMAT, id);
    g_autofree char *uid = g_strdup_printf ("%" G_GINT64_FORMAT, buyer_id);
    /* Field values are plain strings; only MESSAGE, the last pair, takes a format. */
    g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO, "KMG_SESSION", sid, "KMG_USER", uid,
                      "MESSAGE", "watch session %s started at %" G_GINT64_FORMAT " per minute",
                      sid, price);
  }
  return id;
}

gboolean
kmg_billing_session_set_path (KmgBilling *b, gint64 session_id, const char *path,
                              GError **error)
{
  return kmg_session_rows_set_path (b->db, session_id, path, error);
}

gboolean
kmg_billing_session_set_active (KmgBilling *b, gint64 session_id, gboolean active)
{
  Session *s = g_hash_table_lookup (b->sessions, &session_id);

  if (s == NULL)
    return FALSE;
  kmg_charge_meter_set_active (s->meter, active);
  return TRUE;
}

KmgMeterVerdict
kmg_billing_delivered_second (KmgBilling *b, gint64 session_id, const KmgDeliveredSecond *ev,
                              gint64 now_ms)
{
  Session *s = g_hash_table_lookup (b->sessions, &session_id);

  if (s == NULL)
    return KMG_METER_REJECTED;
  return kmg_charge_meter_add (s->meter, ev, now_ms);
}

KmgMeterVerdict
kmg_billing_relay_second (KmgBilling *b, gint64 session_id, const KmgRelaySecondSample *sample,
                          gint64 now_ms)
{
  KmgDeliveredSecond ev;

  g_return_val_if_fail (sample != NULL, KMG_METER_REJECTED);
  if (!kmg_relay_second_delivered (sample, b->rules.receipt_timeout_s, &ev))
    return KMG_METER_UNDELIVERED;
  return kmg_billing_delivered_second (b, session_id, &ev, now_ms);
}

guint
kmg_billing_buyer_report (KmgBilling *b, gint64 session_id, const KmgBuyerStatsReport *report,
                          gint64 now_ms)
{
  Session *s = g_hash_table_lookup (b->sessions, &session_id);
  g_autoptr (GArray) seconds = NULL;
  guint counted = 0;

  g_return_val_if_fail (report != NULL, 0);
  if (s == NULL)
    return 0;
  if (s->has_report)
    {
      seconds = g_array_new (FALSE, FALSE, sizeof (KmgDeliveredSecond));
      kmg_buyer_report_seconds (&s->last_report, report, b->rules.report_max_gap_s, seconds);
      for (guint i = 0; i < seconds->len; i++)
        counted += kmg_charge_meter_add (s->meter, &g_array_index (seconds, KmgDeliveredSecond, i),
                                         now_ms)
                   == KMG_METER_COUNTED;
    }
  s->last_report = *report;
  s->has_report = TRUE;
  return counted;
}

/* Appends the pending minutes of @s to the batch. */
static void
queue_session (KmgBilling *b, Session *s)
{
  guint n = kmg_charge_meter_pending (s->meter);

  for (guint i = 0; i < n; i++)
    {
      KmgMinuteCharge c = {
        .session_id = s->id,
        .buyer_id = s->buyer_id,
        .seller_id = s->seller_id,
        .price = s->price,
        .fee_pct = s->fee_pct,
        .low_balance_minutes = b->rules.low_balance_minutes,
        .evidence = *kmg_charge_meter_peek (s->meter, i),
      };
      g_array_append_val (b->batch, c);
    }
}

/* Oldest session first, its minutes in order. */
static int
compare_charges (gconstpointer pa, gconstpointer pb)
{
  const KmgMinuteCharge *a = pa, *b = pb;

  if (a->session_id != b->session_id)
    return a->session_id < b->session_id ? -1 : 1;
  return a->evidence.minute_index < b->evidence.minute_index ? -1
         : a->evidence.minute_index > b->evidence.minute_index;
}

static void
push_event (GArray *events, KmgBillingEventKind kind, const KmgMinuteCharge *c,
            const char *reason)
{
  KmgBillingEvent ev = {
    .kind = kind,
    .session_id = c->session_id,
    .buyer_id = c->buyer_id,
    .seller_id = c->seller_id,
    .minute_index = c->evidence.minute_index,
    .price = kind == KMG_BILLING_EVENT_CHARGED ? c->price : 0,
    .seller_share = kind == KMG_BILLING_EVENT_CHARGED ? c->seller_share : 0,
    .fee = kind == KMG_BILLING_EVENT_CHARGED ? c->fee : 0,
    .balance = c->balance_after,
    .end_reason = reason,
  };
  g_array_append_val (events, ev);
}

/* Closes, in the open transaction, the sessions whose buyer could not pay. */
static gboolean
close_unpaid (KmgBilling *b, gint64 now_ms, GError **error)
{
  for (guint i = 0; i < b->batch->len; i++)
    {
      KmgMinuteCharge *c = &g_array_index (b->batch, KmgMinuteCharge, i);
      Session *s = g_hash_table_lookup (b->sessions, &c->session_id);
      if (c->status != KMG_CHARGE_INSUFFICIENT || s == NULL)
        continue;
      /* Later minutes of the same session in this batch were refused too; close once. */
      if (i > 0 && c[-1].session_id == c->session_id && c[-1].status == KMG_CHARGE_INSUFFICIENT)
        continue;
      if (!kmg_session_rows_close (b->db, c->session_id, "insufficient_credits",
                               kmg_charge_meter_delivered (s->meter), now_ms, error))
        return FALSE;
    }
  return TRUE;
}

/* After COMMIT: settle meters, forget ended sessions, report. */
static void
apply_outcomes (KmgBilling *b, GArray *events)
{
  for (guint i = 0; i < b->batch->len; i++)
    {
      KmgMinuteCharge *c = &g_array_index (b->batch, KmgMinuteCharge, i);
      Session *s = g_hash_table_lookup (b->sessions, &c->session_id);

      if (s == NULL)
        continue; /* ended earlier in this batch */
      switch (c->status)
        {
        case KMG_CHARGE_OK:
        case KMG_CHARGE_REPLAYED:
          kmg_charge_meter_settle (s->meter, 1);
          if (c->status == KMG_CHARGE_OK)
            push_event (events, KMG_BILLING_EVENT_CHARGED, c, NULL);
          if (c->low_balance && !s->warned)
            push_event (events, KMG_BILLING_EVENT_LOW_BALANCE, c, NULL);
          s->warned = c->low_balance;
          break;
        case KMG_CHARGE_INSUFFICIENT:
          push_event (events, KMG_BILLING_EVENT_ENDED, c, "insufficient_credits");
          g_hash_table_remove (b->sessions, &c->session_id);
          break;
        case KMG_CHARGE_CONFLICT:
        case KMG_CHARGE_NOT_ACTIVE:
          /* Ended behind our back (admin, another process) or inconsistent: stop billing it. */
          g_warning ("session %" G_GINT64_FORMAT " minute %u not chargeable (status %d)",
                     c->session_id, c->evidence.minute_index, c->status);
          push_event (events, KMG_BILLING_EVENT_ENDED, c, "not_active");
          g_hash_table_remove (b->sessions, &c->session_id);
          break;
        }
    }
}

static void
marshal_event (GHook *hook, gpointer data)
{
  ((KmgBillingEventFunc) hook->func) (data, hook->data);
}

GArray *
kmg_billing_flush (KmgBilling *b, gint64 now_ms, GError **error)
{
  GHashTableIter it;
  gpointer value;
  g_autoptr (GArray) events = g_array_new (FALSE, FALSE, sizeof (KmgBillingEvent));

  g_array_set_size (b->batch, 0);
  g_hash_table_iter_init (&it, b->sessions);
  while (g_hash_table_iter_next (&it, NULL, &value))
    queue_session (b, value);
  if (b->batch->len == 0)
    return g_steal_pointer (&events);
  /* In key order the batch's index inserts land on neighbouring pages (sessions, evidence and
   * charge keys are all ordered by session), and which of a buyer's sessions is charged first
   * when money runs short no longer depends on hash table order. */
  g_array_sort (b->batch, compare_charges);
  if (!kmg_ledger_begin (b->ledger, error))
    return NULL;
  if (!kmg_ledger_charge_minutes_in_txn (b->ledger, (KmgMinuteCharge *) b->batch->data,
                                         b->batch->len, now_ms, error)
      || !close_unpaid (b, now_ms, error))
    {
      kmg_ledger_rollback (b->ledger);
      return NULL;
    }
  if (!kmg_ledger_commit (b->ledger, error))
    return NULL;
  apply_outcomes (b, events);
  for (guint i = 0; i < events->len; i++)
    kmg_listeners_emit (&b->listeners, marshal_event, &g_array_index (events, KmgBillingEvent, i));
  return g_steal_pointer (&events);
}

gulong
kmg_billing_connect_events (KmgBilling *b, KmgBillingEventFunc func, gpointer user_data)
{
  return kmg_listeners_connect (&b->listeners, G_CALLBACK (func), user_data);
}

gboolean
kmg_billing_session_end (KmgBilling *b, gint64 session_id, const char *reason, gint64 now_ms,
                         GError **error)
{
  Session *s = g_hash_table_lookup (b->sessions, &session_id);
  g_autoptr (GError) local = NULL;
  guint64 delivered = 0;

  if (s == NULL)
    return kmg_session_rows_close (b->db, session_id, reason, 0, now_ms, error);
  g_array_set_size (b->batch, 0);
  queue_session (b, s);
  delivered = kmg_charge_meter_delivered (s->meter);
  if (!kmg_ledger_begin (b->ledger, error))
    return FALSE;
  if (!kmg_ledger_charge_minutes_in_txn (b->ledger, (KmgMinuteCharge *) b->batch->data,
                                         b->batch->len, now_ms, &local)
      || !kmg_session_rows_close (b->db, session_id, reason, delivered, now_ms, &local))
    {
      kmg_ledger_rollback (b->ledger);
      /* Closed elsewhere already (admin, recovery): nothing left to bill. */
      if (g_error_matches (local, KMG_BILLING_ERROR, KMG_BILLING_ERROR_SESSION_ENDED))
        g_hash_table_remove (b->sessions, &session_id);
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (!kmg_ledger_commit (b->ledger, error))
    return FALSE;
  g_hash_table_remove (b->sessions, &session_id);
  return TRUE;
}
