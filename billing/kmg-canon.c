/* kmg-canon.c — canonical transfer text and the hash chain step (pure, libsodium SHA-256).
 * Changing a byte here changes every hash: the format is versioned by its first line. */

#include "kmg-canon.h"

#include <sodium.h>
#include <string.h>

/* Decimal text of @v, as printf's %lld writes it: this runs for every transfer of a charge batch
 * and printf's format parsing was a visible share of a tick. */
static void
append_int64 (GString *out, gint64 v)
{
  char digits[24];
  guint64 u = v < 0 ? (guint64) 0 - (guint64) v : (guint64) v;
  int n = 0;

  do
    {
      digits[n++] = (char) ('0' + u % 10);
      u /= 10;
    }
  while (u != 0);
  if (v < 0)
    g_string_append_c (out, '-');
  while (n > 0)
    g_string_append_c (out, digits[--n]);
}

static void
append_escaped (GString *out, const char *s)
{
  /* Only the three characters that could forge a line break or an escape are escaped. */
  for (const char *p = s ? s : ""; *p; p++)
    {
      if (*p == '\\')
        g_string_append_len (out, "\\\\", 2);
      else if (*p == '\n')
        g_string_append_len (out, "\\n", 2);
      else if (*p == '\r')
        g_string_append_len (out, "\\r", 2);
      else
        g_string_append_c (out, *p);
    }
}

/* Appends "<name>=<v>\n"; an absent optional value (@present FALSE) leaves the value empty. */
static void
append_field (GString *out, const char *name, gint64 v, gboolean present)
{
  g_string_append (out, name);
  if (present)
    append_int64 (out, v);
  g_string_append_c (out, '\n');
}

void
kmg_transfer_canonical (const KmgTransferRow *r, GString *out)
{
  g_string_truncate (out, 0);
  g_string_append (out, "kamegor-transfer-v1\n");
  append_field (out, "id=", r->id, TRUE);
  append_field (out, "debit=", r->debit_account, TRUE);
  append_field (out, "credit=", r->credit_account, TRUE);
  append_field (out, "amount=", r->amount, TRUE);
  g_string_append (out, "kind=");
  g_string_append (out, kmg_transfer_kind_to_string (r->kind));
  g_string_append (out, "\nkey=");
  append_escaped (out, r->idempotency_key);
  g_string_append_c (out, '\n');
  append_field (out, "session=", r->session_id, r->session_id > 0);
  append_field (out, "minute=", r->minute_index, r->minute_index >= 0);
  append_field (out, "created_at=", r->created_at, TRUE);
  g_string_append (out, "memo=");
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
