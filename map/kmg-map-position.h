/* kmg-map-position.h — one seller's displayed position, derived from precise updates.
 * Owns the privacy rule (cell centre / rounding) and the hysteresis that stops border flapping. */
#pragma once

#include "kmg-geohash.h"

G_BEGIN_DECLS

/* How precise positions become displayed ones (copied from KmgMapConfig). */
typedef struct
{
  guint precision;   /* geohash precision (1..12) of the cell an online seller is shown at */
  guint decimals;    /* decimals (0..8) a streaming seller's position is rounded to */
  double hysteresis; /* 0..0.5: how far (fraction of the cell size) past the current cell's edge
                      * a position must be before the online cell changes */
} KmgMapPositionRules;

/* Privacy contract: the precise coordinates passed to kmg_map_position_update() are used once to
 * pick the cell and the rounded position and are not kept; nothing here (or anywhere in the map)
 * can return them. Only the displayed position and the current cell can be read back. */
typedef struct _KmgMapPosition KmgMapPosition;

KmgMapPosition *kmg_map_position_new (void);
void kmg_map_position_free (KmgMapPosition *self);

/* Applies one precise fix. The online cell is tracked whatever @streaming says, so a seller who
 * stops streaming is shown at the cell it was in, without jumping. Hysteresis rule: the current
 * cell is kept while the fix lies inside it, or outside it by less than rules->hysteresis times
 * the cell's height (latitude) and width (longitude, across the antimeridian too), whichever axis
 * is further out. Otherwise the cell becomes the one containing the fix. The caller has validated
 * the coordinates (finite, in range). */
void kmg_map_position_update (KmgMapPosition *self,
                              const KmgMapPositionRules *rules,
                              double lat,
                              double lon,
                              gboolean streaming);

/* Displayed position: the cell centre when the last update was not streaming, else the fix
 * rounded to rules->decimals. FALSE before the first update. */
gboolean kmg_map_position_get_displayed (const KmgMapPosition *self, double *lat, double *lon);

/* The current online cell. FALSE before the first update. */
gboolean kmg_map_position_get_cell (const KmgMapPosition *self, KmgGeohashBox *cell);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgMapPosition, kmg_map_position_free)

G_END_DECLS
