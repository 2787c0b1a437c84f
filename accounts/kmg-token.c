/* kmg-token.c — bearer tokens: generation, base64url text form, SHA-256 for storage.
 * A stolen database therefore yields no usable token: the hash cannot be presented as one. */

#include "kmg-token.h"

#include <sodium.h>
#include <string.h>

char *
kmg_token_generate (guint8 hash[KMG_TOKEN_HASH_BYTES])
{
  guint8 raw[KMG_TOKEN_BYTES];
  char text[sodium_base64_ENCODED_LEN (KMG_TOKEN_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];

  randombytes_buf (raw, sizeof raw);
  sodium_bin2base64 (text, sizeof text, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  crypto_hash_sha256 (hash, raw, sizeof raw);
  sodium_memzero (raw, sizeof raw);
  return g_strdup (text);
}

gboolean
kmg_token_hash (const char *text, guint8 hash[KMG_TOKEN_HASH_BYTES])
{
  guint8 raw[KMG_TOKEN_BYTES];
  size_t raw_len = 0;
  const char *end = NULL;

  if (text == NULL || strlen (text) != KMG_TOKEN_TEXT_LEN)
    return FALSE;
  if (sodium_base642bin (raw, sizeof raw, text, KMG_TOKEN_TEXT_LEN, NULL, &raw_len, &end,
                         sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0
      || raw_len != KMG_TOKEN_BYTES || end != text + KMG_TOKEN_TEXT_LEN)
    return FALSE;
  crypto_hash_sha256 (hash, raw, sizeof raw);
  sodium_memzero (raw, sizeof raw);
  return TRUE;
}
