/* kmg-map-diff.c — diffs between two viewport results, and per-subscriber baselines.
 * Item ids are stable ("u:<id>", "c:<zoom>:<x>:<y>"), so diffing is a join on id. */
#include "kmg-map-diff.h"

#include <string.h>

struct _KmgMapSubscription
{
  KmgMapViewport vp;
  guint max_items;
  KmgMapResult *last;
};

static gboolean
item_same (const KmgMapItem *a, const KmgMapItem *b)
{
  return a->kind == b->kind && a->lat == b->lat && a->lon == b->lon && a->count == b->count
         && a->streaming_count == b->streaming_count && a->status == b->status
         && kmg_map_profile_equal (a->profile, b->profile);
}

static GHashTable *
index_by_id (const KmgMapResult *r)
{
  GHashTable *h = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; r != NULL && i < r->n_items; i++)
    g_hash_table_insert (h, (gpointer) r->items[i].id, (gpointer) &r->items[i]);
  return h;
}

static void
append_copy (GArray *arr, const KmgMapItem *item)
{
  KmgMapItem copy;

  kmg_map_item_copy (&copy, item);
  g_array_append_vals (arr, &copy, 1);
}

static GArray *
item_array_new (void)
{
  GArray *arr = g_array_new (FALSE, FALSE, sizeof (KmgMapItem));

  g_array_set_clear_func (arr, (GDestroyNotify) kmg_map_item_clear);
  return arr;
}

KmgMapDiff *
kmg_map_diff_new (const KmgMapResult *old, const KmgMapResult *new_result)
{
  g_autoptr (GHashTable) old_ids = index_by_id (old);
  g_autoptr (GHashTable) new_ids = index_by_id (new_result);
  KmgMapDiff *diff = g_new0 (KmgMapDiff, 1);

  g_return_val_if_fail (new_result != NULL, diff);

  diff->added = item_array_new ();
  diff->updated = item_array_new ();
  diff->removed = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < new_result->n_items; i++)
    {
      const KmgMapItem *item = &new_result->items[i];
      const KmgMapItem *before = g_hash_table_lookup (old_ids, item->id);

      if (before == NULL)
        append_copy (diff->added, item);
      else if (!item_same (before, item))
        append_copy (diff->updated, item);
    }
  for (guint i = 0; old != NULL && i < old->n_items; i++)
    if (!g_hash_table_contains (new_ids, old->items[i].id))
      g_ptr_array_add (diff->removed, g_strdup (old->items[i].id));
  return diff;
}

gboolean
kmg_map_diff_is_empty (const KmgMapDiff *diff)
{
  g_return_val_if_fail (diff != NULL, TRUE);
  return diff->added->len == 0 && diff->updated->len == 0 && diff->removed->len == 0;
}

void
kmg_map_diff_free (KmgMapDiff *diff)
{
  if (diff == NULL)
    return;
  g_clear_pointer (&diff->added, g_array_unref);
  g_clear_pointer (&diff->updated, g_array_unref);
  g_clear_pointer (&diff->removed, g_ptr_array_unref);
  g_free (diff);
}

KmgMapSubscription *
kmg_map_subscription_new (const KmgMapViewport *vp, guint max_items)
{
  KmgMapSubscription *sub;

  g_return_val_if_fail (vp != NULL, NULL);

  sub = g_new0 (KmgMapSubscription, 1);
  sub->vp = *vp;
  sub->max_items = max_items;
  return sub;
}

void
kmg_map_subscription_free (KmgMapSubscription *sub)
{
  if (sub == NULL)
    return;
  kmg_map_result_free (sub->last);
  g_free (sub);
}

void
kmg_map_subscription_set_viewport (KmgMapSubscription *sub, const KmgMapViewport *vp)
{
  g_return_if_fail (sub != NULL && vp != NULL);
  sub->vp = *vp;
}

const KmgMapViewport *
kmg_map_subscription_get_viewport (const KmgMapSubscription *sub)
{
  g_return_val_if_fail (sub != NULL, NULL);
  return &sub->vp;
}

gboolean
kmg_map_subscription_affected_by (const KmgMapSubscription *sub, const KmgMapChange *change)
{
  g_return_val_if_fail (sub != NULL && change != NULL, FALSE);

  return (change->was_visible && kmg_map_viewport_contains (&sub->vp, change->old_lat, change->old_lon))
         || (change->is_visible && kmg_map_viewport_contains (&sub->vp, change->lat, change->lon));
}

KmgMapDiff *
kmg_map_subscription_refresh (KmgMapSubscription *sub, KmgMap *map)
{
  KmgMapResult *next;
  KmgMapDiff *diff;

  g_return_val_if_fail (sub != NULL && map != NULL, NULL);

  next = kmg_map_query (map, &sub->vp, sub->max_items);
  diff = kmg_map_diff_new (sub->last, next);
  kmg_map_result_free (sub->last);
  sub->last = next;
  return diff;
}

const KmgMapResult *
kmg_map_subscription_get_result (const KmgMapSubscription *sub)
{
  g_return_val_if_fail (sub != NULL, NULL);
  return sub->last;
}
