/* kmg-server.c — a whole kamegord instance: the composition root. It creates every module, hands
 * each its config struct and its callbacks, connects the listeners and registers the routes. */

#include "kmg-server.h"

#include "kmg-accounts.h"
#include "kmg-api-error.h"
#include "kmg-billing-glue.h"
#include "kmg-listener.h"
#include "kmg-map.h"
#include "kmg-module-configs.h"
#include "kmg-map-glue.h"
#include "kmg-relay.h"
#include "kmg-routes-accounts.h"
#include "kmg-routes-admin.h"
#include "kmg-routes-billing.h"
#include "kmg-routes-map.h"
#include "kmg-routes-rtc.h"
#include "kmg-routes-ops.h"
#include "kmg-routes-web.h"
#include "kmg-session-manager.h"
#include "kmg-signaling.h"
#include "kmg-stun-server.h"
#include "kmg-session-glue.h"

#include <glib/gstdio.h>

struct _KmgServer
{
  KmgApp app;
  KmgListener *listener;       /* accepts for app.http */
  KmgListener *admin_listener; /* accepts for app.admin_http */
  guint prune_timer;
};

/* Token rows expired or revoked more than a week ago are of no use to anyone: drop them hourly. */
static gboolean
prune_tokens (gpointer user_data)
{
  KmgApp *app = user_data;
  g_autoptr (GError) error = NULL;
  gint64 before = g_get_real_time () / G_USEC_PER_SEC - 7 * 86400;
  gint64 n = kmg_accounts_prune_tokens (app->accounts, before, &error);

  if (n < 0)
    g_warning ("pruning old tokens failed: %s", error->message);
  else if (n > 0)
    g_info ("pruned %" G_GINT64_FORMAT " old tokens", n);
  return G_SOURCE_CONTINUE;
}

static KmgRouter *
router_new (const KmgConfig *c, KmgMetrics *metrics)
{
  KmgRouter *router = kmg_router_new ();

  kmg_router_set_default_max_body (router, (gsize) c->max_body_bytes);
  kmg_router_set_error_map (router, kmg_api_error_map);
  kmg_router_set_metrics (router, metrics);
  return router;
}

/* Sessions left open by a crash are closed (server_restart) before billing starts. */
static KmgBilling *
billing_new (const KmgConfig *c, KmgDb *db, GError **error)
{
  KmgBillingRules rules;
  g_autoptr (KmgBilling) billing = NULL;
  g_autofree char *anchors = g_build_filename (c->data_dir, KMG_ANCHOR_FILE_NAME, NULL);
  int recovered = kmg_billing_recover (db, g_get_real_time () / 1000, error);

  if (recovered < 0)
    return NULL;
  if (recovered > 0)
    g_message ("closed %d watch sessions left open by the last run (server_restart)", recovered);
  kmg_module_config_billing (c, &rules);
  billing = kmg_billing_new (db, &rules, error);
  if (billing == NULL || !kmg_billing_open_anchors (billing, anchors, error))
    return NULL;
  return g_steal_pointer (&billing);
}

/* The STUN responder listens on the API's host (relay.stun_port; 0 = off). */
static gboolean
stun_new (const KmgConfig *c, KmgStunServer **out, GError **error)
{
  g_autofree char *host = NULL;
  g_autoptr (GInetAddress) inet = NULL;

  *out = NULL;
  if (c->stun_port <= 0)
    return TRUE;
  if (!kmg_config_parse_listen (c->listen, &host, NULL, error))
    return FALSE;
  /* A responder on a loopback address (IPv4 or IPv6) only ever hears loopback clients. */
  inet = g_inet_address_new_from_string (host);
  *out = kmg_stun_server_new (host, (guint) c->stun_port, 20,
                              (const char *const *) c->denied_peer_cidrs,
                              c->relay_allow_loopback
                                  || (inet != NULL && g_inet_address_get_is_loopback (inet)),
                              error);
  if (*out == NULL)
    g_prefix_error (error, "relay.stun_port %" G_GINT64_FORMAT ": ", c->stun_port);
  return *out != NULL;
}

static gboolean
open_data_dir (const KmgConfig *c, GError **error)
{
  if (g_mkdir_with_parents (c->data_dir, 0700) == 0)
    return TRUE;
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
               "cannot create data dir '%s': %s", c->data_dir, g_strerror (errno));
  return FALSE;
}

static void
on_token_revoked (gint64 user_id, gint64 token_id, gpointer signaling)
{
  kmg_signaling_token_revoked (signaling, user_id, token_id);
}

/* Every listener is connected here, so the order in which modules hear of an event is read in one
 * place: a ban ends the user's sessions (media stops) before the map and the hub drop the user. */
static void
connect_events (KmgApp *app)
{
  kmg_signaling_connect_presence_changed (app->signaling, kmg_map_glue_on_presence_changed,
                                          app->map_glue);
  kmg_signaling_connect_presence_changed (app->signaling, kmg_session_glue_on_presence_changed,
                                          app->session_glue);
  kmg_signaling_connect_connection_closed (app->signaling, kmg_session_glue_on_connection_closed,
                                           app->session_glue);
  kmg_accounts_connect_user_changed (app->accounts, kmg_map_glue_on_user_changed, app->map_glue);
  kmg_accounts_connect_user_banned (app->accounts, kmg_session_glue_on_user_banned, app->session_glue);
  kmg_accounts_connect_user_banned (app->accounts, kmg_map_glue_on_user_banned, app->map_glue);
  /* Logout and token revocation close the sockets that authenticated with those tokens. */
  kmg_accounts_connect_token_revoked (app->accounts, on_token_revoked, app->signaling);
  kmg_billing_connect_events (app->billing, kmg_billing_glue_push_event, app->signaling);
  kmg_billing_connect_events (app->billing, kmg_session_glue_on_billing_event, app->session_glue);
  kmg_signaling_add_handler (app->signaling, "map.visibility", kmg_map_glue_on_visibility,
                             app->map_glue);
  kmg_session_glue_register_messages (app->session_glue, app->signaling);
}

static void
register_routes (KmgApp *app)
{
  kmg_routes_ops_register (app->router, app);
  kmg_routes_accounts_register (app->router, app);
  if (app->admin_router != app->router)
    kmg_router_set_auth (app->admin_router, kmg_routes_accounts_auth, app);
  kmg_routes_map_register (app->router, app);
  kmg_routes_billing_register (app->router, app);
  kmg_routes_admin_register (app->admin_router, app);
  kmg_routes_rtc_register (app->router, app);
  kmg_routes_web_register (app->router, app);
  /* The admin console must reach the admin API from its own origin. */
  if (app->admin_router != app->router)
    kmg_routes_web_register (app->admin_router, app);
}

/* The composition root: every module of a kamegord is created here, in dependency order, then
 * the glue between them is connected. Nothing else creates a module or assigns into KmgApp. */
KmgServer *
kmg_server_new (KmgConfig *config, GError **error)
{
  g_autoptr (KmgServer) self = g_new0 (KmgServer, 1);
  KmgApp *app = &self->app;
  const KmgConfig *c = config;
  g_autofree char *db_path = NULL;
  KmgAccountsConfig accounts_cfg;
  KmgMapConfig map_cfg;
  KmgSignalingConfig signaling_cfg;
  KmgSignalingCallbacks signaling_cb;
  KmgSessionConfig sessions_cfg;
  KmgSessionEffects sessions_fx;
  KmgRelayCallbacks relay_cb;
  g_autoptr (KmgRelayConfig) relay_cfg = NULL;
  KmgListenerLimits limits;

  app->config = config;
  app->started_at_us = g_get_monotonic_time ();
  if (!kmg_config_validate (config, error) || !open_data_dir (c, error))
    return NULL;

  /* Store, metrics, HTTP. */
  db_path = g_build_filename (c->data_dir, "kamegor.db", NULL);
  app->db = kmg_db_open (db_path, error);
  if (app->db == NULL)
    return NULL;
  app->metrics = kmg_metrics_new ();
  app->router = router_new (c, app->metrics);
  app->admin_router = *c->admin_listen ? router_new (c, app->metrics) : app->router;
  app->http = soup_server_new ("server-header", "kamegord/" PACKAGE_VERSION, NULL);
  kmg_module_config_listener (c, &limits);
  self->listener = kmg_listener_new (app->http, c->listen, &limits, app->metrics, error);
  if (self->listener == NULL)
    return NULL;

  /* Accounts. */
  kmg_module_config_accounts (c, &accounts_cfg);
  app->accounts = kmg_accounts_new (app->db, c->data_dir, &accounts_cfg, error);
  if (app->accounts == NULL)
    return NULL;
  self->prune_timer = g_timeout_add_seconds (3600, prune_tokens, app);

  /* Live map and the WebSocket hub (presence lives in the hub). */
  app->map_glue = kmg_map_glue_new (app);
  kmg_module_config_map (c, &map_cfg);
  app->map = kmg_map_new (&map_cfg, error);
  if (app->map == NULL)
    return NULL;
  kmg_module_config_signaling (c, app->metrics, &signaling_cfg);
  kmg_map_glue_signaling_callbacks (&signaling_cb);
  app->signaling = kmg_signaling_new (app->http, &signaling_cfg, &signaling_cb, app->map_glue);
  kmg_signaling_set_error_map (app->signaling, kmg_api_error_ws_code);

  /* Billing, then watch sessions: the session manager, the relay and the STUN responder. */
  app->billing = billing_new (c, app->db, error);
  if (app->billing == NULL)
    return NULL;
  app->session_glue = kmg_session_glue_new (app);
  kmg_module_config_sessions (c, &sessions_cfg);
  kmg_session_glue_effects (&sessions_fx);
  app->sessions = kmg_session_manager_new (&sessions_cfg, &sessions_fx, app->session_glue, error);
  if (app->sessions == NULL)
    return NULL;
  relay_cfg = kmg_module_config_relay (c);
  kmg_session_glue_relay_callbacks (&relay_cb);
  app->relay = kmg_relay_new (relay_cfg, &relay_cb, app->session_glue, error);
  if (app->relay == NULL)
    return NULL;
  kmg_session_glue_attach (app->session_glue, app->sessions, app->relay);
  if (!stun_new (c, &app->stun, error))
    return NULL;

  connect_events (app);
  app->billing_tick = kmg_billing_tick_start (app->billing, app->metrics);
  register_routes (app);
  kmg_router_attach (app->router, app->http, "/");
  if (app->admin_router != app->router)
    {
      app->admin_http = soup_server_new ("server-header", "kamegord/" PACKAGE_VERSION, NULL);
      self->admin_listener = kmg_listener_new (app->admin_http, c->admin_listen, &limits,
                                               app->metrics, error);
      if (self->admin_listener == NULL)
        return NULL;
      kmg_router_attach (app->admin_router, app->admin_http, "/");
    }
  return g_steal_pointer (&self);
}

/* The reverse of kmg_server_new: sessions end first (server_restart, billing told), then billing
 * charges what is due, then the modules go. Accepts a half-built server. */
void
kmg_server_free (KmgServer *self)
{
  KmgApp *app;

  if (self == NULL)
    return;
  app = &self->app;
  g_clear_handle_id (&self->prune_timer, g_source_remove);
  if (app->session_glue)
    kmg_session_glue_shutdown (app->session_glue);
  /* Its listeners (the hub, the session glue) are still there to hear of the last charges. */
  g_clear_pointer (&app->billing_tick, kmg_billing_tick_stop);
  g_clear_pointer (&app->stun, kmg_stun_server_free);
  g_clear_pointer (&app->relay, kmg_relay_free);
  g_clear_pointer (&app->sessions, kmg_session_manager_free);
  g_clear_pointer (&app->session_glue, kmg_session_glue_free);
  g_clear_pointer (&app->billing, kmg_billing_free);
  g_clear_pointer (&app->signaling, kmg_signaling_free);
  g_clear_pointer (&app->map, kmg_map_free);
  g_clear_pointer (&app->map_glue, kmg_map_glue_free);
  g_clear_pointer (&self->listener, kmg_listener_free);
  g_clear_pointer (&self->admin_listener, kmg_listener_free);
  if (app->http)
    soup_server_disconnect (app->http);
  if (app->admin_http)
    soup_server_disconnect (app->admin_http);
  g_clear_object (&app->http);
  g_clear_object (&app->admin_http);
  if (app->admin_router != app->router)
    g_clear_pointer (&app->admin_router, kmg_router_free);
  g_clear_pointer (&app->router, kmg_router_free);
  g_clear_pointer (&app->accounts, kmg_accounts_free);
  g_clear_pointer (&app->metrics, kmg_metrics_free);
  g_clear_pointer (&app->db, kmg_db_close);
  kmg_config_free (app->config);
  g_free (self);
}

KmgApp *
kmg_server_get_app (KmgServer *server)
{
  return &server->app;
}

guint16
kmg_server_get_port (KmgServer *server)
{
  return kmg_listener_get_port (server->listener);
}

guint16
kmg_server_get_admin_port (KmgServer *server)
{
  return kmg_listener_get_port (server->admin_listener ? server->admin_listener : server->listener);
}
