/* map-test-util.c — helpers shared by the map tests: seeds, result fingerprints, viewports.
 * Test-only code. */
#include "map-test-util.h"

#include <math.h>
#include <stdlib.h>

guint32
map_test_seed (void)
{
  const char *env = g_getenv ("KMG_TEST_SEED");
  guint32 seed = env != NULL ? (guint32) strtoul (env, NULL, 10) : g_random_int ();

  g_test_message ("seed %u", seed);
  return seed;
}

char *
map_test_result_string (const KmgMapResult *r)
{
  GString *s = g_string_new (NULL);

  g_string_append_printf (s, "grid=%u truncated=%d n=%u\n", r->grid_zoom, r->truncated, r->n_items);
  for (guint i = 0; i < r->n_items; i++)
    {
      const KmgMapItem *it = &r->items[i];

      g_string_append_printf (s, "%s %d %.17g %.17g %u %u %d %s\n", it->id, it->kind, it->lat,
                              it->lon, it->count, it->streaming_count, it->status,
                              it->profile != NULL ? it->profile->username : "-");
    }
  return g_string_free (s, FALSE);
}

static double
wrap_lon (double lon)
{
  while (lon > 180.0)
    lon -= 360.0;
  while (lon < -180.0)
    lon += 360.0;
  return lon;
}

void
map_test_random_viewport (GRand *rand, double lat, double lon, guint zoom, KmgMapViewport *vp)
{
  /* Degrees per 4096 px at this zoom, at the equator; shrink on failure for high latitudes. */
  double span = 360.0 * 4096.0 / ldexp (256.0, (int) zoom);

  for (double scale = 1.0;; scale /= 2.0)
    {
      double w = MIN (span * scale * g_rand_double (rand), 359.0);
      double h = MIN (span * scale * g_rand_double (rand), 170.0);
      double south = CLAMP (lat - h * g_rand_double (rand), -90.0, 90.0);
      double north = CLAMP (south + h, -90.0, 90.0);
      double west = wrap_lon (lon - w * g_rand_double (rand));
      double east = wrap_lon (west + w);

      if (kmg_map_viewport_init (vp, south, west, north, east, (gint) zoom, NULL))
        return;
    }
}
