/* kmg-routes-web.c — serves the reference client and admin console as static files.
 * Only regular files under the web folder, by a checked path and a known extension, are ever read. */

#include "kmg-routes-web.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#ifndef KMG_WEB_DIR
/* Without a build-time path, a server started from the source tree still finds its pages. */
#define KMG_WEB_DIR "web"
#endif

/* Larger than any page or vendored script; a bigger file is a mistake, not something to serve. */
#define MAX_FILE_BYTES (8 * 1024 * 1024)

static const struct
{
  const char *ext;
  const char *type;
} content_types[] = {
  { ".html", "text/html; charset=utf-8" },
  { ".js", "text/javascript; charset=utf-8" },
  { ".css", "text/css; charset=utf-8" },
  { ".png", "image/png" },
  { ".svg", "image/svg+xml" },
  { ".json", "application/json" },
  { ".woff2", "font/woff2" },
  { ".map", "application/json" },
};

const char *
kmg_web_root (const char *configured)
{
  return configured != NULL && *configured != '\0' ? configured : KMG_WEB_DIR;
}

gboolean
kmg_web_segment_ok (const char *segment)
{
  if (segment == NULL || *segment == '\0' || *segment == '.')
    return FALSE;
  for (const char *p = segment; *p; p++)
    if (*p == '/' || *p == '\\' || (guchar) *p < 0x20 || *p == 0x7f)
      return FALSE;
  return strlen (segment) <= 255;
}

const char *
kmg_web_content_type (const char *name)
{
  const char *dot;

  if (name == NULL || (dot = strrchr (name, '.')) == NULL || dot == name)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (content_types); i++)
    if (g_str_equal (dot, content_types[i].ext))
      return content_types[i].type;
  return NULL;
}

char *
kmg_web_csp (const char *extra_img_src, const char *extra_connect_src)
{
  gboolean img = extra_img_src != NULL && *extra_img_src != '\0';
  gboolean conn = extra_connect_src != NULL && *extra_connect_src != '\0';

  /* Scripts and styles only from files we serve (no inline code), media from the camera and
   * peers, images from tile servers over https. */
  return g_strdup_printf ("default-src 'self'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data: blob: https:%s%s; "
                          "connect-src 'self' ws: wss:%s%s; media-src 'self' blob: mediastream:; "
                          "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
                          "form-action 'self'",
                          img ? " " : "", img ? extra_img_src : "", conn ? " " : "",
                          conn ? extra_connect_src : "");
}

static void
set_page_headers (KmgHttpRequest *req)
{
  SoupMessageHeaders *h
      = soup_server_message_get_response_headers (kmg_http_request_message (req));
  g_autofree char *csp = kmg_web_csp (NULL, NULL);

  soup_message_headers_replace (h, "Content-Security-Policy", csp);
  soup_message_headers_replace (h, "X-Frame-Options", "DENY");
  soup_message_headers_replace (h, "Referrer-Policy", "no-referrer");
  soup_message_headers_replace (h, "Permissions-Policy",
                                "camera=(self), microphone=(self), geolocation=(self)");
}

/* Vendored libraries change only with a new vendor.sh run; our own files may change with any
 * deploy, so browsers revalidate them (Last-Modified makes that a cheap 304). */
static const char *
cache_control_for (const char *rel_path)
{
  if (g_str_has_prefix (rel_path, "static/vendor/"))
    return "public, max-age=86400";
  return "no-cache";
}

static gboolean
not_modified (KmgHttpRequest *req, gint64 mtime)
{
  const char *since = kmg_http_request_header (req, "If-Modified-Since");
  g_autoptr (GDateTime) when = NULL;

  if (since == NULL || (when = soup_date_time_new_from_http_string (since)) == NULL)
    return FALSE;
  return mtime <= g_date_time_to_unix (when);
}

/* @rel_path is made only of checked segments, so it cannot leave the root. */
static void
serve_file (KmgHttpRequest *req, KmgApp *app, const char *rel_path)
{
  const char *type = kmg_web_content_type (rel_path);
  g_autofree char *path = g_build_filename (kmg_web_root (app->config->web_dir), rel_path, NULL);
  SoupMessageHeaders *h
      = soup_server_message_get_response_headers (kmg_http_request_message (req));
  g_autoptr (GDateTime) mdate = NULL;
  g_autofree char *mstr = NULL;
  g_autofree char *data = NULL;
  g_autoptr (GBytes) body = NULL;
  GStatBuf st;
  gsize len = 0;

  /* lstat: a symlink is not followed out of the folder, it is simply not served. */
  if (type == NULL || g_lstat (path, &st) != 0 || !S_ISREG (st.st_mode)
      || st.st_size > MAX_FILE_BYTES)
    {
      kmg_http_reply_error (req, 404, "not_found", "no such file");
      return;
    }
  mdate = g_date_time_new_from_unix_utc (st.st_mtime);
  mstr = soup_date_time_to_string (mdate, SOUP_DATE_HTTP);
  soup_message_headers_replace (h, "Last-Modified", mstr);
  set_page_headers (req);
  if (not_modified (req, st.st_mtime))
    {
      soup_message_headers_replace (h, "Cache-Control", cache_control_for (rel_path));
      kmg_http_reply_empty (req, 304);
      return;
    }
  if (!g_file_get_contents (path, &data, &len, NULL))
    {
      kmg_http_reply_error (req, 404, "not_found", "no such file");
      return;
    }
  body = g_bytes_new_take (g_steal_pointer (&data), len);
  kmg_http_reply_bytes (req, 200, type, body, cache_control_for (rel_path));
}

static void
get_index (KmgHttpRequest *req, gpointer user_data)
{
  serve_file (req, user_data, "index.html");
}

static void
get_admin (KmgHttpRequest *req, gpointer user_data)
{
  serve_file (req, user_data, "admin.html");
}

/* Each depth has its own route, so the number of segments is known, not guessed. */
static void
get_static_depth (KmgHttpRequest *req, KmgApp *app, guint depth)
{
  static const char *const names[KMG_WEB_MAX_DEPTH] = { "a", "b", "c", "d" };
  g_autoptr (GString) rel = g_string_new ("static");

  for (guint i = 0; i < depth; i++)
    {
      const char *seg = kmg_http_request_param (req, names[i]);

      /* The router has already unescaped the segment: "%2e%2e" or "%2f" are caught here. */
      if (!kmg_web_segment_ok (seg))
        {
          kmg_http_reply_error (req, 404, "not_found", "no such file");
          return;
        }
      g_string_append_printf (rel, "/%s", seg);
    }
  serve_file (req, app, rel->str);
}

static void
get_static1 (KmgHttpRequest *req, gpointer user_data)
{
  get_static_depth (req, user_data, 1);
}

static void
get_static2 (KmgHttpRequest *req, gpointer user_data)
{
  get_static_depth (req, user_data, 2);
}

static void
get_static3 (KmgHttpRequest *req, gpointer user_data)
{
  get_static_depth (req, user_data, 3);
}

static void
get_static4 (KmgHttpRequest *req, gpointer user_data)
{
  get_static_depth (req, user_data, 4);
}

void
kmg_routes_web_register (KmgRouter *router, KmgApp *app)
{
  kmg_router_add (router, "GET", "/", KMG_ROUTE_PUBLIC, 0, get_index, app);
  kmg_router_add (router, "GET", "/admin", KMG_ROUTE_PUBLIC, 0, get_admin, app);
  kmg_router_add (router, "GET", "/static/{a}", KMG_ROUTE_PUBLIC, 0, get_static1, app);
  kmg_router_add (router, "GET", "/static/{a}/{b}", KMG_ROUTE_PUBLIC, 0, get_static2, app);
  kmg_router_add (router, "GET", "/static/{a}/{b}/{c}", KMG_ROUTE_PUBLIC, 0, get_static3, app);
  kmg_router_add (router, "GET", "/static/{a}/{b}/{c}/{d}", KMG_ROUTE_PUBLIC, 0, get_static4,
                  app);
}
