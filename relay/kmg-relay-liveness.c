/* kmg-relay-liveness.c — a seller leg's state from its media (kmg-relay-liveness.h): the pure
 * stall detector, and the check the relay's once-a-second timer runs on each seller. */
#include "kmg-relay-liveness.h"

#include "kmg-relay-seller.h"

void
kmg_liveness_reset (KmgLiveness *l)
{
  *l = (KmgLiveness) { 0 };
}

KmgLivenessVerdict
kmg_liveness_check (KmgLiveness *l, guint count, gint64 now_ms, gint64 timeout_ms)
{
  if (count != l->count || (!l->started && count != 0))
    {
      l->count = count;
      l->moved_ms = now_ms;
      l->started = TRUE;
      if (!l->silent)
        return KMG_LIVENESS_UNCHANGED;
      l->silent = FALSE;
      return KMG_LIVENESS_BACK;
    }
  if (!l->started || l->silent || now_ms - l->moved_ms < timeout_ms)
    return KMG_LIVENESS_UNCHANGED;
  l->silent = TRUE;
  return KMG_LIVENESS_SILENT;
}

void
kmg_relay_seller_check_media (KmgSeller *seller, gint64 now_ms)
{
  KmgRelayLeg *leg = seller->leg != NULL ? &seller->leg->leg : NULL;
  guint count;

  if (leg == NULL || seller->fanout == NULL)
    return;
  count = (guint) kmg_fanout_get_packets_in (seller->fanout);

  switch (kmg_liveness_check (&seller->liveness, count, now_ms, KMG_RELAY_SELLER_SILENCE_MS))
    {
    case KMG_LIVENESS_SILENT:
      if (leg->state != KMG_RELAY_LEG_STATE_CONNECTED)
        break;
      GST_INFO ("seller %" G_GINT64_FORMAT ": no media for %d ms, leg disconnected", seller->id,
                KMG_RELAY_SELLER_SILENCE_MS);
      seller->silence_reported = TRUE;
      kmg_relay_leg_set_state (leg, KMG_RELAY_LEG_STATE_DISCONNECTED);
      break;
    case KMG_LIVENESS_BACK:
      /* Undoes only what the silence did: after an ICE restart ICE reports for itself. */
      if (seller->silence_reported && leg->state == KMG_RELAY_LEG_STATE_DISCONNECTED)
        kmg_relay_leg_set_state (leg, KMG_RELAY_LEG_STATE_CONNECTED);
      seller->silence_reported = FALSE;
      break;
    case KMG_LIVENESS_UNCHANGED:
      break;
    }
}
