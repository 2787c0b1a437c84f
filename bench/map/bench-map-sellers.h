/* bench-map-sellers.h — the synthetic seller population shared by the map benchmarks:
 * cities, clustered and uniform positions, streaming share, and screen viewports over them. */
#pragma once

#include <glib.h>

#include "kmg-map.h"

G_BEGIN_DECLS

typedef struct
{
  double lat, lon;
} KmgBenchPoint;

typedef struct
{
  KmgBenchPoint *cities;
  guint n_cities;
  KmgBenchPoint *where;   /* seller i's position */
  KmgMapStatus *status;   /* seller i's status: streaming or online */
  guint n_sellers;
} KmgBenchSellers;

/* Draws cities, then every position, then every status from @rand, in that order, so one seed
 * gives one population whichever benchmark asks for it. */
KmgBenchSellers *kmg_bench_sellers_new (GRand *rand, guint n_sellers, guint streaming_pct);
void kmg_bench_sellers_free (KmgBenchSellers *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgBenchSellers, kmg_bench_sellers_free)

double kmg_bench_wrap_lon (double lon);
/* A point drawn like a seller's position: near a city 70 % of the time. */
KmgBenchPoint kmg_bench_sellers_random_point (const KmgBenchSellers *s, GRand *rand);
/* A phone- to desktop-sized viewport (400..1920 x 400..1080 px) centred on @c at @zoom. */
void kmg_bench_screen_viewport (GRand *rand, KmgBenchPoint c, guint zoom, KmgMapViewport *vp);

G_END_DECLS
