/* kmg-relay.c — the relay object: configuration, limits, counters, leg handles and the public
 * signaling entry points. Threads: webrtcbin and streaming threads reach this state only
 * through kmg_relay_leg_hop(), which runs on the main context. */
#include "kmg-relay-private.h"

#include <gst/sdp/sdp.h>
#include <gst/video/video.h>

#include "kmg-meter.h"

GST_DEBUG_CATEGORY (kmg_relay_debug);

G_DEFINE_QUARK (kmg-relay-error-quark, kmg_relay_error)

KmgRelayConfig *
kmg_relay_config_new (void)
{
  KmgRelayConfig *config = g_new0 (KmgRelayConfig, 1);

  config->ice_tcp = TRUE;
  config->max_legs_per_seller = 50;
  config->max_legs_total = 1000;
  config->receipt_timeout_ms = KMG_DELIVERED_DEFAULT_RECEIPT_TIMEOUT_MS;
  config->keyframe_interval_ms = 500;
  config->direct_udp = TRUE;
  return config;
}

void
kmg_relay_config_free (KmgRelayConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->public_ip);
  g_free (config->stun_server);
  g_strfreev (config->denied_cidrs);
  g_free (config);
}

static KmgRelayConfig *
config_copy (const KmgRelayConfig *src)
{
  KmgRelayConfig *c = g_new0 (KmgRelayConfig, 1);

  *c = *src;
  c->public_ip = g_strdup (src->public_ip);
  c->stun_server = g_strdup (src->stun_server);
  c->denied_cidrs = g_strdupv (src->denied_cidrs);
  return c;
}

static gboolean
on_stats_timer (gpointer user_data)
{
  KmgRelay *relay = user_data;
  GHashTableIter iter;
  gpointer value;
  gint64 now_ms = g_get_monotonic_time () / 1000, now_real_us = g_get_real_time ();
  g_autoptr (GArray) seconds = g_array_new (FALSE, FALSE, sizeof (KmgMeterSecond));

  g_hash_table_iter_init (&iter, relay->sellers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      KmgSeller *seller = value;
      kmg_fanout_send_reports (seller->fanout, now_real_us);
      for (guint i = 0; i < seller->buyers->len; i++)
        {
          KmgRelayLeg *leg = g_ptr_array_index (seller->buyers, i);
          if (leg->target != NULL)
            kmg_relay_direct_poll (leg, now_ms, now_real_us / G_USEC_PER_SEC, seconds);
          else
            kmg_relay_buyer_poll_stats (leg);
        }
    }
  return G_SOURCE_CONTINUE;
}

KmgRelay *
kmg_relay_new (const KmgRelayConfig *config, const KmgRelayCallbacks *callbacks,
               gpointer user_data, GError **error)
{
  g_autoptr (KmgRelayConfig) defaults = NULL;

  g_return_val_if_fail (callbacks != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (config == NULL)
    config = defaults = kmg_relay_config_new ();
  if (config->max_port < config->min_port || config->max_port > 65535)
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_CONFIG, "invalid UDP port range %u-%u",
                   config->min_port, config->max_port);
      return NULL;
    }
  if (config->public_ip != NULL && !g_hostname_is_ip_address (config->public_ip))
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_CONFIG, "public IP \"%s\" is not an IP address",
                   config->public_ip);
      return NULL;
    }
  g_autoptr (KmgNetDeny) filter = kmg_net_deny_new ((const char *const *) config->denied_cidrs,
                                                    config->allow_loopback, error);
  if (filter == NULL)
    return NULL;

  gst_init (NULL, NULL);
  if (kmg_relay_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (kmg_relay_debug, "kamegor-relay", 0, "Kamegor media relay");
  if (!kmg_meter_register_static ())
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_PIPELINE, "cannot register kamegormeter");
      return NULL;
    }
  g_autoptr (GstElementFactory) webrtc = gst_element_factory_find ("webrtcbin");
  if (webrtc == NULL)
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_PIPELINE, "webrtcbin is not installed");
      return NULL;
    }

  kmg_relay_webrtc_warm_up ();
  KmgRelay *relay = g_new0 (KmgRelay, 1);
  relay->config = config_copy (config);
  relay->cb = *callbacks;
  relay->user_data = user_data;
  relay->context = g_main_context_ref_thread_default ();
  relay->filter = g_steal_pointer (&filter);
  relay->sellers = g_hash_table_new (g_str_hash, g_str_equal);
  g_mutex_init (&relay->lock);
  relay->stats_timer = g_timeout_source_new (1000);
  g_source_set_callback (relay->stats_timer, on_stats_timer, relay, NULL);
  g_source_attach (relay->stats_timer, relay->context);
  return relay;
}

static gboolean teardown_idle (gpointer user_data);

void
kmg_relay_free (KmgRelay *relay)
{
  if (relay == NULL)
    return;
  relay->destroying = TRUE;
  kmg_relay_webrtc_warm_up_join ();
  g_source_destroy (relay->stats_timer);
  g_source_unref (relay->stats_timer);

  GList *sellers = g_hash_table_get_values (relay->sellers);
  for (GList *l = sellers; l != NULL; l = l->next)
    {
      KmgSeller *seller = l->data;
      while (seller->buyers->len > 0)
        {
          KmgRelayLeg *leg = g_ptr_array_index (seller->buyers, 0);
          kmg_relay_buyer_stop (leg);
        }
      /* Teardowns still queued run now, while their seller exists; the idles become no-ops. */
      while (seller->stopping->len > 0)
        teardown_idle (g_ptr_array_index (seller->stopping, 0));
      kmg_relay_seller_free (seller);
    }
  g_list_free (sellers);
  g_hash_table_unref (relay->sellers);
  kmg_net_deny_free (relay->filter);
  kmg_relay_config_free (relay->config);
  g_main_context_unref (relay->context);
  g_mutex_clear (&relay->lock);
  g_free (relay);
}

void
kmg_relay_get_stats (KmgRelay *relay, KmgRelayStats *stats)
{
  g_return_if_fail (relay != NULL && stats != NULL);

  *stats = relay->stats;
  stats->seller_legs = g_hash_table_size (relay->sellers);
  stats->buyer_legs = relay->buyer_count;
  stats->buyer_legs_direct = relay->direct_count;
  g_mutex_lock (&relay->lock);
  stats->keyframe_requests_forwarded = relay->kf_forwarded;
  stats->keyframe_requests_dropped = relay->kf_dropped;
  g_mutex_unlock (&relay->lock);
}

KmgRelayLeg *
kmg_relay_leg_new (KmgRelay *relay, KmgSeller *seller, KmgRelayLegKind kind, const char *tag)
{
  KmgRelayLeg *leg = g_new0 (KmgRelayLeg, 1);

  g_atomic_ref_count_init (&leg->ref);
  leg->context = g_main_context_ref (relay->context);
  leg->kind = kind;
  leg->state = KMG_RELAY_LEG_STATE_NEW;
  leg->tag = g_strdup (tag);
  leg->seller = seller;
  leg->fraction_lost = leg->jitter = leg->rtt = -1;
  return leg;
}

KmgRelayLeg *
kmg_relay_leg_ref (KmgRelayLeg *leg)
{
  g_atomic_ref_count_inc (&leg->ref);
  return leg;
}

void
kmg_relay_leg_unref (KmgRelayLeg *leg)
{
  if (leg == NULL || !g_atomic_ref_count_dec (&leg->ref))
    return;
  g_main_context_unref (leg->context);
  g_free (leg->dtls_pem);
  g_free (leg->dtls_fingerprint);
  g_clear_pointer (&leg->early_candidates, g_ptr_array_unref);
  g_free (leg->tag);
  g_free (leg);
}

void
kmg_relay_leg_closure_unref (gpointer leg, GClosure *closure)
{
  kmg_relay_leg_unref (leg);
}

typedef struct
{
  KmgRelayLeg *leg;
  KmgLegHopFunc func;
  gpointer data;
  GDestroyNotify data_free;
} Hop;

static gboolean
hop_dispatch (gpointer user_data)
{
  Hop *hop = user_data;

  if (!hop->leg->closed && hop->leg->seller != NULL)
    hop->func (hop->leg, hop->data);
  return G_SOURCE_REMOVE;
}

static void
hop_free (gpointer user_data)
{
  Hop *hop = user_data;

  if (hop->data_free != NULL && hop->data != NULL)
    hop->data_free (hop->data);
  kmg_relay_leg_unref (hop->leg);
  g_free (hop);
}

void
kmg_relay_leg_hop (KmgRelayLeg *leg, KmgLegHopFunc func, gpointer data, GDestroyNotify data_free)
{
  Hop *hop = g_new0 (Hop, 1);

  hop->leg = kmg_relay_leg_ref (leg);
  hop->func = func;
  hop->data = data;
  hop->data_free = data_free;
  g_main_context_invoke_full (leg->context, G_PRIORITY_DEFAULT, hop_dispatch, hop, hop_free);
}

gboolean
kmg_relay_element_is (GstElement *element, const char *factory)
{
  GstElementFactory *f = gst_element_get_factory (element);
  return f != NULL && g_str_equal (gst_plugin_feature_get_name (GST_PLUGIN_FEATURE (f)), factory);
}

void
kmg_relay_probe_foreach_buffer (GstPadProbeInfo *info, GstBufferListFunc func, gpointer user_data)
{
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    {
      GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
      func (&buffer, 0, user_data);
    }
  else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    gst_buffer_list_foreach (GST_PAD_PROBE_INFO_BUFFER_LIST (info), func, user_data);
}

void
kmg_relay_request_keyframe (GstPad *pad)
{
  gst_pad_push_event (pad, gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0));
}

void
kmg_relay_leg_set_state (KmgRelayLeg *leg, KmgRelayLegState state)
{
  if (leg->state == state || leg->seller == NULL)
    return;
  KmgRelay *relay = leg->seller->relay;
  leg->state = state;
  GST_INFO ("leg %s -> %s", leg->tag, kmg_relay_leg_state_to_string (state));
  if (!relay->destroying && relay->cb.leg_state != NULL)
    relay->cb.leg_state (leg, state, relay->user_data);
}

KmgRelayLeg *
kmg_relay_get_seller_leg (KmgRelay *relay, const char *seller_key)
{
  g_return_val_if_fail (relay != NULL && seller_key != NULL, NULL);

  KmgSeller *seller = g_hash_table_lookup (relay->sellers, seller_key);
  return seller != NULL ? seller->leg : NULL;
}

KmgRelayLeg *
kmg_relay_buyer_add (KmgRelay *relay, const char *seller_key, const char *buyer_tag,
                     gboolean *out_seller_created, GError **error)
{
  g_return_val_if_fail (relay != NULL && seller_key != NULL && buyer_tag != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (out_seller_created != NULL)
    *out_seller_created = FALSE;
  if (relay->config->max_legs_total > 0 && relay->buyer_count >= relay->config->max_legs_total)
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_LIMIT, "relay is full (%u buyer legs)",
                   relay->buyer_count);
      return NULL;
    }
  KmgSeller *seller = g_hash_table_lookup (relay->sellers, seller_key);
  if (seller != NULL && relay->config->max_legs_per_seller > 0
      && seller->buyers->len >= relay->config->max_legs_per_seller)
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_LIMIT, "seller has %u relayed buyers already",
                   seller->buyers->len);
      return NULL;
    }
  if (seller == NULL)
    {
      seller = kmg_relay_seller_new (relay, seller_key, error);
      if (seller == NULL)
        return NULL;
      g_hash_table_insert (relay->sellers, seller->key, seller);
      if (out_seller_created != NULL)
        *out_seller_created = TRUE;
    }

  KmgRelayLeg *leg = kmg_relay_leg_new (relay, seller, KMG_RELAY_LEG_BUYER, buyer_tag);
  g_ptr_array_add (seller->buyers, leg);
  relay->buyer_count++;
  if (seller->caps != NULL)
    kmg_relay_buyer_build (leg);
  return leg;
}

/* Runs once per stopped buyer leg. Buyers stopped together each queue one of these: their
 * seller (kept while seller->stopping is not empty) is freed only after the last one ran. */
static gboolean
teardown_idle (gpointer user_data)
{
  KmgRelayLeg *leg = user_data;
  KmgSeller *seller = leg->seller;

  if (seller == NULL)
    return G_SOURCE_REMOVE; /* already torn down by kmg_relay_free() */
  kmg_relay_buyer_teardown (leg);
  kmg_relay_leg_set_state (leg, KMG_RELAY_LEG_STATE_CLOSED);
  leg->closed = TRUE;
  leg->seller = NULL;
  g_ptr_array_remove (seller->stopping, leg);
  kmg_relay_seller_maybe_close (seller);
  return G_SOURCE_REMOVE;
}

void
kmg_relay_buyer_stop (KmgRelayLeg *leg)
{
  g_return_if_fail (leg != NULL && leg->kind == KMG_RELAY_LEG_BUYER);

  if (leg->stopped || leg->seller == NULL)
    return;
  KmgSeller *seller = leg->seller;
  KmgRelay *relay = seller->relay;

  leg->stopped = TRUE;
  /* Enforcement first: the fan-out or the meter drops from the very next packet, then the
   * branch is cut. */
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
  g_ptr_array_remove (seller->buyers, leg);
  relay->buyer_count--;

  if (relay->destroying)
    {
      teardown_idle (leg);
      kmg_relay_leg_unref (leg);
      return;
    }
  g_ptr_array_add (seller->stopping, leg);
  GSource *idle = g_idle_source_new ();
  g_source_set_callback (idle, teardown_idle, leg, (GDestroyNotify) kmg_relay_leg_unref);
  g_source_attach (idle, relay->context);
  g_source_unref (idle);
}

gboolean
kmg_relay_leg_set_remote_sdp (KmgRelayLeg *leg, const char *type, const char *sdp, GError **error)
{
  GstSDPMessage *msg = NULL;

  g_return_val_if_fail (leg != NULL && type != NULL && sdp != NULL, FALSE);

  const char *expected = leg->kind == KMG_RELAY_LEG_SELLER ? "offer" : "answer";
  if (g_strcmp0 (type, expected) != 0)
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_STATE, "%s leg expects an %s, got \"%s\"",
                   leg->kind == KMG_RELAY_LEG_SELLER ? "seller" : "buyer", expected, type);
      return FALSE;
    }
  if (leg->closed || leg->stopped || leg->webrtc == NULL)
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_STATE, "leg is not ready for a description");
      return FALSE;
    }
  if (gst_sdp_message_new_from_text (sdp, &msg) != GST_SDP_OK || gst_sdp_message_medias_len (msg) == 0)
    {
      if (msg != NULL)
        gst_sdp_message_free (msg);
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_INVALID, "malformed SDP");
      return FALSE;
    }
  if (leg->kind == KMG_RELAY_LEG_SELLER && leg->offered && !kmg_relay_seller_rebuild (leg->seller, error))
    {
      gst_sdp_message_free (msg);
      return FALSE;
    }
  leg->offered = leg->kind == KMG_RELAY_LEG_SELLER;
  kmg_relay_webrtc_set_remote (leg, leg->kind == KMG_RELAY_LEG_SELLER ? GST_WEBRTC_SDP_TYPE_OFFER
                                                                      : GST_WEBRTC_SDP_TYPE_ANSWER, msg);
  return TRUE;
}

gboolean
kmg_relay_leg_add_remote_candidate (KmgRelayLeg *leg, guint mline, const char *candidate, GError **error)
{
  g_auto (KmgCandidate) cand = { 0 };

  g_return_val_if_fail (leg != NULL && candidate != NULL, FALSE);

  if (leg->closed || leg->stopped || leg->webrtc == NULL || leg->seller == NULL)
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_STATE, "leg is closed");
      return FALSE;
    }
  if (*candidate == '\0')
    return TRUE;
  KmgRelay *relay = leg->seller->relay;
  if (!kmg_candidate_parse (candidate, &cand))
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_INVALID, "malformed ICE candidate");
      return FALSE;
    }
  if (kmg_net_deny_is_denied (relay->filter, cand.address))
    {
      relay->stats.candidates_denied++;
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_DENIED_ADDRESS,
                   "candidate address is in a denied range");
      return FALSE;
    }
  if (g_str_has_prefix (candidate, "a="))
    candidate += 2;
  g_signal_emit_by_name (leg->webrtc, "add-ice-candidate", mline, candidate);
  return TRUE;
}

gboolean
kmg_relay_leg_restart_ice (KmgRelayLeg *leg, GError **error)
{
  g_return_val_if_fail (leg != NULL, FALSE);

  if (leg->closed || leg->stopped || leg->seller == NULL)
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_STATE, "leg is closed");
      return FALSE;
    }
  if (leg->kind == KMG_RELAY_LEG_SELLER)
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_STATE,
                   "a seller leg restarts when the seller sends a new offer");
      return FALSE;
    }
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

KmgRelayLegKind
kmg_relay_leg_get_kind (const KmgRelayLeg *leg)
{
  return leg->kind;
}

const char *
kmg_relay_leg_get_tag (const KmgRelayLeg *leg)
{
  return leg->tag;
}

const char *
kmg_relay_leg_get_seller_key (const KmgRelayLeg *leg)
{
  return leg->seller != NULL ? leg->seller->key : NULL;
}

KmgRelayLegState
kmg_relay_leg_get_state (const KmgRelayLeg *leg)
{
  return leg->state;
}

const char *
kmg_relay_leg_state_to_string (KmgRelayLegState state)
{
  static const char *const names[] = { "new", "connecting", "connected", "disconnected", "failed", "closed" };

  return state < G_N_ELEMENTS (names) ? names[state] : "unknown";
}
