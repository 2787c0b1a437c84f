/* kmg-api-error.h — the one place where module errors become API error codes: HTTP statuses and
 * codes for routes (docs/api.md), WebSocket codes for the hub and its handlers (docs/protocol.md). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  GQuark (*domain) (void);
  int code;
  guint status;         /* HTTP status; 0 when the error has no HTTP form */
  const char *api_code; /* HTTP API code, NULL when the error has no HTTP form */
  const char *ws_code;  /* WebSocket error code, NULL when the error has no WebSocket form */
} KmgApiErrorRow;

/* KmgErrorMapFunc over the table: FALSE (500 internal_error) for errors it does not list. */
gboolean kmg_api_error_map (const GError *error, guint *status, const char **code);
/* KmgSignalingErrorMapFunc over the same table: NULL ("internal") for errors it does not list. */
const char *kmg_api_error_ws_code (const GError *error);

/* The rows themselves, for tests that check them against the documentation. */
const KmgApiErrorRow *kmg_api_error_rows (guint *n_rows);

G_END_DECLS
