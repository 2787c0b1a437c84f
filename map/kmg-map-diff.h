/* kmg-map-diff.h — what a map subscriber must be told: items added, updated, removed.
 * Pure: compares two query results by item id; a subscription keeps the last one it sent. */
#pragma once

#include "kmg-map.h"

G_BEGIN_DECLS

typedef struct
{
  GArray *added;      /* KmgMapItem copies (own their profile refs), in the new result's order */
  GArray *updated;    /* same: items whose position, counts, status or profile changed */
  GPtrArray *removed; /* char * ids no longer present, in the old result's order */
} KmgMapDiff;

/* @old may be NULL (first snapshot: everything is added). The diff owns copies of what it holds. */
KmgMapDiff *kmg_map_diff_new (const KmgMapResult *old, const KmgMapResult *new_result);
gboolean kmg_map_diff_is_empty (const KmgMapDiff *diff);
void kmg_map_diff_free (KmgMapDiff *diff);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgMapDiff, kmg_map_diff_free)

/* One subscriber's viewport and the result last sent to it. */
typedef struct _KmgMapSubscription KmgMapSubscription;

/* @max_items 0 means the map's configured cap. */
KmgMapSubscription *kmg_map_subscription_new (const KmgMapViewport *vp, guint max_items);
void kmg_map_subscription_free (KmgMapSubscription *sub);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgMapSubscription, kmg_map_subscription_free)

/* The next refresh diffs against the old result, so the client sees a move as add/update/remove. */
void kmg_map_subscription_set_viewport (KmgMapSubscription *sub, const KmgMapViewport *vp);
const KmgMapViewport *kmg_map_subscription_get_viewport (const KmgMapSubscription *sub);

/* TRUE if @change (from kmg_map_update_seller/remove_seller) can alter this subscriber's items:
 * its old or new displayed position lies in the viewport. Mark the subscriber dirty, then refresh
 * it once per flush (map.flush_ms). */
gboolean kmg_map_subscription_affected_by (const KmgMapSubscription *sub, const KmgMapChange *change);

/* Queries @map, returns the diff against the previous result (never NULL, maybe empty) and keeps
 * the new result as the baseline. */
KmgMapDiff *kmg_map_subscription_refresh (KmgMapSubscription *sub, KmgMap *map);

/* The baseline: what the client should be showing now. NULL before the first refresh. */
const KmgMapResult *kmg_map_subscription_get_result (const KmgMapSubscription *sub);

G_END_DECLS
