/* test-map-geohash.c — geohash encode/decode against published vectors and round trips.
 * Pure functions: no map state. */
#include "kmg-geohash.h"
#include "map-test-util.h"

#include <math.h>
#include <string.h>

static void
test_encode_known_points (void)
{
  struct
  {
    double lat, lon;
    guint precision;
    const char *hash;
  } cases[] = {
    { 57.64911, 10.40744, 11, "u4pruydqqvj" },
    { 42.6, -5.6, 5, "ezs42" },
    { 0.0, 0.0, 1, "s" },
    { -90.0, -180.0, 12, "000000000000" },
    { 90.0, 180.0, 12, "zzzzzzzzzzzz" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      char out[KMG_GEOHASH_MAX_PRECISION + 1];

      g_assert_true (kmg_geohash_encode (cases[i].lat, cases[i].lon, cases[i].precision, out));
      g_assert_cmpstr (out, ==, cases[i].hash);
    }
}

static void
test_decode_known_cells (void)
{
  KmgGeohashBox box;
  double lat, lon;

  g_assert_true (kmg_geohash_decode ("ezs42", &box));
  g_assert_cmpfloat_with_epsilon (box.south, 42.5830078125, 1e-12);
  g_assert_cmpfloat_with_epsilon (box.north, 42.626953125, 1e-12);
  g_assert_cmpfloat_with_epsilon (box.west, -5.625, 1e-12);
  g_assert_cmpfloat_with_epsilon (box.east, -5.5810546875, 1e-12);
  kmg_geohash_box_centre (&box, &lat, &lon);
  g_assert_cmpfloat_with_epsilon (lat, 42.60498046875, 1e-12);
  g_assert_cmpfloat_with_epsilon (lon, -5.60302734375, 1e-12);

  g_assert_true (kmg_geohash_decode ("u4pruydqqvj", &box));
  g_assert_true (57.64911 >= box.south && 57.64911 <= box.north);
  g_assert_true (10.40744 >= box.west && 10.40744 <= box.east);
}

static void
test_round_trip (void)
{
  guint32 seed = map_test_seed ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);

  for (guint i = 0; i < 20000; i++)
    {
      double lat = g_rand_double_range (rand, -90.0, 90.0);
      double lon = g_rand_double_range (rand, -180.0, 180.0);
      guint p = (guint) g_rand_int_range (rand, 1, KMG_GEOHASH_MAX_PRECISION + 1);
      char hash[KMG_GEOHASH_MAX_PRECISION + 1], again[KMG_GEOHASH_MAX_PRECISION + 1];
      KmgGeohashBox box, cell;
      double clat, clon, h, w;

      SEED_ASSERT (seed, kmg_geohash_encode (lat, lon, p, hash));
      SEED_ASSERT (seed, strlen (hash) == p);
      SEED_ASSERT (seed, kmg_geohash_decode (hash, &box));
      SEED_ASSERT (seed, kmg_geohash_cell (lat, lon, p, &cell));
      SEED_ASSERT (seed, memcmp (&box, &cell, sizeof box) == 0);
      SEED_ASSERT (seed, lat >= box.south && lat <= box.north && lon >= box.west && lon <= box.east);
      kmg_geohash_cell_size (p, &h, &w);
      SEED_ASSERT (seed, box.north - box.south == h && box.east - box.west == w);
      /* The centre encodes back to the same cell. */
      kmg_geohash_box_centre (&box, &clat, &clon);
      SEED_ASSERT (seed, kmg_geohash_encode (clat, clon, p, again));
      SEED_ASSERT (seed, g_str_equal (hash, again));
    }
}

static void
test_bad_input (void)
{
  char out[KMG_GEOHASH_MAX_PRECISION + 1];
  KmgGeohashBox box;

  g_assert_false (kmg_geohash_encode (NAN, 0.0, 5, out));
  g_assert_false (kmg_geohash_encode (0.0, INFINITY, 5, out));
  g_assert_false (kmg_geohash_encode (90.1, 0.0, 5, out));
  g_assert_false (kmg_geohash_encode (0.0, -180.5, 5, out));
  g_assert_false (kmg_geohash_encode (0.0, 0.0, 0, out));
  g_assert_false (kmg_geohash_encode (0.0, 0.0, 13, out));
  g_assert_false (kmg_geohash_decode ("", &box));
  g_assert_false (kmg_geohash_decode ("abc", &box)); /* 'a' is not in the alphabet */
  g_assert_false (kmg_geohash_decode ("EZS42", &box));
  g_assert_false (kmg_geohash_decode ("0123456789bcd", &box));
  g_assert_false (kmg_geohash_decode (NULL, &box));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/map/geohash/encode-known-points", test_encode_known_points);
  g_test_add_func ("/map/geohash/decode-known-cells", test_decode_known_cells);
  g_test_add_func ("/map/geohash/round-trip", test_round_trip);
  g_test_add_func ("/map/geohash/bad-input", test_bad_input);
  return g_test_run ();
}
