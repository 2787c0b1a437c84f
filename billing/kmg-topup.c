/* kmg-topup.c — top-up webhook: HMAC-SHA256 over "timestamp.body", skew check, strict body.
 * Pure: the caller supplies the secret, the clock and the raw request. */

#include "kmg-topup.h"

#include "kmg-json.h"

#include <sodium.h>
#include <string.h>

void
kmg_topup_request_free (KmgTopupRequest *req)
{
  if (req == NULL)
    return;
  g_free (req->payment_ref);
  g_free (req);
}

static void
compute_mac (const guint8 *secret, gsize secret_len, const char *timestamp, const char *body,
             gsize body_len, unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
  crypto_auth_hmacsha256_state st;

  crypto_auth_hmacsha256_init (&st, secret, secret_len);
  crypto_auth_hmacsha256_update (&st, (const unsigned char *) timestamp, strlen (timestamp));
  crypto_auth_hmacsha256_update (&st, (const unsigned char *) ".", 1);
  crypto_auth_hmacsha256_update (&st, (const unsigned char *) body, body_len);
  crypto_auth_hmacsha256_final (&st, mac);
  sodium_memzero (&st, sizeof st);
}

char *
kmg_billing_topup_sign (const guint8 *secret, gsize secret_len, const char *timestamp,
                        const char *body, gsize body_len)
{
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  char hex[2 * crypto_auth_hmacsha256_BYTES + 1];

  compute_mac (secret, secret_len, timestamp, body, body_len, mac);
  sodium_bin2hex (hex, sizeof hex, mac, sizeof mac);
  return g_strconcat ("v1=", hex, NULL);
}

static gboolean
parse_timestamp (const char *s, gint64 *out)
{
  guint64 v = 0;

  if (s == NULL || *s == '\0' || strlen (s) > 12)
    return FALSE;
  for (const char *p = s; *p; p++)
    {
      if (!g_ascii_isdigit (*p))
        return FALSE;
      v = v * 10 + (guint64) (*p - '0');
    }
  *out = (gint64) v;
  return TRUE;
}

static gboolean
check_signature (const guint8 *secret, gsize secret_len, const char *timestamp,
                 const char *signature, const char *body, gsize body_len, GError **error)
{
  unsigned char want[crypto_auth_hmacsha256_BYTES];
  unsigned char got[crypto_auth_hmacsha256_BYTES];
  size_t got_len = 0;

  if (secret == NULL || secret_len < 16)
    {
      g_set_error_literal (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_BAD_SIGNATURE,
                           "top-up webhook secret not configured (16 bytes minimum)");
      return FALSE;
    }
  if (signature == NULL || !g_str_has_prefix (signature, "v1=")
      || strlen (signature) != 3 + 2 * sizeof got
      || sodium_hex2bin (got, sizeof got, signature + 3, 2 * sizeof got, NULL, &got_len, NULL) != 0
      || got_len != sizeof got)
    {
      g_set_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_BAD_SIGNATURE,
                   "missing or malformed %s header", KMG_TOPUP_HEADER_SIGNATURE);
      return FALSE;
    }
  compute_mac (secret, secret_len, timestamp, body, body_len, want);
  if (sodium_memcmp (want, got, sizeof want) != 0)
    {
      g_set_error_literal (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_BAD_SIGNATURE,
                           "top-up signature does not match");
      return FALSE;
    }
  return TRUE;
}

static gboolean
ref_valid (const char *ref)
{
  gsize n = strlen (ref);

  if (n == 0 || n > KMG_TOPUP_MAX_REF)
    return FALSE;
  for (const char *p = ref; *p; p++)
    if (!g_ascii_isalnum (*p) && strchr ("._:-", *p) == NULL)
      return FALSE;
  return TRUE;
}

static KmgTopupRequest *
decode_body (const char *body, gsize body_len, GError **error)
{
  static const char *const allowed[] = { "payment_ref", "user_id", "amount", NULL };
  g_autoptr (JsonObject) obj = NULL;
  g_autoptr (KmgTopupRequest) req = g_new0 (KmgTopupRequest, 1);
  const char *ref = NULL;
  g_autoptr (GError) local = NULL;

  obj = kmg_json_parse_object (body, body_len, &local);
  if (obj == NULL || !kmg_json_check_fields (obj, allowed, &local)
      || !kmg_json_get_string (obj, "payment_ref", TRUE, KMG_TOPUP_MAX_REF, &ref, &local)
      || !kmg_json_get_int (obj, "user_id", TRUE, 1, G_MAXINT64, &req->user_id, &local)
      || !kmg_json_get_int (obj, "amount", TRUE, 1, KMG_TOPUP_MAX_AMOUNT, &req->amount, &local))
    {
      g_set_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_INVALID, "top-up body: %s",
                   local->message);
      return NULL;
    }
  if (!ref_valid (ref))
    {
      g_set_error_literal (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_INVALID,
                           "top-up body: payment_ref must be 1..128 of [A-Za-z0-9._:-]");
      return NULL;
    }
  req->payment_ref = g_strdup (ref);
  return g_steal_pointer (&req);
}

KmgTopupRequest *
kmg_billing_topup_verify (const guint8 *secret, gsize secret_len, const char *timestamp_header,
                          const char *signature_header, const char *body, gsize body_len,
                          gint64 now_ms, guint max_skew_s, GError **error)
{
  gint64 ts = 0;
  gint64 skew;

  if (body == NULL || body_len > KMG_TOPUP_MAX_BODY)
    {
      g_set_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_INVALID,
                   "top-up body missing or larger than %d bytes", KMG_TOPUP_MAX_BODY);
      return NULL;
    }
  if (!parse_timestamp (timestamp_header, &ts))
    {
      g_set_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_STALE,
                   "missing or malformed %s header", KMG_TOPUP_HEADER_TIMESTAMP);
      return NULL;
    }
  /* The signature covers the timestamp, so checking it first means the skew test below is on
   * a value the operator really sent. */
  if (!check_signature (secret, secret_len, timestamp_header, signature_header, body, body_len,
                        error))
    return NULL;
  skew = now_ms / 1000 - ts;
  if (skew > (gint64) max_skew_s || -skew > (gint64) max_skew_s)
    {
      g_set_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_STALE,
                   "top-up timestamp is %" G_GINT64_FORMAT " s away from now (max %u)", skew,
                   max_skew_s);
      return NULL;
    }
  return decode_body (body, body_len, error);
}
