/* test-map-position.c — displayed position rules: cell centres, rounding, border hysteresis.
 * Walks synthetic paths along and across geohash cell borders. */
#include "kmg-map-position.h"
#include "map-test-util.h"

#include <math.h>

static const KmgMapPositionRules rules = { 5, 4, 0.15 };

/* Two vertically adjacent precision-5 cells: @south_cell's north edge is @north_cell's south edge. */
static void
cell_pair (KmgGeohashBox *south_cell, KmgGeohashBox *north_cell)
{
  g_assert_true (kmg_geohash_decode ("u09tu", north_cell));
  g_assert_true (kmg_geohash_cell (north_cell->south - 0.001, (north_cell->west + north_cell->east) / 2,
                                   5, south_cell));
  g_assert_cmpfloat (south_cell->north, ==, north_cell->south);
}

/* Walks east along the shared border, wobbling across it by @wobble of the cell height; returns
 * how many times the displayed position changed. */
static guint
walk_border (const KmgMapPositionRules *r, double wobble)
{
  KmgGeohashBox s, n;
  g_autoptr (KmgMapPosition) pos = kmg_map_position_new ();
  double h, prev_lat = NAN, prev_lon = NAN;
  guint changes = 0;

  cell_pair (&s, &n);
  h = n.north - n.south;
  for (guint i = 0; i <= 1000; i++)
    {
      double lon = n.west + (n.east - n.west) * (0.1 + 0.8 * i / 1000.0);
      double lat = n.south + wobble * h * sin (i * 0.37);
      double dlat, dlon;

      kmg_map_position_update (pos, r, lat, lon, FALSE, 0);
      g_assert_true (kmg_map_position_get_displayed (pos, &dlat, &dlon));
      if (i > 0 && (dlat != prev_lat || dlon != prev_lon))
        changes++;
      prev_lat = dlat;
      prev_lon = dlon;
    }
  return changes;
}

static void
test_border_walk_no_flap (void)
{
  KmgMapPositionRules no_hysteresis = { 5, 4, 0.0 };

  g_assert_cmpuint (walk_border (&rules, 0.10), ==, 0);
  /* The same walk without hysteresis flaps: the test above can fail. */
  g_assert_cmpuint (walk_border (&no_hysteresis, 0.10), >, 100);
}

static void
assert_centre_of (const KmgMapPosition *pos, const KmgGeohashBox *cell)
{
  double lat, lon, clat, clon;

  g_assert_true (kmg_map_position_get_displayed (pos, &lat, &lon));
  kmg_geohash_box_centre (cell, &clat, &clon);
  g_assert_cmpfloat (lat, ==, clat);
  g_assert_cmpfloat (lon, ==, clon);
}

static void
test_cross_clearly (void)
{
  KmgGeohashBox s, n;
  g_autoptr (KmgMapPosition) pos = kmg_map_position_new ();
  double h, lon, unused_lat, unused_lon;

  cell_pair (&s, &n);
  h = n.north - n.south;
  lon = (n.west + n.east) / 2;
  g_assert_false (kmg_map_position_get_displayed (pos, &unused_lat, &unused_lon));

  kmg_map_position_update (pos, &rules, s.south + h / 2, lon, FALSE, 0);
  assert_centre_of (pos, &s);
  kmg_map_position_update (pos, &rules, n.south + 0.10 * h, lon, FALSE, 0); /* within the margin */
  assert_centre_of (pos, &s);
  kmg_map_position_update (pos, &rules, n.south + 0.20 * h, lon, FALSE, 0); /* clearly across */
  assert_centre_of (pos, &n);
  kmg_map_position_update (pos, &rules, n.south - 0.10 * h, lon, FALSE, 0); /* back, not far */
  assert_centre_of (pos, &n);
  kmg_map_position_update (pos, &rules, n.south - 0.20 * h, lon, FALSE, 0);
  assert_centre_of (pos, &s);
  /* A jump far away switches at once. */
  kmg_map_position_update (pos, &rules, -33.9, 151.2, FALSE, 0);
  {
    KmgGeohashBox far;

    g_assert_true (kmg_geohash_cell (-33.9, 151.2, 5, &far));
    assert_centre_of (pos, &far);
  }
}

static void
test_antimeridian_margin (void)
{
  g_autoptr (KmgMapPosition) pos = kmg_map_position_new ();
  KmgGeohashBox east_cell, cell;
  double w;

  g_assert_true (kmg_geohash_cell (10.0, 179.999, 5, &east_cell));
  g_assert_cmpfloat (east_cell.east, ==, 180.0);
  w = east_cell.east - east_cell.west;
  kmg_map_position_update (pos, &rules, 10.0, 179.999, FALSE, 0);
  /* Just across the antimeridian: still within the margin of the cell ending at 180. */
  kmg_map_position_update (pos, &rules, 10.0, -180.0 + 0.05 * w, FALSE, 0);
  assert_centre_of (pos, &east_cell);
  kmg_map_position_update (pos, &rules, 10.0, -180.0 + 0.5 * w, FALSE, 0);
  g_assert_true (kmg_map_position_get_cell (pos, &cell));
  g_assert_cmpfloat (cell.west, ==, -180.0);
}

static void
test_streaming_rounding (void)
{
  guint32 seed = map_test_seed ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr (KmgMapPosition) pos = kmg_map_position_new ();

  for (guint i = 0; i < 5000; i++)
    {
      double lat = g_rand_double_range (rand, -90.0, 90.0);
      double lon = g_rand_double_range (rand, -180.0, 180.0);
      double dlat, dlon;
      KmgGeohashBox cell;

      kmg_map_position_update (pos, &rules, lat, lon, TRUE, 0);
      g_assert_true (kmg_map_position_get_displayed (pos, &dlat, &dlon));
      SEED_ASSERT (seed, dlat == round (lat * 1e4) / 1e4 && dlon == round (lon * 1e4) / 1e4);
      SEED_ASSERT (seed, fabs (dlat - lat) <= 0.5e-4 + 1e-12 && fabs (dlon - lon) <= 0.5e-4 + 1e-12);
      /* Stopping the stream shows the tracked cell's centre, never the fix. */
      kmg_map_position_update (pos, &rules, lat, lon, FALSE, 0);
      g_assert_true (kmg_map_position_get_cell (pos, &cell));
      assert_centre_of (pos, &cell);
    }
}


static void
test_switch_waits_for_delay (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (1);
  const KmgMapPositionRules r = { 5, 4, 0.15, 0.0, 10000, 10000, rand };
  g_autoptr (KmgMapPosition) pos = kmg_map_position_new ();
  KmgGeohashBox s, n, far;
  double h, lon, lat, dlat, dlon;
  gint64 due;

  cell_pair (&s, &n);
  h = n.north - n.south;
  lon = (n.west + n.east) / 2;
  kmg_map_position_update (pos, &r, s.south + h / 2, lon, FALSE, 0);
  assert_centre_of (pos, &s);
  g_assert_false (kmg_map_position_get_due (pos, NULL));
  /* Past the margin: the switch is armed, and fixes meanwhile keep the old cell. */
  kmg_map_position_update (pos, &r, n.south + 0.20 * h, lon, FALSE, 1000);
  assert_centre_of (pos, &s);
  g_assert_true (kmg_map_position_get_due (pos, &due));
  g_assert_cmpint (due, ==, 11000);
  kmg_map_position_update (pos, &r, n.south + 0.30 * h, lon, FALSE, 6000);
  assert_centre_of (pos, &s);
  g_assert_false (kmg_map_position_apply_due (pos, &r, 10999));
  assert_centre_of (pos, &s);
  g_assert_true (kmg_map_position_apply_due (pos, &r, 11000));
  assert_centre_of (pos, &n);
  g_assert_false (kmg_map_position_get_due (pos, NULL));
  /* Out and back before the delay is over: no switch at all. */
  kmg_map_position_update (pos, &r, n.south - 0.20 * h, lon, FALSE, 20000);
  g_assert_true (kmg_map_position_get_due (pos, NULL));
  kmg_map_position_update (pos, &r, n.south + 0.05 * h, lon, FALSE, 25000);
  g_assert_false (kmg_map_position_get_due (pos, NULL));
  g_assert_false (kmg_map_position_apply_due (pos, &r, 40000));
  assert_centre_of (pos, &n);
  /* A due switch also happens at the next fix, to that fix's cell. */
  kmg_map_position_update (pos, &r, n.south - 0.20 * h, lon, FALSE, 50000);
  kmg_map_position_update (pos, &r, n.south - 0.25 * h, lon, FALSE, 60000);
  assert_centre_of (pos, &s);
  /* Streaming shows the rounded fix at once, whatever the cell does. */
  lat = s.north + 0.2 * h;
  kmg_map_position_update (pos, &r, lat, lon, TRUE, 70000);
  g_assert_true (kmg_map_position_get_displayed (pos, &dlat, &dlon));
  g_assert_cmpfloat (dlat, ==, round (lat * 1e4) / 1e4);
  g_assert_true (kmg_map_position_get_due (pos, NULL));
  g_assert_true (kmg_map_position_apply_due (pos, &r, 80000));
  g_assert_true (kmg_map_position_get_displayed (pos, &dlat, &dlon));
  g_assert_cmpfloat (dlat, ==, round (lat * 1e4) / 1e4);
  kmg_map_position_update (pos, &r, lat, lon, FALSE, 85000);
  assert_centre_of (pos, &n);
  /* A relocation (its cell does not touch the last fix's) is no crossing: at once. */
  kmg_map_position_update (pos, &r, -33.9, 151.2, FALSE, 90000);
  g_assert_true (kmg_geohash_cell (-33.9, 151.2, 5, &far));
  assert_centre_of (pos, &far);
  g_assert_false (kmg_map_position_get_due (pos, NULL));
}

/* With a spread, each cell entered gets its own margin from [hysteresis, hysteresis + spread). */
static void
test_margin_drawn_per_cell (void)
{
  guint32 seed = map_test_seed ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  const KmgMapPositionRules r = { 5, 4, 0.15, 0.6, 0, 0, rand };
  KmgGeohashBox s, n, cell;
  double h, lon, lo = 1, hi = 0;

  cell_pair (&s, &n);
  h = n.north - n.south;
  lon = (n.west + n.east) / 2;
  for (guint i = 0; i < 500; i++)
    {
      g_autoptr (KmgMapPosition) pos = kmg_map_position_new ();
      double y;

      kmg_map_position_update (pos, &r, s.south + h / 2, lon, FALSE, 0);
      for (y = 0.0; y < 1.0; y += 0.001)
        {
          kmg_map_position_update (pos, &r, n.south + y * h, lon, FALSE, 0);
          g_assert_true (kmg_map_position_get_cell (pos, &cell));
          if (cell.south == n.south)
            break;
        }
      SEED_ASSERT (seed, y >= 0.15 - 1e-9 && y < 0.75 + 0.001);
      lo = MIN (lo, y);
      hi = MAX (hi, y);
    }
  SEED_ASSERT (seed, lo < 0.17 && hi > 0.73);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/map/position/border-walk-no-flap", test_border_walk_no_flap);
  g_test_add_func ("/map/position/cross-clearly", test_cross_clearly);
  g_test_add_func ("/map/position/switch-waits-for-delay", test_switch_waits_for_delay);
  g_test_add_func ("/map/position/margin-drawn-per-cell", test_margin_drawn_per_cell);
  g_test_add_func ("/map/position/antimeridian-margin", test_antimeridian_margin);
  g_test_add_func ("/map/position/streaming-rounding", test_streaming_rounding);
  return g_test_run ();
}
