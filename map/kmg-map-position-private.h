/* kmg-map-position-private.h — layout of KmgMapPosition, so the index can embed one per seller.
 * Only map/ includes this; everyone else goes through kmg-map-position.h. */
#pragma once

#include "kmg-map-position.h"

struct _KmgMapPosition
{
  KmgGeohashBox cell; /* current online cell (hysteresis state) */
  double lat;         /* displayed latitude */
  double lon;         /* displayed longitude */
  gboolean valid;
};

void kmg_map_position_init (KmgMapPosition *self);
