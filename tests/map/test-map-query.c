/* test-map-query.c — viewport queries: brute-force reference, rebuild equivalence, antimeridian,
 * poles, result cap, validation errors, hidden sellers and update throttling. */
#include "kmg-map-private.h" /* projection helpers for the brute-force reference */
#include "map-test-util.h"

#include <math.h>

typedef struct
{
  double lat, lon; /* last precise fix */
  KmgMapStatus status;
  gboolean hidden;
  gboolean present;
} Model;

static KmgMap *
map_new_with (guint precision, double hysteresis, gint64 min_update_ms)
{
  KmgMapConfig cfg;
  g_autoptr (GError) error = NULL;
  KmgMap *map;

  kmg_map_config_init (&cfg);
  cfg.online_precision = precision;
  cfg.hysteresis = hysteresis;
  /* A fixed margin and no delay: queries are checked against displayed positions that follow the
   * fixes at once (the random switch is test-map-privacy's subject). */
  cfg.hysteresis_spread = 0.0;
  cfg.switch_delay_min_ms = cfg.switch_delay_max_ms = 0;
  cfg.min_update_ms = min_update_ms;
  cfg.max_items = 100000;
  map = kmg_map_new (&cfg, &error);
  g_assert_no_error (error);
  return map;
}

static void
update (KmgMap *map, gint64 id, const Model *m, gint64 now)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *name = g_strdup_printf ("seller%" G_GINT64_FORMAT, id);
  KmgMapProfile *profile = kmg_map_profile_new (name, NULL, 4.5, 2);

  g_assert_true (kmg_map_update_seller (map, id, m->lat, m->lon, m->status, m->hidden, profile, now,
                                        NULL, &error));
  g_assert_no_error (error);
  kmg_map_profile_unref (profile);
}

/* Hotspots make buckets split deep and collapse again; precision 5 piles sellers on centres. */
static void
random_fix (GRand *rand, Model *m)
{
  static const double spots[][2] = { { 48.85, 2.35 }, { 35.68, 139.7 }, { -33.9, 151.2 },
                                     { 64.1, -21.9 }, { 0.0, 179.99 },  { 0.0, -179.99 } };
  guint s = (guint) g_rand_int_range (rand, 0, G_N_ELEMENTS (spots));
  double spread = g_rand_boolean (rand) ? 0.05 : 2.0;

  m->lat = CLAMP (spots[s][0] + g_rand_double_range (rand, -spread, spread), -90.0, 90.0);
  m->lon = spots[s][1] + g_rand_double_range (rand, -spread, spread);
  if (m->lon > 180.0)
    m->lon -= 360.0;
  if (m->lon < -180.0)
    m->lon += 360.0;
  m->status = g_rand_int_range (rand, 0, 4) == 0 ? KMG_MAP_STATUS_STREAMING : KMG_MAP_STATUS_ONLINE;
  m->hidden = g_rand_int_range (rand, 0, 10) == 0;
  m->present = TRUE;
}

static gint
str_cmp (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

/* Sorted "id count streaming lat lon" lines computed by brute force over every seller. */
static GPtrArray *
reference (KmgMap *map, guint n_ids, const KmgMapViewport *vp, guint grid_zoom, gboolean markers_only)
{
  g_autoptr (GHashTable) cells = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                        (GDestroyNotify) g_array_unref);
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
  guint shift = 32 - (grid_zoom + 2);
  GHashTableIter iter;
  gpointer k, v;

  for (guint id = 0; id < n_ids; id++)
    {
      KmgMapItem item;
      char *key;
      GArray *members;

      if (!kmg_map_lookup (map, id, &item))
        continue;
      if (kmg_map_viewport_contains (vp, item.lat, item.lon))
        {
          key = g_strdup_printf ("c:%u:%u:%u", grid_zoom, kmg_map_project_x (item.lon) >> shift,
                                 kmg_map_project_y (item.lat) >> shift);
          members = g_hash_table_lookup (cells, key);
          if (members == NULL)
            {
              members = g_array_new (FALSE, FALSE, sizeof (KmgMapItem));
              g_hash_table_insert (cells, g_strdup (key), members);
            }
          g_array_append_vals (members, &item, 1);
          g_free (key);
        }
      kmg_map_item_clear (&item);
    }
  g_hash_table_iter_init (&iter, cells);
  while (g_hash_table_iter_next (&iter, &k, &v))
    {
      GArray *m = v;
      guint64 sx = 0, sy = 0;
      guint streaming = 0;

      if (markers_only || m->len < 2)
        {
          for (guint i = 0; i < m->len; i++)
            {
              KmgMapItem *it = &g_array_index (m, KmgMapItem, i);

              g_ptr_array_add (lines, g_strdup_printf ("%s 1 %u %.17g %.17g", it->id,
                                                       it->streaming_count, it->lat, it->lon));
            }
          continue;
        }
      for (guint i = 0; i < m->len; i++)
        {
          KmgMapItem *it = &g_array_index (m, KmgMapItem, i);

          sx += kmg_map_project_x (it->lon);
          sy += kmg_map_project_y (it->lat);
          streaming += it->streaming_count;
        }
      g_ptr_array_add (lines,
                       g_strdup_printf ("%s %u %u %.17g %.17g", (char *) k, m->len, streaming,
                                        round (kmg_map_unproject_lat ((double) (sy / m->len) + 0.5) * 1e6) / 1e6,
                                        round (kmg_map_unproject_lon ((double) (sx / m->len) + 0.5) * 1e6) / 1e6));
    }
  g_ptr_array_sort (lines, str_cmp);
  return lines;
}

static GPtrArray *
result_lines (const KmgMapResult *r)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < r->n_items; i++)
    g_ptr_array_add (lines, g_strdup_printf ("%s %u %u %.17g %.17g", r->items[i].id,
                                             r->items[i].count, r->items[i].streaming_count,
                                             r->items[i].lat, r->items[i].lon));
  g_ptr_array_sort (lines, str_cmp);
  return lines;
}

static void
random_query_vp (GRand *rand, KmgMapViewport *vp)
{
  static const double centres[][2] = { { 48.85, 2.35 }, { 35.68, 139.7 }, { -33.9, 151.2 },
                                       { 64.1, -21.9 }, { 0.0, 180.0 },   { 0.0, -180.0 } };
  guint c = (guint) g_rand_int_range (rand, 0, G_N_ELEMENTS (centres));
  guint zoom = (guint) g_rand_int_range (rand, 0, KMG_MAP_MAX_ZOOM + 1);

  map_test_random_viewport (rand, centres[c][0] + g_rand_double_range (rand, -1, 1),
                            centres[c][1] + g_rand_double_range (rand, -1, 1), zoom, vp);
}

static void
test_matches_brute_force (void)
{
  guint32 seed = map_test_seed ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr (KmgMap) map = map_new_with (5, 0.15, 0);
  const guint n_ids = 3000;

  for (guint round_ = 0; round_ < 4; round_++)
    {
      for (guint i = 0; i < 4000; i++)
        {
          gint64 id = g_rand_int_range (rand, 0, n_ids);
          Model m;

          random_fix (rand, &m);
          if (g_rand_int_range (rand, 0, 8) == 0)
            kmg_map_remove_seller (map, id, NULL);
          else
            update (map, id, &m, round_ * 100000 + i);
        }
      for (guint q = 0; q < 150; q++)
        {
          KmgMapViewport vp;
          g_autoptr (KmgMapResult) r = NULL;
          g_autoptr (GPtrArray) want = NULL, got = NULL;

          random_query_vp (rand, &vp);
          r = kmg_map_query (map, &vp, 0);
          SEED_ASSERT (seed, !r->truncated && r->grid_zoom == vp.zoom);
          want = reference (map, n_ids, &vp, vp.zoom, vp.zoom > 16);
          got = result_lines (r);
          SEED_ASSERT (seed, want->len == got->len);
          for (guint i = 0; i < want->len; i++)
            SEED_ASSERT (seed, g_str_equal (want->pdata[i], got->pdata[i]));
        }
    }
}

/* Same final states, reached by a different history and insert order: same answers. */
static void
test_incremental_equals_rebuild (void)
{
  guint32 seed = map_test_seed ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  /* Without hysteresis the displayed position depends on the last fix only, so a rebuild from
   * final fixes must agree exactly. */
  g_autoptr (KmgMap) live = map_new_with (5, 0.0, 0);
  const guint n_ids = 4000;
  g_autofree Model *models = g_new0 (Model, n_ids);
  g_autofree guint *order = g_new (guint, n_ids);

  for (guint i = 0; i < 30000; i++)
    {
      guint id = (guint) g_rand_int_range (rand, 0, n_ids);

      if (g_rand_int_range (rand, 0, 5) == 0)
        {
          kmg_map_remove_seller (live, id, NULL);
          models[id].present = FALSE;
        }
      else
        {
          random_fix (rand, &models[id]);
          update (live, id, &models[id], i);
        }
    }

  for (guint i = 0; i < n_ids; i++)
    order[i] = i;
  for (guint i = n_ids - 1; i > 0; i--)
    {
      guint j = (guint) g_rand_int_range (rand, 0, (gint32) i + 1), t = order[i];

      order[i] = order[j];
      order[j] = t;
    }
  {
    g_autoptr (KmgMap) rebuilt = map_new_with (5, 0.0, 0);
    guint visible = 0;

    for (guint i = 0; i < n_ids; i++)
      if (models[order[i]].present)
        {
          update (rebuilt, order[i], &models[order[i]], 0);
          visible += !models[order[i]].hidden;
        }
    SEED_ASSERT (seed, kmg_map_get_n_visible (live) == visible);
    SEED_ASSERT (seed, kmg_map_get_n_visible (rebuilt) == visible);
    for (guint q = 0; q < 500; q++)
      {
        KmgMapViewport vp;
        guint max = (guint) g_rand_int_range (rand, 0, 300);
        g_autoptr (KmgMapResult) a = NULL;
        g_autoptr (KmgMapResult) b = NULL;
        g_autofree char *sa = NULL;
        g_autofree char *sb = NULL;

        random_query_vp (rand, &vp);
        a = kmg_map_query (live, &vp, max);
        b = kmg_map_query (rebuilt, &vp, max);
        sa = map_test_result_string (a);
        sb = map_test_result_string (b);
        SEED_ASSERT (seed, g_str_equal (sa, sb));
      }
    /* Emptying the live map leaves an empty tree. */
    for (guint i = 0; i < n_ids; i++)
      kmg_map_remove_seller (live, i, NULL);
    SEED_ASSERT (seed, kmg_map_get_n_visible (live) == 0);
  }
}

static KmgMapResult *
query (KmgMap *map, double s, double w, double n, double e, gint zoom, guint max)
{
  KmgMapViewport vp;
  g_autoptr (GError) error = NULL;

  g_assert_true (kmg_map_viewport_init (&vp, s, w, n, e, zoom, &error));
  g_assert_no_error (error);
  return kmg_map_query (map, &vp, max);
}

static gboolean
has_item (const KmgMapResult *r, const char *id)
{
  for (guint i = 0; i < r->n_items; i++)
    if (g_str_equal (r->items[i].id, id))
      return TRUE;
  return FALSE;
}

static void
test_antimeridian (void)
{
  g_autoptr (KmgMap) map = map_new_with (5, 0.15, 0);
  Model east = { 10.0, 179.95, KMG_MAP_STATUS_STREAMING, FALSE, TRUE };
  Model west = { 10.0, -179.95, KMG_MAP_STATUS_STREAMING, FALSE, TRUE };
  Model far = { 10.0, 0.0, KMG_MAP_STATUS_STREAMING, FALSE, TRUE };

  update (map, 1, &east, 0);
  update (map, 2, &west, 0);
  update (map, 3, &far, 0);
  {
    g_autoptr (KmgMapResult) r = query (map, 9.5, 179.5, 10.5, -179.5, 10, 0);

    g_assert_cmpuint (r->n_items, ==, 2);
    g_assert_true (has_item (r, "u:1") && has_item (r, "u:2"));
  }
  {
    /* Same sellers at zoom 0 cluster per side: a cell never spans the antimeridian. */
    g_autoptr (KmgMapResult) r = query (map, 0, 170, 20, -170, 0, 0);

    g_assert_cmpuint (r->n_items, ==, 2);
    g_assert_true (has_item (r, "u:1") && has_item (r, "u:2"));
  }
  {
    g_autoptr (KmgMapResult) r = query (map, -80, -179.9, 80, 179.9, 2, 0);

    g_assert_cmpuint (r->n_items, ==, 1);
    g_assert_true (has_item (r, "u:3"));
  }
}

static void
test_poles (void)
{
  g_autoptr (KmgMap) map = map_new_with (5, 0.15, 0);
  Model m = { 89.5, 20.0, KMG_MAP_STATUS_STREAMING, FALSE, TRUE };

  update (map, 1, &m, 0);
  m.lat = 87.0;
  update (map, 2, &m, 0);
  m.lat = -89.99;
  m.status = KMG_MAP_STATUS_ONLINE;
  update (map, 3, &m, 0);
  {
    g_autoptr (KmgMapResult) r = query (map, 80, 0, 90, 40, 4, 0);

    g_assert_cmpuint (r->n_items, ==, 1); /* both share the clamped top row: one cluster */
    g_assert_cmpuint (r->items[0].count, ==, 2);
    g_assert_cmpfloat (fabs (r->items[0].lat), <=, 85.06);
  }
  {
    /* Beyond the Mercator limit the exact latitude still decides. */
    g_autoptr (KmgMapResult) r = query (map, 88, 19, 90, 21, 8, 0);

    g_assert_cmpuint (r->n_items, ==, 1);
    g_assert_true (has_item (r, "u:1"));
  }
  {
    g_autoptr (KmgMapResult) r = query (map, 86, 19, 88, 21, 8, 0);

    g_assert_cmpuint (r->n_items, ==, 1);
    g_assert_true (has_item (r, "u:2"));
  }
  {
    g_autoptr (KmgMapResult) r = query (map, -90, -180, -60, 180, 3, 0);

    g_assert_cmpuint (r->n_items, ==, 1);
    g_assert_true (has_item (r, "u:3"));
  }
}

static void
test_cap_is_deterministic (void)
{
  guint32 seed = map_test_seed ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr (KmgMap) map = map_new_with (8, 0.15, 0);

  for (gint64 id = 0; id < 3000; id++)
    {
      Model m = { 48.85 + g_rand_double_range (rand, -0.01, 0.01),
                  2.35 + g_rand_double_range (rand, -0.01, 0.01), KMG_MAP_STATUS_STREAMING, FALSE,
                  TRUE };

      update (map, id, &m, 0);
    }
  {
    /* Zoom 18 is markers only; 3000 markers do not fit in 50, so clusters on coarser grids do. */
    g_autoptr (KmgMapResult) a = query (map, 48.84, 2.34, 48.86, 2.36, 16, 50);
    g_autoptr (KmgMapResult) b = query (map, 48.84, 2.34, 48.86, 2.36, 16, 50);
    g_autofree char *sa = map_test_result_string (a);
    g_autofree char *sb = map_test_result_string (b);
    guint total = 0;

    g_assert_cmpstr (sa, ==, sb);
    g_assert_false (a->truncated);
    g_assert_cmpuint (a->n_items, <=, 50);
    g_assert_cmpuint (a->grid_zoom, <, 16);
    for (guint i = 0; i < a->n_items; i++)
      total += a->items[i].count;
    g_assert_cmpuint (total, ==, 3000);
  }
  {
    g_autoptr (KmgMapResult) a = query (map, 48.8595, 2.3495, 48.8605, 2.3505, 19, 20);

    g_assert_cmpuint (a->n_items, <=, 20);
    g_assert_cmpuint (a->grid_zoom, ==, 19); /* fell back from markers to clusters at zoom 19 */
  }
  {
    g_autoptr (KmgMapResult) a = query (map, 48.0, 2.0, 49.0, 3.0, 9, 1);

    g_assert_cmpuint (a->n_items, ==, 1);
  }
}

static void
test_bad_input (void)
{
  KmgMapViewport vp = { 1, 2, 3, 4, 5 };
  g_autoptr (KmgMap) map = map_new_with (5, 0.15, 0);
  struct
  {
    double s, w, n, e;
    double zoom;
    KmgMapError code;
  } cases[] = {
    { NAN, 0, 1, 1, 5, KMG_MAP_ERROR_INVALID_COORDINATE },
    { 0, -INFINITY, 1, 1, 5, KMG_MAP_ERROR_INVALID_COORDINATE },
    { 0, 0, 91, 1, 5, KMG_MAP_ERROR_INVALID_COORDINATE },
    { 0, 0, 1, 180.5, 5, KMG_MAP_ERROR_INVALID_COORDINATE },
    { -90.5, 0, 1, 1, 5, KMG_MAP_ERROR_INVALID_COORDINATE },
    { 2, 0, 1, 1, 5, KMG_MAP_ERROR_INVALID_BBOX },
    { 0, 0, 1, 1, -1, KMG_MAP_ERROR_INVALID_ZOOM },
    { 0, 0, 1, 1, 23, KMG_MAP_ERROR_INVALID_ZOOM },
    { 0, 0, 1, 1, 12.5, KMG_MAP_ERROR_INVALID_ZOOM },
    { 0, 0, 1, 1, NAN, KMG_MAP_ERROR_INVALID_ZOOM },
    { 0, 0, 1, 1, INFINITY, KMG_MAP_ERROR_INVALID_ZOOM },
    { 2, 0, 91, 1, 23, KMG_MAP_ERROR_INVALID_ZOOM }, /* the zoom is judged first */
    { 0, 0, 10, 10, 12, KMG_MAP_ERROR_BBOX_TOO_LARGE },
    { 0, 170, 1, -170, 12, KMG_MAP_ERROR_BBOX_TOO_LARGE },
    { 0, 0, 80, 1, 8, KMG_MAP_ERROR_BBOX_TOO_LARGE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_false (kmg_map_viewport_init (&vp, cases[i].s, cases[i].w, cases[i].n, cases[i].e,
                                             cases[i].zoom, &error));
      g_assert_error (error, KMG_MAP_ERROR, (gint) cases[i].code);
      g_assert_cmpfloat (vp.south, ==, 1); /* untouched */
    }
  /* Anything goes at zoom 0..4. */
  g_assert_true (kmg_map_viewport_init (&vp, -90, -180, 90, 180, 4, NULL));
  g_assert_true (kmg_map_viewport_init (&vp, 0, 0, 0, 0, 22, NULL));

  {
    double bad[][2] = { { NAN, 0 }, { 0, NAN }, { 90.01, 0 }, { 0, -181 }, { INFINITY, 0 } };

    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autoptr (GError) error = NULL;

        g_assert_false (kmg_map_update_seller (map, 1, bad[i][0], bad[i][1], KMG_MAP_STATUS_ONLINE,
                                               FALSE, NULL, 0, NULL, &error));
        g_assert_error (error, KMG_MAP_ERROR, KMG_MAP_ERROR_INVALID_COORDINATE);
      }
  }
  {
    g_autoptr (GError) error = NULL;

    g_assert_false (kmg_map_update_seller (map, 1, 0, 0, (KmgMapStatus) 0, FALSE, NULL, 0, NULL,
                                           &error));
    g_assert_error (error, KMG_MAP_ERROR, KMG_MAP_ERROR_INVALID_STATUS);
  }
  g_assert_cmpuint (kmg_map_get_n_visible (map), ==, 0);
  {
    KmgMapConfig cfg;
    g_autoptr (GError) error = NULL;

    kmg_map_config_init (&cfg);
    cfg.online_precision = 13;
    g_assert_null (kmg_map_new (&cfg, &error));
    g_assert_error (error, KMG_MAP_ERROR, KMG_MAP_ERROR_INVALID_CONFIG);
  }
}

static void
test_hidden_and_throttle (void)
{
  g_autoptr (KmgMap) map = map_new_with (5, 0.15, 5000);
  KmgMapChange ch;
  KmgMapItem item;
  KmgGeohashBox cell;
  double clat, clon;

  g_assert_true (kmg_map_update_seller (map, 7, 48.85, 2.35, KMG_MAP_STATUS_ONLINE, TRUE, NULL,
                                        1000, &ch, NULL));
  g_assert_false (ch.was_visible || ch.is_visible);
  g_assert_false (kmg_map_lookup (map, 7, &item));
  {
    g_autoptr (KmgMapResult) r = query (map, 48, 2, 49, 3, 8, 0);

    g_assert_cmpuint (r->n_items, ==, 0);
  }
  g_assert_true (kmg_map_update_seller (map, 7, 48.85, 2.35, KMG_MAP_STATUS_ONLINE, FALSE, NULL,
                                        2000, &ch, NULL));
  g_assert_true (ch.is_visible && ch.throttled);
  g_assert_true (kmg_geohash_cell (48.85, 2.35, 5, &cell));
  kmg_geohash_box_centre (&cell, &clat, &clon);
  g_assert_cmpfloat (ch.lat, ==, clat);
  /* A far move 4 s later is ignored; 5 s later it counts. */
  g_assert_true (kmg_map_update_seller (map, 7, 40.0, 3.0, KMG_MAP_STATUS_ONLINE, FALSE, NULL, 5000,
                                        &ch, NULL));
  g_assert_true (ch.throttled);
  g_assert_cmpfloat (ch.lat, ==, clat);
  g_assert_true (kmg_map_update_seller (map, 7, 40.0, 3.0, KMG_MAP_STATUS_ONLINE, FALSE, NULL, 6000,
                                        &ch, NULL));
  g_assert_false (ch.throttled);
  g_assert_cmpfloat (fabs (ch.lat - 40.0), <, 0.03);
  /* Going live applies at once, with its fix. */
  g_assert_true (kmg_map_update_seller (map, 7, 41.123456, 3.0, KMG_MAP_STATUS_STREAMING, FALSE,
                                        NULL, 6001, &ch, NULL));
  g_assert_false (ch.throttled);
  g_assert_cmpfloat (ch.lat, ==, 41.1235);
  g_assert_cmpuint (kmg_map_get_n_streaming (map), ==, 1);
  g_assert_true (kmg_map_lookup (map, 7, &item));
  g_assert_cmpstr (item.id, ==, "u:7");
  g_assert_cmpfloat (item.lat, ==, 41.1235);
  kmg_map_item_clear (&item);
  g_assert_true (kmg_map_remove_seller (map, 7, &ch));
  g_assert_true (ch.was_visible && !ch.is_visible);
  g_assert_false (kmg_map_remove_seller (map, 7, &ch));
  g_assert_cmpuint (kmg_map_get_n_visible (map), ==, 0);
  g_assert_cmpuint (kmg_map_get_n_streaming (map), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/map/query/matches-brute-force", test_matches_brute_force);
  g_test_add_func ("/map/query/incremental-equals-rebuild", test_incremental_equals_rebuild);
  g_test_add_func ("/map/query/antimeridian", test_antimeridian);
  g_test_add_func ("/map/query/poles", test_poles);
  g_test_add_func ("/map/query/cap-is-deterministic", test_cap_is_deterministic);
  g_test_add_func ("/map/query/bad-input", test_bad_input);
  g_test_add_func ("/map/query/hidden-and-throttle", test_hidden_and_throttle);
  return g_test_run ();
}
