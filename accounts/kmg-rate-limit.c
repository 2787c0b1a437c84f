/* kmg-rate-limit.c — token buckets keyed by string, in memory, pure.
 * Credit is counted in units where one token is window_ms units and each millisecond adds capacity
 * units, so the continuous refill is exact in integers (no rounding drift). */

#include "kmg-rate-limit.h"

typedef struct
{
  gint64 credit;  /* tokens × window_ms */
  gint64 last_ms; /* time of the last refill */
} Bucket;

struct _KmgRateLimit
{
  gint64 capacity;
  gint64 window_ms;
  gint64 full; /* capacity × window_ms */
  guint max_keys;
  gint64 last_full_prune_ms;
  GHashTable *buckets; /* char* → Bucket* */
};

KmgRateLimit *
kmg_rate_limit_new (guint capacity, gint64 window_ms, guint max_keys)
{
  KmgRateLimit *rl;

  g_return_val_if_fail (capacity > 0 && window_ms > 0 && max_keys > 0, NULL);
  rl = g_new0 (KmgRateLimit, 1);
  rl->capacity = capacity;
  rl->window_ms = window_ms;
  rl->full = (gint64) capacity * window_ms;
  rl->last_full_prune_ms = G_MININT64 / 2;
  rl->max_keys = max_keys;
  rl->buckets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return rl;
}

void
kmg_rate_limit_free (KmgRateLimit *rl)
{
  if (rl == NULL)
    return;
  g_hash_table_unref (rl->buckets);
  g_free (rl);
}

static void
refill (KmgRateLimit *rl, Bucket *b, gint64 now_ms)
{
  gint64 elapsed = now_ms - b->last_ms;

  if (elapsed <= 0)
    return;
  b->last_ms = now_ms;
  b->credit = elapsed >= rl->window_ms ? rl->full : MIN (rl->full, b->credit + elapsed * rl->capacity);
}

gboolean
kmg_rate_limit_take (KmgRateLimit *rl, const char *key, gint64 now_ms, gint64 *retry_after_ms)
{
  Bucket *b;

  g_return_val_if_fail (rl != NULL && key != NULL, FALSE);
  b = g_hash_table_lookup (rl->buckets, key);
  if (b == NULL)
    {
      /* A full prune walks every bucket: at most once a second, or a key spray turns it into
       * a CPU sink. */
      if (g_hash_table_size (rl->buckets) >= rl->max_keys && now_ms - rl->last_full_prune_ms >= 1000)
        {
          rl->last_full_prune_ms = now_ms;
          kmg_rate_limit_prune (rl, now_ms);
        }
      if (g_hash_table_size (rl->buckets) >= rl->max_keys)
        {
          if (retry_after_ms)
            *retry_after_ms = rl->window_ms / rl->capacity;
          return FALSE;
        }
      b = g_new0 (Bucket, 1);
      b->credit = rl->full;
      b->last_ms = now_ms;
      g_hash_table_insert (rl->buckets, g_strdup (key), b);
    }
  refill (rl, b, now_ms);
  if (b->credit >= rl->window_ms)
    {
      b->credit -= rl->window_ms;
      return TRUE;
    }
  if (retry_after_ms)
    {
      /* Round up: the caller must not come back before the token is really there. */
      *retry_after_ms = (rl->window_ms - b->credit + rl->capacity - 1) / rl->capacity;
    }
  return FALSE;
}

void
kmg_rate_limit_prune (KmgRateLimit *rl, gint64 now_ms)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, rl->buckets);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Bucket *b = value;
      refill (rl, b, now_ms);
      if (b->credit >= rl->full)
        g_hash_table_iter_remove (&iter);
    }
}

guint
kmg_rate_limit_size (KmgRateLimit *rl)
{
  return g_hash_table_size (rl->buckets);
}
