/* kmg-geohash.h — geohash cells: encode a point, decode a hash to its cell bounds, cell centre.
 * Pure functions, no allocation; used by the map to snap online sellers to a cell centre. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define KMG_GEOHASH_MAX_PRECISION 12

/* Bounds of one geohash cell, in degrees. */
typedef struct
{
  double south;
  double west;
  double north;
  double east;
} KmgGeohashBox;

/* Writes the @precision-character (1..12) geohash of (@lat, @lon) plus a NUL into @out, which must
 * hold at least @precision + 1 bytes. Returns FALSE (and writes nothing) if the input is not finite,
 * out of range or @precision is out of 1..12. A point on a shared border belongs to the cell north
 * and/or east of it, except at lat 90 / lon 180, which belong to the last cell. */
gboolean kmg_geohash_encode (double lat, double lon, guint precision, char *out);

/* Fills @box with the bounds of the cell named by @hash (1..12 characters of the geohash base-32
 * alphabet, lower case). Returns FALSE on any other input. */
gboolean kmg_geohash_decode (const char *hash, KmgGeohashBox *box);

/* Like kmg_geohash_encode() + kmg_geohash_decode(), without the string. */
gboolean kmg_geohash_cell (double lat, double lon, guint precision, KmgGeohashBox *box);

/* Centre of @box. Exact: cell bounds are dyadic fractions of the world, so is their mean. */
void kmg_geohash_box_centre (const KmgGeohashBox *box, double *lat, double *lon);

/* Width (longitude) and height (latitude) in degrees of any cell of @precision (1..12). */
void kmg_geohash_cell_size (guint precision, double *lat_deg, double *lon_deg);

G_END_DECLS
