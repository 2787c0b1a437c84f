/* kmg-ratings.h — post-session ratings, the seller's reputation summary and public history.
 * History rows never carry the buyer's identity. */
#pragma once

#include "kmg-billing-types.h"
#include "kmg-db.h"
#include "kmg-reputation.h"

G_BEGIN_DECLS

/* The buyer of an ended session with >= 1 charged minute rates it once, 1..5 stars.
 * Errors: NOT_FOUND, FORBIDDEN (not the buyer), NOT_RATEABLE, ALREADY_RATED, INVALID. */
gboolean kmg_ratings_rate (KmgDb *db, gint64 session_id, gint64 buyer_id, guint stars,
                           gint64 now_ms, GError **error);

gboolean kmg_ratings_seller_summary (KmgDb *db, gint64 seller_id, KmgReputation *out,
                                     GError **error);

typedef struct
{
  gint64 started_at; /* unix seconds */
  guint minutes;     /* billed minutes */
  guint stars;       /* 0: not rated */
} KmgHistoryRow;

/* Ended sessions with >= 1 billed minute, newest first. Returns an array of KmgHistoryRow. */
GArray *kmg_ratings_history (KmgDb *db, gint64 seller_id, guint offset, guint limit,
                             GError **error);
/* "streamed 12 min on 2024-05-01 — rated 5" (UTC date); "— not rated" when unrated. */
char *kmg_history_row_format (const KmgHistoryRow *row);

G_END_DECLS
