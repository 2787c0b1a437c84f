/* kmg-accounts-error.h — the accounts error domain.
 * Every failure of this module is one of these codes; server/kmg-api-error.c maps them to HTTP. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define KMG_ACCOUNTS_ERROR (kmg_accounts_error_quark ())
GQuark kmg_accounts_error_quark (void);

typedef enum
{
  KMG_ACCOUNTS_ERROR_INVALID_USERNAME,    /* 400 */
  KMG_ACCOUNTS_ERROR_INVALID_PASSWORD,    /* 400 */
  KMG_ACCOUNTS_ERROR_USERNAME_TAKEN,      /* 409 */
  KMG_ACCOUNTS_ERROR_INVALID_CREDENTIALS, /* 401: wrong username or password, one code for both */
  KMG_ACCOUNTS_ERROR_RATE_LIMITED,        /* 429 */
  KMG_ACCOUNTS_ERROR_BANNED,              /* 403 */
  KMG_ACCOUNTS_ERROR_NOT_FOUND,           /* 404 */
  KMG_ACCOUNTS_ERROR_INVALID_VALUE,       /* 400: a profile field breaks a rule */
  KMG_ACCOUNTS_ERROR_CONSENT_REQUIRED,    /* 400: is_seller without location_consent */
  KMG_ACCOUNTS_ERROR_BAD_PICTURE,         /* 415: not a PNG/JPEG/WebP we can recognise */
  KMG_ACCOUNTS_ERROR_PICTURE_TOO_LARGE,   /* 413 */
  KMG_ACCOUNTS_ERROR_BUSY,                /* 503: too many password hashes queued */
  KMG_ACCOUNTS_ERROR_UNAUTHORIZED,        /* 401: token unknown, expired or revoked */
  KMG_ACCOUNTS_ERROR_CLOSED,              /* 503: the accounts service is shutting down */
} KmgAccountsError;

G_END_DECLS
