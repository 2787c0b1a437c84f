/* kmg-relay-measure.c — receiver report freshness and the keyframe request throttle, the
 * relay's measurement helpers. Pure functions; callers pass the time. */
#include "kmg-relay-measure.h"

void
kmg_rr_freshness_update (KmgRrFreshness *fresh, guint64 fingerprint, gint64 now_ms)
{
  g_return_if_fail (fresh != NULL);

  if (fresh->have && fresh->fingerprint == fingerprint)
    return;
  fresh->have = TRUE;
  fresh->fingerprint = fingerprint;
  fresh->changed_ms = now_ms;
}

gint64
kmg_rr_freshness_age_ms (const KmgRrFreshness *fresh, gint64 now_ms)
{
  g_return_val_if_fail (fresh != NULL, -1);

  if (!fresh->have)
    return -1;
  return MAX (now_ms - fresh->changed_ms, 0);
}

guint64
kmg_rr_fingerprint (guint64 ext_highest_seq, guint64 lsr, guint64 dlsr, guint64 jitter, gint64 lost)
{
  /* FNV-1a over the fields; a collision only delays freshness by one report. */
  guint64 v[5] = { ext_highest_seq, lsr, dlsr, jitter, (guint64) lost };
  guint64 h = G_GUINT64_CONSTANT (14695981039346656037);

  for (guint i = 0; i < G_N_ELEMENTS (v); i++)
    for (guint b = 0; b < 8; b++)
      {
        h ^= (v[i] >> (8 * b)) & 0xff;
        h *= G_GUINT64_CONSTANT (1099511628211);
      }
  return h;
}

gboolean
kmg_throttle_allow (gint64 *last_ms, gint64 now_ms, gint64 interval_ms)
{
  g_return_val_if_fail (last_ms != NULL, FALSE);

  if (*last_ms != G_MININT64 && now_ms - *last_ms < interval_ms)
    return FALSE;
  *last_ms = now_ms;
  return TRUE;
}
