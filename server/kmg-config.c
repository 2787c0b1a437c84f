/* kmg-config.c — every knob of kamegord, its default, and loading from an INI file (GKeyFile).
 * One table describes each key once: its group, type, range and where it lives in KmgConfig. */

#include "kmg-config.h"

#include <gio/gio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "kmg-net-deny.h"

G_DEFINE_QUARK (kmg-config-error-quark, kmg_config_error)

typedef enum
{
  T_INT,
  T_BOOL,
  T_STRING,
  T_LIST,
  T_POLICY,
} KeyType;

typedef struct
{
  const char *group;
  const char *key;
  KeyType type;
  gsize offset;
  gint64 min, max; /* T_INT only */
} KeyDef;

#define I(g, k, f, lo, hi) { g, k, T_INT, offsetof (KmgConfig, f), lo, hi }
#define B(g, k, f) { g, k, T_BOOL, offsetof (KmgConfig, f), 0, 0 }
#define S(g, k, f) { g, k, T_STRING, offsetof (KmgConfig, f), 0, 0 }
#define L(g, k, f) { g, k, T_LIST, offsetof (KmgConfig, f), 0, 0 }

static const KeyDef keys[] = {
  S ("server", "listen", listen),
  S ("server", "data_dir", data_dir),
  S ("server", "log_level", log_level),
  L ("server", "allowed_origins", allowed_origins),
  S ("server", "public_url", public_url),
  S ("server", "web_dir", web_dir),
  I ("server", "max_body_bytes", max_body_bytes, 1024, 16 * 1024 * 1024),
  B ("server", "core_dumps", core_dumps),
  S ("admin", "listen", admin_listen),
  I ("http", "header_timeout_s", http_header_timeout_s, 1, 3600),
  I ("http", "body_timeout_s", http_body_timeout_s, 1, 3600),
  I ("http", "body_min_bytes_per_s", http_body_min_bytes_per_s, 0, 1024 * 1024 * 1024),
  I ("http", "max_connections_per_address", http_max_connections_per_address, 0, 1000000),
  I ("accounts", "max_concurrent_hashes", max_concurrent_hashes, 1, 64),
  I ("accounts", "token_ttl_s", token_ttl_s, 60, 365 * 86400),
  I ("accounts", "login_per_user_per_5min", login_per_user_per_5min, 1, 10000),
  I ("accounts", "login_per_addr_per_5min", login_per_addr_per_5min, 1, 100000),
  I ("accounts", "register_per_addr_per_hour", register_per_addr_per_hour, 1, 1000000),
  I ("accounts", "picture_max_bytes", picture_max_bytes, 1024, 16 * 1024 * 1024),
  I ("presence", "grace_s", grace_s, 0, 3600),
  I ("presence", "ping_s", ping_s, 1, 600),
  I ("map", "online_precision", online_precision, 1, 8),
  I ("map", "streaming_decimals", streaming_decimals, 0, 6),
  I ("map", "flush_ms", flush_ms, 10, 60000),
  I ("map", "min_update_s", min_update_s, 0, 3600),
  I ("map", "max_items", max_items, 1, 10000),
  I ("ws", "max_message_bytes", ws_max_message_bytes, 256, 1024 * 1024),
  I ("ws", "messages_per_s", ws_messages_per_s, 1, 100000),
  I ("ws", "burst", ws_burst, 1, 100000),
  I ("ws", "max_connections", ws_max_connections, 1, 1000000),
  I ("ws", "max_per_user", ws_max_per_user, 1, 10000),
  I ("ws", "max_per_address", ws_max_per_address, 1, 1000000),
  I ("ws", "threads", ws_threads, 0, 64),
  B ("ws", "permessage_deflate", ws_permessage_deflate),
  { "relay", "policy", T_POLICY, offsetof (KmgConfig, relay_policy), 0, 0 },
  I ("relay", "p2p_timeout_ms", p2p_timeout_ms, 100, 120000),
  I ("relay", "rtp_port_min", rtp_port_min, 0, 65535),
  I ("relay", "rtp_port_max", rtp_port_max, 0, 65535),
  S ("relay", "public_ip", public_ip),
  B ("relay", "ice_tcp", ice_tcp),
  B ("relay", "direct_udp", direct_udp),
  B ("relay", "allow_loopback", relay_allow_loopback),
  B ("relay", "deny_host_addresses", deny_host_addresses),
  I ("relay", "stun_port", stun_port, 0, 65535),
  S ("relay", "stun_server", stun_server),
  L ("relay", "denied_peer_cidrs", denied_peer_cidrs),
  I ("relay", "max_legs_per_seller", max_legs_per_seller, 1, 100000),
  I ("relay", "max_legs_total", max_legs_total, 1, 1000000),
  I ("billing", "min_billable_s", min_billable_s, 1, 3600),
  I ("billing", "minute_s", minute_s, 1, 3600),
  I ("billing", "fee_pct", fee_pct, 0, 100),
  I ("billing", "receipt_timeout_s", receipt_timeout_s, 1, 3600),
  S ("billing", "webhook_secret", webhook_secret),
  I ("billing", "webhook_max_skew_s", webhook_max_skew_s, 1, 86400),
};

KmgConfig *
kmg_config_new_default (void)
{
  KmgConfig *c = g_new0 (KmgConfig, 1);
  static const char *origins[] = { "http://127.0.0.1:8080", "http://localhost:8080", NULL };

  c->listen = g_strdup ("127.0.0.1:8080");
  c->data_dir = g_strdup ("./data");
  c->log_level = g_strdup ("info");
  c->allowed_origins = g_strdupv ((char **) origins);
  c->public_url = g_strdup ("");
  c->web_dir = g_strdup ("");
  c->max_body_bytes = 64 * 1024;
  c->core_dumps = FALSE;
  c->admin_listen = g_strdup ("");
  c->http_header_timeout_s = 10;
  c->http_body_timeout_s = 10;
  c->http_body_min_bytes_per_s = 4096;
  c->http_max_connections_per_address = 256;
  c->max_concurrent_hashes = 2;
  c->token_ttl_s = 30 * 86400;
  c->login_per_user_per_5min = 10;
  c->login_per_addr_per_5min = 30;
  c->register_per_addr_per_hour = 20;
  c->picture_max_bytes = 2 * 1024 * 1024;
  c->grace_s = 20;
  c->ping_s = 10;
  c->online_precision = 5;
  c->streaming_decimals = 4;
  c->flush_ms = 200;
  c->min_update_s = 5;
  c->max_items = 500;
  c->ws_max_message_bytes = 16 * 1024;
  c->ws_messages_per_s = 20;
  c->ws_burst = 40;
  c->ws_max_connections = 19000;
  /* Phone, tablet and a few browser tabs; a 9th socket of one account is a script. */
  c->ws_max_per_user = 8;
  /* One public address may be a carrier-grade NAT (hundreds of subscribers; an IPv6 /64 counts
   * as one): 500 lets those through while no one address takes more than ~2.6 % of the default
   * 19000 slots. */
  c->ws_max_per_address = 500;
  c->ws_threads = 0;
  c->relay_policy = KMG_RELAY_POLICY_AUTO;
  c->p2p_timeout_ms = 5000;
  c->rtp_port_min = 0;
  c->rtp_port_max = 0;
  c->public_ip = g_strdup ("");
  c->ice_tcp = TRUE;
  c->direct_udp = TRUE;
  c->deny_host_addresses = TRUE;
  c->stun_port = 3478;
  c->stun_server = g_strdup ("");
  c->denied_peer_cidrs = g_strdupv ((char **) kmg_net_deny_default_cidrs ());
  c->max_legs_per_seller = 200;
  c->max_legs_total = 1000;
  c->min_billable_s = 10;
  c->minute_s = 60;
  c->fee_pct = 20;
  c->receipt_timeout_s = 5;
  c->webhook_secret = g_strdup ("");
  c->webhook_max_skew_s = 300;
  return c;
}

void
kmg_config_free (KmgConfig *c)
{
  if (c == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      gpointer field = (char *) c + keys[i].offset;
      if (keys[i].type == T_STRING)
        g_free (*(char **) field);
      else if (keys[i].type == T_LIST)
        g_strfreev (*(char ***) field);
    }
  g_free (c);
}

static const KeyDef *
find_key (const char *group, const char *key)
{
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if (g_str_equal (keys[i].group, group) && g_str_equal (keys[i].key, key))
      return &keys[i];
  return NULL;
}

static gboolean
value_error (const KeyDef *def, const char *what, GError **error)
{
  g_set_error (error, KMG_CONFIG_ERROR, KMG_CONFIG_ERROR_VALUE, "%s.%s: %s", def->group, def->key,
               what);
  return FALSE;
}

gboolean
kmg_config_set (KmgConfig *c, const char *group, const char *key, const char *value,
                GError **error)
{
  const KeyDef *def = find_key (group, key);
  gpointer field;

  if (def == NULL)
    {
      g_set_error (error, KMG_CONFIG_ERROR, KMG_CONFIG_ERROR_UNKNOWN, "unknown setting %s.%s", group,
                   key);
      return FALSE;
    }
  field = (char *) c + def->offset;
  value = value ? value : "";
  switch (def->type)
    {
    case T_INT:
      {
        gint64 v;
        if (!g_ascii_string_to_signed (value, 10, def->min,
                                       def->max, &v, NULL))
          {
            g_autofree char *msg = g_strdup_printf (
                "'%s' is not an integer between %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT, value,
                def->min, def->max);
            return value_error (def, msg, error);
          }
        *(gint64 *) field = v;
        break;
      }
    case T_BOOL:
      if (g_str_equal (value, "true") || g_str_equal (value, "1"))
        *(gboolean *) field = TRUE;
      else if (g_str_equal (value, "false") || g_str_equal (value, "0"))
        *(gboolean *) field = FALSE;
      else
        return value_error (def, "expected true or false", error);
      break;
    case T_STRING:
      g_free (*(char **) field);
      *(char **) field = g_strdup (value);
      break;
    case T_LIST:
      {
        g_auto (GStrv) parts = g_strsplit (value, ",", -1);
        g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
        for (guint i = 0; parts[i]; i++)
          {
            g_strstrip (parts[i]);
            if (*parts[i])
              g_strv_builder_add (b, parts[i]);
          }
        g_strfreev (*(char ***) field);
        *(char ***) field = g_strv_builder_end (b);
        break;
      }
    case T_POLICY:
      {
        KmgSessionPolicy policy;

        if (!kmg_session_policy_from_string (value, &policy))
          return value_error (def, "expected auto, always or never", error);
        c->relay_policy = (KmgRelayPolicy) policy;
        break;
      }
    default:
      g_assert_not_reached ();
    }
  return TRUE;
}

static gboolean
load_keyfile (KmgConfig *c, GKeyFile *kf, GError **error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);

  for (guint g = 0; groups[g]; g++)
    {
      g_auto (GStrv) names = g_key_file_get_keys (kf, groups[g], NULL, NULL);
      for (guint k = 0; names && names[k]; k++)
        {
          g_autofree char *raw = g_key_file_get_value (kf, groups[g], names[k], NULL);
          const KeyDef *def = find_key (groups[g], names[k]);
          g_autofree char *value = NULL;

          if (def != NULL && (def->type == T_STRING || def->type == T_LIST))
            value = g_key_file_get_string (kf, groups[g], names[k], NULL);
          else
            value = g_strstrip (g_strdup (raw));
          if (!kmg_config_set (c, groups[g], names[k], value ? value : raw, error))
            return FALSE;
        }
    }
  return kmg_config_validate (c, error);
}

gboolean
kmg_config_load_data (KmgConfig *c, const char *data, gsize len, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local = NULL;

  if (!g_key_file_load_from_data (kf, data, len, G_KEY_FILE_NONE, &local))
    {
      g_set_error (error, KMG_CONFIG_ERROR, KMG_CONFIG_ERROR_FILE, "%s", local->message);
      return FALSE;
    }
  return load_keyfile (c, kf, error);
}

gboolean
kmg_config_load_file (KmgConfig *c, const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) local = NULL;

  if (!g_file_get_contents (path, &data, &len, &local))
    {
      g_set_error (error, KMG_CONFIG_ERROR, KMG_CONFIG_ERROR_FILE, "%s", local->message);
      return FALSE;
    }
  if (!kmg_config_load_data (c, data, len, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  return TRUE;
}

gboolean
kmg_config_parse_listen (const char *listen, char **addr, guint16 *port, GError **error)
{
  const char *colon = strrchr (listen, ':');
  g_autofree char *host = NULL;
  guint64 p;

  if (colon == NULL || colon == listen
      || !g_ascii_string_to_unsigned (colon + 1, 10, 0, 65535, &p, NULL))
    {
      g_set_error (error, KMG_CONFIG_ERROR, KMG_CONFIG_ERROR_VALUE,
                   "listen address '%s' must be ADDR:PORT", listen);
      return FALSE;
    }
  host = g_strndup (listen, colon - listen);
  if (host[0] == '[' && host[strlen (host) - 1] == ']')
    {
      char *inner = g_strndup (host + 1, strlen (host) - 2);
      g_free (host);
      host = inner;
    }
  if (!g_hostname_is_ip_address (host))
    {
      g_set_error (error, KMG_CONFIG_ERROR, KMG_CONFIG_ERROR_VALUE,
                   "listen address '%s': '%s' is not an IP address", listen, host);
      return FALSE;
    }
  if (addr)
    *addr = g_steal_pointer (&host);
  if (port)
    *port = (guint16) p;
  return TRUE;
}

gboolean
kmg_config_validate (const KmgConfig *c, GError **error)
{
  static const char *levels[] = { "error", "critical", "warning", "message", "info", "debug", NULL };
  g_autoptr (GError) local = NULL;

  if (!kmg_config_parse_listen (c->listen, NULL, NULL, error))
    {
      g_prefix_error (error, "server.listen: ");
      return FALSE;
    }
  if (*c->admin_listen && !kmg_config_parse_listen (c->admin_listen, NULL, NULL, error))
    {
      g_prefix_error (error, "admin.listen: ");
      return FALSE;
    }
  if (!*c->data_dir)
    {
      g_set_error_literal (error, KMG_CONFIG_ERROR, KMG_CONFIG_ERROR_VALUE,
                           "server.data_dir: must not be empty");
      return FALSE;
    }
  if (!g_strv_contains (levels, c->log_level))
    {
      g_set_error (error, KMG_CONFIG_ERROR, KMG_CONFIG_ERROR_VALUE,
                   "server.log_level: '%s' is not one of error, warning, message, info, debug",
                   c->log_level);
      return FALSE;
    }
  if ((c->rtp_port_min == 0) != (c->rtp_port_max == 0) || c->rtp_port_min > c->rtp_port_max)
    {
      g_set_error_literal (error, KMG_CONFIG_ERROR, KMG_CONFIG_ERROR_VALUE,
                           "relay.rtp_port_min/rtp_port_max: set both (min <= max) or neither");
      return FALSE;
    }
  if (*c->public_ip && !g_hostname_is_ip_address (c->public_ip))
    {
      g_set_error (error, KMG_CONFIG_ERROR, KMG_CONFIG_ERROR_VALUE,
                   "relay.public_ip: '%s' is not an IP address", c->public_ip);
      return FALSE;
    }
  if (c->denied_peer_cidrs != NULL
      && !kmg_net_deny_check_cidrs ((const char *const *) c->denied_peer_cidrs, &local))
    {
      g_set_error (error, KMG_CONFIG_ERROR, KMG_CONFIG_ERROR_VALUE, "relay.denied_peer_cidrs: %s",
                   local->message);
      return FALSE;
    }
  if (c->min_billable_s > c->minute_s)
    {
      g_set_error_literal (error, KMG_CONFIG_ERROR, KMG_CONFIG_ERROR_VALUE,
                           "billing.min_billable_s: must not exceed billing.minute_s");
      return FALSE;
    }
  if (c->ws_burst < 1 || c->max_legs_per_seller > c->max_legs_total)
    {
      g_set_error_literal (error, KMG_CONFIG_ERROR, KMG_CONFIG_ERROR_VALUE,
                           "relay.max_legs_per_seller: must not exceed relay.max_legs_total");
      return FALSE;
    }
  return TRUE;
}
