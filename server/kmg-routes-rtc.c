/* kmg-routes-rtc.c — GET /api/v1/rtc: the ICE servers and path policy a client needs before it
 * creates peer connections. */

#include "kmg-routes-rtc.h"

#include "kmg-stun-server.h"

#include <string.h>

/* GET /api/v1/rtc — what a client needs before creating peer connections. */
static void
get_rtc (KmgHttpRequest *req, gpointer user_data)
{
  KmgApp *app = user_data;
  const KmgConfig *c = app->config;
  g_autoptr (JsonObject) out = json_object_new ();
  JsonArray *servers = json_array_new ();
  g_autofree char *url = NULL;

  if (*c->stun_server)
    url = g_strdup_printf ("stun:%s", c->stun_server);
  else if (app->stun != NULL)
    {
      /* The host the client used to reach us is the one it can reach our STUN port on. */
      const char *host = kmg_http_request_header (req, "Host");
      g_autofree char *name = NULL;
      if (host == NULL)
        host = "127.0.0.1";
      name = host[0] == '[' ? g_strndup (host, strcspn (host, "]") + 1)
                            : g_strndup (host, strcspn (host, ":"));
      url = g_strdup_printf ("stun:%s:%u", *c->public_ip ? c->public_ip : name,
                             kmg_stun_server_get_port (app->stun));
    }
  if (url)
    {
      JsonObject *s = json_object_new ();
      JsonArray *urls = json_array_new ();
      json_array_add_string_element (urls, url);
      json_object_set_array_member (s, "urls", urls);
      json_array_add_object_element (servers, s);
    }
  json_object_set_array_member (out, "ice_servers", servers);
  json_object_set_string_member (out, "relay_policy",
                                 kmg_session_policy_to_string ((KmgSessionPolicy) c->relay_policy));
  json_object_set_int_member (out, "p2p_timeout_ms", c->p2p_timeout_ms);
  json_object_set_int_member (out, "stats_interval_ms", 2000);
  kmg_http_reply_object (req, 200, out);
}

void
kmg_routes_rtc_register (KmgRouter *router, KmgApp *app)
{
  kmg_router_add (router, "GET", "/api/v1/rtc", KMG_ROUTE_AUTH, 0, get_rtc, app);
}
