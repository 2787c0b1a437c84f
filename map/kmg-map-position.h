/* kmg-map-position.h — one seller's displayed position, derived from precise updates.
 * Owns the privacy rule (cell centre / rounding), the hysteresis and the blurred cell switch. */
#pragma once

#include "kmg-geohash.h"

G_BEGIN_DECLS

/* How precise positions become displayed ones (copied from KmgMapConfig). */
typedef struct
{
  guint precision;   /* geohash precision (1..12) of the cell an online seller is shown at */
  guint decimals;    /* decimals (0..8) a streaming seller's position is rounded to */
  double hysteresis; /* 0..0.5: the least margin, as a fraction of the cell size, past the current
                      * cell's edge a position must be before the online cell changes */
  double hysteresis_spread; /* 0..1: each cell's margin is drawn uniformly from
                             * [hysteresis, hysteresis + hysteresis_spread) when it is entered */
  gint64 delay_min_ms;      /* a switch takes effect after a delay drawn uniformly from */
  gint64 delay_max_ms;      /* [delay_min_ms, delay_max_ms]; 0, 0: at once */
  GRand *rand;              /* draws the margins and delays; NULL: g_random_*() */
} KmgMapPositionRules;

/* Privacy contract: the precise coordinates passed to kmg_map_position_update() are used once to
 * pick the cell and the rounded position and are not kept; nothing here (or anywhere in the map)
 * can return them. Only the displayed position and the current cell can be read back. */
typedef struct _KmgMapPosition KmgMapPosition;

KmgMapPosition *kmg_map_position_new (void);
void kmg_map_position_free (KmgMapPosition *self);

/* Applies one precise fix received at @now_ms. The online cell is tracked whatever @streaming
 * says, so a seller who stops streaming is shown at the cell it was in, without jumping.
 *
 * Hysteresis rule: the current cell is kept while the fix lies inside it, or outside it by less
 * than the cell's margin times the cell's height (latitude) and width (longitude, across the
 * antimeridian too), whichever axis is further out. The margin is drawn when the cell is entered
 * (see KmgMapPositionRules), so where a switch happens is not a fixed line.
 *
 * A fix past the margin arms a switch due after a random delay; fixes received meanwhile keep
 * the old cell, and one back within the margin cancels it. When it is due (at a later update or
 * kmg_map_position_apply_due()) the cell becomes the one of the latest fix. No delay and no
 * margin for the first fix, nor for a fix whose cell does not touch the previous fix's cell (a
 * relocation, not a crossing): the cell is the fix's at once. The caller has validated the
 * coordinates (finite, in range). */
void kmg_map_position_update (KmgMapPosition *self,
                              const KmgMapPositionRules *rules,
                              double lat,
                              double lon,
                              gboolean streaming,
                              gint64 now_ms);

/* Carries out a pending switch if it is due at @now_ms. TRUE if the cell changed. */
gboolean kmg_map_position_apply_due (KmgMapPosition *self,
                                     const KmgMapPositionRules *rules,
                                     gint64 now_ms);

/* TRUE while a switch is pending; @due_ms (nullable) gets the time it is due. */
gboolean kmg_map_position_get_due (const KmgMapPosition *self, gint64 *due_ms);

/* Displayed position: the cell centre when the last update was not streaming, else the fix
 * rounded to rules->decimals. FALSE before the first update. */
gboolean kmg_map_position_get_displayed (const KmgMapPosition *self, double *lat, double *lon);

/* The current online cell. FALSE before the first update. */
gboolean kmg_map_position_get_cell (const KmgMapPosition *self, KmgGeohashBox *cell);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgMapPosition, kmg_map_position_free)

G_END_DECLS
