/* kmg-relay-direct.h — transport layer: a buyer leg's media forwarded by its seller's fan-out
 * (kmg-fanout.h) over the leg's own UDP ICE socket, with webrtcbin keeping ICE and DTLS. */
#pragma once

#include "kmg-relay-leg.h"

G_BEGIN_DECLS

/* A buyer leg's fan-out forwarding, part of the buyer's leg (it lives as long as the leg, so
 * hops may point at it). Main context only. */
typedef struct
{
  KmgRelayLeg *leg;         /* the leg holding this part, set by kmg_relay_direct_start */
  KmgFanoutTarget *target;  /* NULL when the fan-out does not forward to the leg */
  guint64 dropped_seen;     /* the target's dropped count already added to the relay's stats */
  GstPad *rtcp_pad;         /* the leg's rtpbin RTCP input, tapped for the fan-out */
  gulong rtcp_probe;
  GObject *pair_agent;      /* the leg's NiceAgent, watched for a new selected pair */
  gulong pair_handler;
} KmgRelayDirect;

/* Main context: the leg's DTLS keys are set, its transport can carry media now. */
typedef void (*KmgRelayDirectReadyFunc) (KmgRelayLeg *leg);

/* Watches the leg's webrtcbin for its DTLS keys, then calls @ready. */
void kmg_relay_direct_watch (KmgRelayLeg *leg, KmgRelayDirectReadyFunc ready);
/* Hands @leg to the fan-out through @direct; fails (and changes nothing) when its ICE pair is not
 * UDP. The first packet sent, a new pair that is not UDP, reach the leg's role (media_sent,
 * path_lost). */
gboolean kmg_relay_direct_start (KmgRelayDirect *direct, KmgRelayLeg *leg, GError **error);
/* Stops the fan-out forwarding to the leg at once (no-op when it has none). */
void kmg_relay_direct_stop (KmgRelayDirect *direct);
/* Once a second: @report is set to the buyer's last receiver report (have_rr FALSE: none), and
 * @seconds (KmgMeterSecond) to the seconds the fan-out closed for the leg. */
void kmg_relay_direct_poll (KmgRelayDirect *direct, gint64 now_second, KmgFanoutFeedback *report,
                            GArray *seconds);

G_END_DECLS
