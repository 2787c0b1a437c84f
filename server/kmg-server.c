/* kmg-server.c — a whole kamegord instance: store, modules, listeners, routes.
 * The only place that wires modules together; each module gets plain values and callbacks. */

#include "kmg-server.h"

#include "kmg-accounts.h"
#include "kmg-api-error.h"
#include "kmg-routes-accounts.h"
#include "kmg-realtime.h"
#include "kmg-routes-admin.h"
#include "kmg-routes-billing.h"
#include "kmg-routes-map.h"
#include "kmg-watch.h"
#include "kmg-routes-ops.h"
#include "kmg-routes-web.h"
#include "kmg-signaling.h"

#include <glib/gstdio.h>

struct _KmgServer
{
  KmgApp app;
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

/* Binds our own socket so the accept backlog is large: a reconnect storm after a network blip
 * must not stall on SYN retries (GSocket's default backlog is 10). */
static SoupServer *
listen_on (const char *listen, GError **error)
{
  g_autoptr (SoupServer) server = soup_server_new ("server-header", "kamegord/" PACKAGE_VERSION,
                                                    NULL);
  g_autofree char *host = NULL;
  g_autoptr (GInetAddress) inet = NULL;
  g_autoptr (GSocketAddress) addr = NULL;
  g_autoptr (GSocket) sock = NULL;
  guint16 port;

  if (!kmg_config_parse_listen (listen, &host, &port, error))
    return NULL;
  inet = g_inet_address_new_from_string (host);
  addr = g_inet_socket_address_new (inet, port);
  sock = g_socket_new (g_inet_address_get_family (inet), G_SOCKET_TYPE_STREAM,
                       G_SOCKET_PROTOCOL_TCP, error);
  if (sock == NULL)
    return NULL;
  g_socket_set_listen_backlog (sock, 4096);
  if (!g_socket_bind (sock, addr, TRUE, error) || !g_socket_listen (sock, error)
      || !soup_server_listen_socket (server, sock, 0, error))
    {
      g_prefix_error (error, "cannot listen on %s: ", listen);
      return NULL;
    }
  return g_steal_pointer (&server);
}

static guint16
port_of (SoupServer *server)
{
  GSList *listeners;
  g_autoptr (GSocketAddress) addr = NULL;

  if (server == NULL)
    return 0;
  listeners = soup_server_get_listeners (server);
  if (listeners == NULL)
    return 0;
  addr = g_socket_get_local_address (listeners->data, NULL);
  g_slist_free (listeners);
  return addr ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (addr)) : 0;
}

static gboolean
start_accounts (KmgApp *app, GError **error)
{
  const KmgConfig *c = app->config;
  KmgAccountsConfig cfg;

  kmg_accounts_config_init (&cfg);
  cfg.max_concurrent_hashes = c->max_concurrent_hashes;
  cfg.token_ttl_s = c->token_ttl_s;
  cfg.login_per_user_per_5min = c->login_per_user_per_5min;
  cfg.login_per_addr_per_5min = c->login_per_addr_per_5min;
  cfg.picture_max_bytes = c->picture_max_bytes;
  app->accounts = kmg_accounts_new (app->db, c->data_dir, &cfg, error);
  return app->accounts != NULL;
}

static void
on_user_changed (KmgApp *app, gint64 user_id)
{
  kmg_realtime_user_changed (app->realtime, user_id);
}

static gboolean
seller_exists (KmgApp *app, gint64 seller_id)
{
  g_autoptr (KmgUser) user = kmg_accounts_get_user (app->accounts, seller_id, NULL);
  return user != NULL && user->is_seller && !user->banned;
}

KmgServer *
kmg_server_new (KmgConfig *config, GError **error)
{
  g_autoptr (KmgServer) self = g_new0 (KmgServer, 1);
  KmgApp *app = &self->app;
  g_autofree char *db_path = NULL;

  app->config = config;
  app->started_at_us = g_get_monotonic_time ();
  if (!kmg_config_validate (config, error))
    return NULL;
  if (g_mkdir_with_parents (config->data_dir, 0700) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                   "cannot create data dir '%s': %s", config->data_dir, g_strerror (errno));
      return NULL;
    }
  db_path = g_build_filename (config->data_dir, "kamegor.db", NULL);
  app->db = kmg_db_open (db_path, error);
  if (app->db == NULL)
    return NULL;

  app->metrics = kmg_metrics_new ();
  app->router = kmg_router_new ();
  kmg_router_set_default_max_body (app->router, (gsize) config->max_body_bytes);
  kmg_router_set_error_map (app->router, kmg_api_error_map);
  kmg_router_set_metrics (app->router, app->metrics);
  if (*config->admin_listen)
    {
      app->admin_router = kmg_router_new ();
      kmg_router_set_default_max_body (app->admin_router, (gsize) config->max_body_bytes);
      kmg_router_set_error_map (app->admin_router, kmg_api_error_map);
      kmg_router_set_metrics (app->admin_router, app->metrics);
    }
  else
    app->admin_router = app->router;

  if (!start_accounts (app, error))
    return NULL;
  self->prune_timer = g_timeout_add_seconds (3600, prune_tokens, app);

  kmg_routes_ops_register (app->router, app);
  kmg_routes_accounts_register (app->router, app);
  if (app->admin_router != app->router)
    kmg_router_set_auth (app->admin_router, kmg_routes_accounts_auth, app);

  app->http = listen_on (config->listen, error);
  if (app->http == NULL)
    return NULL;
  kmg_router_attach (app->router, app->http, "/");
  app->realtime = kmg_realtime_new (app, error);
  if (app->realtime == NULL)
    return NULL;
  kmg_signaling_set_error_map (app->signaling, kmg_api_error_ws_code);
  kmg_routes_map_register (app->router, app);
  if (!kmg_billing_wiring_start (app, error))
    return NULL;
  kmg_routes_billing_register (app->router, app);
  kmg_routes_admin_register (app->admin_router, app);
  app->watch = kmg_watch_new (app, error);
  if (app->watch == NULL)
    return NULL;
  kmg_routes_watch_register (app->router, app);
  kmg_routes_web_register (app->router, app);
  /* The admin console must reach the admin API from its own origin. */
  if (app->admin_router != app->router)
    kmg_routes_web_register (app->admin_router, app);
  app->decorate_seller = kmg_billing_decorate_seller;
  app->on_user_changed = on_user_changed;
  app->seller_exists = seller_exists;
  if (app->admin_router != app->router)
    {
      app->admin_http = listen_on (config->admin_listen, error);
      if (app->admin_http == NULL)
        return NULL;
      kmg_router_attach (app->admin_router, app->admin_http, "/");
    }
  return g_steal_pointer (&self);
}

void
kmg_server_free (KmgServer *self)
{
  KmgApp *app;

  if (self == NULL)
    return;
  app = &self->app;
  g_clear_handle_id (&self->prune_timer, g_source_remove);
  /* Sessions end first (server_restart, billing told), then billing charges what is due. */
  g_clear_pointer (&app->watch, kmg_watch_free);
  kmg_billing_wiring_stop (app);
  g_clear_pointer (&app->realtime, kmg_realtime_free);
  if (app->http)
    soup_server_disconnect (app->http);
  if (app->admin_http)
    soup_server_disconnect (app->admin_http);
  g_clear_object (&app->http);
  g_clear_object (&app->admin_http);
  if (app->admin_router != app->router)
    kmg_router_free (app->admin_router);
  kmg_router_free (app->router);
  kmg_accounts_free (app->accounts);
  kmg_metrics_free (app->metrics);
  kmg_db_close (app->db);
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
  return port_of (server->app.http);
}

guint16
kmg_server_get_admin_port (KmgServer *server)
{
  return server->app.admin_http ? port_of (server->app.admin_http) : port_of (server->app.http);
}
