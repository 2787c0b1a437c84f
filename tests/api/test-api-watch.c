/* test-api-watch.c — watch sessions end to end through the real server: P2P signaling with
 * placeholder SDP/ICE, billing of buyer-attested seconds, refusals, relay fallback, end reasons. */

#include <string.h>

#include "kmg-audit.h"
#include "kmg-billing.h"
#include "kmg-session-rows.h"
#include "ws-client.h"

#define PASSWORD "correct horse battery"
#define PRICE 10
#define LAT 48.8583701
#define LON 2.2944813
#define WAIT KMG_TEST_WS_WAIT_MS
#define GRACE_S 2
#define P2P_TIMEOUT_MS 1500
/* Placeholder offer: valid for the server's checks, never given to a real peer connection. */
#define SDP_JSON                                                                                   \
  "v=0\\r\\no=- 4611731400430051336 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\n"                  \
  "m=video 9 UDP/TLS/RTP/SAVPF 96\\r\\nc=IN IP4 0.0.0.0\\r\\na=mid:0\\r\\na=sendonly\\r\\n"       \
  "a=rtpmap:96 VP8/90000\\r\\n"
#define SDP_TEXT                                                                                   \
  "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"                          \
  "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n"                \
  "a=rtpmap:96 VP8/90000\r\n"
#define CAND_SELLER "candidate:842163049 1 udp 1677729535 198.51.100.7 61665 typ srflx raddr 0.0.0.0 rport 0"
#define CAND_BUYER "candidate:1 1 udp 2122260223 203.0.113.9 50000 typ host"

typedef struct
{
  KmgTestServer *ts;
  KmgApp *app;
  char *seller;
  gint64 seller_id;
  char *buyer;
  gint64 buyer_id;
  KmgTestWs *sws; /* seller, streaming */
  KmgTestWs *bws; /* buyer */
  guint64 frames; /* the buyer's cumulative frames_decoded */
} Fixture;

static void
config_setup (KmgConfig *c)
{
  c->grace_s = GRACE_S;
  c->ping_s = 1;
  c->min_update_s = 0;
  c->flush_ms = 50;
  c->minute_s = 4;
  c->min_billable_s = 2;
  c->p2p_timeout_ms = P2P_TIMEOUT_MS;
}

/* ---- messages ---- */

typedef struct
{
  const char *type;
  gint64 session_id; /* 0: any */
  const char *ref;   /* NULL: any */
  const char *state; /* NULL: any */
} Want;

static gboolean
match_want (JsonObject *m, gconstpointer data)
{
  const Want *w = data;

  if (g_strcmp0 (json_object_get_string_member_with_default (m, "type", ""), w->type) != 0)
    return FALSE;
  if (w->session_id != 0 && json_object_get_int_member_with_default (m, "session_id", 0) != w->session_id)
    return FALSE;
  if (w->ref != NULL && g_strcmp0 (json_object_get_string_member_with_default (m, "ref", ""), w->ref) != 0)
    return FALSE;
  return w->state == NULL
         || g_strcmp0 (json_object_get_string_member_with_default (m, "state", ""), w->state) == 0;
}

/* The first matching message received at or after index @from (waits up to @ms). */
static JsonObject *
await_ms (KmgTestWs *c, guint from, const Want *w, guint ms)
{
  JsonObject *m;

  c->cursor = from;
  m = kmg_test_ws_wait_match (c, match_want, w, ms);
  if (m == NULL)
    g_test_message ("no %s (session %" G_GINT64_FORMAT ", ref %s, state %s) in: %s", w->type,
                    w->session_id, w->ref ? w->ref : "*", w->state ? w->state : "*", c->raw->str);
  return m;
}

static JsonObject *
await (KmgTestWs *c, guint from, const char *type, gint64 session_id, const char *ref)
{
  Want w = { type, session_id, ref, NULL };

  return await_ms (c, from, &w, WAIT);
}

static void
assert_acked (KmgTestWs *c, guint from, const char *ref)
{
  g_assert_nonnull (await (c, from, "ack", 0, ref));
}

static void
assert_error (KmgTestWs *c, guint from, const char *ref, const char *code)
{
  JsonObject *e = await (c, from, "error", 0, ref);

  g_assert_nonnull (e);
  g_assert_cmpstr (json_object_get_string_member (e, "code"), ==, code);
}

static gboolean
match_signal_from (JsonObject *m, gconstpointer from)
{
  return g_strcmp0 (json_object_get_string_member_with_default (m, "type", ""), "signal") == 0
         && (from == NULL
             || g_strcmp0 (json_object_get_string_member_with_default (m, "from", ""), from) == 0);
}

static guint
signals_since (KmgTestWs *c, guint from, const char *sender)
{
  return kmg_test_ws_count (c, from, match_signal_from, sender);
}

/* session.ended with @reason on @c; asserts its fields. */
static void
assert_ended (KmgTestWs *c, guint from, gint64 id, const char *reason, guint ms)
{
  Want w = { "session.ended", id, NULL, NULL };
  JsonObject *m = await_ms (c, from, &w, ms);

  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m, "state"), ==, "ended");
  g_assert_cmpstr (json_object_get_string_member (m, "reason"), ==, reason);
  g_assert_cmpint (json_object_get_int_member (m, "price_per_minute"), ==, PRICE);
}

/* ---- users, credits, store ---- */

static KmgTestWs *
connect_ws (Fixture *f, const char *token)
{
  KmgTestWs *ws = kmg_test_ws_connect (f->ts, token);

  g_assert_nonnull (ws->ws);
  g_assert_nonnull (kmg_test_ws_wait (ws, "auth_ok", NULL, WAIT));
  return ws;
}

static void
go_live (KmgTestWs *ws)
{
  kmg_test_ws_send (ws, "{\"type\":\"hello\",\"ref\":\"h\",\"foreground\":true}");
  g_assert_nonnull (kmg_test_ws_wait (ws, "presence", "h", WAIT));
  kmg_test_ws_send (ws, "{\"type\":\"location\",\"ref\":\"l\",\"lat\":%.7f,\"lon\":%.7f,\"accuracy\":5}",
                    LAT, LON);
  g_assert_nonnull (kmg_test_ws_wait (ws, "ack", "l", WAIT));
  kmg_test_ws_send (ws, "{\"type\":\"go_live\",\"ref\":\"g\"}");
  g_assert_nonnull (kmg_test_ws_wait (ws, "ack", "g", WAIT));
}

static void
grant (Fixture *f, gint64 user, gint64 amount)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (kmg_ledger_grant (kmg_billing_get_ledger (f->app->billing), user, amount,
                                   "test credit", 0, NULL, g_get_real_time () / 1000, NULL, &error));
  g_assert_no_error (error);
}

static gint64
wallet_balance (Fixture *f, const char *token)
{
  g_autoptr (KmgTestResponse) r = kmg_test_get (f->ts, token, 200, "/api/v1/me/wallet");

  return json_object_get_int_member (kmg_test_response_object (r), "balance");
}

static gint64
count_rows (Fixture *f, const char *sql)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgDbStmt) st = kmg_db_prepare (f->app->db, sql, &error);

  g_assert_no_error (error);
  g_assert_cmpint (kmg_db_step (st, &error), ==, SQLITE_ROW);
  return sqlite3_column_int64 (kmg_db_stmt_raw (st), 0);
}

static KmgSessionRow *
session_row (Fixture *f, gint64 id)
{
  g_autoptr (GError) error = NULL;
  KmgSessionRow *info = kmg_session_rows_get (f->app->db, id, &error);

  g_assert_no_error (error);
  g_assert_nonnull (info);
  return info;
}

static void
assert_audit_ok (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgAuditReport) rep = kmg_audit_run (f->app->db, &error);
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  text = kmg_audit_report_to_text (rep);
  if (!rep->ok)
    g_test_message ("%s", text);
  g_assert_true (rep->ok);
  g_assert_cmpuint (rep->negative_balances, ==, 0);
  g_assert_cmpint (rep->ledger_sum, ==, 0);
}

static gint64
seller_share (Fixture *f)
{
  /* The default fee is 20 %: the seller keeps the rest of each minute. */
  g_assert_cmpint (f->app->config->fee_pct, ==, 20);
  return PRICE - PRICE * 20 / 100;
}

/* ---- fixture ---- */

/* A live seller and a buyer, on a server configured by @setup. */
static void
fixture_start (Fixture *f, void (*setup) (KmgConfig *config))
{
  f->ts = kmg_test_server_new (setup);
  f->app = kmg_server_get_app (f->ts->server);
  f->seller = kmg_test_seller (f->ts, "sally", PRICE, &f->seller_id);
  f->buyer = kmg_test_register (f->ts, "bruno", PASSWORD, &f->buyer_id);
  f->sws = connect_ws (f, f->seller);
  go_live (f->sws);
  f->bws = connect_ws (f, f->buyer);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  fixture_start (f, config_setup);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->bws, kmg_test_ws_free);
  g_clear_pointer (&f->sws, kmg_test_ws_free);
  g_free (f->seller);
  g_free (f->buyer);
  g_clear_pointer (&f->ts, kmg_test_server_free);
}

/* ---- the session steps ---- */

/* watch.start → session.offer → accept → use_p2p and connecting_p2p on both sides. */
static gint64
start_session (Fixture *f)
{
  guint b0 = f->bws->msgs->len, s0 = f->sws->msgs->len;
  Want connecting = { "session.state", 0, NULL, "connecting_p2p" };
  JsonObject *m;
  gint64 id;

  kmg_test_ws_send (f->bws, "{\"type\":\"watch.start\",\"ref\":\"w\",\"seller_id\":%" G_GINT64_FORMAT "}",
                    f->seller_id);
  m = await (f->bws, b0, "watch.started", 0, "w");
  g_assert_nonnull (m);
  id = json_object_get_int_member (m, "session_id");
  g_assert_cmpint (id, >, 0);
  g_assert_cmpint (json_object_get_int_member (m, "price_per_minute"), ==, PRICE);

  m = await (f->sws, s0, "session.offer", id, NULL);
  g_assert_nonnull (m);
  g_assert_cmpint (json_object_get_int_member (m, "buyer_id"), ==, f->buyer_id);
  g_assert_cmpint (json_object_get_int_member (m, "price_per_minute"), ==, PRICE);
  g_assert_cmpint (json_object_get_int_member (m, "answer_within_ms"), >, 0);

  kmg_test_ws_send (f->sws, "{\"type\":\"session.accept\",\"ref\":\"a\",\"session_id\":%" G_GINT64_FORMAT "}",
                    id);
  assert_acked (f->sws, s0, "a");
  m = await (f->bws, b0, "session.use_p2p", id, NULL);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m, "role"), ==, "buyer");
  g_assert_cmpstr (json_object_get_string_member (m, "initiator"), ==, "seller");
  m = await (f->sws, s0, "session.use_p2p", id, NULL);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m, "role"), ==, "seller");
  connecting.session_id = id;
  m = await_ms (f->bws, b0, &connecting, WAIT);
  g_assert_nonnull (m);
  g_assert_cmpint (json_object_get_int_member (m, "seller_id"), ==, f->seller_id);
  g_assert_false (json_object_has_member (m, "buyer_id"));
  m = await_ms (f->sws, s0, &connecting, WAIT);
  g_assert_nonnull (m);
  g_assert_cmpint (json_object_get_int_member (m, "buyer_id"), ==, f->buyer_id);
  return id;
}

/* Buyer reports ICE connected and its first frame: the session turns active on both sides. */
static void
activate (Fixture *f, gint64 id)
{
  guint b0 = f->bws->msgs->len, s0 = f->sws->msgs->len;
  Want active = { "session.state", id, NULL, "active" };
  JsonObject *m;

  kmg_test_ws_send (f->bws, "{\"type\":\"ice_state\",\"ref\":\"ice\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"state\":\"connected\",\"path\":\"p2p\"}", id);
  assert_acked (f->bws, b0, "ice");
  kmg_test_ws_send (f->bws, "{\"type\":\"first_frame\",\"ref\":\"ff\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"path\":\"p2p\"}", id);
  assert_acked (f->bws, b0, "ff");
  m = await_ms (f->bws, b0, &active, WAIT);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m, "path"), ==, "p2p");
  g_assert_nonnull (await_ms (f->sws, s0, &active, WAIT));
}

static void
send_stats (Fixture *f, gint64 id)
{
  f->frames += 30;
  kmg_test_ws_send (f->bws, "{\"type\":\"stats\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"frames_decoded\":%" G_GUINT64_FORMAT ",\"bytes_received\":%" G_GUINT64_FORMAT
                    ",\"timestamp_ms\":%" G_GINT64_FORMAT "}",
                    id, f->frames, f->frames * 1000, g_get_real_time () / 1000);
}

/* Sends stats every second (growing frames_decoded) until the buyer receives @type for the
 * session; returns it (NULL after @timeout_s). */
static JsonObject *
feed_until (Fixture *f, gint64 id, const char *type, guint timeout_s)
{
  guint from = f->bws->msgs->len;
  Want w = { type, id, NULL, NULL };

  for (guint s = 0; s < timeout_s; s++)
    {
      send_stats (f, id);
      for (guint i = 0; i < 10; i++)
        {
          kmg_test_pump (100);
          if (kmg_test_ws_count (f->bws, from, match_want, &w) > 0)
            return await_ms (f->bws, from, &w, 0);
        }
    }
  return await_ms (f->bws, from, &w, 0);
}

/* The seller's P2P send report: counters grow, and the buyer's receiver reports keep coming. */
static void
send_seller_stats (Fixture *f, gint64 id, guint n)
{
  kmg_test_ws_send (f->sws, "{\"type\":\"stats\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"packets_sent\":%u,\"bytes_sent\":%u,\"rr_count\":%u,\"fraction_lost\":0.01,"
                    "\"timestamp_ms\":%" G_GINT64_FORMAT "}",
                    id, 90 * n, 90000 * n, n, g_get_real_time () / 1000);
}

/* ---- 1. the happy path ---- */

static void
test_p2p_happy_path (Fixture *f, gconstpointer data)
{
  g_autofree char *olga = kmg_test_register (f->ts, "olga", PASSWORD, NULL);
  g_autoptr (KmgTestWs) ows = connect_ws (f, olga);
  g_autoptr (KmgSessionRow) info = NULL;
  g_autoptr (KmgTestResponse) profile = NULL;
  g_autoptr (KmgTestResponse) rated = NULL;
  g_autofree char *rate_path = NULL;
  const gint64 credit = 20 * PRICE;
  guint b0, s0;
  JsonObject *m, *charged;
  JsonArray *history;
  gint64 id, n;

  grant (f, f->buyer_id, credit);
  id = start_session (f);

  /* The seller's offer reaches the buyer, and only the buyer. */
  b0 = f->bws->msgs->len;
  s0 = f->sws->msgs->len;
  kmg_test_ws_send (f->sws, "{\"type\":\"signal\",\"ref\":\"so\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"kind\":\"sdp_offer\",\"path\":\"p2p\",\"sdp\":\"" SDP_JSON "\"}", id);
  assert_acked (f->sws, s0, "so");
  m = await (f->bws, b0, "signal", id, NULL);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m, "from"), ==, "seller");
  g_assert_cmpstr (json_object_get_string_member (m, "kind"), ==, "sdp_offer");
  g_assert_cmpstr (json_object_get_string_member (m, "path"), ==, "p2p");
  g_assert_cmpstr (json_object_get_string_member (m, "sdp"), ==, SDP_TEXT);

  /* The answer reaches the seller. */
  kmg_test_ws_send (f->bws, "{\"type\":\"signal\",\"ref\":\"sa\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"kind\":\"sdp_answer\",\"path\":\"p2p\",\"sdp\":\"" SDP_JSON "\"}", id);
  assert_acked (f->bws, b0, "sa");
  m = await (f->sws, s0, "signal", id, NULL);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m, "from"), ==, "buyer");
  g_assert_cmpstr (json_object_get_string_member (m, "kind"), ==, "sdp_answer");

  /* Candidates both ways, with mid and m-line index; an empty one ends the candidates. */
  kmg_test_ws_send (f->sws, "{\"type\":\"signal\",\"ref\":\"sc\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"kind\":\"ice_candidate\",\"candidate\":\"" CAND_SELLER "\",\"sdp_mid\":\"0\","
                    "\"sdp_mline_index\":0}", id);
  assert_acked (f->sws, s0, "sc");
  kmg_test_ws_send (f->bws, "{\"type\":\"signal\",\"ref\":\"bc\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"kind\":\"ice_candidate\",\"candidate\":\"" CAND_BUYER "\",\"sdp_mid\":\"0\","
                    "\"sdp_mline_index\":0}", id);
  assert_acked (f->bws, b0, "bc");
  kmg_test_ws_send (f->bws, "{\"type\":\"signal\",\"ref\":\"be\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"kind\":\"ice_candidate\",\"candidate\":\"\"}", id);
  assert_acked (f->bws, b0, "be");
  f->bws->cursor = b0;
  m = kmg_test_ws_wait_match (f->bws, match_signal_from, "seller", WAIT); /* the offer */
  m = kmg_test_ws_wait_match (f->bws, match_signal_from, "seller", WAIT);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m, "kind"), ==, "ice_candidate");
  g_assert_cmpstr (json_object_get_string_member (m, "candidate"), ==, CAND_SELLER);
  g_assert_cmpstr (json_object_get_string_member (m, "sdp_mid"), ==, "0");
  g_assert_cmpint (json_object_get_int_member (m, "sdp_mline_index"), ==, 0);
  f->sws->cursor = s0;
  m = kmg_test_ws_wait_match (f->sws, match_signal_from, "buyer", WAIT); /* the answer */
  m = kmg_test_ws_wait_match (f->sws, match_signal_from, "buyer", WAIT);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m, "candidate"), ==, CAND_BUYER);
  m = kmg_test_ws_wait_match (f->sws, match_signal_from, "buyer", WAIT);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m, "candidate"), ==, "");
  /* Nothing echoed to its sender, nothing to a bystander. */
  g_assert_cmpuint (signals_since (f->sws, s0, "seller"), ==, 0);
  g_assert_cmpuint (signals_since (f->bws, b0, "buyer"), ==, 0);
  g_assert_cmpuint (signals_since (f->bws, b0, NULL), ==, 2);
  g_assert_cmpuint (signals_since (f->sws, s0, NULL), ==, 3);
  g_assert_null (strstr (ows->raw->str, "signal"));
  g_assert_null (strstr (ows->raw->str, "session"));

  activate (f, id);

  /* Buyer-attested seconds make the first minute due: charged to the buyer, earned by the seller. */
  s0 = f->sws->msgs->len;
  charged = feed_until (f, id, "billing.charged", 15);
  g_assert_nonnull (charged);
  g_assert_cmpint (json_object_get_int_member (charged, "minute_index"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (charged, "minutes_charged"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (charged, "balance"), ==, credit - PRICE);
  m = await (f->sws, s0, "billing.earned", id, NULL);
  g_assert_nonnull (m);
  g_assert_cmpint (json_object_get_int_member (m, "minute_index"), ==, 0);
  g_assert_false (json_object_has_member (m, "balance"));
  g_assert_cmpint (wallet_balance (f, f->buyer), ==, credit - PRICE);
  g_assert_cmpint (wallet_balance (f, f->seller), ==, seller_share (f));

  /* The buyer leaves: both are told, the row is closed with what was charged. */
  b0 = f->bws->msgs->len;
  s0 = f->sws->msgs->len;
  kmg_test_ws_send (f->bws, "{\"type\":\"session.leave\",\"ref\":\"bye\",\"session_id\":%" G_GINT64_FORMAT "}",
                    id);
  assert_acked (f->bws, b0, "bye");
  assert_ended (f->bws, b0, id, "buyer_left", WAIT);
  assert_ended (f->sws, s0, id, "buyer_left", WAIT);
  info = session_row (f, id);
  g_assert_cmpstr (info->end_reason, ==, "buyer_left");
  g_assert_cmpstr (info->path, ==, "p2p");
  g_assert_cmpint (info->ended_at, >, 0);
  n = info->charged_minutes;
  g_assert_cmpint (n, >=, 1);
  g_assert_cmpint (wallet_balance (f, f->buyer), ==, credit - n * PRICE);
  g_assert_cmpint (wallet_balance (f, f->seller), ==, n * seller_share (f));

  /* A late signal gets session_ended. */
  kmg_test_ws_send (f->sws, "{\"type\":\"signal\",\"ref\":\"late\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"kind\":\"sdp_offer\",\"sdp\":\"" SDP_JSON "\"}", id);
  assert_error (f->sws, s0, "late", "session_ended");

  /* Public history, then the buyer's rating. */
  profile = kmg_test_get (f->ts, NULL, 200, "/api/v1/sellers/%" G_GINT64_FORMAT, f->seller_id);
  history = json_object_get_array_member (kmg_test_response_object (profile), "history");
  g_assert_nonnull (history);
  g_assert_cmpuint (json_array_get_length (history), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (history, 0), "minutes"),
                   ==, n);
  rate_path = g_strdup_printf ("/api/v1/sessions/%" G_GINT64_FORMAT "/rating", id);
  {
    g_autoptr (KmgTestResponse) r = kmg_test_request (f->ts, "POST", rate_path, f->seller,
                                                      "{\"stars\":5}");
    g_assert_cmpuint (r->status, ==, 403);
  }
  rated = kmg_test_request (f->ts, "POST", rate_path, f->buyer, "{\"stars\":4}");
  g_assert_cmpuint (rated->status, ==, 201);
  g_assert_cmpint (json_object_get_int_member (kmg_test_response_object (rated), "stars"), ==, 4);
  g_clear_pointer (&profile, kmg_test_response_free);
  profile = kmg_test_get (f->ts, NULL, 200, "/api/v1/sellers/%" G_GINT64_FORMAT, f->seller_id);
  m = json_object_get_object_member (kmg_test_response_object (profile), "rating");
  g_assert_cmpint (json_object_get_int_member (m, "count"), ==, 1);
  history = json_object_get_array_member (kmg_test_response_object (profile), "history");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (history, 0), "stars"),
                   ==, 4);
  assert_audit_ok (f);
}

/* ---- 2. refusals ---- */

static void
test_refusals (Fixture *f, gconstpointer data)
{
  g_autofree char *nina = kmg_test_seller (f->ts, "nina", PRICE, NULL);
  g_autofree char *carl = kmg_test_register (f->ts, "carl", PASSWORD, NULL);
  g_autofree char *olga = kmg_test_register (f->ts, "olga", PASSWORD, NULL);
  g_autoptr (KmgTestWs) nws = connect_ws (f, nina);
  g_autoptr (KmgTestWs) cws = connect_ws (f, carl);
  g_autoptr (KmgTestWs) ows = connect_ws (f, olga);
  g_autoptr (KmgTestResponse) nina_me = kmg_test_get (f->ts, nina, 200, "/api/v1/me");
  gint64 nina_id = json_object_get_int_member (kmg_test_response_object (nina_me), "id");
  const char *denied[] = {
    "candidate:1 1 udp 2122260223 169.254.169.254 50000 typ host",
    "candidate:1 1 udp 2122260223 ::ffff:169.254.169.254 50000 typ host",
  };
  guint b0, s0;
  gint64 id;

  grant (f, f->buyer_id, 10 * PRICE);
  grant (f, f->seller_id, 10 * PRICE);
  grant (f, nina_id, 10 * PRICE);

  /* A seller that is online but not live. */
  b0 = f->bws->msgs->len;
  kmg_test_ws_send (f->bws, "{\"type\":\"watch.start\",\"ref\":\"ns\",\"seller_id\":%" G_GINT64_FORMAT "}",
                    nina_id);
  assert_error (f->bws, b0, "ns", "not_streaming");
  /* Oneself. */
  s0 = f->sws->msgs->len;
  kmg_test_ws_send (f->sws, "{\"type\":\"watch.start\",\"ref\":\"me\",\"seller_id\":%" G_GINT64_FORMAT "}",
                    f->seller_id);
  assert_error (f->sws, s0, "me", "self");
  /* No credits, then less than one minute. */
  kmg_test_ws_send (cws, "{\"type\":\"watch.start\",\"ref\":\"nc\",\"seller_id\":%" G_GINT64_FORMAT "}",
                    f->seller_id);
  assert_error (cws, 0, "nc", "insufficient_credits");
  {
    g_autoptr (KmgTestResponse) carl_me = kmg_test_get (f->ts, carl, 200, "/api/v1/me");
    grant (f, json_object_get_int_member (kmg_test_response_object (carl_me), "id"), PRICE - 1);
  }
  kmg_test_ws_send (cws, "{\"type\":\"watch.start\",\"ref\":\"nc2\",\"seller_id\":%" G_GINT64_FORMAT "}",
                    f->seller_id);
  assert_error (cws, 0, "nc2", "insufficient_credits");
  /* None of these created a session or told the seller anything. */
  g_assert_cmpint (count_rows (f, "SELECT count(*) FROM watch_sessions"), ==, 0);
  g_assert_null (strstr (f->sws->raw->str, "session.offer"));
  g_assert_null (strstr (nws->raw->str, "session.offer"));

  id = start_session (f);
  b0 = f->bws->msgs->len;
  s0 = f->sws->msgs->len;

  /* A third user cannot signal into the session. */
  kmg_test_ws_send (ows, "{\"type\":\"signal\",\"ref\":\"np\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"kind\":\"sdp_offer\",\"sdp\":\"" SDP_JSON "\"}", id);
  assert_error (ows, 0, "np", "not_participant");
  kmg_test_ws_send (ows, "{\"type\":\"signal\",\"ref\":\"np2\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"kind\":\"ice_candidate\",\"candidate\":\"" CAND_BUYER "\"}", id);
  assert_error (ows, 0, "np2", "not_participant");
  /* Bad SDP. */
  kmg_test_ws_send (f->sws, "{\"type\":\"signal\",\"ref\":\"bad\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"kind\":\"sdp_offer\",\"sdp\":\"hello\\r\\nworld\"}", id);
  assert_error (f->sws, s0, "bad", "bad_request");
  kmg_test_ws_send (f->sws, "{\"type\":\"signal\",\"ref\":\"bad2\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"kind\":\"sdp_offer\",\"sdp\":\"v=0\\r\\nnot a line\\r\\n\"}", id);
  assert_error (f->sws, s0, "bad2", "bad_request");
  /* Metadata addresses, plain and IPv4-mapped, as candidates and inside an SDP. */
  for (guint i = 0; i < G_N_ELEMENTS (denied); i++)
    {
      g_autofree char *ref = g_strdup_printf ("den%u", i);
      g_autofree char *ref_sdp = g_strdup_printf ("densdp%u", i);
      g_autofree char *ref_b = g_strdup_printf ("denb%u", i);

      kmg_test_ws_send (f->sws, "{\"type\":\"signal\",\"ref\":\"%s\",\"session_id\":%" G_GINT64_FORMAT
                        ",\"kind\":\"ice_candidate\",\"candidate\":\"%s\",\"sdp_mid\":\"0\"}",
                        ref, id, denied[i]);
      assert_error (f->sws, s0, ref, "denied_address");
      kmg_test_ws_send (f->bws, "{\"type\":\"signal\",\"ref\":\"%s\",\"session_id\":%" G_GINT64_FORMAT
                        ",\"kind\":\"ice_candidate\",\"candidate\":\"%s\"}", ref_b, id, denied[i]);
      assert_error (f->bws, b0, ref_b, "denied_address");
      kmg_test_ws_send (f->sws, "{\"type\":\"signal\",\"ref\":\"%s\",\"session_id\":%" G_GINT64_FORMAT
                        ",\"kind\":\"sdp_offer\",\"sdp\":\"" SDP_JSON "a=%s\\r\\n\"}",
                        ref_sdp, id, denied[i]);
      assert_error (f->sws, s0, ref_sdp, "denied_address");
    }
  /* A buyer may not offer. */
  kmg_test_ws_send (f->bws, "{\"type\":\"signal\",\"ref\":\"bo\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"kind\":\"sdp_offer\",\"sdp\":\"" SDP_JSON "\"}", id);
  assert_error (f->bws, b0, "bo", "forbidden");

  /* Nothing reached anyone, and the session is unchanged: still connecting, a valid offer passes. */
  kmg_test_pump (200);
  g_assert_cmpuint (signals_since (f->bws, b0, NULL), ==, 0);
  g_assert_cmpuint (signals_since (f->sws, s0, NULL), ==, 0);
  g_assert_null (strstr (ows->raw->str, "169.254"));
  g_assert_null (strstr (f->bws->raw->str, "session.ended"));
  g_assert_cmpint (count_rows (f, "SELECT count(*) FROM watch_sessions WHERE ended_at IS NULL"), ==, 1);
  kmg_test_ws_send (f->sws, "{\"type\":\"signal\",\"ref\":\"ok\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"kind\":\"sdp_offer\",\"sdp\":\"" SDP_JSON "\"}", id);
  assert_acked (f->sws, s0, "ok");
  g_assert_nonnull (await (f->bws, b0, "signal", id, NULL));
  g_assert_cmpuint (signals_since (f->bws, b0, NULL), ==, 1);
  g_assert_null (strstr (f->sws->raw->str, "session.ended"));
}

/* One live session per buyer; the seller may decline, and nothing is charged then. */
static void
test_decline (Fixture *f, gconstpointer data)
{
  g_autoptr (KmgSessionRow) info = NULL;
  guint b0 = f->bws->msgs->len, s0 = f->sws->msgs->len;
  JsonObject *m;
  gint64 id;

  grant (f, f->buyer_id, 10 * PRICE);
  kmg_test_ws_send (f->bws, "{\"type\":\"watch.start\",\"ref\":\"w\",\"seller_id\":%" G_GINT64_FORMAT "}",
                    f->seller_id);
  m = await (f->bws, b0, "watch.started", 0, "w");
  g_assert_nonnull (m);
  id = json_object_get_int_member (m, "session_id");
  g_assert_nonnull (await (f->sws, s0, "session.offer", id, NULL));
  kmg_test_ws_send (f->bws, "{\"type\":\"watch.start\",\"ref\":\"w2\",\"seller_id\":%" G_GINT64_FORMAT "}",
                    f->seller_id);
  assert_error (f->bws, b0, "w2", "already_watching");
  /* Only the seller answers, and signaling waits for the answer. */
  kmg_test_ws_send (f->bws, "{\"type\":\"session.accept\",\"ref\":\"self\",\"session_id\":%" G_GINT64_FORMAT "}",
                    id);
  assert_error (f->bws, b0, "self", "forbidden");
  kmg_test_ws_send (f->sws, "{\"type\":\"signal\",\"ref\":\"early\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"kind\":\"sdp_offer\",\"sdp\":\"" SDP_JSON "\"}", id);
  assert_error (f->sws, s0, "early", "bad_state");
  kmg_test_ws_send (f->sws, "{\"type\":\"session.decline\",\"ref\":\"no\",\"session_id\":%" G_GINT64_FORMAT "}",
                    id);
  assert_acked (f->sws, s0, "no");
  assert_ended (f->bws, b0, id, "declined", WAIT);
  assert_ended (f->sws, s0, id, "declined", WAIT);
  kmg_test_ws_send (f->sws, "{\"type\":\"session.accept\",\"ref\":\"late\",\"session_id\":%" G_GINT64_FORMAT "}",
                    id);
  assert_error (f->sws, s0, "late", "session_ended");
  g_assert_cmpuint (signals_since (f->bws, b0, NULL), ==, 0);
  info = session_row (f, id);
  g_assert_cmpstr (info->end_reason, ==, "declined");
  g_assert_cmpuint (info->charged_minutes, ==, 0);
  g_assert_cmpint (wallet_balance (f, f->buyer), ==, 10 * PRICE);
  /* The buyer is free to watch again. */
  g_assert_cmpint (start_session (f), >, id);
}

/* ---- 3. fallback to the relay ---- */

static void
test_auto_fallback (Fixture *f, gconstpointer data)
{
  g_autoptr (KmgSessionRow) info = NULL;
  guint b0, s0, b1, s1;
  gint64 id, t0;
  JsonObject *bm, *sm;

  grant (f, f->buyer_id, 10 * PRICE);
  id = start_session (f);
  t0 = g_get_monotonic_time ();
  b0 = f->bws->msgs->len;
  s0 = f->sws->msgs->len;
  kmg_test_ws_send (f->sws, "{\"type\":\"signal\",\"ref\":\"so\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"kind\":\"sdp_offer\",\"path\":\"p2p\",\"sdp\":\"" SDP_JSON "\"}", id);
  assert_acked (f->sws, s0, "so");
  g_assert_nonnull (await (f->bws, b0, "signal", id, NULL));

  /* No first frame: after p2p_timeout both are moved to the relay, same session. */
  {
    Want w = { "session.use_relay", id, NULL, NULL };
    bm = await_ms (f->bws, b0, &w, P2P_TIMEOUT_MS + WAIT);
    g_assert_nonnull (bm);
    sm = await_ms (f->sws, s0, &w, WAIT);
    g_assert_nonnull (sm);
  }
  g_assert_cmpint ((g_get_monotonic_time () - t0) / 1000, >=, P2P_TIMEOUT_MS - 100);
  g_assert_cmpint (json_object_get_int_member (bm, "session_id"), ==, id);
  g_assert_cmpint (json_object_get_int_member (sm, "session_id"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (bm, "role"), ==, "buyer");
  g_assert_cmpstr (json_object_get_string_member (sm, "role"), ==, "seller");
  g_assert_true (json_object_get_boolean_member (bm, "fallback"));
  g_assert_true (json_object_get_boolean_member (sm, "fallback"));
  /* The first relayed buyer of this seller: the relay needs the seller's offer. */
  g_assert_true (json_object_get_boolean_member (sm, "offer_needed"));
  g_assert_false (json_object_has_member (bm, "offer_needed"));
  {
    Want w = { "session.state", id, NULL, "connecting_relay" };
    g_assert_nonnull (await_ms (f->bws, b0, &w, WAIT));
    g_assert_nonnull (await_ms (f->sws, s0, &w, WAIT));
  }
  info = session_row (f, id);
  g_assert_cmpstr (info->path, ==, "relay");
  g_assert_null (info->end_reason);

  /* From now on nothing of one party reaches the other. */
  b1 = f->bws->msgs->len;
  s1 = f->sws->msgs->len;
  kmg_test_ws_send (f->sws, "{\"type\":\"signal\",\"ref\":\"old\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"kind\":\"ice_candidate\",\"path\":\"p2p\",\"candidate\":\"" CAND_SELLER "\"}", id);
  assert_error (f->sws, s1, "old", "stale_path");
  kmg_test_ws_send (f->bws, "{\"type\":\"signal\",\"ref\":\"oldb\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"kind\":\"sdp_answer\",\"path\":\"p2p\",\"sdp\":\"" SDP_JSON "\"}", id);
  assert_error (f->bws, b1, "oldb", "stale_path");
  kmg_test_ws_send (f->sws, "{\"type\":\"signal\",\"ref\":\"rs\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"kind\":\"ice_candidate\",\"path\":\"relay\",\"candidate\":\"" CAND_SELLER "\"}", id);
  kmg_test_ws_send (f->bws, "{\"type\":\"signal\",\"ref\":\"rb\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"kind\":\"ice_candidate\",\"path\":\"relay\",\"candidate\":\"" CAND_BUYER "\"}", id);
  kmg_test_ws_send (f->sws, "{\"type\":\"signal\",\"ref\":\"rso\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"kind\":\"sdp_offer\",\"sdp\":\"" SDP_JSON "\"}", id);
  /* Whatever the relay makes of them (ack, or an error), no message reaches the other party. */
  kmg_test_pump (1000);
  g_assert_cmpuint (signals_since (f->bws, b1, "seller"), ==, 0);
  g_assert_cmpuint (signals_since (f->sws, s0, "buyer"), ==, 0);
  g_assert_null (strstr (f->bws->raw->str, "198.51.100.7"));
  g_assert_null (strstr (f->sws->raw->str, "203.0.113.9"));
  g_test_message ("after fallback: %u relay signals to the buyer, %u to the seller",
                  signals_since (f->bws, b1, "relay"), signals_since (f->sws, s1, "relay"));

  b1 = f->bws->msgs->len;
  s1 = f->sws->msgs->len;
  kmg_test_ws_send (f->bws, "{\"type\":\"session.leave\",\"ref\":\"bye\",\"session_id\":%" G_GINT64_FORMAT "}",
                    id);
  assert_ended (f->bws, b1, id, "buyer_left", WAIT);
  assert_ended (f->sws, s1, id, "buyer_left", WAIT);
  g_clear_pointer (&info, kmg_session_row_free);
  info = session_row (f, id);
  g_assert_cmpstr (info->end_reason, ==, "buyer_left");
  g_assert_cmpint (info->charged_minutes, ==, 0);
  /* The relay tears a stopped buyer leg down from an idle callback that outlives kmg_relay_free()
   * (it then reads the freed seller leg): let it run while the server still exists. */
  kmg_test_pump (300);
}

/* ---- 4. credits run out ---- */

static void
test_insufficient_mid_session (Fixture *f, gconstpointer data)
{
  g_autoptr (KmgSessionRow) info = NULL;
  guint b0, s0;
  gint64 id;
  JsonObject *charged;

  grant (f, f->buyer_id, PRICE); /* exactly one minute */
  id = start_session (f);
  activate (f, id);
  b0 = f->bws->msgs->len;
  s0 = f->sws->msgs->len;
  g_assert_nonnull (feed_until (f, id, "session.ended", 30));
  assert_ended (f->bws, b0, id, "insufficient_credits", 0);
  assert_ended (f->sws, s0, id, "insufficient_credits", WAIT);

  charged = await (f->bws, b0, "billing.charged", id, NULL);
  g_assert_nonnull (charged);
  g_assert_cmpint (json_object_get_int_member (charged, "minute_index"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (charged, "balance"), ==, 0);
  {
    Want second = { "billing.charged", id, NULL, NULL };
    f->bws->cursor = b0;
    g_assert_nonnull (kmg_test_ws_wait_match (f->bws, match_want, &second, 0));
    g_assert_null (kmg_test_ws_wait_match (f->bws, match_want, &second, 0));
  }
  /* Nothing left after the first minute: the buyer was warned. */
  charged = await (f->bws, b0, "billing.low_balance", id, NULL);
  g_assert_nonnull (charged);
  g_assert_cmpint (json_object_get_int_member (charged, "balance"), ==, 0);
  g_assert_null (strstr (f->sws->raw->str, "billing.low_balance"));
  g_assert_cmpint (wallet_balance (f, f->buyer), ==, 0);
  g_assert_cmpint (wallet_balance (f, f->seller), ==, seller_share (f));
  info = session_row (f, id);
  g_assert_cmpstr (info->end_reason, ==, "insufficient_credits");
  g_assert_cmpuint (info->charged_minutes, ==, 1);
  g_assert_cmpuint (info->delivered_seconds, >=, 2);
  g_assert_cmpint (count_rows (f, "SELECT count(*) FROM accounts WHERE kind = 'user' AND balance < 0"), ==, 0);
  assert_audit_ok (f);
  /* Stats for the ended session change nothing any more. */
  send_stats (f, id);
  kmg_test_pump (1500);
  g_assert_cmpint (wallet_balance (f, f->buyer), ==, 0);
}

static guint unchargeable_warnings;

/* The warning billing gives for a session it cannot charge is expected in one test; any other
 * warning stays fatal. */
static GLogWriterOutput
writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  for (gsize i = 0; i < n_fields; i++)
    if ((level & G_LOG_LEVEL_WARNING) && g_str_equal (fields[i].key, "MESSAGE")
        && strstr (fields[i].value, "not chargeable") != NULL)
      {
        unchargeable_warnings++;
        return G_LOG_WRITER_HANDLED;
      }
  return g_log_writer_default (level, fields, n_fields, user_data);
}

/* A session whose billing row was closed outside this process (an operator, a second process)
 * cannot be charged: it ends, and the parties are told it was ended by an admin — not, as
 * before, that the buyer ran out of credits. */
static void
test_billing_closed_elsewhere (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *sql = NULL;
  guint b0, s0;
  gint64 id;

  grant (f, f->buyer_id, 100 * PRICE);
  id = start_session (f);
  activate (f, id);
  sql = g_strdup_printf ("UPDATE watch_sessions SET ended_at = %" G_GINT64_FORMAT
                         ", end_reason = 'admin' WHERE id = %" G_GINT64_FORMAT,
                         g_get_real_time () / 1000, id);
  g_assert_true (kmg_db_exec (f->app->db, sql, &error));
  g_assert_no_error (error);
  b0 = f->bws->msgs->len;
  s0 = f->sws->msgs->len;
  g_assert_nonnull (feed_until (f, id, "session.ended", 30));
  assert_ended (f->bws, b0, id, "admin", 0);
  assert_ended (f->sws, s0, id, "admin", WAIT);
  g_assert_cmpint (wallet_balance (f, f->buyer), ==, 100 * PRICE);
  g_assert_cmpuint (unchargeable_warnings, ==, 1);
}

/* ---- 5. other ends ---- */

static void
test_stop_live (Fixture *f, gconstpointer data)
{
  g_autoptr (KmgSessionRow) info = NULL;
  guint b0, s0;
  gint64 id;

  grant (f, f->buyer_id, 10 * PRICE);
  id = start_session (f);
  activate (f, id);
  b0 = f->bws->msgs->len;
  s0 = f->sws->msgs->len;
  kmg_test_ws_send (f->sws, "{\"type\":\"stop_live\",\"ref\":\"stop\"}");
  assert_acked (f->sws, s0, "stop");
  assert_ended (f->bws, b0, id, "seller_left", WAIT);
  assert_ended (f->sws, s0, id, "seller_left", WAIT);
  info = session_row (f, id);
  g_assert_cmpstr (info->end_reason, ==, "seller_left");
  /* Not live any more: a new watch is refused. */
  kmg_test_ws_send (f->bws, "{\"type\":\"watch.start\",\"ref\":\"again\",\"seller_id\":%" G_GINT64_FORMAT "}",
                    f->seller_id);
  assert_error (f->bws, b0, "again", "not_streaming");
}

static void
test_seller_gone (Fixture *f, gconstpointer data)
{
  g_autoptr (KmgSessionRow) info = NULL;
  guint b0;
  gint64 id, t0;

  grant (f, f->buyer_id, 10 * PRICE);
  id = start_session (f);
  activate (f, id);
  b0 = f->bws->msgs->len;
  /* The connection drops without goodbye: the session survives the grace, then ends. */
  t0 = g_get_monotonic_time ();
  g_clear_pointer (&f->sws, kmg_test_ws_free);
  kmg_test_pump (GRACE_S * 1000 / 2);
  g_assert_null (strstr (f->bws->raw->str, "session.ended"));
  assert_ended (f->bws, b0, id, "seller_gone", GRACE_S * 1000 + WAIT);
  g_assert_cmpint ((g_get_monotonic_time () - t0) / 1000, >=, GRACE_S * 1000 - 200);
  info = session_row (f, id);
  g_assert_cmpstr (info->end_reason, ==, "seller_gone");
}

/* The buyer's only WebSocket drops: its session ends buyer_gone once the grace (+ 0.5 s) is over. */
static void
test_buyer_gone (Fixture *f, gconstpointer data)
{
  g_autoptr (KmgSessionRow) info = NULL;
  guint s0;
  gint64 id, t0;

  grant (f, f->buyer_id, 10 * PRICE);
  id = start_session (f);
  activate (f, id);
  s0 = f->sws->msgs->len;
  t0 = g_get_monotonic_time ();
  g_clear_pointer (&f->bws, kmg_test_ws_free);
  kmg_test_pump (GRACE_S * 1000);
  g_assert_null (strstr (f->sws->raw->str, "session.ended"));
  assert_ended (f->sws, s0, id, "buyer_gone", GRACE_S * 1000 + WAIT);
  g_assert_cmpint ((g_get_monotonic_time () - t0) / 1000, >=, GRACE_S * 1000 + 500 - 200);
  info = session_row (f, id);
  g_assert_cmpstr (info->end_reason, ==, "buyer_gone");
  assert_audit_ok (f);
}

/* The buyer comes back on a new WebSocket within the grace: the session carries on. */
static void
test_buyer_reconnect (Fixture *f, gconstpointer data)
{
  Want ended = { "session.ended", 0, NULL, NULL };
  guint s0, b0;
  gint64 id;

  grant (f, f->buyer_id, 10 * PRICE);
  id = start_session (f);
  activate (f, id);
  s0 = f->sws->msgs->len;
  g_clear_pointer (&f->bws, kmg_test_ws_free);
  kmg_test_pump (GRACE_S * 1000 / 2);
  f->bws = connect_ws (f, f->buyer);
  kmg_test_pump (GRACE_S * 1000 + 1000);
  ended.session_id = id;
  g_assert_cmpuint (kmg_test_ws_count (f->sws, s0, match_want, &ended), ==, 0);
  b0 = f->bws->msgs->len;
  kmg_test_ws_send (f->bws, "{\"type\":\"stats\",\"ref\":\"st\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"frames_decoded\":30,\"bytes_received\":30000}", id);
  assert_acked (f->bws, b0, "st");
}

static gboolean
has_end_action (KmgTestResponse *r, gint64 id, gint64 buyer_id)
{
  JsonArray *items = json_object_get_array_member (kmg_test_response_object (r), "items");
  g_autofree char *ref = g_strdup_printf ("session:%" G_GINT64_FORMAT, id);

  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *a = json_array_get_object_element (items, i);
      if (g_strcmp0 (json_object_get_string_member_with_default (a, "action", ""), "end_session") == 0
          && g_strcmp0 (json_object_get_string_member_with_default (a, "target_ref", ""), ref) == 0
          && json_object_get_int_member_with_default (a, "target_user", 0) == buyer_id
          && g_strcmp0 (json_object_get_string_member_with_default (a, "reason", ""), "abuse report") == 0)
        return TRUE;
    }
  return FALSE;
}

static void
test_admin_end (Fixture *f, gconstpointer data)
{
  g_autofree char *admin = kmg_test_admin_token (f->ts, "ada", NULL);
  g_autofree char *path = NULL;
  g_autoptr (KmgTestResponse) r = NULL;
  g_autoptr (KmgTestResponse) again = NULL;
  g_autoptr (KmgTestResponse) by_user = NULL;
  g_autoptr (KmgTestResponse) actions = NULL;
  g_autoptr (KmgSessionRow) info = NULL;
  guint b0, s0;
  gint64 id;

  grant (f, f->buyer_id, 10 * PRICE);
  id = start_session (f);
  activate (f, id);
  b0 = f->bws->msgs->len;
  s0 = f->sws->msgs->len;
  path = g_strdup_printf ("/api/v1/admin/sessions/%" G_GINT64_FORMAT "/end", id);
  by_user = kmg_test_request (f->ts, "POST", path, f->buyer, "{\"reason\":\"abuse report\"}");
  g_assert_cmpuint (by_user->status, ==, 403);
  g_assert_null (strstr (f->bws->raw->str, "session.ended"));
  r = kmg_test_request (f->ts, "POST", path, admin, "{\"reason\":\"abuse report\"}");
  g_assert_cmpuint (r->status, ==, 200);
  assert_ended (f->bws, b0, id, "admin", WAIT);
  assert_ended (f->sws, s0, id, "admin", WAIT);
  info = session_row (f, id);
  g_assert_cmpstr (info->end_reason, ==, "admin");
  again = kmg_test_request (f->ts, "POST", path, admin, "{\"reason\":\"abuse report\"}");
  g_assert_cmpuint (again->status, ==, 409);
  actions = kmg_test_get (f->ts, admin, 200, "/api/v1/admin/actions");
  g_assert_true (has_end_action (actions, id, f->buyer_id));
}

static void
test_ban_buyer (Fixture *f, gconstpointer data)
{
  g_autofree char *admin = kmg_test_admin_token (f->ts, "ada", NULL);
  g_autofree char *path = g_strdup_printf ("/api/v1/admin/users/%" G_GINT64_FORMAT "/ban", f->buyer_id);
  g_autoptr (KmgTestResponse) r = NULL;
  g_autoptr (KmgSessionRow) info = NULL;
  guint b0, s0;
  gint64 id;

  grant (f, f->buyer_id, 10 * PRICE);
  id = start_session (f);
  activate (f, id);
  b0 = f->bws->msgs->len;
  s0 = f->sws->msgs->len;
  r = kmg_test_request (f->ts, "POST", path, admin, "{\"reason\":\"fraud\"}");
  g_assert_cmpuint (r->status, ==, 200);
  assert_ended (f->sws, s0, id, "banned", WAIT);
  /* The buyer hears of it before its connections are closed. */
  assert_ended (f->bws, b0, id, "banned", WAIT);
  g_assert_true (kmg_test_ws_wait_closed (f->bws, WAIT));
  info = session_row (f, id);
  g_assert_cmpstr (info->end_reason, ==, "banned");
  assert_audit_ok (f);
}

/* ---- 6. a buyer that stops attesting on P2P ---- */

/* The buyer stops sending stats while the seller's reports show media reaching it: moved to the
 * relay 6 s (buyer_silence_ms) after its last attested second, and charged nothing for the silence. */
static void
test_silent_buyer (Fixture *f, gconstpointer data)
{
  Want use_relay = { "session.use_relay", 0, NULL, NULL };
  Want relay_state = { "session.state", 0, NULL, "connecting_relay" };
  g_autoptr (KmgSessionRow) info = NULL;
  guint b0, s0, n = 1;
  gint64 id, silent_from, elapsed, last_second;
  JsonObject *bm, *sm;

  grant (f, f->buyer_id, 10 * PRICE);
  id = start_session (f);
  activate (f, id);
  /* Both report every second until the first minute is charged. */
  b0 = f->bws->msgs->len;
  for (guint s = 0; s < 15 && kmg_test_ws_count (f->bws, b0, match_want,
                                                 &(Want){ "billing.charged", id, NULL, NULL }) == 0; s++)
    {
      send_stats (f, id);
      send_seller_stats (f, id, n++);
      kmg_test_pump (1000);
    }
  g_assert_nonnull (await (f->bws, b0, "billing.charged", id, NULL));
  send_stats (f, id);
  silent_from = g_get_monotonic_time ();
  last_second = g_get_real_time () / G_USEC_PER_SEC;

  /* Silence from the buyer; the seller keeps reporting every second. */
  b0 = f->bws->msgs->len;
  s0 = f->sws->msgs->len;
  use_relay.session_id = relay_state.session_id = id;
  for (guint s = 0; s < 12 && kmg_test_ws_count (f->bws, b0, match_want, &use_relay) == 0; s++)
    {
      kmg_test_pump (1000);
      send_seller_stats (f, id, n++);
    }
  bm = await_ms (f->bws, b0, &use_relay, WAIT);
  g_assert_nonnull (bm);
  elapsed = (g_get_monotonic_time () - silent_from) / 1000;
  g_test_message ("moved to the relay %" G_GINT64_FORMAT " ms after the buyer's last stats", elapsed);
  g_assert_cmpint (elapsed, >=, 6000 - 300);
  g_assert_cmpint (elapsed, <=, 6000 + 2000);
  g_assert_true (json_object_get_boolean_member (bm, "fallback"));
  sm = await_ms (f->sws, s0, &use_relay, WAIT);
  g_assert_nonnull (sm);
  g_assert_true (json_object_get_boolean_member (sm, "fallback"));
  g_assert_nonnull (await_ms (f->bws, b0, &relay_state, WAIT));
  g_assert_nonnull (await_ms (f->sws, s0, &relay_state, WAIT));
  info = session_row (f, id);
  g_assert_cmpstr (info->path, ==, "relay");
  g_assert_null (info->end_reason);

  /* On the relay both kinds of stats are accepted and change nothing. */
  kmg_test_ws_send (f->bws, "{\"type\":\"stats\",\"ref\":\"bst\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"frames_decoded\":999999,\"bytes_received\":999999999}", id);
  assert_acked (f->bws, b0, "bst");
  kmg_test_ws_send (f->sws, "{\"type\":\"stats\",\"ref\":\"sst\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"packets_sent\":999999,\"bytes_sent\":999999999,\"rr_count\":99999,"
                    "\"fraction_lost\":0}", id);
  assert_acked (f->sws, s0, "sst");

  /* Nothing was charged for the silence: every counted second is from before it. */
  b0 = f->bws->msgs->len;
  kmg_test_ws_send (f->bws, "{\"type\":\"session.leave\",\"ref\":\"bye\",\"session_id\":%" G_GINT64_FORMAT "}",
                    id);
  assert_ended (f->bws, b0, id, "buyer_left", WAIT);
  g_clear_pointer (&info, kmg_session_row_free);
  info = session_row (f, id);
  g_assert_cmpint (info->charged_minutes, ==, 1);
  g_assert_cmpint (count_rows (f, "SELECT count(*) FROM measured_minutes"), ==, 1);
  g_assert_cmpint (count_rows (f, "SELECT max(last_second) FROM measured_minutes"), <=, last_second);
  g_assert_cmpint (wallet_balance (f, f->buyer), ==, 9 * PRICE);
  assert_audit_ok (f);
  kmg_test_pump (300); /* let the relay's buyer-leg teardown run while the server exists */
}

/* Same under relay.policy never: no relay to measure on, so the session ends unattested. */
static void
never_config_setup (KmgConfig *c)
{
  config_setup (c);
  c->relay_policy = KMG_RELAY_POLICY_NEVER;
}

static void
never_fixture_setup (Fixture *f, gconstpointer data)
{
  fixture_start (f, never_config_setup);
}

static void
test_silent_buyer_never (Fixture *f, gconstpointer data)
{
  Want ended = { "session.ended", 0, NULL, NULL };
  g_autoptr (KmgSessionRow) info = NULL;
  guint b0, s0, n = 1;
  gint64 id, silent_from, elapsed;

  grant (f, f->buyer_id, 10 * PRICE);
  id = start_session (f);
  activate (f, id);
  send_stats (f, id);
  silent_from = g_get_monotonic_time ();
  b0 = f->bws->msgs->len;
  s0 = f->sws->msgs->len;
  ended.session_id = id;
  for (guint s = 0; s < 12 && kmg_test_ws_count (f->bws, b0, match_want, &ended) == 0; s++)
    {
      send_seller_stats (f, id, n++);
      kmg_test_pump (1000);
    }
  assert_ended (f->bws, b0, id, "unattested", WAIT);
  assert_ended (f->sws, s0, id, "unattested", WAIT);
  elapsed = (g_get_monotonic_time () - silent_from) / 1000;
  g_assert_cmpint (elapsed, >=, 6000 - 300);
  g_assert_cmpint (elapsed, <=, 6000 + 2000);
  g_assert_null (strstr (f->bws->raw->str, "session.use_relay"));
  info = session_row (f, id);
  g_assert_cmpstr (info->end_reason, ==, "unattested");
  g_assert_cmpint (info->charged_minutes, ==, 0);
  g_assert_cmpint (wallet_balance (f, f->buyer), ==, 10 * PRICE);
  assert_audit_ok (f);
}

/* The seller's shape of stats is checked as strictly as the buyer's. */
static void
test_seller_stats_refusals (Fixture *f, gconstpointer data)
{
  guint b0, s0;
  gint64 id;

  grant (f, f->buyer_id, 10 * PRICE);
  id = start_session (f);
  b0 = f->bws->msgs->len;
  s0 = f->sws->msgs->len;
  kmg_test_ws_send (f->sws, "{\"type\":\"stats\",\"ref\":\"ok\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"packets_sent\":10,\"bytes_sent\":1000,\"rr_count\":0}", id);
  assert_acked (f->sws, s0, "ok");
  kmg_test_ws_send (f->sws, "{\"type\":\"stats\",\"ref\":\"mix\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"packets_sent\":10,\"bytes_sent\":1000,\"rr_count\":0,\"frames_decoded\":3}", id);
  assert_error (f->sws, s0, "mix", "bad_request");
  kmg_test_ws_send (f->sws, "{\"type\":\"stats\",\"ref\":\"norr\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"packets_sent\":10,\"bytes_sent\":1000}", id);
  assert_error (f->sws, s0, "norr", "bad_request");
  kmg_test_ws_send (f->sws, "{\"type\":\"stats\",\"ref\":\"loss\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"packets_sent\":10,\"bytes_sent\":1000,\"rr_count\":1,\"fraction_lost\":1.5}", id);
  assert_error (f->sws, s0, "loss", "bad_request");
  kmg_test_ws_send (f->sws, "{\"type\":\"stats\",\"ref\":\"neg\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"packets_sent\":-1,\"bytes_sent\":1000,\"rr_count\":1}", id);
  assert_error (f->sws, s0, "neg", "bad_request");
  kmg_test_ws_send (f->sws, "{\"type\":\"stats\",\"ref\":\"str\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"packets_sent\":10,\"bytes_sent\":1000,\"rr_count\":\"1\"}", id);
  assert_error (f->sws, s0, "str", "bad_request");
  /* Each role has its own shape. */
  kmg_test_ws_send (f->bws, "{\"type\":\"stats\",\"ref\":\"bs\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"packets_sent\":10,\"bytes_sent\":1000,\"rr_count\":1}", id);
  assert_error (f->bws, b0, "bs", "forbidden");
  kmg_test_ws_send (f->sws, "{\"type\":\"stats\",\"ref\":\"sb\",\"session_id\":%" G_GINT64_FORMAT
                    ",\"frames_decoded\":10,\"bytes_received\":1000}", id);
  assert_error (f->sws, s0, "sb", "forbidden");
  g_assert_null (strstr (f->bws->raw->str, "session.ended"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (writer, NULL, NULL);
#define ADD(name, fn) g_test_add ("/api/watch/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("p2p-happy-path", test_p2p_happy_path);
  ADD ("refusals", test_refusals);
  ADD ("decline", test_decline);
  ADD ("auto-fallback", test_auto_fallback);
  ADD ("insufficient-credits-mid-session", test_insufficient_mid_session);
  ADD ("billing-closed-elsewhere", test_billing_closed_elsewhere);
  ADD ("stop-live", test_stop_live);
  ADD ("seller-gone", test_seller_gone);
  ADD ("buyer-gone", test_buyer_gone);
  ADD ("buyer-reconnect", test_buyer_reconnect);
  ADD ("admin-end", test_admin_end);
  ADD ("ban-buyer", test_ban_buyer);
  ADD ("silent-buyer-to-relay", test_silent_buyer);
  ADD ("seller-stats-refusals", test_seller_stats_refusals);
  g_test_add ("/api/watch/silent-buyer-policy-never", Fixture, NULL, never_fixture_setup, test_silent_buyer_never,
              fixture_teardown);
#undef ADD
  return g_test_run ();
}
