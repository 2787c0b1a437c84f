/* kmg-api-error.h — the one place where module errors become HTTP statuses and API error codes. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* KmgErrorMapFunc over the table: FALSE (500 internal_error) for errors it does not list. */
gboolean kmg_api_error_map (const GError *error, guint *status, const char **code);

G_END_DECLS
