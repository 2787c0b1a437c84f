/* test-map-diff.c — subscriber diffs: add/update/remove between successive viewport results, as
 * the hub computes them (items in signaling's wire form, kmg_map_items_diff). Also checks that the
 * hub's "affected" test (kmg_bbox_contains on a change's positions) agrees with what the diff says. */
#include "kmg-json.h"
#include "kmg-ws-proto.h"
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

static KmgBbox
bbox_of (const KmgMapViewport *vp)
{
  return (KmgBbox) { vp->south, vp->west, vp->north, vp->east };
}

/* What the server hands the hub for a change: its old and new displayed positions. */
static gboolean
affected (const KmgMapViewport *vp, const KmgMapChange *ch)
{
  KmgBbox bbox = bbox_of (vp);

  return (ch->was_visible && kmg_bbox_contains (&bbox, ch->old_lat, ch->old_lon))
         || (ch->is_visible && kmg_bbox_contains (&bbox, ch->lat, ch->lon));
}

/* The item set a subscriber is sent: the map's answer, serialised as the server does. */
static GHashTable *
items_now (KmgMap *map, const KmgMapViewport *vp, guint max_items)
{
  g_autoptr (KmgMapResult) res = kmg_map_query (map, vp, max_items);
  g_autoptr (JsonArray) arr = kmg_ws_map_result_to_array (res);
  g_autoptr (GError) error = NULL;
  GHashTable *set = kmg_map_items_from_array (arr, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (set), ==, res->n_items);
  return set;
}

/* The diff as the map.diff body, NULL when the two sets are equal (nothing would be sent). */
static JsonObject *
diff (GHashTable *old_items, GHashTable *new_items)
{
  g_autoptr (GString) out = g_string_new ("{");
  g_autoptr (GError) error = NULL;
  JsonObject *obj;

  if (!kmg_map_items_diff (old_items, new_items, out))
    {
      g_assert_cmpstr (out->str, ==, "{");
      return NULL;
    }
  g_string_append_c (out, '}');
  obj = kmg_json_parse_object (out->str, out->len, &error);
  g_assert_no_error (error);
  return obj;
}

static guint
n_of (JsonObject *d, const char *list)
{
  return json_array_get_length (json_object_get_array_member (d, list));
}

static JsonObject *
item_of (JsonObject *d, const char *list, guint i)
{
  return json_array_get_object_element (json_object_get_array_member (d, list), i);
}

static gboolean
has_id (JsonObject *d, const char *list, const char *id)
{
  for (guint i = 0; i < n_of (d, list); i++)
    if (g_str_equal (json_object_get_string_member (item_of (d, list, i), "id"), id))
      return TRUE;
  return FALSE;
}

static JsonObject *
parse_item (const char *text)
{
  g_autoptr (GError) error = NULL;
  JsonObject *obj = kmg_json_parse_object (text, strlen (text), &error);

  g_assert_no_error (error);
  return obj;
}

/* Sellers shown by an item set: markers count one, clusters their members. */
static gint64
sellers_in (GHashTable *set)
{
  GHashTableIter iter;
  const char *text;
  gint64 total = 0;

  g_hash_table_iter_init (&iter, set);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &text))
    {
      g_autoptr (JsonObject) it = parse_item (text);

      total += json_object_has_member (it, "count") ? json_object_get_int_member (it, "count") : 1;
    }
  return total;
}

static void
test_subscription_diffs (void)
{
  g_autoptr (KmgMap) map = new_map ();
  g_autoptr (GHashTable) shown = kmg_map_items_new (); /* nothing shown before the first one */
  KmgMapViewport vp;
  KmgMapChange ch;
  KmgMapProfile *alice = kmg_map_profile_new ("alice", "https://example.invalid/a.jpg", 4.5, 3);
  KmgMapProfile *alice2 = kmg_map_profile_new ("alice", "https://example.invalid/a2.jpg", 4.5, 3);

  g_assert_true (kmg_map_viewport_init (&vp, 48.80, 2.30, 48.90, 2.40, 14, NULL));

  move (map, 1, 48.85, 2.35, KMG_MAP_STATUS_STREAMING, alice, &ch);
  g_assert_true (affected (&vp, &ch));
  move (map, 2, 10.0, 10.0, KMG_MAP_STATUS_ONLINE, NULL, &ch);
  g_assert_false (affected (&vp, &ch));
  {
    g_autoptr (GHashTable) next = items_now (map, &vp, 0);
    g_autoptr (JsonObject) d = diff (shown, next);

    g_assert_nonnull (d);
    g_assert_cmpuint (n_of (d, "add"), ==, 1);
    g_assert_cmpstr (json_object_get_string_member (item_of (d, "add", 0), "id"), ==, "u:1");
    g_assert_cmpstr (json_object_get_string_member (item_of (d, "add", 0), "username"), ==, "alice");
    g_assert_cmpuint (n_of (d, "update") + n_of (d, "remove"), ==, 0);
    g_hash_table_unref (shown);
    shown = g_steal_pointer (&next);
  }
  {
    g_autoptr (GHashTable) next = items_now (map, &vp, 0);

    g_assert_null (diff (shown, next));
  }
  /* Move inside the viewport: update. */
  move (map, 1, 48.86, 2.36, KMG_MAP_STATUS_STREAMING, NULL, &ch);
  g_assert_true (affected (&vp, &ch));
  {
    g_autoptr (GHashTable) next = items_now (map, &vp, 0);
    g_autoptr (JsonObject) d = diff (shown, next);

    g_assert_nonnull (d);
    g_assert_cmpuint (n_of (d, "update"), ==, 1);
    g_assert_cmpfloat (json_object_get_double_member (item_of (d, "update", 0), "lat"), ==, 48.86);
    g_assert_cmpuint (n_of (d, "add") + n_of (d, "remove"), ==, 0);
    g_hash_table_unref (shown);
    shown = g_steal_pointer (&next);
  }
  /* Profile change: update. */
  move (map, 1, 48.86, 2.36, KMG_MAP_STATUS_STREAMING, alice2, &ch);
  {
    g_autoptr (GHashTable) next = items_now (map, &vp, 0);
    g_autoptr (JsonObject) d = diff (shown, next);

    g_assert_nonnull (d);
    g_assert_true (has_id (d, "update", "u:1"));
    g_hash_table_unref (shown);
    shown = g_steal_pointer (&next);
  }
  /* Second seller next to the first: they become a cluster (two removed... one added). */
  move (map, 3, 48.8601, 2.3601, KMG_MAP_STATUS_ONLINE, NULL, &ch);
  g_assert_true (affected (&vp, &ch));
  {
    g_autoptr (GHashTable) next = items_now (map, &vp, 0);
    g_autoptr (JsonObject) d = diff (shown, next);

    g_assert_nonnull (d);
    g_assert_cmpint (sellers_in (next), ==, 2);
    g_assert_cmpuint (n_of (d, "add"), >=, 1);
    g_hash_table_unref (shown);
    shown = g_steal_pointer (&next);
  }
  /* Leaves the viewport: removed; the change is relevant because the old position was inside. */
  move (map, 3, 30.0, 30.0, KMG_MAP_STATUS_ONLINE, NULL, &ch);
  g_assert_true (affected (&vp, &ch));
  g_assert_true (kmg_map_remove_seller (map, 1, &ch));
  g_assert_true (affected (&vp, &ch));
  {
    g_autoptr (GHashTable) next = items_now (map, &vp, 0);
    g_autoptr (JsonObject) d = diff (shown, next);

    g_assert_nonnull (d);
    g_assert_cmpuint (n_of (d, "add"), ==, 0);
    g_assert_cmpuint (n_of (d, "remove"), >=, 1);
    g_assert_cmpuint (g_hash_table_size (next), ==, 0);
  }
  kmg_map_profile_unref (alice);
  kmg_map_profile_unref (alice2);
}

/* Items compared as parsed JSON, written back in one canonical form. */
static char *
canonical (JsonObject *item)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), item);

  return kmg_json_to_string (node);
}

/* Applying each diff to the previous item set always yields the new result; and when no change
 * touched the viewport (the hub then re-queries nobody), there is nothing to send. */
static void
test_diff_replays (void)
{
  guint32 seed = map_test_seed ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr (KmgMap) map = new_map ();
  g_autoptr (GHashTable) shown = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GHashTable) last = kmg_map_items_new ();
  KmgMapViewport vp;

  g_assert_true (kmg_map_viewport_init (&vp, 48.0, 2.0, 49.0, 3.0, 9, NULL));
  for (guint step = 0; step < 300; step++)
    {
      g_autoptr (GHashTable) now = NULL;
      g_autoptr (JsonObject) d = NULL;
      gboolean touched = FALSE;
      GHashTableIter iter;
      const char *id, *text;

      for (guint k = 0; k < 20; k++)
        {
          gint64 sid = g_rand_int_range (rand, 0, 200);
          KmgMapChange ch = { 0 };

          if (g_rand_int_range (rand, 0, 6) == 0)
            kmg_map_remove_seller (map, sid, &ch);
          else
            move (map, sid, g_rand_double_range (rand, 47.8, 49.2), g_rand_double_range (rand, 1.8, 3.2),
                  g_rand_boolean (rand) ? KMG_MAP_STATUS_ONLINE : KMG_MAP_STATUS_STREAMING, NULL, &ch);
          touched |= affected (&vp, &ch);
        }
      if (step % 50 == 0)
        {
          g_assert_true (kmg_map_viewport_init (&vp, 48.0, 2.0, 49.0, 3.0 - step / 1000.0,
                                                g_rand_int_range (rand, 8, 12), NULL));
          touched = TRUE;
        }
      now = items_now (map, &vp, 50);
      d = diff (last, now);
      SEED_ASSERT (seed, touched || d == NULL);
      if (d != NULL)
        {
          JsonArray *removed = json_object_get_array_member (d, "remove");

          for (guint i = 0; i < json_array_get_length (removed); i++)
            SEED_ASSERT (seed, g_hash_table_remove (shown, json_array_get_string_element (removed, i)));
          for (guint i = 0; i < n_of (d, "add"); i++)
            {
              JsonObject *it = item_of (d, "add", i);

              SEED_ASSERT (seed, !g_hash_table_contains (shown, json_object_get_string_member (it, "id")));
              g_hash_table_insert (shown, g_strdup (json_object_get_string_member (it, "id")), canonical (it));
            }
          for (guint i = 0; i < n_of (d, "update"); i++)
            {
              JsonObject *it = item_of (d, "update", i);

              SEED_ASSERT (seed, g_hash_table_contains (shown, json_object_get_string_member (it, "id")));
              g_hash_table_insert (shown, g_strdup (json_object_get_string_member (it, "id")), canonical (it));
            }
        }
      SEED_ASSERT (seed, g_hash_table_size (shown) == g_hash_table_size (now));
      g_hash_table_iter_init (&iter, now);
      while (g_hash_table_iter_next (&iter, (gpointer *) &id, (gpointer *) &text))
        {
          g_autoptr (JsonObject) it = parse_item (text);
          g_autofree char *want = canonical (it);

          SEED_ASSERT (seed, g_strcmp0 (g_hash_table_lookup (shown, id), want) == 0);
        }
      g_hash_table_unref (last);
      last = g_steal_pointer (&now);
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
