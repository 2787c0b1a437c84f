/* kmg-module-configs.c — KmgConfig → each module's config struct (see kmg-module-configs.h).
 * Units change here (seconds → milliseconds), nowhere else. */

#include "kmg-module-configs.h"

void
kmg_module_config_accounts (const KmgConfig *c, KmgAccountsConfig *out)
{
  kmg_accounts_config_init (out);
  out->max_concurrent_hashes = c->max_concurrent_hashes;
  out->token_ttl_s = c->token_ttl_s;
  out->login_per_user_per_5min = c->login_per_user_per_5min;
  out->login_per_addr_per_5min = c->login_per_addr_per_5min;
  out->register_per_addr_per_hour = c->register_per_addr_per_hour;
  out->picture_max_bytes = c->picture_max_bytes;
}

void
kmg_module_config_map (const KmgConfig *c, KmgMapConfig *out)
{
  kmg_map_config_init (out);
  out->online_precision = c->online_precision;
  out->streaming_decimals = c->streaming_decimals;
  out->max_items = c->max_items;
  out->min_update_ms = 0; /* the hub already refuses fixes closer than map.min_update_s */
}

void
kmg_module_config_signaling (const KmgConfig *c, KmgMetrics *metrics, KmgSignalingConfig *out)
{
  kmg_signaling_config_init (out);
  out->allowed_origins = c->allowed_origins;
  out->max_message_bytes = c->ws_max_message_bytes;
  out->messages_per_s = c->ws_messages_per_s;
  out->burst = c->ws_burst;
  out->ping_ms = c->ping_s * 1000;
  out->grace_ms = c->grace_s * 1000;
  out->min_location_ms = c->min_update_s * 1000;
  out->flush_ms = c->flush_ms;
  out->max_connections = c->ws_max_connections;
  out->max_per_user = (guint) c->ws_max_per_user;
  out->max_per_address = (guint) c->ws_max_per_address;
  out->threads = (guint) c->ws_threads;
  out->permessage_deflate = c->ws_permessage_deflate;
  out->metrics = metrics;
}

void
kmg_module_config_billing (const KmgConfig *c, KmgBillingRules *out)
{
  kmg_billing_rules_init (out);
  out->min_billable_s = c->min_billable_s;
  out->minute_s = c->minute_s;
  out->fee_pct = c->fee_pct;
  out->receipt_timeout_s = c->receipt_timeout_s;
}

void
kmg_module_config_sessions (const KmgConfig *c, KmgSessionConfig *out)
{
  kmg_session_config_init (out);
  out->policy = (KmgSessionPolicy) c->relay_policy; /* one enum's values (kmg-config.h) */
  out->p2p_timeout_ms = c->p2p_timeout_ms;
  out->ice_grace_ms = c->grace_s * 1000;
  out->denied_cidrs = c->denied_peer_cidrs;
  out->allow_loopback = c->relay_allow_loopback;
  /* A seller's uplink carries every P2P viewer and the relay's seller leg: cap its sessions like
   * its relay legs. */
  out->max_sessions_per_seller = (guint) c->max_legs_per_seller;
}

KmgRelayConfig *
kmg_module_config_relay (const KmgConfig *c)
{
  KmgRelayConfig *rc = kmg_relay_config_new ();

  rc->min_port = (guint) c->rtp_port_min;
  rc->max_port = (guint) c->rtp_port_max;
  g_clear_pointer (&rc->public_ip, g_free);
  if (*c->public_ip)
    rc->public_ip = g_strdup (c->public_ip);
  rc->ice_tcp = c->ice_tcp;
  rc->direct_udp = c->direct_udp;
  g_clear_pointer (&rc->stun_server, g_free);
  if (*c->stun_server)
    rc->stun_server = g_strdup_printf ("stun://%s", c->stun_server);
  g_clear_pointer (&rc->denied_cidrs, g_strfreev);
  rc->denied_cidrs = g_strdupv (c->denied_peer_cidrs);
  rc->max_legs_per_seller = (guint) c->max_legs_per_seller;
  rc->max_legs_total = (guint) c->max_legs_total;
  rc->allow_loopback = c->relay_allow_loopback;
  rc->deny_host_addresses = c->deny_host_addresses;
  return rc;
}

void
kmg_module_config_listener (const KmgConfig *c, KmgListenerLimits *out)
{
  kmg_listener_limits_init (out);
  out->header_timeout_s = (guint) c->http_header_timeout_s;
  out->body_timeout_s = (guint) c->http_body_timeout_s;
  out->body_min_bytes_per_s = (guint) c->http_body_min_bytes_per_s;
  out->max_connections_per_address = (guint) c->http_max_connections_per_address;
}
