/* kmg-geohash.c — geohash encode/decode by interval bisection.
 * Longitude takes the even bits, latitude the odd ones, five bits per base-32 character. */
#include "kmg-geohash.h"

#include <math.h>
#include <string.h>

static const char base32[] = "0123456789bcdefghjkmnpqrstuvwxyz";

static gboolean
point_ok (double lat, double lon)
{
  return isfinite (lat) && isfinite (lon) && lat >= -90.0 && lat <= 90.0 && lon >= -180.0
         && lon <= 180.0;
}

/* Bisects [*lo, *hi] towards @v; returns the bit chosen. */
static guint
bisect (double v, double *lo, double *hi)
{
  double mid = (*lo + *hi) / 2.0;

  if (v >= mid)
    {
      *lo = mid;
      return 1;
    }
  *hi = mid;
  return 0;
}

static void
cell_walk (double lat, double lon, guint precision, KmgGeohashBox *box, char *out)
{
  double lat_lo = -90.0, lat_hi = 90.0, lon_lo = -180.0, lon_hi = 180.0;
  gboolean even = TRUE;

  for (guint i = 0; i < precision; i++)
    {
      guint idx = 0;

      for (guint b = 0; b < 5; b++)
        {
          guint bit = even ? bisect (lon, &lon_lo, &lon_hi) : bisect (lat, &lat_lo, &lat_hi);

          idx = (idx << 1) | bit;
          even = !even;
        }
      if (out != NULL)
        out[i] = base32[idx];
    }
  if (out != NULL)
    out[precision] = '\0';
  if (box != NULL)
    *box = (KmgGeohashBox){ lat_lo, lon_lo, lat_hi, lon_hi };
}

gboolean
kmg_geohash_encode (double lat, double lon, guint precision, char *out)
{
  g_return_val_if_fail (out != NULL, FALSE);

  if (!point_ok (lat, lon) || precision < 1 || precision > KMG_GEOHASH_MAX_PRECISION)
    return FALSE;
  cell_walk (lat, lon, precision, NULL, out);
  return TRUE;
}

gboolean
kmg_geohash_cell (double lat, double lon, guint precision, KmgGeohashBox *box)
{
  g_return_val_if_fail (box != NULL, FALSE);

  if (!point_ok (lat, lon) || precision < 1 || precision > KMG_GEOHASH_MAX_PRECISION)
    return FALSE;
  cell_walk (lat, lon, precision, box, NULL);
  return TRUE;
}

gboolean
kmg_geohash_decode (const char *hash, KmgGeohashBox *box)
{
  double lat_lo = -90.0, lat_hi = 90.0, lon_lo = -180.0, lon_hi = 180.0;
  gboolean even = TRUE;
  gsize len;

  g_return_val_if_fail (box != NULL, FALSE);

  if (hash == NULL)
    return FALSE;
  len = strnlen (hash, KMG_GEOHASH_MAX_PRECISION + 1);
  if (len < 1 || len > KMG_GEOHASH_MAX_PRECISION)
    return FALSE;

  for (gsize i = 0; i < len; i++)
    {
      const char *p = hash[i] != '\0' ? strchr (base32, hash[i]) : NULL;
      guint idx;

      if (p == NULL)
        return FALSE;
      idx = (guint) (p - base32);
      for (int b = 4; b >= 0; b--)
        {
          gboolean bit = (idx >> b) & 1;
          double *lo = even ? &lon_lo : &lat_lo;
          double *hi = even ? &lon_hi : &lat_hi;
          double mid = (*lo + *hi) / 2.0;

          if (bit)
            *lo = mid;
          else
            *hi = mid;
          even = !even;
        }
    }
  *box = (KmgGeohashBox){ lat_lo, lon_lo, lat_hi, lon_hi };
  return TRUE;
}

void
kmg_geohash_box_centre (const KmgGeohashBox *box, double *lat, double *lon)
{
  g_return_if_fail (box != NULL && lat != NULL && lon != NULL);

  *lat = (box->south + box->north) / 2.0;
  *lon = (box->west + box->east) / 2.0;
}

void
kmg_geohash_cell_size (guint precision, double *lat_deg, double *lon_deg)
{
  guint bits, lon_bits, lat_bits;

  g_return_if_fail (precision >= 1 && precision <= KMG_GEOHASH_MAX_PRECISION);
  g_return_if_fail (lat_deg != NULL && lon_deg != NULL);

  bits = 5 * precision;
  lon_bits = (bits + 1) / 2;
  lat_bits = bits / 2;
  *lat_deg = ldexp (180.0, -(int) lat_bits);
  *lon_deg = ldexp (360.0, -(int) lon_bits);
}
