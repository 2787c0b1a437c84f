/* kmg-api-error.h — the one place where module errors become HTTP statuses and API error codes. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  guint status;     /* HTTP status */
  const char *code; /* stable API code, e.g. "insufficient_credits" */
} KmgApiError;

/* Unknown domains map to 500 internal_error. */
KmgApiError kmg_api_error_from_gerror (const GError *error);

G_END_DECLS
