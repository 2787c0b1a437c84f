/* kmg-map.c — the seller index: entries by user id, their displayed positions, queries.
 * Applies the privacy rules on the way in so nothing downstream ever sees a precise position. */
#include "kmg-map-private.h"

#include <math.h>

/* Coarser grids tried before cutting a result at the cap. */
#define MAX_COARSEN 4

G_DEFINE_QUARK (kmg-map-error-quark, kmg_map_error)

struct _KmgMap
{
  KmgMapConfig cfg;
  KmgMapPositionRules rules; /* owns rules.rand */
  GHashTable *sellers; /* &entry->id -> KmgMapEntry, owned */
  KmgMapNode *root;
  guint n_visible;
  guint n_streaming;
};

void
kmg_map_config_init (KmgMapConfig *cfg)
{
  g_return_if_fail (cfg != NULL);

  *cfg = (KmgMapConfig){
    .online_precision = 5,
    .streaming_decimals = 4,
    .hysteresis = 0.15,
    .hysteresis_spread = 0.6,
    .switch_delay_min_ms = 5000,
    .switch_delay_max_ms = 60000,
    .max_cluster_zoom = 16,
    .min_cluster_size = 2,
    .max_items = 500,
    .min_update_ms = 5000,
  };
}

static gboolean
config_fail (GError **error, const char *what)
{
  g_set_error (error, KMG_MAP_ERROR, KMG_MAP_ERROR_INVALID_CONFIG, "map config: %s", what);
  return FALSE;
}

gboolean
kmg_map_config_validate (const KmgMapConfig *cfg, GError **error)
{
  g_return_val_if_fail (cfg != NULL, FALSE);

  if (cfg->online_precision < 1 || cfg->online_precision > KMG_GEOHASH_MAX_PRECISION)
    return config_fail (error, "online_precision must be 1..12");
  if (cfg->streaming_decimals > 8)
    return config_fail (error, "streaming_decimals must be 0..8");
  if (!(cfg->hysteresis >= 0.0 && cfg->hysteresis <= 0.5))
    return config_fail (error, "hysteresis must be 0..0.5");
  if (!(cfg->hysteresis_spread >= 0.0 && cfg->hysteresis + cfg->hysteresis_spread <= 1.0))
    return config_fail (error, "hysteresis_spread must be >= 0 with hysteresis + spread <= 1");
  if (cfg->switch_delay_min_ms < 0 || cfg->switch_delay_min_ms > cfg->switch_delay_max_ms
      || cfg->switch_delay_max_ms > 3600000)
    return config_fail (error, "switch delays must satisfy 0 <= min <= max <= 3600000 ms");
  if (cfg->max_cluster_zoom > KMG_MAP_MAX_ZOOM)
    return config_fail (error, "max_cluster_zoom must be 0..22");
  if (cfg->min_cluster_size < 1 || cfg->min_cluster_size > 1000)
    return config_fail (error, "min_cluster_size must be 1..1000");
  if (cfg->max_items < 1 || cfg->max_items > 100000)
    return config_fail (error, "max_items must be 1..100000");
  if (cfg->min_update_ms < 0)
    return config_fail (error, "min_update_ms must be >= 0");
  return TRUE;
}

static void
entry_free (gpointer data)
{
  KmgMapEntry *e = data;

  g_clear_pointer (&e->profile, kmg_map_profile_unref);
  g_free (e);
}

KmgMap *
kmg_map_new (const KmgMapConfig *cfg, GError **error)
{
  KmgMap *map;

  g_return_val_if_fail (cfg != NULL, NULL);

  if (!kmg_map_config_validate (cfg, error))
    return NULL;
  map = g_new0 (KmgMap, 1);
  map->cfg = *cfg;
  map->rules = (KmgMapPositionRules){ cfg->online_precision, cfg->streaming_decimals,
                                      cfg->hysteresis,       cfg->hysteresis_spread,
                                      cfg->switch_delay_min_ms, cfg->switch_delay_max_ms,
                                      g_rand_new () };
  map->sellers = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, entry_free);
  map->root = kmg_map_tree_new ();
  return map;
}

void
kmg_map_free (KmgMap *map)
{
  if (map == NULL)
    return;
  g_hash_table_unref (map->sellers);
  kmg_map_tree_free (map->root);
  g_rand_free (map->rules.rand);
  g_free (map);
}

void
kmg_map_set_rand (KmgMap *map, GRand *rand)
{
  g_return_if_fail (map != NULL && rand != NULL);

  g_rand_free (map->rules.rand);
  map->rules.rand = rand;
}

static void
tree_take_out (KmgMap *map, KmgMapEntry *e)
{
  if (!e->in_tree)
    return;
  kmg_map_tree_remove (map->root, e);
  e->in_tree = FALSE;
  map->n_visible--;
  map->n_streaming -= e->status == KMG_MAP_STATUS_STREAMING;
}

static void
tree_put_in (KmgMap *map, KmgMapEntry *e)
{
  e->x = kmg_map_project_x (e->pos.lon);
  e->y = kmg_map_project_y (e->pos.lat);
  e->key = kmg_map_morton (e->x, e->y);
  kmg_map_tree_insert (map->root, e);
  e->in_tree = TRUE;
  map->n_visible++;
  map->n_streaming += e->status == KMG_MAP_STATUS_STREAMING;
}

static void
change_before (KmgMapChange *change, const KmgMapEntry *e)
{
  *change = (KmgMapChange){ .was_visible = e->in_tree };
  if (e->in_tree)
    {
      change->old_lat = e->pos.lat;
      change->old_lon = e->pos.lon;
      change->old_status = e->status;
    }
}

static void
change_after (KmgMapChange *change, const KmgMapEntry *e)
{
  change->is_visible = e->in_tree;
  if (e->in_tree)
    {
      change->lat = e->pos.lat;
      change->lon = e->pos.lon;
      change->status = e->status;
    }
  change->switch_pending = kmg_map_position_get_due (&e->pos, &change->switch_due_ms);
}

static gboolean
check_fix (double lat, double lon, KmgMapStatus status, GError **error)
{
  if (!isfinite (lat) || !isfinite (lon) || lat < -90.0 || lat > 90.0 || lon < -180.0
      || lon > 180.0)
    {
      g_set_error_literal (error, KMG_MAP_ERROR, KMG_MAP_ERROR_INVALID_COORDINATE,
                           "location must be a finite lat in [-90, 90] and lon in [-180, 180]");
      return FALSE;
    }
  if (status != KMG_MAP_STATUS_ONLINE && status != KMG_MAP_STATUS_STREAMING)
    {
      g_set_error (error, KMG_MAP_ERROR, KMG_MAP_ERROR_INVALID_STATUS,
                   "status %d is neither online nor streaming", (int) status);
      return FALSE;
    }
  return TRUE;
}

static KmgMapEntry *
entry_get (KmgMap *map, gint64 id, gboolean *is_new)
{
  KmgMapEntry *e = g_hash_table_lookup (map->sellers, &id);

  *is_new = e == NULL;
  if (e == NULL)
    {
      e = g_new0 (KmgMapEntry, 1);
      e->id = id;
      kmg_map_position_init (&e->pos);
      g_hash_table_insert (map->sellers, &e->id, e);
    }
  return e;
}

gboolean
kmg_map_update_seller (KmgMap *map,
                       gint64 id,
                       double lat,
                       double lon,
                       KmgMapStatus status,
                       gboolean hidden,
                       KmgMapProfile *profile,
                       gint64 now_ms,
                       KmgMapChange *change,
                       GError **error)
{
  KmgMapChange local;
  KmgMapEntry *e;
  KmgMapPosition next;
  gboolean is_new, accept;

  g_return_val_if_fail (map != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_fix (lat, lon, status, error))
    return FALSE;
  if (change == NULL)
    change = &local;

  e = entry_get (map, id, &is_new);
  change_before (change, e);
  /* A status change always takes its fix: going live must show at once, and where. */
  accept = is_new || status != e->status || now_ms - e->last_fix_ms >= map->cfg.min_update_ms
           || now_ms < e->last_fix_ms;
  next = e->pos;
  if (accept)
    {
      kmg_map_position_update (&next, &map->rules, lat, lon, status == KMG_MAP_STATUS_STREAMING,
                               now_ms);
      e->last_fix_ms = now_ms;
    }
  change->throttled = !accept;

  if (hidden || status != e->status || next.lat != e->pos.lat || next.lon != e->pos.lon)
    tree_take_out (map, e);
  e->pos = next;
  e->status = status;
  e->hidden = hidden;
  if (!hidden && !e->in_tree)
    tree_put_in (map, e);
  if (profile != NULL && profile != e->profile)
    {
      g_clear_pointer (&e->profile, kmg_map_profile_unref);
      e->profile = kmg_map_profile_ref (profile);
    }
  change_after (change, e);
  return TRUE;
}

gboolean
kmg_map_apply_due (KmgMap *map, gint64 id, gint64 now_ms, KmgMapChange *change)
{
  KmgMapChange local;
  KmgMapEntry *e;
  KmgMapPosition next;

  g_return_val_if_fail (map != NULL, FALSE);

  if (change == NULL)
    change = &local;
  e = g_hash_table_lookup (map->sellers, &id);
  if (e == NULL)
    {
      *change = (KmgMapChange){ 0 };
      return FALSE;
    }
  change_before (change, e);
  next = e->pos;
  if (kmg_map_position_apply_due (&next, &map->rules, now_ms)
      && (next.lat != e->pos.lat || next.lon != e->pos.lon))
    tree_take_out (map, e);
  e->pos = next;
  if (!e->hidden && !e->in_tree)
    tree_put_in (map, e);
  change_after (change, e);
  return TRUE;
}

gboolean
kmg_map_remove_seller (KmgMap *map, gint64 id, KmgMapChange *change)
{
  KmgMapEntry *e;

  g_return_val_if_fail (map != NULL, FALSE);

  e = g_hash_table_lookup (map->sellers, &id);
  if (change != NULL)
    *change = (KmgMapChange){ 0 };
  if (e == NULL)
    return FALSE;
  if (change != NULL)
    change_before (change, e);
  tree_take_out (map, e);
  g_hash_table_remove (map->sellers, &id);
  return TRUE;
}

gboolean
kmg_map_lookup (KmgMap *map, gint64 id, KmgMapItem *out)
{
  KmgMapEntry *e;

  g_return_val_if_fail (map != NULL && out != NULL, FALSE);

  e = g_hash_table_lookup (map->sellers, &id);
  if (e == NULL || !e->in_tree)
    return FALSE;
  kmg_map_item_set_marker (out, e);
  return TRUE;
}

guint
kmg_map_get_n_visible (KmgMap *map)
{
  g_return_val_if_fail (map != NULL, 0);
  return map->n_visible;
}

guint
kmg_map_get_n_streaming (KmgMap *map)
{
  g_return_val_if_fail (map != NULL, 0);
  return map->n_streaming;
}

KmgMapResult *
kmg_map_query (KmgMap *map, const KmgMapViewport *vp, guint max_items)
{
  g_autoptr (GArray) items = g_array_new (FALSE, FALSE, sizeof (KmgMapItem));
  KmgMapResult *result = g_new0 (KmgMapResult, 1);
  KmgMapTreeQuery q;
  gboolean markers_only;

  g_return_val_if_fail (map != NULL && vp != NULL, result);

  g_array_set_clear_func (items, (GDestroyNotify) kmg_map_item_clear);
  markers_only = vp->zoom > map->cfg.max_cluster_zoom;
  q = (KmgMapTreeQuery){ vp, vp->zoom, 0, max_items > 0 ? max_items : map->cfg.max_items };
  for (guint attempt = 0;; attempt++)
    {
      q.min_cluster = markers_only ? G_MAXUINT : map->cfg.min_cluster_size;
      if (kmg_map_tree_query (map->root, &q, items))
        break;
      if (attempt == MAX_COARSEN || (!markers_only && q.grid_zoom == 0))
        {
          result->truncated = TRUE;
          break;
        }
      g_array_set_size (items, 0);
      if (markers_only)
        markers_only = FALSE;
      else
        q.grid_zoom--;
    }
  g_array_set_clear_func (items, NULL);
  result->grid_zoom = q.grid_zoom;
  result->n_items = items->len;
  result->items = (KmgMapItem *) (void *) g_array_free (g_steal_pointer (&items), FALSE);
  return result;
}

void
kmg_map_result_free (KmgMapResult *result)
{
  if (result == NULL)
    return;
  for (guint i = 0; i < result->n_items; i++)
    kmg_map_item_clear (&result->items[i]);
  g_free (result->items);
  g_free (result);
}
