/* kmg-accounts-rules.h — pure rules for usernames, passwords and profile text (no I/O).
 * These are the documented promises clients can check before sending a request. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define KMG_USERNAME_MIN 3
#define KMG_USERNAME_MAX 32
#define KMG_PASSWORD_MIN 10  /* bytes */
#define KMG_PASSWORD_MAX 256 /* bytes; argon2id input, bounded so a request cannot make hashing slow */
#define KMG_DISPLAY_NAME_MAX 64      /* characters */
#define KMG_SELLER_DESCRIPTION_MAX 1000 /* characters */
#define KMG_PRICE_MIN 1
#define KMG_PRICE_MAX 10000

/* A username is 3..32 ASCII letters, digits, '_', '.', '-', starting with a letter, and not reserved.
 * Fails with KMG_ACCOUNTS_ERROR_INVALID_USERNAME saying which rule was broken. */
gboolean kmg_username_check (const char *username, GError **error);

/* The same without the reserved-name rule (staff accounts created by an operator may use those). */
gboolean kmg_username_check_format (const char *username, GError **error);

/* The case-insensitive uniqueness key: ASCII lowercase. Only meaningful for a valid username. */
char *kmg_username_key (const char *username);

/* TRUE when the lowercased name is reserved for the platform (admin, root, support, ...). */
gboolean kmg_username_is_reserved (const char *username);

/* 10..256 bytes, no NUL. Fails with KMG_ACCOUNTS_ERROR_INVALID_PASSWORD. */
gboolean kmg_password_check (const char *password, gsize len, GError **error);

/* Free text shown to others: valid UTF-8, at most @max_chars characters, no control characters
 * (newlines and tabs are allowed when @multiline). Fails with KMG_ACCOUNTS_ERROR_INVALID_VALUE. */
gboolean kmg_text_check (const char *field, const char *text, gsize max_chars, gboolean multiline,
                         GError **error);

G_END_DECLS
