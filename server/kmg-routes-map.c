/* kmg-routes-map.c — GET /api/v1/map?south=&west=&north=&east=&zoom=: the same items a
 * map.subscribe snapshot has. The map judges the viewport, signaling writes the items. */

#include "kmg-routes-map.h"

#include "kmg-map.h"
#include "kmg-ws-proto.h"

#include <math.h>

/* Plain decimals only: an optional '-', digits, an optional '.' and digits. g_ascii_strtod alone
 * would also take hex, exponents, "inf" and "nan", none of which a map client sends. */
static gboolean
is_plain_decimal (const char *v)
{
  const char *p = v;

  if (*p == '-')
    p++;
  if (!g_ascii_isdigit (*p))
    return FALSE;
  while (g_ascii_isdigit (*p))
    p++;
  if (*p == '.')
    {
      p++;
      if (!g_ascii_isdigit (*p))
        return FALSE;
      while (g_ascii_isdigit (*p))
        p++;
    }
  return *p == '\0';
}

static gboolean
query_number (KmgHttpRequest *req, const char *name, double *out)
{
  const char *v = kmg_http_request_query (req, name);

  if (v == NULL || *v == '\0')
    {
      kmg_http_reply_error (req, 400, "missing_field", "query parameter '%s' is required", name);
      return FALSE;
    }
  if (!is_plain_decimal (v) || !isfinite (*out = g_ascii_strtod (v, NULL)))
    {
      kmg_http_reply_error (req, 400, "bad_type", "query parameter '%s' must be a number", name);
      return FALSE;
    }
  return TRUE;
}

static void
get_map (KmgHttpRequest *req, gpointer user_data)
{
  KmgApp *app = user_data;
  double s, w, n, e, z;
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgMapResult) res = NULL;
  g_autoptr (GString) out = NULL;
  KmgMapViewport vp;

  if (!query_number (req, "south", &s) || !query_number (req, "west", &w)
      || !query_number (req, "north", &n) || !query_number (req, "east", &e)
      || !query_number (req, "zoom", &z))
    return;
  /* The zoom and bbox rules are the map's, the codes the error table's: map.subscribe refuses the
   * same viewports. */
  if (!kmg_map_viewport_init (&vp, s, w, n, e, z, &error))
    {
      kmg_http_reply_gerror (req, error);
      return;
    }
  res = kmg_map_query (app->map, &vp, 0);
  out = g_string_sized_new (128 + 160 * res->n_items);
  kmg_ws_append_map_result (out, res);
  kmg_http_reply_text (req, 200, "application/json", out->str);
}

void
kmg_routes_map_register (KmgRouter *router, KmgApp *app)
{
  kmg_router_add (router, "GET", "/api/v1/map", KMG_ROUTE_PUBLIC, 0, get_map, app);
}
