/* test-map-privacy.c — location privacy properties of every map answer.
 * Outputs are cell centres or rounded fixes, and answers cannot tell positions in one cell apart. */
#include "kmg-map.h"
#include "kmg-geohash.h"
#include "map-test-util.h"

#include <math.h>

#define PRECISION 5
#define DECIMALS 4
#define HYSTERESIS 0.15
#define HYSTERESIS_SPREAD 0.6
#define MAX_MARGIN (HYSTERESIS + HYSTERESIS_SPREAD)
#define DELAY_MIN_MS 5000
#define DELAY_MAX_MS 60000

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
  g_assert_cmpfloat (cfg.hysteresis_spread, ==, HYSTERESIS_SPREAD);
  g_assert_cmpint (cfg.switch_delay_min_ms, ==, DELAY_MIN_MS);
  g_assert_cmpint (cfg.switch_delay_max_ms, ==, DELAY_MAX_MS);
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
 * largest hysteresis margin (once pending switches are due). Streaming: exactly the fix rounded to
 * 4 decimals. */
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
  return it->lat == clat && it->lon == clon && f->lat >= cell.south - MAX_MARGIN * h
         && f->lat <= cell.north + MAX_MARGIN * h && f->lon >= cell.west - MAX_MARGIN * w
         && f->lon <= cell.east + MAX_MARGIN * w;
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
          put (map, i, &fixes[i], (gint64) round_ * 100000);
        }
      /* The switches these fixes armed come due, as the server's timers would carry them out. */
      for (guint i = 0; i < n; i++)
        g_assert_true (kmg_map_apply_due (map, i, (gint64) round_ * 100000 + DELAY_MAX_MS, NULL));
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


/* ---- border crossings: the place and the moment of a cell switch ---- */

#define METRES_PER_DEGREE 111195.0
#define FIX_INTERVAL_MS 5000 /* the fastest the server accepts (map.min_update_s) */

/* The server's side of a seller's map entry: fixes in, timers for pending switches. */
typedef struct
{
  KmgMap *map;
  gboolean armed;
  gint64 due_ms;
} Caller;

static void
caller_note (Caller *c, const KmgMapChange *ch)
{
  c->armed = ch->switch_pending;
  c->due_ms = ch->switch_due_ms;
}

/* Runs the timer if it fires before @until_ms; TRUE (with @at_ms) when it moved the marker. */
static gboolean
caller_run_timer (Caller *c, gint64 id, gint64 until_ms, gint64 *at_ms)
{
  KmgMapChange ch;

  if (!c->armed || c->due_ms > until_ms)
    return FALSE;
  g_assert_true (kmg_map_apply_due (c->map, id, c->due_ms, &ch));
  *at_ms = c->due_ms;
  caller_note (c, &ch);
  return ch.lat != ch.old_lat || ch.lon != ch.old_lon;
}

static void
assert_cell_centre (double lat, double lon, KmgGeohashBox *cell)
{
  double clat, clon;

  g_assert_true (kmg_geohash_cell (lat, lon, PRECISION, cell));
  kmg_geohash_box_centre (cell, &clat, &clon);
  g_assert_cmpfloat (lat, ==, clat);
  g_assert_cmpfloat (lon, ==, clon);
}

/* One seller driving north across a cell's north border at @speed m/s, one fix every 5 s. Returns
 * where it really was (in cell heights past the border) when its marker left the first cell: what
 * an attacker who knows the path and the speed would like to learn from the switch. */
static double
cross_once (KmgMap *map, GRand *rand, double speed)
{
  KmgGeohashBox start, seen;
  double h, w, lon, y0, v, first_lat = 0, first_lon = 0;
  Caller c = { map, FALSE, 0 };
  gint64 t = (gint64) g_rand_int_range (rand, 0, FIX_INTERVAL_MS);
  gint64 t0 = t, at;

  g_assert_true (kmg_geohash_cell (g_rand_double_range (rand, -60, 60),
                                   g_rand_double_range (rand, -170, 170), PRECISION, &start));
  h = start.north - start.south;
  w = start.east - start.west;
  lon = start.west + w * g_rand_double_range (rand, 0.3, 0.7);
  y0 = -h * g_rand_double_range (rand, 0.3, 0.7); /* starts inside, below the border */
  v = speed / METRES_PER_DEGREE;
  for (guint k = 0;; k++, t += FIX_INTERVAL_MS)
    {
      double lat = start.north + y0 + v * (t - t0) / 1000.0;
      KmgMapChange ch;

      g_assert_cmpfloat (lat - start.north, <, 4 * h); /* it must have switched by now */
      if (caller_run_timer (&c, 1, t, &at))
        break;
      g_assert_true (kmg_map_update_seller (map, 1, lat, lon, KMG_MAP_STATUS_ONLINE, FALSE, NULL, t,
                                            &ch, NULL));
      caller_note (&c, &ch);
      assert_cell_centre (ch.lat, ch.lon, &seen);
      if (k == 0)
        {
          g_assert_true (seen.north == start.north && seen.west == start.west);
          first_lat = ch.lat;
          first_lon = ch.lon;
        }
      else if (ch.lat != first_lat || ch.lon != first_lon)
        {
          at = t;
          break;
        }
    }
  {
    KmgMapItem it;

    g_assert_true (kmg_map_lookup (map, 1, &it));
    assert_cell_centre (it.lat, it.lon, &seen);
    g_assert_cmpfloat (seen.south, >=, start.north); /* forward, never sideways or back */
    g_assert_cmpfloat (seen.west, ==, start.west);
    kmg_map_item_clear (&it);
  }
  g_assert_true (kmg_map_remove_seller (map, 1, NULL)); /* offline: the next run starts afresh */
  return (y0 + v * (at - t0) / 1000.0) / h;
}

static int
cmp_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* Length of the shortest interval holding half of @v (sorted in place): an attacker who bets on
 * any window that short is right at most half of the time. */
static double
shortest_half (double *v, guint n)
{
  guint k = (n + 1) / 2;
  double best = G_MAXDOUBLE;

  qsort (v, n, sizeof (double), cmp_double);
  for (guint i = 0; i + k <= n; i++)
    best = MIN (best, v[i + k - 1] - v[i]);
  return best;
}

#define N_CROSSINGS 2000

/* Spread (shortest half, in cell heights) of where sellers at @speed were when their marker switched. */
static double
crossing_spread (KmgMap *map, guint32 seed, double speed)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  g_autofree double *at = g_new (double, N_CROSSINGS);
  double mean = 0, var = 0, spread;

  for (guint i = 0; i < N_CROSSINGS; i++)
    {
      at[i] = cross_once (map, rand, speed);
      mean += at[i] / N_CROSSINGS;
    }
  for (guint i = 0; i < N_CROSSINGS; i++)
    var += (at[i] - mean) * (at[i] - mean) / (N_CROSSINGS - 1);
  spread = shortest_half (at, N_CROSSINGS);
  g_test_message ("%5.1f m/s: switch at %.3f cell past the border on average, sd %.3f, shortest "
                  "half %.3f, interquartile %.3f (cells)", speed, mean, sqrt (var), spread,
                  at[3 * N_CROSSINGS / 4] - at[N_CROSSINGS / 4]);
  return spread;
}

static const double speeds[] = { 1.4 /* walking */, 14.0 /* town */, 33.0 /* motorway */,
                                  83.0 /* fast train */ };

/* The attacker knows each seller's path and speed and watches its marker: from the moment it
 * switches cells it wants one coordinate. Whatever the speed, the shortest window holding half of
 * the true positions at that moment spans a quarter of a cell or more. */
static void
test_crossing_line_is_uncertain (void)
{
  guint32 seed = map_test_seed ();
  g_autoptr (KmgMap) map = default_map ();

  kmg_map_set_rand (map, g_rand_new_with_seed (seed ^ 0x5eed));
  for (guint i = 0; i < G_N_ELEMENTS (speeds); i++)
    SEED_ASSERT (seed, crossing_spread (map, seed + i, speeds[i]) >= 0.25);
}

/* The same attacker against a fixed margin switched at the fix: the line is learnt to within the
 * distance between two fixes, so the test above can fail. */
static void
test_crossing_fixed_rule_gives_line (void)
{
  guint32 seed = map_test_seed ();
  KmgMapConfig cfg;
  g_autoptr (KmgMap) map = NULL;

  kmg_map_config_init (&cfg);
  cfg.hysteresis_spread = 0.0;
  cfg.switch_delay_min_ms = cfg.switch_delay_max_ms = 0;
  map = kmg_map_new (&cfg, NULL);
  SEED_ASSERT (seed, crossing_spread (map, seed, 1.4) < 0.01);
  SEED_ASSERT (seed, crossing_spread (map, seed, 14.0) < 0.02);
}

/* Wandering across a border with GPS noise for hours: every switch lands in the latest fix's cell,
 * at an exact centre, with that fix clearly outside the cell left (the least margin), and a fix
 * that wobbles along the border by less than that never moves the marker. */
static void
test_border_wander_no_flap (void)
{
  guint32 seed = map_test_seed ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr (KmgMap) map = default_map ();
  KmgGeohashBox cell, shown, prev;
  double h, y = 0, wobble_lat, lon;
  Caller c = { map, FALSE, 0 };
  guint switches = 0;
  gint64 at;

  kmg_map_set_rand (map, g_rand_new_with_seed (seed + 1));
  g_assert_true (kmg_geohash_cell (48.85, 2.35, PRECISION, &cell));
  h = cell.north - cell.south;
  lon = (cell.west + cell.east) / 2;
  /* Along the north border, within 0.1 of a cell of it: the marker stays where it first was. */
  for (gint64 t = 0; t < 6 * 3600 * 1000; t += FIX_INTERVAL_MS)
    {
      KmgMapChange ch;

      wobble_lat = cell.north + h * (0.09 * sin (t / 7e4) + g_rand_double_range (rand, -0.01, 0.01));
      g_assert_true (kmg_map_update_seller (map, 1, wobble_lat, lon, KMG_MAP_STATUS_ONLINE, FALSE,
                                            NULL, t, &ch, NULL));
      caller_note (&c, &ch);
      SEED_ASSERT (seed, !caller_run_timer (&c, 1, t + FIX_INTERVAL_MS - 1, &at));
      SEED_ASSERT (seed, t == 0 || (ch.lat == ch.old_lat && ch.lon == ch.old_lon));
    }
  g_assert_true (kmg_map_remove_seller (map, 1, NULL));

  /* A random walk over a few cells with 20 m of noise. */
  for (gint64 t = 0; t < 24 * 3600 * 1000; t += FIX_INTERVAL_MS)
    {
      double lat, fix_lon;
      KmgMapChange ch;
      KmgGeohashBox fix_cell;

      y = CLAMP (y + g_rand_double_range (rand, -0.05, 0.05) * h, -3.0 * h, 3.0 * h);
      lat = cell.north + y + g_rand_double_range (rand, -20, 20) / METRES_PER_DEGREE;
      fix_lon = lon + g_rand_double_range (rand, -20, 20) / METRES_PER_DEGREE;
      g_assert_true (kmg_geohash_cell (lat, fix_lon, PRECISION, &fix_cell));
      if (caller_run_timer (&c, 1, t, &at))
        {
          KmgMapItem it;

          g_assert_true (kmg_map_lookup (map, 1, &it));
          assert_cell_centre (it.lat, it.lon, &shown);
          kmg_map_item_clear (&it);
          switches++;
        }
      g_assert_true (kmg_map_update_seller (map, 1, lat, fix_lon, KMG_MAP_STATUS_ONLINE, FALSE, NULL,
                                            t, &ch, NULL));
      caller_note (&c, &ch);
      assert_cell_centre (ch.lat, ch.lon, &shown);
      if (t > 0 && (ch.lat != ch.old_lat || ch.lon != ch.old_lon))
        {
          switches++;
          g_assert_true (kmg_geohash_cell (ch.old_lat, ch.old_lon, PRECISION, &prev));
          SEED_ASSERT (seed, shown.south == fix_cell.south && shown.west == fix_cell.west);
          SEED_ASSERT (seed, lat > prev.north + HYSTERESIS * h || lat < prev.south - HYSTERESIS * h);
        }
    }
  g_test_message ("%u switches in 24 h", switches);
  SEED_ASSERT (seed, switches >= 3 && switches < 1000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/map/privacy/outputs-are-displayed-positions", test_outputs_are_displayed_positions);
  g_test_add_func ("/map/privacy/same-cell-same-answers", test_same_cell_same_answers);
  g_test_add_func ("/map/privacy/trilateration-learns-only-the-cell",
                   test_trilateration_learns_only_the_cell);
  g_test_add_func ("/map/privacy/crossing-line-is-uncertain", test_crossing_line_is_uncertain);
  g_test_add_func ("/map/privacy/crossing-fixed-rule-gives-line",
                   test_crossing_fixed_rule_gives_line);
  g_test_add_func ("/map/privacy/border-wander-no-flap", test_border_wander_no_flap);
  return g_test_run ();
}
