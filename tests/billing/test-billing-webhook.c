/* test-billing-webhook.c — top-up webhook: signature, timestamp skew, body rules, and that a
 * replayed or duplicated delivery credits exactly once. */

#include "billing-test-util.h"
#include "kmg-ledger.h"
#include "kmg-topup.h"

#include <string.h>

static const guint8 secret[] = "0123456789abcdef-operator-secret";
#define NOW_MS G_GINT64_CONSTANT (1700000000000)

static KmgTopupRequest *
verify (const char *ts, const char *sig, const char *body, gint64 now_ms, GError **error)
{
  return kmg_billing_topup_verify (secret, sizeof secret - 1, ts, sig, body, strlen (body), now_ms,
                                   KMG_TOPUP_DEFAULT_MAX_SKEW_S, error);
}

static void
test_valid (void)
{
  const char *body = "{\"payment_ref\":\"pay_123\",\"user_id\":7,\"amount\":500}";
  g_autofree char *sig = kmg_billing_topup_sign (secret, sizeof secret - 1, "1700000000", body,
                                                 strlen (body));
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgTopupRequest) req = verify ("1700000000", sig, body, NOW_MS + 10000, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (req->payment_ref, ==, "pay_123");
  g_assert_cmpint (req->user_id, ==, 7);
  g_assert_cmpint (req->amount, ==, 500);
  g_assert_true (g_str_has_prefix (sig, "v1="));
  g_assert_cmpuint (strlen (sig), ==, 67);
}

static void
test_bad_signature (void)
{
  const char *body = "{\"payment_ref\":\"pay_123\",\"user_id\":7,\"amount\":500}";
  const char *forged = "{\"payment_ref\":\"pay_123\",\"user_id\":7,\"amount\":50000}";
  g_autofree char *sig = kmg_billing_topup_sign (secret, sizeof secret - 1, "1700000000", body,
                                                 strlen (body));
  g_autofree char *flipped = g_strdup (sig);
  g_autoptr (GError) error = NULL;

  g_assert_null (verify ("1700000000", sig, forged, NOW_MS, &error));
  g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);
  flipped[10] = flipped[10] == 'a' ? 'b' : 'a';
  g_assert_null (verify ("1700000000", flipped, body, NOW_MS, &error));
  g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);
  g_assert_null (verify ("1700000000", NULL, body, NOW_MS, &error));
  g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);
  g_assert_null (verify ("1700000000", "v1=zz", body, NOW_MS, &error));
  g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);
  /* The timestamp is signed: moving it forward to dodge the skew check breaks the signature. */
  g_assert_null (verify ("1700000500", sig, body, NOW_MS + 500000, &error));
  g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_BAD_SIGNATURE);
}

static void
test_stale (void)
{
  const char *body = "{\"payment_ref\":\"pay_9\",\"user_id\":7,\"amount\":5}";
  g_autofree char *sig = kmg_billing_topup_sign (secret, sizeof secret - 1, "1700000000", body,
                                                 strlen (body));
  g_autoptr (GError) error = NULL;

  g_assert_null (verify ("1700000000", sig, body, NOW_MS + 301000, &error));
  g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_STALE);
  g_clear_error (&error);
  g_assert_null (verify ("1700000000", sig, body, NOW_MS - 301000, &error));
  g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_STALE);
  g_clear_error (&error);
  g_assert_null (verify ("17e8", sig, body, NOW_MS, &error));
  g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_STALE);
}

static void
test_bad_body (void)
{
  const char *bodies[] = {
    "{\"payment_ref\":\"p\",\"user_id\":7}",
    "{\"payment_ref\":\"p\",\"user_id\":7,\"amount\":0}",
    "{\"payment_ref\":\"p q\",\"user_id\":7,\"amount\":3}",
    "{\"payment_ref\":\"p\",\"user_id\":7,\"amount\":3,\"extra\":1}",
    "[1,2]",
    "not json",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autofree char *sig = kmg_billing_topup_sign (secret, sizeof secret - 1, "1700000000",
                                                     bodies[i], strlen (bodies[i]));
      g_autoptr (GError) error = NULL;
      g_assert_null (verify ("1700000000", sig, bodies[i], NOW_MS, &error));
      g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_INVALID);
    }
}

/* The same delivery arriving twice (a retry, or an attacker replaying it inside the skew window)
 * credits once; a different amount under the same reference is refused. */
static void
test_replay_credits_once (void)
{
  g_autoptr (BillingTestDb) t = billing_test_db_new ();
  g_autoptr (KmgLedger) ledger = kmg_ledger_new (t->db);
  gint64 user = billing_test_add_user (t->db, "payer", 0);
  g_autofree char *body = g_strdup_printf (
    "{\"payment_ref\":\"pay_abc\",\"user_id\":%" G_GINT64_FORMAT ",\"amount\":700}", user);
  g_autofree char *sig = kmg_billing_topup_sign (secret, sizeof secret - 1, "1700000000", body,
                                                 strlen (body));
  g_autoptr (GError) error = NULL;
  KmgTransferResult first = { 0 }, second = { 0 };
  gint64 bal = 0;

  for (int i = 0; i < 2; i++)
    {
      g_autoptr (KmgTopupRequest) req = verify ("1700000000", sig, body, NOW_MS + i * 1000, &error);
      g_assert_no_error (error);
      g_assert_true (kmg_ledger_topup (ledger, req->user_id, req->amount, req->payment_ref,
                                       NOW_MS + i * 1000, i == 0 ? &first : &second, &error));
      g_assert_no_error (error);
    }
  g_assert_false (first.replayed);
  g_assert_true (second.replayed);
  g_assert_cmpint (first.transfer_id, ==, second.transfer_id);
  g_assert_true (kmg_ledger_balance (ledger, user, &bal, &error));
  g_assert_cmpint (bal, ==, 700);
  g_assert_false (kmg_ledger_topup (ledger, user, 701, "pay_abc", NOW_MS, NULL, &error));
  g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_IDEMPOTENCY_CONFLICT);
  g_clear_error (&error);
  g_assert_false (kmg_ledger_topup (ledger, 4242, 5, "pay_x", NOW_MS, NULL, &error));
  g_assert_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_NOT_FOUND);
  g_assert_cmpint (billing_test_scalar (t->db, "SELECT COUNT (*) FROM topups"), ==, 1);
  g_assert_cmpint (billing_test_scalar (t->db, "SELECT COUNT (*) FROM transfers"), ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/billing/webhook/valid", test_valid);
  g_test_add_func ("/billing/webhook/bad-signature", test_bad_signature);
  g_test_add_func ("/billing/webhook/stale-timestamp", test_stale);
  g_test_add_func ("/billing/webhook/bad-body", test_bad_body);
  g_test_add_func ("/billing/webhook/replay-credits-once", test_replay_credits_once);
  return g_test_run ();
}
