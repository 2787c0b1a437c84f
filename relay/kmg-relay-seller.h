/* kmg-relay-seller.h — role layer: a seller leg, its pipeline (webrtcbin → tee and fan-out)
 * and bus. Builds its buyers' legs (kmg-relay-buyer.h) when its media caps are known. */
#pragma once

#include "kmg-relay-leg.h"

G_BEGIN_DECLS

struct _KmgRelaySellerLeg
{
  KmgRelayLeg leg;
  gboolean offered; /* the seller's offer was applied (a later one is an ICE restart) */
};

/* The seller leg of @leg (a seller's). */
static inline KmgRelaySellerLeg *
KMG_RELAY_SELLER_LEG (KmgRelayLeg *leg)
{
  g_assert (leg->kind == KMG_RELAY_LEG_SELLER);
  return (KmgRelaySellerLeg *) leg;
}

KmgSeller *kmg_relay_seller_new (KmgRelay *relay, gint64 id, GError **error);
void kmg_relay_seller_free (KmgSeller *seller);
/* Frees the seller when no buyer leg is left or queued for teardown (outside kmg_relay_free). */
void kmg_relay_seller_maybe_close (KmgSeller *seller);
/* Applies the seller's offer (taken) and answers it. A later offer restarts ICE: a fresh webrtcbin with a
 * certificate of its own takes the old one's place under the same tee and fan-out, so the
 * buyers' legs go on. */
gboolean kmg_relay_seller_set_offer (KmgRelaySellerLeg *seller_leg, GstSDPMessage *sdp, GError **error);

G_END_DECLS
