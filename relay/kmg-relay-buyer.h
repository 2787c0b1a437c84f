/* kmg-relay-buyer.h — role layer: a buyer leg, on its own webrtcbin (tee → queue → meter →
 * webrtcbin) or handed over to the seller's fan-out. Uses the transports below it. */
#pragma once

#include "kmg-relay-direct.h"

G_BEGIN_DECLS

/* How a buyer leg's media reaches it, once DTLS is done: one of the paths in kmg-relay-buyer.c. */
typedef struct _KmgRelayBuyerPath KmgRelayBuyerPath;

struct _KmgRelayBuyerLeg
{
  KmgRelayLeg leg;
  /* Its webrtcbin's feed (leg.webrtc): always built, carrying media only on the tee path. */
  GstElement *bin, *queue, *meter;
  gboolean built;
  gboolean first_rtp;
  gboolean ever_connected;
  gboolean stats_pending; /* a get-stats is under way */
  /* The buyer's last receiver report, from get-stats or from the fan-out. */
  KmgRrFreshness rr;
  double fraction_lost, jitter, rtt;

  const KmgRelayBuyerPath *path; /* none until DTLS is done, then the tee or the fan-out */
  GstPad *tee_pad;               /* the tee path: the seller's tee pad feeding the bin */
  guint rtx_seen;                /* the tee path: resends of the webrtcbin's RTX sender counted */
  KmgRelayDirect fanout;         /* the fan-out path */
};

/* The buyer leg of @leg (a buyer's). */
static inline KmgRelayBuyerLeg *
KMG_RELAY_BUYER_LEG (KmgRelayLeg *leg)
{
  g_assert (leg->kind == KMG_RELAY_LEG_BUYER);
  return (KmgRelayBuyerLeg *) leg;
}

KmgRelayBuyerLeg *kmg_relay_buyer_new (KmgRelay *relay, KmgSeller *seller, gint64 session_id);
/* Builds the leg's elements once the seller's caps are known (no-op before, or when built). */
void kmg_relay_buyer_build (KmgRelayBuyerLeg *buyer);
/* Stops forwarding to the leg at once: the fan-out and the meter drop, the branch is cut. */
void kmg_relay_buyer_cut (KmgRelayBuyerLeg *buyer);
/* Removes the leg's elements (the fan-out target first). */
void kmg_relay_buyer_teardown (KmgRelayBuyerLeg *buyer);
/* A fresh transport with a certificate of its own and a new offer (ICE restart). */
gboolean kmg_relay_buyer_restart (KmgRelayBuyerLeg *buyer, GError **error);
/* A kamegormeter message of the leg's meter (its seller pipeline's bus). */
void kmg_relay_buyer_on_meter (KmgRelayBuyerLeg *buyer, const GstStructure *s);
/* Once a second: receiver reports, and the closed seconds of a leg on the fan-out (@seconds:
 * scratch). */
void kmg_relay_buyer_poll (KmgRelayBuyerLeg *buyer, gint64 now_ms, gint64 now_second, GArray *seconds);

G_END_DECLS
