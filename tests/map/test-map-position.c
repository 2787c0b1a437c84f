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

      kmg_map_position_update (pos, r, lat, lon, FALSE);
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

  kmg_map_position_update (pos, &rules, s.south + h / 2, lon, FALSE);
  assert_centre_of (pos, &s);
  kmg_map_position_update (pos, &rules, n.south + 0.10 * h, lon, FALSE); /* within the margin */
  assert_centre_of (pos, &s);
  kmg_map_position_update (pos, &rules, n.south + 0.20 * h, lon, FALSE); /* clearly across */
  assert_centre_of (pos, &n);
  kmg_map_position_update (pos, &rules, n.south - 0.10 * h, lon, FALSE); /* back, not far */
  assert_centre_of (pos, &n);
  kmg_map_position_update (pos, &rules, n.south - 0.20 * h, lon, FALSE);
  assert_centre_of (pos, &s);
  /* A jump far away switches at once. */
  kmg_map_position_update (pos, &rules, -33.9, 151.2, FALSE);
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
  kmg_map_position_update (pos, &rules, 10.0, 179.999, FALSE);
  /* Just across the antimeridian: still within the margin of the cell ending at 180. */
  kmg_map_position_update (pos, &rules, 10.0, -180.0 + 0.05 * w, FALSE);
  assert_centre_of (pos, &east_cell);
  kmg_map_position_update (pos, &rules, 10.0, -180.0 + 0.5 * w, FALSE);
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

      kmg_map_position_update (pos, &rules, lat, lon, TRUE);
      g_assert_true (kmg_map_position_get_displayed (pos, &dlat, &dlon));
      SEED_ASSERT (seed, dlat == round (lat * 1e4) / 1e4 && dlon == round (lon * 1e4) / 1e4);
      SEED_ASSERT (seed, fabs (dlat - lat) <= 0.5e-4 + 1e-12 && fabs (dlon - lon) <= 0.5e-4 + 1e-12);
      /* Stopping the stream shows the tracked cell's centre, never the fix. */
      kmg_map_position_update (pos, &rules, lat, lon, FALSE);
      g_assert_true (kmg_map_position_get_cell (pos, &cell));
      assert_centre_of (pos, &cell);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/map/position/border-walk-no-flap", test_border_walk_no_flap);
  g_test_add_func ("/map/position/cross-clearly", test_cross_clearly);
  g_test_add_func ("/map/position/antimeridian-margin", test_antimeridian_margin);
  g_test_add_func ("/map/position/streaming-rounding", test_streaming_rounding);
  return g_test_run ();
}
