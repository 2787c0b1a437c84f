/* kmg-token.h — bearer tokens: 32 random bytes shown once as base64url, stored only as SHA-256.
 * No storage here; the database keeps the hash, the client keeps the text. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define KMG_TOKEN_BYTES 32
#define KMG_TOKEN_TEXT_LEN 43 /* base64url of 32 bytes, no padding */
#define KMG_TOKEN_HASH_BYTES 32

/* Returns a new token text and writes the SHA-256 of its raw bytes to @hash. */
char *kmg_token_generate (guint8 hash[KMG_TOKEN_HASH_BYTES]);

/* Decodes @text (exactly 43 base64url characters) and writes the SHA-256 of the raw bytes.
 * FALSE for anything else: such a token cannot exist, so no database lookup is needed. */
gboolean kmg_token_hash (const char *text, guint8 hash[KMG_TOKEN_HASH_BYTES]);

G_END_DECLS
