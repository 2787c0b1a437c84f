/* kmg-relay.c — the relay facade, top of the relay's stack: configuration, limits, counters, the
 * id → leg maps and every function of kmg-relay.h (but the error domain, kmg-relay-leg.c). Calls
 * down into roles and transports; nothing below calls it. Threads: webrtcbin and streaming
 * threads reach this state only through kmg_relay_leg_hop(), which runs on the main context. */
#include <gst/sdp/sdp.h>

#include "kmg-host-addrs.h"
#include "kmg-meter.h"
#include "kmg-net-filter.h"
#include "kmg-relay-buyer.h"
#include "kmg-relay-leg.h"
#include "kmg-relay-sdp.h"
#include "kmg-relay-seller.h"
#include "kmg-relay-webrtc.h"

KmgRelayConfig *
kmg_relay_config_new (void)
{
  KmgRelayConfig *config = g_new0 (KmgRelayConfig, 1);

  config->ice_tcp = TRUE;
  config->max_legs_per_seller = 50;
  config->max_legs_total = 1000;
  config->keyframe_interval_ms = 500;
  config->direct_udp = TRUE;
  config->deny_host_addresses = TRUE;
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
      kmg_relay_seller_check_media (seller, now_ms);
      for (guint i = 0; i < seller->buyers->len; i++)
        {
          KmgRelayBuyerLeg *buyer = g_ptr_array_index (seller->buyers, i);
          kmg_relay_buyer_poll (buyer, now_ms, now_real_us / G_USEC_PER_SEC, seconds);
        }
    }
  return G_SOURCE_CONTINUE;
}

/* Peers may not make the relay probe or stream to services of the server itself (a UDP service
 * bound to 0.0.0.0 answers on every interface address). */
static KmgNetDeny *
remote_filter_new (const KmgRelayConfig *config, GError **error)
{
  g_autoptr (GPtrArray) host = config->deny_host_addresses ? kmg_host_addrs_list () : NULL;
  g_auto (GStrv) cidrs = kmg_host_addrs_deny_cidrs ((const char *const *) config->denied_cidrs, host,
                                                    config->allow_loopback);
  return kmg_net_deny_new ((const char *const *) cidrs, config->allow_loopback, error);
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
  g_autoptr (KmgNetDeny) remote_filter = remote_filter_new (config, error);
  if (remote_filter == NULL)
    return NULL;

  gst_init (NULL, NULL);
  kmg_relay_debug_init ();
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
  relay->remote_filter = g_steal_pointer (&remote_filter);
  relay->sellers = g_hash_table_new (g_int64_hash, g_int64_equal);
  relay->buyers = g_hash_table_new (g_int64_hash, g_int64_equal);
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
          KmgRelayBuyerLeg *buyer = g_ptr_array_index (seller->buyers, 0);
          kmg_relay_buyer_stop (&buyer->leg);
        }
      /* Teardowns still queued run now, while their seller exists; the idles become no-ops. */
      while (seller->stopping->len > 0)
        teardown_idle (g_ptr_array_index (seller->stopping, 0));
      kmg_relay_seller_free (seller);
    }
  g_list_free (sellers);
  g_hash_table_unref (relay->sellers);
  g_hash_table_unref (relay->buyers);
  kmg_net_deny_free (relay->filter);
  kmg_net_deny_free (relay->remote_filter);
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
kmg_relay_get_seller_leg (KmgRelay *relay, gint64 seller_id)
{
  g_return_val_if_fail (relay != NULL, NULL);

  KmgSeller *seller = g_hash_table_lookup (relay->sellers, &seller_id);
  return seller != NULL ? &seller->leg->leg : NULL;
}

KmgRelayLeg *
kmg_relay_get_buyer_leg (KmgRelay *relay, gint64 session_id)
{
  g_return_val_if_fail (relay != NULL, NULL);

  KmgRelayBuyerLeg *buyer = g_hash_table_lookup (relay->buyers, &session_id);
  return buyer != NULL ? &buyer->leg : NULL;
}

KmgRelayLeg *
kmg_relay_buyer_add (KmgRelay *relay, gint64 seller_id, gint64 session_id,
                     gboolean *out_seller_created, GError **error)
{
  g_return_val_if_fail (relay != NULL && seller_id > 0 && session_id > 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (out_seller_created != NULL)
    *out_seller_created = FALSE;
  if (g_hash_table_contains (relay->buyers, &session_id))
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_STATE,
                   "session %" G_GINT64_FORMAT " has a buyer leg already", session_id);
      return NULL;
    }
  if (relay->config->max_legs_total > 0 && relay->buyer_count >= relay->config->max_legs_total)
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_LIMIT, "relay is full (%u buyer legs)",
                   relay->buyer_count);
      return NULL;
    }
  KmgSeller *seller = g_hash_table_lookup (relay->sellers, &seller_id);
  if (seller != NULL && relay->config->max_legs_per_seller > 0
      && seller->buyers->len >= relay->config->max_legs_per_seller)
    {
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_LIMIT, "seller has %u relayed buyers already",
                   seller->buyers->len);
      return NULL;
    }
  if (seller == NULL)
    {
      seller = kmg_relay_seller_new (relay, seller_id, error);
      if (seller == NULL)
        return NULL;
      g_hash_table_insert (relay->sellers, &seller->id, seller);
      if (out_seller_created != NULL)
        *out_seller_created = TRUE;
    }

  KmgRelayBuyerLeg *buyer = kmg_relay_buyer_new (relay, seller, session_id);
  g_ptr_array_add (seller->buyers, buyer);
  g_hash_table_insert (relay->buyers, &buyer->leg.session_id, buyer);
  relay->buyer_count++;
  kmg_relay_buyer_build (buyer); /* no-op until the seller's caps are known */
  return &buyer->leg;
}

/* Runs once per stopped buyer leg. Buyers stopped together each queue one of these: their
 * seller (kept while seller->stopping is not empty) is freed only after the last one ran. */
static gboolean
teardown_idle (gpointer user_data)
{
  KmgRelayBuyerLeg *buyer = user_data;
  KmgRelayLeg *leg = &buyer->leg;
  KmgSeller *seller = leg->seller;

  if (seller == NULL)
    return G_SOURCE_REMOVE; /* already torn down by kmg_relay_free() */
  kmg_relay_buyer_teardown (buyer);
  kmg_relay_leg_set_state (leg, KMG_RELAY_LEG_STATE_CLOSED);
  leg->seller = NULL;
  g_ptr_array_remove (seller->stopping, buyer);
  kmg_relay_seller_maybe_close (seller);
  return G_SOURCE_REMOVE;
}

void
kmg_relay_buyer_stop (KmgRelayLeg *leg)
{
  g_return_if_fail (leg != NULL && leg->kind == KMG_RELAY_LEG_BUYER);

  if (leg->stopped || leg->seller == NULL)
    return;
  KmgRelayBuyerLeg *buyer = KMG_RELAY_BUYER_LEG (leg);
  KmgSeller *seller = leg->seller;
  KmgRelay *relay = seller->relay;

  leg->stopped = TRUE;
  kmg_relay_buyer_cut (buyer); /* enforcement first */
  g_ptr_array_remove (seller->buyers, buyer);
  g_hash_table_remove (relay->buyers, &leg->session_id);
  relay->buyer_count--;

  if (relay->destroying)
    {
      teardown_idle (buyer);
      kmg_relay_leg_unref (leg);
      return;
    }
  g_ptr_array_add (seller->stopping, buyer);
  GSource *idle = g_idle_source_new ();
  g_source_set_callback (idle, teardown_idle, buyer, (GDestroyNotify) kmg_relay_leg_unref);
  g_source_attach (idle, relay->context);
  g_source_unref (idle);
}

/* TRUE when an a=candidate line of @sdp names a denied address, as a trickled one would be. */
static gboolean
sdp_has_denied_candidate (KmgRelay *relay, const GstSDPMessage *sdp)
{
  for (guint m = 0; m < gst_sdp_message_medias_len (sdp); m++)
    {
      const GstSDPMedia *media = gst_sdp_message_get_media (sdp, m);
      for (guint a = 0; a < gst_sdp_media_attributes_len (media); a++)
        {
          const GstSDPAttribute *attr = gst_sdp_media_get_attribute (media, a);
          g_auto (KmgCandidate) cand = { 0 };
          g_autofree char *line = NULL;
          if (g_strcmp0 (attr->key, "candidate") != 0 || attr->value == NULL)
            continue;
          line = g_strconcat ("candidate:", attr->value, NULL);
          if (kmg_candidate_parse (line, &cand) && kmg_net_deny_is_denied (relay->remote_filter, cand.address))
            return TRUE;
        }
    }
  return FALSE;
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
  if (leg->stopped || leg->webrtc == NULL)
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
  if (leg->seller != NULL && sdp_has_denied_candidate (leg->seller->relay, msg))
    {
      gst_sdp_message_free (msg);
      leg->seller->relay->stats.candidates_denied++;
      g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_DENIED_ADDRESS,
                   "a candidate of the description is in a denied range");
      return FALSE;
    }
  if (leg->kind == KMG_RELAY_LEG_SELLER)
    return kmg_relay_seller_set_offer (KMG_RELAY_SELLER_LEG (leg), msg, error);
  kmg_relay_webrtc_set_remote (leg, GST_WEBRTC_SDP_TYPE_ANSWER, msg);
  return TRUE;
}

gboolean
kmg_relay_leg_add_remote_candidate (KmgRelayLeg *leg, guint mline, const char *candidate, GError **error)
{
  g_auto (KmgCandidate) cand = { 0 };

  g_return_val_if_fail (leg != NULL && candidate != NULL, FALSE);

  if (leg->stopped || leg->webrtc == NULL || leg->seller == NULL)
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
  if (kmg_net_deny_is_denied (relay->remote_filter, cand.address))
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

  if (leg->stopped || leg->seller == NULL)
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
  return kmg_relay_buyer_restart (KMG_RELAY_BUYER_LEG (leg), error);
}

KmgRelayLegKind
kmg_relay_leg_get_kind (const KmgRelayLeg *leg)
{
  return leg->kind;
}

gint64
kmg_relay_leg_get_session_id (const KmgRelayLeg *leg)
{
  return leg->session_id;
}

gint64
kmg_relay_leg_get_seller_id (const KmgRelayLeg *leg)
{
  return leg->seller_id;
}

KmgRelayLegState
kmg_relay_leg_get_state (const KmgRelayLeg *leg)
{
  return leg->state;
}

const char *
kmg_relay_leg_state_to_string (KmgRelayLegState state)
{
  return kmg_relay_leg_state_name (state);
}
