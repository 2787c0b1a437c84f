/* test-billing-batch.c — one charge batch moving the same wallets many times: a buyer with several
 * sessions, a seller who is also a buyer, refusals and replays inside the batch, and the audit. */

#include "billing-test-util.h"
#include "kmg-audit.h"
#include "kmg-ledger.h"
#include "kmg-session-rows.h"

#define T0 G_GINT64_CONSTANT (1700000000000) /* fake clock origin, unix ms */
#define PRICE 10
#define FEE_PCT 20

typedef struct
{
  BillingTestDb *t;
  KmgLedger *ledger;
  gint64 a, b, c; /* users */
} Fx;

static void
fx_setup (Fx *fx, gconstpointer data)
{
  fx->t = billing_test_db_new ();
  fx->ledger = kmg_ledger_new (fx->t->db);
  fx->a = billing_test_add_user (fx->t->db, "a", PRICE);
  fx->b = billing_test_add_user (fx->t->db, "b", PRICE);
  fx->c = billing_test_add_user (fx->t->db, "c", PRICE);
  for (gint64 u = fx->a; u <= fx->c; u++)
    g_assert_true (kmg_ledger_ensure_account (fx->ledger, u, T0, NULL));
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
  gint64 v = -12345;

  g_assert_true (kmg_ledger_balance (fx->ledger, account, &v, NULL));
  return v;
}

static void
grant (Fx *fx, gint64 user, gint64 amount)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (kmg_ledger_grant (fx->ledger, user, amount, "test credit", 0, NULL, T0, NULL,
                                   &error));
  g_assert_no_error (error);
}

static gint64
session (Fx *fx, gint64 buyer, gint64 seller)
{
  g_autoptr (GError) error = NULL;
  KmgBillingRules rules;
  gint64 id;

  kmg_billing_rules_init (&rules);
  g_assert_cmpuint (rules.min_billable_s, ==, 10);
  g_assert_cmpuint (rules.minute_s, ==, 60);
  rules.fee_pct = FEE_PCT;
  id = kmg_session_rows_insert (fx->t->db, buyer, seller, PRICE, &rules, T0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

/* Evidence as the default rules make it: minute 0 due at 10 delivered seconds, minute k at
 * 60·k + 1, one delivered second per wall-clock second from the session's start. */
static KmgMinuteCharge
minute (gint64 sid, gint64 buyer, gint64 seller, guint index)
{
  KmgMinuteCharge c = { .session_id = sid, .buyer_id = buyer, .seller_id = seller,
                        .price = PRICE, .fee_pct = FEE_PCT, .low_balance_minutes = 2 };
  guint64 prev = index == 0 ? 0 : kmg_charge_threshold (10, 60, index - 1);
  guint64 total = kmg_charge_threshold (10, 60, index);
  gint64 start = T0 / 1000;

  c.evidence = (KmgMinuteEvidence){ .minute_index = index, .first_second = start + (gint64) prev,
                                    .last_second = start + (gint64) total - 1,
                                    .delivered_seconds = (guint) (total - prev),
                                    .total_seconds = total, .jitter_ms = -1, .rtt_ms = -1 };
  return c;
}

static void
assert_audit_ok (Fx *fx)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgAuditReport) r = kmg_audit_run (fx->t->db, &error);

  g_assert_no_error (error);
  if (!r->ok)
    {
      g_autofree char *text = kmg_audit_report_to_text (r);
      g_test_message ("%s", text);
    }
  g_assert_true (r->ok);
}

/* Buyer a has two sessions and 25 credits: of four minutes in one batch, exactly two are
 * charged, in batch order, and the balance never goes below zero. */
static void
test_shared_buyer (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gint64 s1 = session (fx, fx->a, fx->b), s2 = session (fx, fx->a, fx->c);
  KmgMinuteCharge batch[4];

  grant (fx, fx->a, 25);
  batch[0] = minute (s1, fx->a, fx->b, 0);
  batch[1] = minute (s2, fx->a, fx->c, 0);
  batch[2] = minute (s1, fx->a, fx->b, 1);
  batch[3] = minute (s2, fx->a, fx->c, 1);
  g_assert_true (kmg_ledger_charge_minutes (fx->ledger, batch, 4, T0 + 120000, &error));
  g_assert_no_error (error);
  g_assert_cmpint (batch[0].status, ==, KMG_CHARGE_OK);
  g_assert_cmpint (batch[0].balance_after, ==, 15);
  g_assert_true (batch[0].low_balance);
  g_assert_cmpint (batch[1].status, ==, KMG_CHARGE_OK);
  g_assert_cmpint (batch[1].balance_after, ==, 5);
  g_assert_cmpint (batch[2].status, ==, KMG_CHARGE_INSUFFICIENT);
  g_assert_cmpint (batch[2].balance_after, ==, 5);
  g_assert_cmpint (batch[3].status, ==, KMG_CHARGE_INSUFFICIENT);
  g_assert_cmpint (balance (fx, fx->a), ==, 5);
  g_assert_cmpint (balance (fx, fx->b), ==, PRICE - PRICE * FEE_PCT / 100);
  g_assert_cmpint (balance (fx, fx->c), ==, PRICE - PRICE * FEE_PCT / 100);
  g_assert_cmpint (balance (fx, KMG_ACCOUNT_PLATFORM), ==, 2 * (PRICE * FEE_PCT / 100));
  g_assert_cmpint (billing_test_scalar (fx->t->db, "SELECT COUNT (*) FROM measured_minutes"), ==, 2);
  assert_audit_ok (fx);
}

/* b earns as a seller earlier in the batch and spends it as a buyer later in the same batch;
 * a replayed minute in the middle changes nothing. */
static void
test_seller_then_buyer (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gint64 s1 = session (fx, fx->a, fx->b), s2 = session (fx, fx->b, fx->c);
  gint64 share = PRICE - PRICE * FEE_PCT / 100;
  KmgMinuteCharge first = minute (s1, fx->a, fx->b, 0), batch[4];

  grant (fx, fx->a, 100);
  grant (fx, fx->b, PRICE - share); /* b can pay a minute only after earning one share */
  g_assert_true (kmg_ledger_charge_minutes (fx->ledger, &first, 1, T0 + 60000, &error));
  g_assert_cmpint (first.status, ==, KMG_CHARGE_OK);
  batch[0] = minute (s1, fx->a, fx->b, 0); /* replay */
  batch[1] = minute (s2, fx->b, fx->c, 0); /* b has PRICE now */
  batch[2] = minute (s2, fx->b, fx->c, 1); /* b has 0 left */
  batch[3] = minute (s1, fx->a, fx->b, 1); /* b earns again, too late for batch[2] */
  g_assert_true (kmg_ledger_charge_minutes (fx->ledger, batch, 4, T0 + 120000, &error));
  g_assert_no_error (error);
  g_assert_cmpint (batch[0].status, ==, KMG_CHARGE_REPLAYED);
  g_assert_cmpint (batch[1].status, ==, KMG_CHARGE_OK);
  g_assert_cmpint (batch[1].balance_after, ==, 0);
  g_assert_cmpint (batch[2].status, ==, KMG_CHARGE_INSUFFICIENT);
  g_assert_cmpint (batch[3].status, ==, KMG_CHARGE_OK);
  g_assert_cmpint (batch[3].balance_after, ==, 100 - 2 * PRICE);
  g_assert_cmpint (balance (fx, fx->a), ==, 100 - 2 * PRICE);
  g_assert_cmpint (balance (fx, fx->b), ==, share);
  g_assert_cmpint (balance (fx, fx->c), ==, share);
  assert_audit_ok (fx);
}

/* A batch larger than a write chunk, with a replay of a minute charged in an earlier batch and a
 * duplicate of a minute charged (not yet written) earlier in the same batch. */
static void
test_many_rows (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  enum { N = 50 };
  gint64 sids[N];
  KmgMinuteCharge first, batch[N + 1];
  guint n = 0;
  gint64 before;

  grant (fx, fx->a, 1000);
  for (guint i = 0; i < N; i++)
    sids[i] = session (fx, fx->a, i % 2 ? fx->b : fx->c);
  first = minute (sids[0], fx->a, fx->c, 0);
  g_assert_true (kmg_ledger_charge_minutes (fx->ledger, &first, 1, T0 + 60000, &error));
  g_assert_cmpint (first.status, ==, KMG_CHARGE_OK);
  before = billing_test_scalar (fx->t->db, "SELECT COUNT (*) FROM transfers");
  for (guint i = 1; i < N; i++)
    {
      batch[n++] = minute (sids[i], fx->a, i % 2 ? fx->b : fx->c, 0);
      if (i == 3)
        batch[n++] = minute (sids[i], fx->a, fx->b, 0); /* duplicate of the previous item */
      if (i == 30)
        batch[n++] = first; /* replay */
    }
  g_assert_cmpuint (n, ==, N + 1);
  g_assert_true (kmg_ledger_charge_minutes (fx->ledger, batch, n, T0 + 120000, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    {
      gboolean repeat = i == 3 || i == 31;
      g_assert_cmpint (batch[i].status, ==, repeat ? KMG_CHARGE_REPLAYED : KMG_CHARGE_OK);
    }
  g_assert_cmpint (batch[n - 1].balance_after, ==, 1000 - N * PRICE);
  g_assert_cmpint (balance (fx, fx->a), ==, 1000 - N * PRICE);
  g_assert_cmpint (billing_test_scalar (fx->t->db, "SELECT COUNT (*) FROM transfers"), ==,
                   before + 2 * (N - 1));
  g_assert_cmpint (billing_test_scalar (fx->t->db, "SELECT COUNT (*) FROM measured_minutes"), ==,
                   N);
  g_assert_cmpint (billing_test_scalar (fx->t->db, "SELECT MAX (id) - COUNT (*) FROM transfers"),
                   ==, 0);
  assert_audit_ok (fx);
}

/* A batch that fails in the store writes nothing at all, balances included. */
static void
test_failed_batch_writes_nothing (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gint64 s1 = session (fx, fx->a, fx->b), s2 = session (fx, fx->a, fx->c);
  KmgMinuteCharge batch[2];
  gint64 transfers;
  g_autofree char *taken = NULL;

  grant (fx, fx->a, 100);
  transfers = billing_test_scalar (fx->t->db, "SELECT COUNT (*) FROM transfers");
  /* A row that takes the second minute's key makes its insert fail after the first charged. */
  taken = g_strdup_printf ("INSERT INTO measured_minutes (session_id, minute_index, source, "
                           "first_second, last_second, delivered_seconds, total_seconds, "
                           "created_at) VALUES (%" G_GINT64_FORMAT ", 0, 'relay_measured', 0, 0, "
                           "1, 1, 0)",
                           s2);
  g_assert_true (kmg_db_exec (fx->t->db, taken, NULL));
  batch[0] = minute (s1, fx->a, fx->b, 0);
  batch[1] = minute (s2, fx->a, fx->c, 0);
  g_assert_false (kmg_ledger_charge_minutes (fx->ledger, batch, 2, T0 + 60000, &error));
  g_assert_nonnull (error);
  g_assert_cmpint (balance (fx, fx->a), ==, 100);
  g_assert_cmpint (balance (fx, fx->b), ==, 0);
  g_assert_cmpint (balance (fx, KMG_ACCOUNT_PLATFORM), ==, 0);
  g_assert_cmpint (billing_test_scalar (fx->t->db, "SELECT COUNT (*) FROM transfers"), ==,
                   transfers);
  g_assert_cmpint (billing_test_scalar (
                     fx->t->db, "SELECT SUM (charged_minutes) FROM watch_sessions"), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add ("/billing/batch/" path, Fx, NULL, fx_setup, fn, fx_teardown)
  ADD ("shared-buyer", test_shared_buyer);
  ADD ("seller-then-buyer", test_seller_then_buyer);
  ADD ("many-rows", test_many_rows);
  ADD ("failed-batch-writes-nothing", test_failed_batch_writes_nothing);
  return g_test_run ();
}
