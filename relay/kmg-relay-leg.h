/* kmg-relay-leg.h — the bottom of the relay's stack: the relay's shared state, the leg core
 * (refcount, hop to the main context, state, ids, webrtcbin signaling) that each role's leg type
 * embeds first (KmgRelaySellerLeg, KmgRelayBuyerLeg), and GStreamer helpers every layer uses.
 * Above it: transports (kmg-relay-webrtc.h, kmg-relay-direct.h), then roles (kmg-relay-buyer.h,
 * kmg-relay-seller.h), then the facade (kmg-relay.c). Headers include downwards only.
 * Every field here belongs to the main context unless marked otherwise. */
#pragma once

#define GST_USE_UNSTABLE_API 1
#include <gst/gst.h>
#include <gst/webrtc/webrtc.h>

#include "kmg-fanout.h"
#include "kmg-net-filter.h"
#include "kmg-relay.h"
#include "kmg-relay-liveness.h"
#include "kmg-relay-measure.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (kmg_relay_debug);
#define GST_CAT_DEFAULT kmg_relay_debug

/* Receive jitterbuffer latency of a seller leg: the longest a gap may hold the stream while
 * the seller retransmits (see kmg_relay_webrtc_new). */
#define KMG_RELAY_SELLER_LATENCY_MS 100
/* Consecutive packets after which a seller leg's jitterbuffer starts forwarding, instead of
 * holding the stream's first packet for the whole latency. */
#define KMG_RELAY_SELLER_FASTSTART_PACKETS 3

typedef struct _KmgSeller KmgSeller;
typedef struct _KmgRelaySellerLeg KmgRelaySellerLeg; /* kmg-relay-seller.h */
typedef struct _KmgRelayBuyerLeg KmgRelayBuyerLeg;   /* kmg-relay-buyer.h */

struct _KmgRelay
{
  KmgRelayConfig *config;
  KmgRelayCallbacks cb;
  gpointer user_data;
  GMainContext *context;
  KmgNetDeny *filter;        /* the relay's own candidates */
  KmgNetDeny *remote_filter; /* peers' candidates and media destinations: filter + host addresses */
  GHashTable *sellers; /* seller id → KmgSeller */
  GHashTable *buyers;  /* session id → KmgRelayBuyerLeg, buyer legs not stopped */
  guint buyer_count;
  guint direct_count; /* buyer legs with a fan-out target */
  KmgRelayStats stats;
  GSource *stats_timer;
  gboolean destroying; /* no callbacks while freeing */

  GMutex lock; /* guards the counters below, updated from streaming threads */
  guint64 kf_forwarded;
  guint64 kf_dropped;
};

struct _KmgSeller
{
  KmgRelay *relay;
  gint64 id; /* key of relay->sellers */
  KmgRelaySellerLeg *leg;
  GstElement *pipeline; /* one per seller: a stuck or failing seller cannot disturb others */
  GstElement *tee;
  GSource *bus_source;
  GstCaps *caps; /* caps of the seller's video pad once known: PT, SSRC, codec */
  GPtrArray *buyers; /* KmgRelayBuyerLeg, buyer legs */
  GPtrArray *stopping; /* KmgRelayBuyerLeg, stopped buyers whose teardown is queued: the seller outlives them */
  KmgFanout *fanout; /* UDP buyers' forwarding path, fed from the seller leg's video pad */
  KmgLiveness liveness;       /* the seller's media, as the fan-out counts it */
  gboolean silence_reported;  /* the leg is disconnected because the media stopped */

  GMutex kf_lock; /* streaming threads: keyframe throttle */
  gint64 kf_last_ms;
};

/* What a leg's role does when its transport reports something; transports call these instead
 * of calling up into a role. Any member may be NULL. */
typedef struct
{
  /* ICE reached CONNECTED, coming from another state. */
  void (*connected) (KmgRelayLeg *leg);
  /* The transport can no longer carry the leg's media as it is: it must be rebuilt. */
  void (*path_lost) (KmgRelayLeg *leg);
  /* The transport sent the leg's media on (it may say so more than once). */
  void (*media_sent) (KmgRelayLeg *leg);
} KmgRelayLegRole;

/* The leg core, first member of each role's leg (KmgRelaySellerLeg, KmgRelayBuyerLeg): what
 * every leg has, and what the webrtcbin transport (kmg-relay-webrtc.c) keeps for signaling. */
struct _KmgRelayLeg
{
  gatomicrefcount ref;
  GMainContext *context; /* where hops land; kept so late hops are safe after relay teardown */
  KmgRelayLegKind kind;
  const KmgRelayLegRole *role;
  KmgRelayLegState state;
  gint64 seller_id;
  gint64 session_id; /* buyer legs: the watch session, key of relay->buyers; 0 for a seller leg */
  KmgSeller *seller; /* NULL once the leg is torn down */
  /* No event of the leg is handled any more: a buyer leg was stopped, or a seller leg's seller
   * freed. Hops to it are skipped. */
  gboolean stopped;
  GstElement *webrtc;
  GstElement *sdp_sent_for;    /* compared only: the webrtcbin whose description was sent */
  GPtrArray *early_candidates; /* its candidates gathered before that (webrtc events) */
  char *dtls_pem;         /* after an ICE restart: the rebuilt transport's own certificate */
  char *dtls_fingerprint; /* and its fingerprint, for the offer */
};

/* For logs: "session 12" or "seller 3". */
#define KMG_LEG_FORMAT "%s %" G_GINT64_FORMAT
#define KMG_LEG_ARGS(leg) \
  ((leg)->kind == KMG_RELAY_LEG_SELLER ? "seller" : "session"), \
  ((leg)->kind == KMG_RELAY_LEG_SELLER ? (leg)->seller_id : (leg)->session_id)

void kmg_relay_debug_init (void);

/* Allocates a leg of @size bytes (a role's leg struct, the core first) and sets up its core. */
KmgRelayLeg *kmg_relay_leg_new (gsize size, KmgRelay *relay, KmgSeller *seller, KmgRelayLegKind kind,
                                const KmgRelayLegRole *role, gint64 session_id);
KmgRelayLeg *kmg_relay_leg_ref (KmgRelayLeg *leg);
void kmg_relay_leg_unref (KmgRelayLeg *leg);
void kmg_relay_leg_closure_unref (gpointer leg, GClosure *closure); /* GClosureNotify */
typedef void (*KmgLegHopFunc) (KmgRelayLeg *leg, gpointer data);
/* Runs @func on the main context with a reference on @leg; skipped if the leg stopped meanwhile. */
void kmg_relay_leg_hop (KmgRelayLeg *leg, KmgLegHopFunc func, gpointer data, GDestroyNotify data_free);
/* Sets the state and tells the relay's user (leg_state callback). */
void kmg_relay_leg_set_state (KmgRelayLeg *leg, KmgRelayLegState state);
const char *kmg_relay_leg_state_name (KmgRelayLegState state);

/* TRUE when @element was made by the factory named @factory. */
gboolean kmg_relay_element_is (GstElement *element, const char *factory);
/* The first element made by @factory anywhere inside @bin (a reference), or NULL. */
GstElement *kmg_relay_find_element (GstElement *bin, const char *factory);
/* Pad probe helper: calls @func on the probe's buffer, or on each buffer of its list. */
void kmg_relay_probe_foreach_buffer (GstPadProbeInfo *info, GstBufferListFunc func, gpointer user_data);
/* Sends a keyframe request upstream from @pad (a buyer branch or the seller's tee). */
void kmg_relay_request_keyframe (GstPad *pad);

G_END_DECLS
