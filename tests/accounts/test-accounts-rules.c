/* test-accounts-rules.c — the pure rules of accounts: usernames, passwords, text, tokens,
 * profile patches and login rate limits (fake clock). */

#include <sodium.h>
#include <string.h>

#include "kmg-accounts.h"
#include "kmg-json.h"
#include "kmg-rate-limit.h"
#include "kmg-token.h"

static void
test_username_valid (void)
{
  const char *good[] = { "bob", "Alice_01", "a.b-c", "x23456789012345678901234567890ab", "Zed" };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_true (kmg_username_check (good[i], &error));
      g_assert_no_error (error);
    }
}

static void
test_username_invalid (void)
{
  const char *bad[] = {
    "",          "ab",        "x234567890123456789012345678901234", "1abc", "_abc", ".abc",
    "ab cd",     "abc/def",   "abc@x", "caf\xc3\xa9", "ab\ncd", "-abc",
    /* reserved, in any case */
    "admin",     "ADMIN",     "Root",  "system", "kamegor", "Kamegor_Team", "support", "administrator",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (kmg_username_check (bad[i], &error));
      g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_USERNAME);
    }
  /* Staff names pass the format-only check used for operator-created admins. */
  g_assert_true (kmg_username_check_format ("admin", NULL));
  g_assert_false (kmg_username_check_format ("admin!", NULL));
}

static void
test_username_key (void)
{
  g_autofree char *a = kmg_username_key ("BoB.Smith-1");
  g_autofree char *b = kmg_username_key ("bob.smith-1");

  g_assert_cmpstr (a, ==, "bob.smith-1");
  g_assert_cmpstr (a, ==, b);
}

static void
test_password (void)
{
  char long_pw[300];

  g_assert_false (kmg_password_check ("short", 5, NULL));
  g_assert_false (kmg_password_check ("123456789", 9, NULL));
  g_assert_true (kmg_password_check ("1234567890", 10, NULL));
  memset (long_pw, 'x', sizeof long_pw);
  g_assert_true (kmg_password_check (long_pw, 256, NULL));
  g_assert_false (kmg_password_check (long_pw, 257, NULL));
  g_assert_false (kmg_password_check ("1234\0" "567890", 11, NULL));
}

static void
test_text (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *s64 = g_strnfill (64, 'a');
  g_autofree char *s65 = g_strnfill (65, 'a');

  g_assert_true (kmg_text_check ("display_name", "Zoë ✓", 64, FALSE, NULL));
  g_assert_true (kmg_text_check ("display_name", s64, 64, FALSE, NULL));
  g_assert_false (kmg_text_check ("display_name", s65, 64, FALSE, &error));
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_VALUE);
  g_assert_false (kmg_text_check ("display_name", "a\nb", 64, FALSE, NULL));
  g_assert_true (kmg_text_check ("seller_description", "a\nb\tc", 64, TRUE, NULL));
  g_assert_false (kmg_text_check ("x", "a\x01" "b", 64, TRUE, NULL));
  g_assert_false (kmg_text_check ("x", "evil\xe2\x80\xae" "txt", 64, TRUE, NULL)); /* U+202E */
}

static void
test_token_roundtrip (void)
{
  guint8 h1[KMG_TOKEN_HASH_BYTES], h2[KMG_TOKEN_HASH_BYTES], h3[KMG_TOKEN_HASH_BYTES];
  g_autofree char *t1 = kmg_token_generate (h1);
  g_autofree char *t2 = kmg_token_generate (h2);
  g_autofree char *bad = g_strdup (t1);

  g_assert_cmpuint (strlen (t1), ==, KMG_TOKEN_TEXT_LEN);
  g_assert_cmpstr (t1, !=, t2);
  for (const char *p = t1; *p; p++)
    g_assert_true (g_ascii_isalnum (*p) || *p == '-' || *p == '_');
  g_assert_true (kmg_token_hash (t1, h3));
  g_assert_cmpmem (h1, sizeof h1, h3, sizeof h3);
  g_assert_false (memcmp (h1, h2, sizeof h1) == 0);
  g_assert_false (kmg_token_hash (NULL, h3));
  g_assert_false (kmg_token_hash ("", h3));
  g_assert_false (kmg_token_hash ("abc", h3));
  bad[5] = '+'; /* standard base64, not url-safe */
  g_assert_false (kmg_token_hash (bad, h3));
  bad[5] = '=';
  g_assert_false (kmg_token_hash (bad, h3));
}

static JsonObject *
parse (const char *json)
{
  g_autoptr (GError) error = NULL;
  JsonObject *o = kmg_json_parse_object (json, strlen (json), &error);
  g_assert_no_error (error);
  return o;
}

static void
assert_patch_fails (const char *json, GQuark domain, int code)
{
  g_autoptr (JsonObject) o = parse (json);
  g_autoptr (GError) error = NULL;
  KmgProfilePatch p;

  g_assert_false (kmg_profile_patch_decode (o, &p, &error));
  g_assert_error (error, domain, code);
  g_assert_false (p.has_display_name || p.has_is_seller || p.has_price_per_minute);
  g_assert_null (p.display_name);
}

static void
test_patch_decode (void)
{
  g_autoptr (JsonObject) o = parse ("{\"display_name\":\"Ann\",\"price_per_minute\":25,"
                                    "\"always_relay\":true,\"seller_description\":\"hi\\nthere\"}");
  KmgProfilePatch p;
  g_autofree char *long_desc = NULL;
  g_autofree char *json = NULL;

  g_assert_true (kmg_profile_patch_decode (o, &p, NULL));
  g_assert_true (p.has_display_name && p.has_price_per_minute && p.has_always_relay);
  g_assert_true (p.has_seller_description);
  g_assert_false (p.has_is_seller || p.has_location_consent);
  g_assert_cmpstr (p.display_name, ==, "Ann");
  g_assert_cmpint (p.price_per_minute, ==, 25);
  g_assert_true (p.always_relay);
  kmg_profile_patch_clear (&p);

  assert_patch_fails ("{\"nickname\":\"x\"}", KMG_JSON_ERROR, KMG_JSON_ERROR_UNKNOWN_FIELD);
  assert_patch_fails ("{\"price_per_minute\":0}", KMG_JSON_ERROR, KMG_JSON_ERROR_RANGE);
  assert_patch_fails ("{\"price_per_minute\":10001}", KMG_JSON_ERROR, KMG_JSON_ERROR_RANGE);
  assert_patch_fails ("{\"price_per_minute\":1.5}", KMG_JSON_ERROR, KMG_JSON_ERROR_TYPE);
  assert_patch_fails ("{\"price_per_minute\":\"5\"}", KMG_JSON_ERROR, KMG_JSON_ERROR_TYPE);
  assert_patch_fails ("{\"is_seller\":1}", KMG_JSON_ERROR, KMG_JSON_ERROR_TYPE);
  assert_patch_fails ("{\"display_name\":[]}", KMG_JSON_ERROR, KMG_JSON_ERROR_TYPE);
  assert_patch_fails ("{\"display_name\":\"a\\u0007b\"}", KMG_ACCOUNTS_ERROR,
                      KMG_ACCOUNTS_ERROR_INVALID_VALUE);
  assert_patch_fails ("{\"display_name\":\"ok\",\"is_seller\":true,\"location_consent\":false}",
                      KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_CONSENT_REQUIRED);
  long_desc = g_strnfill (1001, 'd');
  json = g_strdup_printf ("{\"seller_description\":\"%s\"}", long_desc);
  assert_patch_fails (json, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_VALUE);
}

static void
plan (const char *json, gboolean seller, gboolean consent, gboolean expect_ok, gboolean next_seller,
      gboolean next_consent, int expect_change)
{
  g_autoptr (JsonObject) o = parse (json);
  KmgProfilePatch p;
  KmgProfileState cur = { seller, consent }, next = { 0 };
  int change = 42;
  gboolean ok;

  g_assert_true (kmg_profile_patch_decode (o, &p, NULL));
  ok = kmg_profile_patch_plan (&p, &cur, &next, &change, NULL);
  kmg_profile_patch_clear (&p);
  g_assert_cmpint (ok, ==, expect_ok);
  if (!ok)
    return;
  g_assert_cmpint (next.is_seller, ==, next_seller);
  g_assert_cmpint (next.location_consent, ==, next_consent);
  g_assert_cmpint (change, ==, expect_change);
}

static void
test_patch_plan (void)
{
  /* Becoming a seller needs consent in the same request, even if given before. */
  plan ("{\"is_seller\":true}", FALSE, FALSE, FALSE, 0, 0, 0);
  plan ("{\"is_seller\":true}", FALSE, TRUE, FALSE, 0, 0, 0);
  plan ("{\"is_seller\":true,\"location_consent\":true}", FALSE, FALSE, TRUE, TRUE, TRUE, 1);
  plan ("{\"is_seller\":true,\"location_consent\":true}", FALSE, TRUE, TRUE, TRUE, TRUE, 1);
  /* Already a seller: restating is a no-op. */
  plan ("{\"is_seller\":true}", TRUE, TRUE, TRUE, TRUE, TRUE, -1);
  /* Withdrawing consent ends selling and is recorded. */
  plan ("{\"location_consent\":false}", TRUE, TRUE, TRUE, FALSE, FALSE, 0);
  /* Turning selling off keeps the consent. */
  plan ("{\"is_seller\":false}", TRUE, TRUE, TRUE, FALSE, TRUE, -1);
  plan ("{\"display_name\":\"x\"}", TRUE, TRUE, TRUE, TRUE, TRUE, -1);
  plan ("{\"location_consent\":true}", FALSE, FALSE, TRUE, FALSE, TRUE, 1);
}

static void
test_rate_limit_bucket (void)
{
  g_autoptr (KmgRateLimit) rl = kmg_rate_limit_new (3, 300000, 100);
  gint64 wait = 0;
  gint64 t = 1000000;

  for (int i = 0; i < 3; i++)
    g_assert_true (kmg_rate_limit_take (rl, "bob", t, &wait));
  g_assert_false (kmg_rate_limit_take (rl, "bob", t, &wait));
  g_assert_cmpint (wait, ==, 100000); /* one token per 100 s */
  /* Another key is independent. */
  g_assert_true (kmg_rate_limit_take (rl, "eve", t, &wait));
  /* Just before the token is back: still refused, with a shorter wait. */
  g_assert_false (kmg_rate_limit_take (rl, "bob", t + 99999, &wait));
  g_assert_cmpint (wait, >=, 1);
  g_assert_cmpint (wait, ==, 1);
  g_assert_true (kmg_rate_limit_take (rl, "bob", t + 100000, &wait));
  g_assert_false (kmg_rate_limit_take (rl, "bob", t + 100000, &wait));
  /* After a full window the bucket is full again, and capped at capacity. */
  t += 10 * 300000;
  for (int i = 0; i < 3; i++)
    g_assert_true (kmg_rate_limit_take (rl, "bob", t, &wait));
  g_assert_false (kmg_rate_limit_take (rl, "bob", t, &wait));
}

static void
test_rate_limit_bounded (void)
{
  g_autoptr (KmgRateLimit) rl = kmg_rate_limit_new (2, 1000, 4);
  gint64 wait = 0;

  for (int i = 0; i < 4; i++)
    {
      g_autofree char *k = g_strdup_printf ("k%d", i);
      g_assert_true (kmg_rate_limit_take (rl, k, 0, &wait));
    }
  g_assert_cmpuint (kmg_rate_limit_size (rl), ==, 4);
  /* Full of busy keys: a new key is refused rather than evicting a key under attack. */
  g_assert_false (kmg_rate_limit_take (rl, "new", 10, &wait));
  g_assert_cmpint (wait, >, 0);
  /* Known keys keep working. */
  g_assert_true (kmg_rate_limit_take (rl, "k0", 10, &wait));
  /* Once the old buckets have refilled they are pruned and the new key fits. */
  g_assert_true (kmg_rate_limit_take (rl, "new", 5000, &wait));
  g_assert_cmpuint (kmg_rate_limit_size (rl), ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_cmpint (sodium_init (), >=, 0);
  g_test_add_func ("/accounts/rules/username-valid", test_username_valid);
  g_test_add_func ("/accounts/rules/username-invalid", test_username_invalid);
  g_test_add_func ("/accounts/rules/username-key", test_username_key);
  g_test_add_func ("/accounts/rules/password", test_password);
  g_test_add_func ("/accounts/rules/text", test_text);
  g_test_add_func ("/accounts/token/roundtrip", test_token_roundtrip);
  g_test_add_func ("/accounts/profile-patch/decode", test_patch_decode);
  g_test_add_func ("/accounts/profile-patch/plan", test_patch_plan);
  g_test_add_func ("/accounts/rate-limit/bucket", test_rate_limit_bucket);
  g_test_add_func ("/accounts/rate-limit/bounded", test_rate_limit_bounded);
  return g_test_run ();
}
