/* peer-conn.c — a webrtcbin pipeline for the command-line peer: small test video out, or frames
 * in (decoded, or counted by RTP marker bit). Threads: webrtcbin signals, promises and pad probes
 * run on GStreamer threads; everything that reaches the caller is hopped to the main context. */
#include "peer-conn.h"

#include <gst/gst.h>
#include <gst/rtp/rtp.h>
#include <gst/webrtc/webrtc.h>
#include <nice/agent.h>

G_DEFINE_QUARK (peer-conn-error-quark, peer_conn_error)

struct _PeerConn
{
  PeerConnConfig config;
  PeerConnCallbacks cb;
  gpointer user_data;
  GstElement *pipeline;
  GstElement *webrtc;
  guint bus_watch;
  gboolean closed;        /* main context only */
  gint dead;              /* atomic: set when freeing, read by promise callbacks */
  gboolean remote_set;    /* main context only */
  GPtrArray *pending;     /* candidates waiting for the remote description (main context) */
  GMutex lock;            /* the counters below, written on streaming threads */
  guint64 frames, bytes, packets;
};

/* Hops hold a reference so a late GStreamer thread never touches freed memory. */
typedef struct
{
  PeerConn *pc;
  int kind;
  guint mline;
  char *a;
  char *b;
} Hop;

enum
{
  HOP_SDP,
  HOP_CANDIDATE,
  HOP_ICE,
  HOP_FIRST_FRAME,
  HOP_ERROR,
};

static void
conn_release (PeerConn *pc)
{
  g_mutex_clear (&pc->lock);
  g_free ((char *) pc->config.codec);
  g_free ((char *) pc->config.stun_server);
}

static PeerConn *
conn_ref (PeerConn *pc)
{
  return g_atomic_rc_box_acquire (pc);
}

static void
conn_unref (PeerConn *pc)
{
  g_atomic_rc_box_release_full (pc, (GDestroyNotify) conn_release);
}

static gboolean
hop_run (gpointer data)
{
  Hop *h = data;
  PeerConn *pc = h->pc;

  if (pc->closed)
    return G_SOURCE_REMOVE;
  switch (h->kind)
    {
    case HOP_SDP:
      if (pc->cb.local_sdp)
        pc->cb.local_sdp (pc, h->a, h->b, pc->user_data);
      break;
    case HOP_CANDIDATE:
      if (pc->cb.local_candidate)
        pc->cb.local_candidate (pc, h->mline, h->a, pc->user_data);
      break;
    case HOP_ICE:
      if (pc->cb.ice_state)
        pc->cb.ice_state (pc, h->a, pc->user_data);
      break;
    case HOP_FIRST_FRAME:
      if (pc->cb.first_frame)
        pc->cb.first_frame (pc, pc->user_data);
      break;
    default:
      if (pc->cb.error)
        pc->cb.error (pc, h->a, pc->user_data);
      break;
    }
  return G_SOURCE_REMOVE;
}

static void
hop_free (gpointer data)
{
  Hop *h = data;
  conn_unref (h->pc);
  g_free (h->a);
  g_free (h->b);
  g_free (h);
}

/* Always deferred (never run inline), also when called on the main thread. */
static void
hop (PeerConn *pc, int kind, guint mline, const char *a, const char *b)
{
  Hop *h = g_new0 (Hop, 1);
  h->pc = conn_ref (pc);
  h->kind = kind;
  h->mline = mline;
  h->a = g_strdup (a);
  h->b = g_strdup (b);
  g_idle_add_full (G_PRIORITY_DEFAULT, hop_run, h, hop_free);
}

/* ---- SDP --------------------------------------------------------------------------------- */

/* The promise keeps the connection alive until webrtcbin is done with it. */
static GstPromise *
promise_new (PeerConn *pc, GstPromiseChangeFunc func)
{
  return gst_promise_new_with_change_func (func, conn_ref (pc), (GDestroyNotify) conn_unref);
}

static void
on_description_created (GstPromise *promise, gpointer user_data)
{
  PeerConn *pc = user_data;
  const GstStructure *reply = gst_promise_get_reply (promise);
  GstWebRTCSessionDescription *desc = NULL;
  const char *field;

  if (g_atomic_int_get (&pc->dead))
    {
      gst_promise_unref (promise);
      return;
    }
  if (reply == NULL)
    {
      hop (pc, HOP_ERROR, 0, "creating the local description failed", NULL);
      gst_promise_unref (promise);
      return;
    }
  field = gst_structure_has_field (reply, "offer") ? "offer" : "answer";
  gst_structure_get (reply, field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, NULL);
  gst_promise_unref (promise);
  if (desc == NULL)
    {
      hop (pc, HOP_ERROR, 0, "webrtcbin gave no description", NULL);
      return;
    }
  {
    /* A NULL promise makes webrtcbin 1.22 leak its reply; nobody waits for this one. */
    GstPromise *done = gst_promise_new ();
    g_signal_emit_by_name (pc->webrtc, "set-local-description", desc, done);
    gst_promise_interrupt (done);
    gst_promise_unref (done);
  }
  {
    g_autofree char *text = gst_sdp_message_as_text (desc->sdp);
    hop (pc, HOP_SDP, 0, field, text);
  }
  gst_webrtc_session_description_free (desc);
}

void
peer_conn_create_offer (PeerConn *pc)
{
  g_signal_emit_by_name (pc->webrtc, "create-offer", NULL, promise_new (pc, on_description_created));
}

static void
on_remote_set (GstPromise *promise, gpointer user_data)
{
  PeerConn *pc = user_data;

  gst_promise_unref (promise);
  if (g_atomic_int_get (&pc->dead))
    return;
  g_signal_emit_by_name (pc->webrtc, "create-answer", NULL, promise_new (pc, on_description_created));
}

gboolean
peer_conn_set_remote (PeerConn *pc, const char *type, const char *sdp, GError **error)
{
  GstSDPMessage *msg = NULL;
  GstWebRTCSessionDescription *desc;
  gboolean offer = g_str_equal (type, "offer");

  if (gst_sdp_message_new_from_text (sdp, &msg) != GST_SDP_OK)
    {
      g_set_error (error, PEER_CONN_ERROR, PEER_CONN_ERROR_SDP, "unparsable SDP");
      return FALSE;
    }
  desc = gst_webrtc_session_description_new (offer ? GST_WEBRTC_SDP_TYPE_OFFER
                                                   : GST_WEBRTC_SDP_TYPE_ANSWER, msg);
  g_signal_emit_by_name (pc->webrtc, "set-remote-description", desc,
                         offer ? promise_new (pc, on_remote_set) : NULL);
  gst_webrtc_session_description_free (desc);
  /* webrtcbin runs its operations in order: candidates queued after this apply after it. */
  pc->remote_set = TRUE;
  for (guint i = 0; i < pc->pending->len; i += 2)
    g_signal_emit_by_name (pc->webrtc, "add-ice-candidate",
                           GPOINTER_TO_UINT (g_ptr_array_index (pc->pending, i)),
                           (const char *) g_ptr_array_index (pc->pending, i + 1));
  g_ptr_array_set_size (pc->pending, 0);
  return TRUE;
}

void
peer_conn_add_candidate (PeerConn *pc, guint mline, const char *candidate)
{
  if (candidate == NULL || *candidate == '\0')
    return;
  if (!pc->remote_set)
    {
      g_ptr_array_add (pc->pending, GUINT_TO_POINTER (mline));
      g_ptr_array_add (pc->pending, g_strdup (candidate));
      return;
    }
  g_signal_emit_by_name (pc->webrtc, "add-ice-candidate", mline, candidate);
}

/* ---- webrtcbin signals ------------------------------------------------------------------- */

static void
on_ice_candidate (GstElement *webrtc, guint mline, const char *candidate, gpointer user_data)
{
  hop (user_data, HOP_CANDIDATE, mline, candidate, NULL);
}

static const char *
ice_state_name (GstWebRTCICEConnectionState s)
{
  static const char *const names[] = { "new",    "checking",     "connected", "completed",
                                       "failed", "disconnected", "closed" };
  return (guint) s < G_N_ELEMENTS (names) ? names[s] : "new";
}

static void
on_ice_state (GstElement *webrtc, GParamSpec *pspec, gpointer user_data)
{
  GstWebRTCICEConnectionState s;

  g_object_get (webrtc, "ice-connection-state", &s, NULL);
  hop (user_data, HOP_ICE, 0, ice_state_name (s), NULL);
}

static void
count_frame (PeerConn *pc)
{
  gboolean first;

  g_mutex_lock (&pc->lock);
  first = pc->frames++ == 0;
  g_mutex_unlock (&pc->lock);
  if (first)
    hop (pc, HOP_FIRST_FRAME, 0, NULL, NULL);
}

static GstPadProbeReturn
on_decoded (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  count_frame (user_data);
  return GST_PAD_PROBE_OK;
}

/* Without decoding, a frame is an RTP packet with the marker bit (last packet of a frame). */
static GstPadProbeReturn
on_rtp (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  PeerConn *pc = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  gboolean marker = FALSE;

  if (buf == NULL)
    return GST_PAD_PROBE_OK;
  if (gst_rtp_buffer_map (buf, GST_MAP_READ, &rtp))
    {
      marker = gst_rtp_buffer_get_marker (&rtp);
      gst_rtp_buffer_unmap (&rtp);
    }
  g_mutex_lock (&pc->lock);
  pc->packets++;
  pc->bytes += gst_buffer_get_size (buf);
  g_mutex_unlock (&pc->lock);
  if (marker && !pc->config.decode)
    count_frame (pc);
  return GST_PAD_PROBE_OK;
}

static const char *
decoder_for (const char *encoding)
{
  if (g_ascii_strcasecmp (encoding, "VP8") == 0)
    return "rtpvp8depay ! vp8dec";
  if (g_ascii_strcasecmp (encoding, "H264") == 0)
    return "rtph264depay ! h264parse ! openh264dec";
  return NULL;
}

static void
on_pad_added (GstElement *webrtc, GstPad *pad, gpointer user_data)
{
  PeerConn *pc = user_data;
  g_autoptr (GstCaps) caps = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *desc = NULL;
  const char *encoding = NULL, *dec = NULL;
  GstElement *bin;
  GstPad *sink;

  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  caps = gst_pad_get_current_caps (pad);
  if (caps != NULL && gst_caps_get_size (caps) > 0)
    encoding = gst_structure_get_string (gst_caps_get_structure (caps, 0), "encoding-name");
  if (pc->config.decode && encoding != NULL)
    dec = decoder_for (encoding);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_rtp, pc, NULL);
  desc = dec != NULL ? g_strdup_printf ("queue ! %s ! fakesink name=out sync=false async=false", dec)
                     : g_strdup ("queue ! fakesink sync=false async=false");
  bin = gst_parse_bin_from_description (desc, TRUE, &error);
  if (bin == NULL)
    {
      hop (pc, HOP_ERROR, 0, error->message, NULL);
      return;
    }
  if (dec != NULL)
    {
      g_autoptr (GstElement) out = gst_bin_get_by_name (GST_BIN (bin), "out");
      g_autoptr (GstPad) in = gst_element_get_static_pad (out, "sink");
      gst_pad_add_probe (in, GST_PAD_PROBE_TYPE_BUFFER, on_decoded, pc, NULL);
    }
  else if (pc->config.decode)
    hop (pc, HOP_ERROR, 0, "no decoder for the received codec: counting packets only", NULL);
  gst_bin_add (GST_BIN (pc->pipeline), bin);
  gst_element_sync_state_with_parent (bin);
  sink = gst_element_get_static_pad (bin, "sink");
  gst_pad_link (pad, sink);
  gst_object_unref (sink);
}

static gboolean
on_bus (GstBus *bus, GstMessage *msg, gpointer user_data)
{
  PeerConn *pc = user_data;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    {
      g_autoptr (GError) err = NULL;
      gst_message_parse_error (msg, &err, NULL);
      if (!pc->closed && pc->cb.error)
        pc->cb.error (pc, err->message, pc->user_data);
    }
  return G_SOURCE_CONTINUE;
}

/* ---- set-up ------------------------------------------------------------------------------ */

static void
configure_ice (PeerConn *pc)
{
  g_autoptr (GObject) ice = NULL;
  g_autoptr (GObject) agent = NULL;

  g_object_get (pc->webrtc, "ice-agent", &ice, NULL);
  if (ice == NULL)
    return;
  g_object_get (ice, "agent", &agent, NULL);
  if (agent == NULL)
    return;
  /* UPnP discovery would multicast on every connection. */
  g_object_set (agent, "upnp", FALSE, NULL);
  if (pc->config.allow_loopback)
    {
      /* libnice skips loopback interfaces unless an address is added by hand. */
      NiceAddress addr;
      nice_address_init (&addr);
      if (nice_address_set_from_string (&addr, "127.0.0.1"))
        nice_agent_add_local_address (NICE_AGENT (agent), &addr);
    }
}

static char *
sender_description (const PeerConnConfig *c)
{
  g_autofree char *src = g_strdup_printf ("videotestsrc is-live=true pattern=ball ! video/x-raw,"
                                          "width=%u,height=%u,framerate=%u/1 ! "
                                          "queue max-size-buffers=2 leaky=downstream ! ",
                                          c->width, c->height, c->fps);

  if (g_strcmp0 (c->codec, "h264") == 0)
    return g_strconcat (src,
                        "openh264enc bitrate=300000 gop-size=30 complexity=low ! h264parse ! "
                        "rtph264pay config-interval=-1 aggregate-mode=zero-latency pt=102 ! "
                        "application/x-rtp,media=video,encoding-name=H264,payload=102,"
                        "clock-rate=90000,packetization-mode=(string)1,"
                        "profile-level-id=(string)42e01f ! ",
                        "webrtcbin name=webrtc bundle-policy=max-bundle latency=0", NULL);
  return g_strconcat (src,
                      "vp8enc deadline=1 target-bitrate=300000 keyframe-max-dist=30 "
                      "error-resilient=partitions cpu-used=8 ! rtpvp8pay pt=96 ! "
                      "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000 ! ",
                      "webrtcbin name=webrtc bundle-policy=max-bundle latency=0", NULL);
}

PeerConn *
peer_conn_new (const PeerConnConfig *config, const PeerConnCallbacks *cb, gpointer user_data,
               GError **error)
{
  PeerConn *pc = g_atomic_rc_box_new0 (PeerConn);
  g_autofree char *desc = config->send
                              ? sender_description (config)
                              : g_strdup ("webrtcbin name=webrtc bundle-policy=max-bundle latency=0");
  g_autoptr (GstBus) bus = NULL;

  pc->config = *config;
  pc->config.codec = g_strdup (config->codec ? config->codec : "vp8");
  pc->config.stun_server = g_strdup (config->stun_server);
  pc->cb = *cb;
  pc->user_data = user_data;
  pc->pending = g_ptr_array_new ();
  g_mutex_init (&pc->lock);
  pc->pipeline = gst_parse_launch (desc, error);
  if (pc->pipeline != NULL && !GST_IS_PIPELINE (pc->pipeline))
    {
      /* A lone element comes back as itself: put it in a pipeline. */
      GstElement *pipe = gst_pipeline_new (NULL);
      gst_bin_add (GST_BIN (pipe), pc->pipeline);
      pc->pipeline = pipe;
    }
  if (pc->pipeline == NULL)
    {
      g_prefix_error (error, "pipeline: ");
      pc->closed = TRUE;
      peer_conn_free (pc);
      return NULL;
    }
  pc->webrtc = gst_bin_get_by_name (GST_BIN (pc->pipeline), "webrtc");
  if (pc->config.stun_server != NULL)
    g_object_set (pc->webrtc, "stun-server", pc->config.stun_server, NULL);
  configure_ice (pc);
  g_signal_connect (pc->webrtc, "on-ice-candidate", G_CALLBACK (on_ice_candidate), pc);
  g_signal_connect (pc->webrtc, "notify::ice-connection-state", G_CALLBACK (on_ice_state), pc);
  g_signal_connect (pc->webrtc, "pad-added", G_CALLBACK (on_pad_added), pc);
  bus = gst_element_get_bus (pc->pipeline);
  pc->bus_watch = gst_bus_add_watch (bus, on_bus, pc);
  if (gst_element_set_state (pc->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error (error, PEER_CONN_ERROR, PEER_CONN_ERROR_PIPELINE, "pipeline refused PLAYING");
      peer_conn_free (pc);
      return NULL;
    }
  return pc;
}

void
peer_conn_free (PeerConn *pc)
{
  if (pc == NULL)
    return;
  pc->closed = TRUE;
  g_atomic_int_set (&pc->dead, 1);
  g_clear_handle_id (&pc->bus_watch, g_source_remove);
  if (pc->webrtc != NULL)
    g_signal_handlers_disconnect_by_data (pc->webrtc, pc);
  if (pc->pipeline != NULL)
    gst_element_set_state (pc->pipeline, GST_STATE_NULL);
  g_clear_object (&pc->webrtc);
  g_clear_object (&pc->pipeline);
  for (guint i = 1; i < pc->pending->len; i += 2)
    g_free (g_ptr_array_index (pc->pending, i));
  g_ptr_array_unref (pc->pending);
  conn_unref (pc);
}

static guint64
read_counter (PeerConn *pc, const guint64 *field)
{
  guint64 v;
  g_mutex_lock (&pc->lock);
  v = *field;
  g_mutex_unlock (&pc->lock);
  return v;
}

guint64
peer_conn_get_frames (PeerConn *pc)
{
  return read_counter (pc, &pc->frames);
}

guint64
peer_conn_get_bytes (PeerConn *pc)
{
  return read_counter (pc, &pc->bytes);
}

guint64
peer_conn_get_packets (PeerConn *pc)
{
  return read_counter (pc, &pc->packets);
}
