/* test-api-restart.c — what a clean stop and a crash leave of live, charged watch sessions: the
 * next server on the same data dir finds them closed server_restart, charges kept, ledger sound. */

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "kmg-audit.h"
#include "kmg-billing.h"
#include "kmg-session-rows.h"
#include "ws-client.h"

#define PASSWORD "correct horse battery"
#define PRICE 10
#define CREDIT (20 * PRICE)
#define LAT 48.8583701
#define LON 2.2944813
#define WAIT KMG_TEST_WS_WAIT_MS
#define CRASH_DIR_ENV "KMG_TEST_CRASH_DIR"
#define FACTS_FILE "crash-facts.ini"
#define FACTS_GROUP "session"

static void
config_setup (KmgConfig *c)
{
  c->grace_s = 2;
  c->ping_s = 1;
  c->min_update_s = 0;
  c->flush_ms = 50;
  c->minute_s = 4;
  c->min_billable_s = 2;
  c->p2p_timeout_ms = 1500;
}

/* A server on an existing data dir (kmg_test_server_new always makes a fresh one). */
static KmgServer *
server_on (const char *dir)
{
  KmgConfig *config = kmg_config_new_default ();
  g_autoptr (GError) error = NULL;
  KmgServer *server;

  g_free (config->data_dir);
  config->data_dir = g_strdup (dir);
  g_free (config->listen);
  config->listen = g_strdup ("127.0.0.1:0");
  config->stun_port = 0;
  g_free (config->log_level);
  config->log_level = g_strdup ("warning");
  config_setup (config);
  server = kmg_server_new (config, &error);
  g_assert_no_error (error);
  return server;
}

/* Replaces @ts's server by a new one on the same data dir. */
static void
reopen (KmgTestServer *ts)
{
  g_clear_pointer (&ts->server, kmg_server_free);
  ts->server = server_on (ts->data_dir);
  g_free (ts->base_url);
  ts->base_url = g_strdup_printf ("http://127.0.0.1:%u", kmg_server_get_port (ts->server));
}

static KmgTestServer *
test_server_on (const char *dir)
{
  KmgTestServer *ts = g_new0 (KmgTestServer, 1);

  ts->data_dir = g_strdup (dir);
  ts->session = soup_session_new_with_options ("timeout", 30, NULL);
  reopen (ts);
  return ts;
}

/* ---- one live, charged session ---- */

typedef struct
{
  KmgTestServer *ts;
  char *seller;
  gint64 seller_id;
  char *buyer;
  gint64 buyer_id;
  KmgTestWs *sws;
  KmgTestWs *bws;
  gint64 session_id;
  gint64 minutes; /* charged so far */
} World;

static void
world_clear (World *w)
{
  g_clear_pointer (&w->bws, kmg_test_ws_free);
  g_clear_pointer (&w->sws, kmg_test_ws_free);
  g_clear_pointer (&w->seller, g_free);
  g_clear_pointer (&w->buyer, g_free);
}

static KmgTestWs *
connect_ws (KmgTestServer *ts, const char *token)
{
  KmgTestWs *ws = kmg_test_ws_connect (ts, token);

  g_assert_nonnull (ws->ws);
  g_assert_nonnull (kmg_test_ws_wait (ws, "auth_ok", NULL, WAIT));
  return ws;
}

static void
go_live (KmgTestWs *ws)
{
  kmg_test_ws_send (ws, "{\"type\":\"hello\",\"ref\":\"h\",\"foreground\":true}");
  g_assert_nonnull (kmg_test_ws_wait (ws, "presence", "h", WAIT));
  kmg_test_ws_send (ws, "{\"type\":\"location\",\"ref\":\"l\",\"lat\":%.7f,\"lon\":%.7f}", LAT, LON);
  g_assert_nonnull (kmg_test_ws_wait (ws, "ack", "l", WAIT));
  kmg_test_ws_send (ws, "{\"type\":\"go_live\",\"ref\":\"g\"}");
  g_assert_nonnull (kmg_test_ws_wait (ws, "ack", "g", WAIT));
}

static JsonObject *
wait_state (KmgTestWs *c, const char *type, const char *state)
{
  gint64 deadline = g_get_monotonic_time () + WAIT * 1000;

  for (;;)
    {
      JsonObject *m = kmg_test_ws_wait (c, type, NULL, (guint) MAX (0, (deadline - g_get_monotonic_time ()) / 1000));
      if (m == NULL || state == NULL
          || g_strcmp0 (json_object_get_string_member_with_default (m, "state", ""), state) == 0)
        return m;
    }
}

/* Watch → accept → ICE connected + first frame → buyer stats every second until a minute is
 * charged. Leaves the session active with w->minutes charged. */
static void
charged_session (World *w)
{
  g_autoptr (GError) error = NULL;
  KmgApp *app = kmg_server_get_app (w->ts->server);
  JsonObject *m = NULL;
  gint64 id;

  w->seller = kmg_test_seller (w->ts, "sally", PRICE, &w->seller_id);
  w->buyer = kmg_test_register (w->ts, "bruno", PASSWORD, &w->buyer_id);
  g_assert_true (kmg_ledger_grant (kmg_billing_get_ledger (app->billing), w->buyer_id, CREDIT,
                                   "test credit", 0, NULL, g_get_real_time () / 1000, NULL, &error));
  w->sws = connect_ws (w->ts, w->seller);
  go_live (w->sws);
  w->bws = connect_ws (w->ts, w->buyer);

  kmg_test_ws_send (w->bws, "{\"type\":\"watch.start\",\"ref\":\"w\",\"seller_id\":%" G_GINT64_FORMAT "}",
                    w->seller_id);
  m = kmg_test_ws_wait (w->bws, "watch.started", "w", WAIT);
  g_assert_nonnull (m);
  id = w->session_id = json_object_get_int_member (m, "session_id");
  g_assert_nonnull (kmg_test_ws_wait (w->sws, "session.offer", NULL, WAIT));
  kmg_test_ws_send (w->sws, "{\"type\":\"session.accept\",\"ref\":\"a\",\"session_id\":%" G_GINT64_FORMAT "}", id);
  g_assert_nonnull (kmg_test_ws_wait (w->sws, "ack", "a", WAIT));
  g_assert_nonnull (kmg_test_ws_wait (w->bws, "session.use_p2p", NULL, WAIT));
  kmg_test_ws_send (w->bws, "{\"type\":\"ice_state\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"state\":\"connected\",\"path\":\"p2p\"}", id);
  kmg_test_ws_send (w->bws, "{\"type\":\"first_frame\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"path\":\"p2p\"}", id);
  g_assert_nonnull (wait_state (w->bws, "session.state", "active"));

  m = NULL;
  for (guint64 s = 1; s <= 15 && m == NULL; s++)
    {
      kmg_test_ws_send (w->bws, "{\"type\":\"stats\",\"session_id\":%" G_GINT64_FORMAT
                        ",\"frames_decoded\":%" G_GUINT64_FORMAT ",\"bytes_received\":%" G_GUINT64_FORMAT "}",
                        id, s * 30, s * 30000);
      m = kmg_test_ws_wait (w->bws, "billing.charged", NULL, 1000);
    }
  g_assert_nonnull (m);
  w->minutes = json_object_get_int_member (m, "minutes_charged");
  g_assert_cmpint (w->minutes, >=, 1);
  g_assert_cmpint (json_object_get_int_member (m, "balance"), ==, CREDIT - w->minutes * PRICE);
}

/* ---- what the next server finds ---- */

static gint64
balance (KmgApp *app, gint64 user)
{
  g_autoptr (GError) error = NULL;
  gint64 b = -1;

  g_assert_true (kmg_ledger_balance (kmg_billing_get_ledger (app->billing), user, &b, &error));
  g_assert_no_error (error);
  return b;
}

static void
assert_store_sound (KmgApp *app)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgAuditReport) rep = kmg_audit_run (app->db, &error);
  g_autofree char *text = NULL;
  g_autoptr (KmgDbStmt) st = NULL;
  g_autoptr (KmgDbStmt) live = NULL;

  g_assert_no_error (error);
  text = kmg_audit_report_to_text (rep);
  if (!rep->ok)
    g_test_message ("%s", text);
  g_assert_true (rep->ok);
  g_assert_cmpuint (rep->negative_balances, ==, 0);
  g_assert_cmpuint (rep->duplicate_charges, ==, 0);

  st = kmg_db_prepare (app->db, "PRAGMA integrity_check", &error);
  g_assert_no_error (error);
  g_assert_cmpint (kmg_db_step (st, &error), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (kmg_db_stmt_raw (st), 0), ==, "ok");

  live = kmg_db_prepare (app->db, "SELECT count(*) FROM watch_sessions WHERE ended_at IS NULL", &error);
  g_assert_no_error (error);
  g_assert_cmpint (kmg_db_step (live, &error), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int64 (kmg_db_stmt_raw (live), 0), ==, 0);
}

static void
assert_closed_on_restart (KmgApp *app, gint64 id, gint64 minutes, gint64 buyer, gint64 seller)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgSessionRow) info = kmg_session_rows_get (app->db, id, &error);
  gint64 share = PRICE - PRICE * app->config->fee_pct / 100;

  g_assert_no_error (error);
  g_assert_cmpstr (info->end_reason, ==, "server_restart");
  g_assert_cmpint (info->ended_at, >, 0);
  /* Charges stay; nothing more is charged for the restart. */
  g_assert_cmpint (info->charged_minutes, >=, minutes);
  g_assert_cmpint (balance (app, buyer), ==, CREDIT - (gint64) info->charged_minutes * PRICE);
  g_assert_cmpint (balance (app, seller), ==, (gint64) info->charged_minutes * share);
  assert_store_sound (app);
}

/* The same parties can start a new session on the new server (nothing stale in memory). */
static void
assert_can_watch_again (KmgTestServer *ts, const char *seller, const char *buyer, gint64 seller_id,
                        gint64 old_id)
{
  g_autoptr (KmgTestWs) sws = connect_ws (ts, seller);
  g_autoptr (KmgTestWs) bws = connect_ws (ts, buyer);
  JsonObject *m;

  go_live (sws);
  kmg_test_ws_send (bws, "{\"type\":\"session.leave\",\"ref\":\"old\",\"session_id\":%" G_GINT64_FORMAT "}",
                    old_id);
  m = kmg_test_ws_wait (bws, "error", "old", WAIT);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m, "code"), ==, "not_found");
  kmg_test_ws_send (bws, "{\"type\":\"watch.start\",\"ref\":\"w2\",\"seller_id\":%" G_GINT64_FORMAT "}",
                    seller_id);
  m = kmg_test_ws_wait (bws, "watch.started", "w2", WAIT);
  g_assert_nonnull (m);
  g_assert_cmpint (json_object_get_int_member (m, "session_id"), >, old_id);
}

/* ---- a clean stop ---- */

static void
test_clean_stop (void)
{
  g_autoptr (KmgTestServer) ts = kmg_test_server_new (config_setup);
  World w = { .ts = ts };
  JsonObject *m;

  charged_session (&w);
  /* Stop with both parties connected: their session ends server_restart and they are told. */
  g_clear_pointer (&ts->server, kmg_server_free);
  m = kmg_test_ws_wait (w.bws, "session.ended", NULL, WAIT);
  if (m == NULL)
    g_test_message ("buyer saw: %s", w.bws->raw->str);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m, "reason"), ==, "server_restart");
  g_assert_true (kmg_test_ws_wait_closed (w.bws, WAIT));

  reopen (ts);
  assert_closed_on_restart (kmg_server_get_app (ts->server), w.session_id, w.minutes, w.buyer_id,
                            w.seller_id);
  assert_can_watch_again (ts, w.seller, w.buyer, w.seller_id, w.session_id);
  world_clear (&w);
}

/* ---- a crash ---- */

/* In a child process: a server on the given dir with a live, charged session, then SIGKILL. */
static void
crash_child (const char *dir)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (dir, FACTS_FILE, NULL);
  KmgTestServer *ts = test_server_on (dir);
  World w = { .ts = ts };

  charged_session (&w);
  g_key_file_set_int64 (kf, FACTS_GROUP, "id", w.session_id);
  g_key_file_set_int64 (kf, FACTS_GROUP, "minutes", w.minutes);
  g_key_file_set_int64 (kf, FACTS_GROUP, "buyer_id", w.buyer_id);
  g_key_file_set_int64 (kf, FACTS_GROUP, "seller_id", w.seller_id);
  g_key_file_set_string (kf, FACTS_GROUP, "buyer", w.buyer);
  g_key_file_set_string (kf, FACTS_GROUP, "seller", w.seller);
  g_assert_true (g_key_file_save_to_file (kf, path, &error));
  /* No shutdown of any kind: the process dies with the session live. */
  kill (getpid (), SIGKILL);
  g_assert_not_reached ();
}

static void
test_crash (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (KmgTestServer) ts = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *buyer = NULL;
  g_autofree char *seller = NULL;
  gint64 id, seller_id;

  if (g_test_subprocess ())
    {
      crash_child (g_getenv (CRASH_DIR_ENV));
      return;
    }
  dir = g_dir_make_tmp ("kmg-crash-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv (CRASH_DIR_ENV, dir, TRUE);
  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_failed ();
  path = g_build_filename (dir, FACTS_FILE, NULL);
  g_assert_true (g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &error));
  g_assert_no_error (error);

  ts = test_server_on (dir); /* freed with the dir */
  id = g_key_file_get_int64 (kf, FACTS_GROUP, "id", NULL);
  seller_id = g_key_file_get_int64 (kf, FACTS_GROUP, "seller_id", NULL);
  g_assert_cmpint (id, >, 0);
  assert_closed_on_restart (kmg_server_get_app (ts->server), id,
                            g_key_file_get_int64 (kf, FACTS_GROUP, "minutes", NULL),
                            g_key_file_get_int64 (kf, FACTS_GROUP, "buyer_id", NULL), seller_id);
  buyer = g_key_file_get_string (kf, FACTS_GROUP, "buyer", NULL);
  seller = g_key_file_get_string (kf, FACTS_GROUP, "seller", NULL);
  assert_can_watch_again (ts, seller, buyer, seller_id, id);
  g_unsetenv (CRASH_DIR_ENV);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/api/restart/clean-stop", test_clean_stop);
  g_test_add_func ("/api/restart/crash", test_crash);
  return g_test_run ();
}
