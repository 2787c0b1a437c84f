/* test-web-static.c — the static file rules of the web routes: which path segments and
 * extensions are served, and the Content-Security-Policy text. */

#include "kmg-routes-web.h"

static void
test_segments (void)
{
  const char *ok[] = { "app.js", "leaflet.css", "a", "layers-2x.png", "x.y.z", NULL };
  const char *bad[] = { "", ".", "..", ".hidden", ".git", "a/b", "a\\b", "tab\tname", "del\x7f", NULL };

  for (guint i = 0; ok[i]; i++)
    g_assert_true (kmg_web_segment_ok (ok[i]));
  for (guint i = 0; bad[i]; i++)
    g_assert_false (kmg_web_segment_ok (bad[i]));
  g_assert_false (kmg_web_segment_ok (NULL));
}

static void
test_content_types (void)
{
  g_assert_cmpstr (kmg_web_content_type ("index.html"), ==, "text/html; charset=utf-8");
  g_assert_cmpstr (kmg_web_content_type ("static/js/app.js"), ==, "text/javascript; charset=utf-8");
  g_assert_cmpstr (kmg_web_content_type ("a.css"), ==, "text/css; charset=utf-8");
  g_assert_cmpstr (kmg_web_content_type ("i.png"), ==, "image/png");
  g_assert_cmpstr (kmg_web_content_type ("i.svg"), ==, "image/svg+xml");
  g_assert_cmpstr (kmg_web_content_type ("f.woff2"), ==, "font/woff2");
  g_assert_cmpstr (kmg_web_content_type ("leaflet.js.map"), ==, "application/json");
  g_assert_null (kmg_web_content_type ("LICENSE"));
  g_assert_null (kmg_web_content_type ("kamegor.db"));
  g_assert_null (kmg_web_content_type ("vendor.sh"));
  g_assert_null (kmg_web_content_type ("page.HTML.bak"));
  g_assert_null (kmg_web_content_type (".js"));
}

static void
test_csp (void)
{
  g_autofree char *plain = kmg_web_csp (NULL, "");
  g_autofree char *tiles = kmg_web_csp ("http://tiles.local", "https://api.local");

  g_assert_nonnull (strstr (plain, "default-src 'self'"));
  g_assert_nonnull (strstr (plain, "img-src 'self' data: blob: https:;"));
  g_assert_nonnull (strstr (plain, "connect-src 'self' ws: wss:;"));
  g_assert_null (strstr (plain, "unsafe-inline"));
  g_assert_nonnull (strstr (tiles, "https: http://tiles.local;"));
  g_assert_nonnull (strstr (tiles, "wss: https://api.local;"));
}

static void
test_root (void)
{
  g_assert_cmpstr (kmg_web_root ("/srv/web"), ==, "/srv/web");
  g_assert_cmpstr (kmg_web_root (""), !=, "");
  g_assert_cmpstr (kmg_web_root (NULL), ==, kmg_web_root (""));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/web/static/segments", test_segments);
  g_test_add_func ("/web/static/content-types", test_content_types);
  g_test_add_func ("/web/static/csp", test_csp);
  g_test_add_func ("/web/static/root", test_root);
  return g_test_run ();
}
