/* kmg-topup.h — verification of the operator-signed top-up webhook (pure, no I/O).
 * The HTTP route passes the raw headers and body here, then calls kmg_ledger_topup(). */
#pragma once

#include "kmg-billing-types.h"

G_BEGIN_DECLS

#define KMG_TOPUP_HEADER_TIMESTAMP "X-Kamegor-Timestamp"
#define KMG_TOPUP_HEADER_SIGNATURE "X-Kamegor-Signature"
#define KMG_TOPUP_DEFAULT_MAX_SKEW_S 300
#define KMG_TOPUP_MAX_BODY 4096
#define KMG_TOPUP_MAX_AMOUNT G_GINT64_CONSTANT (100000000)
#define KMG_TOPUP_MAX_REF 128

typedef struct
{
  char *payment_ref;
  gint64 user_id;
  gint64 amount;
} KmgTopupRequest;

void kmg_topup_request_free (KmgTopupRequest *req);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgTopupRequest, kmg_topup_request_free)

/* Checks the signature "v1=<hex HMAC-SHA256(secret, timestamp '.' body)>" in constant time, the
 * timestamp against @now_ms ± @max_skew_s, then decodes the body. Errors: BAD_SIGNATURE, STALE,
 * INVALID. Idempotency (one credit per payment_ref) is the ledger's job. */
KmgTopupRequest *kmg_billing_topup_verify (const guint8 *secret, gsize secret_len,
                                           const char *timestamp_header,
                                           const char *signature_header, const char *body,
                                           gsize body_len, gint64 now_ms, guint max_skew_s,
                                           GError **error);

/* The signature header value an operator sends (used by tests and operator tooling). */
char *kmg_billing_topup_sign (const guint8 *secret, gsize secret_len, const char *timestamp,
                              const char *body, gsize body_len);

G_END_DECLS
