/* fuzz-topup.c — the top-up webhook: the input as a body signed with the right secret (so the
 * JSON body decoder is reached), then as raw "timestamp\nsignature\nbody" headers and body. */

#include "kmg-topup.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const unsigned char *data, size_t size);

static const guint8 secret[] = "fuzzing-webhook-secret-0123456789";
#define NOW_MS G_GINT64_CONSTANT (1700000000000)

static void
check_request (KmgTopupRequest *req, GError *error)
{
  if (req == NULL)
    {
      g_assert_nonnull (error);
      g_assert_true (error->domain == KMG_BILLING_ERROR);
      return;
    }
  g_assert_null (error);
  g_assert_cmpint (req->user_id, >=, 1);
  g_assert_cmpint (req->amount, >=, 1);
  g_assert_cmpint (req->amount, <=, KMG_TOPUP_MAX_AMOUNT);
  gsize n = strlen (req->payment_ref);
  g_assert_cmpuint (n, >=, 1);
  g_assert_cmpuint (n, <=, KMG_TOPUP_MAX_REF);
  for (const char *p = req->payment_ref; *p; p++)
    g_assert_true (g_ascii_isalnum (*p) || strchr ("._:-", *p) != NULL);
}

static void
signed_body (const char *body, gsize len)
{
  g_autoptr (GError) error = NULL;
  const char *ts = "1700000000";
  g_autofree char *sig = kmg_billing_topup_sign (secret, sizeof secret - 1, ts, body, len);
  g_autoptr (KmgTopupRequest) req = kmg_billing_topup_verify (secret, sizeof secret - 1, ts, sig, body, len,
                                                              NOW_MS, KMG_TOPUP_DEFAULT_MAX_SKEW_S, &error);

  check_request (req, error);
  if (len > KMG_TOPUP_MAX_BODY)
    g_assert_null (req);

  /* One bit off in the signature, and nothing is accepted. */
  g_autoptr (GError) bad_error = NULL;
  sig[3] = sig[3] == '0' ? '1' : '0';
  g_autoptr (KmgTopupRequest) bad = kmg_billing_topup_verify (secret, sizeof secret - 1, ts, sig, body, len,
                                                              NOW_MS, KMG_TOPUP_DEFAULT_MAX_SKEW_S, &bad_error);
  g_assert_null (bad);
  g_assert_nonnull (bad_error);
}

static void
raw_request (const char *data, gsize size)
{
  const char *nl1 = memchr (data, '\n', size);
  const char *nl2 = nl1 != NULL ? memchr (nl1 + 1, '\n', size - (gsize) (nl1 + 1 - data)) : NULL;
  g_autoptr (GError) error = NULL;

  if (nl2 == NULL)
    return;
  g_autofree char *ts = g_strndup (data, (gsize) (nl1 - data));
  g_autofree char *sig = g_strndup (nl1 + 1, (gsize) (nl2 - nl1 - 1));
  const char *body = nl2 + 1;
  gsize body_len = size - (gsize) (body - data);
  g_autoptr (KmgTopupRequest) req = kmg_billing_topup_verify (secret, sizeof secret - 1, ts, sig, body, body_len,
                                                              NOW_MS, KMG_TOPUP_DEFAULT_MAX_SKEW_S, &error);

  check_request (req, error);
  if (req != NULL)
    {
      /* Accepted: the headers were what the operator would have sent (hex digits in either case). */
      g_autofree char *want = kmg_billing_topup_sign (secret, sizeof secret - 1, ts, body, body_len);
      g_assert_cmpint (g_ascii_strcasecmp (sig, want), ==, 0);
    }
}

int
LLVMFuzzerTestOneInput (const unsigned char *data, size_t size)
{
  if (size > 2 * KMG_TOPUP_MAX_BODY)
    return 0;
  signed_body ((const char *) data, size);
  raw_request ((const char *) data, size);
  return 0;
}
