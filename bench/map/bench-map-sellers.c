/* bench-map-sellers.c — the synthetic seller population shared by the map benchmarks.
 * Pure generation from a seeded GRand: the same seed gives the same sellers and viewports. */
#include "bench-map-sellers.h"

#include <math.h>

#define N_CITIES 300

double
kmg_bench_wrap_lon (double lon)
{
  return lon > 180.0 ? lon - 360.0 : lon < -180.0 ? lon + 360.0 : lon;
}

/* Most sellers live in cities; the rest are spread over inhabited latitudes. */
KmgBenchPoint
kmg_bench_sellers_random_point (const KmgBenchSellers *s, GRand *rand)
{
  if (g_rand_int_range (rand, 0, 10) < 7)
    {
      const KmgBenchPoint *c = &s->cities[g_rand_int_range (rand, 0, (gint32) s->n_cities)];
      double r = 0.3 * sqrt (-2.0 * log (1.0 - g_rand_double (rand)));
      double a = g_rand_double_range (rand, 0, 2 * G_PI);

      return (KmgBenchPoint){ CLAMP (c->lat + r * sin (a), -85.0, 85.0),
                              kmg_bench_wrap_lon (c->lon + r * cos (a)) };
    }
  return (KmgBenchPoint){ g_rand_double_range (rand, -60.0, 70.0),
                          g_rand_double_range (rand, -180.0, 180.0) };
}

KmgBenchSellers *
kmg_bench_sellers_new (GRand *rand, guint n_sellers, guint streaming_pct)
{
  KmgBenchSellers *s = g_new0 (KmgBenchSellers, 1);

  s->n_cities = N_CITIES;
  s->cities = g_new (KmgBenchPoint, s->n_cities);
  for (guint i = 0; i < s->n_cities; i++)
    s->cities[i] = (KmgBenchPoint){ g_rand_double_range (rand, -45, 60),
                                    g_rand_double_range (rand, -180, 180) };
  s->n_sellers = n_sellers;
  s->where = g_new (KmgBenchPoint, n_sellers);
  for (guint i = 0; i < n_sellers; i++)
    s->where[i] = kmg_bench_sellers_random_point (s, rand);
  s->status = g_new (KmgMapStatus, n_sellers);
  for (guint i = 0; i < n_sellers; i++)
    s->status[i] = (guint) g_rand_int_range (rand, 0, 100) < streaming_pct ? KMG_MAP_STATUS_STREAMING
                                                                           : KMG_MAP_STATUS_ONLINE;
  return s;
}

void
kmg_bench_sellers_free (KmgBenchSellers *s)
{
  if (s == NULL)
    return;
  g_free (s->cities);
  g_free (s->where);
  g_free (s->status);
  g_free (s);
}

void
kmg_bench_screen_viewport (GRand *rand, KmgBenchPoint c, guint zoom, KmgMapViewport *vp)
{
  double world = ldexp (256.0, (int) zoom);
  double w = g_rand_double_range (rand, 400, 1920), h = g_rand_double_range (rand, 400, 1080);
  double s = sin (CLAMP (c.lat, -85.0, 85.0) * G_PI / 180.0);
  double cy = (0.5 - log ((1 + s) / (1 - s)) / (4 * G_PI)) * world;
  double north = atan (sinh (G_PI * (1 - 2 * MAX (cy - h / 2, 0) / world))) * 180 / G_PI;
  double south = atan (sinh (G_PI * (1 - 2 * MIN (cy + h / 2, world) / world))) * 180 / G_PI;
  double half_lon = MIN (w / world * 180.0, 179.99);
  g_autoptr (GError) error = NULL;

  if (!kmg_map_viewport_init (vp, south, kmg_bench_wrap_lon (c.lon - half_lon), north,
                              kmg_bench_wrap_lon (c.lon + half_lon), (gint) zoom, &error))
    g_error ("viewport: %s", error->message);
}
