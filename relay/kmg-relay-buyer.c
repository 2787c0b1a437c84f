/* kmg-relay-buyer.c — a buyer leg: leaky queue → kamegormeter → webrtcbin (relay offers),
 * its keyframe-on-connect, receiver report polling and per-second measurements. Threads: the
 * first-buffer probe and get-stats promise run on GStreamer threads and hop to the main
 * context; meter messages arrive through the seller pipeline's bus watch. */
#include "kmg-relay-buyer.h"

#include "kmg-relay-direct.h"
#include "kmg-relay-stats.h"
#include "kmg-relay-cert.h"
#include "kmg-relay-webrtc.h"

static void link_to_tee (KmgRelayLeg *leg);
static void account_second (KmgRelayLeg *leg, gint64 second, guint64 packets, guint64 bytes);

static void
on_first_rtp_main (KmgRelayLeg *leg, gpointer data)
{
  KmgRelay *relay = leg->seller->relay;

  if (leg->first_rtp || leg->stopped || data != leg->meter)
    return;
  leg->first_rtp = TRUE;
  if (relay->cb.first_rtp != NULL && !relay->destroying)
    relay->cb.first_rtp (leg, relay->user_data);
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
build_bin (KmgRelayLeg *leg, GError **error)
{
  KmgRelay *relay = leg->seller->relay;
  GstCaps *caps = leg->seller->caps;

  leg->bin = gst_bin_new (NULL);
  /* Named (unique within the leg's bin): its streaming thread, which forwards every packet of
   * the leg, then shows as "kmg-leg:src" in top -H and profiles. */
  leg->queue = gst_element_factory_make ("queue", "kmg-leg");
  leg->meter = gst_element_factory_make ("kamegormeter", NULL);
  leg->webrtc = kmg_relay_webrtc_new (relay, leg, error);
  if (leg->queue == NULL || leg->meter == NULL || leg->webrtc == NULL)
    {
      if (leg->queue == NULL || leg->meter == NULL)
        g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_PIPELINE, "cannot create queue or meter");
      return FALSE;
    }
  /* Leaky: a buyer that is slow or not negotiated yet loses its own packets instead of
   * blocking the tee and with it every other buyer. Room for a whole keyframe burst (a
   * 640x480 keyframe is dozens of packets, more at higher resolutions), a few hundred KB. */
  g_object_set (leg->queue, "leaky", 2, "max-size-buffers", KMG_RELAY_BUYER_QUEUE_PACKETS, "max-size-bytes", 0,
                "max-size-time", (guint64) 0, NULL);
  g_autofree char *pt = g_strdup_printf ("%u", caps_payload_type (caps));
  g_object_set (leg->meter, "payload-types", pt, NULL);
  gst_bin_add_many (GST_BIN (leg->bin), leg->queue, leg->meter, leg->webrtc, NULL);
  gst_element_link (leg->queue, leg->meter);

  /* The seller's caps carry payload type and SSRC: the offer then matches the forwarded RTP. */
  GstPadTemplate *templ = gst_element_class_get_pad_template (GST_ELEMENT_GET_CLASS (leg->webrtc), "sink_%u");
  g_autoptr (GstPad) sink = gst_element_request_pad (leg->webrtc, templ, NULL, caps);
  g_autoptr (GstPad) meter_src = gst_element_get_static_pad (leg->meter, "src");
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

  g_autoptr (GstPad) queue_sink = gst_element_get_static_pad (leg->queue, "sink");
  gst_element_add_pad (leg->bin, gst_ghost_pad_new ("sink", queue_sink));
  return TRUE;
}

/* Keys set: DTLS is done and the leg can carry media, through the fan-out when its ICE pair is
 * UDP, else through its own webrtcbin. */
static void
on_ready (KmgRelayLeg *leg)
{
  g_autoptr (GError) error = NULL;

  if (leg->target != NULL || leg->tee_pad != NULL)
    return;
  if (leg->seller->relay->config->direct_udp && kmg_relay_direct_start (leg, &error))
    {
      GST_INFO ("buyer leg of session %" G_GINT64_FORMAT ": forwarded directly over UDP", leg->session_id);
      /* Some receivers never ask for a keyframe when they join mid-stream: ask for them. */
      g_autoptr (GstPad) tee_sink = gst_element_get_static_pad (leg->seller->tee, "sink");
      kmg_relay_request_keyframe (tee_sink);
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
  link_to_tee (leg);
}

void
kmg_relay_buyer_build (KmgRelayLeg *leg)
{
  g_autoptr (GError) error = NULL;
  KmgSeller *seller = leg->seller;

  if (leg->built || leg->stopped || seller == NULL || seller->caps == NULL)
    return;
  leg->built = TRUE;
  if (!build_bin (leg, &error))
    {
      g_warning ("buyer leg of session %" G_GINT64_FORMAT ": %s", leg->session_id, error->message);
      gst_clear_object (&leg->bin);
      leg->queue = leg->meter = leg->webrtc = NULL;
      kmg_relay_leg_set_state (leg, KMG_RELAY_LEG_STATE_FAILED);
      return;
    }
  /* Not linked to the tee yet: nothing to send before DTLS is done, then the leg goes to the
   * fan-out or, failing that, to the tee (on_ready). */
  kmg_relay_direct_watch (leg, on_ready);
  gst_bin_add (GST_BIN (seller->pipeline), leg->bin);
  gst_element_sync_state_with_parent (leg->bin);
  /* webrtcbin offers once its sink pad has caps: give it the seller's, without media. */
  g_autoptr (GstPad) queue_sink = gst_element_get_static_pad (leg->queue, "sink");
  g_autofree char *stream_id = g_strdup_printf ("kamegor-relay/session-%" G_GINT64_FORMAT, leg->session_id);
  GstSegment segment;
  gst_segment_init (&segment, GST_FORMAT_TIME);
  gst_pad_send_event (queue_sink, gst_event_new_stream_start (stream_id));
  gst_pad_send_event (queue_sink, gst_event_new_caps (seller->caps));
  gst_pad_send_event (queue_sink, gst_event_new_segment (&segment));
}

static void
link_to_tee (KmgRelayLeg *leg)
{
  KmgSeller *seller = leg->seller;

  if (leg->bin == NULL || leg->tee_pad != NULL || leg->stopped)
    return;
  leg->tee_pad = gst_element_request_pad_simple (seller->tee, "src_%u");
  g_autoptr (GstPad) bin_sink = gst_element_get_static_pad (leg->bin, "sink");
  if (gst_pad_link (leg->tee_pad, bin_sink) != GST_PAD_LINK_OK)
    {
      g_warning ("buyer leg of session %" G_GINT64_FORMAT ": cannot link to the seller's tee", leg->session_id);
      return;
    }
  /* Some receivers never ask for a keyframe when they join mid-stream: ask for them. */
  g_autoptr (GstPad) queue_sink = gst_element_get_static_pad (leg->queue, "sink");
  kmg_relay_request_keyframe (queue_sink);
}

void
kmg_relay_buyer_teardown (KmgRelayLeg *leg)
{
  KmgSeller *seller = leg->seller;

  kmg_relay_direct_stop (leg);

  if (leg->tee_pad != NULL && seller != NULL)
    {
      g_autoptr (GstPad) peer = gst_pad_get_peer (leg->tee_pad);
      if (peer != NULL)
        gst_pad_unlink (leg->tee_pad, peer);
      gst_element_release_request_pad (seller->tee, leg->tee_pad);
    }
  gst_clear_object (&leg->tee_pad);
  if (leg->bin != NULL)
    {
      gst_element_set_state (leg->bin, GST_STATE_NULL);
      if (seller != NULL)
        gst_bin_remove (GST_BIN (seller->pipeline), leg->bin);
      else
        gst_object_unref (leg->bin);
    }
  leg->bin = leg->queue = leg->meter = leg->webrtc = NULL;
}


void
kmg_relay_buyer_on_meter (KmgRelayLeg *leg, const GstStructure *s)
{
  gint64 second = 0;
  guint64 packets = 0, bytes = 0;

  gst_structure_get (s, "second", G_TYPE_INT64, &second, "packets", G_TYPE_UINT64, &packets,
                     "bytes", G_TYPE_UINT64, &bytes, NULL);
  account_second (leg, second, packets, bytes);
}

static void
account_second (KmgRelayLeg *leg, gint64 second, guint64 packets, guint64 bytes)
{
  KmgRelay *relay = leg->seller->relay;
  KmgRelaySecond ds = { .second = second, .packets = packets, .bytes = bytes };

  if (leg->stopped)
    return;
  ds.rr_age_ms = kmg_rr_freshness_age_ms (&leg->rr, g_get_monotonic_time () / 1000);
  ds.fraction_lost = leg->fraction_lost;
  ds.jitter = leg->jitter;
  ds.rtt = leg->rtt;
  relay->stats.packets += ds.packets;
  relay->stats.bytes += ds.bytes;
  if (relay->cb.measured_second != NULL && !relay->destroying)
    relay->cb.measured_second (leg, &ds, relay->user_data);
}

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
  StatsReply *r = data;
  KmgRrSample rr;
  gint clock_rate = 90000;

  leg->stats_pending = FALSE;
  if (r->webrtc != leg->webrtc || r->reply == NULL || leg->seller->caps == NULL)
    return;
  gst_structure_get_int (gst_caps_get_structure (leg->seller->caps, 0), "clock-rate", &clock_rate);
  if (!kmg_relay_stats_parse_rr (r->reply, (guint) clock_rate, &rr))
    return;
  kmg_rr_freshness_update (&leg->rr, rr.fingerprint, g_get_monotonic_time () / 1000);
  leg->fraction_lost = rr.fraction_lost;
  leg->rtt = rr.rtt;
  leg->jitter = rr.jitter;
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
poll_stats (KmgRelayLeg *leg)
{
  if (leg->webrtc == NULL || leg->stopped || leg->stats_pending || !leg->ever_connected)
    return;
  StatsCtx *ctx = g_new0 (StatsCtx, 1);
  ctx->leg = kmg_relay_leg_ref (leg);
  ctx->webrtc = leg->webrtc;
  leg->stats_pending = TRUE;
  GstPromise *promise = gst_promise_new_with_change_func (on_stats_reply, ctx, stats_ctx_free);
  g_signal_emit_by_name (leg->webrtc, "get-stats", NULL, promise);
}

void
kmg_relay_buyer_poll (KmgRelayLeg *leg, gint64 now_ms, gint64 now_second, GArray *seconds)
{
  if (leg->target == NULL)
    {
      poll_stats (leg);
      return;
    }
  kmg_relay_direct_poll (leg, now_ms, now_second, seconds);
  for (guint i = 0; i < seconds->len && !leg->stopped; i++)
    {
      const KmgMeterSecond *s = &g_array_index (seconds, KmgMeterSecond, i);
      account_second (leg, s->second, s->packets, s->payload_bytes);
    }
}

void
kmg_relay_buyer_cut (KmgRelayLeg *leg)
{
  KmgSeller *seller = leg->seller;

  /* The fan-out or the meter drops from the very next packet, then the branch is cut. */
  kmg_relay_direct_stop (leg);
  if (leg->meter != NULL)
    g_object_set (leg->meter, "drop", TRUE, NULL);
  if (leg->tee_pad != NULL)
    {
      g_autoptr (GstPad) peer = gst_pad_get_peer (leg->tee_pad);
      if (peer != NULL)
        gst_pad_unlink (leg->tee_pad, peer);
      gst_element_release_request_pad (seller->tee, leg->tee_pad);
      gst_clear_object (&leg->tee_pad);
    }
}

gboolean
kmg_relay_buyer_restart (KmgRelayLeg *leg, GError **error)
{
  /* A fresh transport for the buyer: new ICE credentials and DTLS (with a certificate of its
   * own, so the buyer sees a new fingerprint and shakes hands again), and a new offer. */
  if (!kmg_relay_leg_renew_certificate (leg, error))
    return FALSE;
  kmg_relay_buyer_teardown (leg); /* the fan-out first, then the elements */
  leg->built = FALSE;
  leg->first_rtp = FALSE;
  leg->ever_connected = FALSE;
  leg->rr = (KmgRrFreshness) { 0 };
  leg->state = KMG_RELAY_LEG_STATE_NEW;
  if (leg->seller->caps != NULL)
    kmg_relay_buyer_build (leg);
  return TRUE;
}

static void
on_connected (KmgRelayLeg *leg)
{
  if (leg->queue != NULL)
    leg->ever_connected = TRUE;
}

/* The leg's ICE pair moved to TCP under the fan-out: handing the stream back to the leg's
 * webrtcbin mid-way would not match the buyer's SRTP state, so a fresh leg starts clean. */
static void
on_path_lost (KmgRelayLeg *leg)
{
  g_autoptr (GError) error = NULL;

  GST_INFO ("buyer leg of session %" G_GINT64_FORMAT ": restarting the leg", leg->session_id);
  if (!kmg_relay_buyer_restart (leg, &error))
    GST_WARNING ("buyer leg of session %" G_GINT64_FORMAT ": %s", leg->session_id, error->message);
}

static const KmgRelayLegRole buyer_role = {
  .connected = on_connected,
  .path_lost = on_path_lost,
};

KmgRelayLeg *
kmg_relay_buyer_new (KmgRelay *relay, KmgSeller *seller, gint64 session_id)
{
  return kmg_relay_leg_new (relay, seller, KMG_RELAY_LEG_BUYER, &buyer_role, session_id);
}
