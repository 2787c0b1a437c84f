/* test-json.c — strict JSON decoding: what is accepted, and the error for each kind of bad input. */
#include "kmg-json.h"

#include <string.h>

static JsonObject *
parse (const char *s, GError **error)
{
  return kmg_json_parse_object (s, strlen (s), error);
}

static void
test_accepts_object (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) o = parse ("{\"a\":1,\"b\":\"x\",\"c\":true,\"d\":1.5}", &error);
  const char *s = NULL;
  gint64 i = 0;
  gboolean b = FALSE;
  double d = 0;

  g_assert_no_error (error);
  g_assert_true (kmg_json_get_int (o, "a", TRUE, 0, 10, &i, &error));
  g_assert_true (kmg_json_get_string (o, "b", TRUE, 10, &s, &error));
  g_assert_true (kmg_json_get_bool (o, "c", TRUE, &b, &error));
  g_assert_true (kmg_json_get_double (o, "d", TRUE, 0, 2, &d, &error));
  g_assert_cmpint (i, ==, 1);
  g_assert_cmpstr (s, ==, "x");
  g_assert_true (b);
  g_assert_cmpfloat (d, ==, 1.5);
}

static void
test_rejects_syntax (void)
{
  const char *bad[] = { "", "{", "[1]", "\"x\"", "{\"a\":}", "{\"a\":1}x", "nul", NULL };

  for (guint i = 0; bad[i]; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) o = parse (bad[i], &error);
      g_assert_null (o);
      g_assert_true (error->domain == KMG_JSON_ERROR);
    }
}

static void
test_rejects_deep_nesting (void)
{
  g_autoptr (GString) s = g_string_new ("{\"a\":");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) o = NULL;

  for (int i = 0; i < 100000; i++)
    g_string_append_c (s, '[');
  o = parse (s->str, &error);
  g_assert_null (o);
  g_assert_error (error, KMG_JSON_ERROR, KMG_JSON_ERROR_SYNTAX);
  g_assert_nonnull (strstr (error->message, "deeper"));
}

static void
test_brackets_in_strings_do_not_count (void)
{
  g_autoptr (GString) s = g_string_new ("{\"a\":\"");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) o = NULL;

  for (int i = 0; i < 100; i++)
    g_string_append (s, "[{\\\"");
  g_string_append (s, "\"}");
  o = parse (s->str, &error);
  g_assert_no_error (error);
  g_assert_nonnull (o);
}

static void
test_unknown_field (void)
{
  static const char *const allowed[] = { "a", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) o = parse ("{\"a\":1,\"zz\":2}", &error);

  g_assert_false (kmg_json_check_fields (o, allowed, &error));
  g_assert_error (error, KMG_JSON_ERROR, KMG_JSON_ERROR_UNKNOWN_FIELD);
  g_assert_nonnull (strstr (error->message, "zz"));
}

static void
test_types_and_ranges (void)
{
  g_autoptr (JsonObject) o = parse ("{\"s\":1,\"i\":\"1\",\"f\":1.5,\"big\":99,\"n\":null}", NULL);
  const char *s = "unchanged";
  gint64 i = 7;
  double d;
  g_autoptr (GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL, e5 = NULL, e6 = NULL;

  g_assert_false (kmg_json_get_string (o, "s", TRUE, 0, &s, &e1));
  g_assert_error (e1, KMG_JSON_ERROR, KMG_JSON_ERROR_TYPE);
  g_assert_false (kmg_json_get_int (o, "i", TRUE, 0, 10, &i, &e2));
  g_assert_error (e2, KMG_JSON_ERROR, KMG_JSON_ERROR_TYPE);
  g_assert_false (kmg_json_get_int (o, "f", TRUE, 0, 10, &i, &e3));
  g_assert_error (e3, KMG_JSON_ERROR, KMG_JSON_ERROR_TYPE);
  g_assert_false (kmg_json_get_int (o, "big", TRUE, 0, 10, &i, &e4));
  g_assert_error (e4, KMG_JSON_ERROR, KMG_JSON_ERROR_RANGE);
  g_assert_false (kmg_json_get_double (o, "missing", TRUE, 0, 1, &d, &e5));
  g_assert_error (e5, KMG_JSON_ERROR, KMG_JSON_ERROR_MISSING);
  /* null counts as absent for an optional member, as missing for a required one */
  g_assert_true (kmg_json_get_string (o, "n", FALSE, 0, &s, NULL));
  g_assert_false (kmg_json_get_string (o, "n", TRUE, 0, &s, &e6));
  g_assert_error (e6, KMG_JSON_ERROR, KMG_JSON_ERROR_MISSING);
  g_assert_cmpstr (s, ==, "unchanged");
  g_assert_cmpint (i, ==, 7);
}

static void
test_string_length_counts_characters (void)
{
  g_autoptr (JsonObject) o = parse ("{\"s\":\"ééé\"}", NULL);
  const char *s = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (kmg_json_get_string (o, "s", TRUE, 3, &s, NULL));
  g_assert_false (kmg_json_get_string (o, "s", TRUE, 2, &s, &error));
  g_assert_error (error, KMG_JSON_ERROR, KMG_JSON_ERROR_RANGE);
}

static void
test_rejects_nul_and_bad_utf8 (void)
{
  g_autoptr (GError) e1 = NULL, e2 = NULL;
  g_assert_null (kmg_json_parse_object ("{\"a\":\"\0\"}", 9, &e1));
  g_assert_error (e1, KMG_JSON_ERROR, KMG_JSON_ERROR_SYNTAX);
  g_assert_null (kmg_json_parse_object ("{\"a\":\"\xff\"}", 8, &e2));
  g_assert_error (e2, KMG_JSON_ERROR, KMG_JSON_ERROR_SYNTAX);
}

static void
test_rejects_nul_escape (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) ok = parse ("{\"a\":\"\\\\u0000\"}", NULL);

  g_assert_null (parse ("{\"a\":\"pass\\u0000word\"}", &error));
  g_assert_error (error, KMG_JSON_ERROR, KMG_JSON_ERROR_SYNTAX);
  /* an escaped backslash followed by the letters u0000 is a normal string */
  g_assert_nonnull (ok);
  g_assert_cmpstr (json_object_get_string_member (ok, "a"), ==, "\\u0000");
}

/* json-glib also reads C escapes, which would let "\0" cut a string and an octal escape put
 * invalid UTF-8 in it: only JSON's escapes are accepted. */
static void
test_rejects_non_json_escapes (void)
{
  static const char *const bad[] = { "\\0", "\\615", "\\1", "\\q", "\\x41", "\\'", "\\a" };
  g_autoptr (JsonObject) ok = parse ("{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"}", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *text = g_strdup_printf ("{\"a\":\"x%sy\"}", bad[i]);

      g_test_message ("%s", text);
      g_assert_null (parse (text, &error));
      g_assert_error (error, KMG_JSON_ERROR, KMG_JSON_ERROR_SYNTAX);
    }
  g_assert_nonnull (ok);
  g_assert_cmpstr (json_object_get_string_member (ok, "a"), ==, "\"\\/\b\f\n\r\t\xc3\xa9");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/common/json/accepts-object", test_accepts_object);
  g_test_add_func ("/common/json/rejects-syntax", test_rejects_syntax);
  g_test_add_func ("/common/json/rejects-deep-nesting", test_rejects_deep_nesting);
  g_test_add_func ("/common/json/brackets-in-strings", test_brackets_in_strings_do_not_count);
  g_test_add_func ("/common/json/unknown-field", test_unknown_field);
  g_test_add_func ("/common/json/types-and-ranges", test_types_and_ranges);
  g_test_add_func ("/common/json/string-length-characters", test_string_length_counts_characters);
  g_test_add_func ("/common/json/nul-and-bad-utf8", test_rejects_nul_and_bad_utf8);
  g_test_add_func ("/common/json/nul-escape", test_rejects_nul_escape);
  g_test_add_func ("/common/json/non-json-escapes", test_rejects_non_json_escapes);
  return g_test_run ();
}
