/* kmg-stun-server.c — a STUN binding responder on a GSocket in the main context, using
 * libnice's STUN message code. Answers binding requests only, never to denied sources. */
#include "kmg-stun-server.h"

#include <stun/stunagent.h>
#include <stun/stunmessage.h>

#include "kmg-net-deny.h"

#define MAX_TRACKED_SOURCES 4096

typedef struct
{
  double tokens;
  gint64 last_ms;
} Bucket;

struct _KmgStunServer
{
  GSocket *socket;
  GSource *source;
  KmgNetDeny *filter;
  StunAgent agent;         /* RFC 5389 with FINGERPRINT: checks it, and adds it to answers */
  StunAgent agent_no_fp;   /* RFC 5389 requests without FINGERPRINT (it is optional there) */
  StunAgent agent_classic; /* RFC 3489 requests, no magic cookie: libnice's srflx discovery */
  guint rate_per_s;
  GHashTable *buckets; /* source IP string → Bucket */
  KmgStunServerStats stats;
};

/* Token bucket per source IP: a flood from one address cannot use us as an amplifier. */
static gboolean
rate_allow (KmgStunServer *server, const char *ip, gint64 now_ms)
{
  Bucket *b = g_hash_table_lookup (server->buckets, ip);
  double burst = 2.0 * server->rate_per_s;

  if (b == NULL)
    {
      if (g_hash_table_size (server->buckets) >= MAX_TRACKED_SOURCES)
        g_hash_table_remove_all (server->buckets);
      b = g_new0 (Bucket, 1);
      b->tokens = burst;
      b->last_ms = now_ms;
      g_hash_table_insert (server->buckets, g_strdup (ip), b);
    }
  b->tokens = MIN (burst, b->tokens + (now_ms - b->last_ms) * server->rate_per_s / 1000.0);
  b->last_ms = now_ms;
  if (b->tokens < 1.0)
    return FALSE;
  b->tokens -= 1.0;
  return TRUE;
}

/* libnice sends its server-reflexive discovery requests in RFC 3489 form (no magic cookie,
 * no FINGERPRINT) and many RFC 5389 clients omit FINGERPRINT: a single RFC 5389 agent that
 * requires it rejects them all, so pick the agent that can validate this request. */
static StunAgent *
request_agent (KmgStunServer *server, const guint8 *buf, gsize len)
{
  static const guint8 cookie[4] = { 0x21, 0x12, 0xa4, 0x42 };
  static const guint8 fingerprint[4] = { 0x80, 0x28, 0x00, 0x04 };

  if (len < 20 || memcmp (buf + 4, cookie, sizeof cookie) != 0)
    return &server->agent_classic;
  /* FINGERPRINT, when present, is the last attribute. */
  if (len >= 28 && memcmp (buf + len - 8, fingerprint, sizeof fingerprint) == 0)
    return &server->agent;
  return &server->agent_no_fp;
}

static void
handle_datagram (KmgStunServer *server, const guint8 *buf, gsize len, GSocketAddress *from)
{
  StunMessage req, resp;
  StunAgent *agent = request_agent (server, buf, len);
  gboolean classic = agent == &server->agent_classic;
  guint8 out[STUN_MAX_MESSAGE_SIZE_IPV6];
  struct sockaddr_storage ss;

  if (!G_IS_INET_SOCKET_ADDRESS (from))
    return;
  GInetAddress *inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (from));
  g_autofree char *ip = g_inet_address_to_string (inet);
  if (kmg_net_deny_matches (server->filter, inet))
    {
      server->stats.denied++;
      return;
    }
  if (stun_agent_validate (agent, &req, buf, len, NULL, NULL) != STUN_VALIDATION_SUCCESS
      || stun_message_get_class (&req) != STUN_REQUEST || stun_message_get_method (&req) != STUN_BINDING)
    {
      server->stats.ignored++;
      return;
    }
  if (!rate_allow (server, ip, g_get_monotonic_time () / 1000))
    {
      server->stats.rate_limited++;
      return;
    }
  /* An RFC 3489 client only knows MAPPED-ADDRESS; RFC 5389 answers carry XOR-MAPPED-ADDRESS
   * and FINGERPRINT (optional to understand, so harmless to clients that did not send one). */
  agent = classic ? &server->agent_classic : &server->agent;
  if (!g_socket_address_to_native (from, &ss, sizeof ss, NULL)
      || !stun_agent_init_response (agent, &resp, out, sizeof out, &req)
      || (classic ? stun_message_append_addr (&resp, STUN_ATTRIBUTE_MAPPED_ADDRESS, (struct sockaddr *) &ss,
                                              g_socket_address_get_native_size (from))
                  : stun_message_append_xor_addr (&resp, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, &ss,
                                                  g_socket_address_get_native_size (from)))
             != STUN_MESSAGE_RETURN_SUCCESS)
    {
      server->stats.ignored++;
      return;
    }
  gsize out_len = stun_agent_finish_message (agent, &resp, NULL, 0);
  if (out_len == 0)
    return;
  if (g_socket_send_to (server->socket, from, (const char *) out, out_len, NULL, NULL) > 0)
    server->stats.answered++;
}

static gboolean
on_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  KmgStunServer *server = user_data;
  guint8 buf[1500];

  /* Bounded so one busy socket cannot starve the main loop. */
  for (guint i = 0; i < 64; i++)
    {
      g_autoptr (GSocketAddress) from = NULL;
      gssize n = g_socket_receive_from (socket, &from, (char *) buf, sizeof buf, NULL, NULL);
      if (n <= 0)
        break;
      handle_datagram (server, buf, (gsize) n, from);
    }
  return G_SOURCE_CONTINUE;
}

KmgStunServer *
kmg_stun_server_new (const char *address, guint port, guint rate_per_s,
                     const char *const *denied_cidrs, gboolean allow_loopback, GError **error)
{
  static const uint16_t known[] = { STUN_ATTRIBUTE_SOFTWARE, STUN_ATTRIBUTE_FINGERPRINT, 0 };

  g_return_val_if_fail (address != NULL && port <= 65535 && rate_per_s > 0, NULL);

  g_autoptr (KmgNetDeny) filter = kmg_net_deny_new (denied_cidrs, allow_loopback, error);
  if (filter == NULL)
    return NULL;
  g_autoptr (GInetAddress) inet = g_inet_address_new_from_string (address);
  if (inet == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "invalid STUN listen address \"%s\"", address);
      return NULL;
    }
  g_autoptr (GSocket) socket = g_socket_new (g_inet_address_get_family (inet), G_SOCKET_TYPE_DATAGRAM,
                                             G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return NULL;
  g_autoptr (GSocketAddress) bind_addr = g_inet_socket_address_new (inet, (guint16) port);
  if (!g_socket_bind (socket, bind_addr, TRUE, error))
    {
      g_prefix_error (error, "STUN server: ");
      return NULL;
    }
  g_socket_set_blocking (socket, FALSE);

  KmgStunServer *server = g_new0 (KmgStunServer, 1);
  server->socket = g_steal_pointer (&socket);
  server->filter = g_steal_pointer (&filter);
  server->rate_per_s = rate_per_s;
  server->buckets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  stun_agent_init (&server->agent, known, STUN_COMPATIBILITY_RFC5389,
                   STUN_AGENT_USAGE_IGNORE_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
  stun_agent_init (&server->agent_no_fp, known, STUN_COMPATIBILITY_RFC5389, STUN_AGENT_USAGE_IGNORE_CREDENTIALS);
  stun_agent_init (&server->agent_classic, known, STUN_COMPATIBILITY_RFC3489, STUN_AGENT_USAGE_IGNORE_CREDENTIALS);
  server->source = g_socket_create_source (server->socket, G_IO_IN, NULL);
  g_source_set_callback (server->source, (GSourceFunc) (void (*) (void)) on_readable, server, NULL);
  g_source_attach (server->source, g_main_context_get_thread_default ());
  return server;
}

void
kmg_stun_server_free (KmgStunServer *server)
{
  if (server == NULL)
    return;
  g_source_destroy (server->source);
  g_source_unref (server->source);
  g_socket_close (server->socket, NULL);
  g_object_unref (server->socket);
  kmg_net_deny_free (server->filter);
  g_hash_table_unref (server->buckets);
  g_free (server);
}

guint
kmg_stun_server_get_port (KmgStunServer *server)
{
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (server->socket, NULL);

  return local != NULL ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)) : 0;
}

void
kmg_stun_server_get_stats (KmgStunServer *server, KmgStunServerStats *stats)
{
  *stats = server->stats;
}
