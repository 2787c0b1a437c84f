/* kmg-relay-seller.c — a seller leg: its own pipeline with webrtcbin (answering the seller's
 * offer) feeding a tee, the keyframe request throttle, and the pipeline bus. Threads: pad-added
 * and pad probes run on streaming threads; they hop to the main context (bus watch and
 * kmg_relay_leg_hop) for anything beyond linking pads and counting under a mutex. */
#include "kmg-relay-seller.h"

#include "kmg-relay-buyer.h"
#include "kmg-relay-cert.h"
#include "kmg-relay-webrtc.h"

#include <gst/video/video.h>

static void
on_caps_main (KmgRelayLeg *leg, gpointer data)
{
  KmgSeller *seller = leg->seller;
  GstCaps *caps = data;

  if (seller->caps != NULL && gst_caps_is_equal (seller->caps, caps))
    return;
  GST_INFO ("seller %" G_GINT64_FORMAT " media caps %" GST_PTR_FORMAT, seller->id, caps);
  gst_caps_replace (&seller->caps, caps);
  for (guint i = 0; i < seller->buyers->len; i++)
    kmg_relay_buyer_build (g_ptr_array_index (seller->buyers, i)); /* no-op when built */
}

static GstPadProbeReturn
on_seller_pad_event (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  GstCaps *caps = NULL;

  if (GST_EVENT_TYPE (event) != GST_EVENT_CAPS)
    return GST_PAD_PROBE_OK;
  gst_event_parse_caps (event, &caps);
  kmg_relay_leg_hop (user_data, on_caps_main, gst_caps_ref (caps), (GDestroyNotify) gst_caps_unref);
  return GST_PAD_PROBE_OK;
}

/* Caps are not known when the pad appears; the transceiver knows its media kind. */
static gboolean
pad_is_video (GstPad *pad)
{
  g_autoptr (GstWebRTCRTPTransceiver) trans = NULL;
  GstWebRTCKind kind = GST_WEBRTC_KIND_UNKNOWN;

  if (g_object_class_find_property (G_OBJECT_GET_CLASS (pad), "transceiver") == NULL)
    return TRUE;
  g_object_get (pad, "transceiver", &trans, NULL);
  if (trans == NULL)
    return TRUE;
  g_object_get (trans, "kind", &kind, NULL);
  return kind != GST_WEBRTC_KIND_AUDIO;
}

static gboolean
push_to_fanout (GstBuffer **buffer, guint idx, gpointer user_data)
{
  GstMapInfo map;

  if (gst_buffer_map (*buffer, &map, GST_MAP_READ))
    {
      kmg_fanout_push (user_data, map.data, map.size, g_get_real_time () / G_USEC_PER_SEC);
      gst_buffer_unmap (*buffer, &map);
    }
  return TRUE;
}

/* Seller leg's streaming thread: every video packet goes to the UDP buyers first, then on to
 * the tee for the others. */
static GstPadProbeReturn
on_seller_rtp (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  kmg_relay_probe_foreach_buffer (info, push_to_fanout, user_data);
  return GST_PAD_PROBE_OK;
}

/* Streaming thread: link at once so no media is lost; buyers are built on the main context. */
static void
on_pad_added (GstElement *webrtc, GstPad *pad, gpointer user_data)
{
  KmgRelayLeg *leg = user_data;
  KmgSeller *seller = leg->seller;

  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC || seller == NULL)
    return;
  g_autoptr (GstPad) tee_sink = gst_element_get_static_pad (seller->tee, "sink");
  if (!pad_is_video (pad) || gst_pad_is_linked (tee_sink))
    {
      /* Audio or a second video stream: not relayed, but must not stall the session. */
      GstElement *sink = gst_element_factory_make ("fakesink", NULL);
      g_object_set (sink, "async", FALSE, "sync", FALSE, NULL);
      gst_bin_add (GST_BIN (seller->pipeline), sink);
      gst_element_sync_state_with_parent (sink);
      g_autoptr (GstPad) sinkpad = gst_element_get_static_pad (sink, "sink");
      gst_pad_link (pad, sinkpad);
      return;
    }
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_seller_pad_event,
                     kmg_relay_leg_ref (leg), (GDestroyNotify) kmg_relay_leg_unref);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, on_seller_rtp,
                     seller->fanout, NULL);
  if (gst_pad_link (pad, tee_sink) != GST_PAD_LINK_OK)
    GST_WARNING ("seller %" G_GINT64_FORMAT ": cannot link media pad to tee", seller->id);
}

/* Streaming thread of a buyer: one lossy buyer must not make the seller send keyframes
 * for everyone, so upstream keyframe requests are spaced by keyframe_interval_ms. */
static GstPadProbeReturn
on_tee_upstream_event (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  KmgSeller *seller = user_data;
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  gboolean allow;

  if (!gst_video_event_is_force_key_unit (event))
    return GST_PAD_PROBE_OK;
  g_mutex_lock (&seller->kf_lock);
  allow = kmg_throttle_allow (&seller->kf_last_ms, g_get_monotonic_time () / 1000,
                              seller->relay->config->keyframe_interval_ms);
  g_mutex_unlock (&seller->kf_lock);

  g_mutex_lock (&seller->relay->lock);
  if (allow)
    seller->relay->kf_forwarded++;
  else
    seller->relay->kf_dropped++;
  g_mutex_unlock (&seller->relay->lock);
  return allow ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

static KmgRelayBuyerLeg *
find_buyer_by_meter (KmgSeller *seller, GstObject *src)
{
  for (guint i = 0; i < seller->buyers->len; i++)
    {
      KmgRelayBuyerLeg *buyer = g_ptr_array_index (seller->buyers, i);
      if (GST_OBJECT (buyer->meter) == src)
        return buyer;
    }
  return NULL;
}

static gboolean
on_bus_message (GstBus *bus, GstMessage *msg, gpointer user_data)
{
  KmgSeller *seller = user_data;

  switch (GST_MESSAGE_TYPE (msg))
    {
    case GST_MESSAGE_ELEMENT:
      {
        const GstStructure *s = gst_message_get_structure (msg);
        if (gst_structure_has_name (s, "kamegor-meter"))
          {
            KmgRelayBuyerLeg *buyer = find_buyer_by_meter (seller, GST_MESSAGE_SRC (msg));
            if (buyer != NULL)
              kmg_relay_buyer_on_meter (buyer, s);
          }
        break;
      }
    case GST_MESSAGE_ERROR:
      {
        g_autoptr (GError) err = NULL;
        g_autofree char *debug = NULL;
        gst_message_parse_error (msg, &err, &debug);
        g_warning ("relay pipeline of seller %" G_GINT64_FORMAT ": %s (%s)", seller->id, err->message, debug);
        break;
      }
    case GST_MESSAGE_WARNING:
      {
        g_autoptr (GError) err = NULL;
        gst_message_parse_warning (msg, &err, NULL);
        GST_WARNING ("seller %" G_GINT64_FORMAT ": %s", seller->id, err->message);
        break;
      }
    default:
      break;
    }
  return G_SOURCE_CONTINUE;
}

KmgSeller *
kmg_relay_seller_new (KmgRelay *relay, gint64 id, GError **error)
{
  KmgSeller *seller = g_new0 (KmgSeller, 1);

  seller->relay = relay;
  seller->id = id;
  seller->buyers = g_ptr_array_new ();
  seller->stopping = g_ptr_array_new ();
  seller->kf_last_ms = G_MININT64;
  g_mutex_init (&seller->kf_lock);
  seller->leg = (KmgRelaySellerLeg *) kmg_relay_leg_new (sizeof (KmgRelaySellerLeg), relay, seller,
                                                        KMG_RELAY_LEG_SELLER, NULL, 0);
  KmgRelayLeg *leg = &seller->leg->leg;
  /* Video RTP runs at 90 kHz (RFC 7741, RFC 6184); 1024 packets is over a second of 5 Mb/s. */
  seller->fanout = kmg_fanout_new (1024, 90000);

  g_autofree char *name = g_strdup_printf ("relay-seller-%" G_GINT64_FORMAT, id);
  seller->pipeline = gst_pipeline_new (name);
  seller->tee = gst_element_factory_make ("tee", "fanout");
  leg->webrtc = kmg_relay_webrtc_new (relay, leg, error);
  if (seller->tee == NULL || leg->webrtc == NULL)
    {
      if (seller->tee == NULL)
        g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_PIPELINE, "cannot create tee");
      gst_clear_object (&leg->webrtc);
      kmg_relay_seller_free (seller);
      return NULL;
    }
  g_object_set (seller->tee, "allow-not-linked", TRUE, NULL);
  gst_bin_add_many (GST_BIN (seller->pipeline), leg->webrtc, seller->tee, NULL);
  g_signal_connect_data (leg->webrtc, "pad-added", G_CALLBACK (on_pad_added), kmg_relay_leg_ref (leg),
                         kmg_relay_leg_closure_unref, 0);
  g_autoptr (GstPad) tee_sink = gst_element_get_static_pad (seller->tee, "sink");
  gst_pad_add_probe (tee_sink, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_tee_upstream_event, seller, NULL);

  g_autoptr (GstBus) bus = gst_pipeline_get_bus (GST_PIPELINE (seller->pipeline));
  seller->bus_source = gst_bus_create_watch (bus);
  g_source_set_callback (seller->bus_source, (GSourceFunc) (void (*) (void)) on_bus_message, seller, NULL);
  g_source_attach (seller->bus_source, relay->context);

  if (gst_element_set_state (seller->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_PIPELINE, "seller pipeline refused to start");
      kmg_relay_seller_free (seller);
      return NULL;
    }
  return seller;
}

static gboolean
rebuild (KmgSeller *seller, GError **error)
{
  KmgRelayLeg *leg = &seller->leg->leg;

  if (!kmg_relay_leg_renew_certificate (leg, error))
    return FALSE;
  GstElement *fresh = kmg_relay_webrtc_new (seller->relay, leg, error);
  if (fresh == NULL)
    return FALSE;
  GST_INFO ("seller %" G_GINT64_FORMAT " restarts ICE: new seller leg transport", seller->id);

  /* The old transport's media stops at the tee; late events of the old webrtcbin are told apart
   * by the webrtcbin they carry. */
  GstElement *old = leg->webrtc;
  g_autoptr (GstPad) tee_sink = gst_element_get_static_pad (seller->tee, "sink");
  g_autoptr (GstPad) feeding = gst_pad_get_peer (tee_sink);
  if (feeding != NULL)
    gst_pad_unlink (feeding, tee_sink);
  leg->webrtc = fresh;
  gst_element_set_state (old, GST_STATE_NULL);
  gst_bin_remove (GST_BIN (seller->pipeline), old);

  gst_bin_add (GST_BIN (seller->pipeline), fresh);
  g_signal_connect_data (fresh, "pad-added", G_CALLBACK (on_pad_added), kmg_relay_leg_ref (leg),
                         kmg_relay_leg_closure_unref, 0);
  if (!gst_element_sync_state_with_parent (fresh))
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_PIPELINE, "new seller leg refused to start");
      return FALSE;
    }
  /* Recorded, not reported: this runs inside the caller's handling of the seller's new offer (the
   * session manager, which must not be re-entered), and the session already knows the seller is
   * reconnecting — that is why it offered again. The new transport's ICE reports follow. */
  leg->state = KMG_RELAY_LEG_STATE_CONNECTING;
  return TRUE;
}

gboolean
kmg_relay_seller_set_offer (KmgRelaySellerLeg *seller_leg, GstSDPMessage *sdp, GError **error)
{
  if (seller_leg->offered && !rebuild (seller_leg->leg.seller, error))
    {
      gst_sdp_message_free (sdp);
      return FALSE;
    }
  seller_leg->offered = TRUE;
  kmg_relay_webrtc_set_remote (&seller_leg->leg, GST_WEBRTC_SDP_TYPE_OFFER, sdp);
  return TRUE;
}

void
kmg_relay_seller_free (KmgSeller *seller)
{
  if (seller == NULL)
    return;
  if (seller->pipeline != NULL)
    gst_element_set_state (seller->pipeline, GST_STATE_NULL);
  if (seller->bus_source != NULL)
    {
      g_source_destroy (seller->bus_source);
      g_source_unref (seller->bus_source);
    }
  if (seller->leg != NULL)
    {
      KmgRelayLeg *leg = &seller->leg->leg;
      kmg_relay_leg_set_state (leg, KMG_RELAY_LEG_STATE_CLOSED);
      leg->stopped = TRUE;
      leg->seller = NULL;
      leg->webrtc = NULL; /* owned by the pipeline */
      kmg_relay_leg_unref (leg);
    }
  gst_clear_object (&seller->pipeline);
  g_clear_pointer (&seller->fanout, kmg_fanout_free); /* after the pipeline: no thread uses it now */
  gst_clear_caps (&seller->caps);
  g_ptr_array_unref (seller->buyers);
  g_ptr_array_unref (seller->stopping);
  g_mutex_clear (&seller->kf_lock);
  g_free (seller);
}

void
kmg_relay_seller_maybe_close (KmgSeller *seller)
{
  if (seller == NULL || seller->buyers->len > 0 || seller->stopping->len > 0)
    return;
  KmgRelay *relay = seller->relay;
  if (relay->destroying)
    return; /* kmg_relay_free() frees the sellers itself */
  g_hash_table_remove (relay->sellers, &seller->id);
  kmg_relay_seller_free (seller);
}
