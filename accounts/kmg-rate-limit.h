/* kmg-rate-limit.h — token buckets keyed by string (username, client address), in memory, pure.
 * Time is passed in (milliseconds, any monotonic origin) so tests drive it with a fake clock. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _KmgRateLimit KmgRateLimit;

/* @capacity attempts per @window_ms, refilled continuously; at most @max_keys buckets are kept. */
KmgRateLimit *kmg_rate_limit_new (guint capacity, gint64 window_ms, guint max_keys);
void kmg_rate_limit_free (KmgRateLimit *rl);

/* Takes one token for @key. Returns TRUE when allowed; otherwise FALSE and *retry_after_ms says
 * when one token will be back. When the table is full of non-idle keys a new key is refused:
 * an attacker spraying keys must not be able to evict the buckets of the keys it is attacking. */
gboolean kmg_rate_limit_take (KmgRateLimit *rl, const char *key, gint64 now_ms,
                              gint64 *retry_after_ms);

/* Drops buckets that have refilled completely (they behave exactly like absent ones). */
void kmg_rate_limit_prune (KmgRateLimit *rl, gint64 now_ms);
guint kmg_rate_limit_size (KmgRateLimit *rl);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgRateLimit, kmg_rate_limit_free)

G_END_DECLS
