/* test-api-realtime.c — presence and the live map through the real server: WebSocket sellers going
 * online, live, background and hidden, seen by the REST map, seller profiles and watchers. */

#include <math.h>
#include <string.h>

#include "ws-client.h"

#define PASSWORD "correct horse battery"
#define LAT 48.8583701
#define LON 2.2944813
#define GRACE_S 1
#define WAIT KMG_TEST_WS_WAIT_MS

typedef struct
{
  KmgTestServer *ts;
  char *seller;
  gint64 seller_id;
  char *buyer;
  gint64 buyer_id;
  double clat, clon; /* displayed position while online */
} Fixture;

static void
config_setup (KmgConfig *c)
{
  c->grace_s = GRACE_S;
  c->ping_s = 1;
  c->min_update_s = 0;
  c->flush_ms = 50;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->ts = kmg_test_server_new (config_setup);
  f->seller = kmg_test_seller (f->ts, "sally", 10, &f->seller_id);
  f->buyer = kmg_test_register (f->ts, "bruno", PASSWORD, &f->buyer_id);
  kmg_test_cell_centre (LAT, LON, 5, &f->clat, &f->clon);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_free (f->seller);
  g_free (f->buyer);
  g_clear_pointer (&f->ts, kmg_test_server_free);
}

static KmgTestResponse *
map_here (Fixture *f)
{
  return kmg_test_map (f->ts, f->clat - 0.2, f->clon - 0.2, f->clat + 0.2, f->clon + 0.2, 12);
}

/* The REST marker of the seller: NULL when it is not on the map. */
static JsonObject *
marker (Fixture *f, KmgTestResponse **keep)
{
  g_clear_pointer (keep, kmg_test_response_free);
  *keep = map_here (f);
  return kmg_test_map_marker (*keep, f->seller_id);
}

static void
assert_status (Fixture *f, const char *status)
{
  g_autofree char *s = kmg_test_seller_status (f->ts, f->seller_id);

  g_assert_cmpstr (s, ==, status);
}

/* Sends hello (foreground) and a precise fix; waits for the ack of the fix. */
static void
go_online (KmgTestWs *ws)
{
  kmg_test_ws_send (ws, "{\"type\":\"hello\",\"ref\":\"h\",\"foreground\":true,\"platform\":\"test\"}");
  g_assert_nonnull (kmg_test_ws_wait (ws, "presence", "h", WAIT));
  kmg_test_ws_send (ws, "{\"type\":\"location\",\"ref\":\"l\",\"lat\":%.7f,\"lon\":%.7f,\"accuracy\":5}",
                    LAT, LON);
  g_assert_nonnull (kmg_test_ws_wait (ws, "ack", "l", WAIT));
}

static KmgTestWs *
seller_ws (Fixture *f)
{
  KmgTestWs *ws = kmg_test_ws_connect (f->ts, f->seller);

  g_assert_nonnull (ws->ws);
  g_assert_nonnull (kmg_test_ws_wait (ws, "auth_ok", NULL, WAIT));
  return ws;
}

typedef struct
{
  gint64 seller_id;
  const char *status;
} StatusMatch;

static gboolean
match_status (JsonObject *msg, gconstpointer data)
{
  const StatusMatch *m = data;

  return g_strcmp0 (json_object_get_string_member_with_default (msg, "type", ""), "profile.status")
             == 0
         && json_object_get_int_member_with_default (msg, "seller_id", 0) == m->seller_id
         && (m->status == NULL
             || g_strcmp0 (json_object_get_string_member (msg, "status"), m->status) == 0);
}

/* Waits for a profile.status push of @status for the seller. */
static void
watcher_sees (Fixture *f, KmgTestWs *w, const char *status)
{
  StatusMatch m = { f->seller_id, status };

  if (kmg_test_ws_wait_match (w, match_status, &m, WAIT) == NULL)
    g_error ("watcher saw no profile.status %s; it received:\n%s", status, w->raw->str);
}

static KmgTestWs *
watcher (Fixture *f, const char *expect_status)
{
  KmgTestWs *w = kmg_test_ws_connect_auth_message (f->ts, f->buyer);
  JsonObject *st;

  kmg_test_ws_send (w, "{\"type\":\"profile.watch\",\"ref\":\"w\",\"seller_id\":%" G_GINT64_FORMAT "}",
                    f->seller_id);
  st = kmg_test_ws_wait (w, "profile.status", "w", WAIT);
  g_assert_nonnull (st);
  g_assert_cmpstr (json_object_get_string_member (st, "status"), ==, expect_status);
  return w;
}

/* ---- tests ---- */

static void
test_online_at_cell_centre (Fixture *f, gconstpointer data)
{
  g_autoptr (KmgTestWs) ws = seller_ws (f);
  g_autoptr (KmgTestResponse) keep = NULL;
  JsonObject *m, *p;

  /* Connected but without a fix: offline, not on the map. */
  kmg_test_ws_send (ws, "{\"type\":\"hello\",\"ref\":\"h0\",\"foreground\":true}");
  p = kmg_test_ws_wait (ws, "presence", "h0", WAIT);
  g_assert_cmpstr (json_object_get_string_member (p, "state"), ==, "offline");
  g_assert_null (marker (f, &keep));
  assert_status (f, "offline");

  /* A bad fix is refused and changes nothing. */
  kmg_test_ws_send (ws, "{\"type\":\"location\",\"ref\":\"bad\",\"lat\":91,\"lon\":2}");
  p = kmg_test_ws_wait (ws, "error", "bad", WAIT);
  g_assert_cmpstr (json_object_get_string_member (p, "code"), ==, "bad_request");
  kmg_test_ws_send (ws, "{\"type\":\"location\",\"ref\":\"bad2\",\"lat\":\"48.8\",\"lon\":2}");
  g_assert_nonnull (kmg_test_ws_wait (ws, "error", "bad2", WAIT));
  g_assert_null (marker (f, &keep));
  assert_status (f, "offline");

  go_online (ws);
  kmg_test_ws_send (ws, "{\"type\":\"hello\",\"ref\":\"h2\"}");
  p = kmg_test_ws_wait (ws, "presence", "h2", WAIT);
  g_assert_nonnull (p);
  g_assert_cmpstr (json_object_get_string_member (p, "state"), ==, "online");
  m = marker (f, &keep);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m, "status"), ==, "online");
  g_assert_cmpstr (json_object_get_string_member (m, "username"), ==, "sally");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (m, "lat"), f->clat, 1e-9);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (m, "lon"), f->clon, 1e-9);
  g_assert_cmpfloat (fabs (json_object_get_double_member (m, "lat") - LAT), >, 1e-4);
  assert_status (f, "online");

  /* A move inside the same cell does not move the marker. */
  kmg_test_ws_send (ws, "{\"type\":\"location\",\"ref\":\"l2\",\"lat\":%.7f,\"lon\":%.7f}",
                    LAT + 0.0001, LON - 0.0001);
  g_assert_nonnull (kmg_test_ws_wait (ws, "ack", "l2", WAIT));
  m = marker (f, &keep);
  g_assert_nonnull (m);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (m, "lat"), f->clat, 1e-9);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (m, "lon"), f->clon, 1e-9);
}

static void
test_go_live_rounded (Fixture *f, gconstpointer data)
{
  g_autoptr (KmgTestWs) ws = seller_ws (f);
  g_autoptr (KmgTestWs) bws = kmg_test_ws_connect_auth_message (f->ts, f->buyer);
  g_autoptr (KmgTestResponse) keep = NULL;
  JsonObject *m, *e;

  /* Not online yet, and (online but) not a seller: both refused. */
  kmg_test_ws_send (ws, "{\"type\":\"go_live\",\"ref\":\"g0\"}");
  e = kmg_test_ws_wait (ws, "error", "g0", WAIT);
  g_assert_cmpstr (json_object_get_string_member (e, "code"), ==, "not_online");
  go_online (bws);
  kmg_test_ws_send (bws, "{\"type\":\"go_live\",\"ref\":\"gb\"}");
  e = kmg_test_ws_wait (bws, "error", "gb", WAIT);
  g_assert_cmpstr (json_object_get_string_member (e, "code"), ==, "forbidden");

  go_online (ws);
  kmg_test_ws_send (ws, "{\"type\":\"go_live\",\"ref\":\"g\"}");
  g_assert_nonnull (kmg_test_ws_wait (ws, "ack", "g", WAIT));
  m = marker (f, &keep);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m, "status"), ==, "streaming");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (m, "lat"), round (LAT * 1e4) / 1e4,
                                  1e-9);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (m, "lon"), round (LON * 1e4) / 1e4,
                                  1e-9);
  assert_status (f, "streaming");

  kmg_test_ws_send (ws, "{\"type\":\"stop_live\",\"ref\":\"s\"}");
  g_assert_nonnull (kmg_test_ws_wait (ws, "ack", "s", WAIT));
  m = marker (f, &keep);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m, "status"), ==, "online");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (m, "lat"), f->clat, 1e-9);
  assert_status (f, "online");
}

static void
test_profile_watch_live (Fixture *f, gconstpointer data)
{
  g_autoptr (KmgTestWs) w = watcher (f, "offline");
  g_autoptr (KmgTestWs) ws = seller_ws (f);
  g_autoptr (KmgTestResponse) keep = NULL;
  JsonObject *e;

  /* Watching nobody is refused. */
  kmg_test_ws_send (w, "{\"type\":\"profile.watch\",\"ref\":\"x\",\"seller_id\":0}");
  g_assert_nonnull (kmg_test_ws_wait (w, "error", "x", WAIT));
  kmg_test_ws_send (w, "{\"type\":\"profile.watch\",\"ref\":\"y\",\"seller_id\":%" G_GINT64_FORMAT "}",
                    f->buyer_id);
  e = kmg_test_ws_wait (w, "error", "y", WAIT);
  g_assert_cmpstr (json_object_get_string_member (e, "code"), ==, "not_found");

  go_online (ws);
  watcher_sees (f, w, "online");
  assert_status (f, "online");
  kmg_test_ws_send (ws, "{\"type\":\"go_live\",\"ref\":\"g\"}");
  watcher_sees (f, w, "streaming");
  assert_status (f, "streaming");

  /* The app goes to the background: offline at once, no grace. */
  kmg_test_ws_send (ws, "{\"type\":\"app_state\",\"ref\":\"bg\",\"foreground\":false}");
  g_assert_nonnull (kmg_test_ws_wait (ws, "ack", "bg", WAIT));
  watcher_sees (f, w, "offline");
  assert_status (f, "offline");
  g_assert_null (marker (f, &keep));

  /* Foreground again: the last fix of this connection counts again. */
  kmg_test_ws_send (ws, "{\"type\":\"app_state\",\"ref\":\"fg\",\"foreground\":true}");
  g_assert_nonnull (kmg_test_ws_wait (ws, "ack", "fg", WAIT));
  watcher_sees (f, w, "online");

  /* After unwatch nothing more is pushed. */
  kmg_test_ws_send (w, "{\"type\":\"profile.unwatch\",\"ref\":\"u\",\"seller_id\":%" G_GINT64_FORMAT "}",
                    f->seller_id);
  g_assert_nonnull (kmg_test_ws_wait (w, "ack", "u", WAIT));
  {
    guint mark = w->msgs->len;
    StatusMatch any = { f->seller_id, NULL };

    kmg_test_ws_send (ws, "{\"type\":\"bye\",\"ref\":\"b\"}");
    g_assert_true (kmg_test_ws_wait_closed (ws, WAIT));
    assert_status (f, "offline");
    kmg_test_pump (300);
    g_assert_cmpuint (kmg_test_ws_count (w, mark, match_status, &any), ==, 0);
  }
}

static gboolean
seller_offline (gpointer data)
{
  Fixture *f = data;
  g_autofree char *s = kmg_test_seller_status (f->ts, f->seller_id);

  return g_strcmp0 (s, "offline") == 0;
}

static void
test_reconnect_no_flap (Fixture *f, gconstpointer data)
{
  g_autoptr (KmgTestWs) w = watcher (f, "offline");
  KmgTestWs *first = seller_ws (f);
  g_autoptr (KmgTestWs) second = NULL;
  g_autoptr (KmgTestResponse) keep = NULL;
  StatusMatch offline = { f->seller_id, "offline" };
  StatusMatch any = { f->seller_id, NULL };
  guint mark;
  gint64 lost_at;

  go_online (first);
  watcher_sees (f, w, "online");
  mark = w->msgs->len;

  /* The socket drops without a goodbye; the app reconnects inside the grace period. */
  lost_at = g_get_monotonic_time ();
  kmg_test_ws_free (first);
  second = seller_ws (f);
  go_online (second);
  g_assert_cmpint (g_get_monotonic_time () - lost_at, <, GRACE_S * G_USEC_PER_SEC);
  /* Past the grace period of the lost connection: nobody saw a change. */
  kmg_test_pump (GRACE_S * 1000 + 800);
  g_assert_cmpuint (kmg_test_ws_count (w, mark, match_status, &any), ==, 0);
  assert_status (f, "online");
  g_assert_nonnull (marker (f, &keep));

  /* Without a reconnect the grace runs out: offline is pushed and the marker goes. */
  mark = w->msgs->len;
  lost_at = g_get_monotonic_time ();
  g_clear_pointer (&second, kmg_test_ws_free);
  g_assert_true (kmg_test_wait_for (seller_offline, f, WAIT));
  /* Not before the grace period. */
  g_assert_cmpint (g_get_monotonic_time () - lost_at, >=, GRACE_S * G_USEC_PER_SEC - 100000);
  g_assert_nonnull (kmg_test_ws_wait_match (w, match_status, &offline, WAIT));
  g_assert_cmpuint (kmg_test_ws_count (w, mark, match_status, &any), ==, 1);
  g_assert_null (marker (f, &keep));
}

static gboolean
match_diff_with (JsonObject *msg, gconstpointer data)
{
  const char *want = data; /* "remove:u:7" or "add:u:7" */
  const char *colon = strchr (want, ':');
  g_autofree char *member = g_strndup (want, (gsize) (colon - want));
  const char *id = colon + 1;
  JsonArray *arr;

  if (g_strcmp0 (json_object_get_string_member_with_default (msg, "type", ""), "map.diff") != 0
      || !json_object_has_member (msg, member))
    return FALSE;
  arr = json_object_get_array_member (msg, member);
  for (guint i = 0; i < json_array_get_length (arr); i++)
    {
      JsonNode *n = json_array_get_element (arr, i);
      const char *v = JSON_NODE_HOLDS_OBJECT (n)
                          ? json_object_get_string_member (json_node_get_object (n), "id")
                          : json_node_get_string (n);
      if (g_strcmp0 (v, id) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
test_visibility_hidden (Fixture *f, gconstpointer data)
{
  g_autoptr (KmgTestWs) ws = seller_ws (f);
  g_autoptr (KmgTestWs) w = watcher (f, "offline");
  g_autoptr (KmgTestResponse) keep = NULL;
  g_autofree char *removed = g_strdup_printf ("remove:u:%" G_GINT64_FORMAT, f->seller_id);
  g_autofree char *added = g_strdup_printf ("add:u:%" G_GINT64_FORMAT, f->seller_id);
  StatusMatch any = { f->seller_id, NULL };
  JsonObject *r;
  guint mark;

  go_online (ws);
  watcher_sees (f, w, "online");
  kmg_test_ws_send (w,
                    "{\"type\":\"map.subscribe\",\"ref\":\"m\",\"bbox\":{\"south\":%f,\"west\":%f,"
                    "\"north\":%f,\"east\":%f},\"zoom\":12}",
                    f->clat - 0.2, f->clon - 0.2, f->clat + 0.2, f->clon + 0.2);
  g_assert_nonnull (kmg_test_ws_wait (w, "map.snapshot", "m", WAIT));
  g_assert_nonnull (marker (f, &keep));
  mark = w->msgs->len;

  /* Bad input is refused and changes nothing. */
  kmg_test_ws_send (ws, "{\"type\":\"map.visibility\",\"ref\":\"v0\",\"hidden\":\"yes\"}");
  g_assert_nonnull (kmg_test_ws_wait (ws, "error", "v0", WAIT));
  kmg_test_ws_send (ws, "{\"type\":\"map.visibility\",\"ref\":\"v1\"}");
  g_assert_nonnull (kmg_test_ws_wait (ws, "error", "v1", WAIT));
  g_assert_nonnull (marker (f, &keep));

  kmg_test_ws_send (ws, "{\"type\":\"map.visibility\",\"ref\":\"v\",\"hidden\":true}");
  r = kmg_test_ws_wait (ws, "map.visibility", "v", WAIT);
  g_assert_nonnull (r);
  g_assert_true (json_object_get_boolean_member (r, "hidden"));
  g_assert_nonnull (kmg_test_ws_wait_match (w, match_diff_with, removed, WAIT));
  g_assert_null (marker (f, &keep));
  /* Hidden is not offline: the profile still says online, and watchers saw no change. */
  assert_status (f, "online");
  g_assert_cmpuint (kmg_test_ws_count (w, mark, match_status, &any), ==, 0);
  /* A new fix does not bring it back while hidden. */
  kmg_test_ws_send (ws, "{\"type\":\"location\",\"ref\":\"l3\",\"lat\":%.7f,\"lon\":%.7f}", LAT, LON);
  g_assert_nonnull (kmg_test_ws_wait (ws, "ack", "l3", WAIT));
  g_assert_null (marker (f, &keep));

  kmg_test_ws_send (ws, "{\"type\":\"map.visibility\",\"ref\":\"v2\",\"hidden\":false}");
  g_assert_nonnull (kmg_test_ws_wait (ws, "map.visibility", "v2", WAIT));
  g_assert_nonnull (kmg_test_ws_wait_match (w, match_diff_with, added, WAIT));
  g_assert_nonnull (marker (f, &keep));
  assert_status (f, "online");
}


/* A seller that crosses into the next cell and sends nothing more: the marker keeps its cell for
 * the random delay (at least 5 s), then moves on its own, at most 60 s later, to the new cell's
 * centre. */
static void
test_cell_switch_after_delay (Fixture *f, gconstpointer data)
{
  g_autoptr (KmgTestWs) ws = seller_ws (f);
  g_autoptr (KmgTestResponse) keep = NULL;
  double h = 180.0 / 4096.0; /* height of a precision-5 cell: 25 bits, 12 of latitude */
  double cell_south = f->clat - h / 2, lat = cell_south + 1.9 * h, nlat, nlon;
  gint64 sent;
  JsonObject *m;

  go_online (ws);
  kmg_test_cell_centre (lat, LON, 5, &nlat, &nlon);
  g_assert_cmpfloat (fabs (nlat - (f->clat + h)), <, 1e-9); /* the next cell north */
  kmg_test_ws_send (ws, "{\"type\":\"location\",\"ref\":\"x\",\"lat\":%.7f,\"lon\":%.7f}", lat, LON);
  g_assert_nonnull (kmg_test_ws_wait (ws, "ack", "x", WAIT));
  sent = g_get_monotonic_time ();
  kmg_test_pump (500);
  m = marker (f, &keep);
  g_assert_nonnull (m);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (m, "lat"), f->clat, 1e-9);
  for (;;)
    {
      m = marker (f, &keep);
      g_assert_nonnull (m);
      if (fabs (json_object_get_double_member (m, "lat") - f->clat) > 1e-9)
        break;
      g_assert_cmpint (g_get_monotonic_time () - sent, <, 62 * G_USEC_PER_SEC);
      kmg_test_pump (250);
    }
  g_test_message ("switched %.1f s after the fix", (g_get_monotonic_time () - sent) / 1e6);
  g_assert_cmpint (g_get_monotonic_time () - sent, >=, 5 * G_USEC_PER_SEC - 300000);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (m, "lat"), nlat, 1e-9);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (m, "lon"), nlon, 1e-9);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) \
  g_test_add ("/api/realtime/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("online-at-cell-centre", test_online_at_cell_centre);
  ADD ("cell-switch-after-delay", test_cell_switch_after_delay);
  ADD ("go-live-rounded", test_go_live_rounded);
  ADD ("profile-watch-live", test_profile_watch_live);
  ADD ("reconnect-no-flap", test_reconnect_no_flap);
  ADD ("visibility-hidden", test_visibility_hidden);
#undef ADD
  return g_test_run ();
}
