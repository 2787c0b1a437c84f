/* kmg-relay-private.h — relay internals shared by the kmg-relay-*.c files.
 * Every field here belongs to the main context unless marked otherwise. */
#pragma once

#define GST_USE_UNSTABLE_API 1
#include <gst/gst.h>
#include <gst/webrtc/webrtc.h>

#include "kmg-fanout.h"
#include "kmg-net-filter.h"
#include "kmg-relay.h"
#include "kmg-relay-sdp.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (kmg_relay_debug);
#define GST_CAT_DEFAULT kmg_relay_debug

/* Receive jitterbuffer latency of a seller leg: the longest a gap may hold the stream while
 * the seller retransmits (see kmg_relay_webrtc_new). */
#define KMG_RELAY_SELLER_LATENCY_MS 100
/* Consecutive packets after which a seller leg's jitterbuffer starts forwarding, instead of
 * holding the stream's first packet for the whole latency. */
#define KMG_RELAY_SELLER_FASTSTART_PACKETS 3
/* Packets a buyer leg's leaky queue holds before it drops the oldest. */
#define KMG_RELAY_BUYER_QUEUE_PACKETS 256

typedef struct _KmgSeller KmgSeller;

struct _KmgRelay
{
  KmgRelayConfig *config;
  KmgRelayCallbacks cb;
  gpointer user_data;
  GMainContext *context;
  KmgNetDeny *filter;
  GHashTable *sellers; /* seller key → KmgSeller */
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
  char *key;
  KmgRelayLeg *leg;
  GstElement *pipeline; /* one per seller: a stuck or failing seller cannot disturb others */
  GstElement *tee;
  GSource *bus_source;
  GstCaps *caps; /* caps of the seller's video pad once known: PT, SSRC, codec */
  GPtrArray *buyers; /* KmgRelayLeg, buyer legs */
  GPtrArray *stopping; /* KmgRelayLeg, stopped buyers whose teardown is queued: the seller outlives them */
  GstElement *fakesink_bin; /* swallows non-video pads */
  KmgFanout *fanout; /* UDP buyers' forwarding path, fed from the seller leg's video pad */

  GMutex kf_lock; /* streaming threads: keyframe throttle */
  gint64 kf_last_ms;
};

struct _KmgRelayLeg
{
  gatomicrefcount ref;
  GMainContext *context; /* where hops land; kept so late hops are safe after relay teardown */
  KmgRelayLegKind kind;
  KmgRelayLegState state;
  char *tag;
  KmgSeller *seller; /* NULL once the leg is closed */
  gboolean closed;
  GstElement *webrtc;
  gboolean offered; /* seller legs: the seller's offer was applied (a later one is a restart) */
  GstElement *sdp_sent_for;    /* compared only: the webrtcbin whose description was sent */
  GPtrArray *early_candidates; /* its candidates gathered before that (webrtc events) */

  /* Buyer legs only. */
  GstElement *bin, *queue, *meter;
  GstPad *tee_pad;
  gboolean stopped;
  gboolean built;
  gboolean first_rtp;
  gboolean ever_connected;
  KmgRrFreshness rr;
  double fraction_lost, jitter, rtt;
  gboolean stats_pending;
  /* Buyer legs forwarded by the seller's fan-out (kmg-relay-direct.c); else tee_pad is set. */
  KmgFanoutTarget *target;
  GstPad *rtcp_pad;
  gulong rtcp_probe;
  guint64 dropped_seen; /* the target's dropped count already added to the relay's stats */
  GObject *pair_agent;  /* the leg's NiceAgent, watched for a new selected pair */
  gulong pair_handler;
  guint pair_stream;
  GstElement *pair_webrtc; /* compared only */
  char *dtls_pem;       /* after an ICE restart: the rebuilt transport's own certificate */
  char *dtls_fingerprint; /* and its fingerprint, for the offer */
};

/* kmg-relay.c */
KmgRelayLeg *kmg_relay_leg_new (KmgRelay *relay, KmgSeller *seller, KmgRelayLegKind kind, const char *tag);
KmgRelayLeg *kmg_relay_leg_ref (KmgRelayLeg *leg);
void kmg_relay_leg_unref (KmgRelayLeg *leg);
void kmg_relay_leg_closure_unref (gpointer leg, GClosure *closure); /* GClosureNotify */
typedef void (*KmgLegHopFunc) (KmgRelayLeg *leg, gpointer data);
/* Runs @func on the main context with a reference on @leg; skipped if the leg closed meanwhile. */
void kmg_relay_leg_hop (KmgRelayLeg *leg, KmgLegHopFunc func, gpointer data, GDestroyNotify data_free);
void kmg_relay_leg_set_state (KmgRelayLeg *leg, KmgRelayLegState state);
void kmg_relay_seller_free (KmgSeller *seller);

/* TRUE when @element was made by the factory named @factory. */
gboolean kmg_relay_element_is (GstElement *element, const char *factory);
/* Pad probe helper: calls @func on the probe's buffer, or on each buffer of its list. */
void kmg_relay_probe_foreach_buffer (GstPadProbeInfo *info, GstBufferListFunc func, gpointer user_data);
/* Sends a keyframe request upstream from @pad (a buyer branch or the seller's tee). */
void kmg_relay_request_keyframe (GstPad *pad);

/* kmg-relay-webrtc.c */
/* Starts, once per process and on a thread of its own, what the first leg would otherwise wait
 * for: DTLS generates its certificate (an RSA key, ~140 ms here) when the first DTLS element
 * is made, and every later one shares it. */
void kmg_relay_webrtc_warm_up (void);
/* Waits for that thread: OpenSSL must not be torn down at exit while it generates the key. */
void kmg_relay_webrtc_warm_up_join (void);
GstElement *kmg_relay_webrtc_new (KmgRelay *relay, KmgRelayLeg *leg, GError **error);
void kmg_relay_webrtc_set_remote (KmgRelayLeg *leg, GstWebRTCSDPType type, GstSDPMessage *sdp);

/* kmg-relay-seller.c */
KmgSeller *kmg_relay_seller_new (KmgRelay *relay, const char *key, GError **error);
void kmg_relay_seller_maybe_close (KmgSeller *seller);
/* The seller restarts ICE (a new offer on its relay connection): a fresh webrtcbin with a
 * certificate of its own takes the old one's place under the same tee and fan-out, so the
 * buyers' legs go on. */
gboolean kmg_relay_seller_rebuild (KmgSeller *seller, GError **error);

/* kmg-relay-buyer.c */
void kmg_relay_buyer_build (KmgRelayLeg *leg);
void kmg_relay_buyer_on_connected (KmgRelayLeg *leg);
void kmg_relay_buyer_on_meter (KmgRelayLeg *leg, const GstStructure *s);
void kmg_relay_buyer_account_second (KmgRelayLeg *leg, gint64 second, guint64 packets, guint64 bytes);
/* Links the leg to the seller's tee (media through webrtcbin) and asks for a keyframe. */
void kmg_relay_buyer_link (KmgRelayLeg *leg);
void kmg_relay_buyer_poll_stats (KmgRelayLeg *leg);
void kmg_relay_buyer_teardown (KmgRelayLeg *leg);

/* kmg-relay-direct.c */
/* Watches the leg's webrtcbin for its DTLS keys; then hands it to the fan-out or links it. */
void kmg_relay_direct_watch (KmgRelayLeg *leg);
/* Stops the fan-out forwarding to the leg at once (no-op when it has none). */
void kmg_relay_direct_stop (KmgRelayLeg *leg);
/* Once a second: the leg's receiver report and closed seconds from the fan-out (@seconds:
 * scratch, KmgMeterSecond). */
void kmg_relay_direct_poll (KmgRelayLeg *leg, gint64 now_ms, gint64 now_second, GArray *seconds);

/* kmg-relay-cert.c */
/* A new self-signed certificate and its private key (EC P-256), PEM, for a DTLS agent, and the
 * certificate's SHA-256 fingerprint ("AB:CD:…") in @fingerprint. */
char *kmg_relay_cert_new_pem (char **fingerprint, GError **error);
/* Gives @leg a new certificate (dtls_pem, dtls_fingerprint) for its next webrtcbin. */
gboolean kmg_relay_leg_renew_certificate (KmgRelayLeg *leg, GError **error);


/* kmg-relay-stats.c */
typedef struct
{
  double fraction_lost, rtt, jitter;
  guint64 fingerprint;
} KmgRrSample;
gboolean kmg_relay_stats_parse_rr (const GstStructure *stats, guint clock_rate, KmgRrSample *out);

G_END_DECLS
