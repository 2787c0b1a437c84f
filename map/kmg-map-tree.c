/* kmg-map-tree.c — incremental quadtree updates: insert, remove, split and collapse of buckets.
 * Each change touches one root-to-leaf path, so it costs O(depth + bucket), never a rebuild. */
#include "kmg-map-tree.h"

#include <string.h>

static KmgMapNode *
leaf_new (void)
{
  KmgMapNode *n = g_new0 (KmgMapNode, 1);

  n->leaf = TRUE;
  return n;
}

KmgMapNode *
kmg_map_tree_new (void)
{
  return leaf_new ();
}

void
kmg_map_tree_free (KmgMapNode *root)
{
  if (root == NULL)
    return;
  for (guint i = 0; i < 4; i++)
    kmg_map_tree_free (root->child[i]);
  g_free (root->items);
  g_free (root);
}

static void
agg_add (KmgMapNode *n, const KmgMapEntry *e)
{
  n->count++;
  n->streaming += e->status == KMG_MAP_STATUS_STREAMING;
  n->sum_x += e->x;
  n->sum_y += e->y;
}

static void
agg_sub (KmgMapNode *n, const KmgMapEntry *e)
{
  n->count--;
  n->streaming -= e->status == KMG_MAP_STATUS_STREAMING;
  n->sum_x -= e->x;
  n->sum_y -= e->y;
}

static int
entry_cmp (const KmgMapEntry *a, const KmgMapEntry *b)
{
  if (a->key != b->key)
    return a->key < b->key ? -1 : 1;
  if (a->id != b->id)
    return a->id < b->id ? -1 : 1;
  return 0;
}

/* First index whose entry is not before @e. */
static guint
bucket_search (const KmgMapNode *n, const KmgMapEntry *e)
{
  guint lo = 0, hi = n->n_items;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (entry_cmp (n->items[mid], e) < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

static void
bucket_append (KmgMapNode *n, KmgMapEntry *e)
{
  if (n->n_items == n->cap_items)
    {
      n->cap_items = MAX (8, n->cap_items * 2);
      n->items = g_renew (KmgMapEntry *, n->items, n->cap_items);
    }
  n->items[n->n_items++] = e;
}

static void
bucket_insert (KmgMapNode *n, KmgMapEntry *e)
{
  guint at = bucket_search (n, e);

  bucket_append (n, e);
  memmove (&n->items[at + 1], &n->items[at], (n->n_items - 1 - at) * sizeof (KmgMapEntry *));
  n->items[at] = e;
}

static void
bucket_remove (KmgMapNode *n, const KmgMapEntry *e)
{
  guint at = bucket_search (n, e);

  g_return_if_fail (at < n->n_items && n->items[at] == e);
  memmove (&n->items[at], &n->items[at + 1], (n->n_items - at - 1) * sizeof (KmgMapEntry *));
  n->n_items--;
}

/* Children receive contiguous runs of the sorted bucket: the child index is the next Morton digit. */
static void
split (KmgMapNode *n, guint level)
{
  for (guint i = 0; i < n->n_items; i++)
    {
      KmgMapEntry *e = n->items[i];
      guint c = kmg_map_tree_child_index (e->key, level);

      if (n->child[c] == NULL)
        n->child[c] = leaf_new ();
      agg_add (n->child[c], e);
      bucket_append (n->child[c], e);
    }
  g_clear_pointer (&n->items, g_free);
  n->n_items = n->cap_items = 0;
  n->leaf = FALSE;
  for (guint c = 0; c < 4; c++)
    if (n->child[c] != NULL && n->child[c]->n_items > KMG_MAP_TREE_BUCKET
        && level + 1 < KMG_MAP_TREE_MAX_LEVEL)
      split (n->child[c], level + 1);
}

void
kmg_map_tree_insert (KmgMapNode *root, KmgMapEntry *e)
{
  KmgMapNode *n = root;
  guint level = 0;

  while (!n->leaf)
    {
      guint c = kmg_map_tree_child_index (e->key, level);

      agg_add (n, e);
      if (n->child[c] == NULL)
        n->child[c] = leaf_new ();
      n = n->child[c];
      level++;
    }
  agg_add (n, e);
  bucket_insert (n, e);
  if (n->n_items > KMG_MAP_TREE_BUCKET && level < KMG_MAP_TREE_MAX_LEVEL)
    split (n, level);
}

/* Moves every entry of @n's subtree, in order, into @into. */
static void
gather (KmgMapNode *n, KmgMapNode *into)
{
  if (n->leaf)
    {
      for (guint i = 0; i < n->n_items; i++)
        bucket_append (into, n->items[i]);
      return;
    }
  for (guint c = 0; c < 4; c++)
    if (n->child[c] != NULL)
      gather (n->child[c], into);
}

static void
collapse (KmgMapNode *n)
{
  KmgMapNode tmp = { 0 };

  gather (n, &tmp);
  for (guint c = 0; c < 4; c++)
    g_clear_pointer (&n->child[c], kmg_map_tree_free);
  n->items = tmp.items;
  n->n_items = tmp.n_items;
  n->cap_items = tmp.cap_items;
  n->leaf = TRUE;
}

static void
remove_at (KmgMapNode *n, guint level, const KmgMapEntry *e)
{
  guint c;

  agg_sub (n, e);
  if (n->leaf)
    {
      bucket_remove (n, e);
      return;
    }
  c = kmg_map_tree_child_index (e->key, level);
  g_return_if_fail (n->child[c] != NULL);
  remove_at (n->child[c], level + 1, e);
  if (n->child[c]->count == 0)
    g_clear_pointer (&n->child[c], kmg_map_tree_free);
  if (n->count <= KMG_MAP_TREE_BUCKET / 2)
    collapse (n);
}

void
kmg_map_tree_remove (KmgMapNode *root, KmgMapEntry *e)
{
  remove_at (root, 0, e);
}
