/* kmg-map-viewport.c — viewport validation and containment, Web Mercator projection.
 * The containment test here is the single definition of "inside": queries use it, and so does the
 * WebSocket hub when it picks the subscribers a change concerns (kmg_bbox_contains). */
#include "kmg-map-private.h"

#include <math.h>

#define WORLD 4294967296.0 /* 2^32 */

static guint32
to_u32 (double v)
{
  if (!(v > 0.0))
    return 0;
  if (v >= WORLD - 1.0)
    return G_MAXUINT32;
  return (guint32) v;
}

guint32
kmg_map_project_x (double lon)
{
  return to_u32 ((lon + 180.0) / 360.0 * WORLD);
}

guint32
kmg_map_project_y (double lat)
{
  double s = sin (CLAMP (lat, -KMG_MAP_MERCATOR_MAX_LAT, KMG_MAP_MERCATOR_MAX_LAT) * G_PI / 180.0);

  return to_u32 ((0.5 - log ((1.0 + s) / (1.0 - s)) / (4.0 * G_PI)) * WORLD);
}

double
kmg_map_unproject_lon (double x)
{
  return x / WORLD * 360.0 - 180.0;
}

double
kmg_map_unproject_lat (double y)
{
  return atan (sinh (G_PI * (1.0 - 2.0 * y / WORLD))) * 180.0 / G_PI;
}

static guint64
spread (guint32 v)
{
  guint64 x = v;

  x = (x | (x << 16)) & G_GUINT64_CONSTANT (0x0000FFFF0000FFFF);
  x = (x | (x << 8)) & G_GUINT64_CONSTANT (0x00FF00FF00FF00FF);
  x = (x | (x << 4)) & G_GUINT64_CONSTANT (0x0F0F0F0F0F0F0F0F);
  x = (x | (x << 2)) & G_GUINT64_CONSTANT (0x3333333333333333);
  x = (x | (x << 1)) & G_GUINT64_CONSTANT (0x5555555555555555);
  return x;
}

guint64
kmg_map_morton (guint32 x, guint32 y)
{
  return (spread (y) << 1) | spread (x);
}

static gboolean
coord_ok (double v, double limit)
{
  return isfinite (v) && v >= -limit && v <= limit;
}

static gboolean
check_size (const KmgMapViewport *vp, GError **error)
{
  double world_px = ldexp (256.0, (int) vp->zoom);
  double lon_span = vp->west <= vp->east ? vp->east - vp->west : 360.0 - (vp->west - vp->east);
  double width_px = lon_span / 360.0 * world_px;
  double height_px =
    ((double) kmg_map_project_y (vp->south) - (double) kmg_map_project_y (vp->north)) / WORLD
    * world_px;

  if (width_px > KMG_MAP_MAX_VIEWPORT_PX || height_px > KMG_MAP_MAX_VIEWPORT_PX)
    {
      g_set_error (error, KMG_MAP_ERROR, KMG_MAP_ERROR_BBOX_TOO_LARGE,
                   "bbox spans %.0f x %.0f px at zoom %u, more than %d px per axis", width_px,
                   height_px, vp->zoom, KMG_MAP_MAX_VIEWPORT_PX);
      return FALSE;
    }
  return TRUE;
}

gboolean
kmg_map_viewport_init (KmgMapViewport *vp,
                       double south,
                       double west,
                       double north,
                       double east,
                       double zoom,
                       GError **error)
{
  KmgMapViewport tmp;

  g_return_val_if_fail (vp != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Written so that NaN fails too. */
  if (!(zoom >= 0 && zoom <= KMG_MAP_MAX_ZOOM) || zoom != floor (zoom))
    {
      g_set_error (error, KMG_MAP_ERROR, KMG_MAP_ERROR_INVALID_ZOOM,
                   "zoom must be an integer from 0 to %d", KMG_MAP_MAX_ZOOM);
      return FALSE;
    }
  if (!coord_ok (south, 90.0) || !coord_ok (north, 90.0))
    {
      g_set_error_literal (error, KMG_MAP_ERROR, KMG_MAP_ERROR_INVALID_COORDINATE,
                           "south and north must be finite latitudes in [-90, 90]");
      return FALSE;
    }
  if (!coord_ok (west, 180.0) || !coord_ok (east, 180.0))
    {
      g_set_error_literal (error, KMG_MAP_ERROR, KMG_MAP_ERROR_INVALID_COORDINATE,
                           "west and east must be finite longitudes in [-180, 180]");
      return FALSE;
    }
  if (south > north)
    {
      g_set_error (error, KMG_MAP_ERROR, KMG_MAP_ERROR_INVALID_BBOX,
                   "south (%g) is north of north (%g)", south, north);
      return FALSE;
    }
  tmp = (KmgMapViewport){ south, west, north, east, (guint) zoom };
  if (!check_size (&tmp, error))
    return FALSE;
  *vp = tmp;
  return TRUE;
}

gboolean
kmg_map_viewport_contains (const KmgMapViewport *vp, double lat, double lon)
{
  g_return_val_if_fail (vp != NULL, FALSE);

  if (!(lat >= vp->south && lat <= vp->north))
    return FALSE;
  if (vp->west <= vp->east)
    return lon >= vp->west && lon <= vp->east;
  return lon >= vp->west || lon <= vp->east;
}
