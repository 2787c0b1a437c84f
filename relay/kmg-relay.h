/* kmg-relay.h — the media relay: one seller leg per seller fanned out to buyer legs,
 * forwarding RTP unchanged. No HTTP, SQL or JSON here; the server drives it. */
#pragma once

#include <glib.h>

#include "kmg-relay-measure.h"

G_BEGIN_DECLS

#define KMG_RELAY_ERROR (kmg_relay_error_quark ())
GQuark kmg_relay_error_quark (void);

typedef enum
{
  KMG_RELAY_ERROR_CONFIG,
  KMG_RELAY_ERROR_LIMIT,          /* max legs per seller / total reached */
  KMG_RELAY_ERROR_DENIED_ADDRESS, /* remote candidate in a denied range: dropped */
  KMG_RELAY_ERROR_INVALID,        /* malformed SDP or candidate */
  KMG_RELAY_ERROR_STATE,          /* call not valid for this leg now */
  KMG_RELAY_ERROR_PIPELINE,       /* GStreamer element missing or refused a state */
} KmgRelayError;

typedef struct
{
  guint min_port, max_port;     /* UDP port range for ICE; 0/0 = any */
  char *public_ip;              /* announced instead of host addresses (1:1 NAT); NULL = off */
  gboolean ice_tcp;
  char *stun_server;            /* "stun://host:port" for the legs; NULL = none */
  char **denied_cidrs;          /* NULL = kmg_net_deny_default_cidrs() */
  guint max_legs_per_seller;    /* buyer legs; 0 = unlimited */
  guint max_legs_total;         /* buyer legs; 0 = unlimited */
  gboolean allow_loopback;      /* tests: gather and accept 127.0.0.1 */
  guint keyframe_interval_ms;   /* min spacing of keyframe requests towards a seller */
  gboolean direct_udp;          /* UDP buyer legs forwarded by the fan-out, not webrtcbin */
  gboolean deny_host_addresses; /* the host's own interface addresses are denied peers (default) */
} KmgRelayConfig;

KmgRelayConfig *kmg_relay_config_new (void); /* defaults */
void kmg_relay_config_free (KmgRelayConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgRelayConfig, kmg_relay_config_free)

typedef struct _KmgRelay KmgRelay;
typedef struct _KmgRelayLeg KmgRelayLeg;

typedef enum
{
  KMG_RELAY_LEG_SELLER,
  KMG_RELAY_LEG_BUYER,
} KmgRelayLegKind;

typedef enum
{
  KMG_RELAY_LEG_STATE_NEW,
  KMG_RELAY_LEG_STATE_CONNECTING,
  KMG_RELAY_LEG_STATE_CONNECTED,
  KMG_RELAY_LEG_STATE_DISCONNECTED, /* ICE lost; may come back or need an ICE restart */
  KMG_RELAY_LEG_STATE_FAILED,
  KMG_RELAY_LEG_STATE_CLOSED,       /* last callback for this leg; the handle dies after it */
} KmgRelayLegState;

/* All callbacks run on the GMainContext that was thread-default when kmg_relay_new() ran. */
typedef struct
{
  /* @type is "offer" (to a buyer) or "answer" (to a seller). */
  void (*local_sdp) (KmgRelayLeg *leg, const char *type, const char *sdp, gpointer user_data);
  /* Already filtered and, with a public IP, rewritten. @mid is the a=mid of m-line @mline in the
   * leg's own description (NULL if it has none). Once gathering is complete, one last call with
   * @candidate "" marks the end of candidates (for m-line 0, which bundles every other). */
  void (*local_candidate) (KmgRelayLeg *leg, guint mline, const char *mid, const char *candidate,
                           gpointer user_data);
  void (*leg_state) (KmgRelayLeg *leg, KmgRelayLegState state, gpointer user_data);
  void (*first_rtp) (KmgRelayLeg *leg, gpointer user_data);
  /* Buyer legs, once per closed second with media: what was forwarded and what the buyer's
   * receiver reports said. Whether it counts as delivered is billing's rule to decide. */
  void (*measured_second) (KmgRelayLeg *leg, const KmgRelaySecond *second, gpointer user_data);
} KmgRelayCallbacks;

typedef struct
{
  guint seller_legs;
  guint buyer_legs;
  guint buyer_legs_direct;    /* of those, forwarded by the seller's fan-out (UDP) */
  guint64 packets;            /* forwarded to buyers */
  guint64 bytes;              /* payload bytes forwarded to buyers */
  guint64 packets_dropped;    /* fan-out: not sent because a buyer's socket was full */
  guint64 retransmissions_sent;    /* NACKed packets resent to buyers (fan-out and webrtcbin legs) */
  guint64 retransmissions_refused; /* fan-out: NACKed packets over that buyer's budget */
  guint64 keyframe_requests_forwarded;
  guint64 keyframe_requests_dropped;
  guint64 candidates_denied;
} KmgRelayStats;

KmgRelay *kmg_relay_new (const KmgRelayConfig *config, const KmgRelayCallbacks *callbacks,
                         gpointer user_data, GError **error);
void kmg_relay_free (KmgRelay *relay);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgRelay, kmg_relay_free)

void kmg_relay_get_stats (KmgRelay *relay, KmgRelayStats *stats);

/* Adds the relayed buyer leg of watch session @session_id (> 0) on seller @seller_id (> 0).
 * Creates the seller leg when it is the first one (*@out_seller_created = TRUE): the server must
 * then ask the seller for an offer and pass it to kmg_relay_leg_set_remote_sdp(). The buyer's
 * offer follows through local_sdp once the seller's media caps are known. A session has at most
 * one buyer leg at a time (KMG_RELAY_ERROR_STATE otherwise). */
KmgRelayLeg *kmg_relay_buyer_add (KmgRelay *relay, gint64 seller_id, gint64 session_id,
                                  gboolean *out_seller_created, GError **error);

/* Stops forwarding to @leg at once (drop + unlink), then tears it down asynchronously; the
 * seller leg goes when its last buyer does. From now on kmg_relay_get_buyer_leg() no longer
 * finds it; leg_state(CLOSED) follows; do not use @leg after. */
void kmg_relay_buyer_stop (KmgRelayLeg *leg);

/* The relay's one id → leg map: NULL when there is no such leg (or it was stopped). */
KmgRelayLeg *kmg_relay_get_seller_leg (KmgRelay *relay, gint64 seller_id);
KmgRelayLeg *kmg_relay_get_buyer_leg (KmgRelay *relay, gint64 session_id);

/* @type: "offer" for a seller leg, "answer" for a buyer leg. */
gboolean kmg_relay_leg_set_remote_sdp (KmgRelayLeg *leg, const char *type, const char *sdp, GError **error);
/* Returns FALSE with KMG_RELAY_ERROR_DENIED_ADDRESS when the candidate was dropped. An empty
 * @candidate marks the end of candidates and is accepted. */
gboolean kmg_relay_leg_add_remote_candidate (KmgRelayLeg *leg, guint mline, const char *candidate,
                                             GError **error);
/* Buyer legs: rebuilds the leg's transport and sends a fresh offer (webrtcbin 1.22 cannot
 * restart ICE in place). Seller legs: KMG_RELAY_ERROR_STATE. */
gboolean kmg_relay_leg_restart_ice (KmgRelayLeg *leg, GError **error);

KmgRelayLegKind kmg_relay_leg_get_kind (const KmgRelayLeg *leg);
gint64 kmg_relay_leg_get_session_id (const KmgRelayLeg *leg); /* buyer legs; 0 for a seller leg */
gint64 kmg_relay_leg_get_seller_id (const KmgRelayLeg *leg);
KmgRelayLegState kmg_relay_leg_get_state (const KmgRelayLeg *leg);
const char *kmg_relay_leg_state_to_string (KmgRelayLegState state);

G_END_DECLS
