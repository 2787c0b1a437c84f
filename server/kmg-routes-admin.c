/* kmg-routes-admin.c — the admin API under /api/v1/admin (admin role only).
 * Every change carries a reason and is written to the action log with who and when. */

#include "kmg-routes-admin.h"

#include "kmg-accounts.h"
#include "kmg-admin.h"
#include "kmg-audit.h"
#include "kmg-billing.h"
#include "kmg-json.h"
#include "kmg-ledger.h"
#include "kmg-map.h"
#include "kmg-map-glue.h"
#include "kmg-signaling.h"
#include "kmg-session-glue.h"

static gint64
now_s (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static gint64
admin_id (KmgHttpRequest *req)
{
  return kmg_http_request_auth (req)->user_id;
}

static gboolean
page_args (KmgHttpRequest *req, gint64 *before, guint *limit)
{
  const char *b = kmg_http_request_query (req, "before");
  const char *l = kmg_http_request_query (req, "limit");
  guint64 v;

  *before = 0;
  *limit = 50;
  if (b && !g_ascii_string_to_unsigned (b, 10, 0, G_MAXINT64, &v, NULL))
    {
      kmg_http_reply_error (req, 400, "bad_type", "before must be a non-negative integer");
      return FALSE;
    }
  if (b)
    *before = (gint64) v;
  if (l && !g_ascii_string_to_unsigned (l, 10, 1, 500, &v, NULL))
    {
      kmg_http_reply_error (req, 400, "out_of_range", "limit must be 1..500");
      return FALSE;
    }
  if (l)
    *limit = (guint) v;
  return TRUE;
}

static void
reply_items (KmgHttpRequest *req, JsonArray *items, GError *error)
{
  g_autoptr (JsonObject) out = NULL;

  if (items == NULL)
    {
      kmg_http_reply_gerror (req, error);
      return;
    }
  out = json_object_new ();
  json_object_set_array_member (out, "items", items);
  kmg_http_reply_object (req, 200, out);
}

static void
list_users (KmgHttpRequest *req, gpointer user_data)
{
  KmgApp *app = user_data;
  g_autoptr (GError) error = NULL;
  const char *offset_text = kmg_http_request_query (req, "offset");
  const char *limit_text = kmg_http_request_query (req, "limit");
  guint64 offset = 0, limit = 50;
  JsonArray *users;

  if ((offset_text && !g_ascii_string_to_unsigned (offset_text, 10, 0, 1000000, &offset, NULL))
      || (limit_text && !g_ascii_string_to_unsigned (limit_text, 10, 1, 500, &limit, NULL)))
    {
      kmg_http_reply_error (req, 400, "out_of_range", "offset must be 0..1000000, limit 1..500");
      return;
    }
  users = kmg_accounts_list_users (app->accounts, kmg_http_request_query (req, "search"),
                                   (gint64) offset, (gint64) limit, &error);
  for (guint i = 0; users && i < json_array_get_length (users); i++)
    {
      JsonObject *u = json_array_get_object_element (users, i);
      json_object_set_string_member (
          u, "status", kmg_map_glue_status (app->map_glue, json_object_get_int_member (u, "id")));
    }
  reply_items (req, users, error);
}

static void
patch_user (KmgHttpRequest *req, gpointer user_data)
{
  static const char *const allowed[] = { "is_seller", "seller_description", "reason", NULL };
  KmgApp *app = user_data;
  g_autoptr (JsonObject) body = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) me = NULL;
  const char *reason = NULL, *description = NULL;
  gboolean is_seller = FALSE;
  gint64 id;

  if (!kmg_http_request_param_id (req, "id", &id)
      || (body = kmg_http_request_json (req, allowed)) == NULL)
    return;
  if (!kmg_json_get_string (body, "reason", TRUE, KMG_ADMIN_REASON_MAX, &reason, &error)
      || !kmg_json_get_string (body, "seller_description", FALSE, 1000, &description, &error)
      || !kmg_json_get_bool (body, "is_seller", FALSE, &is_seller, &error)
      || !kmg_admin_set_seller (app->db, admin_id (req), id,
                                json_object_has_member (body, "is_seller") ? is_seller : -1,
                                description, reason, now_s (), &error))
    {
      kmg_http_reply_gerror (req, error);
      return;
    }
  kmg_accounts_user_changed (app->accounts, id);
  me = kmg_accounts_get_me (app->accounts, id, &error);
  if (me == NULL)
    kmg_http_reply_gerror (req, error);
  else
    kmg_http_reply_object (req, 200, me);
}

static void
set_banned (KmgHttpRequest *req, KmgApp *app, gboolean banned)
{
  static const char *const allowed[] = { "reason", NULL };
  g_autoptr (JsonObject) body = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) out = NULL;
  const char *reason = NULL;
  gint64 id;

  if (!kmg_http_request_param_id (req, "id", &id)
      || (body = kmg_http_request_json (req, allowed)) == NULL)
    return;
  if (!kmg_json_get_string (body, "reason", TRUE, KMG_ADMIN_REASON_MAX, &reason, &error)
      || !kmg_admin_check_reason (reason, &error))
    {
      kmg_http_reply_gerror (req, error);
      return;
    }
  if (id == admin_id (req))
    {
      kmg_http_reply_error (req, 409, "conflict", "an admin cannot ban itself");
      return;
    }
  if (!kmg_accounts_set_banned (app->accounts, admin_id (req), id, banned, reason, now_s (),
                                &error))
    {
      kmg_http_reply_gerror (req, error);
      return;
    }
  /* kmg_accounts_set_banned told the listeners: sessions end (the relay stops forwarding), then
   * the user leaves the map and its connections close. */
  out = json_object_new ();
  json_object_set_int_member (out, "id", id);
  json_object_set_boolean_member (out, "banned", banned);
  kmg_http_reply_object (req, 200, out);
}

static void
ban_user (KmgHttpRequest *req, gpointer user_data)
{
  set_banned (req, user_data, TRUE);
}

static void
unban_user (KmgHttpRequest *req, gpointer user_data)
{
  set_banned (req, user_data, FALSE);
}

static void
grant (KmgHttpRequest *req, gpointer user_data)
{
  static const char *const allowed[] = { "amount", "reason", NULL };
  KmgApp *app = user_data;
  g_autoptr (JsonObject) body = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) out = NULL;
  const char *reason = NULL;
  gint64 id, amount = 0, balance = 0;
  KmgTransferResult res = { 0 };

  if (!kmg_http_request_param_id (req, "id", &id)
      || (body = kmg_http_request_json (req, allowed)) == NULL)
    return;
  if (!kmg_json_get_int (body, "amount", TRUE, 1, 100000000, &amount, &error)
      || !kmg_json_get_string (body, "reason", TRUE, KMG_ADMIN_REASON_MAX, &reason, &error)
      || !kmg_admin_check_reason (reason, &error)
      || !kmg_ledger_grant (kmg_billing_get_ledger (app->billing), id, amount, reason,
                            admin_id (req), NULL, g_get_real_time () / 1000, &res, &error)
      || !kmg_ledger_balance (kmg_billing_get_ledger (app->billing), id, &balance, &error))
    {
      kmg_http_reply_gerror (req, error);
      return;
    }
  out = json_object_new ();
  json_object_set_int_member (out, "transfer_id", res.transfer_id);
  json_object_set_int_member (out, "balance", balance);
  kmg_http_reply_object (req, 201, out);
}

typedef struct
{
  KmgApp *app;
  JsonArray *users;
} PresenceWalk;

static void
add_presence (gint64 user_id, KmgPresenceState state, gboolean is_seller, guint n_connections,
              gpointer user_data)
{
  PresenceWalk *w = user_data;
  JsonObject *o = json_object_new ();
  KmgMapItem item = { 0 };

  json_object_set_int_member (o, "user_id", user_id);
  json_object_set_string_member (o, "state", kmg_presence_state_to_string (state));
  json_object_set_boolean_member (o, "is_seller", is_seller);
  json_object_set_int_member (o, "connections", n_connections);
  /* Displayed positions only, exactly as the map shows them. */
  if (kmg_map_lookup (w->app->map, user_id, &item))
    {
      json_object_set_double_member (o, "lat", item.lat);
      json_object_set_double_member (o, "lon", item.lon);
      if (item.profile)
        json_object_set_string_member (o, "username", item.profile->username);
      kmg_map_item_clear (&item);
    }
  json_array_add_object_element (w->users, o);
}

static void
presence (KmgHttpRequest *req, gpointer user_data)
{
  KmgApp *app = user_data;
  KmgPresence *p = kmg_signaling_get_presence (app->signaling);
  guint counts[KMG_PRESENCE_N_STATES] = { 0 };
  g_autoptr (JsonObject) out = json_object_new ();
  JsonObject *c = json_object_new ();
  PresenceWalk w = { app, json_array_new () };

  kmg_presence_count (p, counts);
  for (int s = 0; s < KMG_PRESENCE_N_STATES; s++)
    json_object_set_int_member (c, kmg_presence_state_to_string (s), counts[s]);
  json_object_set_object_member (out, "counts", c);
  json_object_set_int_member (out, "connections", kmg_signaling_get_n_connections (app->signaling));
  kmg_presence_foreach (p, add_presence, &w);
  json_object_set_array_member (out, "users", w.users);
  kmg_http_reply_object (req, 200, out);
}

static void
sessions (KmgHttpRequest *req, gpointer user_data)
{
  KmgApp *app = user_data;
  const char *state = kmg_http_request_query (req, "state");
  g_autoptr (GError) error = NULL;
  gint64 before;
  guint limit;

  if (!page_args (req, &before, &limit))
    return;
  if (state && !g_str_equal (state, "live") && !g_str_equal (state, "ended"))
    {
      kmg_http_reply_error (req, 400, "out_of_range", "state must be live or ended");
      return;
    }
  reply_items (req,
               kmg_admin_list_sessions (app->db, state == NULL || g_str_equal (state, "live"),
                                        before, limit, &error),
               error);
}

static gboolean
session_reason (KmgHttpRequest *req, KmgApp *app, gint64 *id, const char **reason,
                JsonObject **body_out)
{
  static const char *const allowed[] = { "reason", NULL };
  g_autoptr (JsonObject) body = NULL;
  g_autoptr (GError) error = NULL;

  if (!kmg_http_request_param_id (req, "id", id)
      || (body = kmg_http_request_json (req, allowed)) == NULL)
    return FALSE;
  if (!kmg_json_get_string (body, "reason", TRUE, KMG_ADMIN_REASON_MAX, reason, &error)
      || !kmg_admin_check_reason (*reason, &error))
    {
      kmg_http_reply_gerror (req, error);
      return FALSE;
    }
  *body_out = g_steal_pointer (&body);
  return TRUE;
}

static void
end_session (KmgHttpRequest *req, gpointer user_data)
{
  KmgApp *app = user_data;
  g_autoptr (JsonObject) body = NULL;
  g_autoptr (JsonObject) session = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) out = NULL;
  g_autofree char *ref = NULL;
  const char *reason = NULL;
  gint64 id;

  if (!session_reason (req, app, &id, &reason, &body))
    return;
  session = kmg_admin_get_session (app->db, id, &error);
  if (session == NULL)
    {
      kmg_http_reply_gerror (req, error);
      return;
    }
  if (json_object_get_int_member (session, "ended")
      || !kmg_session_glue_end_session (app->session_glue, id, KMG_SESSION_END_ADMIN))
    {
      kmg_http_reply_error (req, 409, "session_ended", "session %" G_GINT64_FORMAT " is not live",
                            id);
      return;
    }
  ref = g_strdup_printf ("session:%" G_GINT64_FORMAT, id);
  if (!kmg_admin_record (app->db, admin_id (req), "end_session",
                         json_object_get_int_member (session, "buyer_id"), ref, reason, NULL,
                         now_s (), &error))
    g_warning ("could not record an admin action: %s", error->message);
  out = json_object_new ();
  json_object_set_int_member (out, "id", id);
  json_object_set_string_member (out, "end_reason", "admin");
  kmg_http_reply_object (req, 200, out);
}

static void
refund (KmgHttpRequest *req, gpointer user_data)
{
  KmgApp *app = user_data;
  g_autoptr (JsonObject) body = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) out = NULL;
  const char *reason = NULL;
  KmgTransferResult res = { 0 };
  gint64 id;

  if (!session_reason (req, app, &id, &reason, &body))
    return;
  if (!kmg_ledger_refund (kmg_billing_get_ledger (app->billing), id, reason, admin_id (req),
                          g_get_real_time () / 1000, &res, &error))
    {
      kmg_http_reply_gerror (req, error);
      return;
    }
  out = json_object_new ();
  json_object_set_int_member (out, "session_id", id);
  json_object_set_int_member (out, "transfer_id", res.transfer_id);
  json_object_set_boolean_member (out, "replayed", res.replayed);
  kmg_http_reply_object (req, res.replayed ? 200 : 201, out);
}

static void
ledger (KmgHttpRequest *req, gpointer user_data)
{
  KmgApp *app = user_data;
  g_autoptr (GError) error = NULL;
  gint64 before;
  guint limit;

  if (page_args (req, &before, &limit))
    reply_items (req, kmg_admin_list_transfers (app->db, before, limit, &error), error);
}

static void
actions (KmgHttpRequest *req, gpointer user_data)
{
  KmgApp *app = user_data;
  g_autoptr (GError) error = NULL;
  gint64 before;
  guint limit;

  if (page_args (req, &before, &limit))
    reply_items (req, kmg_admin_list_actions (app->db, before, limit, &error), error);
}

static void
audit (KmgHttpRequest *req, gpointer user_data)
{
  KmgApp *app = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgAuditReport) report = kmg_audit_run (app->db, &error);
  g_autofree char *json = NULL;

  g_autofree char *anchors = g_build_filename (app->config->data_dir, KMG_ANCHOR_FILE_NAME, NULL);

  /* The server writes its anchors from the start: their file is part of the audit, and a missing
   * one is a failed audit, not an error of the request. */
  if (report != NULL && !kmg_audit_check_anchors (report, app->db, anchors, &error)
      && g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      kmg_audit_report_add_problem (report, "the ledger anchor file %s is missing", anchors);
      g_clear_error (&error);
    }
  if (report == NULL || error != NULL)
    {
      kmg_http_reply_gerror (req, error);
      return;
    }
  json = kmg_audit_report_to_json (report);
  kmg_http_reply_text (req, 200, "application/json", json);
}

void
kmg_routes_admin_register (KmgRouter *r, KmgApp *app)
{
  kmg_router_add (r, "GET", "/api/v1/admin/users", KMG_ROUTE_ADMIN, 0, list_users, app);
  kmg_router_add (r, "PATCH", "/api/v1/admin/users/{id}", KMG_ROUTE_ADMIN, 0, patch_user, app);
  kmg_router_add (r, "POST", "/api/v1/admin/users/{id}/ban", KMG_ROUTE_ADMIN, 0, ban_user, app);
  kmg_router_add (r, "POST", "/api/v1/admin/users/{id}/unban", KMG_ROUTE_ADMIN, 0, unban_user,
                  app);
  kmg_router_add (r, "POST", "/api/v1/admin/users/{id}/grant", KMG_ROUTE_ADMIN, 0, grant, app);
  kmg_router_add (r, "GET", "/api/v1/admin/presence", KMG_ROUTE_ADMIN, 0, presence, app);
  kmg_router_add (r, "GET", "/api/v1/admin/sessions", KMG_ROUTE_ADMIN, 0, sessions, app);
  kmg_router_add (r, "POST", "/api/v1/admin/sessions/{id}/end", KMG_ROUTE_ADMIN, 0, end_session,
                  app);
  kmg_router_add (r, "POST", "/api/v1/admin/sessions/{id}/refund", KMG_ROUTE_ADMIN, 0, refund,
                  app);
  kmg_router_add (r, "GET", "/api/v1/admin/ledger", KMG_ROUTE_ADMIN, 0, ledger, app);
  kmg_router_add (r, "GET", "/api/v1/admin/audit", KMG_ROUTE_ADMIN, 0, audit, app);
  kmg_router_add (r, "GET", "/api/v1/admin/actions", KMG_ROUTE_ADMIN, 0, actions, app);
}
