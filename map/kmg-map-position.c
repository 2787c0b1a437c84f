/* kmg-map-position.c — displayed position of one seller: cell centre with hysteresis, or rounding.
 * Precise fixes are consumed by kmg_map_position_update() and never stored; only cells are. */
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

/* Same-precision cells that are equal or share an edge or a corner. */
static gboolean
box_touches (const KmgGeohashBox *a, const KmgGeohashBox *b)
{
  double h = a->north - a->south;
  double w = a->east - a->west;
  double dlat = fabs ((a->north + a->south) - (b->north + b->south)) / 2;
  double dlon = fabs ((a->east + a->west) - (b->east + b->west)) / 2;

  if (dlon > 180.0)
    dlon = 360.0 - dlon;
  return dlat < 1.5 * h && dlon < 1.5 * w;
}

static double
draw_unit (const KmgMapPositionRules *rules)
{
  return rules->rand != NULL ? g_rand_double (rules->rand) : g_random_double ();
}

static void
enter_cell (KmgMapPosition *self, const KmgMapPositionRules *rules, const KmgGeohashBox *cell)
{
  self->cell = *cell;
  self->pending = FALSE;
  self->margin = rules->hysteresis;
  if (rules->hysteresis_spread > 0.0)
    self->margin += rules->hysteresis_spread * draw_unit (rules);
}

static gint64
draw_delay (const KmgMapPositionRules *rules)
{
  gint64 span = rules->delay_max_ms - rules->delay_min_ms;

  if (span <= 0)
    return rules->delay_min_ms;
  return rules->delay_min_ms + MIN (span, (gint64) floor ((double) (span + 1) * draw_unit (rules)));
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
                         gboolean streaming,
                         gint64 now_ms)
{
  KmgGeohashBox fix_cell;

  g_return_if_fail (self != NULL && rules != NULL);
  g_return_if_fail (kmg_geohash_cell (lat, lon, rules->precision, &fix_cell));

  if (!self->valid || !box_touches (&self->fix_cell, &fix_cell))
    enter_cell (self, rules, &fix_cell);
  else if (box_equal (&fix_cell, &self->cell)
           || outside_fraction (&self->cell, lat, lon) < self->margin)
    self->pending = FALSE; /* inside, or back before the switch took effect */
  else if (!self->pending)
    {
      self->pending = TRUE;
      self->due_ms = now_ms + draw_delay (rules);
    }
  self->fix_cell = fix_cell;
  if (self->pending && now_ms >= self->due_ms)
    enter_cell (self, rules, &fix_cell);
  self->valid = TRUE;
  self->streaming = streaming;

  if (streaming)
    {
      self->lat = round_to (lat, rules->decimals);
      self->lon = round_to (lon, rules->decimals);
    }
  else
    kmg_geohash_box_centre (&self->cell, &self->lat, &self->lon);
}

gboolean
kmg_map_position_apply_due (KmgMapPosition *self, const KmgMapPositionRules *rules, gint64 now_ms)
{
  g_return_val_if_fail (self != NULL && rules != NULL, FALSE);

  if (!self->valid || !self->pending || now_ms < self->due_ms)
    return FALSE;
  enter_cell (self, rules, &self->fix_cell);
  if (!self->streaming)
    kmg_geohash_box_centre (&self->cell, &self->lat, &self->lon);
  return TRUE;
}

gboolean
kmg_map_position_get_due (const KmgMapPosition *self, gint64 *due_ms)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (!self->valid || !self->pending)
    return FALSE;
  if (due_ms != NULL)
    *due_ms = self->due_ms;
  return TRUE;
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
