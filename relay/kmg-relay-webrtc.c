/* kmg-relay-webrtc.c — webrtcbin set-up shared by seller and buyer legs: ICE agent
 * configuration, SDP exchange, local candidates and ICE state. Threads: webrtcbin emits its
 * signals and resolves promises on its own threads; every handler here hops to the main
 * context with kmg_relay_leg_hop() before touching relay state. */
#include "kmg-relay-webrtc.h"

#include "kmg-relay-sdp.h"

#include <nice/agent.h>

/* Hop payloads carry the webrtcbin that produced them: after a buyer rebuild (ICE restart)
 * late events from the old one must be ignored. */
typedef struct
{
  GstElement *webrtc; /* compared only, not dereferenced */
  guint mline;
  int state;
  char *text;
  char *type;
} WebrtcEvent;

static void
webrtc_event_free (gpointer data)
{
  WebrtcEvent *ev = data;
  g_free (ev->text);
  g_free (ev->type);
  g_free (ev);
}

static WebrtcEvent *
webrtc_event_new (GstElement *webrtc)
{
  WebrtcEvent *ev = g_new0 (WebrtcEvent, 1);
  ev->webrtc = webrtc;
  return ev;
}

static void
configure_ice (KmgRelay *relay, GstElement *webrtc)
{
  g_autoptr (GObject) ice = NULL;
  g_autoptr (GObject) agent = NULL;
  const KmgRelayConfig *c = relay->config;

  g_object_get (webrtc, "ice-agent", &ice, NULL);
  if (ice == NULL)
    return;
  g_object_set (ice, "ice-tcp", c->ice_tcp, NULL);
  if (c->max_port > 0)
    g_object_set (ice, "min-rtp-port", c->min_port, "max-rtp-port", c->max_port, NULL);
  g_object_get (ice, "agent", &agent, NULL);
  if (agent == NULL)
    return;
  /* UPnP would multicast discovery on every leg. */
  g_object_set (agent, "upnp", FALSE, NULL);
  if (c->allow_loopback)
    {
      /* libnice skips loopback interfaces; once an address is added only added ones are used. */
      NiceAddress addr;
      nice_address_init (&addr);
      if (nice_address_set_from_string (&addr, "127.0.0.1"))
        nice_agent_add_local_address (NICE_AGENT (agent), &addr);
    }
}

/* The a=mid of m-line @mline in the leg's own description, for clients that match by mid. */
static char *
local_mid (KmgRelayLeg *leg, guint mline)
{
  GstWebRTCSessionDescription *desc = NULL;
  char *mid = NULL;

  g_object_get (leg->webrtc, "local-description", &desc, NULL);
  if (desc == NULL)
    return NULL;
  mid = g_strdup (kmg_relay_sdp_mid (desc->sdp, mline));
  gst_webrtc_session_description_free (desc);
  return mid;
}

/* An empty @ev->text is the end of candidates (gathering complete). */
static void
send_local_candidate (KmgRelayLeg *leg, WebrtcEvent *ev)
{
  KmgRelay *relay = leg->seller->relay;
  g_auto (KmgCandidate) cand = { 0 };
  g_autofree char *rewritten = NULL;
  const char *out = ev->text;

  if (*ev->text == '\0')
    ; /* the end marker passes as it is */
  else if (!kmg_candidate_parse (ev->text, &cand))
    return;
  else if (g_strcmp0 (cand.type, "host") == 0 && relay->config->public_ip != NULL)
    out = rewritten = kmg_candidate_with_address (ev->text, relay->config->public_ip);
  else if (kmg_net_deny_is_denied (relay->filter, cand.address))
    return; /* e.g. a link-local interface address: useless and revealing */
  g_autofree char *mid = local_mid (leg, ev->mline);
  if (out != NULL && relay->cb.local_candidate != NULL && !relay->destroying)
    relay->cb.local_candidate (leg, ev->mline, mid, out, relay->user_data);
}

static void
on_local_candidate_main (KmgRelayLeg *leg, gpointer data)
{
  WebrtcEvent *ev = data;

  if (ev->webrtc != leg->webrtc || leg->stopped)
    return;
  /* Gathering starts with the local description, which may be set before that description is
   * sent: a candidate waits for it, as the peer needs the description first. */
  if (leg->sdp_sent_for != leg->webrtc)
    {
      if (leg->early_candidates == NULL)
        leg->early_candidates = g_ptr_array_new_with_free_func (webrtc_event_free);
      WebrtcEvent *copy = webrtc_event_new (ev->webrtc);
      copy->mline = ev->mline;
      copy->text = g_strdup (ev->text);
      g_ptr_array_add (leg->early_candidates, copy);
      return;
    }
  send_local_candidate (leg, ev);
}

static void
on_ice_candidate (GstElement *webrtc, guint mline, const char *candidate, gpointer user_data)
{
  if (candidate == NULL || *candidate == '\0')
    return; /* the end marker is sent once, from the gathering state */
  WebrtcEvent *ev = webrtc_event_new (webrtc);
  ev->mline = mline;
  ev->text = g_strdup (candidate);
  kmg_relay_leg_hop (user_data, on_local_candidate_main, ev, webrtc_event_free);
}

/* Gathering is complete: the end-of-candidates marker follows the last candidate, in order. */
static void
on_ice_gathering_notify (GstElement *webrtc, GParamSpec *pspec, gpointer user_data)
{
  GstWebRTCICEGatheringState state;

  g_object_get (webrtc, "ice-gathering-state", &state, NULL);
  if (state != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
    return;
  WebrtcEvent *ev = webrtc_event_new (webrtc);
  ev->text = g_strdup ("");
  kmg_relay_leg_hop (user_data, on_local_candidate_main, ev, webrtc_event_free);
}

static void
on_ice_state_main (KmgRelayLeg *leg, gpointer data)
{
  WebrtcEvent *ev = data;
  KmgRelayLegState state;

  if (ev->webrtc != leg->webrtc || leg->stopped)
    return;
  switch ((GstWebRTCICEConnectionState) ev->state)
    {
    case GST_WEBRTC_ICE_CONNECTION_STATE_CHECKING:
      state = KMG_RELAY_LEG_STATE_CONNECTING;
      break;
    case GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED:
    case GST_WEBRTC_ICE_CONNECTION_STATE_COMPLETED:
      state = KMG_RELAY_LEG_STATE_CONNECTED;
      break;
    case GST_WEBRTC_ICE_CONNECTION_STATE_DISCONNECTED:
      state = KMG_RELAY_LEG_STATE_DISCONNECTED;
      break;
    case GST_WEBRTC_ICE_CONNECTION_STATE_FAILED:
      state = KMG_RELAY_LEG_STATE_FAILED;
      break;
    default:
      return;
    }
  gboolean was_connected = leg->state == KMG_RELAY_LEG_STATE_CONNECTED;
  kmg_relay_leg_set_state (leg, state);
  if (state == KMG_RELAY_LEG_STATE_CONNECTED && !was_connected && leg->role != NULL
      && leg->role->connected != NULL)
    leg->role->connected (leg);
}

static void
on_ice_state_notify (GstElement *webrtc, GParamSpec *pspec, gpointer user_data)
{
  WebrtcEvent *ev = webrtc_event_new (webrtc);
  GstWebRTCICEConnectionState state;

  g_object_get (webrtc, "ice-connection-state", &state, NULL);
  ev->state = state;
  kmg_relay_leg_hop (user_data, on_ice_state_main, ev, webrtc_event_free);
}

static void
on_local_sdp_main (KmgRelayLeg *leg, gpointer data)
{
  WebrtcEvent *ev = data;
  KmgRelay *relay = leg->seller->relay;

  if (ev->webrtc != leg->webrtc || leg->stopped)
    return;
  if (leg->state == KMG_RELAY_LEG_STATE_NEW)
    kmg_relay_leg_set_state (leg, KMG_RELAY_LEG_STATE_CONNECTING);
  if (relay->cb.local_sdp == NULL || relay->destroying)
    return;
  /* A rebuilt leg's own certificate: see kmg-relay-cert.c. */
  g_autofree char *sdp = leg->dtls_fingerprint != NULL
                             ? kmg_relay_sdp_with_fingerprint (ev->text, leg->dtls_fingerprint)
                             : NULL;
  relay->cb.local_sdp (leg, ev->type, sdp != NULL ? sdp : ev->text, relay->user_data);
  leg->sdp_sent_for = leg->webrtc;
  /* Then the candidates gathered meanwhile, in their order; those of an older webrtcbin go. */
  g_autoptr (GPtrArray) early = g_steal_pointer (&leg->early_candidates);
  for (guint i = 0; early != NULL && i < early->len && !leg->stopped; i++)
    {
      WebrtcEvent *c = g_ptr_array_index (early, i);
      if (c->webrtc == leg->webrtc)
        send_local_candidate (leg, c);
    }
}

typedef struct
{
  KmgRelayLeg *leg;
  GstElement *webrtc;
  const char *field; /* "offer" or "answer" in the promise reply */
} PromiseCtx;

static PromiseCtx *
promise_ctx_new (KmgRelayLeg *leg, GstElement *webrtc, const char *field)
{
  PromiseCtx *ctx = g_new0 (PromiseCtx, 1);
  ctx->leg = kmg_relay_leg_ref (leg);
  ctx->webrtc = gst_object_ref (webrtc);
  ctx->field = field;
  return ctx;
}

static void
promise_ctx_free (gpointer data)
{
  PromiseCtx *ctx = data;
  kmg_relay_leg_unref (ctx->leg);
  gst_object_unref (ctx->webrtc);
  g_free (ctx);
}

/* webrtcbin thread: the offer or answer exists; make it local and send it on. */
static void
on_description_created (GstPromise *promise, gpointer user_data)
{
  PromiseCtx *ctx = user_data;
  GstWebRTCSessionDescription *desc = NULL;
  const GstStructure *reply = NULL;

  if (gst_promise_wait (promise) == GST_PROMISE_RESULT_REPLIED)
    reply = gst_promise_get_reply (promise);
  if (reply == NULL || !gst_structure_get (reply, ctx->field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, NULL))
    {
      GST_WARNING ("leg of " KMG_LEG_FORMAT ": creating the %s failed", KMG_LEG_ARGS (ctx->leg), ctx->field);
      gst_promise_unref (promise);
      return;
    }
  gst_promise_unref (promise);

  /* Local first: the peer's answer may come back before this thread runs again, and webrtcbin
   * takes it only after its own offer (its tasks run in the order they were queued). Candidates
   * gathered before the description is sent wait for it (on_local_candidate_main). With a NULL
   * promise webrtcbin 1.22 leaks the reply structure it builds: give it one, already interrupted
   * (nobody waits for it), so the reply is freed on arrival and no pending promise is dropped. */
  GstPromise *done = gst_promise_new ();
  g_signal_emit_by_name (ctx->webrtc, "set-local-description", desc, done);
  gst_promise_interrupt (done);
  gst_promise_unref (done);

  WebrtcEvent *ev = webrtc_event_new (ctx->webrtc);
  ev->type = g_strdup (ctx->field);
  ev->text = gst_sdp_message_as_text (desc->sdp);
  kmg_relay_leg_hop (ctx->leg, on_local_sdp_main, ev, webrtc_event_free);
  gst_webrtc_session_description_free (desc);
}

static void
on_negotiation_needed (GstElement *webrtc, gpointer user_data)
{
  KmgRelayLeg *leg = user_data;
  GstPromise *promise = gst_promise_new_with_change_func (on_description_created,
      promise_ctx_new (leg, webrtc, "offer"), promise_ctx_free);
  g_signal_emit_by_name (webrtc, "create-offer", NULL, promise);
}

/* webrtcbin thread: the seller's offer is applied; answer it. */
static void
on_remote_offer_set (GstPromise *promise, gpointer user_data)
{
  PromiseCtx *ctx = user_data;

  gst_promise_unref (promise);
  GstPromise *answer = gst_promise_new_with_change_func (on_description_created,
      promise_ctx_new (ctx->leg, ctx->webrtc, "answer"), promise_ctx_free);
  g_signal_emit_by_name (ctx->webrtc, "create-answer", NULL, answer);
}

static void
add_receive_transceiver (KmgRelayLeg *leg, const GstSDPMessage *sdp)
{
  GstWebRTCRTPTransceiver *trans = NULL;
  g_autoptr (GstCaps) caps = kmg_relay_sdp_offer_video_caps (sdp);

  if (caps == NULL)
    return; /* webrtcbin will reject the media; the seller leg then never connects */
  g_signal_emit_by_name (leg->webrtc, "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY,
                         caps, &trans);
  gst_clear_object (&trans);
}

void
kmg_relay_webrtc_set_remote (KmgRelayLeg *leg, GstWebRTCSDPType type, GstSDPMessage *sdp)
{
  GArray *existing = NULL;

  if (type == GST_WEBRTC_SDP_TYPE_OFFER)
    {
      g_signal_emit_by_name (leg->webrtc, "get-transceivers", &existing);
      if (existing == NULL || existing->len == 0)
        add_receive_transceiver (leg, sdp);
      g_clear_pointer (&existing, g_array_unref);
    }

  GstWebRTCSessionDescription *desc = gst_webrtc_session_description_new (type, sdp);
  GstPromise *promise = NULL;

  if (type == GST_WEBRTC_SDP_TYPE_OFFER)
    promise = gst_promise_new_with_change_func (on_remote_offer_set,
        promise_ctx_new (leg, leg->webrtc, "offer"), promise_ctx_free);
  g_signal_emit_by_name (leg->webrtc, "set-remote-description", desc, promise);
  gst_webrtc_session_description_free (desc);
}

static void
on_new_transceiver (GstElement *webrtc, GstWebRTCRTPTransceiver *trans, gpointer user_data)
{
  /* Seller leg: ask the seller to resend losses; buyer legs: answer NACKs from history. */
  g_object_set (trans, "do-nack", TRUE, NULL);
}

static gpointer
warm_up_thread (gpointer data)
{
  GstElement *dtls = gst_element_factory_make ("dtlsdec", NULL);

  if (dtls != NULL)
    gst_object_unref (gst_object_ref_sink (dtls));
  return NULL;
}

static GMutex warm_up_lock;
static gboolean warm_up_started;
static GThread *warm_up;

void
kmg_relay_webrtc_warm_up (void)
{
  g_mutex_lock (&warm_up_lock);
  if (!warm_up_started)
    {
      warm_up_started = TRUE;
      warm_up = g_thread_new ("kmg-dtls-warm", warm_up_thread, NULL);
    }
  g_mutex_unlock (&warm_up_lock);
}

void
kmg_relay_webrtc_warm_up_join (void)
{
  g_mutex_lock (&warm_up_lock);
  GThread *thread = g_steal_pointer (&warm_up);
  g_mutex_unlock (&warm_up_lock);
  if (thread != NULL)
    g_thread_join (thread);
}

/* rtpbin's streaming thread, before the first packet: a seller's stream starts with a run of
 * in-order packets (a keyframe), so forwarding begins after a few of them rather than after
 * the whole latency; buyers then get the seller's caps and first frame that much sooner. */
static void
on_new_jitterbuffer (GstElement *rtpbin, GstElement *jitterbuffer, guint session, guint ssrc,
                     gpointer user_data)
{
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (jitterbuffer), "faststart-min-packets") != NULL)
    g_object_set (jitterbuffer, "faststart-min-packets", (guint) KMG_RELAY_SELLER_FASTSTART_PACKETS, NULL);
}

/* Where webrtcbin adds a transport's elements, before they start: a rebuilt leg's own certificate
 * (kmg-relay-cert.c) goes to its DTLS decoder, which is also what the description's fingerprint
 * would be made from. */
static void
use_certificate (GstBin *webrtc, GstBin *sub_bin, GstElement *element, gpointer user_data)
{
  if (kmg_relay_element_is (element, "dtlssrtpdec"))
    g_object_set (element, "pem", (const char *) user_data, NULL);
}

static void
pem_free (gpointer data, GClosure *closure)
{
  g_free (data);
}

GstElement *
kmg_relay_webrtc_new (KmgRelay *relay, KmgRelayLeg *leg, GError **error)
{
  GstElement *webrtc = gst_element_factory_make ("webrtcbin", NULL);

  if (webrtc == NULL)
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_PIPELINE, "cannot create webrtcbin");
      return NULL;
    }
  gst_util_set_object_arg (G_OBJECT (webrtc), "bundle-policy", "max-bundle");
  /* Seller legs: the receive jitterbuffer releases in-order packets at once, but with do-nack
   * it declares a packet lost when it is later than its estimated arrival by more than the
   * latency. At 0 every packet a paced sender delays by a millisecond was dropped ("too
   * late"), ~10 % of the stream, so no frame was ever complete at the buyer. The latency is
   * only spent when a packet is really missing, waiting for the seller's retransmission. */
  g_object_set (webrtc, "latency", leg->kind == KMG_RELAY_LEG_SELLER ? KMG_RELAY_SELLER_LATENCY_MS : 0, NULL);
  if (leg->kind == KMG_RELAY_LEG_SELLER)
    {
      g_autoptr (GstElement) rtpbin = gst_bin_get_by_name (GST_BIN (webrtc), "rtpbin");
      if (rtpbin != NULL)
        g_signal_connect (rtpbin, "new-jitterbuffer", G_CALLBACK (on_new_jitterbuffer), NULL);
    }
  if (relay->config->stun_server != NULL)
    g_object_set (webrtc, "stun-server", relay->config->stun_server, NULL);
  configure_ice (relay, webrtc);

  g_signal_connect_data (webrtc, "on-ice-candidate", G_CALLBACK (on_ice_candidate),
                         kmg_relay_leg_ref (leg), kmg_relay_leg_closure_unref, 0);
  g_signal_connect_data (webrtc, "notify::ice-gathering-state", G_CALLBACK (on_ice_gathering_notify),
                         kmg_relay_leg_ref (leg), kmg_relay_leg_closure_unref, 0);
  g_signal_connect_data (webrtc, "notify::ice-connection-state", G_CALLBACK (on_ice_state_notify),
                         kmg_relay_leg_ref (leg), kmg_relay_leg_closure_unref, 0);
  g_signal_connect (webrtc, "on-new-transceiver", G_CALLBACK (on_new_transceiver), NULL);
  if (leg->dtls_pem != NULL)
    g_signal_connect_data (webrtc, "deep-element-added", G_CALLBACK (use_certificate), g_strdup (leg->dtls_pem),
                           pem_free, 0);
  if (leg->kind == KMG_RELAY_LEG_BUYER)
    g_signal_connect_data (webrtc, "on-negotiation-needed", G_CALLBACK (on_negotiation_needed),
                           kmg_relay_leg_ref (leg), kmg_relay_leg_closure_unref, 0);
  return webrtc;
}
