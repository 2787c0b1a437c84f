/* test-api-ws-auth.c — WebSocket authentication through the real server: sockets end with their
 * token (logout, revocation), a banned user's token is told banned, per-user and per-address caps. */

#include <string.h>

#include "ws-client.h"

#define PASSWORD "correct horse battery"
#define WAIT KMG_TEST_WS_WAIT_MS

typedef struct
{
  KmgTestServer *ts;
} Fixture;

static void
config_setup (KmgConfig *c)
{
  c->ws_max_per_user = 2;
  c->ws_max_per_address = 4;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->ts = kmg_test_server_new (config_setup);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->ts, kmg_test_server_free);
}

/* Logs @username in again: a second token, whose id goes to @token_id. */
static char *
login (Fixture *f, const char *username, gint64 *token_id)
{
  g_autofree char *body = g_strdup_printf ("{\"username\":\"%s\",\"password\":\"" PASSWORD "\"}", username);
  g_autoptr (KmgTestResponse) r = kmg_test_request (f->ts, "POST", "/api/v1/auth/login", NULL, body);
  JsonObject *o;

  g_assert_cmpuint (r->status, ==, 200);
  o = kmg_test_response_object (r);
  *token_id = json_object_get_int_member (o, "token_id");
  return g_strdup (json_object_get_string_member (o, "token"));
}

/* The socket is open and authenticated: hello gets its presence reply. */
static void
assert_alive (KmgTestWs *c)
{
  kmg_test_ws_send (c, "{\"type\":\"hello\",\"ref\":\"alive\"}");
  g_assert_nonnull (kmg_test_ws_wait (c, "presence", "alive", WAIT));
  g_assert_false (c->closed);
}

static void
assert_error_then_close (KmgTestWs *c, const char *code, gushort close_code)
{
  JsonObject *err = kmg_test_ws_wait (c, "error", NULL, WAIT);

  g_assert_nonnull (err);
  g_assert_cmpstr (json_object_get_string_member (err, "code"), ==, code);
  g_assert_true (kmg_test_ws_wait_closed (c, WAIT));
  g_assert_cmpuint (c->close_code, ==, close_code);
}

/* Logout and DELETE /me/tokens/{id} close the sockets of that token only; a socket cannot outlive
 * its token (it could still start watch sessions). */
static void
test_logout_closes_sockets (Fixture *f, gconstpointer data)
{
  gint64 uid = 0, b_id = 0;
  g_autofree char *a = kmg_test_register (f->ts, "lena", PASSWORD, &uid);
  g_autofree char *b = login (f, "lena", &b_id);
  g_autoptr (KmgTestWs) a_app = kmg_test_ws_connect (f->ts, a);
  g_autoptr (KmgTestWs) a_browser = kmg_test_ws_connect_auth_message (f->ts, a);
  g_autoptr (KmgTestWs) b_app = NULL;
  g_autoptr (KmgTestWs) again = NULL;
  g_autoptr (KmgTestResponse) r = NULL;
  g_autofree char *path = g_strdup_printf ("/api/v1/me/tokens/%" G_GINT64_FORMAT, b_id);

  g_assert_nonnull (kmg_test_ws_wait (a_app, "auth_ok", NULL, WAIT));
  r = kmg_test_request (f->ts, "POST", "/api/v1/auth/logout", a, NULL);
  g_assert_cmpuint (r->status, ==, 204);
  assert_error_then_close (a_app, "token_revoked", 4001);
  assert_error_then_close (a_browser, "token_revoked", 4001);
  again = kmg_test_ws_connect (f->ts, a);
  g_assert_null (again->ws);
  g_assert_cmpuint (again->http_status, ==, 401);

  /* Opened after the logout (the per-user cap is 2): b's socket is untouched by a's logout. */
  b_app = kmg_test_ws_connect (f->ts, b);
  g_assert_nonnull (kmg_test_ws_wait (b_app, "auth_ok", NULL, WAIT));
  assert_alive (b_app);
  g_clear_pointer (&r, kmg_test_response_free);
  r = kmg_test_request (f->ts, "DELETE", path, b, NULL);
  g_assert_cmpuint (r->status, ==, 204);
  assert_error_then_close (b_app, "token_revoked", 4001);
}

/* A ban revokes every token; using one afterwards is answered banned (403 at upgrade, banned/4003
 * as a first message), not as an unknown token. (Tokens revoked before the ban stay unknown: see
 * /accounts/store/token-revoked-events, which controls the clock.) */
static void
test_banned_token (Fixture *f, gconstpointer data)
{
  gint64 uid = 0;
  g_autofree char *admin = kmg_test_admin_token (f->ts, "root", NULL);
  g_autofree char *token = kmg_test_register (f->ts, "mike", PASSWORD, &uid);
  g_autofree char *ban = g_strdup_printf ("/api/v1/admin/users/%" G_GINT64_FORMAT "/ban", uid);
  g_autoptr (KmgTestResponse) r = NULL;
  g_autoptr (KmgTestWs) app = NULL;
  g_autoptr (KmgTestWs) browser = NULL;
  JsonObject *err;

  r = kmg_test_request (f->ts, "POST", ban, admin, "{\"reason\":\"spam\"}");
  g_assert_cmpuint (r->status, ==, 200);

  app = kmg_test_ws_connect (f->ts, token);
  g_assert_null (app->ws);
  g_assert_cmpuint (app->http_status, ==, 403);

  browser = kmg_test_ws_connect (f->ts, NULL);
  g_assert_nonnull (browser->ws);
  kmg_test_ws_send (browser, "{\"type\":\"auth\",\"ref\":\"a\",\"token\":\"%s\"}", token);
  err = kmg_test_ws_wait (browser, "error", "a", WAIT);
  g_assert_nonnull (err);
  g_assert_cmpstr (json_object_get_string_member (err, "code"), ==, "banned");
  g_assert_true (kmg_test_ws_wait_closed (browser, WAIT));
  g_assert_cmpuint (browser->close_code, ==, 4003);
}

/* ws.max_per_user (2 here): the third socket of one account is refused at auth; ws.max_per_address
 * (4 here): the fifth connection from one address is refused at upgrade with 429. */
static void
test_caps (Fixture *f, gconstpointer data)
{
  g_autofree char *u1 = kmg_test_register (f->ts, "nina", PASSWORD, NULL);
  g_autofree char *u2 = kmg_test_register (f->ts, "otto", PASSWORD, NULL);
  g_autoptr (KmgTestWs) a = kmg_test_ws_connect (f->ts, u1);
  g_autoptr (KmgTestWs) b = kmg_test_ws_connect_auth_message (f->ts, u1);
  g_autoptr (KmgTestWs) c = kmg_test_ws_connect (f->ts, u1);
  g_autoptr (KmgTestWs) d = NULL;
  g_autoptr (KmgTestWs) e = NULL;
  g_autoptr (KmgTestWs) refused = NULL;
  g_autoptr (KmgTestResponse) r = NULL;

  g_assert_nonnull (c->ws);
  assert_error_then_close (c, "too_many_connections", 4029);
  assert_alive (a);
  assert_alive (b);
  kmg_test_pump (100); /* the server sees c go */

  d = kmg_test_ws_connect (f->ts, u2);
  e = kmg_test_ws_connect (f->ts, NULL);
  g_assert_nonnull (d->ws);
  g_assert_nonnull (e->ws);
  refused = kmg_test_ws_connect (f->ts, u2);
  g_assert_null (refused->ws);
  g_assert_cmpuint (refused->http_status, ==, 429);
  r = kmg_test_request (f->ts, "GET", "/api/v1/ws", NULL, NULL);
  g_assert_cmpuint (r->status, ==, 429);
  g_assert_cmpstr (kmg_test_response_error_code (r), ==, "too_many_connections");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) g_test_add ("/api/ws-auth/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("logout-closes-sockets", test_logout_closes_sockets);
  ADD ("banned-token", test_banned_token);
  ADD ("caps", test_caps);
#undef ADD
  return g_test_run ();
}
