/* test-api-map.c — GET /api/v1/map against the real server: strict query numbers, the same
 * refusals (rule, code from the one error table, message) as map.subscribe, the same items. */

#include <string.h>

#include "kmg-api-error.h"
#include "kmg-json.h"
#include "kmg-map.h"
#include "ws-client.h"

#define PASSWORD "correct horse battery"
#define WAIT KMG_TEST_WS_WAIT_MS

typedef struct
{
  KmgTestServer *ts;
  char *buyer;
} Fixture;

static void
config_setup (KmgConfig *c)
{
  c->min_update_s = 0;
  c->flush_ms = 50;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->ts = kmg_test_server_new (config_setup);
  f->buyer = kmg_test_register (f->ts, "bruno", PASSWORD, NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_free (f->buyer);
  g_clear_pointer (&f->ts, kmg_test_server_free);
}

static const char *
error_message (KmgTestResponse *r)
{
  JsonObject *e = json_object_get_object_member (kmg_test_response_object (r), "error");

  return json_object_get_string_member (e, "message");
}

/* Query numbers are plain decimals: no exponent, hex, sign '+', spaces, inf/nan, bare '.'. */
static void
test_query_numbers_strict (Fixture *f, gconstpointer data)
{
  static const char *const names[] = { "south", "west", "north", "east", "zoom" };
  const char *good[] = { "48.8", "2.2", "48.9", "2.5", "12" };
  static const char *const bad[] = { "1e1", "0x30", "0X1p4", "inf", "nan", "+5", " 5", "5 ", ".5",
                                     "5.", "1,5", "--1", "-", "1.2.3", "1e", "١" };

  for (guint p = 0; p < G_N_ELEMENTS (names); p++)
    for (guint b = 0; b < G_N_ELEMENTS (bad); b++)
      {
        const char *v[G_N_ELEMENTS (names)];
        g_autofree char *escaped = g_uri_escape_string (bad[b], NULL, FALSE);
        g_autofree char *want = g_strdup_printf ("query parameter '%s' must be a number", names[p]);
        g_autoptr (KmgTestResponse) r = NULL;

        memcpy (v, good, sizeof v);
        v[p] = escaped;
        r = kmg_test_get (f->ts, NULL, 400, "/api/v1/map?south=%s&west=%s&north=%s&east=%s&zoom=%s",
                          v[0], v[1], v[2], v[3], v[4]);
        g_assert_cmpstr (kmg_test_response_error_code (r), ==, "bad_type");
        g_assert_cmpstr (error_message (r), ==, want);
      }
  /* The two forms g_ascii_strtod took as numbers before. */
  {
    g_autoptr (KmgTestResponse) r = kmg_test_get (f->ts, NULL, 400,
                                                  "/api/v1/map?south=48.8&west=2.2&north=48.9&east=2.5&zoom=1e1");
    g_autoptr (KmgTestResponse) r2 = kmg_test_get (f->ts, NULL, 400,
                                                   "/api/v1/map?south=0x30&west=2.2&north=48.9&east=2.5&zoom=10");

    g_assert_cmpstr (kmg_test_response_error_code (r), ==, "bad_type");
    g_assert_cmpstr (kmg_test_response_error_code (r2), ==, "bad_type");
  }
  /* Plain decimals still pass, negative and with a zero fraction included. */
  {
    g_autoptr (KmgTestResponse) r = kmg_test_get (f->ts, NULL, 200,
                                                  "/api/v1/map?south=-0.5&west=-0.5&north=0.50&east=000.5&zoom=12.0");

    g_assert_nonnull (json_object_get_array_member (kmg_test_response_object (r), "items"));
  }
  {
    g_autoptr (KmgTestResponse) r = kmg_test_get (f->ts, NULL, 400,
                                                  "/api/v1/map?south=48.8&west=2.2&north=48.9&east=2.5");

    g_assert_cmpstr (kmg_test_response_error_code (r), ==, "missing_field");
  }
}

typedef struct
{
  double s, w, n, e, zoom;
  KmgMapError code;
} BadViewport;

/* Every viewport refusal: the same rule (the map's), the same table row, the same message. */
static void
test_viewport_refusals_match_ws (Fixture *f, gconstpointer data)
{
  static const BadViewport cases[] = {
    { 50, 2.2, 48.9, 2.5, 10, KMG_MAP_ERROR_INVALID_BBOX },
    { 0, 0, 10, 10, 10, KMG_MAP_ERROR_BBOX_TOO_LARGE },
    { 0, 170, 1, -170, 12, KMG_MAP_ERROR_BBOX_TOO_LARGE },
    { 48.8, 2.2, 91, 2.5, 10, KMG_MAP_ERROR_INVALID_COORDINATE },
    { 48.8, -181, 48.9, 2.5, 10, KMG_MAP_ERROR_INVALID_COORDINATE },
    { 48.8, 2.2, 48.9, 2.5, 23, KMG_MAP_ERROR_INVALID_ZOOM },
    { 48.8, 2.2, 48.9, 2.5, -1, KMG_MAP_ERROR_INVALID_ZOOM },
    { 48.8, 2.2, 48.9, 2.5, 30, KMG_MAP_ERROR_INVALID_ZOOM },
    { 48.8, 2.2, 48.9, 2.5, 1000, KMG_MAP_ERROR_INVALID_ZOOM },
    /* Both wrong: the zoom is judged first, on either API. */
    { 50, 2.2, 48.9, 2.5, 23, KMG_MAP_ERROR_INVALID_ZOOM },
  };
  g_autoptr (KmgTestWs) ws = kmg_test_ws_connect_auth_message (f->ts, f->buyer);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const BadViewport *c = &cases[i];
      char s[G_ASCII_DTOSTR_BUF_SIZE], w[G_ASCII_DTOSTR_BUF_SIZE], n[G_ASCII_DTOSTR_BUF_SIZE],
          e[G_ASCII_DTOSTR_BUF_SIZE];
      g_autoptr (GError) want = NULL;
      g_autoptr (KmgTestResponse) r = NULL;
      g_autofree char *ref = g_strdup_printf ("v%u", i);
      KmgMapViewport vp;
      guint status = 0;
      const char *http_code = NULL, *ws_code;
      JsonObject *err;

      g_assert_false (kmg_map_viewport_init (&vp, c->s, c->w, c->n, c->e, c->zoom, &want));
      g_assert_error (want, KMG_MAP_ERROR, (gint) c->code);
      g_assert_true (kmg_api_error_map (want, &status, &http_code));
      ws_code = kmg_api_error_ws_code (want);
      /* The documented codes of either API. */
      g_assert_cmpstr (http_code, ==, c->code == KMG_MAP_ERROR_INVALID_ZOOM ? "out_of_range" : "bad_viewport");
      g_assert_cmpstr (ws_code, ==, "bad_request");

      g_ascii_formatd (s, sizeof s, "%.6f", c->s);
      g_ascii_formatd (w, sizeof w, "%.6f", c->w);
      g_ascii_formatd (n, sizeof n, "%.6f", c->n);
      g_ascii_formatd (e, sizeof e, "%.6f", c->e);
      r = kmg_test_get (f->ts, NULL, status, "/api/v1/map?south=%s&west=%s&north=%s&east=%s&zoom=%d", s,
                        w, n, e, (int) c->zoom);
      g_assert_cmpstr (kmg_test_response_error_code (r), ==, http_code);
      g_assert_cmpstr (error_message (r), ==, want->message);

      kmg_test_ws_send (ws,
                        "{\"type\":\"map.subscribe\",\"ref\":\"%s\",\"bbox\":{\"south\":%s,\"west\":%s,"
                        "\"north\":%s,\"east\":%s},\"zoom\":%d}",
                        ref, s, w, n, e, (int) c->zoom);
      err = kmg_test_ws_wait (ws, "error", ref, WAIT);
      g_assert_nonnull (err);
      g_assert_cmpstr (json_object_get_string_member (err, "code"), ==, ws_code);
      g_assert_cmpstr (json_object_get_string_member (err, "message"), ==, want->message);
    }
  /* A fraction is no zoom either (HTTP reads numbers; JSON already types it). */
  {
    g_autoptr (KmgTestResponse) r = kmg_test_get (f->ts, NULL, 400,
                                                  "/api/v1/map?south=48.8&west=2.2&north=48.9&east=2.5&zoom=12.5");

    g_assert_cmpstr (kmg_test_response_error_code (r), ==, "out_of_range");
    g_assert_cmpstr (error_message (r), ==, "zoom must be an integer from 0 to 22");
  }
}

static char *
canonical_item (JsonObject *item)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), item);

  return kmg_json_to_string (node);
}

static gint
cmp_text (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static GPtrArray *
sorted_items (JsonArray *items)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < json_array_get_length (items); i++)
    g_ptr_array_add (out, canonical_item (json_array_get_object_element (items, i)));
  g_ptr_array_sort (out, cmp_text);
  return out;
}

/* The REST snapshot and a map.snapshot hold the very same items, byte for byte once parsed. */
static void
test_rest_and_ws_same_items (Fixture *f, gconstpointer data)
{
  g_autofree char *seller = kmg_test_seller (f->ts, "sally", 10, NULL);
  g_autoptr (KmgTestWs) sws = kmg_test_ws_connect_auth_message (f->ts, seller);
  g_autoptr (KmgTestWs) ws = kmg_test_ws_connect_auth_message (f->ts, f->buyer);
  g_autoptr (KmgTestResponse) r = NULL;
  g_autoptr (GPtrArray) rest = NULL, snap = NULL;
  JsonObject *s;

  kmg_test_ws_send (sws, "{\"type\":\"hello\",\"ref\":\"h\",\"foreground\":true}");
  g_assert_nonnull (kmg_test_ws_wait (sws, "presence", "h", WAIT));
  kmg_test_ws_send (sws, "{\"type\":\"location\",\"ref\":\"l\",\"lat\":48.8583701,\"lon\":2.2944813}");
  g_assert_nonnull (kmg_test_ws_wait (sws, "ack", "l", WAIT));

  r = kmg_test_map (f->ts, 48.7, 2.1, 49.0, 2.5, 12);
  kmg_test_ws_send (ws, "{\"type\":\"map.subscribe\",\"ref\":\"m\",\"bbox\":{\"south\":48.7,\"west\":2.1,"
                        "\"north\":49.0,\"east\":2.5},\"zoom\":12}");
  s = kmg_test_ws_wait (ws, "map.snapshot", "m", WAIT);
  g_assert_nonnull (s);
  rest = sorted_items (json_object_get_array_member (kmg_test_response_object (r), "items"));
  snap = sorted_items (json_object_get_array_member (s, "items"));
  g_assert_cmpuint (rest->len, ==, 1);
  g_assert_cmpuint (snap->len, ==, rest->len);
  for (guint i = 0; i < rest->len; i++)
    g_assert_cmpstr (snap->pdata[i], ==, rest->pdata[i]);
  g_assert_false (json_object_get_boolean_member (kmg_test_response_object (r), "truncated"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) g_test_add ("/api/map/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("query-numbers-strict", test_query_numbers_strict);
  ADD ("viewport-refusals-match-ws", test_viewport_refusals_match_ws);
  ADD ("rest-and-ws-same-items", test_rest_and_ws_same_items);
#undef ADD
  return g_test_run ();
}
