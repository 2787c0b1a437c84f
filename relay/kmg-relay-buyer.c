/* kmg-relay-buyer.c — a buyer leg: leaky queue → kamegormeter → webrtcbin (relay offers), the
 * path its media takes once DTLS is done (the seller's tee into that webrtcbin, or the seller's
 * fan-out), its keyframe-on-connect, receiver report polling and per-second measurements.
 * Threads: the first-buffer probe and get-stats promise run on GStreamer threads and hop to the
 * main context; meter messages arrive through the seller pipeline's bus watch. */
#include "kmg-relay-buyer.h"

#include "kmg-relay-stats.h"
#include "kmg-relay-cert.h"
#include "kmg-relay-webrtc.h"

/* Packets a buyer leg's leaky queue holds before it drops the oldest. */
#define KMG_RELAY_BUYER_QUEUE_PACKETS 256

/* One way media reaches a buyer; the leg's fields a path uses are named in KmgRelayBuyerLeg. */
struct _KmgRelayBuyerPath
{
  const char *name;
  /* Stops forwarding to the leg at once. NULL: nothing to stop. */
  void (*leave) (KmgRelayBuyerLeg *buyer);
  /* Once a second: the buyer's receiver report, and the seconds forwarded (@seconds: scratch). */
  void (*poll) (KmgRelayBuyerLeg *buyer, gint64 now_ms, gint64 now_second, GArray *seconds);
};

static const KmgRelayBuyerPath path_none, path_tee, path_fanout;

static void account_second (KmgRelayBuyerLeg *buyer, gint64 second, guint64 packets, guint64 bytes);

/* Whichever path carried it: the first packet on its way to the buyer. */
static void
report_first_rtp (KmgRelayBuyerLeg *buyer)
{
  KmgRelay *relay = buyer->leg.seller->relay;

  if (buyer->first_rtp || buyer->leg.stopped)
    return;
  buyer->first_rtp = TRUE;
  if (relay->cb.first_rtp != NULL && !relay->destroying)
    relay->cb.first_rtp (&buyer->leg, relay->user_data);
}

static void
on_first_rtp_main (KmgRelayLeg *leg, gpointer data)
{
  KmgRelayBuyerLeg *buyer = KMG_RELAY_BUYER_LEG (leg);

  if (data == buyer->meter)
    report_first_rtp (buyer);
}

static GstPadProbeReturn
on_first_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  KmgRelayLeg *leg = user_data;
  g_autoptr (GstElement) meter = gst_pad_get_parent_element (pad);

  kmg_relay_leg_hop (leg, on_first_rtp_main, meter, NULL);
  return GST_PAD_PROBE_REMOVE;
}

static guint
caps_payload_type (GstCaps *caps)
{
  gint pt = -1;

  if (gst_caps_get_size (caps) > 0)
    gst_structure_get_int (gst_caps_get_structure (caps, 0), "payload", &pt);
  return pt >= 0 && pt < 128 ? (guint) pt : 96;
}

static gboolean
build_bin (KmgRelayBuyerLeg *buyer, GError **error)
{
  KmgRelayLeg *leg = &buyer->leg;
  KmgRelay *relay = leg->seller->relay;
  GstCaps *caps = leg->seller->caps;

  buyer->bin = gst_bin_new (NULL);
  /* Named (unique within the leg's bin): its streaming thread, which forwards every packet of
   * the leg, then shows as "kmg-leg:src" in top -H and profiles. */
  buyer->queue = gst_element_factory_make ("queue", "kmg-leg");
  buyer->meter = gst_element_factory_make ("kamegormeter", NULL);
  leg->webrtc = kmg_relay_webrtc_new (relay, leg, error);
  if (buyer->queue == NULL || buyer->meter == NULL || leg->webrtc == NULL)
    {
      if (buyer->queue == NULL || buyer->meter == NULL)
        g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_PIPELINE, "cannot create queue or meter");
      return FALSE;
    }
  /* Leaky: a buyer that is slow or not negotiated yet loses its own packets instead of
   * blocking the tee and with it every other buyer. Room for a whole keyframe burst (a
   * 640x480 keyframe is dozens of packets, more at higher resolutions), a few hundred KB. */
  g_object_set (buyer->queue, "leaky", 2, "max-size-buffers", KMG_RELAY_BUYER_QUEUE_PACKETS, "max-size-bytes", 0,
                "max-size-time", (guint64) 0, NULL);
  g_autofree char *pt = g_strdup_printf ("%u", caps_payload_type (caps));
  g_object_set (buyer->meter, "payload-types", pt, NULL);
  gst_bin_add_many (GST_BIN (buyer->bin), buyer->queue, buyer->meter, leg->webrtc, NULL);
  gst_element_link (buyer->queue, buyer->meter);

  /* The seller's caps carry payload type and SSRC: the offer then matches the forwarded RTP. */
  GstPadTemplate *templ = gst_element_class_get_pad_template (GST_ELEMENT_GET_CLASS (leg->webrtc), "sink_%u");
  g_autoptr (GstPad) sink = gst_element_request_pad (leg->webrtc, templ, NULL, caps);
  g_autoptr (GstPad) meter_src = gst_element_get_static_pad (buyer->meter, "src");
  g_autoptr (GstWebRTCRTPTransceiver) trans = NULL;
  if (sink == NULL || gst_pad_link (meter_src, sink) != GST_PAD_LINK_OK)
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_PIPELINE, "cannot link buyer webrtcbin");
      return FALSE;
    }
  g_object_get (sink, "transceiver", &trans, NULL);
  if (trans != NULL)
    g_object_set (trans, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, "do-nack", TRUE, NULL);
  gst_pad_add_probe (meter_src, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, on_first_buffer,
                     kmg_relay_leg_ref (leg), (GDestroyNotify) kmg_relay_leg_unref);

  g_autoptr (GstPad) queue_sink = gst_element_get_static_pad (buyer->queue, "sink");
  gst_element_add_pad (buyer->bin, gst_ghost_pad_new ("sink", queue_sink));
  return TRUE;
}

/* ---- the paths ---- */

/* Stops the leg's path at once; it is on none after. */
static void
leave_path (KmgRelayBuyerLeg *buyer)
{
  if (buyer->path->leave == NULL)
    return;
  GST_DEBUG ("buyer leg of session %" G_GINT64_FORMAT ": leaves the %s path", buyer->leg.session_id,
             buyer->path->name);
  buyer->path->leave (buyer);
  buyer->path = &path_none;
}

/* The tee path: the seller's tee → the leg's bin, sent by the leg's own webrtcbin. */
static void
enter_tee (KmgRelayBuyerLeg *buyer)
{
  KmgRelayLeg *leg = &buyer->leg;
  KmgSeller *seller = leg->seller;

  if (buyer->bin == NULL || leg->stopped)
    return;
  buyer->path = &path_tee;
  buyer->tee_pad = gst_element_request_pad_simple (seller->tee, "src_%u");
  g_autoptr (GstPad) bin_sink = gst_element_get_static_pad (buyer->bin, "sink");
  if (gst_pad_link (buyer->tee_pad, bin_sink) != GST_PAD_LINK_OK)
    {
      g_warning ("buyer leg of session %" G_GINT64_FORMAT ": cannot link to the seller's tee", leg->session_id);
      return;
    }
  /* Some receivers never ask for a keyframe when they join mid-stream: ask for them. */
  g_autoptr (GstPad) queue_sink = gst_element_get_static_pad (buyer->queue, "sink");
  kmg_relay_request_keyframe (queue_sink);
}

static void
leave_tee (KmgRelayBuyerLeg *buyer)
{
  KmgSeller *seller = buyer->leg.seller;

  if (buyer->tee_pad != NULL && seller != NULL)
    {
      g_autoptr (GstPad) peer = gst_pad_get_peer (buyer->tee_pad);
      if (peer != NULL)
        gst_pad_unlink (buyer->tee_pad, peer);
      gst_element_release_request_pad (seller->tee, buyer->tee_pad);
    }
  gst_clear_object (&buyer->tee_pad);
}

/* The fan-out path: the seller's fan-out sends on the leg's UDP ICE socket; its webrtcbin keeps
 * ICE and DTLS only. */
static gboolean
enter_fanout (KmgRelayBuyerLeg *buyer, GError **error)
{
  KmgRelayLeg *leg = &buyer->leg;

  if (!kmg_relay_direct_start (&buyer->fanout, leg, error))
    return FALSE;
  buyer->path = &path_fanout;
  /* Some receivers never ask for a keyframe when they join mid-stream: ask for them. */
  g_autoptr (GstPad) tee_sink = gst_element_get_static_pad (leg->seller->tee, "sink");
  kmg_relay_request_keyframe (tee_sink);
  return TRUE;
}

static void
leave_fanout (KmgRelayBuyerLeg *buyer)
{
  kmg_relay_direct_stop (&buyer->fanout);
}

/* The none and tee paths: the leg's webrtcbin has the buyer's receiver reports. */
static void poll_stats (KmgRelayBuyerLeg *buyer, gint64 now_ms, gint64 now_second, GArray *seconds);

static void
poll_fanout (KmgRelayBuyerLeg *buyer, gint64 now_ms, gint64 now_second, GArray *seconds)
{
  KmgFanoutFeedback report;

  kmg_relay_direct_poll (&buyer->fanout, now_second, &report, seconds);
  if (report.have_rr)
    {
      kmg_rr_freshness_update (&buyer->rr, report.rr_fingerprint, now_ms);
      buyer->fraction_lost = report.fraction_lost;
      buyer->jitter = report.jitter;
      buyer->rtt = report.rtt;
    }
  for (guint i = 0; i < seconds->len && !buyer->leg.stopped; i++)
    {
      const KmgMeterSecond *s = &g_array_index (seconds, KmgMeterSecond, i);
      account_second (buyer, s->second, s->packets, s->payload_bytes);
    }
}

/* On the tee path NACKs are answered by the webrtcbin's own RTX sender (do-nack): its resends
 * count with the fan-out's. */
static void
poll_tee (KmgRelayBuyerLeg *buyer, gint64 now_ms, gint64 now_second, GArray *seconds)
{
  KmgRelayLeg *leg = &buyer->leg;
  g_autoptr (GstElement) rtx = leg->webrtc != NULL ? kmg_relay_find_element (leg->webrtc, "rtprtxsend") : NULL;
  guint sent = 0;

  if (rtx != NULL)
    {
      g_object_get (rtx, "num-rtx-packets", &sent, NULL);
      leg->seller->relay->stats.retransmissions_sent += sent >= buyer->rtx_seen ? sent - buyer->rtx_seen : sent;
      buyer->rtx_seen = sent;
    }
  poll_stats (buyer, now_ms, now_second, seconds);
}

static const KmgRelayBuyerPath path_none = { "none", NULL, poll_stats };
static const KmgRelayBuyerPath path_tee = { "webrtcbin", leave_tee, poll_tee };
static const KmgRelayBuyerPath path_fanout = { "fan-out", leave_fanout, poll_fanout };

/* Keys set: DTLS is done and the leg can carry media, through the fan-out when its ICE pair is
 * UDP, else through its own webrtcbin. */
static void
on_ready (KmgRelayLeg *leg)
{
  KmgRelayBuyerLeg *buyer = KMG_RELAY_BUYER_LEG (leg);
  g_autoptr (GError) error = NULL;

  if (buyer->path != &path_none)
    return;
  if (leg->seller->relay->config->direct_udp && enter_fanout (buyer, &error))
    {
      GST_INFO ("buyer leg of session %" G_GINT64_FORMAT ": forwarded directly over UDP", leg->session_id);
      return;
    }
  if (g_error_matches (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_DENIED_ADDRESS))
    {
      GST_WARNING ("buyer leg of session %" G_GINT64_FORMAT ": %s", leg->session_id, error->message);
      kmg_relay_leg_set_state (leg, KMG_RELAY_LEG_STATE_FAILED);
      return;
    }
  if (error != NULL)
    GST_INFO ("buyer leg of session %" G_GINT64_FORMAT ": through webrtcbin (%s)", leg->session_id, error->message);
  enter_tee (buyer);
}

void
kmg_relay_buyer_build (KmgRelayBuyerLeg *buyer)
{
  g_autoptr (GError) error = NULL;
  KmgRelayLeg *leg = &buyer->leg;
  KmgSeller *seller = leg->seller;

  if (buyer->built || leg->stopped || seller == NULL || seller->caps == NULL)
    return;
  buyer->built = TRUE;
  if (!build_bin (buyer, &error))
    {
      g_warning ("buyer leg of session %" G_GINT64_FORMAT ": %s", leg->session_id, error->message);
      gst_clear_object (&buyer->bin);
      buyer->queue = buyer->meter = leg->webrtc = NULL;
      kmg_relay_leg_set_state (leg, KMG_RELAY_LEG_STATE_FAILED);
      return;
    }
  /* Not linked to the tee yet: nothing to send before DTLS is done, then the leg goes to the
   * fan-out or, failing that, to the tee (on_ready). */
  kmg_relay_direct_watch (leg, on_ready);
  gst_bin_add (GST_BIN (seller->pipeline), buyer->bin);
  gst_element_sync_state_with_parent (buyer->bin);
  /* webrtcbin offers once its sink pad has caps: give it the seller's, without media. */
  g_autoptr (GstPad) queue_sink = gst_element_get_static_pad (buyer->queue, "sink");
  g_autofree char *stream_id = g_strdup_printf ("kamegor-relay/session-%" G_GINT64_FORMAT, leg->session_id);
  GstSegment segment;
  gst_segment_init (&segment, GST_FORMAT_TIME);
  gst_pad_send_event (queue_sink, gst_event_new_stream_start (stream_id));
  gst_pad_send_event (queue_sink, gst_event_new_caps (seller->caps));
  gst_pad_send_event (queue_sink, gst_event_new_segment (&segment));
}

void
kmg_relay_buyer_teardown (KmgRelayBuyerLeg *buyer)
{
  KmgRelayLeg *leg = &buyer->leg;
  KmgSeller *seller = leg->seller;

  leave_path (buyer); /* the fan-out target or the tee pad first */
  if (buyer->bin != NULL)
    {
      gst_element_set_state (buyer->bin, GST_STATE_NULL);
      if (seller != NULL)
        gst_bin_remove (GST_BIN (seller->pipeline), buyer->bin);
      else
        gst_object_unref (buyer->bin);
    }
  buyer->bin = buyer->queue = buyer->meter = leg->webrtc = NULL;
}

void
kmg_relay_buyer_on_meter (KmgRelayBuyerLeg *buyer, const GstStructure *s)
{
  gint64 second = 0;
  guint64 packets = 0, bytes = 0;

  gst_structure_get (s, "second", G_TYPE_INT64, &second, "packets", G_TYPE_UINT64, &packets,
                     "bytes", G_TYPE_UINT64, &bytes, NULL);
  account_second (buyer, second, packets, bytes);
}

static void
account_second (KmgRelayBuyerLeg *buyer, gint64 second, guint64 packets, guint64 bytes)
{
  KmgRelayLeg *leg = &buyer->leg;
  KmgRelay *relay = leg->seller->relay;
  KmgRelaySecond ds = { .second = second, .packets = packets, .bytes = bytes };

  if (leg->stopped)
    return;
  ds.rr_age_ms = kmg_rr_freshness_age_ms (&buyer->rr, g_get_monotonic_time () / 1000);
  ds.fraction_lost = buyer->fraction_lost;
  ds.jitter = buyer->jitter;
  ds.rtt = buyer->rtt;
  relay->stats.packets += ds.packets;
  relay->stats.bytes += ds.bytes;
  if (relay->cb.measured_second != NULL && !relay->destroying)
    relay->cb.measured_second (leg, &ds, relay->user_data);
}

/* ---- receiver reports from webrtcbin ---- */

typedef struct
{
  GstElement *webrtc;
  GstStructure *reply;
} StatsReply;

static void
stats_reply_free (gpointer data)
{
  StatsReply *r = data;
  if (r->reply != NULL)
    gst_structure_free (r->reply);
  g_free (r);
}

static void
on_stats_main (KmgRelayLeg *leg, gpointer data)
{
  KmgRelayBuyerLeg *buyer = KMG_RELAY_BUYER_LEG (leg);
  StatsReply *r = data;
  KmgRrSample rr;
  gint clock_rate = 90000;

  buyer->stats_pending = FALSE;
  if (r->webrtc != leg->webrtc || r->reply == NULL || leg->seller->caps == NULL)
    return;
  gst_structure_get_int (gst_caps_get_structure (leg->seller->caps, 0), "clock-rate", &clock_rate);
  if (!kmg_relay_stats_parse_rr (r->reply, (guint) clock_rate, &rr))
    return;
  kmg_rr_freshness_update (&buyer->rr, rr.fingerprint, g_get_monotonic_time () / 1000);
  buyer->fraction_lost = rr.fraction_lost;
  buyer->rtt = rr.rtt;
  buyer->jitter = rr.jitter;
}

typedef struct
{
  KmgRelayLeg *leg;
  GstElement *webrtc;
} StatsCtx;

static void
stats_ctx_free (gpointer data)
{
  StatsCtx *ctx = data;
  kmg_relay_leg_unref (ctx->leg);
  g_free (ctx);
}

static void
on_stats_reply (GstPromise *promise, gpointer user_data)
{
  StatsCtx *ctx = user_data;
  StatsReply *r = g_new0 (StatsReply, 1);

  r->webrtc = ctx->webrtc;
  if (gst_promise_wait (promise) == GST_PROMISE_RESULT_REPLIED && gst_promise_get_reply (promise) != NULL)
    r->reply = gst_structure_copy (gst_promise_get_reply (promise));
  gst_promise_unref (promise);
  kmg_relay_leg_hop (ctx->leg, on_stats_main, r, stats_reply_free);
}

static void
poll_stats (KmgRelayBuyerLeg *buyer, gint64 now_ms, gint64 now_second, GArray *seconds)
{
  KmgRelayLeg *leg = &buyer->leg;

  if (leg->webrtc == NULL || leg->stopped || buyer->stats_pending || !buyer->ever_connected)
    return;
  StatsCtx *ctx = g_new0 (StatsCtx, 1);
  ctx->leg = kmg_relay_leg_ref (leg);
  ctx->webrtc = leg->webrtc;
  buyer->stats_pending = TRUE;
  GstPromise *promise = gst_promise_new_with_change_func (on_stats_reply, ctx, stats_ctx_free);
  g_signal_emit_by_name (leg->webrtc, "get-stats", NULL, promise);
}

void
kmg_relay_buyer_poll (KmgRelayBuyerLeg *buyer, gint64 now_ms, gint64 now_second, GArray *seconds)
{
  buyer->path->poll (buyer, now_ms, now_second, seconds);
}

void
kmg_relay_buyer_cut (KmgRelayBuyerLeg *buyer)
{
  /* The meter drops from the very next packet, then the fan-out target or the branch is cut. */
  if (buyer->meter != NULL)
    g_object_set (buyer->meter, "drop", TRUE, NULL);
  leave_path (buyer);
}

gboolean
kmg_relay_buyer_restart (KmgRelayBuyerLeg *buyer, GError **error)
{
  KmgRelayLeg *leg = &buyer->leg;

  /* A fresh transport for the buyer: new ICE credentials and DTLS (with a certificate of its
   * own, so the buyer sees a new fingerprint and shakes hands again), and a new offer. */
  if (!kmg_relay_leg_renew_certificate (leg, error))
    return FALSE;
  kmg_relay_buyer_teardown (buyer); /* the fan-out first, then the elements */
  buyer->built = FALSE;
  buyer->first_rtp = FALSE;
  buyer->ever_connected = FALSE;
  buyer->rtx_seen = 0;
  buyer->rr = (KmgRrFreshness) { 0 };
  leg->state = KMG_RELAY_LEG_STATE_NEW;
  if (leg->seller->caps != NULL)
    kmg_relay_buyer_build (buyer);
  return TRUE;
}

/* ---- what the transports report ---- */

static void
on_connected (KmgRelayLeg *leg)
{
  KmgRelayBuyerLeg *buyer = KMG_RELAY_BUYER_LEG (leg);

  if (buyer->queue != NULL)
    buyer->ever_connected = TRUE;
}

/* The leg's ICE pair moved to TCP under the fan-out: handing the stream back to the leg's
 * webrtcbin mid-way would not match the buyer's SRTP state, so a fresh leg starts clean. */
static void
on_path_lost (KmgRelayLeg *leg)
{
  g_autoptr (GError) error = NULL;

  GST_INFO ("buyer leg of session %" G_GINT64_FORMAT ": restarting the leg", leg->session_id);
  if (!kmg_relay_buyer_restart (KMG_RELAY_BUYER_LEG (leg), &error))
    GST_WARNING ("buyer leg of session %" G_GINT64_FORMAT ": %s", leg->session_id, error->message);
}

/* The fan-out sent the leg's first packet. */
static void
on_media_sent (KmgRelayLeg *leg)
{
  report_first_rtp (KMG_RELAY_BUYER_LEG (leg));
}

static const KmgRelayLegRole buyer_role = {
  .connected = on_connected,
  .path_lost = on_path_lost,
  .media_sent = on_media_sent,
};

KmgRelayBuyerLeg *
kmg_relay_buyer_new (KmgRelay *relay, KmgSeller *seller, gint64 session_id)
{
  KmgRelayBuyerLeg *buyer = (KmgRelayBuyerLeg *) kmg_relay_leg_new (sizeof (KmgRelayBuyerLeg), relay, seller,
                                                                    KMG_RELAY_LEG_BUYER, &buyer_role, session_id);

  buyer->fraction_lost = buyer->jitter = buyer->rtt = -1;
  buyer->path = &path_none;
  return buyer;
}
