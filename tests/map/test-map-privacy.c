/* test-map-privacy.c — location privacy properties of every map answer.
 * Outputs are cell centres or rounded fixes, and answers cannot tell positions in one cell apart. */
#include "kmg-map.h"
#include "kmg-geohash.h"
#include "map-test-util.h"

#include <math.h>

#define PRECISION 5
#define DECIMALS 4
#define HYSTERESIS 0.15

typedef struct
{
  double lat, lon; /* last precise fix */
  KmgMapStatus status;
} Fix;

static KmgMap *
default_map (void)
{
  KmgMapConfig cfg;
  KmgMap *map;

  kmg_map_config_init (&cfg);
  g_assert_cmpuint (cfg.online_precision, ==, PRECISION);
  g_assert_cmpuint (cfg.streaming_decimals, ==, DECIMALS);
  g_assert_cmpfloat (cfg.hysteresis, ==, HYSTERESIS);
  cfg.max_items = 2000;
  map = kmg_map_new (&cfg, NULL);
  g_assert_nonnull (map);
  return map;
}

static void
put (KmgMap *map, gint64 id, const Fix *f, gint64 now)
{
  KmgMapChange ch;

  g_assert_true (kmg_map_update_seller (map, id, f->lat, f->lon, f->status, FALSE, NULL, now, &ch,
                                        NULL));
  g_assert_false (ch.throttled);
}

/* Online: exactly the centre of a precision-5 cell that the last fix is in, or near by less than the
 * hysteresis margin. Streaming: exactly the fix rounded to 4 decimals. */
static gboolean
marker_ok (const KmgMapItem *it, const Fix *f)
{
  KmgGeohashBox cell;
  double clat, clon, h, w;

  if (it->status == KMG_MAP_STATUS_STREAMING)
    return f->status == KMG_MAP_STATUS_STREAMING && it->lat == round (f->lat * 1e4) / 1e4
           && it->lon == round (f->lon * 1e4) / 1e4;
  if (f->status != KMG_MAP_STATUS_ONLINE || !kmg_geohash_cell (it->lat, it->lon, PRECISION, &cell))
    return FALSE;
  kmg_geohash_box_centre (&cell, &clat, &clon);
  kmg_geohash_cell_size (PRECISION, &h, &w);
  return it->lat == clat && it->lon == clon && f->lat >= cell.south - HYSTERESIS * h
         && f->lat <= cell.north + HYSTERESIS * h && f->lon >= cell.west - HYSTERESIS * w
         && f->lon <= cell.east + HYSTERESIS * w;
}

static void
test_outputs_are_displayed_positions (void)
{
  guint32 seed = map_test_seed ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr (KmgMap) map = default_map ();
  const guint n = 5000;
  g_autofree Fix *fixes = g_new0 (Fix, n);
  guint markers_checked = 0;

  for (guint i = 0; i < n; i++)
    {
      fixes[i].lat = g_rand_double_range (rand, -60.0, 60.0);
      /* A third of the sellers crowd one region so zoomed-in views have many markers. */
      fixes[i].lon = i % 3 == 0 ? g_rand_double_range (rand, 2.0, 2.5) : g_rand_double_range (rand, -170.0, 170.0);
      if (i % 3 == 0)
        fixes[i].lat = g_rand_double_range (rand, 48.5, 49.0);
    }
  for (guint round_ = 0; round_ < 4; round_++)
    {
      for (guint i = 0; i < n; i++)
        {
          /* Small moves, so hysteresis keeps some sellers in a cell their fix has left. */
          fixes[i].lat = CLAMP (fixes[i].lat + g_rand_double_range (rand, -0.03, 0.03), -60, 60);
          fixes[i].lon = CLAMP (fixes[i].lon + g_rand_double_range (rand, -0.03, 0.03), -170, 170);
          fixes[i].status = g_rand_int_range (rand, 0, 5) == 0 ? KMG_MAP_STATUS_STREAMING
                                                                : KMG_MAP_STATUS_ONLINE;
          put (map, i, &fixes[i], (gint64) round_ * 10000);
        }
      for (guint q = 0; q < 400; q++)
        {
          const Fix *near = &fixes[g_rand_int_range (rand, 0, n)];
          guint zoom = (guint) g_rand_int_range (rand, 0, KMG_MAP_MAX_ZOOM + 1);
          KmgMapViewport vp;
          g_autoptr (KmgMapResult) r = NULL;

          map_test_random_viewport (rand, near->lat, near->lon, zoom, &vp);
          r = kmg_map_query (map, &vp, 0);
          for (guint i = 0; i < r->n_items; i++)
            {
              const KmgMapItem *it = &r->items[i];

              if (it->kind != KMG_MAP_ITEM_MARKER)
                continue;
              SEED_ASSERT (seed, it->user_id >= 0 && it->user_id < (gint64) n);
              SEED_ASSERT (seed, marker_ok (it, &fixes[it->user_id]));
              SEED_ASSERT (seed, kmg_map_viewport_contains (&vp, it->lat, it->lon));
              markers_checked++;
            }
        }
    }
  g_test_message ("%u markers checked", markers_checked);
  SEED_ASSERT (seed, markers_checked > 10000);
}

/* Background sellers around @cell, the same in every map built from @bg_seed; with @keep_clear
 * none lies within 0.06 degrees of the cell, so a bbox search near it sees the target alone. */
static KmgMap *
map_with_target (const KmgGeohashBox *cell, double lat, double lon, guint32 bg_seed,
                 gboolean keep_clear)
{
  g_autoptr (GRand) bg = g_rand_new_with_seed (bg_seed);
  KmgMap *map = default_map ();
  Fix target = { lat, lon, KMG_MAP_STATUS_ONLINE };

  for (gint64 id = 100; id < 400; id++)
    {
      Fix f = { CLAMP (cell->south + g_rand_double_range (bg, -0.3, 0.3), -90, 90),
                CLAMP (cell->west + g_rand_double_range (bg, -0.3, 0.3), -180, 180),
                g_rand_boolean (bg) ? KMG_MAP_STATUS_STREAMING : KMG_MAP_STATUS_ONLINE };

      if (keep_clear && f.lat > cell->south - 0.06 && f.lat < cell->north + 0.06
          && f.lon > cell->west - 0.06 && f.lon < cell->east + 0.06)
        continue;
      put (map, id, &f, 0);
    }
  put (map, 1, &target, 0);
  return map;
}

#define N_PROBES 9

/* Points spread over the whole cell: corners and edge midpoints (inset a hair), and the centre. */
static void
probe_points (const KmgGeohashBox *c, double lat[N_PROBES], double lon[N_PROBES])
{
  double eh = (c->north - c->south) * 1e-7, ew = (c->east - c->west) * 1e-7;
  double lats[3] = { c->south + eh, (c->south + c->north) / 2, c->north - eh };
  double lons[3] = { c->west + ew, (c->west + c->east) / 2, c->east - ew };

  for (guint i = 0; i < N_PROBES; i++)
    {
      lat[i] = lats[i / 3];
      lon[i] = lons[i % 3];
    }
}

static char *
answer (KmgMap *map, const KmgMapViewport *vp)
{
  g_autoptr (KmgMapResult) r = kmg_map_query (map, vp, 0);

  return map_test_result_string (r);
}

static void
test_same_cell_same_answers (void)
{
  guint32 seed = map_test_seed ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);

  for (guint c = 0; c < 8; c++)
    {
      KmgGeohashBox cell;
      double lat[N_PROBES], lon[N_PROBES];
      KmgMap *maps[N_PROBES];
      guint32 bg_seed = g_rand_int (rand);

      g_assert_true (kmg_geohash_cell (g_rand_double_range (rand, -70, 70),
                                       g_rand_double_range (rand, -179, 179), PRECISION, &cell));
      probe_points (&cell, lat, lon);
      for (guint k = 0; k < N_PROBES; k++)
        maps[k] = map_with_target (&cell, lat[k], lon[k], bg_seed, FALSE);
      for (guint q = 0; q < 300; q++)
        {
          KmgMapViewport vp;
          g_autofree char *first = NULL;

          map_test_random_viewport (rand, g_rand_double_range (rand, cell.south - 0.05, cell.north + 0.05),
                                    g_rand_double_range (rand, cell.west - 0.05, cell.east + 0.05),
                                    (guint) g_rand_int_range (rand, 0, KMG_MAP_MAX_ZOOM + 1), &vp);
          first = answer (maps[0], &vp);
          for (guint k = 1; k < N_PROBES; k++)
            {
              g_autofree char *other = answer (maps[k], &vp);

              SEED_ASSERT (seed, g_str_equal (first, other));
            }
        }
      for (guint k = 0; k < N_PROBES; k++)
        kmg_map_free (maps[k]);
    }
}

static gboolean
sees_target (KmgMap *map, const KmgMapViewport *vp)
{
  g_autoptr (KmgMapResult) r = kmg_map_query (map, vp, 0);

  for (guint i = 0; i < r->n_items; i++)
    if (r->items[i].user_id == 1)
      return TRUE;
  return FALSE;
}

/* Binary search on one bbox edge: the edge value where the target appears. Every query is logged. */
static double
search_edge (KmgMap *map, const KmgGeohashBox *cell, guint edge, GArray *log)
{
  double lo = edge < 2 ? cell->south - 0.02 : cell->west - 0.02;
  double hi = edge < 2 ? cell->north + 0.02 : cell->east + 0.02;

  for (guint step = 0; step < 60; step++)
    {
      double mid = (lo + hi) / 2;
      KmgMapViewport vp;
      double s = cell->south - 0.05, w = cell->west - 0.05, n = cell->north + 0.05,
             e = cell->east + 0.05;

      if (edge == 0)
        n = mid; /* target visible iff its latitude <= mid */
      else if (edge == 1)
        s = mid;
      else if (edge == 2)
        e = mid;
      else
        w = mid;
      g_assert_true (kmg_map_viewport_init (&vp, s, w, n, e, 14, NULL));
      g_array_append_val (log, vp);
      if (sees_target (map, &vp) == (edge == 0 || edge == 2))
        hi = mid;
      else
        lo = mid;
    }
  return (lo + hi) / 2;
}

static void
test_trilateration_learns_only_the_cell (void)
{
  guint32 seed = map_test_seed ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);

  for (guint c = 0; c < 5; c++)
    {
      KmgGeohashBox cell;
      double plat, plon, clat, clon, lat[N_PROBES], lon[N_PROBES];
      g_autoptr (GArray) log = g_array_new (FALSE, FALSE, sizeof (KmgMapViewport));
      guint32 bg_seed = g_rand_int (rand);
      KmgMap *attacked;

      plat = g_rand_double_range (rand, -60, 60);
      plon = g_rand_double_range (rand, -170, 170);
      g_assert_true (kmg_geohash_cell (plat, plon, PRECISION, &cell));
      kmg_geohash_box_centre (&cell, &clat, &clon);
      attacked = map_with_target (&cell, plat, plon, bg_seed, TRUE);
      /* The attacker pins down a point: the public cell centre, not the fix. */
      for (guint edge = 0; edge < 4; edge++)
        {
          double found = search_edge (attacked, &cell, edge, log);

          SEED_ASSERT (seed, fabs (found - (edge < 2 ? clat : clon)) < 1e-9);
        }
      /* Random probing on top. */
      for (guint q = 0; q < 200; q++)
        {
          KmgMapViewport vp;

          map_test_random_viewport (rand, plat, plon, (guint) g_rand_int_range (rand, 8, 23), &vp);
          g_array_append_val (log, vp);
        }
      /* Every answer is the same wherever in the cell the seller really is: the positions consistent
       * with all answers cover the whole cell. */
      probe_points (&cell, lat, lon);
      for (guint k = 0; k < N_PROBES; k++)
        {
          g_autoptr (KmgMap) other = map_with_target (&cell, lat[k], lon[k], bg_seed, TRUE);

          for (guint i = 0; i < log->len; i++)
            {
              const KmgMapViewport *vp = &g_array_index (log, KmgMapViewport, i);
              g_autofree char *a = answer (attacked, vp);
              g_autofree char *b = answer (other, vp);

              SEED_ASSERT (seed, g_str_equal (a, b));
            }
        }
      kmg_map_free (attacked);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/map/privacy/outputs-are-displayed-positions", test_outputs_are_displayed_positions);
  g_test_add_func ("/map/privacy/same-cell-same-answers", test_same_cell_same_answers);
  g_test_add_func ("/map/privacy/trilateration-learns-only-the-cell",
                   test_trilateration_learns_only_the_cell);
  return g_test_run ();
}
