/* kmg-relay-seller.h — role layer: a seller leg, its pipeline (webrtcbin → tee and fan-out)
 * and bus. Builds its buyers' legs (kmg-relay-buyer.h) when its media caps are known. */
#pragma once

#include "kmg-relay-leg.h"

G_BEGIN_DECLS

KmgSeller *kmg_relay_seller_new (KmgRelay *relay, gint64 id, GError **error);
void kmg_relay_seller_free (KmgSeller *seller);
/* Frees the seller when no buyer leg is left or queued for teardown (outside kmg_relay_free). */
void kmg_relay_seller_maybe_close (KmgSeller *seller);
/* The seller restarts ICE (a new offer on its relay connection): a fresh webrtcbin with a
 * certificate of its own takes the old one's place under the same tee and fan-out, so the
 * buyers' legs go on. */
gboolean kmg_relay_seller_rebuild (KmgSeller *seller, GError **error);

G_END_DECLS
