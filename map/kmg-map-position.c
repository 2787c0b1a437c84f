/* kmg-map-position.c — displayed position of one seller: cell centre with hysteresis, or rounding.
 * Precise fixes are consumed by kmg_map_position_update() and never stored. */
#include "kmg-map-position-private.h"

#include <math.h>

void
kmg_map_position_init (KmgMapPosition *self)
{
  *self = (KmgMapPosition){ 0 };
}

KmgMapPosition *
kmg_map_position_new (void)
{
  return g_new0 (KmgMapPosition, 1);
}

void
kmg_map_position_free (KmgMapPosition *self)
{
  g_free (self);
}

static gboolean
box_equal (const KmgGeohashBox *a, const KmgGeohashBox *b)
{
  return a->south == b->south && a->west == b->west && a->north == b->north && a->east == b->east;
}

/* How far @v lies outside [lo, hi], 0 when inside. */
static double
outside_by (double v, double lo, double hi)
{
  if (v < lo)
    return lo - v;
  if (v > hi)
    return v - hi;
  return 0.0;
}

/* Distance past the cell's edge, as a fraction of the cell's size, on the worse axis. Longitude
 * is measured the short way round so cells touching the antimeridian behave like any other. */
static double
outside_fraction (const KmgGeohashBox *cell, double lat, double lon)
{
  double h = cell->north - cell->south;
  double w = cell->east - cell->west;
  double dlat = outside_by (lat, cell->south, cell->north);
  double dlon = MIN (outside_by (lon, cell->west, cell->east),
                     MIN (outside_by (lon + 360.0, cell->west, cell->east),
                          outside_by (lon - 360.0, cell->west, cell->east)));

  return MAX (dlat / h, dlon / w);
}

static double
round_to (double v, guint decimals)
{
  double scale = pow (10.0, (double) decimals);

  return round (v * scale) / scale;
}

void
kmg_map_position_update (KmgMapPosition *self,
                         const KmgMapPositionRules *rules,
                         double lat,
                         double lon,
                         gboolean streaming)
{
  KmgGeohashBox fix_cell;

  g_return_if_fail (self != NULL && rules != NULL);
  g_return_if_fail (kmg_geohash_cell (lat, lon, rules->precision, &fix_cell));

  if (!self->valid || box_equal (&fix_cell, &self->cell)
      || outside_fraction (&self->cell, lat, lon) >= rules->hysteresis)
    self->cell = fix_cell;
  self->valid = TRUE;

  if (streaming)
    {
      self->lat = round_to (lat, rules->decimals);
      self->lon = round_to (lon, rules->decimals);
    }
  else
    kmg_geohash_box_centre (&self->cell, &self->lat, &self->lon);
}

gboolean
kmg_map_position_get_displayed (const KmgMapPosition *self, double *lat, double *lon)
{
  g_return_val_if_fail (self != NULL && lat != NULL && lon != NULL, FALSE);

  if (!self->valid)
    return FALSE;
  *lat = self->lat;
  *lon = self->lon;
  return TRUE;
}

gboolean
kmg_map_position_get_cell (const KmgMapPosition *self, KmgGeohashBox *cell)
{
  g_return_val_if_fail (self != NULL && cell != NULL, FALSE);

  if (!self->valid)
    return FALSE;
  *cell = self->cell;
  return TRUE;
}
