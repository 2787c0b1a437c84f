/* kmg-routes-accounts.c — HTTP routes of accounts: register, login, logout, tokens, profile,
 * picture upload and serving, public seller profile. Every object is the caller's own. */

#include "kmg-routes-accounts.h"

#include "kmg-accounts.h"
#include "kmg-json.h"
#include "kmg-routes-billing.h"

#define PICTURE_CACHE "public, max-age=31536000, immutable"

static gint64
now_s (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

gboolean
kmg_routes_accounts_auth (const char *token, KmgAuthInfo *out, gpointer user_data)
{
  KmgApp *app = user_data;
  KmgAccountsAuth auth;

  if (!kmg_accounts_authenticate (app->accounts, token, now_s (), &auth))
    return FALSE;
  out->user_id = auth.user_id;
  out->token_id = auth.token_id;
  out->is_admin = auth.is_admin;
  return TRUE;
}

static JsonObject *
login_json (KmgAccountsLogin *login)
{
  JsonObject *o = json_object_new ();

  json_object_set_object_member (o, "user", json_object_ref (login->user));
  json_object_set_string_member (o, "token", login->token);
  json_object_set_int_member (o, "token_id", login->token_id);
  json_object_set_int_member (o, "expires_at", login->expires_at);
  return o;
}

/* Reads the credentials members shared by register and login; replies on failure. */
static gboolean
get_credentials (KmgHttpRequest *req, JsonObject *body, const char **username,
                 const char **password, const char **device)
{
  g_autoptr (GError) error = NULL;

  if (!kmg_json_get_string (body, "username", TRUE, 0, username, &error)
      || !kmg_json_get_string (body, "password", TRUE, 0, password, &error)
      || !kmg_json_get_string (body, "device", FALSE, KMG_DISPLAY_NAME_MAX, device, &error))
    {
      kmg_http_reply_gerror (req, error);
      return FALSE;
    }
  return TRUE;
}

/* A rate-limited refusal tells the client when to come back. */
static void
reply_refused (KmgHttpRequest *req, const GError *error, gint64 retry_after)
{
  if (g_error_matches (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_RATE_LIMITED))
    {
      g_autofree char *v = g_strdup_printf ("%" G_GINT64_FORMAT, retry_after);
      SoupMessageHeaders *h = soup_server_message_get_response_headers (
          kmg_http_request_message (req));
      soup_message_headers_replace (h, "Retry-After", v);
    }
  kmg_http_reply_gerror (req, error);
}

static void
on_registered (GObject *source, GAsyncResult *res, gpointer user_data)
{
  KmgHttpRequest *req = user_data;
  g_autoptr (GError) error = NULL;
  gint64 retry_after = 0;
  g_autoptr (KmgAccountsLogin) login = kmg_accounts_register_finish (NULL, res, &retry_after,
                                                                     &error);

  if (login == NULL)
    reply_refused (req, error, retry_after);
  else
    {
      g_autoptr (JsonObject) o = login_json (login);
      kmg_http_reply_object (req, 201, o);
    }
  kmg_http_request_release (req);
}

static void
route_register (KmgHttpRequest *req, gpointer user_data)
{
  static const char *const fields[] = { "username", "password", "display_name", "device", NULL };
  KmgApp *app = user_data;
  g_autoptr (JsonObject) body = kmg_http_request_json (req, fields);
  g_autoptr (GError) error = NULL;
  const char *username = NULL, *password = NULL, *device = NULL, *display_name = NULL;

  if (body == NULL || !get_credentials (req, body, &username, &password, &device))
    return;
  if (!kmg_json_get_string (body, "display_name", FALSE, 0, &display_name, &error))
    {
      kmg_http_reply_gerror (req, error);
      return;
    }
  kmg_accounts_register_async (app->accounts, username, password, display_name, device,
                               kmg_http_request_client_addr (req), now_s (), NULL, on_registered,
                               kmg_http_request_hold (req));
}

static void
on_logged_in (GObject *source, GAsyncResult *res, gpointer user_data)
{
  KmgHttpRequest *req = user_data;
  g_autoptr (GError) error = NULL;
  gint64 retry_after = 0;
  g_autoptr (KmgAccountsLogin) login = kmg_accounts_login_finish (NULL, res, &retry_after, &error);

  if (login != NULL)
    {
      g_autoptr (JsonObject) o = login_json (login);
      kmg_http_reply_object (req, 200, o);
    }
  else
    reply_refused (req, error, retry_after);
  kmg_http_request_release (req);
}

static void
route_login (KmgHttpRequest *req, gpointer user_data)
{
  static const char *const fields[] = { "username", "password", "device", NULL };
  KmgApp *app = user_data;
  g_autoptr (JsonObject) body = kmg_http_request_json (req, fields);
  const char *username = NULL, *password = NULL, *device = NULL;

  if (body == NULL || !get_credentials (req, body, &username, &password, &device))
    return;
  kmg_accounts_login_async (app->accounts, username, password, device,
                            kmg_http_request_client_addr (req), now_s (), NULL, on_logged_in,
                            kmg_http_request_hold (req));
}

static void
route_logout (KmgHttpRequest *req, gpointer user_data)
{
  KmgApp *app = user_data;
  const KmgAuthInfo *auth = kmg_http_request_auth (req);
  g_autoptr (GError) error = NULL;

  if (!kmg_accounts_revoke_token (app->accounts, auth->user_id, auth->token_id, now_s (), &error))
    kmg_http_reply_gerror (req, error);
  else
    kmg_http_reply_empty (req, 204);
}

static void
route_tokens_list (KmgHttpRequest *req, gpointer user_data)
{
  KmgApp *app = user_data;
  const KmgAuthInfo *auth = kmg_http_request_auth (req);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) list = kmg_accounts_list_tokens (app->accounts, auth->user_id,
                                                          auth->token_id, now_s (), &error);
  g_autoptr (JsonObject) o = NULL;

  if (list == NULL)
    {
      kmg_http_reply_gerror (req, error);
      return;
    }
  o = json_object_new ();
  json_object_set_array_member (o, "tokens", g_steal_pointer (&list));
  kmg_http_reply_object (req, 200, o);
}

static void
route_token_delete (KmgHttpRequest *req, gpointer user_data)
{
  KmgApp *app = user_data;
  const KmgAuthInfo *auth = kmg_http_request_auth (req);
  g_autoptr (GError) error = NULL;
  gint64 id;

  if (!kmg_http_request_param_id (req, "id", &id))
    return;
  if (!kmg_accounts_revoke_token (app->accounts, auth->user_id, id, now_s (), &error))
    kmg_http_reply_gerror (req, error);
  else
    kmg_http_reply_empty (req, 204);
}

static void
reply_me (KmgHttpRequest *req, KmgApp *app)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) me = kmg_accounts_get_me (app->accounts, kmg_http_request_auth (req)->user_id,
                                                    &error);

  if (me == NULL)
    kmg_http_reply_gerror (req, error);
  else
    kmg_http_reply_object (req, 200, me);
}

static void
route_me_get (KmgHttpRequest *req, gpointer user_data)
{
  reply_me (req, user_data);
}


static void
route_me_patch (KmgHttpRequest *req, gpointer user_data)
{
  KmgApp *app = user_data;
  g_autoptr (JsonObject) body = kmg_http_request_json (req, kmg_profile_patch_fields);
  g_autoptr (GError) error = NULL;
  KmgProfilePatch patch;
  gboolean ok;

  if (body == NULL)
    return;
  if (!kmg_profile_patch_decode (body, &patch, &error))
    {
      kmg_http_reply_gerror (req, error);
      return;
    }
  ok = kmg_accounts_update_profile (app->accounts, kmg_http_request_auth (req)->user_id, &patch,
                                    now_s (), &error);
  kmg_profile_patch_clear (&patch);
  if (!ok)
    {
      kmg_http_reply_gerror (req, error);
      return;
    }
  reply_me (req, app); /* accounts told the live parts (map marker, hub) */
}

static void
route_picture_put (KmgHttpRequest *req, gpointer user_data)
{
  KmgApp *app = user_data;
  g_autoptr (GBytes) body = kmg_http_request_body (req);
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;

  /* The Content-Type header is ignored: the bytes say what they are. */
  id = kmg_accounts_set_picture (app->accounts, kmg_http_request_auth (req)->user_id, body,
                                 now_s (), &error);
  if (id == NULL)
    {
      kmg_http_reply_gerror (req, error);
      return;
    }
  reply_me (req, app); /* accounts told the live parts (map marker, hub) */
}

static void
route_picture_get (KmgHttpRequest *req, gpointer user_data)
{
  KmgApp *app = user_data;
  g_autoptr (GError) error = NULL;
  const char *content_type = NULL;
  g_autoptr (GBytes) bytes = kmg_accounts_get_picture (app->accounts,
                                                        kmg_http_request_param (req, "id"),
                                                        &content_type, &error);

  if (bytes == NULL)
    kmg_http_reply_gerror (req, error);
  else
    kmg_http_reply_bytes (req, 200, content_type, bytes, PICTURE_CACHE);
}

static void
route_seller_get (KmgHttpRequest *req, gpointer user_data)
{
  KmgApp *app = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) profile = NULL;
  gint64 id;

  if (!kmg_http_request_param_id (req, "id", &id))
    return;
  profile = kmg_accounts_seller_profile (app->accounts, id, &error);
  if (profile == NULL)
    {
      kmg_http_reply_gerror (req, error);
      return;
    }
  kmg_billing_decorate_seller (app, id, profile);
  kmg_http_reply_object (req, 200, profile);
}

void
kmg_routes_accounts_register (KmgRouter *router, KmgApp *app)
{
  gsize picture_max;

  g_return_if_fail (router != NULL && app != NULL && app->accounts != NULL);
  picture_max = kmg_accounts_picture_max_bytes (app->accounts);
  kmg_router_set_auth (router, kmg_routes_accounts_auth, app);
  kmg_router_add (router, "POST", "/api/v1/auth/register", KMG_ROUTE_PUBLIC, 0, route_register, app);
  kmg_router_add (router, "POST", "/api/v1/auth/login", KMG_ROUTE_PUBLIC, 0, route_login, app);
  kmg_router_add (router, "POST", "/api/v1/auth/logout", KMG_ROUTE_AUTH, 0, route_logout, app);
  kmg_router_add (router, "GET", "/api/v1/me", KMG_ROUTE_AUTH, 0, route_me_get, app);
  kmg_router_add (router, "PATCH", "/api/v1/me", KMG_ROUTE_AUTH, 0, route_me_patch, app);
  kmg_router_add (router, "GET", "/api/v1/me/tokens", KMG_ROUTE_AUTH, 0, route_tokens_list, app);
  kmg_router_add (router, "DELETE", "/api/v1/me/tokens/{id}", KMG_ROUTE_AUTH, 0,
                  route_token_delete, app);
  kmg_router_add (router, "PUT", "/api/v1/me/picture", KMG_ROUTE_AUTH, picture_max,
                  route_picture_put, app);
  kmg_router_add (router, "GET", "/media/pictures/{id}", KMG_ROUTE_PUBLIC, 0, route_picture_get, app);
  kmg_router_add (router, "GET", "/api/v1/sellers/{id}", KMG_ROUTE_PUBLIC, 0, route_seller_get, app);
}
