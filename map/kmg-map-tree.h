/* kmg-map-tree.h — layout of the quadtree nodes, shared by its update and query files.
 * Only kmg-map-tree.c and kmg-map-tree-query.c include this. */
#pragma once

#include "kmg-map-private.h"

/* A leaf splits past this many sellers; an inner node collapses back at half of it. */
#define KMG_MAP_TREE_BUCKET 32

struct _KmgMapNode
{
  KmgMapNode *child[4]; /* inner nodes: index (y bit << 1) | x bit, NULL when empty */
  KmgMapEntry **items;  /* leaves: sorted by (key, id) */
  guint n_items;
  guint cap_items;
  guint32 count; /* sellers in this subtree */
  guint32 streaming;
  guint64 sum_x; /* exact integer sums: aggregates do not depend on update order */
  guint64 sum_y;
  gboolean leaf;
};

static inline guint
kmg_map_tree_child_index (guint64 key, guint level)
{
  return (guint) (key >> (62 - 2 * level)) & 3;
}
