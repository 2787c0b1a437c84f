/* test-api-billing.c — billing over HTTP against a real in-process server: the signed top-up
 * webhook, wallet paging, the rating rules and a seller's rating and history in its profile. */

#include <string.h>

#include "kmg-billing.h"
#include "kmg-topup.h"
#include "ws-client.h"

#define PASSWORD "correct horse battery"
#define SECRET "whsec-test-0123456789"
#define PRICE 10

typedef struct
{
  KmgTestServer *ts;
  KmgApp *app;
} Fixture;

static void
config_setup (KmgConfig *c)
{
  c->grace_s = 1;
  c->ping_s = 1;
  c->min_update_s = 0;
  c->flush_ms = 50;
  c->minute_s = 3;
  c->min_billable_s = 2;
  g_free (c->webhook_secret);
  c->webhook_secret = g_strdup (SECRET);
}

typedef struct
{
  void (*fn) (KmgConfig *config);
} Setup;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  const Setup *setup = data;

  f->ts = kmg_test_server_new (setup != NULL ? setup->fn : config_setup);
  f->app = kmg_server_get_app (f->ts->server);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->ts, kmg_test_server_free);
}

static void
expect (Fixture *f, const char *method, const char *path, const char *token, const char *body,
        guint status, const char *code)
{
  g_autoptr (KmgTestResponse) r = kmg_test_request (f->ts, method, path, token, body);

  g_test_message ("%s %s → %u %.*s", method, path, r->status, (int) g_bytes_get_size (r->body),
                  (const char *) g_bytes_get_data (r->body, NULL));
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

/* ---- the webhook ---- */

/* POSTs @body to the webhook with the given headers (NULL: header left out). */
static guint
post_topup_raw (Fixture *f, const char *body, const char *timestamp, const char *signature,
                char **code)
{
  g_autoptr (GBytes) b = g_bytes_new (body, strlen (body));
  const char *headers[] = { KMG_TOPUP_HEADER_TIMESTAMP, timestamp, KMG_TOPUP_HEADER_SIGNATURE,
                            signature };
  g_autoptr (KmgTestResponse) r = kmg_test_request_full (f->ts, "POST", "/api/v1/billing/topup",
                                                          NULL, "application/json", b, headers,
                                                          G_N_ELEMENTS (headers));

  g_test_message ("topup %s → %u %.*s", body, r->status, (int) g_bytes_get_size (r->body),
                  (const char *) g_bytes_get_data (r->body, NULL));
  if (code)
    {
      *code = NULL;
      if (r->json != NULL && JSON_NODE_HOLDS_OBJECT (r->json))
        {
          JsonObject *o = json_node_get_object (r->json);
          if (json_object_has_member (o, "error"))
            *code = g_strdup (json_object_get_string_member (
                json_object_get_object_member (o, "error"), "code"));
          else
            *code = g_strdup (json_object_get_boolean_member (o, "replayed") ? "replayed" : "new");
        }
    }
  return r->status;
}

/* Signs @body with @secret at now + @skew_s and posts it. */
static guint
post_topup (Fixture *f, const char *secret, gint64 skew_s, const char *body, char **code)
{
  g_autofree char *ts = g_strdup_printf ("%" G_GINT64_FORMAT,
                                         g_get_real_time () / G_USEC_PER_SEC + skew_s);
  g_autofree char *sig = kmg_billing_topup_sign ((const guint8 *) secret, strlen (secret), ts,
                                                 body, strlen (body));

  return post_topup_raw (f, body, ts, sig, code);
}

static char *
topup_body (const char *ref, gint64 user, gint64 amount)
{
  return g_strdup_printf ("{\"payment_ref\":\"%s\",\"user_id\":%" G_GINT64_FORMAT
                          ",\"amount\":%" G_GINT64_FORMAT "}",
                          ref, user, amount);
}

static void
test_topup_webhook (Fixture *f, gconstpointer data)
{
  gint64 uid = 0;
  g_autofree char *user = kmg_test_register (f->ts, "alice", PASSWORD, &uid);
  g_autofree char *body = topup_body ("pay_0001", uid, 300);
  g_autofree char *other = topup_body ("pay_0001", uid, 999);
  g_autofree char *nobody = topup_body ("pay_0002", 999999, 50);
  g_autofree char *ts = g_strdup_printf ("%" G_GINT64_FORMAT, g_get_real_time () / G_USEC_PER_SEC);
  g_autofree char *sig = kmg_billing_topup_sign ((const guint8 *) SECRET, strlen (SECRET), ts,
                                                 body, strlen (body));
  g_autofree char *tampered = g_strdup (body);
  char *code = NULL;

  /* Refused before anything is credited. */
  g_assert_cmpuint (post_topup (f, "not-the-secret", 0, body, &code), ==, 401);
  g_assert_cmpstr (code, ==, "bad_signature");
  g_clear_pointer (&code, g_free);
  g_assert_cmpuint (post_topup_raw (f, body, ts, NULL, &code), ==, 401);
  g_clear_pointer (&code, g_free);
  g_assert_cmpuint (post_topup_raw (f, body, ts, "v1=00", &code), ==, 401);
  g_assert_cmpstr (code, ==, "bad_signature");
  g_clear_pointer (&code, g_free);
  tampered[strlen (tampered) - 2] = '9'; /* amount 300 → 390 under the same signature */
  g_assert_cmpuint (post_topup_raw (f, tampered, ts, sig, &code), ==, 401);
  g_assert_cmpstr (code, ==, "bad_signature");
  g_clear_pointer (&code, g_free);
  g_assert_cmpuint (post_topup_raw (f, body, NULL, sig, &code), ==, 401);
  g_clear_pointer (&code, g_free);
  g_assert_cmpuint (post_topup (f, SECRET, -3600, body, &code), ==, 401);
  g_assert_cmpstr (code, ==, "stale_timestamp");
  g_clear_pointer (&code, g_free);
  g_assert_cmpuint (post_topup (f, SECRET, +3600, body, &code), ==, 401);
  g_assert_cmpstr (code, ==, "stale_timestamp");
  g_clear_pointer (&code, g_free);
  g_assert_cmpuint (post_topup (f, SECRET, 0, nobody, &code), ==, 404);
  g_clear_pointer (&code, g_free);
  g_assert_cmpuint (post_topup (f, SECRET, 0, "{\"payment_ref\":\"x y\",\"user_id\":1,\"amount\":1}",
                                &code),
                    ==, 400);
  g_clear_pointer (&code, g_free);
  g_assert_cmpuint (post_topup (f, SECRET, 0, "{\"payment_ref\":\"p\",\"user_id\":1,\"amount\":0}",
                                &code),
                    ==, 400);
  g_clear_pointer (&code, g_free);
  g_assert_cmpint (balance_of (f, user), ==, 0);

  /* Good: credited once. */
  g_assert_cmpuint (post_topup_raw (f, body, ts, sig, &code), ==, 201);
  g_assert_cmpstr (code, ==, "new");
  g_clear_pointer (&code, g_free);
  g_assert_cmpint (balance_of (f, user), ==, 300);
  /* The same delivery again (retry) and a re-signed one: replayed, nothing more. */
  g_assert_cmpuint (post_topup_raw (f, body, ts, sig, &code), ==, 200);
  g_assert_cmpstr (code, ==, "replayed");
  g_clear_pointer (&code, g_free);
  g_assert_cmpuint (post_topup (f, SECRET, 1, body, &code), ==, 200);
  g_assert_cmpstr (code, ==, "replayed");
  g_clear_pointer (&code, g_free);
  g_assert_cmpint (balance_of (f, user), ==, 300);
  /* The same payment reference with another amount is not a second credit. */
  g_assert_cmpuint (post_topup (f, SECRET, 0, other, &code), ==, 409);
  g_assert_cmpstr (code, ==, "idempotency_conflict");
  g_clear_pointer (&code, g_free);
  g_assert_cmpint (balance_of (f, user), ==, 300);
}

static void
config_no_secret (KmgConfig *c)
{
  config_setup (c);
  g_free (c->webhook_secret);
  c->webhook_secret = g_strdup ("");
}

static void
test_topup_disabled (Fixture *f, gconstpointer data)
{
  gint64 uid = 0;
  g_autofree char *user = kmg_test_register (f->ts, "bob", PASSWORD, &uid);
  g_autofree char *body = topup_body ("pay_9", uid, 10);
  char *code = NULL;

  g_assert_cmpuint (post_topup (f, SECRET, 0, body, &code), ==, 404);
  g_assert_cmpstr (code, ==, "not_found");
  g_free (code);
  g_assert_cmpuint (post_topup (f, "", 0, body, NULL), ==, 404);
  g_assert_cmpint (balance_of (f, user), ==, 0);
}

static void
test_wallet_paging (Fixture *f, gconstpointer data)
{
  gint64 uid = 0, sum = 0, last_id = G_MAXINT64;
  g_autofree char *user = kmg_test_register (f->ts, "carol", PASSWORD, &uid);
  g_autofree char *next = NULL;
  guint seen = 0, pages = 0;

  for (guint i = 1; i <= 7; i++)
    {
      g_autofree char *ref = g_strdup_printf ("pay_%u", i);
      g_autofree char *body = topup_body (ref, uid, 10 * i);
      g_assert_cmpuint (post_topup (f, SECRET, 0, body, NULL), ==, 201);
    }
  do
    {
      g_autoptr (KmgTestResponse) r = NULL;
      JsonObject *o;
      JsonArray *tr;
      JsonNode *nb;

      if (next)
        r = kmg_test_get (f->ts, user, 200, "/api/v1/me/wallet?limit=3&before=%s", next);
      else
        r = kmg_test_get (f->ts, user, 200, "/api/v1/me/wallet?limit=3");
      o = kmg_test_response_object (r);
      g_assert_cmpint (json_object_get_int_member (o, "balance"), ==, 280);
      tr = json_object_get_array_member (o, "transfers");
      g_assert_cmpuint (json_array_get_length (tr), <=, 3);
      for (guint i = 0; i < json_array_get_length (tr); i++)
        {
          JsonObject *t = json_array_get_object_element (tr, i);
          gint64 id = json_object_get_int_member (t, "id");
          g_assert_cmpint (id, <, last_id); /* newest first, no repeats across pages */
          last_id = id;
          g_assert_cmpstr (json_object_get_string_member (t, "kind"), ==, "topup");
          sum += json_object_get_int_member (t, "amount");
          seen++;
        }
      g_clear_pointer (&next, g_free);
      nb = json_object_get_member (o, "next_before");
      g_assert_nonnull (nb);
      if (!JSON_NODE_HOLDS_NULL (nb))
        next = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (nb));
      pages++;
      g_assert_cmpuint (pages, <=, 4);
    }
  while (next != NULL);
  g_assert_cmpuint (seen, ==, 7);
  g_assert_cmpint (sum, ==, 280);
  g_assert_cmpuint (pages, ==, 3);

  expect (f, "GET", "/api/v1/me/wallet?limit=101", user, NULL, 400, "out_of_range");
  expect (f, "GET", "/api/v1/me/wallet?before=abc", user, NULL, 400, "out_of_range");
  expect (f, "GET", "/api/v1/me/wallet", NULL, NULL, 401, NULL);
}

/* ---- sessions made directly on the billing engine ---- */

/* A session of @buyer watching @seller with @seconds delivered seconds, ended. */
static gint64
billed_session (Fixture *f, gint64 buyer, gint64 seller, guint seconds, gboolean end)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) events = NULL;
  gint64 now = g_get_real_time () / 1000;
  gint64 start = now - 60000;
  gint64 id = kmg_billing_session_start (f->app->billing, buyer, seller, start, &error);

  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  kmg_billing_session_set_active (f->app->billing, id, TRUE);
  for (guint i = 0; i < seconds; i++)
    {
      KmgDeliveredSecond s = { .second = start / 1000 + i,
                               .source = KMG_DELIVERY_RELAY_MEASURED,
                               .packets = 30,
                               .bytes = 30000,
                               .loss = 0,
                               .jitter_ms = -1,
                               .rtt_ms = -1 };
      g_assert_cmpint (kmg_billing_delivered_second (f->app->billing, id, &s, now), ==,
                       KMG_METER_COUNTED);
    }
  events = kmg_billing_flush (f->app->billing, now, &error);
  g_assert_no_error (error);
  g_assert_nonnull (events);
  if (end)
    {
      g_assert_true (kmg_billing_session_end (f->app->billing, id, "buyer_left", now, &error));
      g_assert_no_error (error);
    }
  return id;
}

static void
grant (Fixture *f, gint64 user, gint64 amount)
{
  g_autoptr (GError) error = NULL;
  KmgTransferResult res = { 0 };

  g_assert_true (kmg_ledger_grant (kmg_billing_get_ledger (f->app->billing), user, amount,
                                   "test credit", 0, NULL, g_get_real_time () / 1000, &res,
                                   &error));
  g_assert_no_error (error);
}

static char *
rating_path (gint64 session)
{
  return g_strdup_printf ("/api/v1/sessions/%" G_GINT64_FORMAT "/rating", session);
}

static void
test_rating_rules (Fixture *f, gconstpointer data)
{
  gint64 sid = 0, bid = 0, oid = 0;
  g_autofree char *seller = kmg_test_seller (f->ts, "dora", PRICE, &sid);
  g_autofree char *buyer = kmg_test_register (f->ts, "eve", PASSWORD, &bid);
  g_autofree char *other = kmg_test_register (f->ts, "finn", PASSWORD, &oid);
  g_autoptr (KmgTestResponse) r = NULL;
  g_autofree char *unbilled = NULL, *live = NULL, *billed = NULL;
  JsonObject *rating, *h;
  JsonArray *history;

  grant (f, bid, 100);
  unbilled = rating_path (billed_session (f, bid, sid, 1, TRUE)); /* below min_billable_s */
  live = rating_path (billed_session (f, bid, sid, 2, FALSE));    /* charged, still running */
  g_assert_cmpint (balance_of (f, buyer), ==, 100 - PRICE);
  billed = rating_path (billed_session (f, bid, sid, 2, TRUE));
  g_assert_cmpint (balance_of (f, buyer), ==, 100 - 2 * PRICE);
  /* The seller's share: price minus the 20 % fee, per minute. */
  g_assert_cmpint (balance_of (f, seller), ==, 2 * (PRICE - PRICE * 20 / 100));

  expect (f, "POST", unbilled, buyer, "{\"stars\":5}", 409, "not_rateable");
  expect (f, "POST", live, buyer, "{\"stars\":5}", 409, "not_rateable");
  expect (f, "POST", billed, buyer, "{\"stars\":0}", 400, "out_of_range");
  expect (f, "POST", billed, buyer, "{\"stars\":6}", 400, "out_of_range");
  expect (f, "POST", billed, buyer, "{\"stars\":\"4\"}", 400, "bad_type");
  expect (f, "POST", billed, buyer, "{}", 400, "missing_field");
  expect (f, "POST", billed, buyer, "{\"stars\":4,\"comment\":\"x\"}", 400, "unknown_field");
  expect (f, "POST", billed, other, "{\"stars\":1}", 403, "forbidden");
  expect (f, "POST", billed, seller, "{\"stars\":5}", 403, "forbidden");
  expect (f, "POST", billed, NULL, "{\"stars\":5}", 401, NULL);
  expect (f, "POST", "/api/v1/sessions/999999/rating", buyer, "{\"stars\":5}", 404, "not_found");
  expect (f, "POST", "/api/v1/sessions/zz/rating", buyer, "{\"stars\":5}", 404, "not_found");

  /* None of those counted: the profile has no rating yet. */
  r = kmg_test_get (f->ts, NULL, 200, "/api/v1/sellers/%" G_GINT64_FORMAT, sid);
  rating = json_object_get_object_member (kmg_test_response_object (r), "rating");
  g_assert_cmpint (json_object_get_int_member (rating, "count"), ==, 0);
  g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (rating, "average")));
  g_clear_pointer (&r, kmg_test_response_free);

  expect (f, "POST", billed, buyer, "{\"stars\":4}", 201, NULL);
  expect (f, "POST", billed, buyer, "{\"stars\":4}", 409, "already_rated");
  expect (f, "POST", billed, buyer, "{\"stars\":1}", 409, "already_rated");

  r = kmg_test_get (f->ts, NULL, 200, "/api/v1/sellers/%" G_GINT64_FORMAT, sid);
  rating = json_object_get_object_member (kmg_test_response_object (r), "rating");
  g_assert_cmpint (json_object_get_int_member (rating, "count"), ==, 1);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (rating, "average"), 4.0, 1e-9);
  /* Billed minutes of all the seller's sessions, the running one included. */
  g_assert_cmpint (json_object_get_int_member (rating, "delivered_minutes"), ==, 2);
  g_assert_nonnull (json_object_get_string_member (rating, "tier"));
  history = json_object_get_array_member (kmg_test_response_object (r), "history");
  /* Ended sessions with a billed minute only: the rated one. */
  g_assert_cmpuint (json_array_get_length (history), ==, 1);
  h = json_array_get_object_element (history, 0);
  g_assert_cmpint (json_object_get_int_member (h, "minutes"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (h, "stars"), ==, 4);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (h, "text"), "streamed 1 min on "));
  g_assert_true (g_str_has_suffix (json_object_get_string_member (h, "text"), "rated 4"));
}

static void
test_history_paging (Fixture *f, gconstpointer data)
{
  gint64 sid = 0, bid = 0;
  g_autofree char *seller = kmg_test_seller (f->ts, "gail", PRICE, &sid);
  g_autofree char *buyer = kmg_test_register (f->ts, "hugo", PASSWORD, &bid);
  g_autoptr (GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  gint64 sessions[5];

  grant (f, bid, 1000);
  /* 1, 2, 1, 2, 1 billed minutes (2 s = minute 0; 4 s passes 3 s = minute 1). */
  for (guint i = 0; i < G_N_ELEMENTS (sessions); i++)
    sessions[i] = billed_session (f, bid, sid, i % 2 ? 4 : 2, TRUE);
  {
    g_autofree char *p = rating_path (sessions[1]);
    expect (f, "POST", p, buyer, "{\"stars\":5}", 201, NULL);
  }
  for (guint offset = 0; offset < 6; offset += 2)
    {
      g_autoptr (KmgTestResponse) r = kmg_test_get (
          f->ts, NULL, 200, "/api/v1/sellers/%" G_GINT64_FORMAT "/history?offset=%u&limit=2", sid,
          offset);
      JsonObject *o = kmg_test_response_object (r);
      JsonArray *items = json_object_get_array_member (o, "items");

      g_assert_cmpint (json_object_get_int_member (o, "offset"), ==, offset);
      g_assert_cmpint (json_object_get_int_member (o, "limit"), ==, 2);
      g_assert_cmpuint (json_array_get_length (items), ==, offset < 4 ? 2 : 1);
      for (guint i = 0; i < json_array_get_length (items); i++)
        {
          JsonObject *h = json_array_get_object_element (items, i);
          guint k = G_N_ELEMENTS (sessions) - 1 - (offset + i); /* newest first */
          g_assert_cmpint (json_object_get_int_member (h, "minutes"), ==, k % 2 ? 2 : 1);
          if (k == 1)
            g_assert_cmpint (json_object_get_int_member (h, "stars"), ==, 5);
          else
            g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (h, "stars")));
          g_ptr_array_add (texts, g_strdup (json_object_get_string_member (h, "text")));
        }
    }
  g_assert_cmpuint (texts->len, ==, 5);
  g_assert_true (g_str_has_suffix (g_ptr_array_index (texts, 3), "rated 5"));
  g_assert_true (g_str_has_suffix (g_ptr_array_index (texts, 0), "not rated"));
  {
    g_autoptr (KmgTestResponse) r = kmg_test_get (f->ts, NULL, 200,
                                                  "/api/v1/sellers/%" G_GINT64_FORMAT
                                                  "/history?offset=10",
                                                  sid);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                          kmg_test_response_object (r), "items")),
                      ==, 0);
  }
  {
    g_autofree char *base = g_strdup_printf ("/api/v1/sellers/%" G_GINT64_FORMAT "/history", sid);
    g_autofree char *big = g_strconcat (base, "?limit=101", NULL);
    g_autofree char *neg = g_strconcat (base, "?offset=-1", NULL);
    g_autofree char *buyer_h = g_strdup_printf ("/api/v1/sellers/%" G_GINT64_FORMAT "/history", bid);
    expect (f, "GET", big, NULL, NULL, 400, "out_of_range");
    expect (f, "GET", neg, NULL, NULL, 400, "out_of_range");
    expect (f, "GET", buyer_h, NULL, NULL, 404, "not_found");
    expect (f, "GET", "/api/v1/sellers/999999/history", NULL, NULL, 404, "not_found");
  }
  (void) seller;
}

/* While set, the server's warnings are collected here instead of failing the test. */
static GString *server_warnings;

static GLogWriterOutput
warning_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  const char *domain = NULL, *message = NULL;

  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "GLIB_DOMAIN"))
      domain = fields[i].value;
    else if (g_str_equal (fields[i].key, "MESSAGE"))
      message = fields[i].value;
  if (server_warnings == NULL || !(level & G_LOG_LEVEL_WARNING)
      || g_strcmp0 (domain, "kamegor-server") != 0 || message == NULL)
    return g_log_writer_default (level, fields, n_fields, data);
  g_string_append_printf (server_warnings, "%s\n", message);
  return G_LOG_WRITER_HANDLED;
}

/* A clean stop charges what is due; when that last charge fails, the operator is told. */
static void
test_final_flush_failure_logged (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gint64 sid = 0, bid = 0, id;
  g_autofree char *seller = kmg_test_seller (f->ts, "ines", PRICE, &sid);
  g_autofree char *buyer = kmg_test_register (f->ts, "jack", PASSWORD, &bid);
  gint64 now = g_get_real_time () / 1000;

  grant (f, bid, 100);
  id = kmg_billing_session_start (f->app->billing, bid, sid, now - 10000, &error);
  g_assert_no_error (error);
  kmg_billing_session_set_active (f->app->billing, id, TRUE);
  for (gint64 s = 0; s < 2; s++) /* minute 0 is due, not yet charged */
    g_assert_cmpint (kmg_billing_delivered_second (f->app->billing, id,
                                                   &(KmgDeliveredSecond){ .second = (now - 10000) / 1000 + s },
                                                   now),
                     ==, KMG_METER_COUNTED);
  g_assert_true (kmg_db_exec (f->app->db,
                              "CREATE TRIGGER evidence_refused BEFORE INSERT ON measured_minutes "
                              "BEGIN SELECT RAISE (ABORT, 'disk full'); END",
                              &error));
  g_assert_no_error (error);
  server_warnings = g_string_new (NULL);
  g_clear_pointer (&f->ts, kmg_test_server_free);
  g_test_message ("warnings: %s", server_warnings->str);
  g_assert_nonnull (strstr (server_warnings->str, "billing"));
  g_assert_nonnull (strstr (server_warnings->str, "disk full")); /* the store's own reason */
  g_string_free (g_steal_pointer (&server_warnings), TRUE);
  (void) seller;
  (void) buyer;
}

int
main (int argc, char **argv)
{
  static const Setup no_secret = { config_no_secret };

  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (warning_writer, NULL, NULL);
#define ADD(name, cfg, fn) \
  g_test_add ("/api/billing/" name, Fixture, cfg, fixture_setup, fn, fixture_teardown)
  ADD ("topup-webhook", NULL, test_topup_webhook);
  ADD ("topup-disabled", &no_secret, test_topup_disabled);
  ADD ("wallet-paging", NULL, test_wallet_paging);
  ADD ("rating-rules", NULL, test_rating_rules);
  ADD ("history-paging", NULL, test_history_paging);
  ADD ("final-flush-failure-logged", NULL, test_final_flush_failure_logged);
#undef ADD
  return g_test_run ();
}
