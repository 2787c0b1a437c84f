/* kmg-relay-webrtc.h — transport layer: a leg's webrtcbin (ICE configuration, SDP exchange,
 * local candidates, ICE state). Knows legs (kmg-relay-leg.h), not roles: what a role does on
 * connect it learns through the leg's KmgRelayLegRole. */
#pragma once

#include "kmg-relay-leg.h"

G_BEGIN_DECLS

/* Starts, once per process and on a thread of its own, what the first leg would otherwise wait
 * for: DTLS generates its certificate (an RSA key, ~140 ms here) when the first DTLS element
 * is made, and every later one shares it. */
void kmg_relay_webrtc_warm_up (void);
/* Waits for that thread: OpenSSL must not be torn down at exit while it generates the key. */
void kmg_relay_webrtc_warm_up_join (void);
GstElement *kmg_relay_webrtc_new (KmgRelay *relay, KmgRelayLeg *leg, GError **error);
void kmg_relay_webrtc_set_remote (KmgRelayLeg *leg, GstWebRTCSDPType type, GstSDPMessage *sdp);

G_END_DECLS
