/* kmg-routes-web.h — static files of the reference web client (/) and admin console (/admin).
 * Path checks and content types are pure functions so they are tested without a server. */
#pragma once

#include "kmg-app.h"

G_BEGIN_DECLS

/* Registers GET / , GET /admin and GET /static/... (up to KMG_WEB_MAX_DEPTH segments below
 * /static) serving files from app->config->web_dir, or the source tree's web/ when that is empty. */
void kmg_routes_web_register (KmgRouter *router, KmgApp *app);

#define KMG_WEB_MAX_DEPTH 4

/* The folder static files come from: @configured when non-empty, else the built-in default. */
const char *kmg_web_root (const char *configured);

/* TRUE when @segment may name a file or folder: not empty, not hidden (leading '.', which also
 * covers "." and ".."), no '/', '\\', NUL or control characters. */
gboolean kmg_web_segment_ok (const char *segment);

/* Content type for a file name by its extension, or NULL when the extension is not served. */
const char *kmg_web_content_type (const char *name);

/* Content-Security-Policy value for the pages; @extra_img_src and @extra_connect_src may be
 * NULL or empty (e.g. a tile server later). */
char *kmg_web_csp (const char *extra_img_src, const char *extra_connect_src);

G_END_DECLS
