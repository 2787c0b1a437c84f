/* test-api-admin.c — the admin API against a real in-process server: role checks, reasons, grants,
 * the seller flag and consent, bans (tokens, WebSocket, map), the action log, presence and audit. */

#include <math.h>
#include <string.h>

#include "ws-client.h"

#define PASSWORD "correct horse battery"
/* A precise fix with more decimals than any displayed position has. */
#define LAT 48.8583701
#define LON 2.2944813

typedef struct
{
  KmgTestServer *ts;
  char *admin;
  gint64 admin_id;
} Fixture;

static void
config_setup (KmgConfig *c)
{
  c->grace_s = 1;
  c->ping_s = 1;
  c->min_update_s = 0;
  c->flush_ms = 50;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->ts = kmg_test_server_new (config_setup);
  f->admin = kmg_test_admin_token (f->ts, "root", &f->admin_id);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_free (f->admin);
  g_clear_pointer (&f->ts, kmg_test_server_free);
}

static KmgTestResponse *
req (Fixture *f, const char *method, const char *path, const char *token, const char *body)
{
  KmgTestResponse *r = kmg_test_request (f->ts, method, path, token, body);

  g_test_message ("%s %s → %u %.*s", method, path, r->status, (int) MIN (g_bytes_get_size (r->body), 300),
                  (const char *) g_bytes_get_data (r->body, NULL));
  return r;
}

static void
expect (Fixture *f, const char *method, const char *path, const char *token, const char *body,
        guint status, const char *code)
{
  g_autoptr (KmgTestResponse) r = req (f, method, path, token, body);

  g_assert_cmpuint (r->status, ==, status);
  if (code)
    g_assert_cmpstr (kmg_test_response_error_code (r), ==, code);
}

static gint64
balance_of (Fixture *f, const char *token)
{
  g_autoptr (KmgTestResponse) r = kmg_test_get (f->ts, token, 200, "/api/v1/me/wallet");

  return json_object_get_int_member (kmg_test_response_object (r), "balance");
}

static JsonArray *
actions (Fixture *f, KmgTestResponse **keep)
{
  *keep = kmg_test_get (f->ts, f->admin, 200, "/api/v1/admin/actions");
  return json_object_get_array_member (kmg_test_response_object (*keep), "items");
}

static guint
n_actions (Fixture *f)
{
  g_autoptr (KmgTestResponse) r = NULL;

  return json_array_get_length (actions (f, &r));
}

/* The admin's view of one user (from the search listing). */
static JsonObject *
admin_user (Fixture *f, const char *username, KmgTestResponse **keep)
{
  JsonArray *items;

  *keep = kmg_test_get (f->ts, f->admin, 200, "/api/v1/admin/users?search=%s", username);
  items = json_object_get_array_member (kmg_test_response_object (*keep), "items");
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *u = json_array_get_object_element (items, i);
      if (g_strcmp0 (json_object_get_string_member (u, "username"), username) == 0)
        return u;
    }
  g_assert_not_reached ();
  return NULL;
}

/* A seller connected over WebSocket, in the foreground, with a precise fix sent: online. */
static KmgTestWs *
seller_online (Fixture *f, const char *token)
{
  KmgTestWs *ws = kmg_test_ws_connect (f->ts, token);
  JsonObject *p;

  g_assert_nonnull (ws->ws);
  g_assert_nonnull (kmg_test_ws_wait (ws, "auth_ok", NULL, KMG_TEST_WS_WAIT_MS));
  kmg_test_ws_send (ws, "{\"type\":\"hello\",\"ref\":\"h\",\"foreground\":true}");
  g_assert_nonnull (kmg_test_ws_wait (ws, "presence", "h", KMG_TEST_WS_WAIT_MS));
  kmg_test_ws_send (ws, "{\"type\":\"location\",\"ref\":\"l\",\"lat\":%.7f,\"lon\":%.7f}", LAT, LON);
  g_assert_nonnull (kmg_test_ws_wait (ws, "ack", "l", KMG_TEST_WS_WAIT_MS));
  kmg_test_ws_send (ws, "{\"type\":\"hello\",\"ref\":\"h2\"}");
  p = kmg_test_ws_wait (ws, "presence", "h2", KMG_TEST_WS_WAIT_MS);
  g_assert_nonnull (p);
  g_assert_cmpstr (json_object_get_string_member (p, "state"), ==, "online");
  return ws;
}

static KmgTestResponse *
map_around (Fixture *f, double lat, double lon)
{
  return kmg_test_map (f->ts, lat - 0.2, lon - 0.2, lat + 0.2, lon + 0.2, 12);
}

/* ---- tests ---- */

static void
test_non_admin_forbidden (Fixture *f, gconstpointer data)
{
  static const struct
  {
    const char *method, *path, *body;
  } routes[] = {
    { "GET", "/api/v1/admin/users", NULL },
    { "PATCH", "/api/v1/admin/users/{id}", "{\"seller_description\":\"x\",\"reason\":\"r\"}" },
    { "POST", "/api/v1/admin/users/{id}/ban", "{\"reason\":\"r\"}" },
    { "POST", "/api/v1/admin/users/{id}/unban", "{\"reason\":\"r\"}" },
    { "POST", "/api/v1/admin/users/{id}/grant", "{\"amount\":5,\"reason\":\"r\"}" },
    { "GET", "/api/v1/admin/presence", NULL },
    { "GET", "/api/v1/admin/sessions", NULL },
    { "POST", "/api/v1/admin/sessions/1/end", "{\"reason\":\"r\"}" },
    { "POST", "/api/v1/admin/sessions/1/refund", "{\"reason\":\"r\"}" },
    { "GET", "/api/v1/admin/ledger", NULL },
    { "GET", "/api/v1/admin/audit", NULL },
    { "GET", "/api/v1/admin/actions", NULL },
  };
  gint64 uid = 0;
  g_autofree char *user = kmg_test_register (f->ts, "mallory", PASSWORD, &uid);
  guint before = n_actions (f);
  char id[24];

  g_snprintf (id, sizeof id, "%" G_GINT64_FORMAT, uid);
  for (guint i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      g_autoptr (GString) path = g_string_new (routes[i].path);

      g_string_replace (path, "{id}", id, 0);
      expect (f, routes[i].method, path->str, user, routes[i].body, 403, "forbidden");
      expect (f, routes[i].method, path->str, NULL, routes[i].body, 401, NULL);
    }
  /* Nothing happened: not banned, no credits, no log rows. */
  g_assert_cmpint (balance_of (f, user), ==, 0);
  expect (f, "GET", "/api/v1/me", user, NULL, 200, NULL);
  g_assert_cmpuint (n_actions (f), ==, before);
}

static void
test_reasons_required (Fixture *f, gconstpointer data)
{
  gint64 uid = 0;
  g_autofree char *user = kmg_test_register (f->ts, "bob", PASSWORD, &uid);
  g_autofree char *ban = g_strdup_printf ("/api/v1/admin/users/%" G_GINT64_FORMAT "/ban", uid);
  g_autofree char *grant = g_strdup_printf ("/api/v1/admin/users/%" G_GINT64_FORMAT "/grant", uid);
  g_autofree char *patch = g_strdup_printf ("/api/v1/admin/users/%" G_GINT64_FORMAT, uid);
  g_autofree char *longr = g_strnfill (501, 'r');
  g_autofree char *longbody = g_strdup_printf ("{\"reason\":\"%s\"}", longr);
  g_autoptr (KmgTestResponse) keep = NULL;
  JsonObject *u;
  guint before = n_actions (f);

  expect (f, "POST", ban, f->admin, "{}", 400, "missing_field");
  expect (f, "POST", ban, f->admin, "{\"reason\":\"\"}", 400, "reason_required");
  expect (f, "POST", ban, f->admin, "{\"reason\":\"   \"}", 400, "reason_required");
  expect (f, "POST", ban, f->admin, longbody, 400, NULL);
  expect (f, "POST", ban, f->admin, "{\"reason\":7}", 400, "bad_type");
  expect (f, "POST", ban, f->admin, "{\"reason\":\"spam\",\"extra\":1}", 400, "unknown_field");
  expect (f, "POST", grant, f->admin, "{\"amount\":10}", 400, "missing_field");
  expect (f, "POST", grant, f->admin, "{\"amount\":10,\"reason\":\" \"}", 400, "reason_required");
  expect (f, "POST", grant, f->admin, "{\"amount\":0,\"reason\":\"gift\"}", 400, "out_of_range");
  expect (f, "POST", grant, f->admin, "{\"amount\":-5,\"reason\":\"gift\"}", 400, "out_of_range");
  expect (f, "POST", grant, f->admin, "{\"reason\":\"gift\"}", 400, "missing_field");
  expect (f, "PATCH", patch, f->admin, "{\"seller_description\":\"x\"}", 400, "missing_field");
  expect (f, "PATCH", patch, f->admin, "{\"seller_description\":\"x\",\"reason\":\"\"}", 400,
          "reason_required");
  expect (f, "POST", "/api/v1/admin/sessions/1/end", f->admin, "{}", 400, "missing_field");
  expect (f, "POST", "/api/v1/admin/sessions/1/refund", f->admin, "{\"reason\":\"\"}", 400,
          "reason_required");

  /* Each refusal changed nothing. */
  u = admin_user (f, "bob", &keep);
  g_assert_false (json_object_get_boolean_member (u, "banned"));
  g_assert_false (json_object_get_boolean_member (u, "is_seller"));
  g_assert_cmpint (balance_of (f, user), ==, 0);
  g_assert_cmpuint (n_actions (f), ==, before);
}

static void
test_grant_balance (Fixture *f, gconstpointer data)
{
  gint64 uid = 0;
  g_autofree char *user = kmg_test_register (f->ts, "carol", PASSWORD, &uid);
  g_autofree char *grant = g_strdup_printf ("/api/v1/admin/users/%" G_GINT64_FORMAT "/grant", uid);
  g_autoptr (KmgTestResponse) r = NULL;
  g_autoptr (KmgTestResponse) acts = NULL;
  g_autoptr (KmgTestResponse) wallet = NULL;
  JsonObject *a, *t;
  JsonArray *items;

  r = req (f, "POST", grant, f->admin, "{\"amount\":500,\"reason\":\"welcome credit\"}");
  g_assert_cmpuint (r->status, ==, 201);
  g_assert_cmpint (json_object_get_int_member (kmg_test_response_object (r), "balance"), ==, 500);
  g_clear_pointer (&r, kmg_test_response_free);
  r = req (f, "POST", grant, f->admin, "{\"amount\":25,\"reason\":\"apology\"}");
  g_assert_cmpuint (r->status, ==, 201);
  g_assert_cmpint (json_object_get_int_member (kmg_test_response_object (r), "balance"), ==, 525);
  g_assert_cmpint (balance_of (f, user), ==, 525);

  wallet = kmg_test_get (f->ts, user, 200, "/api/v1/me/wallet");
  items = json_object_get_array_member (kmg_test_response_object (wallet), "transfers");
  g_assert_cmpuint (json_array_get_length (items), ==, 2);
  t = json_array_get_object_element (items, 0);
  g_assert_cmpstr (json_object_get_string_member (t, "kind"), ==, "grant");
  g_assert_cmpint (json_object_get_int_member (t, "amount"), ==, 25);

  items = actions (f, &acts);
  g_assert_cmpuint (json_array_get_length (items), >=, 2);
  a = json_array_get_object_element (items, 0);
  g_assert_cmpstr (json_object_get_string_member (a, "action"), ==, "grant");
  g_assert_cmpint (json_object_get_int_member (a, "admin_id"), ==, f->admin_id);
  g_assert_cmpint (json_object_get_int_member (a, "target_user"), ==, uid);
  g_assert_cmpstr (json_object_get_string_member (a, "reason"), ==, "apology");

  /* A grant to nobody credits nobody. */
  expect (f, "POST", "/api/v1/admin/users/999999/grant", f->admin,
          "{\"amount\":5,\"reason\":\"typo\"}", 404, "not_found");
  g_assert_cmpint (balance_of (f, user), ==, 525);
}

static void
test_seller_flag_consent (Fixture *f, gconstpointer data)
{
  gint64 uid = 0;
  g_autofree char *user = kmg_test_register (f->ts, "dave", PASSWORD, &uid);
  g_autofree char *patch = g_strdup_printf ("/api/v1/admin/users/%" G_GINT64_FORMAT, uid);
  g_autoptr (KmgTestResponse) r = NULL;
  g_autoptr (KmgTestResponse) keep = NULL;
  g_autoptr (KmgTestResponse) acts = NULL;
  JsonObject *a;
  guint before = n_actions (f);

  /* An admin cannot consent on the user's behalf. */
  expect (f, "PATCH", patch, f->admin, "{\"is_seller\":true,\"reason\":\"asked by phone\"}", 409,
          "consent_required");
  g_assert_false (json_object_get_boolean_member (admin_user (f, "dave", &keep), "is_seller"));
  expect (f, "GET", "/api/v1/sellers/0", NULL, NULL, 404, NULL);
  {
    g_autofree char *sp = g_strdup_printf ("/api/v1/sellers/%" G_GINT64_FORMAT, uid);
    expect (f, "GET", sp, NULL, NULL, 404, "not_found");
  }
  g_assert_cmpuint (n_actions (f), ==, before);

  /* The user's own consent, then the flag. */
  r = req (f, "PATCH", "/api/v1/me", user, "{\"location_consent\":true}");
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_false (json_object_get_boolean_member (kmg_test_response_object (r), "is_seller"));
  g_clear_pointer (&r, kmg_test_response_free);
  r = req (f, "PATCH", patch, f->admin,
           "{\"is_seller\":true,\"seller_description\":\"Glass blowing\",\"reason\":\"verified\"}");
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_true (json_object_get_boolean_member (kmg_test_response_object (r), "is_seller"));
  g_clear_pointer (&r, kmg_test_response_free);
  r = kmg_test_get (f->ts, NULL, 200, "/api/v1/sellers/%" G_GINT64_FORMAT, uid);
  g_assert_cmpstr (json_object_get_string_member (kmg_test_response_object (r), "description"),
                   ==, "Glass blowing");
  g_clear_pointer (&r, kmg_test_response_free);
  r = kmg_test_get (f->ts, user, 200, "/api/v1/me");
  g_assert_true (json_object_get_boolean_member (kmg_test_response_object (r), "is_seller"));

  a = json_array_get_object_element (actions (f, &acts), 0);
  g_assert_cmpstr (json_object_get_string_member (a, "action"), ==, "set_seller");
  g_assert_cmpint (json_object_get_int_member (a, "target_user"), ==, uid);
  g_assert_cmpstr (json_object_get_string_member (a, "reason"), ==, "verified");

  /* Withdrawn consent: the flag cannot be turned on again by an admin. */
  g_clear_pointer (&r, kmg_test_response_free);
  r = req (f, "PATCH", "/api/v1/me", user, "{\"location_consent\":false}");
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_false (json_object_get_boolean_member (kmg_test_response_object (r), "is_seller"));
  expect (f, "PATCH", patch, f->admin, "{\"is_seller\":true,\"reason\":\"again\"}", 409,
          "consent_required");
  g_clear_pointer (&keep, kmg_test_response_free);
  g_assert_false (json_object_get_boolean_member (admin_user (f, "dave", &keep), "is_seller"));
}

static gboolean
match_remove (JsonObject *msg, gconstpointer data)
{
  const char *id = data;
  JsonArray *rm;

  if (g_strcmp0 (json_object_get_string_member_with_default (msg, "type", ""), "map.diff") != 0
      || !json_object_has_member (msg, "remove"))
    return FALSE;
  rm = json_object_get_array_member (msg, "remove");
  for (guint i = 0; i < json_array_get_length (rm); i++)
    if (g_strcmp0 (json_array_get_string_element (rm, i), id) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
snapshot_has (JsonObject *snap, const char *id)
{
  JsonArray *items = json_object_get_array_member (snap, "items");

  for (guint i = 0; i < json_array_get_length (items); i++)
    if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (items, i), "id"),
                   id)
        == 0)
      return TRUE;
  return FALSE;
}

static void
test_ban_removes_marker (Fixture *f, gconstpointer data)
{
  gint64 sid = 0, bid = 0;
  g_autofree char *seller = kmg_test_seller (f->ts, "erin", 10, &sid);
  g_autofree char *buyer = kmg_test_register (f->ts, "frank", PASSWORD, &bid);
  g_autofree char *ban = g_strdup_printf ("/api/v1/admin/users/%" G_GINT64_FORMAT "/ban", sid);
  g_autofree char *unban = g_strdup_printf ("/api/v1/admin/users/%" G_GINT64_FORMAT "/unban", sid);
  g_autofree char *marker_id = g_strdup_printf ("u:%" G_GINT64_FORMAT, sid);
  g_autofree char *login = g_strdup_printf ("{\"username\":\"erin\",\"password\":\"" PASSWORD "\"}");
  g_autoptr (KmgTestWs) sws = seller_online (f, seller);
  g_autoptr (KmgTestWs) bws = kmg_test_ws_connect (f->ts, buyer);
  g_autoptr (KmgTestResponse) map = NULL;
  g_autoptr (KmgTestResponse) r = NULL;
  g_autoptr (KmgTestResponse) acts = NULL;
  g_autoptr (KmgTestWs) again = NULL;
  JsonObject *snap, *a;
  double clat, clon;

  kmg_test_cell_centre (LAT, LON, 5, &clat, &clon);
  map = map_around (f, clat, clon);
  g_assert_nonnull (kmg_test_map_marker (map, sid));
  g_clear_pointer (&map, kmg_test_response_free);

  g_assert_nonnull (kmg_test_ws_wait (bws, "auth_ok", NULL, KMG_TEST_WS_WAIT_MS));
  kmg_test_ws_send (bws,
                    "{\"type\":\"map.subscribe\",\"ref\":\"m\",\"bbox\":{\"south\":%f,\"west\":%f,"
                    "\"north\":%f,\"east\":%f},\"zoom\":12}",
                    clat - 0.2, clon - 0.2, clat + 0.2, clon + 0.2);
  snap = kmg_test_ws_wait (bws, "map.snapshot", "m", KMG_TEST_WS_WAIT_MS);
  g_assert_nonnull (snap);
  g_assert_true (snapshot_has (snap, marker_id));

  r = req (f, "POST", ban, f->admin, "{\"reason\":\"fraudulent streams\"}");
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_true (json_object_get_boolean_member (kmg_test_response_object (r), "banned"));

  /* The seller's socket is closed as banned, its tokens are gone, its marker too. */
  g_assert_true (kmg_test_ws_wait_closed (sws, KMG_TEST_WS_WAIT_MS));
  g_assert_cmpuint (sws->close_code, ==, 4003);
  g_assert_nonnull (kmg_test_ws_wait_match (bws, match_remove, marker_id, KMG_TEST_WS_WAIT_MS));
  expect (f, "GET", "/api/v1/me", seller, NULL, 401, NULL);
  map = map_around (f, clat, clon);
  g_assert_null (kmg_test_map_marker (map, sid));
  {
    g_autofree char *sp = g_strdup_printf ("/api/v1/sellers/%" G_GINT64_FORMAT, sid);
    expect (f, "GET", sp, NULL, NULL, 404, "not_found");
  }
  /* A banned user cannot log in or connect again (told banned, as docs/protocol.md says). */
  expect (f, "POST", "/api/v1/auth/login", NULL, login, 403, "banned");
  again = kmg_test_ws_connect (f->ts, seller);
  g_assert_null (again->ws);
  g_assert_cmpuint (again->http_status, ==, 403);

  a = json_array_get_object_element (actions (f, &acts), 0);
  g_assert_cmpstr (json_object_get_string_member (a, "action"), ==, "ban");
  g_assert_cmpint (json_object_get_int_member (a, "admin_id"), ==, f->admin_id);
  g_assert_cmpstr (json_object_get_string_member (a, "admin"), ==, "root");
  g_assert_cmpint (json_object_get_int_member (a, "target_user"), ==, sid);
  g_assert_cmpstr (json_object_get_string_member (a, "target"), ==, "erin");
  g_assert_cmpstr (json_object_get_string_member (a, "reason"), ==, "fraudulent streams");
  g_assert_cmpint (json_object_get_int_member (a, "created_at"), >, 0);

  /* An admin cannot ban itself. */
  {
    g_autofree char *self_ban = g_strdup_printf ("/api/v1/admin/users/%" G_GINT64_FORMAT "/ban",
                                                 f->admin_id);
    expect (f, "POST", self_ban, f->admin, "{\"reason\":\"oops\"}", 409, "conflict");
  }

  /* Unban: a new login works, the old token stays revoked. */
  g_clear_pointer (&r, kmg_test_response_free);
  r = req (f, "POST", unban, f->admin, "{\"reason\":\"appeal accepted\"}");
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_false (json_object_get_boolean_member (kmg_test_response_object (r), "banned"));
  expect (f, "GET", "/api/v1/me", seller, NULL, 401, NULL);
  expect (f, "POST", "/api/v1/auth/login", NULL, login, 200, NULL);
  g_clear_pointer (&acts, kmg_test_response_free);
  a = json_array_get_object_element (actions (f, &acts), 0);
  g_assert_cmpstr (json_object_get_string_member (a, "action"), ==, "unban");
  g_assert_cmpstr (json_object_get_string_member (a, "reason"), ==, "appeal accepted");
  g_clear_pointer (&r, kmg_test_response_free);
  r = kmg_test_get (f->ts, NULL, 200, "/api/v1/sellers/%" G_GINT64_FORMAT, sid);
}

static void
test_presence_displayed_only (Fixture *f, gconstpointer data)
{
  gint64 sid = 0, bid = 0;
  g_autofree char *seller = kmg_test_seller (f->ts, "gina", 10, &sid);
  g_autofree char *buyer = kmg_test_register (f->ts, "hank", PASSWORD, &bid);
  g_autoptr (KmgTestWs) sws = seller_online (f, seller);
  g_autoptr (KmgTestWs) bws = kmg_test_ws_connect (f->ts, buyer);
  g_autoptr (KmgTestResponse) r = NULL;
  JsonObject *o, *counts, *mine = NULL, *theirs = NULL;
  JsonArray *users;
  double clat, clon;

  g_assert_nonnull (kmg_test_ws_wait (bws, "auth_ok", NULL, KMG_TEST_WS_WAIT_MS));
  kmg_test_cell_centre (LAT, LON, 5, &clat, &clon);
  r = kmg_test_get (f->ts, f->admin, 200, "/api/v1/admin/presence");
  o = kmg_test_response_object (r);
  counts = json_object_get_object_member (o, "counts");
  g_assert_cmpint (json_object_get_int_member (counts, "online"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (o, "connections"), ==, 2);
  users = json_object_get_array_member (o, "users");
  for (guint i = 0; i < json_array_get_length (users); i++)
    {
      JsonObject *u = json_array_get_object_element (users, i);
      if (json_object_get_int_member (u, "user_id") == sid)
        mine = u;
      if (json_object_get_int_member (u, "user_id") == bid)
        theirs = u;
    }
  g_assert_nonnull (mine);
  g_assert_cmpstr (json_object_get_string_member (mine, "state"), ==, "online");
  g_assert_true (json_object_get_boolean_member (mine, "is_seller"));
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (mine, "lat"), clat, 1e-9);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (mine, "lon"), clon, 1e-9);
  g_assert_cmpfloat (fabs (json_object_get_double_member (mine, "lat") - LAT), >, 1e-6);
  /* The buyer is connected but has no position anywhere. */
  if (theirs != NULL)
    g_assert_false (json_object_has_member (theirs, "lat"));
  g_assert_null (strstr (g_bytes_get_data (r->body, NULL), "48.85837"));

  /* Streaming: the position rounded to 4 decimals. */
  kmg_test_ws_send (sws, "{\"type\":\"go_live\",\"ref\":\"g\"}");
  g_assert_nonnull (kmg_test_ws_wait (sws, "ack", "g", KMG_TEST_WS_WAIT_MS));
  g_clear_pointer (&r, kmg_test_response_free);
  r = kmg_test_get (f->ts, f->admin, 200, "/api/v1/admin/presence");
  users = json_object_get_array_member (kmg_test_response_object (r), "users");
  mine = NULL;
  for (guint i = 0; i < json_array_get_length (users); i++)
    if (json_object_get_int_member (json_array_get_object_element (users, i), "user_id") == sid)
      mine = json_array_get_object_element (users, i);
  g_assert_nonnull (mine);
  g_assert_cmpstr (json_object_get_string_member (mine, "state"), ==, "streaming");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (mine, "lat"), 48.8584, 1e-9);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (mine, "lon"), 2.2945, 1e-9);
}

static void
test_audit_ok (Fixture *f, gconstpointer data)
{
  gint64 uid = 0;
  g_autofree char *user = kmg_test_register (f->ts, "ivy", PASSWORD, &uid);
  g_autofree char *grant = g_strdup_printf ("/api/v1/admin/users/%" G_GINT64_FORMAT "/grant", uid);
  g_autoptr (KmgTestResponse) r = NULL;
  g_autoptr (KmgTestResponse) ledger = NULL;
  JsonArray *items;

  expect (f, "POST", grant, f->admin, "{\"amount\":70,\"reason\":\"promo\"}", 201, NULL);
  g_assert_cmpint (balance_of (f, user), ==, 70);
  r = kmg_test_get (f->ts, f->admin, 200, "/api/v1/admin/audit");
  g_assert_true (json_object_get_boolean_member (kmg_test_response_object (r), "ok"));
  /* The grant's chain head was anchored outside the database, and the audit checked it. */
  g_assert_true (json_object_get_boolean_member (kmg_test_response_object (r), "anchors_checked"));
  g_assert_cmpint (json_object_get_int_member (kmg_test_response_object (r), "anchors"), ==, 1);
  ledger = kmg_test_get (f->ts, f->admin, 200, "/api/v1/admin/ledger");
  items = json_object_get_array_member (kmg_test_response_object (ledger), "items");
  g_assert_cmpuint (json_array_get_length (items), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (items, 0), "amount"),
                   ==, 70);
  expect (f, "GET", "/api/v1/admin/ledger?limit=0", f->admin, NULL, 400, "out_of_range");
  expect (f, "GET", "/api/v1/admin/ledger?before=x", f->admin, NULL, 400, "bad_type");
  expect (f, "GET", "/api/v1/admin/sessions?state=bogus", f->admin, NULL, 400, "out_of_range");
  expect (f, "GET", "/api/v1/admin/users?limit=0", f->admin, NULL, 400, "out_of_range");
}

static void
test_bad_ids (Fixture *f, gconstpointer data)
{
  static const char *const ids[] = { "999999", "0", "x1", "-3", "99999999999999999999" };
  gint64 uid = 0;
  g_autofree char *user = kmg_test_register (f->ts, "jack", PASSWORD, &uid);
  g_autoptr (KmgTestResponse) keep = NULL;
  guint before = n_actions (f);
  JsonObject *u;

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autofree char *base = g_strdup_printf ("/api/v1/admin/users/%s", ids[i]);
      g_autofree char *ban = g_strconcat (base, "/ban", NULL);
      g_autofree char *unban = g_strconcat (base, "/unban", NULL);
      g_autofree char *grant = g_strconcat (base, "/grant", NULL);
      g_autofree char *end = g_strdup_printf ("/api/v1/admin/sessions/%s/end", ids[i]);
      g_autofree char *refund = g_strdup_printf ("/api/v1/admin/sessions/%s/refund", ids[i]);

      expect (f, "PATCH", base, f->admin, "{\"seller_description\":\"x\",\"reason\":\"r\"}", 404,
              "not_found");
      expect (f, "POST", ban, f->admin, "{\"reason\":\"r\"}", 404, "not_found");
      expect (f, "POST", unban, f->admin, "{\"reason\":\"r\"}", 404, "not_found");
      expect (f, "POST", grant, f->admin, "{\"amount\":3,\"reason\":\"r\"}", 404, "not_found");
      expect (f, "POST", end, f->admin, "{\"reason\":\"r\"}", 404, "not_found");
      expect (f, "POST", refund, f->admin, "{\"reason\":\"r\"}", 404, "not_found");
    }
  /* Malformed bodies on a good id change nothing either. */
  {
    g_autofree char *ban = g_strdup_printf ("/api/v1/admin/users/%" G_GINT64_FORMAT "/ban", uid);
    expect (f, "POST", ban, f->admin, "not json", 400, "bad_json");
    expect (f, "POST", ban, f->admin, "[1]", 400, "bad_json");
  }
  u = admin_user (f, "jack", &keep);
  g_assert_false (json_object_get_boolean_member (u, "banned"));
  g_assert_cmpint (balance_of (f, user), ==, 0);
  g_assert_cmpuint (n_actions (f), ==, before);
  {
    g_autoptr (KmgTestResponse) ledger = kmg_test_get (f->ts, f->admin, 200, "/api/v1/admin/ledger");
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                          kmg_test_response_object (ledger), "items")),
                      ==, 0);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) \
  g_test_add ("/api/admin/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("non-admin-forbidden", test_non_admin_forbidden);
  ADD ("reasons-required", test_reasons_required);
  ADD ("grant-balance", test_grant_balance);
  ADD ("seller-flag-consent", test_seller_flag_consent);
  ADD ("ban-removes-marker", test_ban_removes_marker);
  ADD ("presence-displayed-only", test_presence_displayed_only);
  ADD ("audit-ok", test_audit_ok);
  ADD ("bad-ids", test_bad_ids);
#undef ADD
  return g_test_run ();
}
