/* kmg-map-position-private.h — layout of KmgMapPosition, so the index can embed one per seller.
 * Only map/ includes this; everyone else goes through kmg-map-position.h. */
#pragma once

#include "kmg-map-position.h"

struct _KmgMapPosition
{
  KmgGeohashBox cell;     /* current online cell (hysteresis state) */
  KmgGeohashBox fix_cell; /* cell of the latest fix: where a pending switch goes */
  double margin;          /* drawn when @cell was entered */
  gint64 due_ms;          /* when @pending: the time the switch takes effect */
  double lat;             /* displayed latitude */
  double lon;             /* displayed longitude */
  gboolean pending;
  gboolean streaming;     /* the latest update's: a streaming position is not a cell centre */
  gboolean valid;
};

void kmg_map_position_init (KmgMapPosition *self);
