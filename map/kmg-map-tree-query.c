/* kmg-map-tree-query.c — viewport query over the quadtree: grid cells to clusters or markers.
 * Whole cells come from node aggregates; only nodes crossing the bbox edge look at sellers. */
#include "kmg-map-tree.h"

#include <math.h>

/* Projection rounding can move a point by a unit or so: prune or accept whole nodes only with
 * this much room, and let the exact test in kmg_map_viewport_contains() decide the rest. */
#define MARGIN 2

typedef enum
{
  DISJOINT,
  PARTIAL,
  INSIDE,
} Overlap;

typedef struct
{
  guint64 lo, hi;     /* inclusive world coordinates */
  guint64 m_lo, m_hi; /* margin before a node counts as inside: 0 on a world edge */
} Span;

typedef struct
{
  const KmgMapTreeQuery *q;
  Span x[2];
  guint n_x;
  Span y;
  guint level; /* quadtree level of the grid cells */
  GArray *out;
  gboolean full;
} Ctx;

typedef struct
{
  guint count, streaming;
  guint64 sum_x, sum_y;
} Agg;

static Span
span_new (guint64 lo, guint64 hi, gboolean open_lo, gboolean open_hi)
{
  return (Span){ lo, hi, open_lo ? 0 : MARGIN, open_hi ? 0 : MARGIN };
}

static void
ctx_init (Ctx *c, const KmgMapTreeQuery *q, GArray *out)
{
  const KmgMapViewport *vp = q->vp;
  guint64 w = kmg_map_project_x (vp->west), e = kmg_map_project_x (vp->east);

  *c = (Ctx){ .q = q, .level = q->grid_zoom + 2, .out = out };
  /* Mercator y grows southwards; a bound at a pole or at +-180 excludes nothing. */
  c->y = span_new (kmg_map_project_y (vp->north), kmg_map_project_y (vp->south), vp->north >= 90.0,
                   vp->south <= -90.0);
  if (vp->west <= vp->east)
    c->x[c->n_x++] = span_new (w, e, vp->west <= -180.0, vp->east >= 180.0);
  else
    {
      c->x[c->n_x++] = span_new (w, G_MAXUINT32, FALSE, TRUE);
      c->x[c->n_x++] = span_new (0, e, TRUE, FALSE);
    }
}

static gboolean
span_disjoint (const Span *s, guint64 a0, guint64 a1)
{
  return a1 + MARGIN < s->lo || a0 > s->hi + MARGIN;
}

static gboolean
span_covers (const Span *s, guint64 a0, guint64 a1)
{
  return a0 >= s->lo + s->m_lo && a1 + s->m_hi <= s->hi;
}

static Overlap
overlap (const Ctx *c, guint level, guint64 x0, guint64 y0)
{
  guint64 x1 = x0 + (G_GUINT64_CONSTANT (1) << (32 - level)) - 1;
  guint64 y1 = y0 + (G_GUINT64_CONSTANT (1) << (32 - level)) - 1;
  Overlap best = DISJOINT;

  if (span_disjoint (&c->y, y0, y1))
    return DISJOINT;
  for (guint i = 0; i < c->n_x; i++)
    {
      if (span_disjoint (&c->x[i], x0, x1))
        continue;
      if (span_covers (&c->y, y0, y1) && span_covers (&c->x[i], x0, x1))
        return INSIDE;
      best = PARTIAL;
    }
  return best;
}

static gboolean
entry_visible (const Ctx *c, const KmgMapEntry *e)
{
  return kmg_map_viewport_contains (c->q->vp, e->pos.lat, e->pos.lon);
}

static void
agg_entry (Agg *a, const KmgMapEntry *e)
{
  a->count++;
  a->streaming += e->status == KMG_MAP_STATUS_STREAMING;
  a->sum_x += e->x;
  a->sum_y += e->y;
}

static void
agg_node (Agg *a, const KmgMapNode *n)
{
  a->count += n->count;
  a->streaming += n->streaming;
  a->sum_x += n->sum_x;
  a->sum_y += n->sum_y;
}

static gboolean
push (Ctx *c, const KmgMapItem *item)
{
  if (c->out->len >= c->q->max_items)
    {
      c->full = TRUE;
      return FALSE;
    }
  g_array_append_vals (c->out, item, 1);
  return TRUE;
}

static void
push_marker (Ctx *c, const KmgMapEntry *e)
{
  KmgMapItem item;

  kmg_map_item_set_marker (&item, e);
  if (!push (c, &item))
    kmg_map_item_clear (&item);
}

static double
round6 (double v)
{
  return round (v * 1e6) / 1e6;
}

static void
push_cluster (Ctx *c, const Agg *a, guint32 cx, guint32 cy)
{
  KmgMapItem item = { .kind = KMG_MAP_ITEM_CLUSTER };
  /* Integer mean, then the pixel centre: exact and independent of member order. */
  double mx = (double) (a->sum_x / a->count) + 0.5;
  double my = (double) (a->sum_y / a->count) + 0.5;

  g_snprintf (item.id, sizeof item.id, "c:%u:%u:%u", c->q->grid_zoom, cx, cy);
  item.lat = round6 (kmg_map_unproject_lat (my));
  item.lon = round6 (kmg_map_unproject_lon (mx));
  item.count = a->count;
  item.streaming_count = a->streaming;
  push (c, &item);
}

/* Sums the sellers of @n's subtree that lie in the bbox. */
static void
agg_filtered (const Ctx *c, const KmgMapNode *n, guint level, guint64 x0, guint64 y0, Agg *a)
{
  Overlap o = overlap (c, level, x0, y0);
  guint64 half = G_GUINT64_CONSTANT (1) << (31 - level);

  if (o == DISJOINT)
    return;
  if (o == INSIDE)
    {
      agg_node (a, n);
      return;
    }
  if (n->leaf)
    {
      for (guint i = 0; i < n->n_items; i++)
        if (entry_visible (c, n->items[i]))
          agg_entry (a, n->items[i]);
      return;
    }
  for (guint i = 0; i < 4; i++)
    if (n->child[i] != NULL)
      agg_filtered (c, n->child[i], level + 1, x0 + (i & 1) * half, y0 + (i >> 1) * half, a);
}

/* Pushes the markers of @n's subtree in order, testing each seller unless @inside. */
static void
push_members (Ctx *c, const KmgMapNode *n, gboolean inside)
{
  if (n->leaf)
    {
      for (guint i = 0; i < n->n_items && !c->full; i++)
        if (inside || entry_visible (c, n->items[i]))
          push_marker (c, n->items[i]);
      return;
    }
  for (guint i = 0; i < 4 && !c->full; i++)
    if (n->child[i] != NULL)
      push_members (c, n->child[i], inside);
}

/* @n is exactly one grid cell. */
static void
emit_cell (Ctx *c, const KmgMapNode *n, guint64 x0, guint64 y0, gboolean inside)
{
  Agg a = { 0 };

  if (inside)
    agg_node (&a, n);
  else
    agg_filtered (c, n, c->level, x0, y0, &a);
  if (a.count == 0)
    return;
  if (a.count >= c->q->min_cluster)
    push_cluster (c, &a, (guint32) (x0 >> (32 - c->level)), (guint32) (y0 >> (32 - c->level)));
  else
    push_members (c, n, inside);
}

/* A leaf above the grid level: its sorted bucket holds each cell's sellers as one run. */
static void
emit_leaf_cells (Ctx *c, const KmgMapNode *n, gboolean inside)
{
  guint shift = 64 - 2 * c->level;

  for (guint i = 0; i < n->n_items && !c->full;)
    {
      guint64 cell = n->items[i]->key >> shift;
      Agg a = { 0 };
      guint j;

      for (j = i; j < n->n_items && (n->items[j]->key >> shift) == cell; j++)
        if (inside || entry_visible (c, n->items[j]))
          agg_entry (&a, n->items[j]);
      if (a.count >= c->q->min_cluster)
        push_cluster (c, &a, n->items[i]->x >> (32 - c->level), n->items[i]->y >> (32 - c->level));
      else if (a.count > 0)
        for (guint k = i; k < j && !c->full; k++)
          if (inside || entry_visible (c, n->items[k]))
            push_marker (c, n->items[k]);
      i = j;
    }
}

static void
visit (Ctx *c, const KmgMapNode *n, guint level, guint64 x0, guint64 y0, gboolean inside)
{
  guint64 half = G_GUINT64_CONSTANT (1) << (31 - level);

  if (c->full || n->count == 0)
    return;
  if (!inside)
    {
      Overlap o = overlap (c, level, x0, y0);

      if (o == DISJOINT)
        return;
      inside = o == INSIDE;
    }
  if (level == c->level)
    emit_cell (c, n, x0, y0, inside);
  else if (n->leaf)
    emit_leaf_cells (c, n, inside);
  else
    for (guint i = 0; i < 4; i++)
      if (n->child[i] != NULL)
        visit (c, n->child[i], level + 1, x0 + (i & 1) * half, y0 + (i >> 1) * half, inside);
}

gboolean
kmg_map_tree_query (const KmgMapNode *root, const KmgMapTreeQuery *q, GArray *out)
{
  Ctx c;

  g_return_val_if_fail (root != NULL && q != NULL && out != NULL, FALSE);
  g_return_val_if_fail (q->grid_zoom <= KMG_MAP_MAX_ZOOM, FALSE);

  ctx_init (&c, q, out);
  visit (&c, root, 0, 0, 0, FALSE);
  return !c.full;
}
