/* kmg-canon.c — canonical transfer text and the hash chain step (pure, libsodium SHA-256).
 * Changing a byte here changes every hash: the format is versioned by its first line. */

#include "kmg-canon.h"

#include <sodium.h>
#include <string.h>

static void
append_escaped (GString *out, const char *s)
{
  /* Only the three characters that could forge a line break or an escape are escaped. */
  for (const char *p = s ? s : ""; *p; p++)
    {
      if (*p == '\\')
        g_string_append (out, "\\\\");
      else if (*p == '\n')
        g_string_append (out, "\\n");
      else if (*p == '\r')
        g_string_append (out, "\\r");
      else
        g_string_append_c (out, *p);
    }
}

void
kmg_transfer_canonical (const KmgTransferRow *r, GString *out)
{
  g_string_truncate (out, 0);
  g_string_append_printf (out,
                          "kamegor-transfer-v1\n"
                          "id=%" G_GINT64_FORMAT "\n"
                          "debit=%" G_GINT64_FORMAT "\n"
                          "credit=%" G_GINT64_FORMAT "\n"
                          "amount=%" G_GINT64_FORMAT "\n"
                          "kind=%s\n"
                          "key=",
                          r->id, r->debit_account, r->credit_account, r->amount,
                          kmg_transfer_kind_to_string (r->kind));
  append_escaped (out, r->idempotency_key);
  g_string_append (out, "\nsession=");
  if (r->session_id > 0)
    g_string_append_printf (out, "%" G_GINT64_FORMAT, r->session_id);
  g_string_append (out, "\nminute=");
  if (r->minute_index >= 0)
    g_string_append_printf (out, "%" G_GINT64_FORMAT, r->minute_index);
  g_string_append_printf (out, "\ncreated_at=%" G_GINT64_FORMAT "\nmemo=", r->created_at);
  append_escaped (out, r->memo);
  g_string_append_c (out, '\n');
}

void
kmg_transfer_hash (const char *prev_hash, const char *content, gsize content_len,
                   char out[KMG_HASH_HEX_LEN + 1])
{
  crypto_hash_sha256_state st;
  unsigned char digest[crypto_hash_sha256_BYTES];

  crypto_hash_sha256_init (&st);
  crypto_hash_sha256_update (&st, (const unsigned char *) prev_hash, strlen (prev_hash));
  crypto_hash_sha256_update (&st, (const unsigned char *) content, content_len);
  crypto_hash_sha256_final (&st, digest);
  sodium_bin2hex (out, KMG_HASH_HEX_LEN + 1, digest, sizeof digest);
}
