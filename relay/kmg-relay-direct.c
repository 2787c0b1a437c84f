/* kmg-relay-direct.c — the hand-over of a buyer leg to its seller's fan-out (kmg-fanout.h) once
 * webrtcbin has connected it over UDP: the leg's SRTP key is read from its srtpenc, its ICE
 * socket and remote address from libnice, and its RTCP is tapped at its rtpbin. webrtcbin keeps
 * ICE (consent, keepalives) and DTLS; the media no longer goes through it. Legs on ICE-TCP, or
 * with relay.direct_udp off, are linked to the seller's tee instead (the buyer role decides, in
 * kmg-relay-buyer.c; this transport reports to it through callbacks and the leg's role).
 * Threads: the key signal, the ICE pair signal and the RTCP probe run on GStreamer/libnice
 * threads; the first two hop to the main context, the probe only talks to the fan-out. */
#include "kmg-relay-direct.h"

#include "kmg-relay-sdp.h"

#include <nice/agent.h>

/* GstSrtpCipherType and GstSrtpAuthType of the srtp plugin (not installed as headers). */
enum
{
  SRTP_CIPHER_AES_128_ICM = 1,
  SRTP_CIPHER_AES_128_GCM = 3,
  SRTP_CIPHER_AES_256_GCM = 4,
};
enum
{
  SRTP_AUTH_HMAC_SHA1_32 = 1,
  SRTP_AUTH_HMAC_SHA1_80 = 2,
};

static gboolean
srtp_params_from_encoder (GstElement *webrtc, KmgSrtpParams *out, GError **error)
{
  g_autoptr (GstElement) enc = kmg_relay_find_element (webrtc, "srtpenc");
  GstBuffer *key = NULL;
  gint cipher = 0, auth = 0;
  GstMapInfo map;

  if (enc == NULL)
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_PIPELINE, "no SRTP encoder in the leg");
      return FALSE;
    }
  g_object_get (enc, "key", &key, "rtp-cipher", &cipher, "rtp-auth", &auth, NULL);
  if (cipher == SRTP_CIPHER_AES_128_ICM && auth == SRTP_AUTH_HMAC_SHA1_80)
    out->profile = KMG_SRTP_AES128_CM_SHA1_80;
  else if (cipher == SRTP_CIPHER_AES_128_ICM && auth == SRTP_AUTH_HMAC_SHA1_32)
    out->profile = KMG_SRTP_AES128_CM_SHA1_32;
  else if (cipher == SRTP_CIPHER_AES_128_GCM)
    out->profile = KMG_SRTP_AEAD_AES_128_GCM;
  else if (cipher == SRTP_CIPHER_AES_256_GCM)
    out->profile = KMG_SRTP_AEAD_AES_256_GCM;
  else
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_PIPELINE, "SRTP cipher %d / auth %d not supported",
                   cipher, auth);
      gst_clear_buffer (&key);
      return FALSE;
    }
  if (key == NULL || !gst_buffer_map (key, &map, GST_MAP_READ))
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_PIPELINE, "SRTP key not set");
      gst_clear_buffer (&key);
      return FALSE;
    }
  gboolean fits = map.size <= sizeof out->key;
  if (fits)
    {
      memcpy (out->key, map.data, map.size);
      out->key_len = map.size;
    }
  gst_buffer_unmap (key, &map);
  gst_buffer_unref (key);
  if (!fits)
    g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_PIPELINE, "SRTP key too long");
  return fits;
}

/* The leg's ICE agent and its media stream and component, from the leg's nicesink. */
static gboolean
leg_ice (KmgRelayLeg *leg, GObject **agent, guint *stream, guint *component)
{
  g_autoptr (GstElement) sink = kmg_relay_find_element (leg->webrtc, "nicesink");

  if (sink == NULL)
    return FALSE;
  g_object_get (sink, "agent", agent, "stream", stream, "component", component, NULL);
  return *agent != NULL;
}

/* The leg's selected ICE pair, if it is UDP: the local socket and the remote address. */
static gboolean
selected_udp_path (KmgRelayLeg *leg, GSocket **socket, GSocketAddress **destination)
{
  g_autoptr (GObject) agent = NULL;
  NiceCandidate *local = NULL, *remote = NULL;
  guint stream = 0, component = 0;
  struct sockaddr_storage addr;

  if (!leg_ice (leg, &agent, &stream, &component)
      || !nice_agent_get_selected_pair (NICE_AGENT (agent), stream, component, &local, &remote)
      || remote->transport != NICE_CANDIDATE_TRANSPORT_UDP)
    return FALSE;
  g_autoptr (GSocket) s = nice_agent_get_selected_socket (NICE_AGENT (agent), stream, component);
  if (s == NULL || g_socket_get_protocol (s) != G_SOCKET_PROTOCOL_UDP)
    return FALSE;
  memset (&addr, 0, sizeof addr);
  nice_address_copy_to_sockaddr (&remote->addr, (struct sockaddr *) &addr);
  gsize len = addr.ss_family == AF_INET6 ? sizeof (struct sockaddr_in6) : sizeof (struct sockaddr_in);
  *destination = g_socket_address_new_from_native (&addr, len);
  if (*destination == NULL)
    return FALSE;
  *socket = g_steal_pointer (&s);
  return TRUE;
}

/* The selected pair's remote address may be peer-reflexive, learnt from a connectivity check
 * rather than signalled: the fan-out must not stream to a denied one either. */
static gboolean
destination_denied (KmgRelayLeg *leg, GSocketAddress *destination)
{
  GInetAddress *address = G_IS_INET_SOCKET_ADDRESS (destination)
                              ? g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (destination))
                              : NULL;
  return address == NULL || kmg_net_deny_matches (leg->seller->relay->remote_filter, address);
}

/* ---- the ICE pair changing under a handed-over leg ---- */

/* The pair signal's data, and (copied, without the reference) a hop's. */
typedef struct
{
  KmgRelayLeg *leg;
  KmgRelayDirect *direct;
  GstElement *webrtc; /* compared only: tells a rebuilt leg's late signal apart */
  guint stream;
} PairWatch;

static void
pair_watch_free (gpointer data, GClosure *closure)
{
  PairWatch *pw = data;
  kmg_relay_leg_unref (pw->leg);
  g_free (pw);
}

static void
on_pair_main (KmgRelayLeg *leg, gpointer data)
{
  const PairWatch *pw = data;
  KmgRelayDirect *direct = pw->direct;
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) destination = NULL;

  if (pw->webrtc != leg->webrtc || direct->target == NULL || leg->stopped)
    return;
  if (selected_udp_path (leg, &socket, &destination) && destination_denied (leg, destination))
    {
      GST_WARNING ("buyer leg of session %" G_GINT64_FORMAT ": new ICE pair to a denied address", leg->session_id);
      kmg_relay_direct_stop (direct);
      kmg_relay_leg_set_state (leg, KMG_RELAY_LEG_STATE_FAILED);
      return;
    }
  if (socket != NULL)
    {
      GST_INFO ("buyer leg of session %" G_GINT64_FORMAT ": ICE pair changed, forwarding follows it", leg->session_id);
      kmg_fanout_target_set_path (leg->seller->fanout, direct->target, socket, destination);
      return;
    }
  /* Now on TCP: the fan-out cannot send there, and handing the stream back to this leg's
   * webrtcbin mid-way would not match the buyer's SRTP state. A fresh leg starts clean. */
  GST_INFO ("buyer leg of session %" G_GINT64_FORMAT ": ICE pair is no longer UDP", leg->session_id);
  if (leg->role != NULL && leg->role->path_lost != NULL)
    leg->role->path_lost (leg);
}

/* The agent's thread. */
static void
on_new_selected_pair (GObject *agent, guint stream, guint component, gpointer lcand, gpointer rcand,
                      gpointer user_data)
{
  const PairWatch *pw = user_data;

  if (stream != pw->stream)
    return;
  PairWatch *copy = g_memdup2 (pw, sizeof *pw);
  copy->leg = NULL; /* the hop holds the leg */
  kmg_relay_leg_hop (pw->leg, on_pair_main, copy, g_free);
}

static void
watch_pair (KmgRelayDirect *direct)
{
  g_autoptr (GObject) agent = NULL;
  guint stream = 0, component = 0;

  if (!leg_ice (direct->leg, &agent, &stream, &component))
    return;
  PairWatch *pw = g_new0 (PairWatch, 1);
  pw->leg = kmg_relay_leg_ref (direct->leg);
  pw->direct = direct;
  pw->webrtc = direct->leg->webrtc;
  pw->stream = stream;
  direct->pair_agent = g_steal_pointer (&agent);
  direct->pair_handler = g_signal_connect_data (direct->pair_agent, "new-selected-pair-full",
                                                G_CALLBACK (on_new_selected_pair), pw, pair_watch_free, 0);
}

/* ---- RTCP from the buyer ---- */

typedef struct
{
  KmgFanout *fanout; /* the seller's: outlives the buyer's elements */
  KmgFanoutTarget *target;
  GstPad *tee_sink;
} RtcpTap;

static void
rtcp_tap_free (gpointer data)
{
  RtcpTap *tap = data;
  gst_object_unref (tap->tee_sink);
  g_free (tap);
}

static gboolean
feed_back (GstBuffer **buffer, guint idx, gpointer user_data)
{
  RtcpTap *tap = user_data;
  KmgFanoutFeedback fb;
  GstMapInfo map;

  if (!gst_buffer_map (*buffer, &map, GST_MAP_READ))
    return TRUE;
  kmg_fanout_target_feedback (tap->fanout, tap->target, map.data, map.size, &fb);
  gst_buffer_unmap (*buffer, &map);
  /* Up the seller's tee like a buyer branch's own request, through the same throttle. */
  if (fb.keyframe_wanted)
    kmg_relay_request_keyframe (tap->tee_sink);
  return TRUE;
}

static GstPadProbeReturn
on_buyer_rtcp (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  kmg_relay_probe_foreach_buffer (info, feed_back, user_data);
  return GST_PAD_PROBE_OK;
}

static gboolean
tap_rtcp (KmgRelayDirect *direct)
{
  KmgRelayLeg *leg = direct->leg;
  g_autoptr (GstElement) rtpbin = gst_bin_get_by_name (GST_BIN (leg->webrtc), "rtpbin");
  g_autoptr (GstPad) pad = rtpbin != NULL ? gst_element_get_static_pad (rtpbin, "recv_rtcp_sink_0") : NULL;

  if (pad == NULL)
    return FALSE;
  RtcpTap *tap = g_new0 (RtcpTap, 1);
  tap->fanout = leg->seller->fanout;
  tap->target = direct->target;
  tap->tee_sink = gst_element_get_static_pad (leg->seller->tee, "sink");
  direct->rtcp_pad = g_steal_pointer (&pad);
  direct->rtcp_probe = gst_pad_add_probe (direct->rtcp_pad,
                                          GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, on_buyer_rtcp,
                                          tap, rtcp_tap_free);
  return TRUE;
}

/* ---- RTX ---- */

/* The buyer's RTX as negotiated in the leg's descriptions, for the fan-out's resends. */
static void
use_negotiated_rtx (KmgRelayDirect *direct)
{
  KmgRelayLeg *leg = direct->leg;
  GstWebRTCSessionDescription *local = NULL, *remote = NULL;
  const GstStructure *s = gst_caps_get_structure (leg->seller->caps, 0);
  guint video_ssrc = 0, rtx_pt = 0;
  guint32 rtx_ssrc = 0;
  gint video_pt = -1;

  if (!gst_structure_get_int (s, "payload", &video_pt) || !gst_structure_get_uint (s, "ssrc", &video_ssrc))
    {
      GST_INFO ("buyer leg of session %" G_GINT64_FORMAT ": forwarded caps lack payload or ssrc", leg->session_id);
      return;
    }
  g_object_get (leg->webrtc, "current-local-description", &local, "current-remote-description", &remote, NULL);
  if (local != NULL && remote != NULL
      && kmg_relay_sdp_rtx (local->sdp, remote->sdp, (guint) video_pt, video_ssrc, &rtx_pt, &rtx_ssrc))
    {
      GST_INFO ("buyer leg of session %" G_GINT64_FORMAT ": resends as RTX, payload type %u", leg->session_id, rtx_pt);
      kmg_fanout_target_set_rtx (leg->seller->fanout, direct->target, (guint8) rtx_pt, rtx_ssrc);
    }
  else
    GST_INFO ("buyer leg of session %" G_GINT64_FORMAT ": no RTX negotiated, resends are the packets", leg->session_id);
  g_clear_pointer (&local, gst_webrtc_session_description_free);
  g_clear_pointer (&remote, gst_webrtc_session_description_free);
}

/* ---- hand-over ---- */

static void
on_first_sent_main (KmgRelayLeg *leg, gpointer data)
{
  KmgRelayDirect *direct = data;

  if (direct->target == NULL || leg->stopped)
    return;
  if (leg->role != NULL && leg->role->media_sent != NULL)
    leg->role->media_sent (leg);
}

/* Seller's streaming thread, under the fan-out lock. */
static void
on_first_sent (gpointer target_data)
{
  KmgRelayDirect *direct = target_data;

  kmg_relay_leg_hop (direct->leg, on_first_sent_main, direct, NULL);
}

gboolean
kmg_relay_direct_start (KmgRelayDirect *direct, KmgRelayLeg *leg, GError **error)
{
  KmgSrtpParams params;
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) destination = NULL;

  g_return_val_if_fail (direct->target == NULL, FALSE);
  if (!selected_udp_path (leg, &socket, &destination))
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_STATE, "selected ICE pair is not UDP");
      return FALSE;
    }
  if (destination_denied (leg, destination))
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_DENIED_ADDRESS, "selected ICE pair is to a denied address");
      return FALSE;
    }
  if (!srtp_params_from_encoder (leg->webrtc, &params, error))
    return FALSE;
  direct->leg = leg;
  direct->target = kmg_fanout_add_target (leg->seller->fanout, &params, socket, destination, on_first_sent, direct,
                                          error);
  memset (&params, 0, sizeof params);
  if (direct->target == NULL)
    return FALSE;
  direct->dropped_seen = 0;
  leg->seller->relay->direct_count++;
  use_negotiated_rtx (direct);
  watch_pair (direct);
  if (!tap_rtcp (direct))
    {
      kmg_relay_direct_stop (direct);
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_PIPELINE, "cannot tap the leg's RTCP");
      return FALSE;
    }
  return TRUE;
}

void
kmg_relay_direct_stop (KmgRelayDirect *direct)
{
  KmgRelayLeg *leg = direct->leg;

  if (direct->pair_agent != NULL)
    {
      g_signal_handler_disconnect (direct->pair_agent, direct->pair_handler);
      g_clear_object (&direct->pair_agent);
      direct->pair_handler = 0;
    }
  if (direct->rtcp_pad != NULL)
    {
      gst_pad_remove_probe (direct->rtcp_pad, direct->rtcp_probe);
      gst_clear_object (&direct->rtcp_pad);
      direct->rtcp_probe = 0;
    }
  if (direct->target != NULL && leg->seller != NULL)
    {
      kmg_fanout_remove_target (leg->seller->fanout, direct->target);
      leg->seller->relay->direct_count--;
    }
  direct->target = NULL;
}

typedef struct
{
  KmgRelayLeg *leg;
  GstElement *webrtc; /* compared only: tells a rebuilt leg's late signal apart */
  KmgRelayDirectReadyFunc ready;
} KeyWatch;

/* Keys set: DTLS is done and the leg can carry media. */
static void
on_keys_main (KmgRelayLeg *leg, gpointer data)
{
  KeyWatch *kw = data;

  if (kw->webrtc != leg->webrtc || leg->stopped)
    return;
  kw->ready (leg);
}

static KeyWatch *
key_watch_copy (const KeyWatch *kw)
{
  KeyWatch *copy = g_new (KeyWatch, 1);

  *copy = *kw;
  copy->leg = NULL; /* the hop holds the leg */
  return copy;
}

static void
key_watch_free (gpointer data, GClosure *closure)
{
  KeyWatch *kw = data;
  kmg_relay_leg_unref (kw->leg);
  g_free (kw);
}

static void
on_key_set (GstElement *dtlssrtpenc, gpointer user_data)
{
  KeyWatch *kw = user_data;
  kmg_relay_leg_hop (kw->leg, on_keys_main, key_watch_copy (kw), g_free);
}

/* Runs where webrtcbin adds a transport's elements, before they start. */
static void
on_deep_element_added (GstBin *webrtc, GstBin *sub_bin, GstElement *element, gpointer user_data)
{
  if (!kmg_relay_element_is (element, "dtlssrtpenc"))
    return;
  KeyWatch *kw = g_new0 (KeyWatch, 1);
  const KeyWatch *watching = user_data;
  kw->leg = kmg_relay_leg_ref (watching->leg);
  kw->webrtc = GST_ELEMENT (webrtc);
  kw->ready = watching->ready;
  g_signal_connect_data (element, "on-key-set", G_CALLBACK (on_key_set), kw, key_watch_free, 0);
}

void
kmg_relay_direct_watch (KmgRelayLeg *leg, KmgRelayDirectReadyFunc ready)
{
  KeyWatch *watching = g_new0 (KeyWatch, 1);

  watching->leg = kmg_relay_leg_ref (leg);
  watching->ready = ready;
  g_signal_connect_data (leg->webrtc, "deep-element-added", G_CALLBACK (on_deep_element_added), watching,
                         key_watch_free, 0);
}

void
kmg_relay_direct_poll (KmgRelayDirect *direct, gint64 now_second, KmgFanoutFeedback *report, GArray *seconds)
{
  KmgRelayLeg *leg = direct->leg;
  KmgFanoutCounters counters;

  report->have_rr = FALSE;
  g_array_set_size (seconds, 0);
  if (direct->target == NULL || leg->stopped)
    return;
  KmgRelay *relay = leg->seller->relay;
  kmg_fanout_target_poll (leg->seller->fanout, direct->target, now_second, &counters, report, seconds);
  relay->stats.packets_dropped += counters.packets_dropped - direct->dropped_seen;
  direct->dropped_seen = counters.packets_dropped;
  KmgFanoutCounters grown = { 0 };
  kmg_fanout_target_add_growth (leg->seller->fanout, direct->target, &grown);
  relay->stats.retransmissions_sent += grown.retransmitted;
  relay->stats.retransmissions_refused += grown.retransmit_refused;
}
