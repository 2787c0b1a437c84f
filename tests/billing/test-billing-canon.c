/* test-billing-canon.c — the canonical transfer text byte for byte as docs/billing.md states it,
 * checked against a printf rendering of the documented format, and the chain hash against GLib. */

#include "kmg-canon.h"

#include <string.h>

/* The documented format, written independently of kmg-canon.c. */
static char *
reference_text (const KmgTransferRow *r)
{
  g_autofree char *session = r->session_id > 0
                               ? g_strdup_printf ("%" G_GINT64_FORMAT, r->session_id)
                               : g_strdup ("");
  g_autofree char *minute = r->minute_index >= 0
                              ? g_strdup_printf ("%" G_GINT64_FORMAT, r->minute_index)
                              : g_strdup ("");
  g_autoptr (GString) key = g_string_new (r->idempotency_key);
  g_autoptr (GString) memo = g_string_new (r->memo);
  GString *both[] = { key, memo };

  for (guint i = 0; i < G_N_ELEMENTS (both); i++)
    {
      g_string_replace (both[i], "\\", "\\\\", 0);
      g_string_replace (both[i], "\n", "\\n", 0);
      g_string_replace (both[i], "\r", "\\r", 0);
    }
  return g_strdup_printf ("kamegor-transfer-v1\nid=%" G_GINT64_FORMAT "\ndebit=%" G_GINT64_FORMAT
                          "\ncredit=%" G_GINT64_FORMAT "\namount=%" G_GINT64_FORMAT
                          "\nkind=%s\nkey=%s\nsession=%s\nminute=%s\ncreated_at=%" G_GINT64_FORMAT
                          "\nmemo=%s\n",
                          r->id, r->debit_account, r->credit_account, r->amount,
                          kmg_transfer_kind_to_string (r->kind), key->str, session, minute,
                          r->created_at, memo->str);
}

static void
assert_same_as_reference (const KmgTransferRow *r)
{
  g_autoptr (GString) out = g_string_new ("left over from before");
  g_autofree char *want = reference_text (r);

  kmg_transfer_canonical (r, out);
  g_assert_cmpstr (out->str, ==, want);
}

static void
test_documented_example (void)
{
  KmgTransferRow r = { .id = 42, .debit_account = KMG_ACCOUNT_EXTERNAL, .credit_account = 7,
                       .amount = 100, .kind = KMG_TRANSFER_TOPUP, .idempotency_key = "pay\\1\n",
                       .session_id = 0, .minute_index = -1, .created_at = 1700000000,
                       .memo = "a\rb" };
  g_autoptr (GString) out = g_string_new (NULL);

  kmg_transfer_canonical (&r, out);
  g_assert_cmpstr (out->str, ==,
                   "kamegor-transfer-v1\nid=42\ndebit=-1\ncredit=7\namount=100\nkind=topup\n"
                   "key=pay\\\\1\\n\nsession=\nminute=\ncreated_at=1700000000\nmemo=a\\rb\n");
  assert_same_as_reference (&r);
}

static void
test_random_rows (void)
{
  static const char *const texts[] = { "", "charge:12:3:seller", "a\\b", "\n\r\n", "grant: x" };
  GRand *rand = g_rand_new_with_seed (20240611);
  const gint64 edges[] = { 0, 1, -1, 9, 10, G_MAXINT64, G_MININT64, G_MININT64 + 1 };

  for (guint i = 0; i < 5000; i++)
    {
      KmgTransferRow r = { 0 };
      gint64 *fields[] = { &r.id, &r.debit_account, &r.credit_account, &r.amount,
                           &r.session_id, &r.minute_index, &r.created_at };

      for (guint f = 0; f < G_N_ELEMENTS (fields); f++)
        *fields[f] = g_rand_boolean (rand)
                       ? edges[g_rand_int_range (rand, 0, G_N_ELEMENTS (edges))]
                       : (gint64) (((guint64) g_rand_int (rand) << 32 | g_rand_int (rand))
                                   >> g_rand_int_range (rand, 0, 64));
      r.kind = (KmgTransferKind) g_rand_int_range (rand, KMG_TRANSFER_TOPUP,
                                                   KMG_TRANSFER_REFUND + 1);
      r.idempotency_key = texts[g_rand_int_range (rand, 0, G_N_ELEMENTS (texts))];
      r.memo = texts[g_rand_int_range (rand, 0, G_N_ELEMENTS (texts))];
      assert_same_as_reference (&r);
    }
  g_rand_free (rand);
}

static void
test_hash_matches_glib (void)
{
  const char *contents[] = { "", "kamegor-transfer-v1\nid=1\n", "x" };
  const char *prevs[] = { KMG_GENESIS_HASH,
                          "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" };

  for (guint p = 0; p < G_N_ELEMENTS (prevs); p++)
    for (guint c = 0; c < G_N_ELEMENTS (contents); c++)
      {
        g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
        char got[KMG_HASH_HEX_LEN + 1];

        g_checksum_update (sum, (const guchar *) prevs[p], -1);
        g_checksum_update (sum, (const guchar *) contents[c], -1);
        kmg_transfer_hash (prevs[p], contents[c], strlen (contents[c]), got);
        g_assert_cmpstr (got, ==, g_checksum_get_string (sum));
      }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/billing/canon/documented-example", test_documented_example);
  g_test_add_func ("/billing/canon/random-rows", test_random_rows);
  g_test_add_func ("/billing/canon/hash-matches-glib", test_hash_matches_glib);
  return g_test_run ();
}
