/* test-api-privacy.c — DESIGN §4 promise: precise locations live in memory only. Sellers send
 * precise fixes through the real server; the database files, the logs and every output are searched. */

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "ws-client.h"

#define PASSWORD "correct horse battery"

typedef struct
{
  const char *name;
  double lat, lon;
  gboolean live;
} SellerSpec;

/* Precise fixes with more decimals than anything displayed (Paris, New York, Sydney, Quito). */
static const SellerSpec sellers[] = {
  { "paris", 48.8583701, 2.2944813, FALSE },
  { "newyork", 40.6892494, -74.0445004, TRUE },
  { "sydney", -33.8567844, 151.2152967, FALSE },
  { "quito", -0.2201641, -78.5123274, TRUE },
};

/* A second fix each seller sends later (a few metres away). */
#define MOVE 0.0000377

/* ---- log capture ---- */

/* GLib allows one writer per process: it is installed once and appends to @capture while a
 * capture is running, else forwards to the default writer. Unstructured g_log() calls go
 * through the default handler, which the capture replaces and restores. */
static GString *capture;
static GLogFunc saved_handler;
static gpointer saved_handler_data;

static GLogWriterOutput
capture_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  if (capture == NULL)
    return g_log_writer_default (level, fields, n_fields, data);
  for (gsize i = 0; i < n_fields; i++)
    {
      g_string_append_printf (capture, "%s=", fields[i].key);
      if (fields[i].length < 0)
        g_string_append (capture, fields[i].value);
      else
        g_string_append_len (capture, fields[i].value, fields[i].length);
      g_string_append_c (capture, ' ');
    }
  g_string_append_c (capture, '\n');
  return G_LOG_WRITER_HANDLED;
}

static void
capture_handler (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
  g_string_append_printf (capture, "%s: %s\n", domain ? domain : "-", message);
}

static void
capture_start (void)
{
  capture = g_string_new (NULL);
  saved_handler = g_log_set_default_handler (capture_handler, NULL);
  (void) saved_handler_data;
}

static char *
capture_stop (void)
{
  g_log_set_default_handler (saved_handler, saved_handler_data);
  return g_string_free (g_steal_pointer (&capture), FALSE);
}

/* ---- the scenario ---- */

static void
config_setup (KmgConfig *c)
{
  c->grace_s = 1;
  c->ping_s = 1;
  c->min_update_s = 0;
  c->flush_ms = 50;
  g_free (c->log_level);
  c->log_level = g_strdup ("debug");
}

typedef struct
{
  KmgTestServer *ts;
  GString *out; /* every REST body and WebSocket frame the clients received */
} Run;

static void
keep (Run *run, KmgTestResponse *r)
{
  g_string_append_len (run->out, g_bytes_get_data (r->body, NULL),
                       (gssize) g_bytes_get_size (r->body));
  g_string_append_c (run->out, '\n');
}

static void
get (Run *run, const char *token, const char *path)
{
  g_autoptr (KmgTestResponse) r = kmg_test_get (run->ts, token, 200, "%s", path);

  keep (run, r);
}

static void
map (Run *run, double lat, double lon, int zoom, double span)
{
  g_autoptr (KmgTestResponse) r = kmg_test_map (run->ts, lat - span, lon - span, lat + span,
                                                lon + span, zoom);

  keep (run, r);
}

static void
send_fix (KmgTestWs *ws, const char *ref, double lat, double lon)
{
  /* %.10f: the client sends even more decimals than the fixes have. */
  kmg_test_ws_send (ws, "{\"type\":\"location\",\"ref\":\"%s\",\"lat\":%.10f,\"lon\":%.10f,"
                        "\"accuracy\":3.5}",
                    ref, lat, lon);
  g_assert_nonnull (kmg_test_ws_wait (ws, "ack", ref, KMG_TEST_WS_WAIT_MS));
}

static void
scenario (Run *run, GPtrArray *clients)
{
  g_autofree char *admin = kmg_test_admin_token (run->ts, "root", NULL);
  g_autofree char *buyer = kmg_test_register (run->ts, "watcher", PASSWORD, NULL);
  KmgTestWs *bws = kmg_test_ws_connect_auth_message (run->ts, buyer);
  gint64 ids[G_N_ELEMENTS (sellers)];

  g_ptr_array_add (clients, bws);
  for (guint i = 0; i < G_N_ELEMENTS (sellers); i++)
    {
      const SellerSpec *s = &sellers[i];
      g_autofree char *token = kmg_test_seller (run->ts, s->name, 10, &ids[i]);
      KmgTestWs *ws = i % 2 ? kmg_test_ws_connect_auth_message (run->ts, token)
                            : kmg_test_ws_connect (run->ts, token);
      double clat, clon;

      g_ptr_array_add (clients, ws);
      if (i % 2 == 0)
        g_assert_nonnull (kmg_test_ws_wait (ws, "auth_ok", NULL, KMG_TEST_WS_WAIT_MS));
      kmg_test_cell_centre (s->lat, s->lon, 5, &clat, &clon);
      kmg_test_ws_send (bws, "{\"type\":\"profile.watch\",\"ref\":\"w%u\",\"seller_id\":%" G_GINT64_FORMAT "}",
                        i, ids[i]);
      kmg_test_ws_send (bws,
                        "{\"type\":\"map.subscribe\",\"ref\":\"m%u\",\"bbox\":{\"south\":%f,"
                        "\"west\":%f,\"north\":%f,\"east\":%f},\"zoom\":12}",
                        i, clat - 0.3, clon - 0.3, clat + 0.3, clon + 0.3);
      kmg_test_ws_send (ws, "{\"type\":\"hello\",\"ref\":\"h\",\"foreground\":true}");
      send_fix (ws, "l1", s->lat, s->lon);
      if (s->live)
        {
          kmg_test_ws_send (ws, "{\"type\":\"go_live\",\"ref\":\"g\"}");
          g_assert_nonnull (kmg_test_ws_wait (ws, "ack", "g", KMG_TEST_WS_WAIT_MS));
        }
      send_fix (ws, "l2", s->lat + MOVE, s->lon - MOVE);
      send_fix (ws, "l3", s->lat, s->lon);
      /* Location errors must not echo the position either. */
      kmg_test_ws_send (ws, "{\"type\":\"location\",\"ref\":\"bad\",\"lat\":%.7f,\"lon\":%.7f,"
                            "\"extra\":1}",
                        s->lat, s->lon);
      g_assert_nonnull (kmg_test_ws_wait (ws, "error", "bad", KMG_TEST_WS_WAIT_MS));
      g_assert_nonnull (kmg_test_ws_wait (bws, "map.snapshot", NULL, KMG_TEST_WS_WAIT_MS));

      map (run, clat, clon, 12, 0.3);
      map (run, s->lat, s->lon, 16, 0.02);
      map (run, s->lat, s->lon, 3, 20);
      {
        g_autofree char *p = g_strdup_printf ("/api/v1/sellers/%" G_GINT64_FORMAT, ids[i]);
        get (run, NULL, p);
      }
    }
  get (run, admin, "/api/v1/admin/presence");
  get (run, admin, "/api/v1/admin/users");
  get (run, admin, "/api/v1/admin/actions");
  get (run, NULL, "/metrics");
  map (run, 0, 0, 0, 89);

  /* Hide one, ban one, background one: each goes through logging paths. */
  {
    KmgTestWs *ws = g_ptr_array_index (clients, 1);
    g_autofree char *ban = g_strdup_printf ("/api/v1/admin/users/%" G_GINT64_FORMAT "/ban", ids[1]);
    g_autoptr (KmgTestResponse) r = NULL;

    kmg_test_ws_send (ws, "{\"type\":\"map.visibility\",\"ref\":\"v\",\"hidden\":true}");
    g_assert_nonnull (kmg_test_ws_wait (ws, "map.visibility", "v", KMG_TEST_WS_WAIT_MS));
    r = kmg_test_request (run->ts, "POST", ban, admin, "{\"reason\":\"privacy test\"}");
    g_assert_cmpuint (r->status, ==, 200);
    keep (run, r);
  }
  kmg_test_ws_send (g_ptr_array_index (clients, 3),
                    "{\"type\":\"app_state\",\"ref\":\"bg\",\"foreground\":false}");
  g_assert_nonnull (kmg_test_ws_wait (g_ptr_array_index (clients, 3), "ack", "bg",
                                      KMG_TEST_WS_WAIT_MS));
  get (run, admin, "/api/v1/admin/presence");
  kmg_test_pump (200); /* let pending map diffs flush to the subscriber */
  for (guint i = 0; i < clients->len; i++)
    {
      KmgTestWs *ws = g_ptr_array_index (clients, i);
      g_string_append (run->out, ws->raw->str);
    }
}

/* ---- the search ---- */

/* json-glib's text for a double, as any JSON output of ours would print it. */
static char *
json_double_text (double v)
{
  g_autoptr (JsonNode) n = json_node_new (JSON_NODE_VALUE);

  json_node_set_double (n, v);
  return json_to_string (n, FALSE);
}

/* Every textual form of a precise coordinate that must appear nowhere. */
static GPtrArray *
forbidden_forms (double v)
{
  GPtrArray *forms = g_ptr_array_new_with_free_func (g_free);
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_ptr_array_add (forms, g_strdup_printf ("%.7f", v));
  g_ptr_array_add (forms, g_strdup_printf ("%.6f", v));
  g_ptr_array_add (forms, g_strdup_printf ("%.5f", v));
  g_ptr_array_add (forms, g_strdup (g_ascii_dtostr (buf, sizeof buf, v)));
  g_ptr_array_add (forms, json_double_text (v));
  g_ptr_array_add (forms, g_strdup_printf ("%.17g", v));
  g_ptr_array_add (forms, g_strdup_printf ("%.9g", v));
  /* Integer micro/decimicro-degrees, in case someone stores fixed point. */
  g_ptr_array_add (forms, g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) llround (fabs (v) * 1e7)));
  return forms;
}

static gboolean
contains (const guint8 *hay, gsize len, const void *needle, gsize nlen)
{
  if (nlen == 0 || len < nlen)
    return FALSE;
  for (gsize i = 0; i + nlen <= len; i++)
    if (hay[i] == ((const guint8 *) needle)[0] && memcmp (hay + i, needle, nlen) == 0)
      return TRUE;
  return FALSE;
}

static void
assert_absent (const char *what, const guint8 *data, gsize len, double v)
{
  g_autoptr (GPtrArray) forms = forbidden_forms (v);
  guint64 bits;
  guint8 be[8], le[8];

  for (guint i = 0; i < forms->len; i++)
    if (contains (data, len, g_ptr_array_index (forms, i), strlen (g_ptr_array_index (forms, i))))
      g_error ("%s contains the precise coordinate %.7f as \"%s\"", what, v,
               (const char *) g_ptr_array_index (forms, i));
  /* SQLite stores REAL big-endian; a struct dump would be little-endian. */
  memcpy (&bits, &v, sizeof bits);
  for (int i = 0; i < 8; i++)
    {
      be[i] = (guint8) (bits >> (56 - 8 * i));
      le[i] = (guint8) (bits >> (8 * i));
    }
  if (contains (data, len, be, 8) || contains (data, len, le, 8))
    g_error ("%s contains the precise coordinate %.7f as a binary double", what, v);
}

/* The forms must not occur inside the displayed texts either, else the search would be void. */
static void
assert_forms_distinct (double precise, double displayed)
{
  g_autoptr (GPtrArray) forms = forbidden_forms (precise);
  g_autofree char *shown = json_double_text (displayed);

  for (guint i = 0; i < forms->len; i++)
    g_assert_null (strstr (shown, g_ptr_array_index (forms, i)));
}

static void
read_tree (const char *dir, GString *into, guint *n_files)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *data = NULL;
      gsize len = 0;

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        read_tree (path, into, n_files);
      else if (g_file_get_contents (path, &data, &len, NULL))
        {
          g_string_append_len (into, data, (gssize) len);
          (*n_files)++;
        }
    }
}

static void
test_precise_never_stored (void)
{
  g_autoptr (GPtrArray) clients = g_ptr_array_new_with_free_func ((GDestroyNotify) kmg_test_ws_free);
  g_autoptr (GString) files = g_string_new (NULL);
  g_autofree char *logs = NULL;
  g_autofree char *db = NULL, *wal = NULL;
  Run run = { NULL, g_string_new (NULL) };
  guint n_files = 0;

  capture_start ();
  run.ts = kmg_test_server_new (config_setup);
  scenario (&run, clients);

  /* The store as it is on disk while running (the WAL holds the recent pages). */
  db = g_build_filename (run.ts->data_dir, "kamegor.db", NULL);
  wal = g_strconcat (db, "-wal", NULL);
  g_assert_true (g_file_test (db, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (wal, G_FILE_TEST_EXISTS));
  read_tree (run.ts->data_dir, files, &n_files);
  g_assert_cmpuint (n_files, >=, 2);
  g_assert_cmpuint (files->len, >, 4096);

  g_clear_pointer (&clients, g_ptr_array_unref);
  kmg_test_server_free (g_steal_pointer (&run.ts));
  logs = capture_stop ();
  g_test_message ("%u bytes of outputs, %" G_GSIZE_FORMAT " bytes of files, %" G_GSIZE_FORMAT
                  " bytes of logs",
                  (guint) run.out->len, files->len, strlen (logs));
  /* The capture saw the server's debug records (so it would have seen a position). */
  g_assert_nonnull (strstr (logs, "kamegor-"));
  g_assert_nonnull (strstr (logs, "presence"));

  for (guint i = 0; i < G_N_ELEMENTS (sellers); i++)
    {
      const SellerSpec *s = &sellers[i];
      double clat, clon;
      const double lats[] = { s->lat, s->lat + MOVE }, lons[] = { s->lon, s->lon - MOVE };

      kmg_test_cell_centre (s->lat, s->lon, 5, &clat, &clon);
      assert_forms_distinct (s->lat, s->live ? round (s->lat * 1e4) / 1e4 : clat);
      assert_forms_distinct (s->lon, s->live ? round (s->lon * 1e4) / 1e4 : clon);
      for (guint k = 0; k < 2; k++)
        {
          assert_absent ("the outputs", (const guint8 *) run.out->str, run.out->len, lats[k]);
          assert_absent ("the outputs", (const guint8 *) run.out->str, run.out->len, lons[k]);
          assert_absent ("the data files", (const guint8 *) files->str, files->len, lats[k]);
          assert_absent ("the data files", (const guint8 *) files->str, files->len, lons[k]);
          assert_absent ("the logs", (const guint8 *) logs, strlen (logs), lats[k]);
          assert_absent ("the logs", (const guint8 *) logs, strlen (logs), lons[k]);
        }
      /* What is displayed does appear: cell centres online, 4 decimals live. */
      {
        g_autofree char *shown_lat = json_double_text (s->live ? round (s->lat * 1e4) / 1e4 : clat);
        g_autofree char *shown_lon = json_double_text (s->live ? round (s->lon * 1e4) / 1e4 : clon);
        g_test_message ("%s: displayed %s, %s", s->name, shown_lat, shown_lon);
        g_assert_nonnull (strstr (run.out->str, shown_lat));
        g_assert_nonnull (strstr (run.out->str, shown_lon));
      }
    }
  g_string_free (run.out, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (capture_writer, NULL, NULL);
  g_test_add_func ("/api/privacy/precise-never-stored", test_precise_never_stored);
  return g_test_run ();
}
