/* test-ws-proto.c — unit tests of the pure WebSocket protocol pieces: envelope, errors, token
 * bucket, bbox containment (incl. antimeridian) and map diffs. */

#include "kmg-json.h"
#include "kmg-ws-proto.h"

#include <math.h>

#include <string.h>

static JsonObject *
parse (const char *text)
{
  g_autoptr (GError) error = NULL;
  JsonObject *obj = kmg_json_parse_object (text, strlen (text), &error);

  g_assert_no_error (error);
  return obj;
}

static void
test_envelope_parse (void)
{
  static const struct
  {
    const char *text;
    gboolean ok;
    const char *type;
    gboolean has_ref;
  } cases[] = {
    { "{\"type\":\"hello\"}", TRUE, "hello", FALSE },
    { "{\"type\":\"hello\",\"ref\":7}", TRUE, "hello", TRUE },
    { "{\"type\":\"hello\",\"ref\":\"abc\"}", TRUE, "hello", TRUE },
    { "{\"ref\":3}", FALSE, NULL, TRUE },
    { "{\"type\":5}", FALSE, NULL, FALSE },
    { "{\"type\":\"x\",\"ref\":1.5}", FALSE, NULL, FALSE },
    { "{\"type\":\"x\",\"ref\":{}}", FALSE, NULL, FALSE },
    { "{\"type\":\"x\",\"ref\":\"0123456789012345678901234567890123456789012345678901234567890123456789\"}", FALSE,
      NULL, FALSE },
    { "[1]", FALSE, NULL, FALSE },
    { "not json", FALSE, NULL, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (JsonObject) msg = NULL;
      g_autoptr (GError) error = NULL;
      const char *type = NULL;
      JsonNode *ref = NULL;
      gboolean ok = kmg_ws_envelope_parse (cases[i].text, strlen (cases[i].text), &msg, &type, &ref, &error);

      g_test_message ("case %u: %s", i, cases[i].text);
      g_assert_cmpint (ok, ==, cases[i].ok);
      g_assert_cmpint (ref != NULL, ==, cases[i].has_ref);
      if (ok)
        g_assert_cmpstr (type, ==, cases[i].type);
      else
        g_assert_nonnull (error);
    }
}

/* json-glib wraps integers beyond 64 bits (2^64 → -1) and reads 0x10 and 05: an integer ref is
 * echoed only when it is exactly the decimal number sent. */
static void
test_envelope_ref_range (void)
{
  static const struct
  {
    const char *text;
    gboolean ok;
    gint64 ref;
  } cases[] = {
    { "{\"type\":\"x\",\"ref\":9223372036854775807}", TRUE, G_MAXINT64 },
    { "{\"type\":\"x\",\"ref\":-9223372036854775808}", TRUE, G_MININT64 },
    { "{\"type\":\"x\",\"ref\":0}", TRUE, 0 },
    { "{\"type\":\"x\",\"ref\":-0}", TRUE, 0 },
    { " { \"type\" : \"x\" , \"a\" : [ {\"ref\":1e999} , \"}\" ] , \"ref\" : 42 \n} ", TRUE, 42 },
    { "{\"ref\":7,\"type\":\"x\",\"nested\":{\"ref\":18446744073709551616}}", TRUE, 7 },
    { "{\"type\":\"x\",\"r\\u0065f\":12}", TRUE, 12 },
    { "{\"type\":\"x\",\"ref\":9223372036854775808}", FALSE, 0 },  /* 2^63 */
    { "{\"type\":\"x\",\"ref\":18446744073709551616}", FALSE, 0 }, /* 2^64 */
    { "{\"type\":\"x\",\"ref\":-9223372036854775809}", FALSE, 0 }, /* -2^63-1 */
    { "{\"type\":\"x\",\"ref\":99999999999999999999999}", FALSE, 0 },
    { "{\"type\":\"x\",\"ref\":1e3}", FALSE, 0 },
    { "{\"type\":\"x\",\"ref\":0x10}", FALSE, 0 },
    { "{\"type\":\"x\",\"ref\":05}", FALSE, 0 },
    { "{\"type\":\"x\",\"ref\":/*c*/5}", FALSE, 0 },
    { "{\"type\":\"x\",\"r\\u0065f\":18446744073709551616}", FALSE, 0 },
    /* json-glib keeps the last of duplicates; each one must be exact. */
    { "{\"type\":\"x\",\"ref\":18446744073709551616,\"ref\":3}", FALSE, 0 },
    { "{\"type\":\"x\",\"ref\":3,\"ref\":18446744073709551616}", FALSE, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (JsonObject) msg = NULL;
      g_autoptr (GError) error = NULL;
      const char *type = NULL;
      JsonNode *ref = NULL;
      gboolean ok = kmg_ws_envelope_parse (cases[i].text, strlen (cases[i].text), &msg, &type, &ref, &error);

      g_test_message ("case %u: %s", i, cases[i].text);
      g_assert_cmpint (ok, ==, cases[i].ok);
      if (ok)
        {
          g_assert_no_error (error);
          g_assert_nonnull (ref);
          g_assert_cmpint (json_node_get_int (ref), ==, cases[i].ref);
        }
      else
        {
          g_assert_error (error, KMG_JSON_ERROR, KMG_JSON_ERROR_TYPE);
          g_assert_null (ref); /* a refused ref is not echoed */
        }
    }
}

/* The per-address cap counts an IPv6 /64 as one address (one subscriber's prefix) and an
 * IPv4-mapped IPv6 address as the IPv4 one. */
static void
test_address_key (void)
{
  static const struct
  {
    const char *host, *key;
  } cases[] = {
    { "192.0.2.7", "192.0.2.7" },
    { "::ffff:192.0.2.7", "192.0.2.7" },
    { "2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64" },
    { "2001:DB8:1:2::1", "2001:db8:1:2::/64" },
    { "2001:db8:1:3::1", "2001:db8:1:3::/64" },
    { "::1", "::/64" },
    { "unknown", "unknown" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *key = kmg_ws_address_key (cases[i].host);
      g_assert_cmpstr (key, ==, cases[i].key);
    }
}

static void
test_envelope_build (void)
{
  g_autoptr (JsonObject) ref_holder = parse ("{\"ref\":\"a\\\"b\"}");
  g_autoptr (JsonObject) body = json_object_new ();
  g_autoptr (JsonObject) extra = json_object_new ();
  g_autofree char *text = NULL;
  g_autofree char *err = NULL;
  g_autoptr (JsonObject) back = NULL;

  json_object_set_int_member (body, "n", 3);
  text = kmg_ws_envelope_build ("x.y", json_object_get_member (ref_holder, "ref"), body);
  back = parse (text);
  g_assert_cmpstr (json_object_get_string_member (back, "type"), ==, "x.y");
  g_assert_cmpstr (json_object_get_string_member (back, "ref"), ==, "a\"b");
  g_assert_cmpint (json_object_get_int_member (back, "n"), ==, 3);

  json_object_set_int_member (extra, "retry_after_ms", 1200);
  err = kmg_ws_envelope_error (NULL, "too_soon", "wait \"a bit\"\n", extra);
  g_clear_pointer (&back, json_object_unref);
  back = parse (err);
  g_assert_cmpstr (json_object_get_string_member (back, "type"), ==, "error");
  g_assert_false (json_object_has_member (back, "ref"));
  g_assert_cmpstr (json_object_get_string_member (back, "code"), ==, "too_soon");
  g_assert_cmpstr (json_object_get_string_member (back, "message"), ==, "wait \"a bit\"\n");
  g_assert_cmpint (json_object_get_int_member (back, "retry_after_ms"), ==, 1200);
}

static void
test_check_fields (void)
{
  static const char *const allowed[] = { "lat", NULL };
  g_autoptr (JsonObject) ok = parse ("{\"type\":\"t\",\"ref\":1,\"lat\":2}");
  g_autoptr (JsonObject) bad = parse ("{\"type\":\"t\",\"lon\":2}");
  g_autoptr (GError) error = NULL;

  g_assert_true (kmg_ws_check_fields (ok, allowed, NULL));
  g_assert_false (kmg_ws_check_fields (bad, allowed, &error));
  g_assert_error (error, KMG_JSON_ERROR, KMG_JSON_ERROR_UNKNOWN_FIELD);
}

static void
test_token_bucket (void)
{
  KmgTokenBucket b;
  guint taken = 0;

  kmg_token_bucket_init (&b, 10, 5, 0);
  while (kmg_token_bucket_take (&b, 0))
    taken++;
  g_assert_cmpuint (taken, ==, 5);
  g_assert_false (kmg_token_bucket_take (&b, 50)); /* half a token */
  g_assert_true (kmg_token_bucket_take (&b, 100));
  g_assert_false (kmg_token_bucket_take (&b, 100));
  /* Refill is capped at the burst. */
  taken = 0;
  while (kmg_token_bucket_take (&b, 100000))
    taken++;
  g_assert_cmpuint (taken, ==, 5);
}

static void
test_bbox_contains (void)
{
  KmgBbox paris = { 48.8, 2.2, 48.9, 2.5 };
  KmgBbox fiji = { -20, 170, -10, -170 }; /* crosses the antimeridian */

  g_assert_true (kmg_bbox_contains (&paris, 48.85, 2.35));
  g_assert_true (kmg_bbox_contains (&paris, 48.8, 2.2)); /* edges are inside */
  g_assert_false (kmg_bbox_contains (&paris, 48.95, 2.35));
  g_assert_false (kmg_bbox_contains (&paris, 48.85, 2.6));

  g_assert_true (kmg_bbox_contains (&fiji, -15, 178));
  g_assert_true (kmg_bbox_contains (&fiji, -15, -179));
  g_assert_true (kmg_bbox_contains (&fiji, -15, 180));
  g_assert_false (kmg_bbox_contains (&fiji, -15, 0));
  g_assert_false (kmg_bbox_contains (&fiji, -15, -160));
  g_assert_false (kmg_bbox_contains (&fiji, -25, 178));
}

static GHashTable *
items (const char *json_array)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  GHashTable *set;

  g_assert_true (json_parser_load_from_data (parser, json_array, -1, &error));
  set = kmg_map_items_from_array (json_node_get_array (json_parser_get_root (parser)), &error);
  g_assert_no_error (error);
  return set;
}

static void
test_map_diff (void)
{
  g_autoptr (GHashTable) a = items ("[{\"id\":\"1\",\"s\":\"online\"},{\"id\":\"2\",\"s\":\"online\"}]");
  g_autoptr (GHashTable) b = items ("[{\"id\":\"2\",\"s\":\"streaming\"},{\"id\":\"3\",\"s\":\"online\"}]");
  g_autoptr (GHashTable) a2 = items ("[{\"id\":\"2\",\"s\":\"online\"},{\"id\":\"1\",\"s\":\"online\"}]");
  g_autoptr (GString) out = g_string_new ("{");
  g_autoptr (JsonObject) diff = NULL;
  JsonArray *arr;

  g_assert_false (kmg_map_items_diff (a, a2, out));
  g_assert_cmpstr (out->str, ==, "{");

  g_assert_true (kmg_map_items_diff (a, b, out));
  g_string_append_c (out, '}');
  diff = parse (out->str);
  arr = json_object_get_array_member (diff, "add");
  g_assert_cmpuint (json_array_get_length (arr), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (arr, 0), "id"), ==, "3");
  arr = json_object_get_array_member (diff, "update");
  g_assert_cmpuint (json_array_get_length (arr), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (arr, 0), "s"), ==, "streaming");
  arr = json_object_get_array_member (diff, "remove");
  g_assert_cmpuint (json_array_get_length (arr), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (arr, 0), ==, "1");
}

static void
test_map_items_reject_bad (void)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  g_assert_true (json_parser_load_from_data (parser, "[{\"id\":\"1\"},{\"id\":2}]", -1, NULL));
  g_assert_null (kmg_map_items_from_array (json_node_get_array (json_parser_get_root (parser)), &error));
  g_assert_nonnull (error);
}

static char *
fixed (double v, guint decimals)
{
  GString *out = g_string_new (NULL);
  kmg_ws_append_fixed (out, v, decimals);
  return g_string_free (out, FALSE);
}

static void
test_append_fixed (void)
{
  const struct
  {
    double v;
    guint d;
    const char *want;
  } cases[] = {
    { 12.3456, 6, "12.3456" }, { 3.0, 6, "3.0" },          { -0.0000004, 6, "0.0" },
    { -45.5, 4, "-45.5" },     { 179.999999, 6, "179.999999" }, { 0.125, 2, "0.13" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = fixed (cases[i].v, cases[i].d);
      g_assert_cmpstr (got, ==, cases[i].want);
    }
  {
    g_autofree char *nan = fixed (NAN, 6);
    g_assert_cmpstr (nan, ==, "null");
  }
}

static void
test_append_json_string (void)
{
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  const char *in = "a\"b\\c\n\x01é";

  kmg_ws_append_json_string (out, in);
  g_assert_true (json_parser_load_from_data (parser, out->str, -1, NULL));
  g_assert_cmpstr (json_node_get_string (json_parser_get_root (parser)), ==, in);
  g_string_truncate (out, 0);
  kmg_ws_append_json_string (out, "bad\xff utf8");
  g_assert_true (g_utf8_validate (out->str, -1, NULL));
}

static void
test_map_items_from_strings (void)
{
  g_autoptr (JsonArray) good = json_array_new ();
  g_autoptr (JsonArray) bad1 = json_array_new ();
  g_autoptr (JsonArray) bad2 = json_array_new ();
  g_autoptr (GHashTable) items = NULL;
  g_autoptr (GError) e1 = NULL, e2 = NULL;

  json_array_add_string_element (good, "{\"id\":\"u:42\",\"lat\":1.5}");
  items = kmg_map_items_from_array (good, NULL);
  g_assert_nonnull (items);
  g_assert_true (g_hash_table_contains (items, "u:42"));
  json_array_add_string_element (bad1, "{\"lat\":1.5,\"id\":\"u:42\"}");
  g_assert_null (kmg_map_items_from_array (bad1, &e1));
  g_assert_nonnull (e1);
  json_array_add_string_element (bad2, "{\"id\":\"u:\\u0034\"}");
  g_assert_null (kmg_map_items_from_array (bad2, &e2));
  g_assert_nonnull (e2);
}

/* The wire form of map items: exact text, since REST and WebSocket clients both parse it and the
 * hub reads the id off its front (kmg_map_items_from_array). */
static void
test_map_item_text (void)
{
  KmgMapProfile *alice = kmg_map_profile_new ("al\"ice", NULL, 4.666, 3);
  KmgMapProfile *bob = kmg_map_profile_new ("bob", "/media/pictures/b", 0, 0);
  KmgMapItem items[3] = {
    { .kind = KMG_MAP_ITEM_MARKER, .id = "u:7", .lat = 48.85661, .lon = 2.3522, .count = 1,
      .streaming_count = 1, .user_id = 7, .status = KMG_MAP_STATUS_STREAMING, .profile = alice },
    { .kind = KMG_MAP_ITEM_MARKER, .id = "u:8", .lat = -33.123456789, .lon = -70.5, .count = 1,
      .user_id = 8, .status = KMG_MAP_STATUS_ONLINE, .profile = bob },
    { .kind = KMG_MAP_ITEM_CLUSTER, .id = "c:14:8300:5638", .lat = 48.8, .lon = 2.0, .count = 12,
      .streaming_count = 2 },
  };
  const char *const want[] = {
    ("{\"id\":\"u:7\",\"kind\":\"marker\",\"lat\":48.85661,\"lon\":2.3522,\"user_id\":7,"
    "\"status\":\"streaming\",\"username\":\"al\\\"ice\",\"picture_url\":null,\"rating\":4.67,"
    "\"rating_count\":3}"),
    ("{\"id\":\"u:8\",\"kind\":\"marker\",\"lat\":-33.123456789,\"lon\":-70.5,\"user_id\":8,"
    "\"status\":\"online\",\"username\":\"bob\",\"picture_url\":\"/media/pictures/b\",\"rating\":0.0,"
    "\"rating_count\":0}"),
    ("{\"id\":\"c:14:8300:5638\",\"kind\":\"cluster\",\"lat\":48.8,\"lon\":2.0,\"count\":12,"
    "\"streaming_count\":2}"),
  };
  KmgMapResult result = { .items = items, .n_items = G_N_ELEMENTS (items), .truncated = TRUE };
  g_autoptr (JsonArray) arr = NULL;
  g_autoptr (GHashTable) set = NULL;
  g_autoptr (GString) body = g_string_new (NULL);
  g_autofree char *want_body = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (items); i++)
    {
      g_autoptr (GString) out = g_string_new (NULL);

      kmg_ws_append_map_item (out, &items[i]);
      g_assert_cmpstr (out->str, ==, want[i]);
    }
  /* What the hub gets from the server: the same texts, keyed by id. */
  arr = kmg_ws_map_result_to_array (&result);
  g_assert_cmpuint (json_array_get_length (arr), ==, 3);
  set = kmg_map_items_from_array (arr, NULL);
  g_assert_nonnull (set);
  for (guint i = 0; i < G_N_ELEMENTS (items); i++)
    g_assert_cmpstr (g_hash_table_lookup (set, items[i].id), ==, want[i]);
  /* The REST body. */
  kmg_ws_append_map_result (body, &result);
  want_body = g_strdup_printf ("{\"items\":[%s,%s,%s],\"truncated\":true}", want[0], want[1], want[2]);
  g_assert_cmpstr (body->str, ==, want_body);
  g_string_truncate (body, 0);
  result.n_items = 0;
  result.truncated = FALSE;
  kmg_ws_append_map_result (body, &result);
  g_assert_cmpstr (body->str, ==, "{\"items\":[],\"truncated\":false}");
  kmg_map_profile_unref (alice);
  kmg_map_profile_unref (bob);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/signaling/proto/envelope-parse", test_envelope_parse);
  g_test_add_func ("/signaling/proto/envelope-ref-range", test_envelope_ref_range);
  g_test_add_func ("/signaling/proto/address-key", test_address_key);
  g_test_add_func ("/signaling/proto/envelope-build", test_envelope_build);
  g_test_add_func ("/signaling/proto/check-fields", test_check_fields);
  g_test_add_func ("/signaling/proto/token-bucket", test_token_bucket);
  g_test_add_func ("/signaling/proto/bbox-contains", test_bbox_contains);
  g_test_add_func ("/signaling/proto/map-diff", test_map_diff);
  g_test_add_func ("/signaling/proto/map-item-text", test_map_item_text);
  g_test_add_func ("/signaling/proto/map-items-reject-bad", test_map_items_reject_bad);
  g_test_add_func ("/signaling/proto/append-fixed", test_append_fixed);
  g_test_add_func ("/signaling/proto/append-json-string", test_append_json_string);
  g_test_add_func ("/signaling/proto/map-items-from-strings", test_map_items_from_strings);
  return g_test_run ();
}
