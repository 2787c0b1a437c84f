/* kmg-signaling-map.c — map subscriptions: snapshot on subscribe, coalesced diffs after changes.
 * Only subscribers whose bbox contains a changed displayed position are re-queried. Calls only the
 * connection layer below it. */

#include "kmg-signaling-map.h"

#include "kmg-json.h"

#include <string.h>

/* Past this many changed points per flush, testing every point against every bbox costs more than
 * re-querying everyone. */
#define MAX_PENDING_POINTS 1024

struct _KmgSigMapSub
{
  KmgBbox bbox;
  int zoom;
  GHashTable *items; /* last item set sent (shared, immutable), see kmg_map_items_new() */
  char *key;         /* bbox and zoom as text: subscribers with the same key share one query */
};

struct _KmgSigMap
{
  KmgSigConns *conns;
  const KmgSignalingConfig *cfg;
  const KmgSignalingCallbacks *cb;
  gpointer cb_data;
  GHashTable *subs;       /* set of KmgSigConn* with a map subscription */
  GArray *pending_points; /* KmgLatLon changed since the last flush */
  gboolean pending_all;
  guint flush_timer;
  gint64 first_change_us;
};

typedef void (*Handler) (KmgSigMap *map, KmgSigConn *conn, JsonNode *ref, JsonObject *msg);

/* One query result per distinct viewport within a flush, plus the diff text per previous item set:
 * subscribers that share a viewport and saw the same items share the work. */
typedef struct
{
  GHashTable *items; /* NULL when the query failed */
  GHashTable *diffs; /* old item set (ref held) -> diff text (GRefString), or "" when unchanged */
} QueryResult;

static void
query_result_free (QueryResult *r)
{
  g_clear_pointer (&r->items, g_hash_table_unref);
  g_hash_table_unref (r->diffs);
  g_free (r);
}

static void
sub_free (KmgSigMapSub *sub)
{
  if (sub == NULL)
    return;
  g_clear_pointer (&sub->items, g_hash_table_unref);
  g_free (sub->key);
  g_free (sub);
}

static GHashTable *
run_query (KmgSigMap *map, const KmgBbox *bbox, int zoom, GError **error)
{
  g_autoptr (JsonArray) items = NULL;

  if (map->cb->map_query == NULL)
    {
      g_set_error_literal (error, KMG_SIGNALING_ERROR, KMG_SIGNALING_ERROR_INTERNAL, "map is not available");
      return NULL;
    }
  items = map->cb->map_query (bbox, zoom, map->cb_data, error);
  if (items == NULL)
    return NULL;
  return kmg_map_items_from_array (items, error);
}

/* Subscribers with exactly the same viewport share a re-query per flush. Hex of the bits: exact,
 * and cheaper than formatting four doubles. */
static char *
viewport_key (const KmgBbox *bbox, int zoom)
{
  static const char hex[] = "0123456789abcdef";
  const double v[4] = { bbox->south, bbox->west, bbox->north, bbox->east };
  char *key = g_malloc (4 * 16 + 3 + 1), *p = key;
  guint64 bits;

  for (guint i = 0; i < G_N_ELEMENTS (v); i++)
    {
      memcpy (&bits, &v[i], sizeof bits);
      for (int shift = 60; shift >= 0; shift -= 4)
        *p++ = hex[(bits >> shift) & 0xf];
    }
  *p++ = ':';
  *p++ = hex[(zoom >> 4) & 0xf];
  *p++ = hex[zoom & 0xf];
  *p = '\0';
  return key;
}

static gboolean
parse_subscribe (JsonObject *msg, KmgBbox *bbox, int *zoom, GError **error)
{
  static const char *const fields[] = { "bbox", "zoom", NULL };
  static const char *const bbox_fields[] = { "south", "west", "north", "east", NULL };
  JsonObject *b = NULL;
  gint64 z = 0;

  /* Only types here: whether the box and the zoom make sense is the map's call (it reports it as a
   * GError), so HTTP and WebSocket refuse the same viewports. */
  if (!kmg_ws_check_fields (msg, fields, error) || !kmg_json_get_object (msg, "bbox", TRUE, &b, error) ||
      !kmg_json_get_int (msg, "zoom", TRUE, G_MININT, G_MAXINT, &z, error) ||
      !kmg_json_check_fields (b, bbox_fields, error) ||
      !kmg_json_get_double (b, "south", TRUE, -1e9, 1e9, &bbox->south, error) ||
      !kmg_json_get_double (b, "west", TRUE, -1e9, 1e9, &bbox->west, error) ||
      !kmg_json_get_double (b, "north", TRUE, -1e9, 1e9, &bbox->north, error) ||
      !kmg_json_get_double (b, "east", TRUE, -1e9, 1e9, &bbox->east, error))
    return FALSE;
  *zoom = (int) z;
  return TRUE;
}

static void
on_map_subscribe (KmgSigMap *map, KmgSigConn *conn, JsonNode *ref, JsonObject *msg)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) items = NULL;
  g_autofree char *head = NULL;
  GString *out;
  KmgBbox bbox;
  int zoom = 0;

  if (!parse_subscribe (msg, &bbox, &zoom, &error))
    {
      kmg_sig_reply_error (conn, ref, "bad_request", error->message, NULL);
      return;
    }
  if (map->cb->map_query == NULL)
    {
      kmg_sig_reply_error (conn, ref, "internal", "map is not available", NULL);
      return;
    }
  if ((items = run_query (map, &bbox, zoom, &error)) == NULL)
    {
      /* A viewport the map refuses is the client's mistake, whatever the error map knows of it. */
      kmg_sig_reply_error (conn, ref, kmg_sig_error_code (map->conns, error, "bad_request"), error->message, NULL);
      return;
    }
  if (conn->sub == NULL)
    {
      conn->sub = g_new0 (KmgSigMapSub, 1);
      g_hash_table_add (map->subs, conn);
    }
  conn->sub->bbox = bbox;
  conn->sub->zoom = zoom;
  g_free (conn->sub->key);
  conn->sub->key = viewport_key (&bbox, zoom);
  g_clear_pointer (&conn->sub->items, g_hash_table_unref);
  conn->sub->items = g_hash_table_ref (items);

  head = kmg_ws_envelope_build ("map.snapshot", ref, NULL);
  out = g_string_new_len (head, (gssize) strlen (head) - 1); /* drop the closing brace */
  g_string_append (out, ",\"items\":");
  kmg_map_items_append_array (items, out);
  g_string_append_c (out, '}');
  kmg_sig_conn_send_text (conn, "map.snapshot", g_string_free (out, FALSE));
}

void
kmg_sig_map_conn_gone (KmgSigMap *map, KmgSigConn *conn)
{
  if (conn->sub == NULL)
    return;
  g_hash_table_remove (map->subs, conn);
  g_clear_pointer (&conn->sub, sub_free);
}

static void
on_map_unsubscribe (KmgSigMap *map, KmgSigConn *conn, JsonNode *ref, JsonObject *msg)
{
  g_autoptr (GError) error = NULL;

  if (!kmg_ws_check_fields (msg, NULL, &error))
    {
      kmg_sig_reply_error (conn, ref, "bad_request", error->message, NULL);
      return;
    }
  kmg_sig_map_conn_gone (map, conn);
  kmg_sig_ack (conn, ref);
}

static gboolean
sub_affected (KmgSigMap *map, KmgSigMapSub *sub)
{
  if (map->pending_all)
    return TRUE;
  for (guint i = 0; i < map->pending_points->len; i++)
    {
      const KmgLatLon *p = &g_array_index (map->pending_points, KmgLatLon, i);
      if (kmg_bbox_contains (&sub->bbox, p->lat, p->lon))
        return TRUE;
    }
  return FALSE;
}

static QueryResult *
cached_query (KmgSigMap *map, GHashTable *cache, const KmgSigMapSub *sub)
{
  QueryResult *r = g_hash_table_lookup (cache, sub->key);

  if (r == NULL)
    {
      g_autoptr (GError) error = NULL;
      r = g_new0 (QueryResult, 1);
      r->items = run_query (map, &sub->bbox, sub->zoom, &error);
      if (r->items == NULL)
        g_debug ("map re-query failed: %s", error->message);
      r->diffs = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) g_hash_table_unref,
                                        (GDestroyNotify) g_ref_string_release);
      g_hash_table_insert (cache, sub->key, r);
    }
  return r;
}

/* A GRefString so that the workers share one copy of the text across a fan-out. */
static char *
cached_diff (QueryResult *r, GHashTable *old_items)
{
  char *text = g_hash_table_lookup (r->diffs, old_items);

  if (text == NULL)
    {
      g_autoptr (GString) out = g_string_new ("{\"type\":\"map.diff\",");
      if (kmg_map_items_diff (old_items, r->items, out))
        g_string_append_c (out, '}');
      else
        g_string_truncate (out, 0);
      text = g_ref_string_new_len (out->str, (gssize) out->len);
      g_hash_table_insert (r->diffs, g_hash_table_ref (old_items), text);
    }
  return text;
}

static gboolean
on_flush (gpointer user_data)
{
  KmgSigMap *map = user_data;
  /* Keys borrow the subscribers' keys: none is freed during the flush. */
  g_autoptr (GHashTable) cache = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                        (GDestroyNotify) query_result_free);
  GHashTableIter iter;
  KmgSigConn *conn;
  guint sent = 0;

  map->flush_timer = 0;
  g_hash_table_iter_init (&iter, map->subs);
  while (g_hash_table_iter_next (&iter, (gpointer *) &conn, NULL))
    {
      KmgSigMapSub *sub = conn->sub;
      QueryResult *r;
      char *diff;

      if (!sub_affected (map, sub))
        continue;
      r = cached_query (map, cache, sub);
      if (r->items == NULL)
        continue;
      diff = cached_diff (r, sub->items);
      if (diff[0] != '\0' && kmg_sig_conn_send_shared (conn, diff))
        sent++;
      g_hash_table_unref (sub->items);
      sub->items = g_hash_table_ref (r->items);
    }

  if (map->conns->metrics != NULL && sent > 0)
    kmg_metrics_add (map->conns->metrics, "kamegor_ws_messages_out_total", "type=\"map.diff\"", sent);
  if (map->conns->metrics != NULL && sent > 0)
    kmg_metrics_observe (map->conns->metrics, "kamegor_ws_fanout_seconds", NULL,
                         (double) (g_get_monotonic_time () - map->first_change_us) / 1e6);
  g_array_set_size (map->pending_points, 0);
  map->pending_all = FALSE;
  map->first_change_us = 0;
  return G_SOURCE_REMOVE;
}

void
kmg_sig_map_changed (KmgSigMap *map, const KmgLatLon *points, guint n_points)
{
  if (points == NULL || map->pending_points->len + n_points > MAX_PENDING_POINTS)
    {
      map->pending_all = TRUE;
      g_array_set_size (map->pending_points, 0);
    }
  else if (!map->pending_all)
    g_array_append_vals (map->pending_points, points, n_points);

  if (map->first_change_us == 0)
    map->first_change_us = g_get_monotonic_time ();
  if (map->flush_timer == 0 && g_hash_table_size (map->subs) > 0)
    map->flush_timer = map->cfg->flush_ms > 0 ? g_timeout_add (map->cfg->flush_ms, on_flush, map)
                                             : g_idle_add (on_flush, map);
  else if (g_hash_table_size (map->subs) == 0)
    {
      g_array_set_size (map->pending_points, 0);
      map->pending_all = FALSE;
      map->first_change_us = 0;
    }
}

static Handler
lookup_handler (const char *type)
{
  if (g_strcmp0 (type, "map.subscribe") == 0)
    return on_map_subscribe;
  if (g_strcmp0 (type, "map.unsubscribe") == 0)
    return on_map_unsubscribe;
  return NULL;
}

gboolean
kmg_sig_map_handles (const char *type)
{
  return lookup_handler (type) != NULL;
}

gboolean
kmg_sig_map_dispatch (KmgSigMap *map, KmgSigConn *conn, const char *type, JsonNode *ref, JsonObject *msg)
{
  Handler fn = lookup_handler (type);

  if (fn == NULL)
    return FALSE;
  fn (map, conn, ref, msg);
  return TRUE;
}

/* ---- the layer ---- */

KmgSigMap *
kmg_sig_map_new (KmgSigConns *conns, const KmgSignalingConfig *config, const KmgSignalingCallbacks *callbacks,
                 gpointer user_data)
{
  KmgSigMap *map = g_new0 (KmgSigMap, 1);

  map->conns = conns;
  map->cfg = config;
  map->cb = callbacks;
  map->cb_data = user_data;
  map->subs = g_hash_table_new (NULL, NULL);
  map->pending_points = g_array_new (FALSE, FALSE, sizeof (KmgLatLon));
  return map;
}

void
kmg_sig_map_free (KmgSigMap *map)
{
  GHashTableIter iter;
  KmgSigConn *conn;

  if (map == NULL)
    return;
  g_clear_handle_id (&map->flush_timer, g_source_remove);
  g_hash_table_iter_init (&iter, map->subs);
  while (g_hash_table_iter_next (&iter, (gpointer *) &conn, NULL))
    g_clear_pointer (&conn->sub, sub_free);
  g_hash_table_unref (map->subs);
  g_array_unref (map->pending_points);
  g_free (map);
}
