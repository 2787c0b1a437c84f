/* kmg-config.h — every knob of kamegord, its default, and loading from an INI file (GKeyFile).
 * Values are validated here once; modules receive plain values, never the key file. */
#pragma once

#include <glib.h>

#include "kmg-session-types.h"

G_BEGIN_DECLS

#define KMG_CONFIG_ERROR (kmg_config_error_quark ())
GQuark kmg_config_error_quark (void);

typedef enum
{
  KMG_CONFIG_ERROR_FILE,    /* unreadable or not an INI file */
  KMG_CONFIG_ERROR_UNKNOWN, /* unknown group or key */
  KMG_CONFIG_ERROR_VALUE,   /* a value of the wrong type or out of range */
} KmgConfigError;

/* relay.policy is the session policy: same values, same names (kmg_session_policy_to_string). */
typedef enum
{
  KMG_RELAY_POLICY_AUTO = KMG_SESSION_POLICY_AUTO,
  KMG_RELAY_POLICY_ALWAYS = KMG_SESSION_POLICY_ALWAYS,
  KMG_RELAY_POLICY_NEVER = KMG_SESSION_POLICY_NEVER,
} KmgRelayPolicy;

typedef struct
{
  /* [server] */
  char *listen;          /* ADDR:PORT */
  char *data_dir;
  char *log_level;       /* error, warning, message, info, debug */
  char **allowed_origins;
  char *public_url;      /* how clients reach us, for absolute links; empty = relative */
  char *web_dir;         /* static files of the reference client; empty = built-in default */
  gint64 max_body_bytes;
  gboolean core_dumps;   /* FALSE: the process is not dumpable (no core holds a precise fix) */
  /* [admin] */
  char *admin_listen;    /* empty = admin API on the public listener */
  /* [http] connection limits of both listeners (kmg-listener.h) */
  gint64 http_header_timeout_s;
  gint64 http_body_timeout_s;
  gint64 http_body_min_bytes_per_s;         /* 0 = the body has body_timeout_s in all */
  gint64 http_max_connections_per_address; /* 0 = no cap */
  /* [accounts] */
  gint64 max_concurrent_hashes;
  gint64 token_ttl_s;
  gint64 login_per_user_per_5min;
  gint64 login_per_addr_per_5min;
  gint64 register_per_addr_per_hour;
  gint64 picture_max_bytes;
  /* [presence] */
  gint64 grace_s;
  gint64 ping_s;
  /* [map] */
  gint64 online_precision;
  gint64 streaming_decimals;
  gint64 flush_ms;
  gint64 min_update_s;
  gint64 max_items;
  /* [ws] */
  gint64 ws_max_message_bytes;
  gint64 ws_messages_per_s;
  gint64 ws_burst;
  gint64 ws_max_connections;
  gint64 ws_max_per_user;
  gint64 ws_max_per_address;
  gint64 ws_threads;
  gboolean ws_permessage_deflate;
  /* [relay] */
  KmgRelayPolicy relay_policy;
  gint64 p2p_timeout_ms;
  gint64 rtp_port_min;
  gint64 rtp_port_max;
  char *public_ip;
  gboolean ice_tcp;
  gboolean direct_udp;
  gboolean relay_allow_loopback; /* tests and single-machine trials: relay over 127.0.0.1 */
  gboolean deny_host_addresses;  /* peers may not name the server's own interface addresses */
  gint64 stun_port;      /* 0 = no built-in STUN responder */
  char *stun_server;     /* what clients are told; empty = our own STUN port */
  char **denied_peer_cidrs;
  gint64 max_legs_per_seller;
  gint64 max_legs_total;
  /* [billing] */
  gint64 min_billable_s;
  gint64 minute_s;
  gint64 fee_pct;
  gint64 receipt_timeout_s;
  char *webhook_secret;  /* empty = top-up webhook disabled */
  gint64 webhook_max_skew_s;
} KmgConfig;

KmgConfig *kmg_config_new_default (void);
void kmg_config_free (KmgConfig *config);

/* Applies @path over the current values. Unknown keys and bad values fail naming group.key. */
gboolean kmg_config_load_file (KmgConfig *config, const char *path, GError **error);
gboolean kmg_config_load_data (KmgConfig *config, const char *data, gsize len, GError **error);
/* Sets one key from "group.key=value"-style input (used by CLI flags and tests). */
gboolean kmg_config_set (KmgConfig *config, const char *group, const char *key, const char *value,
                         GError **error);
/* Cross-field checks (ranges that depend on each other). */
gboolean kmg_config_validate (const KmgConfig *config, GError **error);

/* Splits "ADDR:PORT" / "[v6]:PORT". */
gboolean kmg_config_parse_listen (const char *listen, char **addr, guint16 *port, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgConfig, kmg_config_free)

G_END_DECLS
