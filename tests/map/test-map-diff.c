/* test-map-diff.c — subscriber diffs: add/update/remove between successive viewport results.
 * Also checks that the "affected" test agrees with what the refresh reports. */
#include "kmg-map-diff.h"
#include "map-test-util.h"

static KmgMap *
new_map (void)
{
  KmgMapConfig cfg;

  kmg_map_config_init (&cfg);
  cfg.min_update_ms = 0;
  return kmg_map_new (&cfg, NULL);
}

static void
move (KmgMap *map, gint64 id, double lat, double lon, KmgMapStatus st, KmgMapProfile *p,
      KmgMapChange *ch)
{
  g_assert_true (kmg_map_update_seller (map, id, lat, lon, st, FALSE, p, 0, ch, NULL));
}

static gboolean
diff_has (GArray *items, const char *id)
{
  for (guint i = 0; i < items->len; i++)
    if (g_str_equal (g_array_index (items, KmgMapItem, i).id, id))
      return TRUE;
  return FALSE;
}

static void
test_subscription_diffs (void)
{
  g_autoptr (KmgMap) map = new_map ();
  g_autoptr (KmgMapSubscription) sub = NULL;
  KmgMapViewport vp;
  KmgMapChange ch;
  KmgMapProfile *alice = kmg_map_profile_new ("alice", "https://example.invalid/a.jpg", 4.5, 3);
  KmgMapProfile *alice2 = kmg_map_profile_new ("alice", "https://example.invalid/a2.jpg", 4.5, 3);

  g_assert_true (kmg_map_viewport_init (&vp, 48.80, 2.30, 48.90, 2.40, 14, NULL));
  sub = kmg_map_subscription_new (&vp, 0);
  g_assert_null (kmg_map_subscription_get_result (sub));

  move (map, 1, 48.85, 2.35, KMG_MAP_STATUS_STREAMING, alice, &ch);
  g_assert_true (kmg_map_subscription_affected_by (sub, &ch));
  move (map, 2, 10.0, 10.0, KMG_MAP_STATUS_ONLINE, NULL, &ch);
  g_assert_false (kmg_map_subscription_affected_by (sub, &ch));
  {
    g_autoptr (KmgMapDiff) d = kmg_map_subscription_refresh (sub, map);

    g_assert_cmpuint (d->added->len, ==, 1);
    g_assert_cmpstr (g_array_index (d->added, KmgMapItem, 0).id, ==, "u:1");
    g_assert_cmpstr (g_array_index (d->added, KmgMapItem, 0).profile->username, ==, "alice");
    g_assert_cmpuint (d->updated->len + d->removed->len, ==, 0);
  }
  {
    g_autoptr (KmgMapDiff) d = kmg_map_subscription_refresh (sub, map);

    g_assert_true (kmg_map_diff_is_empty (d));
  }
  /* Move inside the viewport: update. */
  move (map, 1, 48.86, 2.36, KMG_MAP_STATUS_STREAMING, NULL, &ch);
  g_assert_true (kmg_map_subscription_affected_by (sub, &ch));
  {
    g_autoptr (KmgMapDiff) d = kmg_map_subscription_refresh (sub, map);

    g_assert_cmpuint (d->updated->len, ==, 1);
    g_assert_cmpfloat (g_array_index (d->updated, KmgMapItem, 0).lat, ==, 48.86);
    g_assert_cmpuint (d->added->len + d->removed->len, ==, 0);
  }
  /* Profile change: update. */
  move (map, 1, 48.86, 2.36, KMG_MAP_STATUS_STREAMING, alice2, &ch);
  {
    g_autoptr (KmgMapDiff) d = kmg_map_subscription_refresh (sub, map);

    g_assert_true (diff_has (d->updated, "u:1"));
  }
  /* Second seller next to the first: they become a cluster (two removed... one added). */
  move (map, 3, 48.8601, 2.3601, KMG_MAP_STATUS_ONLINE, NULL, &ch);
  g_assert_true (kmg_map_subscription_affected_by (sub, &ch));
  {
    g_autoptr (KmgMapDiff) d = kmg_map_subscription_refresh (sub, map);
    const KmgMapResult *now = kmg_map_subscription_get_result (sub);
    guint total = 0;

    for (guint i = 0; i < now->n_items; i++)
      total += now->items[i].count;
    g_assert_cmpuint (total, ==, 2);
    g_assert_cmpuint (d->added->len, >=, 1);
  }
  /* Leaves the viewport: removed; the change is relevant because the old position was inside. */
  move (map, 3, 30.0, 30.0, KMG_MAP_STATUS_ONLINE, NULL, &ch);
  g_assert_true (kmg_map_subscription_affected_by (sub, &ch));
  g_assert_true (kmg_map_remove_seller (map, 1, &ch));
  g_assert_true (kmg_map_subscription_affected_by (sub, &ch));
  {
    g_autoptr (KmgMapDiff) d = kmg_map_subscription_refresh (sub, map);

    g_assert_cmpuint (d->added->len, ==, 0);
    g_assert_cmpuint (d->removed->len, >=, 1);
    g_assert_cmpuint (kmg_map_subscription_get_result (sub)->n_items, ==, 0);
  }
  kmg_map_profile_unref (alice);
  kmg_map_profile_unref (alice2);
}

/* Applying each diff to the previous item set always yields the new result. */
static void
test_diff_replays (void)
{
  guint32 seed = map_test_seed ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr (KmgMap) map = new_map ();
  g_autoptr (GHashTable) shown = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  KmgMapViewport vp;
  g_autoptr (KmgMapSubscription) sub = NULL;

  g_assert_true (kmg_map_viewport_init (&vp, 48.0, 2.0, 49.0, 3.0, 9, NULL));
  sub = kmg_map_subscription_new (&vp, 50);
  for (guint step = 0; step < 300; step++)
    {
      g_autoptr (KmgMapDiff) d = NULL;
      const KmgMapResult *now;

      for (guint k = 0; k < 20; k++)
        {
          gint64 id = g_rand_int_range (rand, 0, 200);

          if (g_rand_int_range (rand, 0, 6) == 0)
            kmg_map_remove_seller (map, id, NULL);
          else
            move (map, id, g_rand_double_range (rand, 47.8, 49.2), g_rand_double_range (rand, 1.8, 3.2),
                  g_rand_boolean (rand) ? KMG_MAP_STATUS_ONLINE : KMG_MAP_STATUS_STREAMING, NULL, NULL);
        }
      if (step % 50 == 0)
        {
          g_assert_true (kmg_map_viewport_init (&vp, 48.0, 2.0, 49.0, 3.0 - step / 1000.0,
                                                g_rand_int_range (rand, 8, 12), NULL));
          kmg_map_subscription_set_viewport (sub, &vp);
        }
      d = kmg_map_subscription_refresh (sub, map);
      for (guint i = 0; i < d->removed->len; i++)
        SEED_ASSERT (seed, g_hash_table_remove (shown, d->removed->pdata[i]));
      for (guint i = 0; i < d->added->len; i++)
        {
          KmgMapItem *it = &g_array_index (d->added, KmgMapItem, i);

          SEED_ASSERT (seed, !g_hash_table_contains (shown, it->id));
          g_hash_table_insert (shown, g_strdup (it->id), g_strdup_printf ("%.17g %.17g %u", it->lat, it->lon, it->count));
        }
      for (guint i = 0; i < d->updated->len; i++)
        {
          KmgMapItem *it = &g_array_index (d->updated, KmgMapItem, i);

          SEED_ASSERT (seed, g_hash_table_contains (shown, it->id));
          g_hash_table_insert (shown, g_strdup (it->id), g_strdup_printf ("%.17g %.17g %u", it->lat, it->lon, it->count));
        }
      now = kmg_map_subscription_get_result (sub);
      SEED_ASSERT (seed, g_hash_table_size (shown) == now->n_items);
      for (guint i = 0; i < now->n_items; i++)
        {
          g_autofree char *want = g_strdup_printf ("%.17g %.17g %u", now->items[i].lat, now->items[i].lon,
                                                   now->items[i].count);

          SEED_ASSERT (seed, g_strcmp0 (g_hash_table_lookup (shown, now->items[i].id), want) == 0);
        }
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/map/diff/subscription-diffs", test_subscription_diffs);
  g_test_add_func ("/map/diff/replays-to-new-result", test_diff_replays);
  return g_test_run ();
}
