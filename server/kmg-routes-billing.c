/* kmg-routes-billing.c — wallet, top-up webhook, ratings, seller history, and the billing part of
 * a public seller profile (status, rating summary, reputation, recent history). */

#include "kmg-routes-billing.h"

#include "kmg-accounts.h"
#include "kmg-billing.h"
#include "kmg-json.h"
#include "kmg-ledger.h"
#include "kmg-ratings.h"
#include "kmg-map-glue.h"
#include "kmg-session-rows.h"
#include "kmg-signaling.h"
#include "kmg-topup.h"
#include "kmg-session-glue.h"
#include "kmg-wallet.h"

#include <string.h>

static gint64
now_ms (void)
{
  return g_get_real_time () / 1000;
}

/* A seller, not banned: the only users with a public profile and history. */
static gboolean
public_seller (KmgApp *app, gint64 seller_id)
{
  g_autoptr (KmgUser) user = kmg_accounts_get_user (app->accounts, seller_id, NULL);
  return user != NULL && user->is_seller && !user->banned;
}

static guint
query_uint (KmgHttpRequest *req, const char *name, guint def, guint max, gboolean *ok)
{
  const char *v = kmg_http_request_query (req, name);
  guint64 n;

  *ok = TRUE;
  if (v == NULL)
    return def;
  if (!g_ascii_string_to_unsigned (v, 10, 0, max, &n, NULL))
    {
      kmg_http_reply_error (req, 400, "out_of_range", "query parameter '%s' must be 0..%u", name,
                            max);
      *ok = FALSE;
      return 0;
    }
  return (guint) n;
}

static void
get_wallet (KmgHttpRequest *req, gpointer user_data)
{
  KmgApp *app = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgWalletPage) page = NULL;
  g_autoptr (JsonObject) out = json_object_new ();
  JsonArray *arr;
  gboolean ok;
  guint before = query_uint (req, "before", 0, G_MAXINT32, &ok);
  guint limit;

  if (!ok)
    return;
  limit = query_uint (req, "limit", 50, 100, &ok);
  if (!ok)
    return;
  page = kmg_wallet_page (app->db, kmg_http_request_auth (req)->user_id, before, limit, &error);
  if (page == NULL)
    {
      kmg_http_reply_gerror (req, error);
      return;
    }
  arr = json_array_new ();
  for (guint i = 0; i < page->entries->len; i++)
    {
      const KmgWalletEntry *e = &g_array_index (page->entries, KmgWalletEntry, i);
      JsonObject *o = json_object_new ();
      json_object_set_int_member (o, "id", e->transfer_id);
      json_object_set_int_member (o, "created_at", e->created_at);
      json_object_set_string_member (o, "kind", kmg_transfer_kind_to_string (e->kind));
      json_object_set_int_member (o, "amount", e->amount);
      if (e->session_id > 0)
        json_object_set_int_member (o, "session_id", e->session_id);
      if (e->minute_index >= 0)
        json_object_set_int_member (o, "minute_index", e->minute_index);
      json_object_set_string_member (o, "memo", e->memo ? e->memo : "");
      json_array_add_object_element (arr, o);
    }
  json_object_set_int_member (out, "balance", page->balance);
  json_object_set_array_member (out, "transfers", arr);
  if (page->next_before_id > 0)
    json_object_set_int_member (out, "next_before", page->next_before_id);
  else
    json_object_set_null_member (out, "next_before");
  kmg_http_reply_object (req, 200, out);
}

static void
post_topup (KmgHttpRequest *req, gpointer user_data)
{
  KmgApp *app = user_data;
  const char *secret = app->config->webhook_secret;
  g_autoptr (GBytes) body = kmg_http_request_body (req);
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgTopupRequest) top = NULL;
  g_autoptr (JsonObject) out = NULL;
  KmgTransferResult res = { 0 };
  gsize len;
  const char *data = g_bytes_get_data (body, &len);

  if (secret == NULL || *secret == '\0')
    {
      kmg_http_reply_error (req, 404, "not_found", "top-up webhook is not enabled");
      return;
    }
  top = kmg_billing_topup_verify ((const guint8 *) secret, strlen (secret),
                                  kmg_http_request_header (req, KMG_TOPUP_HEADER_TIMESTAMP),
                                  kmg_http_request_header (req, KMG_TOPUP_HEADER_SIGNATURE), data,
                                  len, now_ms (), app->config->webhook_max_skew_s, &error);
  if (top == NULL
      || !kmg_ledger_topup (kmg_billing_get_ledger (app->billing), top->user_id, top->amount,
                            top->payment_ref, now_ms (), &res, &error))
    {
      kmg_http_reply_gerror (req, error);
      return;
    }
  out = json_object_new ();
  json_object_set_int_member (out, "transfer_id", res.transfer_id);
  json_object_set_boolean_member (out, "replayed", res.replayed);
  kmg_http_reply_object (req, res.replayed ? 200 : 201, out);
}

static void
post_rating (KmgHttpRequest *req, gpointer user_data)
{
  static const char *const allowed[] = { "stars", NULL };
  KmgApp *app = user_data;
  g_autoptr (JsonObject) body = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) out = NULL;
  gint64 id, stars = 0;

  if (!kmg_http_request_param_id (req, "id", &id)
      || (body = kmg_http_request_json (req, allowed)) == NULL)
    return;
  if (!kmg_json_get_int (body, "stars", TRUE, 1, 5, &stars, &error)
      || !kmg_ratings_rate (app->db, id, kmg_http_request_auth (req)->user_id, (guint) stars,
                            now_ms (), &error))
    {
      kmg_http_reply_gerror (req, error);
      return;
    }
  out = json_object_new ();
  json_object_set_int_member (out, "session_id", id);
  json_object_set_int_member (out, "stars", stars);
  kmg_http_reply_object (req, 201, out);
}

static JsonArray *
history_json (KmgApp *app, gint64 seller_id, guint offset, guint limit, GError **error)
{
  g_autoptr (GArray) rows = kmg_ratings_history (app->db, seller_id, offset, limit, error);
  JsonArray *arr;

  if (rows == NULL)
    return NULL;
  arr = json_array_new ();
  for (guint i = 0; i < rows->len; i++)
    {
      const KmgHistoryRow *r = &g_array_index (rows, KmgHistoryRow, i);
      JsonObject *o = json_object_new ();
      g_autofree char *text = kmg_history_row_format (r);
      json_object_set_int_member (o, "started_at", r->started_at);
      json_object_set_int_member (o, "minutes", r->minutes);
      if (r->stars > 0)
        json_object_set_int_member (o, "stars", r->stars);
      else
        json_object_set_null_member (o, "stars");
      json_object_set_string_member (o, "text", text);
      json_array_add_object_element (arr, o);
    }
  return arr;
}

static void
get_history (KmgHttpRequest *req, gpointer user_data)
{
  KmgApp *app = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) out = NULL;
  JsonArray *items;
  gboolean ok;
  gint64 id;
  guint offset, limit;

  if (!kmg_http_request_param_id (req, "id", &id))
    return;
  offset = query_uint (req, "offset", 0, 1000000, &ok);
  if (!ok)
    return;
  limit = query_uint (req, "limit", 20, 100, &ok);
  if (!ok)
    return;
  if (limit == 0)
    limit = 20;
  /* Only sellers that are public have a public history. */
  if (!public_seller (app, id))
    {
      kmg_http_reply_error (req, 404, "not_found", "no such seller");
      return;
    }
  items = history_json (app, id, offset, limit, &error);
  if (items == NULL)
    {
      kmg_http_reply_gerror (req, error);
      return;
    }
  out = json_object_new ();
  json_object_set_array_member (out, "items", items);
  json_object_set_int_member (out, "offset", offset);
  json_object_set_int_member (out, "limit", limit);
  kmg_http_reply_object (req, 200, out);
}

void
kmg_billing_decorate_seller (KmgApp *app, gint64 seller_id, JsonObject *profile)
{
  KmgReputation rep = { 0 };
  JsonObject *rating = json_object_new ();
  JsonArray *history;

  json_object_set_string_member (profile, "status", kmg_map_glue_status (app->map_glue, seller_id));
  kmg_ratings_seller_summary (app->db, seller_id, &rep, NULL);
  json_object_set_int_member (rating, "count", rep.count);
  if (rep.count > 0)
    json_object_set_double_member (rating, "average", (double) ((gint64) (rep.average * 100 + 0.5)) / 100);
  else
    json_object_set_null_member (rating, "average");
  json_object_set_int_member (rating, "score", rep.score);
  json_object_set_string_member (rating, "tier", kmg_reputation_tier_to_string (rep.tier));
  json_object_set_int_member (rating, "delivered_minutes", (gint64) rep.delivered_minutes);
  json_object_set_object_member (profile, "rating", rating);
  history = history_json (app, seller_id, 0, 10, NULL);
  if (history)
    json_object_set_array_member (profile, "history", history);
}

void
kmg_routes_billing_register (KmgRouter *router, KmgApp *app)
{
  kmg_router_add (router, "GET", "/api/v1/me/wallet", KMG_ROUTE_AUTH, 0, get_wallet, app);
  kmg_router_add (router, "POST", "/api/v1/billing/topup", KMG_ROUTE_PUBLIC, KMG_TOPUP_MAX_BODY,
                  post_topup, app);
  kmg_router_add (router, "POST", "/api/v1/sessions/{id}/rating", KMG_ROUTE_AUTH, 0, post_rating,
                  app);
  kmg_router_add (router, "GET", "/api/v1/sellers/{id}/history", KMG_ROUTE_PUBLIC, 0, get_history,
                  app);
}
