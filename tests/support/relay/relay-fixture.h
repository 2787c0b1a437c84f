/* relay-fixture.h — a two-peer loopback fixture: a test seller webrtcbin sending VP8 and
 * buyer webrtcbins decoding it, all talking to an in-process KmgRelay on 127.0.0.1. */
#pragma once

#define GST_USE_UNSTABLE_API 1
#include <gst/gst.h>
#include <gst/webrtc/webrtc.h>

#include "kmg-relay.h"

/* The one seller of the fixture. */
#define RELAY_FIXTURE_SELLER_ID 1

typedef struct _RelayFixture RelayFixture;

typedef struct
{
  RelayFixture *fx;
  char *tag;
  gint64 session_id; /* buyers: numbered from 1 in the order they were added */
  KmgRelayLeg *leg;
  GstElement *pipeline;
  GstElement *webrtc;
  gboolean never_answer;
  gint frames;      /* decoded, atomic */
  gint rtp_packets; /* received from the relay, atomic */
  gboolean first_rtp;
  KmgRelayLegState state;
  GArray *seconds; /* KmgRelaySecond */
  char *relay_sdp;  /* the relay's last description for this peer */
  gint relay_candidates;        /* candidates the relay sent (not counting end markers) */
  gint relay_candidates_mid_ok; /* of those, with the a=mid of their m-line in relay_sdp */
  gint relay_end_markers;       /* end-of-candidates markers, with that m-line's mid */
  gint rtp_dropped;             /* with buyer_drop_every: RTP packets lost on purpose, atomic */
  guint rtp_seen;               /* with buyer_drop_every: the ICE source's streaming thread only */
} TestPeer;

struct _RelayFixture
{
  KmgRelay *relay;
  KmgRelayConfig *config;
  TestPeer *seller;
  GPtrArray *buyers; /* TestPeer */
  gint64 last_session_id;
  KmgRelayLegState seller_state;
  gboolean count_only; /* buyers count RTP without decoding (load runs) */
  gboolean light_buyers; /* buyers count and drop SRTP at their ICE source (larger load runs) */
  const char *seller_video; /* raw caps + encoder options override (load runs); NULL = tiny */
  /* Buyers added from now on lose every Nth RTP packet from the relay at their ICE source and
   * ask for it again (do-nack); 0 = no loss. */
  guint buyer_drop_every;

  /* Load runs: kernel thread ids of the test peers' streaming threads, so a benchmark can
   * tell the relay's own CPU from its in-process receivers'. Guarded by probe_lock. */
  GMutex probe_lock;
  GHashTable *peer_tids;
  /* Load runs with track_latency: seller send time per RTP sequence number (µs, monotonic)
   * and the send → buyer-output delays observed while recording is TRUE. */
  gboolean track_latency;
  gboolean recording;
  gint64 *sent_us; /* 65536 entries */
  gint sent_recorded; /* RTP packets the seller sent while recording, atomic */
  GArray *delays_us; /* gint64 */
};

/* Streaming threads of the test peers seen so far (tids, as in /proc/self/task). */
gboolean relay_fixture_is_peer_thread (RelayFixture *fx, gint tid);

void relay_fixture_init (RelayFixture *fx, KmgRelayConfig *config);
void relay_fixture_clear (RelayFixture *fx);
/* Adds a relayed buyer; the seller peer starts when the first buyer creates the seller leg. */
TestPeer *relay_fixture_add_buyer (RelayFixture *fx, const char *tag, gboolean never_answer);
/* Replaces a buyer's connection by a fresh one, as a phone on a new network would make: the old
 * one stops, frame and packet counts start again from 0. The relay's leg is not touched. */
void relay_fixture_renew_buyer (RelayFixture *fx, TestPeer *peer);
/* Runs the default main context until @pred is TRUE or @timeout_ms passes; returns @pred. */
gboolean relay_fixture_run_until (gboolean (*pred) (gpointer), gpointer data, guint timeout_ms);
void relay_fixture_run_for (guint ms);
