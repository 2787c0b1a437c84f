/* kmg-api-error.c — the one table mapping module errors to API error codes, for HTTP routes and for
 * the WebSocket hub. Each module adds its rows here; nothing else invents a code for a GError. */

#include "kmg-api-error.h"

#include "kmg-accounts-error.h"
#include "kmg-admin.h"
#include "kmg-billing-types.h"
#include "kmg-db.h"
#include "kmg-json.h"
#include "kmg-map.h"
#include "kmg-session-types.h"
#include "kmg-signaling.h"

typedef KmgApiErrorRow Row;

/* The WebSocket protocol has one code, bad_request, for every malformed or refused request field
 * (docs/protocol.md), where HTTP names the kind of mistake. Rows without a WebSocket code are
 * "internal" there, and rows without an HTTP code are 500 internal_error. */
static const Row rows[] = {
  { kmg_json_error_quark, KMG_JSON_ERROR_SYNTAX, 400, "bad_json", "bad_request" },
  { kmg_json_error_quark, KMG_JSON_ERROR_NOT_OBJECT, 400, "bad_json", "bad_request" },
  { kmg_json_error_quark, KMG_JSON_ERROR_UNKNOWN_FIELD, 400, "unknown_field", "bad_request" },
  { kmg_json_error_quark, KMG_JSON_ERROR_MISSING, 400, "missing_field", "bad_request" },
  { kmg_json_error_quark, KMG_JSON_ERROR_TYPE, 400, "bad_type", "bad_request" },
  { kmg_json_error_quark, KMG_JSON_ERROR_RANGE, 400, "out_of_range", "bad_request" },
  /* Viewports the map refuses (GET /api/v1/map, map.subscribe). The zoom keeps the code the
   * generic range check would give it. */
  { kmg_map_error_quark, KMG_MAP_ERROR_INVALID_ZOOM, 400, "out_of_range", "bad_request" },
  { kmg_map_error_quark, KMG_MAP_ERROR_INVALID_COORDINATE, 400, "bad_viewport", "bad_request" },
  { kmg_map_error_quark, KMG_MAP_ERROR_INVALID_BBOX, 400, "bad_viewport", "bad_request" },
  { kmg_map_error_quark, KMG_MAP_ERROR_BBOX_TOO_LARGE, 400, "bad_viewport", "bad_request" },
  /* The hub's own errors, for WebSocket handlers. */
  { kmg_signaling_error_quark, KMG_SIGNALING_ERROR_BAD_REQUEST, 0, NULL, "bad_request" },
  { kmg_signaling_error_quark, KMG_SIGNALING_ERROR_FORBIDDEN, 0, NULL, "forbidden" },
  { kmg_signaling_error_quark, KMG_SIGNALING_ERROR_NOT_FOUND, 0, NULL, "not_found" },
  { kmg_signaling_error_quark, KMG_SIGNALING_ERROR_CONFLICT, 0, NULL, "conflict" },
  { kmg_signaling_error_quark, KMG_SIGNALING_ERROR_INTERNAL, 0, NULL, "internal" },
  /* Watch-session refusals (WebSocket only: sessions are driven over the hub). */
  { kmg_session_error_quark, KMG_SESSION_ERROR_NOT_STREAMING, 0, NULL, "not_streaming" },
  { kmg_session_error_quark, KMG_SESSION_ERROR_NOT_SELLER, 0, NULL, "not_seller" },
  { kmg_session_error_quark, KMG_SESSION_ERROR_SELF, 0, NULL, "self" },
  { kmg_session_error_quark, KMG_SESSION_ERROR_BANNED, 0, NULL, "banned" },
  { kmg_session_error_quark, KMG_SESSION_ERROR_INSUFFICIENT_CREDITS, 0, NULL, "insufficient_credits" },
  { kmg_session_error_quark, KMG_SESSION_ERROR_ALREADY_WATCHING, 0, NULL, "already_watching" },
  { kmg_session_error_quark, KMG_SESSION_ERROR_SELLER_BUSY, 0, NULL, "seller_busy" },
  { kmg_session_error_quark, KMG_SESSION_ERROR_NOT_FOUND, 0, NULL, "not_found" },
  { kmg_session_error_quark, KMG_SESSION_ERROR_NOT_PARTICIPANT, 0, NULL, "not_participant" },
  { kmg_session_error_quark, KMG_SESSION_ERROR_FORBIDDEN, 0, NULL, "forbidden" },
  { kmg_session_error_quark, KMG_SESSION_ERROR_SESSION_ENDED, 0, NULL, "session_ended" },
  { kmg_session_error_quark, KMG_SESSION_ERROR_BAD_STATE, 0, NULL, "bad_state" },
  { kmg_session_error_quark, KMG_SESSION_ERROR_STALE_PATH, 0, NULL, "stale_path" },
  { kmg_session_error_quark, KMG_SESSION_ERROR_INVALID, 0, NULL, "bad_request" },
  { kmg_session_error_quark, KMG_SESSION_ERROR_DENIED_ADDRESS, 0, NULL, "denied_address" },
  { kmg_session_error_quark, KMG_SESSION_ERROR_TOO_LARGE, 0, NULL, "too_large" },
  { kmg_session_error_quark, KMG_SESSION_ERROR_RELAY_UNAVAILABLE, 0, NULL, "relay_unavailable" },
  { kmg_db_error_quark, KMG_DB_ERROR_CONSTRAINT, 409, "conflict", NULL },
  { kmg_db_error_quark, KMG_DB_ERROR_BUSY, 503, "busy", NULL },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_INVALID_USERNAME, 400, "invalid_username", NULL },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_INVALID_PASSWORD, 400, "invalid_password", NULL },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_USERNAME_TAKEN, 409, "username_taken", NULL },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_INVALID_CREDENTIALS, 401, "invalid_credentials", NULL },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_RATE_LIMITED, 429, "rate_limited", NULL },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_BANNED, 403, "banned", NULL },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_NOT_FOUND, 404, "not_found", NULL },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_INVALID_VALUE, 400, "invalid_value", NULL },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_CONSENT_REQUIRED, 400, "consent_required", NULL },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_BAD_PICTURE, 415, "bad_picture", NULL },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_PICTURE_TOO_LARGE, 413, "body_too_large", NULL },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_BUSY, 503, "busy", NULL },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_UNAUTHORIZED, 401, "unauthorized", NULL },
  { kmg_accounts_error_quark, KMG_ACCOUNTS_ERROR_CLOSED, 503, "unavailable", NULL },
  { kmg_admin_error_quark, KMG_ADMIN_ERROR_REASON_REQUIRED, 400, "reason_required", NULL },
  { kmg_admin_error_quark, KMG_ADMIN_ERROR_NOT_FOUND, 404, "not_found", NULL },
  { kmg_admin_error_quark, KMG_ADMIN_ERROR_INVALID, 400, "invalid_value", NULL },
  { kmg_admin_error_quark, KMG_ADMIN_ERROR_CONSENT_REQUIRED, 409, "consent_required", NULL },
  { kmg_billing_error_quark, KMG_BILLING_ERROR_INVALID, 400, "invalid_value", NULL },
  { kmg_billing_error_quark, KMG_BILLING_ERROR_INSUFFICIENT_CREDITS, 402, "insufficient_credits", NULL },
  { kmg_billing_error_quark, KMG_BILLING_ERROR_IDEMPOTENCY_CONFLICT, 409, "idempotency_conflict", NULL },
  { kmg_billing_error_quark, KMG_BILLING_ERROR_NOT_FOUND, 404, "not_found", NULL },
  { kmg_billing_error_quark, KMG_BILLING_ERROR_FORBIDDEN, 403, "forbidden", NULL },
  { kmg_billing_error_quark, KMG_BILLING_ERROR_BAD_SIGNATURE, 401, "bad_signature", NULL },
  { kmg_billing_error_quark, KMG_BILLING_ERROR_STALE, 401, "stale_timestamp", NULL },
  { kmg_billing_error_quark, KMG_BILLING_ERROR_NOT_RATEABLE, 409, "not_rateable", NULL },
  { kmg_billing_error_quark, KMG_BILLING_ERROR_ALREADY_RATED, 409, "already_rated", NULL },
  { kmg_billing_error_quark, KMG_BILLING_ERROR_SESSION_ENDED, 409, "session_ended", NULL },
};

static const Row *
lookup (const GError *error)
{
  for (guint i = 0; error != NULL && i < G_N_ELEMENTS (rows); i++)
    if (error->domain == rows[i].domain () && error->code == rows[i].code)
      return &rows[i];
  return NULL;
}

gboolean
kmg_api_error_map (const GError *error, guint *status, const char **code)
{
  const Row *row = lookup (error);

  if (row == NULL || row->api_code == NULL)
    return FALSE;
  *status = row->status;
  *code = row->api_code;
  return TRUE;
}

const char *
kmg_api_error_ws_code (const GError *error)
{
  const Row *row = lookup (error);

  return row != NULL ? row->ws_code : NULL;
}

const KmgApiErrorRow *
kmg_api_error_rows (guint *n_rows)
{
  *n_rows = G_N_ELEMENTS (rows);
  return rows;
}
