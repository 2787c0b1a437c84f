/* test-api-error.c — the one error table: every row is reachable on both APIs, every code it gives
 * is documented (docs/api.md, docs/protocol.md), and every code of the viewport and request
 * domains maps as the documentation says. */

#include "kmg-api-error.h"
#include "kmg-json.h"
#include "kmg-db.h"
#include "kmg-map.h"
#include "kmg-session-types.h"
#include "kmg-signaling.h"

#include <gio/gio.h>
#include <string.h>

static const KmgApiErrorRow *
rows (guint *n)
{
  const KmgApiErrorRow *r = kmg_api_error_rows (n);

  g_assert_cmpuint (*n, >, 0);
  return r;
}

/* Each row answers for its own (domain, code): none is shadowed by an earlier duplicate. */
static void
test_rows_reachable (void)
{
  guint n;
  const KmgApiErrorRow *r = rows (&n);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GError) error = g_error_new_literal (r[i].domain (), r[i].code, "x");
      guint status = 0;
      const char *code = NULL;
      gboolean http = kmg_api_error_map (error, &status, &code);

      g_test_message ("row %u: %s %d", i, g_quark_to_string (r[i].domain ()), r[i].code);
      g_assert_true (r[i].api_code != NULL || r[i].ws_code != NULL);
      g_assert_cmpint (http, ==, r[i].api_code != NULL);
      if (http)
        {
          g_assert_cmpuint (status, ==, r[i].status);
          g_assert_cmpstr (code, ==, r[i].api_code);
          g_assert_cmpuint (status, >=, 400);
          g_assert_cmpuint (status, <=, 599);
        }
      else
        g_assert_cmpuint (r[i].status, ==, 0);
      g_assert_cmpstr (kmg_api_error_ws_code (error), ==, r[i].ws_code);
      for (guint j = 0; j < i; j++)
        g_assert_false (r[j].domain () == r[i].domain () && r[j].code == r[i].code);
    }
}

static char *
read_doc (const char *name)
{
  const char *root = g_getenv ("KMG_SOURCE_DIR");
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;
  char *text = NULL;

  g_assert_nonnull (root);
  path = g_build_filename (root, "docs", name, NULL);
  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_no_error (error);
  return text;
}

/* The documentation lists every code the table can give, with its HTTP status. */
static void
test_codes_documented (void)
{
  g_autofree char *api = read_doc ("api.md");
  g_autofree char *protocol = read_doc ("protocol.md");
  const char *ws_codes = strstr (protocol, "## All WebSocket error codes");
  guint n;
  const KmgApiErrorRow *r = rows (&n);

  g_assert_nonnull (ws_codes);
  for (guint i = 0; i < n; i++)
    {
      if (r[i].api_code != NULL)
        {
          g_autofree char *line = g_strdup_printf ("| %u | `%s` |", r[i].status, r[i].api_code);

          if (strstr (api, line) == NULL)
            g_error ("docs/api.md has no row \"%s\"", line);
        }
      if (r[i].ws_code != NULL)
        {
          g_autofree char *cell = g_strdup_printf ("`%s`", r[i].ws_code);
          g_autofree char *row = g_strdup_printf ("| `%s` |", r[i].ws_code);

          /* The closing list, or a row of the session codes' table. */
          if (strstr (ws_codes, cell) == NULL && strstr (protocol, row) == NULL)
            g_error ("docs/protocol.md lists no WebSocket code %s", cell);
        }
    }
}

typedef struct
{
  GQuark domain;
  int code;
  guint status;         /* 0: not an HTTP error (500 internal_error) */
  const char *api_code; /* NULL: not an HTTP error */
  const char *ws_code;  /* NULL: "internal" on the WebSocket */
} Want;

/* Every code of the domains a request can fail in, including those deliberately left out. */
static void
test_every_code_maps (void)
{
  const Want want[] = {
    { KMG_JSON_ERROR, KMG_JSON_ERROR_SYNTAX, 400, "bad_json", "bad_request" },
    { KMG_JSON_ERROR, KMG_JSON_ERROR_NOT_OBJECT, 400, "bad_json", "bad_request" },
    { KMG_JSON_ERROR, KMG_JSON_ERROR_UNKNOWN_FIELD, 400, "unknown_field", "bad_request" },
    { KMG_JSON_ERROR, KMG_JSON_ERROR_MISSING, 400, "missing_field", "bad_request" },
    { KMG_JSON_ERROR, KMG_JSON_ERROR_TYPE, 400, "bad_type", "bad_request" },
    { KMG_JSON_ERROR, KMG_JSON_ERROR_RANGE, 400, "out_of_range", "bad_request" },
    { KMG_MAP_ERROR, KMG_MAP_ERROR_INVALID_COORDINATE, 400, "bad_viewport", "bad_request" },
    { KMG_MAP_ERROR, KMG_MAP_ERROR_INVALID_BBOX, 400, "bad_viewport", "bad_request" },
    { KMG_MAP_ERROR, KMG_MAP_ERROR_INVALID_ZOOM, 400, "out_of_range", "bad_request" },
    { KMG_MAP_ERROR, KMG_MAP_ERROR_BBOX_TOO_LARGE, 400, "bad_viewport", "bad_request" },
    /* Never a client's doing: the server chose the status and the config. */
    { KMG_MAP_ERROR, KMG_MAP_ERROR_INVALID_STATUS, 0, NULL, NULL },
    { KMG_MAP_ERROR, KMG_MAP_ERROR_INVALID_CONFIG, 0, NULL, NULL },
    { KMG_SIGNALING_ERROR, KMG_SIGNALING_ERROR_BAD_REQUEST, 0, NULL, "bad_request" },
    { KMG_SIGNALING_ERROR, KMG_SIGNALING_ERROR_FORBIDDEN, 0, NULL, "forbidden" },
    { KMG_SIGNALING_ERROR, KMG_SIGNALING_ERROR_NOT_FOUND, 0, NULL, "not_found" },
    { KMG_SIGNALING_ERROR, KMG_SIGNALING_ERROR_CONFLICT, 0, NULL, "conflict" },
    { KMG_SIGNALING_ERROR, KMG_SIGNALING_ERROR_INTERNAL, 0, NULL, "internal" },
    /* Every watch-session refusal has its documented WebSocket code (and no HTTP form). */
    { KMG_SESSION_ERROR, KMG_SESSION_ERROR_NOT_STREAMING, 0, NULL, "not_streaming" },
    { KMG_SESSION_ERROR, KMG_SESSION_ERROR_NOT_SELLER, 0, NULL, "not_seller" },
    { KMG_SESSION_ERROR, KMG_SESSION_ERROR_SELF, 0, NULL, "self" },
    { KMG_SESSION_ERROR, KMG_SESSION_ERROR_BANNED, 0, NULL, "banned" },
    { KMG_SESSION_ERROR, KMG_SESSION_ERROR_INSUFFICIENT_CREDITS, 0, NULL, "insufficient_credits" },
    { KMG_SESSION_ERROR, KMG_SESSION_ERROR_ALREADY_WATCHING, 0, NULL, "already_watching" },
    { KMG_SESSION_ERROR, KMG_SESSION_ERROR_SELLER_BUSY, 0, NULL, "seller_busy" },
    { KMG_SESSION_ERROR, KMG_SESSION_ERROR_NOT_FOUND, 0, NULL, "not_found" },
    { KMG_SESSION_ERROR, KMG_SESSION_ERROR_NOT_PARTICIPANT, 0, NULL, "not_participant" },
    { KMG_SESSION_ERROR, KMG_SESSION_ERROR_FORBIDDEN, 0, NULL, "forbidden" },
    { KMG_SESSION_ERROR, KMG_SESSION_ERROR_SESSION_ENDED, 0, NULL, "session_ended" },
    { KMG_SESSION_ERROR, KMG_SESSION_ERROR_BAD_STATE, 0, NULL, "bad_state" },
    { KMG_SESSION_ERROR, KMG_SESSION_ERROR_STALE_PATH, 0, NULL, "stale_path" },
    { KMG_SESSION_ERROR, KMG_SESSION_ERROR_INVALID, 0, NULL, "bad_request" },
    { KMG_SESSION_ERROR, KMG_SESSION_ERROR_DENIED_ADDRESS, 0, NULL, "denied_address" },
    { KMG_SESSION_ERROR, KMG_SESSION_ERROR_TOO_LARGE, 0, NULL, "too_large" },
    { KMG_SESSION_ERROR, KMG_SESSION_ERROR_RELAY_UNAVAILABLE, 0, NULL, "relay_unavailable" },
    { KMG_DB_ERROR, KMG_DB_ERROR_OPEN, 0, NULL, NULL },
    { KMG_DB_ERROR, KMG_DB_ERROR_SQL, 0, NULL, NULL },
    { KMG_DB_ERROR, KMG_DB_ERROR_CONSTRAINT, 409, "conflict", NULL },
    { KMG_DB_ERROR, KMG_DB_ERROR_BUSY, 503, "busy", NULL },
    { G_IO_ERROR, G_IO_ERROR_FAILED, 0, NULL, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    {
      g_autoptr (GError) error = g_error_new_literal (want[i].domain, want[i].code, "x");
      guint status = 0;
      const char *code = NULL;

      g_test_message ("%s %d", g_quark_to_string (want[i].domain), want[i].code);
      g_assert_cmpint (kmg_api_error_map (error, &status, &code), ==, want[i].api_code != NULL);
      if (want[i].api_code != NULL)
        {
          g_assert_cmpuint (status, ==, want[i].status);
          g_assert_cmpstr (code, ==, want[i].api_code);
        }
      g_assert_cmpstr (kmg_api_error_ws_code (error), ==, want[i].ws_code);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/server/api-error/rows-reachable", test_rows_reachable);
  g_test_add_func ("/server/api-error/codes-documented", test_codes_documented);
  g_test_add_func ("/server/api-error/every-code-maps", test_every_code_maps);
  return g_test_run ();
}
