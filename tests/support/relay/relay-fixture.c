/* relay-fixture.c — a two-peer loopback fixture: a test seller webrtcbin sending VP8 and
 * buyer webrtcbins decoding it, all talking to an in-process KmgRelay on 127.0.0.1.
 * Threads: peer webrtcbin signals arrive on GStreamer threads and hop to the default main
 * context with g_main_context_invoke_full before calling the relay. */
#include "relay-fixture.h"

#include <nice/agent.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Streaming thread of a test peer, entering: note its tid (load runs separate relay CPU). */
static GstBusSyncReply
peer_sync_message (GstBus *bus, GstMessage *msg, gpointer user_data)
{
  RelayFixture *fx = user_data;
  GstStreamStatusType type;
  GstElement *owner = NULL;

  if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_STREAM_STATUS)
    return GST_BUS_PASS;
  gst_message_parse_stream_status (msg, &type, &owner);
  if (type == GST_STREAM_STATUS_TYPE_ENTER)
    {
      g_mutex_lock (&fx->probe_lock);
      g_hash_table_add (fx->peer_tids, GINT_TO_POINTER ((gint) syscall (SYS_gettid)));
      g_mutex_unlock (&fx->probe_lock);
    }
  return GST_BUS_PASS;
}

gboolean
relay_fixture_is_peer_thread (RelayFixture *fx, gint tid)
{
  g_mutex_lock (&fx->probe_lock);
  gboolean found = g_hash_table_contains (fx->peer_tids, GINT_TO_POINTER (tid));
  g_mutex_unlock (&fx->probe_lock);
  return found;
}

static gboolean
rtp_seq (GstBuffer *buf, guint *seq)
{
  guint8 head[4];

  if (gst_buffer_extract (buf, 0, head, sizeof head) != sizeof head || (head[0] >> 6) != 2)
    return FALSE;
  *seq = ((guint) head[2] << 8) | head[3];
  return TRUE;
}

typedef struct
{
  RelayFixture *fx;
  gboolean sending;
  gint64 now;
} SeqVisit;

static gboolean
visit_seq (GstBuffer **buf, guint idx, gpointer user_data)
{
  SeqVisit *v = user_data;
  guint seq;

  if (!rtp_seq (*buf, &seq))
    return TRUE;
  if (v->sending)
    {
      v->fx->sent_us[seq] = v->now;
      if (v->fx->recording)
        g_atomic_int_inc (&v->fx->sent_recorded);
    }
  else if (v->fx->recording && v->fx->sent_us[seq] > 0)
    {
      gint64 d = v->now - v->fx->sent_us[seq];
      g_mutex_lock (&v->fx->probe_lock);
      g_array_append_val (v->fx->delays_us, d);
      g_mutex_unlock (&v->fx->probe_lock);
    }
  return TRUE;
}

/* Seller payloader output (sending) and buyer webrtcbin output: RTP passes the relay
 * unchanged, so the sequence number pairs the two ends. */
static void
visit_probe (GstPadProbeInfo *info, RelayFixture *fx, gboolean sending)
{
  SeqVisit v = { .fx = fx, .sending = sending, .now = g_get_monotonic_time () };

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    visit_seq ((GstBuffer **) &info->data, 0, &v);
  else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    gst_buffer_list_foreach (GST_PAD_PROBE_INFO_BUFFER_LIST (info), visit_seq, &v);
}

static GstPadProbeReturn
sent_probe (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  visit_probe (info, user_data, TRUE);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
received_probe (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  visit_probe (info, user_data, FALSE);
  return GST_PAD_PROBE_OK;
}

static void
peer_use_loopback (GstElement *webrtc)
{
  g_autoptr (GObject) ice = NULL;
  g_autoptr (GObject) agent = NULL;
  NiceAddress addr;

  gst_util_set_object_arg (G_OBJECT (webrtc), "bundle-policy", "max-bundle");
  g_object_get (webrtc, "ice-agent", &ice, NULL);
  g_object_get (ice, "agent", &agent, NULL);
  g_object_set (agent, "upnp", FALSE, NULL);
  nice_address_init (&addr);
  g_assert_true (nice_address_set_from_string (&addr, "127.0.0.1"));
  nice_agent_add_local_address (NICE_AGENT (agent), &addr);
}

typedef struct
{
  TestPeer *peer;
  guint mline;
  char *text;
  char *type;
} PeerEvent;

static void
peer_event_free (gpointer data)
{
  PeerEvent *ev = data;
  g_free (ev->text);
  g_free (ev->type);
  g_free (ev);
}

static void
hop (GSourceFunc func, PeerEvent *ev)
{
  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, func, ev, peer_event_free);
}

static gboolean
peer_candidate_main (gpointer data)
{
  PeerEvent *ev = data;
  g_autoptr (GError) error = NULL;

  if (ev->peer->leg != NULL && ev->peer->fx->relay != NULL)
    kmg_relay_leg_add_remote_candidate (ev->peer->leg, ev->mline, ev->text, &error);
  return G_SOURCE_REMOVE;
}

static void
peer_on_ice_candidate (GstElement *webrtc, guint mline, const char *cand, gpointer user_data)
{
  PeerEvent *ev = g_new0 (PeerEvent, 1);
  ev->peer = user_data;
  ev->mline = mline;
  ev->text = g_strdup (cand);
  hop (peer_candidate_main, ev);
}

static gboolean
peer_sdp_main (gpointer data)
{
  PeerEvent *ev = data;
  g_autoptr (GError) error = NULL;

  if (ev->peer->leg != NULL && ev->peer->fx->relay != NULL)
    g_assert_true (kmg_relay_leg_set_remote_sdp (ev->peer->leg, ev->type, ev->text, &error));
  g_assert_no_error (error);
  return G_SOURCE_REMOVE;
}

static void
peer_on_description (GstPromise *promise, gpointer user_data)
{
  TestPeer *peer = user_data;
  const GstStructure *reply = gst_promise_get_reply (promise);
  GstWebRTCSessionDescription *desc = NULL;
  const char *field = gst_structure_has_field (reply, "offer") ? "offer" : "answer";

  gst_structure_get (reply, field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, NULL);
  gst_promise_unref (promise);
  g_assert_nonnull (desc);
  PeerEvent *ev = g_new0 (PeerEvent, 1);
  ev->peer = peer;
  ev->type = g_strdup (field);
  ev->text = gst_sdp_message_as_text (desc->sdp);
  /* Local first: the relay may answer before this thread runs again, and webrtcbin refuses a
   * remote answer before its own offer is set (its tasks run in the order they were queued).
   * With a NULL promise webrtcbin 1.22 leaks its reply: give it one, already interrupted. */
  GstPromise *done = gst_promise_new ();
  g_signal_emit_by_name (peer->webrtc, "set-local-description", desc, done);
  gst_promise_interrupt (done);
  gst_promise_unref (done);
  hop (peer_sdp_main, ev);
  gst_webrtc_session_description_free (desc);
}

static void
seller_on_negotiation_needed (GstElement *webrtc, gpointer user_data)
{
  GstPromise *p = gst_promise_new_with_change_func (peer_on_description, user_data, NULL);
  g_signal_emit_by_name (webrtc, "create-offer", NULL, p);
}

static GstPadProbeReturn
count_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  g_atomic_int_inc ((gint *) user_data);
  return GST_PAD_PROBE_OK;
}

static void
buyer_on_pad_added (GstElement *webrtc, GstPad *pad, gpointer user_data)
{
  TestPeer *peer = user_data;

  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  GstElement *dec = gst_parse_bin_from_description (peer->fx->count_only
                                                    ? "fakesink name=out sync=false async=false"
                                                    : "rtpvp8depay ! vp8dec ! fakesink name=out sync=false async=false",
                                                    TRUE, NULL);
  g_assert_nonnull (dec);
  gst_bin_add (GST_BIN (peer->pipeline), dec);
  gst_element_sync_state_with_parent (dec);
  g_autoptr (GstElement) sink = gst_bin_get_by_name (GST_BIN (dec), "out");
  g_autoptr (GstPad) sinkpad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (sinkpad, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, &peer->frames, NULL);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, &peer->rtp_packets, NULL);
  if (peer->fx->track_latency)
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, received_probe, peer->fx,
                       NULL);
  g_autoptr (GstPad) decpad = gst_element_get_static_pad (dec, "sink");
  g_assert_cmpint (gst_pad_link (pad, decpad), ==, GST_PAD_LINK_OK);
}

static TestPeer *
peer_new (RelayFixture *fx, const char *tag, const char *launch)
{
  TestPeer *peer = g_new0 (TestPeer, 1);
  g_autoptr (GError) error = NULL;

  peer->fx = fx;
  peer->tag = g_strdup (tag);
  peer->seconds = g_array_new (FALSE, TRUE, sizeof (KmgRelaySecond));
  GstElement *parsed = gst_parse_launch (launch, &error);
  g_assert_no_error (error);
  if (GST_IS_PIPELINE (parsed))
    peer->pipeline = parsed;
  else
    {
      peer->pipeline = gst_pipeline_new (tag);
      gst_bin_add (GST_BIN (peer->pipeline), parsed);
    }
  peer->webrtc = gst_bin_get_by_name (GST_BIN (peer->pipeline), "w");
  g_autoptr (GstBus) bus = gst_pipeline_get_bus (GST_PIPELINE (peer->pipeline));
  gst_bus_set_sync_handler (bus, peer_sync_message, fx, NULL);
  peer_use_loopback (peer->webrtc);
  g_signal_connect (peer->webrtc, "on-ice-candidate", G_CALLBACK (peer_on_ice_candidate), peer);
  return peer;
}

static void
peer_free (TestPeer *peer)
{
  gst_element_set_state (peer->pipeline, GST_STATE_NULL);
  gst_object_unref (peer->webrtc);
  gst_object_unref (peer->pipeline);
  g_array_unref (peer->seconds);
  g_free (peer->relay_sdp);
  g_free (peer->tag);
  g_free (peer);
}

static TestPeer *
find_peer (RelayFixture *fx, KmgRelayLeg *leg)
{
  if (fx->seller != NULL && fx->seller->leg == leg)
    return fx->seller;
  for (guint i = 0; i < fx->buyers->len; i++)
    {
      TestPeer *p = g_ptr_array_index (fx->buyers, i);
      if (p->leg == leg)
        return p;
    }
  return NULL;
}

static void
on_local_sdp (KmgRelayLeg *leg, const char *type, const char *sdp, gpointer user_data)
{
  TestPeer *peer = find_peer (user_data, leg);
  GstSDPMessage *msg = NULL;

  g_assert_nonnull (peer);
  g_assert_cmpint (gst_sdp_message_new_from_text (sdp, &msg), ==, GST_SDP_OK);
  g_free (peer->relay_sdp);
  peer->relay_sdp = g_strdup (sdp);
  gboolean offer = g_strcmp0 (type, "offer") == 0;
  GstWebRTCSessionDescription *desc = gst_webrtc_session_description_new (
      offer ? GST_WEBRTC_SDP_TYPE_OFFER : GST_WEBRTC_SDP_TYPE_ANSWER, msg);
  g_signal_emit_by_name (peer->webrtc, "set-remote-description", desc, NULL);
  gst_webrtc_session_description_free (desc);
  if (offer && !peer->never_answer)
    {
      GstPromise *p = gst_promise_new_with_change_func (peer_on_description, peer, NULL);
      g_signal_emit_by_name (peer->webrtc, "create-answer", NULL, p);
    }
}

static void
on_local_candidate (KmgRelayLeg *leg, guint mline, const char *mid, const char *candidate,
                    gpointer user_data)
{
  TestPeer *peer = find_peer (user_data, leg);
  g_autoptr (GstSDPMessage) sdp = NULL;

  if (peer == NULL || peer->relay_sdp == NULL) /* the description comes first */
    g_error ("relay candidate for an unknown peer or before its description");
  g_assert_cmpint (gst_sdp_message_new_from_text (peer->relay_sdp, &sdp), ==, GST_SDP_OK);
  const GstSDPMedia *media = mline < gst_sdp_message_medias_len (sdp) ? gst_sdp_message_get_media (sdp, mline) : NULL;
  const char *want = media != NULL ? gst_sdp_media_get_attribute_val (media, "mid") : NULL;
  gboolean mid_ok = want != NULL && g_strcmp0 (mid, want) == 0;
  if (*candidate == '\0')
    {
      if (mid_ok)
        peer->relay_end_markers++;
      return;
    }
  peer->relay_candidates++;
  if (mid_ok)
    peer->relay_candidates_mid_ok++;
  g_assert_nonnull (strstr (candidate, "127.0.0.1"));
  g_signal_emit_by_name (peer->webrtc, "add-ice-candidate", mline, candidate);
}

static void
on_leg_state (KmgRelayLeg *leg, KmgRelayLegState state, gpointer user_data)
{
  RelayFixture *fx = user_data;
  TestPeer *peer = find_peer (fx, leg);

  if (kmg_relay_leg_get_kind (leg) == KMG_RELAY_LEG_SELLER)
    fx->seller_state = state;
  if (peer != NULL)
    peer->state = state;
  if (peer != NULL && state == KMG_RELAY_LEG_STATE_CLOSED)
    peer->leg = NULL; /* the handle dies after this callback */
}

static void
on_first_rtp (KmgRelayLeg *leg, gpointer user_data)
{
  TestPeer *peer = find_peer (user_data, leg);
  if (peer != NULL)
    peer->first_rtp = TRUE;
}

static void
on_measured_second (KmgRelayLeg *leg, const KmgRelaySecond *s, gpointer user_data)
{
  TestPeer *peer = find_peer (user_data, leg);
  if (peer != NULL)
    g_array_append_val (peer->seconds, *s);
}

void
relay_fixture_init (RelayFixture *fx, KmgRelayConfig *config)
{
  static const KmgRelayCallbacks cb = {
    .local_sdp = on_local_sdp,
    .local_candidate = on_local_candidate,
    .leg_state = on_leg_state,
    .first_rtp = on_first_rtp,
    .measured_second = on_measured_second,
  };
  g_autoptr (GError) error = NULL;

  memset (fx, 0, sizeof *fx);
  fx->config = config != NULL ? config : kmg_relay_config_new ();
  fx->config->allow_loopback = TRUE;
  fx->buyers = g_ptr_array_new_with_free_func ((GDestroyNotify) peer_free);
  g_mutex_init (&fx->probe_lock);
  fx->peer_tids = g_hash_table_new (NULL, NULL);
  fx->sent_us = g_new0 (gint64, 65536);
  fx->delays_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  fx->relay = kmg_relay_new (fx->config, &cb, fx, &error);
  g_assert_no_error (error);
}

void
relay_fixture_clear (RelayFixture *fx)
{
  g_clear_pointer (&fx->relay, kmg_relay_free);
  g_clear_pointer (&fx->buyers, g_ptr_array_unref);
  g_clear_pointer (&fx->seller, peer_free);
  g_clear_pointer (&fx->config, kmg_relay_config_free);
  relay_fixture_run_for (50);
  g_clear_pointer (&fx->peer_tids, g_hash_table_unref);
  g_clear_pointer (&fx->sent_us, g_free);
  g_clear_pointer (&fx->delays_us, g_array_unref);
  g_mutex_clear (&fx->probe_lock);
}

static void
start_seller (RelayFixture *fx, KmgRelayLeg *seller_leg)
{
  g_autofree char *launch = g_strdup_printf (
      "videotestsrc is-live=true %s keyframe-max-dist=60 ! rtpvp8pay name=pay pt=97 "
      "! application/x-rtp,media=video,encoding-name=VP8,payload=97,clock-rate=90000 "
      "! webrtcbin name=w latency=0",
      fx->seller_video != NULL ? fx->seller_video
                               : "pattern=ball ! video/x-raw,width=160,height=120,framerate=15/1 ! vp8enc deadline=1");
  fx->seller = peer_new (fx, "seller", launch);
  fx->seller->leg = seller_leg;
  if (fx->track_latency)
    {
      g_autoptr (GstElement) pay = gst_bin_get_by_name (GST_BIN (fx->seller->pipeline), "pay");
      g_autoptr (GstPad) src = gst_element_get_static_pad (pay, "src");
      gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, sent_probe, fx, NULL);
    }
  g_signal_connect (fx->seller->webrtc, "on-negotiation-needed", G_CALLBACK (seller_on_negotiation_needed),
                    fx->seller);
  /* Send only: the relay has nothing to send back to a seller. */
  GArray *transceivers = NULL;
  g_signal_emit_by_name (fx->seller->webrtc, "get-transceivers", &transceivers);
  for (guint i = 0; transceivers != NULL && i < transceivers->len; i++)
    g_object_set (g_array_index (transceivers, GstWebRTCRTPTransceiver *, i), "direction",
                  GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, NULL);
  g_clear_pointer (&transceivers, g_array_unref);
  g_assert_cmpint (gst_element_set_state (fx->seller->pipeline, GST_STATE_PLAYING), !=, GST_STATE_CHANGE_FAILURE);
}

/* An RTP packet (not RTCP, RFC 5761 demux) as a buffer probe sees it, before decryption. */
static gboolean
probe_is_rtp (GstPadProbeInfo *info)
{
  guint8 head[2];

  return (info->type & GST_PAD_PROBE_TYPE_BUFFER)
         && gst_buffer_extract (GST_PAD_PROBE_INFO_BUFFER (info), 0, head, 2) == 2 && head[0] >= 128
         && head[0] <= 191 && !(head[1] >= 192 && head[1] <= 223);
}

/* Puts @probe on the source pad of @element when it is a buyer's nicesrc. */
static void
probe_nicesrc (GstElement *element, GstPadProbeCallback probe, gpointer user_data)
{
  GstElementFactory *f = gst_element_get_factory (element);
  g_autoptr (GstPad) src = NULL;

  if (f == NULL || !g_str_equal (gst_plugin_feature_get_name (GST_PLUGIN_FEATURE (f)), "nicesrc"))
    return;
  src = gst_element_get_static_pad (element, "src");
  gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_BUFFER, probe, user_data, NULL);
}

/* Light buyers (load runs): SRTP media is counted and timed as it leaves the buyer's nicesrc (its
 * RTP header is in the clear) and dropped there, so no decryption or jitterbuffer runs for it;
 * DTLS, STUN and RTCP go on as usual. */
static GstPadProbeReturn
light_buyer_probe (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  TestPeer *peer = user_data;

  if (!probe_is_rtp (info))
    return GST_PAD_PROBE_OK;
  g_atomic_int_inc (&peer->rtp_packets);
  if (peer->fx->track_latency)
    visit_probe (info, peer->fx, FALSE);
  return GST_PAD_PROBE_DROP;
}

static void
light_buyer_element_added (GstBin *bin, GstBin *sub_bin, GstElement *element, gpointer user_data)
{
  probe_nicesrc (element, light_buyer_probe, user_data);
}

/* Lossy buyers: every Nth RTP packet from the relay is lost before decryption. */
static GstPadProbeReturn
lossy_buyer_probe (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  TestPeer *peer = user_data;

  if (!probe_is_rtp (info))
    return GST_PAD_PROBE_OK;
  if (++peer->rtp_seen % peer->fx->buyer_drop_every != 0)
    return GST_PAD_PROBE_OK;
  g_atomic_int_inc (&peer->rtp_dropped);
  return GST_PAD_PROBE_DROP;
}

static void
lossy_buyer_element_added (GstBin *bin, GstBin *sub_bin, GstElement *element, gpointer user_data)
{
  probe_nicesrc (element, lossy_buyer_probe, user_data);
}

static void
lossy_buyer_new_transceiver (GstElement *webrtc, GstWebRTCRTPTransceiver *trans, gpointer user_data)
{
  g_object_set (trans, "do-nack", TRUE, NULL);
}

static void
buyer_start (TestPeer *peer)
{
  if (peer->fx->light_buyers)
    g_signal_connect (peer->webrtc, "deep-element-added", G_CALLBACK (light_buyer_element_added), peer);
  if (peer->fx->buyer_drop_every > 0)
    {
      g_signal_connect (peer->webrtc, "deep-element-added", G_CALLBACK (lossy_buyer_element_added), peer);
      g_signal_connect (peer->webrtc, "on-new-transceiver", G_CALLBACK (lossy_buyer_new_transceiver), NULL);
    }
  g_signal_connect (peer->webrtc, "pad-added", G_CALLBACK (buyer_on_pad_added), peer);
  g_assert_cmpint (gst_element_set_state (peer->pipeline, GST_STATE_PLAYING), !=, GST_STATE_CHANGE_FAILURE);
}

void
relay_fixture_renew_buyer (RelayFixture *fx, TestPeer *peer)
{
  TestPeer *fresh = peer_new (fx, peer->tag, "webrtcbin name=w latency=0");

  /* The old connection stops for good; what it still had queued for the relay lands first. */
  gst_element_set_state (peer->pipeline, GST_STATE_NULL);
  relay_fixture_run_for (100);
  gst_object_unref (peer->webrtc);
  gst_object_unref (peer->pipeline);
  peer->pipeline = g_steal_pointer (&fresh->pipeline);
  peer->webrtc = g_steal_pointer (&fresh->webrtc);
  g_signal_handlers_disconnect_by_data (peer->webrtc, fresh);
  g_signal_connect (peer->webrtc, "on-ice-candidate", G_CALLBACK (peer_on_ice_candidate), peer);
  g_array_unref (fresh->seconds);
  g_free (fresh->tag);
  g_free (fresh);
  g_atomic_int_set (&peer->frames, 0);
  g_atomic_int_set (&peer->rtp_packets, 0);
  peer->first_rtp = FALSE;
  buyer_start (peer);
}

TestPeer *
relay_fixture_add_buyer (RelayFixture *fx, const char *tag, gboolean never_answer)
{
  g_autoptr (GError) error = NULL;
  gboolean created = FALSE;
  TestPeer *peer = peer_new (fx, tag, "webrtcbin name=w latency=0");

  peer->never_answer = never_answer;
  buyer_start (peer);
  g_ptr_array_add (fx->buyers, peer);
  peer->session_id = ++fx->last_session_id;
  peer->leg = kmg_relay_buyer_add (fx->relay, RELAY_FIXTURE_SELLER_ID, peer->session_id, &created, &error);
  g_assert_no_error (error);
  g_assert_nonnull (peer->leg);
  if (created)
    start_seller (fx, kmg_relay_get_seller_leg (fx->relay, RELAY_FIXTURE_SELLER_ID));
  return peer;
}

static gboolean
on_timeout (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
relay_fixture_run_until (gboolean (*pred) (gpointer), gpointer data, guint timeout_ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (timeout_ms, on_timeout, &timed_out);

  while (!(pred != NULL && pred (data)) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return pred != NULL && pred (data);
}

void
relay_fixture_run_for (guint ms)
{
  relay_fixture_run_until (NULL, NULL, ms);
}
