/* kmg-map-private.h — internals shared by the map's files: seller entries, the quadtree, projection.
 * Not installed for other modules; tests use the public headers only. */
#pragma once

#include "kmg-map.h"
#include "kmg-map-position-private.h"

/* Web Mercator world coordinates on 32 bits per axis; latitudes beyond this are clamped. */
#define KMG_MAP_MERCATOR_MAX_LAT 85.0511287798066
/* Deepest quadtree level (a cell of zoom 22); buckets there never split. */
#define KMG_MAP_TREE_MAX_LEVEL (KMG_MAP_MAX_ZOOM + 2)

typedef struct
{
  gint64 id;          /* hash table key points here */
  guint64 key;        /* Morton code of (x, y): the quadtree order */
  guint32 x, y;       /* world coordinates of the displayed position */
  KmgMapPosition pos; /* displayed position and hysteresis state */
  KmgMapProfile *profile;
  gint64 last_fix_ms;
  KmgMapStatus status;
  gboolean hidden;
  gboolean in_tree;
} KmgMapEntry;

guint32 kmg_map_project_x (double lon);
guint32 kmg_map_project_y (double lat);
double kmg_map_unproject_lon (double x);
double kmg_map_unproject_lat (double y);
guint64 kmg_map_morton (guint32 x, guint32 y);

/* Quadtree over displayed positions with per-node aggregates (count, streaming, coordinate sums),
 * so any world-grid cell's totals are read from one node. Leaves hold buckets sorted by (key, id). */
typedef struct _KmgMapNode KmgMapNode;

KmgMapNode *kmg_map_tree_new (void);
void kmg_map_tree_free (KmgMapNode *root);
/* @e's key, x, y and status must not change while it is in the tree. */
void kmg_map_tree_insert (KmgMapNode *root, KmgMapEntry *e);
void kmg_map_tree_remove (KmgMapNode *root, KmgMapEntry *e);

typedef struct
{
  const KmgMapViewport *vp;
  guint grid_zoom;   /* cells are quadtree nodes of level grid_zoom + 2 */
  guint min_cluster; /* G_MAXUINT: markers only */
  guint max_items;
} KmgMapTreeQuery;

/* Appends KmgMapItem to @out. FALSE when it stopped at max_items with more to come. */
gboolean kmg_map_tree_query (const KmgMapNode *root, const KmgMapTreeQuery *q, GArray *out);

void kmg_map_item_set_marker (KmgMapItem *item, const KmgMapEntry *e);
