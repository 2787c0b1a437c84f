/* test-billing-ledger.c — ledger, engine, recovery, audit and tamper detection, ratings and
 * wallet on a real temporary database with a fake clock. */

#include "billing-test-util.h"
#include "ctl-billing.h"
#include "kmg-audit.h"
#include "kmg-canon.h"
#include "kmg-billing.h"
#include "kmg-ratings.h"
#include "kmg-wallet.h"

#include <glib/gstdio.h>
#include <string.h>

#define T0 G_GINT64_CONSTANT (1700000000000) /* fake clock origin, unix ms */

typedef struct
{
  BillingTestDb *t;
  KmgLedger *ledger;
  gint64 buyer, seller, other;
  gint64 now;
} Fx;

static void
fx_setup (Fx *fx, gconstpointer data)
{
  fx->t = billing_test_db_new ();
  fx->ledger = kmg_ledger_new (fx->t->db);
  fx->buyer = billing_test_add_user (fx->t->db, "buyer", 0);
  fx->seller = billing_test_add_user (fx->t->db, "seller", 10);
  fx->other = billing_test_add_user (fx->t->db, "other", 0);
  fx->now = T0;
}

static void
fx_teardown (Fx *fx, gconstpointer data)
{
  kmg_ledger_free (fx->ledger);
  billing_test_db_free (fx->t);
}

static gint64
balance (Fx *fx, gint64 account)
{
  g_autoptr (GError) error = NULL;
  gint64 b = -12345;

  g_assert_true (kmg_ledger_balance (fx->ledger, account, &b, &error));
  g_assert_no_error (error);
  return b;
}

static void
grant (Fx *fx, gint64 user, gint64 amount)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (kmg_ledger_grant (fx->ledger, user, amount, "test credit", 0, NULL, fx->now, NULL,
                                   &error));
  g_assert_no_error (error);
}

static KmgAuditReport *
audit (Fx *fx)
{
  g_autoptr (GError) error = NULL;
  KmgAuditReport *r = kmg_audit_run (fx->t->db, &error);

  g_assert_no_error (error);
  g_assert_nonnull (r);
  return r;
}

static void
assert_audit_ok (Fx *fx)
{
  g_autoptr (KmgAuditReport) r = audit (fx);
  if (!r->ok)
    {
      g_autofree char *text = kmg_audit_report_to_text (r);
      g_test_message ("%s", text);
    }
  g_assert_true (r->ok);
  g_assert_cmpint (r->ledger_sum, ==, 0);
}

static void
test_transfer_balances (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  KmgTransferResult res = { 0 };

  grant (fx, fx->buyer, 1000);
  g_assert_cmpint (balance (fx, fx->buyer), ==, 1000);
  g_assert_cmpint (balance (fx, KMG_ACCOUNT_EXTERNAL), ==, -1000);
  g_assert_true (kmg_ledger_ensure_account (fx->ledger, fx->other, fx->now, &error));
  g_assert_true (kmg_ledger_transfer (fx->ledger, fx->buyer, fx->other, 300, KMG_TRANSFER_REFUND,
                                      "t-1", "manual", fx->now, &res, &error));
  g_assert_no_error (error);
  g_assert_false (res.replayed);
  g_assert_cmpint (balance (fx, fx->buyer), ==, 700);
  g_assert_cmpint (balance (fx, fx->other), ==, 300);
  g_assert_cmpint (billing_test_scalar (fx->t->db, "SELECT SUM (balance) FROM accounts"), ==, 0);
  assert_audit_ok (fx);
}

static void
test_idempotency (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  KmgTransferResult first = { 0 }, again = { 0 };

  grant (fx, fx->buyer, 1000);
  kmg_ledger_ensure_account (fx->ledger, fx->other, fx->now, NULL);
  g_assert_true (kmg_ledger_transfer (fx->ledger, fx->buyer, fx->other, 100, KMG_TRANSFER_REFUND,
                                      "same-key", "m", fx->now, &first, &error));
  fx->now += 5000;
  g_assert_true (kmg_ledger_transfer (fx->ledger, fx->buyer, fx->other, 100, KMG_TRANSFER_REFUND,
                                      "same-key", "m", fx->now, &again, &error));
  g_assert_no_error (error);
  g_assert_true (again.replayed);
  g_assert_cmpint (again.transfer_id, ==, first.transfer_id);
  g_assert_cmpint (balance (fx, fx->buyer), ==, 900);
  g_assert_false (kmg_ledger_transfer (fx->ledger, fx->buyer, fx->other, 101,
                                       KMG_TRANSFER_REFUND, "same-key", "m", fx->now, NULL,
                                       &error));
  g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_IDEMPOTENCY_CONFLICT);
  g_assert_cmpint (balance (fx, fx->buyer), ==, 900);
  g_assert_cmpint (billing_test_scalar (fx->t->db, "SELECT COUNT (*) FROM transfers"), ==, 2);
}

static void
test_never_negative (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  grant (fx, fx->buyer, 50);
  kmg_ledger_ensure_account (fx->ledger, fx->other, fx->now, NULL);
  g_assert_false (kmg_ledger_transfer (fx->ledger, fx->buyer, fx->other, 51, KMG_TRANSFER_REFUND,
                                       "too-much", "", fx->now, NULL, &error));
  g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_INSUFFICIENT_CREDITS);
  g_assert_cmpint (balance (fx, fx->buyer), ==, 50);
  g_assert_cmpint (balance (fx, fx->other), ==, 0);
  g_assert_cmpint (billing_test_scalar (fx->t->db, "SELECT COUNT (*) FROM transfers"), ==, 1);
  assert_audit_ok (fx);
}

static gint64
start_session (Fx *fx, KmgBilling *b)
{
  g_autoptr (GError) error = NULL;
  gint64 id = kmg_billing_session_start (b, fx->buyer, fx->seller, fx->now, &error);

  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  g_assert_true (kmg_billing_session_set_active (b, id, TRUE)); /* the buyer sees a picture */
  return id;
}

/* Delivers @n new seconds (each sent twice, pairs swapped) and advances the clock. */
static void
deliver (Fx *fx, KmgBilling *b, gint64 session, gint64 *next_second, guint n)
{
  for (guint i = 0; i < n; i += 2)
    {
      gint64 s0 = *next_second, s1 = *next_second + 1;
      KmgDeliveredSecond e0 = { .second = s0, .packets = 40, .bytes = 40000 };
      KmgDeliveredSecond e1 = { .second = s1, .packets = 40, .bytes = 40000 };
      fx->now = (s1 + 1) * 1000;
      g_assert_cmpint (kmg_billing_delivered_second (b, session, &e1, fx->now), ==,
                       KMG_METER_COUNTED);
      g_assert_cmpint (kmg_billing_delivered_second (b, session, &e0, fx->now), ==,
                       KMG_METER_COUNTED);
      g_assert_cmpint (kmg_billing_delivered_second (b, session, &e1, fx->now), ==,
                       KMG_METER_DUPLICATE);
      g_assert_cmpint (kmg_billing_delivered_second (b, session, &e0, fx->now), ==,
                       KMG_METER_DUPLICATE);
      *next_second += 2;
    }
}

static KmgBilling *
engine (Fx *fx, guint minute_s, guint min_billable_s)
{
  g_autoptr (GError) error = NULL;
  KmgBillingRules rules;
  KmgBilling *b;

  kmg_billing_rules_init (&rules);
  rules.minute_s = minute_s;
  rules.min_billable_s = min_billable_s;
  b = kmg_billing_new (fx->t->db, &rules, &error);
  g_assert_no_error (error);
  return b;
}

static guint
count_events (GArray *events, KmgBillingEventKind kind)
{
  guint n = 0;
  for (guint i = 0; i < events->len; i++)
    n += g_array_index (events, KmgBillingEvent, i).kind == kind;
  return n;
}

static void
test_engine_flow (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgBilling) b = engine (fx, 20, 4);
  g_autoptr (GArray) ev = NULL;
  g_autoptr (KmgSessionRow) info = NULL;
  gint64 sid, next = T0 / 1000;
  guint charged = 0, low = 0, ended = 0;

  /* Not even one minute: refused. */
  g_assert_cmpint (kmg_billing_session_start (b, fx->buyer, fx->seller, fx->now, &error), ==, 0);
  g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_INSUFFICIENT_CREDITS);
  g_clear_error (&error);
  grant (fx, fx->buyer, 45); /* price 10: four minutes and a half */
  sid = start_session (fx, b);
  for (guint tick = 0; tick < 60 && ended == 0; tick++)
    {
      deliver (fx, b, sid, &next, 2);
      ev = kmg_billing_flush (b, fx->now, &error);
      g_assert_no_error (error);
      charged += count_events (ev, KMG_BILLING_EVENT_CHARGED);
      low += count_events (ev, KMG_BILLING_EVENT_LOW_BALANCE);
      ended += count_events (ev, KMG_BILLING_EVENT_ENDED);
      g_clear_pointer (&ev, g_array_unref);
    }
  g_assert_cmpuint (charged, ==, 4);
  g_assert_cmpuint (low, ==, 1); /* once, when less than two minutes remained */
  g_assert_cmpuint (ended, ==, 1);
  g_assert_cmpint (balance (fx, fx->buyer), ==, 5);
  g_assert_cmpint (balance (fx, fx->seller), ==, 4 * 8);
  g_assert_cmpint (balance (fx, KMG_ACCOUNT_PLATFORM), ==, 4 * 2);
  info = kmg_session_rows_get (fx->t->db, sid, &error);
  g_assert_cmpstr (info->end_reason, ==, "insufficient_credits");
  g_assert_cmpuint (info->charged_minutes, ==, 4);
  g_assert_cmpint (billing_test_scalar (fx->t->db, "SELECT COUNT (*) FROM measured_minutes"), ==, 4);
  g_assert_cmpuint (kmg_billing_active_sessions (b), ==, 0);
  /* The ended session takes no more seconds. */
  g_assert_cmpint (kmg_billing_delivered_second (b, sid, &(KmgDeliveredSecond){ .second = next },
                                                 fx->now + 1000),
                   ==, KMG_METER_REJECTED);
  assert_audit_ok (fx);
}

static int
count_commit (void *data)
{
  (*(guint *) data)++;
  return 0; /* let it commit */
}

static void
test_batch_one_commit (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgBilling) b = engine (fx, 60, 10);
  g_autoptr (GArray) ev = NULL;
  gint64 sids[20];
  gint64 start = T0 / 1000;
  guint commits = 0;

  grant (fx, fx->buyer, 100000);
  for (guint i = 0; i < G_N_ELEMENTS (sids); i++)
    sids[i] = start_session (fx, b);
  for (guint i = 0; i < G_N_ELEMENTS (sids); i++)
    {
      gint64 next = start;
      deliver (fx, b, sids[i], &next, 10);
    }
  sqlite3_commit_hook (kmg_db_handle (fx->t->db), count_commit, &commits);
  ev = kmg_billing_flush (b, fx->now, &error);
  sqlite3_commit_hook (kmg_db_handle (fx->t->db), NULL, NULL);
  g_assert_no_error (error);
  g_assert_cmpuint (commits, ==, 1);
  g_assert_cmpuint (count_events (ev, KMG_BILLING_EVENT_CHARGED), ==, G_N_ELEMENTS (sids));
  g_assert_cmpint (balance (fx, fx->buyer), ==, 100000 - 20 * 10);
  /* Nothing more is due: the next tick writes nothing. */
  g_clear_pointer (&ev, g_array_unref);
  ev = kmg_billing_flush (b, fx->now, &error);
  g_assert_cmpuint (commits, ==, 1);
  g_assert_cmpuint (ev->len, ==, 0);
  assert_audit_ok (fx);
}

static void
test_idempotent_charge (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  KmgBillingRules rules;
  gint64 sid;
  KmgMinuteCharge c = { 0 };

  kmg_billing_rules_init (&rules);
  grant (fx, fx->buyer, 100);
  kmg_ledger_ensure_account (fx->ledger, fx->seller, fx->now, NULL);
  sid = kmg_session_rows_insert (fx->t->db, fx->buyer, fx->seller, 10, &rules, fx->now, &error);
  g_assert_no_error (error);
  c = (KmgMinuteCharge){ .session_id = sid, .buyer_id = fx->buyer, .seller_id = fx->seller,
                         .price = 10, .fee_pct = rules.fee_pct, .low_balance_minutes = 2 };
  c.evidence = (KmgMinuteEvidence){ .minute_index = 0, .first_second = T0 / 1000,
                                    .last_second = T0 / 1000 + 9, .delivered_seconds = 10,
                                    .total_seconds = 10, .jitter_ms = -1, .rtt_ms = -1 };
  g_assert_true (kmg_ledger_charge_minutes (fx->ledger, &c, 1, fx->now, &error));
  g_assert_cmpint (c.status, ==, KMG_CHARGE_OK);
  g_assert_cmpint (c.balance_after, ==, 90);
  /* A retry of the same (session, minute) has no effect. */
  g_assert_true (kmg_ledger_charge_minutes (fx->ledger, &c, 1, fx->now + 1000, &error));
  g_assert_cmpint (c.status, ==, KMG_CHARGE_REPLAYED);
  g_assert_cmpint (balance (fx, fx->buyer), ==, 90);
  /* Same key, different content. */
  c.price = 20;
  g_assert_true (kmg_ledger_charge_minutes (fx->ledger, &c, 1, fx->now + 2000, &error));
  g_assert_cmpint (c.status, ==, KMG_CHARGE_CONFLICT);
  g_assert_no_error (error);
  g_assert_cmpint (balance (fx, fx->buyer), ==, 90);
  g_assert_cmpint (billing_test_scalar (fx->t->db, "SELECT COUNT (*) FROM measured_minutes"), ==, 1);
  assert_audit_ok (fx);
}

static void
test_end_charges_due (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgBilling) b = engine (fx, 60, 10);
  g_autoptr (KmgSessionRow) info = NULL;
  gint64 sid, next = T0 / 1000;

  grant (fx, fx->buyer, 100);
  sid = start_session (fx, b);
  deliver (fx, b, sid, &next, 12); /* minute 0 due, no tick yet */
  g_assert_true (kmg_billing_session_end (b, sid, "buyer_left", fx->now, &error));
  g_assert_no_error (error);
  info = kmg_session_rows_get (fx->t->db, sid, &error);
  g_assert_cmpstr (info->end_reason, ==, "buyer_left");
  g_assert_cmpuint (info->charged_minutes, ==, 1);
  g_assert_cmpuint (info->delivered_seconds, ==, 12);
  g_assert_cmpint (balance (fx, fx->buyer), ==, 90);
  g_assert_false (kmg_billing_session_end (b, sid, "buyer_left", fx->now, &error));
  g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_SESSION_ENDED);
  assert_audit_ok (fx);
}

static void
test_recover (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  KmgBilling *b = engine (fx, 60, 10);
  g_autoptr (KmgBilling) b2 = NULL;
  g_autoptr (GArray) ev = NULL;
  g_autoptr (KmgSessionRow) info = NULL;
  gint64 sid, sid2, next = T0 / 1000, next2 = T0 / 1000;
  gint64 paid;

  grant (fx, fx->buyer, 1000);
  sid = start_session (fx, b);
  sid2 = start_session (fx, b);
  deliver (fx, b, sid, &next, 70);
  deliver (fx, b, sid2, &next2, 4);
  ev = kmg_billing_flush (b, fx->now, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (count_events (ev, KMG_BILLING_EVENT_CHARGED), ==, 2);
  paid = balance (fx, fx->buyer);
  deliver (fx, b, sid, &next, 60); /* minute 2 due but never flushed: the process "dies" */
  kmg_billing_free (b);

  g_assert_cmpint (kmg_billing_recover (fx->t->db, fx->now + 5000, &error), ==, 2);
  g_assert_no_error (error);
  info = kmg_session_rows_get (fx->t->db, sid, &error);
  g_assert_cmpstr (info->end_reason, ==, "server_restart");
  g_assert_cmpuint (info->charged_minutes, ==, 2);
  g_assert_cmpint (balance (fx, fx->buyer), ==, paid);
  g_assert_cmpint (kmg_billing_recover (fx->t->db, fx->now + 6000, &error), ==, 0);
  /* A new engine knows nothing of the closed sessions and charges nothing for them. */
  b2 = engine (fx, 60, 10);
  g_assert_cmpint (kmg_billing_delivered_second (b2, sid, &(KmgDeliveredSecond){ .second = next },
                                                 fx->now + 7000),
                   ==, KMG_METER_REJECTED);
  g_clear_pointer (&ev, g_array_unref);
  ev = kmg_billing_flush (b2, fx->now + 8000, &error);
  g_assert_cmpuint (ev->len, ==, 0);
  g_assert_cmpint (balance (fx, fx->buyer), ==, paid);
  assert_audit_ok (fx);
}

/* The engine bills a session only while it is told the session is active. */
/* The relay's measurements are judged inside billing: a second with a fresh report counts, a
 * stale report or no packet does not, an unknown session is refused. */
static void
test_relay_second (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgBilling) b = engine (fx, 6, 2);
  gint64 sid, s0 = T0 / 1000;
  KmgRelaySecondSample ok = { .second = s0, .video_packets = 60, .bytes = 60000, .rr_age_ms = 900,
                              .rr_fraction_lost = 0.01, .jitter_ms = 3, .rtt_ms = 20 };
  KmgRelaySecondSample stale = ok, silent = ok, unknown = ok;

  grant (fx, fx->buyer, 100);
  sid = kmg_billing_session_start (b, fx->buyer, fx->seller, fx->now, &error);
  g_assert_no_error (error);
  g_assert_true (kmg_billing_session_set_active (b, sid, TRUE));
  fx->now += 3000;
  g_assert_cmpint (kmg_billing_relay_second (b, sid, &ok, fx->now), ==, KMG_METER_COUNTED);
  g_assert_cmpint (kmg_billing_relay_second (b, sid, &ok, fx->now), ==, KMG_METER_DUPLICATE);
  stale.second = s0 + 1;
  stale.rr_age_ms = 5000; /* billing.receipt_timeout_s = 5 */
  g_assert_cmpint (kmg_billing_relay_second (b, sid, &stale, fx->now), ==, KMG_METER_UNDELIVERED);
  silent.second = s0 + 1;
  silent.video_packets = 0;
  g_assert_cmpint (kmg_billing_relay_second (b, sid, &silent, fx->now), ==, KMG_METER_UNDELIVERED);
  unknown.second = s0 + 1;
  g_assert_cmpint (kmg_billing_relay_second (b, sid + 1000, &unknown, fx->now), ==,
                   KMG_METER_REJECTED);
}

static void
test_active_gate (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgBilling) b = engine (fx, 6, 2);
  g_autoptr (GArray) ev = NULL;
  gint64 sid, next = T0 / 1000;

  grant (fx, fx->buyer, 100);
  sid = kmg_billing_session_start (b, fx->buyer, fx->seller, fx->now, &error);
  g_assert_no_error (error);
  /* Connecting: packets reach the buyer, but it has not seen a frame. */
  fx->now += 5000;
  for (gint64 s = next; s < next + 5; s++)
    g_assert_cmpint (kmg_billing_delivered_second (b, sid, &(KmgDeliveredSecond){ .second = s },
                                                   fx->now),
                     ==, KMG_METER_INACTIVE);
  ev = kmg_billing_flush (b, fx->now, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ev->len, ==, 0);
  g_clear_pointer (&ev, g_array_unref);
  g_assert_cmpint (balance (fx, fx->buyer), ==, 100);

  /* First frame: from now on seconds count. */
  g_assert_true (kmg_billing_session_set_active (b, sid, TRUE));
  next += 5;
  deliver (fx, b, sid, &next, 2);
  ev = kmg_billing_flush (b, fx->now, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (count_events (ev, KMG_BILLING_EVENT_CHARGED), ==, 1);
  g_clear_pointer (&ev, g_array_unref);

  /* The picture is lost again: nothing counts until it is back. */
  g_assert_true (kmg_billing_session_set_active (b, sid, FALSE));
  fx->now += 10000;
  for (gint64 s = next; s < next + 10; s++)
    g_assert_cmpint (kmg_billing_delivered_second (b, sid, &(KmgDeliveredSecond){ .second = s },
                                                   fx->now),
                     ==, KMG_METER_INACTIVE);
  ev = kmg_billing_flush (b, fx->now, &error);
  g_assert_cmpuint (ev->len, ==, 0);
  g_clear_pointer (&ev, g_array_unref);
  g_assert_true (kmg_billing_session_end (b, sid, "buyer_left", fx->now, &error));
  g_assert_no_error (error);
  g_assert_cmpint (balance (fx, fx->buyer), ==, 90);
  /* Sessions billing does not know (ended, never started) cannot be activated. */
  g_assert_false (kmg_billing_session_set_active (b, sid, TRUE));
  g_assert_false (kmg_billing_session_set_active (b, sid + 1000, TRUE));
  assert_audit_ok (fx);
}

static KmgBuyerStatsReport
report_at (gint64 at_ms, guint64 frames, guint64 bytes)
{
  return (KmgBuyerStatsReport){ .at_ms = at_ms, .frames_decoded = frames, .bytes_received = bytes,
                                .jitter_ms = -1, .rtt_ms = -1 };
}

/* P2P: billing keeps each session's previous buyer report and counts what two attest. */
static void
test_buyer_reports_engine (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgBilling) b = engine (fx, 60, 10);
  g_autoptr (GArray) ev = NULL;
  g_autofree char *source = NULL;
  KmgBuyerStatsReport r;
  gint64 sid, other, t = T0 + 200;

  grant (fx, fx->buyer, 100);
  sid = kmg_billing_session_start (b, fx->buyer, fx->seller, fx->now, &error);
  g_assert_no_error (error);
  other = start_session (fx, b);
  /* Reports while connecting only set the baseline. */
  r = report_at (t, 0, 0);
  g_assert_cmpuint (kmg_billing_buyer_report (b, sid, &r, t), ==, 0);
  t += 2000;
  r = report_at (t, 60, 200000);
  g_assert_cmpuint (kmg_billing_buyer_report (b, sid, &r, t), ==, 0);
  g_assert_true (kmg_billing_session_set_active (b, sid, TRUE));
  /* The first report after activation attests the seconds since the one before it. */
  t += 2000;
  r = report_at (t, 120, 400000);
  g_assert_cmpuint (kmg_billing_buyer_report (b, sid, &r, t), ==, 2);
  /* A repeated report attests nothing; reports of another session do not mix in. */
  g_assert_cmpuint (kmg_billing_buyer_report (b, sid, &r, t), ==, 0);
  g_assert_cmpuint (kmg_billing_buyer_report (b, other, &r, t), ==, 0);
  /* A client that reset its counters attests nothing, but its report is the new baseline. */
  t += 2000;
  r = report_at (t, 10, 1000);
  g_assert_cmpuint (kmg_billing_buyer_report (b, sid, &r, t), ==, 0);
  for (guint i = 0; i < 4; i++)
    {
      t += 2000;
      r = report_at (t, 10 + 60 * (i + 1), 1000 + 200000 * (i + 1));
      g_assert_cmpuint (kmg_billing_buyer_report (b, sid, &r, t), ==, 2);
    }
  /* 10 seconds attested: minute 0 is due, from buyer-attested seconds. */
  ev = kmg_billing_flush (b, t, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (count_events (ev, KMG_BILLING_EVENT_CHARGED), ==, 1);
  g_assert_cmpint (g_array_index (ev, KmgBillingEvent, 0).session_id, ==, sid);
  source = billing_test_text (fx->t->db, "SELECT source FROM measured_minutes");
  g_assert_cmpstr (source, ==, "buyer_attested");
  /* The session's billing ends: its report history goes with it. */
  g_assert_true (kmg_billing_session_end (b, sid, "buyer_left", t, &error));
  g_assert_no_error (error);
  t += 2000;
  r = report_at (t, 1000, 9000000);
  g_assert_cmpuint (kmg_billing_buyer_report (b, sid, &r, t), ==, 0);
  assert_audit_ok (fx);
}

/* A CHARGED event carries what the ledger moved, at the terms fixed when the session started. */
static void
test_event_amounts (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgBilling) b = NULL;
  g_autoptr (GArray) ev = NULL;
  KmgBillingRules rules;
  const KmgBillingEvent *e = NULL;
  gint64 sid, next = T0 / 1000;

  kmg_billing_rules_init (&rules);
  rules.fee_pct = 33;
  rules.minute_s = 6;
  rules.min_billable_s = 2;
  b = kmg_billing_new (fx->t->db, &rules, &error);
  g_assert_no_error (error);
  grant (fx, fx->buyer, 100);
  sid = start_session (fx, b);
  /* The seller's price changes mid-session: the session keeps the price it started at. */
  g_assert_true (kmg_db_exec (fx->t->db, "UPDATE users SET price_per_minute = 50", &error));
  g_assert_no_error (error);
  deliver (fx, b, sid, &next, 2);
  ev = kmg_billing_flush (b, fx->now, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < ev->len; i++)
    if (g_array_index (ev, KmgBillingEvent, i).kind == KMG_BILLING_EVENT_CHARGED)
      e = &g_array_index (ev, KmgBillingEvent, i);
  g_assert_nonnull (e);
  g_assert_cmpint (e->price, ==, 10);
  g_assert_cmpint (e->fee, ==, 3); /* floor (10 × 33 / 100) */
  g_assert_cmpint (e->seller_share, ==, 7);
  g_assert_cmpint (e->seller_share,
                   ==, billing_test_scalar (fx->t->db, "SELECT amount FROM transfers "
                                                       "WHERE idempotency_key LIKE '%:0:seller'"));
  g_assert_cmpint (e->fee, ==, billing_test_scalar (fx->t->db, "SELECT amount FROM transfers "
                                                               "WHERE idempotency_key LIKE '%:0:fee'"));
  g_assert_cmpint (balance (fx, fx->seller), ==, e->seller_share);
  g_assert_cmpint (balance (fx, fx->buyer), ==, 100 - e->price);
  assert_audit_ok (fx);
}

/* A flush the store refuses reports why, charges nothing, and the minutes stay due. */
static void
test_flush_error (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgBilling) b = engine (fx, 6, 2);
  g_autoptr (GArray) ev = NULL;
  gint64 sid, next = T0 / 1000;

  grant (fx, fx->buyer, 100);
  sid = start_session (fx, b);
  deliver (fx, b, sid, &next, 2);
  billing_test_raw_exec (fx->t->path, "CREATE TRIGGER evidence_refused BEFORE INSERT ON "
                                      "measured_minutes BEGIN SELECT RAISE (ABORT, 'disk full'); "
                                      "END");
  ev = kmg_billing_flush (b, fx->now, &error);
  g_assert_null (ev);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "disk full"));
  g_clear_error (&error);
  g_assert_cmpint (balance (fx, fx->buyer), ==, 100);
  g_assert_cmpint (billing_test_scalar (fx->t->db, "SELECT COUNT (*) FROM transfers "
                                                   "WHERE kind = 'charge'"), ==, 0);
  billing_test_raw_exec (fx->t->path, "DROP TRIGGER evidence_refused");
  ev = kmg_billing_flush (b, fx->now, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (count_events (ev, KMG_BILLING_EVENT_CHARGED), ==, 1);
  g_assert_cmpint (balance (fx, fx->buyer), ==, 90);
  assert_audit_ok (fx);
}

/* A few sessions' worth of charges, for the audit tests. */
static void
make_history (Fx *fx)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgBilling) b = engine (fx, 30, 5);
  g_autoptr (GArray) ev = NULL;
  gint64 sid, next = T0 / 1000;

  grant (fx, fx->buyer, 500);
  sid = start_session (fx, b);
  deliver (fx, b, sid, &next, 100);
  ev = kmg_billing_flush (b, fx->now, &error);
  g_assert_no_error (error);
  g_assert_true (kmg_billing_session_end (b, sid, "buyer_left", fx->now, &error));
  g_assert_cmpint (billing_test_scalar (fx->t->db, "SELECT COUNT (*) FROM transfers"), ==, 1 + 4 * 2);
}

static void
test_tamper_amount (Fx *fx, gconstpointer data)
{
  g_autoptr (KmgAuditReport) r = NULL;
  g_autoptr (KmgDb) ro = NULL;
  g_autoptr (GError) error = NULL;

  make_history (fx);
  assert_audit_ok (fx);
  /* With the triggers in place the row cannot even be edited. */
  g_assert_cmpint (sqlite3_exec (kmg_db_handle (fx->t->db),
                                 "UPDATE transfers SET amount = 1 WHERE id = 4", NULL, NULL, NULL),
                   !=, SQLITE_OK);
  billing_test_raw_exec (fx->t->path, "DROP TRIGGER transfers_no_update; "
                                      "UPDATE transfers SET amount = amount + 1 WHERE id = 4;");
  r = audit (fx);
  g_assert_false (r->ok);
  g_assert_cmpint (r->first_bad_transfer, ==, 4);
  g_assert_cmpuint (r->bad_transfers, ==, 1);
  g_assert_cmpuint (r->balance_mismatches, >, 0);
  /* kamegorctl audit on a read-only open says so by its exit code. */
  ro = kmg_db_open_readonly (fx->t->path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (kmg_ctl_audit (ro, TRUE, "/nonexistent", FALSE), ==, 1);
}

static void
test_tamper_rehashed (Fx *fx, gconstpointer data)
{
  g_autoptr (KmgAuditReport) r = NULL;

  make_history (fx);
  /* An intruder who rewrites content and hash of row 3 still breaks row 4's link. */
  billing_test_raw_exec (fx->t->path,
                         "DROP TRIGGER transfers_no_update; "
                         "UPDATE transfers SET hash = '1111111111111111111111111111111111111111111111111111111111111111' WHERE id = 3;");
  r = audit (fx);
  g_assert_false (r->ok);
  g_assert_cmpint (r->first_bad_transfer, ==, 3);
  g_clear_pointer (&r, kmg_audit_report_free);
  billing_test_raw_exec (fx->t->path, "DROP TRIGGER transfers_no_delete; "
                                      "DELETE FROM transfers WHERE id = 3;");
  r = audit (fx);
  g_assert_false (r->ok);
  g_assert_cmpint (r->first_bad_transfer, ==, 4); /* the row after the gap */
}

/* What the hash chain alone cannot see: row 2 changed and every hash after it recomputed. */
static void
rewrite_chain_from (const char *path, gint64 from, const char *new_memo)
{
  sqlite3 *raw = NULL;
  sqlite3_stmt *sel = NULL, *upd = NULL;
  char prev[KMG_HASH_HEX_LEN + 1];
  g_autoptr (GString) content = g_string_new (NULL);

  g_assert_cmpint (sqlite3_open (path, &raw), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (raw, "DROP TRIGGER transfers_no_update", NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (raw, "SELECT id, debit_account, credit_account, amount, kind, "
                                            "idempotency_key, session_id, minute_index, created_at, memo, prev_hash "
                                            "FROM transfers WHERE id >= ?1 ORDER BY id", -1, &sel, NULL),
                   ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (raw, "UPDATE transfers SET memo = ?2, content = ?3, prev_hash = ?4, hash = ?5 "
                                            "WHERE id = ?1", -1, &upd, NULL),
                   ==, SQLITE_OK);
  sqlite3_bind_int64 (sel, 1, from);
  prev[0] = '\0';
  while (sqlite3_step (sel) == SQLITE_ROW)
    {
      KmgTransferRow row = {
        .id = sqlite3_column_int64 (sel, 0),
        .debit_account = sqlite3_column_int64 (sel, 1),
        .credit_account = sqlite3_column_int64 (sel, 2),
        .amount = sqlite3_column_int64 (sel, 3),
        .idempotency_key = (const char *) sqlite3_column_text (sel, 5),
        .session_id = sqlite3_column_type (sel, 6) == SQLITE_NULL ? 0 : sqlite3_column_int64 (sel, 6),
        .minute_index = sqlite3_column_type (sel, 7) == SQLITE_NULL ? -1 : sqlite3_column_int64 (sel, 7),
        .created_at = sqlite3_column_int64 (sel, 8),
        .memo = row.id == from ? new_memo : (const char *) sqlite3_column_text (sel, 9),
      };
      g_assert_true (kmg_transfer_kind_from_string ((const char *) sqlite3_column_text (sel, 4), &row.kind));
      if (prev[0] == '\0')
        g_strlcpy (prev, (const char *) sqlite3_column_text (sel, 10), sizeof prev);
      char hash[KMG_HASH_HEX_LEN + 1];
      kmg_transfer_canonical (&row, content);
      kmg_transfer_hash (prev, content->str, content->len, hash);
      sqlite3_reset (upd);
      sqlite3_bind_int64 (upd, 1, row.id);
      sqlite3_bind_text (upd, 2, row.memo, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (upd, 3, content->str, (int) content->len, SQLITE_TRANSIENT);
      sqlite3_bind_text (upd, 4, prev, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (upd, 5, hash, -1, SQLITE_TRANSIENT);
      g_assert_cmpint (sqlite3_step (upd), ==, SQLITE_DONE);
      g_strlcpy (prev, hash, sizeof prev);
    }
  sqlite3_finalize (sel);
  sqlite3_finalize (upd);
  sqlite3_close (raw);
}

static void
test_tamper_rewritten_chain_anchors (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (fx->t->dir, KMG_ANCHOR_FILE_NAME, NULL);
  g_autoptr (KmgAnchorLog) log = kmg_anchor_log_open (path, &error);
  g_assert_no_error (error);
  kmg_ledger_set_anchor_log (fx->ledger, log);

  grant (fx, fx->buyer, 100);
  grant (fx, fx->buyer, 200);
  grant (fx, fx->seller, 300);
  /* One anchor per commit that added transfers, each the chain head then. */
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 4); /* 3 lines and the empty rest */
  for (gint64 id = 1; id <= 3; id++)
    {
      g_autofree char *sql = g_strdup_printf ("SELECT hash FROM transfers WHERE id = %" G_GINT64_FORMAT, id);
      g_autofree char *hash = billing_test_text (fx->t->db, sql);
      g_autofree char *prefix = g_strdup_printf ("kamegor-anchor-v1 %" G_GINT64_FORMAT " %s ", id, hash);
      g_assert_true (g_str_has_prefix (lines[id - 1], prefix));
    }
  g_autoptr (KmgAuditReport) ok = audit (fx);
  g_assert_true (kmg_audit_check_anchors (ok, fx->t->db, path, &error));
  g_assert_true (ok->ok);
  g_assert_cmpuint (ok->anchors, ==, 3);

  rewrite_chain_from (fx->t->path, 2, "quietly changed");
  g_autoptr (KmgAuditReport) r = audit (fx);
  g_assert_true (r->ok); /* the chain is consistent again: only the anchors can tell */
  g_assert_true (kmg_audit_check_anchors (r, fx->t->db, path, &error));
  g_assert_false (r->ok);
  g_assert_cmpuint (r->bad_anchors, ==, 2);
  g_assert_cmpint (r->first_bad_anchor, ==, 2);
  g_autofree char *report = kmg_audit_report_to_text (r);
  g_assert_nonnull (strstr (report, "anchors:           3, 2 bad, first transfer 2"));
  g_assert_cmpint (kmg_ctl_audit (fx->t->db, TRUE, path, TRUE), ==, 1);

  /* A line cut short by a crash is ignored; a line that is not an anchor is reported. */
  g_autoptr (KmgAuditReport) r2 = audit (fx);
  FILE *f = fopen (path, "a");
  fputs ("garbage line\nkamegor-anchor-v1 9", f);
  fclose (f);
  g_assert_true (kmg_audit_check_anchors (r2, fx->t->db, path, &error));
  g_assert_cmpuint (r2->anchors, ==, 3);
  g_assert_cmpuint (r2->problems->len, >=, 2);
  /* A named anchor file that does not exist is an error, not a pass. */
  g_assert_cmpint (kmg_ctl_audit (fx->t->db, FALSE, "/nonexistent/anchors", TRUE), ==, 2);
  kmg_ledger_set_anchor_log (fx->ledger, NULL);
}

static void
test_tamper_evidence (Fx *fx, gconstpointer data)
{
  g_autoptr (KmgAuditReport) r = NULL;
  g_autofree char *text = NULL;
  gint64 sid;

  make_history (fx);
  sid = billing_test_scalar (fx->t->db, "SELECT MAX (id) FROM watch_sessions");
  billing_test_raw_exec (fx->t->path, "UPDATE measured_minutes SET delivered_seconds = 40, "
                                      "total_seconds = 40 WHERE minute_index = 0");
  r = audit (fx);
  g_assert_false (r->ok);
  g_assert_cmpint (r->first_bad_transfer, ==, 0); /* the chain itself is fine */
  g_assert_cmpint (r->first_evidence_mismatch, ==, sid);
  text = kmg_audit_report_to_text (r);
  g_assert_nonnull (strstr (text, "FAILED"));
}

static void
test_refund (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  KmgTransferResult res = { 0 };
  gint64 sid;

  make_history (fx);
  sid = billing_test_scalar (fx->t->db, "SELECT MAX (id) FROM watch_sessions");
  g_assert_false (kmg_ledger_refund (fx->ledger, sid, "  ", 0, fx->now, &res, &error));
  g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (kmg_ledger_refund (fx->ledger, sid, "stream was black", 0, fx->now, &res, &error));
  g_assert_no_error (error);
  g_assert_false (res.replayed);
  g_assert_cmpint (balance (fx, fx->buyer), ==, 500);
  g_assert_cmpint (balance (fx, fx->seller), ==, 0);
  g_assert_cmpint (balance (fx, KMG_ACCOUNT_PLATFORM), ==, 0);
  g_assert_true (kmg_ledger_refund (fx->ledger, sid, "stream was black", 0, fx->now, &res, &error));
  g_assert_true (res.replayed);
  g_assert_cmpint (balance (fx, fx->buyer), ==, 500);
  g_assert_cmpint (billing_test_scalar (fx->t->db,
                                        "SELECT COUNT (*) FROM admin_actions WHERE action = 'refund'"),
                   ==, 1);
  assert_audit_ok (fx);
}

static void
test_grant_reason (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (kmg_ledger_grant (fx->ledger, fx->buyer, 10, "", 0, NULL, fx->now, NULL, &error));
  g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (kmg_ledger_grant (fx->ledger, 9999, 10, "why", 0, NULL, fx->now, NULL, &error));
  g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_NOT_FOUND);
  g_autofree char *anchors = g_build_filename (fx->t->dir, KMG_ANCHOR_FILE_NAME, NULL);
  g_assert_cmpint (kmg_ctl_grant (fx->t->db, fx->buyer, 25, "welcome bonus", anchors), ==, 0);
  g_assert_cmpint (kmg_ctl_grant (fx->t->db, fx->buyer, 25, "", anchors), ==, 2);
  /* The command line's transfer is anchored like the server's. */
  g_autofree char *lines = NULL;
  g_assert_true (g_file_get_contents (anchors, &lines, NULL, NULL));
  g_assert_true (g_str_has_prefix (lines, "kamegor-anchor-v1 1 "));
  g_assert_cmpint (kmg_ctl_audit (fx->t->db, TRUE, anchors, TRUE), ==, 0);
  g_assert_cmpint (balance (fx, fx->buyer), ==, 25);
  g_assert_cmpint (billing_test_scalar (fx->t->db, "SELECT COUNT (*) FROM admin_actions "
                                                   "WHERE action = 'grant' AND reason = 'welcome bonus' "
                                                   "AND admin_id IS NULL"),
                   ==, 1);
}

static void
test_ratings (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgBilling) b = engine (fx, 60, 10);
  g_autoptr (GArray) hist = NULL;
  g_autofree char *line = NULL;
  KmgReputation rep;
  gint64 sid, empty, next = T0 / 1000;

  grant (fx, fx->buyer, 1000);
  sid = start_session (fx, b);
  empty = start_session (fx, b);
  deliver (fx, b, sid, &next, 20);
  g_assert_false (kmg_ratings_rate (fx->t->db, sid, fx->buyer, 5, fx->now, &error));
  g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_NOT_RATEABLE); /* still active */
  g_clear_error (&error);
  g_assert_true (kmg_billing_session_end (b, sid, "buyer_left", fx->now, &error));
  g_assert_true (kmg_billing_session_end (b, empty, "buyer_left", fx->now, &error));
  g_assert_false (kmg_ratings_rate (fx->t->db, empty, fx->buyer, 5, fx->now, &error));
  g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_NOT_RATEABLE); /* nothing billed */
  g_clear_error (&error);
  g_assert_false (kmg_ratings_rate (fx->t->db, sid, fx->other, 5, fx->now, &error));
  g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_FORBIDDEN);
  g_clear_error (&error);
  g_assert_false (kmg_ratings_rate (fx->t->db, sid, fx->buyer, 6, fx->now, &error));
  g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (kmg_ratings_rate (fx->t->db, sid, fx->buyer, 4, fx->now, &error));
  g_assert_no_error (error);
  g_assert_false (kmg_ratings_rate (fx->t->db, sid, fx->buyer, 5, fx->now, &error));
  g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_ALREADY_RATED);
  g_clear_error (&error);
  g_assert_true (kmg_ratings_seller_summary (fx->t->db, fx->seller, &rep, &error));
  g_assert_cmpuint (rep.count, ==, 1);
  g_assert_cmpfloat (rep.average, ==, 4.0);
  g_assert_cmpuint (rep.delivered_minutes, ==, 1);
  g_assert_cmpuint (rep.tier, ==, KMG_TIER_NEW);
  hist = kmg_ratings_history (fx->t->db, fx->seller, 0, 10, &error);
  g_assert_cmpuint (hist->len, ==, 1); /* the unbilled session is not history */
  line = kmg_history_row_format (&g_array_index (hist, KmgHistoryRow, 0));
  g_assert_cmpstr (line, ==, "streamed 1 min on 2023-11-14 — rated 4");
}

static void
test_wallet_paging (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgWalletPage) p1 = NULL;
  g_autoptr (KmgWalletPage) p2 = NULL;

  for (int i = 0; i < 5; i++)
    grant (fx, fx->buyer, 10 + i);
  grant (fx, fx->other, 7); /* not the buyer's */
  p1 = kmg_wallet_page (fx->t->db, fx->buyer, 0, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpint (p1->balance, ==, 60);
  g_assert_cmpuint (p1->entries->len, ==, 3);
  g_assert_cmpint (g_array_index (p1->entries, KmgWalletEntry, 0).amount, ==, 14);
  g_assert_cmpint (p1->next_before_id, >, 0);
  p2 = kmg_wallet_page (fx->t->db, fx->buyer, p1->next_before_id, 3, &error);
  g_assert_cmpuint (p2->entries->len, ==, 2);
  g_assert_cmpint (g_array_index (p2->entries, KmgWalletEntry, 1).amount, ==, 10);
  g_assert_cmpint (p2->next_before_id, ==, 0);
}

static void
test_export_csv (Fx *fx, gconstpointer data)
{
  g_autofree char *path = g_build_filename (fx->t->dir, "out.csv", NULL);
  g_autofree char *csv = NULL;
  g_auto (GStrv) lines = NULL;
  FILE *f;
  gint64 sid;

  make_history (fx);
  sid = billing_test_scalar (fx->t->db, "SELECT MAX (id) FROM watch_sessions");
  f = fopen (path, "w");
  g_assert_cmpint (kmg_ctl_export_session (fx->t->db, sid, f), ==, 0);
  fclose (f);
  g_assert_true (g_file_get_contents (path, &csv, NULL, NULL));
  lines = g_strsplit (csv, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 1 + 4 + 1); /* header, 4 minutes, trailing "" */
  g_assert_true (g_str_has_prefix (lines[1], "1,0,relay_measured,"));
  g_assert_true (g_str_has_suffix (lines[1], ",10"));
  f = fopen (path, "w");
  g_assert_cmpint (kmg_ctl_export_session (fx->t->db, 999, f), ==, 2);
  fclose (f);
  g_unlink (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add ("/billing/" path, Fx, NULL, fx_setup, fn, fx_teardown)
  ADD ("ledger/transfer-balances", test_transfer_balances);
  ADD ("ledger/idempotency", test_idempotency);
  ADD ("ledger/never-negative", test_never_negative);
  ADD ("ledger/idempotent-charge", test_idempotent_charge);
  ADD ("ledger/refund", test_refund);
  ADD ("ledger/grant-reason", test_grant_reason);
  ADD ("engine/flow-until-insufficient", test_engine_flow);
  ADD ("engine/batch-one-commit", test_batch_one_commit);
  ADD ("engine/end-charges-due", test_end_charges_due);
  ADD ("engine/recover", test_recover);
  ADD ("engine/active-gate", test_active_gate);
  ADD ("engine/relay-second", test_relay_second);
  ADD ("engine/buyer-reports", test_buyer_reports_engine);
  ADD ("engine/event-amounts", test_event_amounts);
  ADD ("engine/flush-error", test_flush_error);
  ADD ("audit/tamper-amount", test_tamper_amount);
  ADD ("audit/tamper-rehashed-and-deleted", test_tamper_rehashed);
  ADD ("audit/tamper-evidence", test_tamper_evidence);
  ADD ("audit/tamper-rewritten-chain-anchors", test_tamper_rewritten_chain_anchors);
  ADD ("ratings/rules", test_ratings);
  ADD ("wallet/paging", test_wallet_paging);
  ADD ("ctl/export-csv", test_export_csv);
#undef ADD
  return g_test_run ();
}
