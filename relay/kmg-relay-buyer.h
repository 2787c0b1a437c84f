/* kmg-relay-buyer.h — role layer: a buyer leg, on its own webrtcbin (tee → queue → meter →
 * webrtcbin) or handed over to the seller's fan-out. Uses the transports below it. */
#pragma once

#include "kmg-relay-leg.h"

G_BEGIN_DECLS

KmgRelayLeg *kmg_relay_buyer_new (KmgRelay *relay, KmgSeller *seller, gint64 session_id);
/* Builds the leg's elements once the seller's caps are known (no-op before, or when built). */
void kmg_relay_buyer_build (KmgRelayLeg *leg);
/* Stops forwarding to the leg at once: the fan-out and the meter drop, the branch is cut. */
void kmg_relay_buyer_cut (KmgRelayLeg *leg);
/* Removes the leg's elements (the fan-out target first). */
void kmg_relay_buyer_teardown (KmgRelayLeg *leg);
/* A fresh transport with a certificate of its own and a new offer (ICE restart). */
gboolean kmg_relay_buyer_restart (KmgRelayLeg *leg, GError **error);
/* A kamegormeter message of the leg's meter (its seller pipeline's bus). */
void kmg_relay_buyer_on_meter (KmgRelayLeg *leg, const GstStructure *s);
/* Once a second: receiver reports, and the closed seconds of a leg on the fan-out (@seconds:
 * scratch). */
void kmg_relay_buyer_poll (KmgRelayLeg *leg, gint64 now_ms, gint64 now_second, GArray *seconds);

G_END_DECLS
