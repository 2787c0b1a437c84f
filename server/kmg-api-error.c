/* kmg-api-error.c — the one table mapping module errors to HTTP statuses and API error codes.
 * Each module adds its rows here; nothing else in the server invents a status for a GError. */

#include "kmg-api-error.h"

#include "kmg-accounts-error.h"
#include "kmg-admin.h"
#include "kmg-billing-types.h"
#include "kmg-db.h"
#include "kmg-json.h"

typedef struct
{
  GQuark (*domain) (void);
  int code;
  guint status;
  const char *api_code;
} Row;

static const Row rows[] = {
  { kmg_json_error_quark, KMG_JSON_ERROR_SYNTAX, 400, "bad_json" },
  { kmg_json_error_quark, KMG_JSON_ERROR_NOT_OBJECT, 400, "bad_json" },
  { kmg_json_error_quark, KMG_JSON_ERROR_UNKNOWN_FIELD, 400, "unknown_field" },
  { kmg_json_error_quark, KMG_JSON_ERROR_MISSING, 400, "missing_field" },
  { kmg_json_error_quark, KMG_JSON_ERROR_TYPE, 400, "bad_type" },
  { kmg_json_error_quark, KMG_JSON_ERROR_RANGE, 400, "out_of_range" },
  { kmg_db_error_quark, KMG_DB_ERROR_CONSTRAINT, 409, "conflict" },
  { kmg_db_error_quark, KMG_DB_ERROR_BUSY, 503, "busy" },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_INVALID_USERNAME, 400, "invalid_username" },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_INVALID_PASSWORD, 400, "invalid_password" },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_USERNAME_TAKEN, 409, "username_taken" },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_INVALID_CREDENTIALS, 401, "invalid_credentials" },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_RATE_LIMITED, 429, "rate_limited" },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_BANNED, 403, "banned" },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_NOT_FOUND, 404, "not_found" },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_INVALID_VALUE, 400, "invalid_value" },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_CONSENT_REQUIRED, 400, "consent_required" },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_BAD_PICTURE, 415, "bad_picture" },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_PICTURE_TOO_LARGE, 413, "body_too_large" },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_BUSY, 503, "busy" },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_UNAUTHORIZED, 401, "unauthorized" },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_CLOSED, 503, "unavailable" },
  { kmg_admin_error_quark, KMG_ADMIN_ERROR_REASON_REQUIRED, 400, "reason_required" },
  { kmg_admin_error_quark, KMG_ADMIN_ERROR_NOT_FOUND, 404, "not_found" },
  { kmg_admin_error_quark, KMG_ADMIN_ERROR_INVALID, 400, "invalid_value" },
  { kmg_admin_error_quark, KMG_ADMIN_ERROR_CONSENT_REQUIRED, 409, "consent_required" },
  { kmg_billing_error_quark, KMG_BILLING_ERROR_INVALID, 400, "invalid_value" },
  { kmg_billing_error_quark, KMG_BILLING_ERROR_INSUFFICIENT_CREDITS, 402, "insufficient_credits" },
  { kmg_billing_error_quark, KMG_BILLING_ERROR_IDEMPOTENCY_CONFLICT, 409, "idempotency_conflict" },
  { kmg_billing_error_quark, KMG_BILLING_ERROR_NOT_FOUND, 404, "not_found" },
  { kmg_billing_error_quark, KMG_BILLING_ERROR_FORBIDDEN, 403, "forbidden" },
  { kmg_billing_error_quark, KMG_BILLING_ERROR_BAD_SIGNATURE, 401, "bad_signature" },
  { kmg_billing_error_quark, KMG_BILLING_ERROR_STALE, 401, "stale_timestamp" },
  { kmg_billing_error_quark, KMG_BILLING_ERROR_NOT_RATEABLE, 409, "not_rateable" },
  { kmg_billing_error_quark, KMG_BILLING_ERROR_ALREADY_RATED, 409, "already_rated" },
  { kmg_billing_error_quark, KMG_BILLING_ERROR_SESSION_ENDED, 409, "session_ended" },
};

gboolean
kmg_api_error_map (const GError *error, guint *status, const char **code)
{
  for (guint i = 0; error != NULL && i < G_N_ELEMENTS (rows); i++)
    if (error->domain == rows[i].domain () && error->code == rows[i].code)
      {
        *status = rows[i].status;
        *code = rows[i].api_code;
        return TRUE;
      }
  return FALSE;
}
