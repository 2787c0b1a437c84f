/* kmg-relay-direct.h — transport layer: a buyer leg's media forwarded by its seller's fan-out
 * (kmg-fanout.h) over the leg's own UDP ICE socket, with webrtcbin keeping ICE and DTLS. */
#pragma once

#include "kmg-relay-leg.h"

G_BEGIN_DECLS

/* Main context: the leg's DTLS keys are set, its transport can carry media now. */
typedef void (*KmgRelayDirectReadyFunc) (KmgRelayLeg *leg);

/* Watches the leg's webrtcbin for its DTLS keys, then calls @ready. */
void kmg_relay_direct_watch (KmgRelayLeg *leg, KmgRelayDirectReadyFunc ready);
/* Hands the leg to the fan-out; fails (and changes nothing) when its ICE pair is not UDP. */
gboolean kmg_relay_direct_start (KmgRelayLeg *leg, GError **error);
/* Stops the fan-out forwarding to the leg at once (no-op when it has none). */
void kmg_relay_direct_stop (KmgRelayLeg *leg);
/* Once a second: updates the leg's receiver report; @seconds (KmgMeterSecond) is set to the
 * seconds the fan-out closed for the leg. */
void kmg_relay_direct_poll (KmgRelayLeg *leg, gint64 now_ms, gint64 now_second, GArray *seconds);

G_END_DECLS
