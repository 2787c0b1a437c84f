/* test-stun-server.c — the STUN binding responder answered by a real UDP client on loopback:
 * mapped address, non-binding traffic ignored, per-source rate limit, denied sources. */
#include "kmg-stun-server.h"

#include <nice/agent.h>
#include <stun/stunagent.h>
#include <stun/stunmessage.h>

typedef struct
{
  GSocket *socket;
  StunAgent agent;
  guint replies;
  struct sockaddr_storage mapped;
  socklen_t mapped_len;
} Client;

static const uint16_t known[] = { STUN_ATTRIBUTE_SOFTWARE, STUN_ATTRIBUTE_FINGERPRINT,
                                  STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, 0 };

static void
client_init_flags (Client *c, StunAgentUsageFlags usage)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);

  memset (c, 0, sizeof *c);
  c->socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (c->socket, any, FALSE, &error));
  g_socket_set_blocking (c->socket, FALSE);
  stun_agent_init (&c->agent, known, STUN_COMPATIBILITY_RFC5389, usage);
}

static void
client_init (Client *c)
{
  client_init_flags (c, STUN_AGENT_USAGE_IGNORE_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
}

static void
client_send (Client *c, guint port, const guint8 *data, gsize len)
{
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) to = g_inet_socket_address_new (lo, (guint16) port);
  g_assert_cmpint (g_socket_send_to (c->socket, to, (const char *) data, len, NULL, NULL), ==, (gssize) len);
}

static void
client_send_binding (Client *c, guint port)
{
  StunMessage msg;
  guint8 buf[512];

  g_assert_true (stun_agent_init_request (&c->agent, &msg, buf, sizeof buf, STUN_BINDING));
  gsize len = stun_agent_finish_message (&c->agent, &msg, NULL, 0);
  g_assert_cmpuint (len, >, 0);
  client_send (c, port, buf, len);
}

/* Runs the main loop for @ms, collecting replies. */
static void
client_collect (Client *c, guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;
  guint8 buf[1500];

  while (g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      gssize n = g_socket_receive (c->socket, (char *) buf, sizeof buf, NULL, NULL);
      if (n <= 0)
        {
          g_usleep (1000);
          continue;
        }
      StunMessage msg;
      g_assert_cmpint (stun_agent_validate (&c->agent, &msg, buf, (size_t) n, NULL, NULL), ==,
                       STUN_VALIDATION_SUCCESS);
      g_assert_cmpint (stun_message_get_class (&msg), ==, STUN_RESPONSE);
      c->mapped_len = sizeof c->mapped;
      g_assert_cmpint (stun_message_find_xor_addr (&msg, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, &c->mapped,
                                                   &c->mapped_len), ==, STUN_MESSAGE_RETURN_SUCCESS);
      c->replies++;
    }
}

static void
client_clear (Client *c)
{
  g_clear_object (&c->socket);
}

static void
test_binding (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgStunServer) server = kmg_stun_server_new ("127.0.0.1", 0, 20, NULL, TRUE, &error);
  Client c;
  KmgStunServerStats stats;

  g_assert_no_error (error);
  guint port = kmg_stun_server_get_port (server);
  g_assert_cmpuint (port, >, 0);
  client_init (&c);
  client_send_binding (&c, port);
  client_collect (&c, 200);
  g_assert_cmpuint (c.replies, ==, 1);

  /* The mapped address is the client's own address as seen by the server. */
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (c.socket, NULL);
  g_autoptr (GSocketAddress) mapped = g_socket_address_new_from_native (&c.mapped, c.mapped_len);
  g_assert_cmpuint (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (mapped)), ==,
                    g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)));
  g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (mapped)));
  g_assert_cmpstr (ip, ==, "127.0.0.1");

  /* Garbage and non-binding STUN are not answered. */
  static const guint8 junk[] = "GET / HTTP/1.0\r\n\r\n";
  client_send (&c, port, junk, sizeof junk);
  StunMessage ind;
  guint8 buf[512];
  stun_agent_init_indication (&c.agent, &ind, buf, sizeof buf, STUN_BINDING);
  client_send (&c, port, buf, stun_agent_finish_message (&c.agent, &ind, NULL, 0));
  client_collect (&c, 200);
  g_assert_cmpuint (c.replies, ==, 1);
  kmg_stun_server_get_stats (server, &stats);
  g_assert_cmpuint (stats.answered, ==, 1);
  g_assert_cmpuint (stats.ignored, ==, 2);
  client_clear (&c);
}

/* FINGERPRINT is optional in RFC 5389 requests: one without it is answered too. */
static void
test_binding_without_fingerprint (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgStunServer) server = kmg_stun_server_new ("127.0.0.1", 0, 20, NULL, TRUE, &error);
  Client c;

  g_assert_no_error (error);
  client_init_flags (&c, STUN_AGENT_USAGE_IGNORE_CREDENTIALS);
  client_send_binding (&c, kmg_stun_server_get_port (server));
  client_collect (&c, 200);
  g_assert_cmpuint (c.replies, ==, 1);
  client_clear (&c);
}

/* A user-space NAT on loopback: what arrives on @front goes to the server from @back (another
 * port), answers go back to the last client. The server maps the client to @back's address,
 * which differs from the client's host candidate, so a srflx candidate is not discarded as
 * redundant. */
typedef struct
{
  GSocket *front, *back;
  GSocketAddress *server, *client;
} Nat;

static GSocket *
udp_loopback_socket (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  GSocket *s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (s, any, FALSE, &error));
  g_socket_set_blocking (s, FALSE);
  return s;
}

static guint
socket_port (GSocket *s)
{
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (s, NULL);

  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
}

static void
nat_pump (Nat *nat)
{
  char buf[1500];
  gssize n;
  GSocketAddress *from = NULL;

  while ((n = g_socket_receive_from (nat->front, &from, buf, sizeof buf, NULL, NULL)) > 0)
    {
      g_clear_object (&nat->client);
      nat->client = g_steal_pointer (&from);
      g_socket_send_to (nat->back, nat->server, buf, (gsize) n, NULL, NULL);
    }
  g_clear_object (&from);
  while ((n = g_socket_receive (nat->back, buf, sizeof buf, NULL, NULL)) > 0)
    if (nat->client != NULL)
      g_socket_send_to (nat->front, nat->client, buf, (gsize) n, NULL, NULL);
}

static void
on_receive (NiceAgent *agent, guint stream_id, guint component_id, guint len, gchar *buf, gpointer user_data)
{
}

static void
on_gathering_done (NiceAgent *agent, guint stream_id, gpointer user_data)
{
  gboolean *done = user_data;

  *done = TRUE;
}

/* A real libnice agent (as inside webrtcbin) gathers a server-reflexive candidate from us.
 * libnice sends RFC 3489 style requests (no magic cookie) for this. */
static void
test_libnice_srflx (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgStunServer) server = kmg_stun_server_new ("127.0.0.1", 0, 20, NULL, TRUE, &error);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  Nat nat = { udp_loopback_socket (), udp_loopback_socket (), NULL, NULL };
  gboolean done = FALSE;
  NiceAddress local;
  guint srflx = 0;

  g_assert_no_error (error);
  nat.server = g_inet_socket_address_new (lo, (guint16) kmg_stun_server_get_port (server));
  NiceAgent *agent = nice_agent_new (NULL, NICE_COMPATIBILITY_RFC5245);
  g_object_set (agent, "stun-server", "127.0.0.1", "stun-server-port", socket_port (nat.front), "upnp", FALSE,
                "ice-tcp", FALSE, NULL);
  /* libnice skips loopback interfaces unless told about the address. */
  nice_address_init (&local);
  g_assert_true (nice_address_set_from_string (&local, "127.0.0.1"));
  g_assert_true (nice_agent_add_local_address (agent, &local));
  guint stream = nice_agent_add_stream (agent, 1);
  g_signal_connect (agent, "candidate-gathering-done", G_CALLBACK (on_gathering_done), &done);
  /* Until a receive callback is attached, libnice reads its sockets on a private context. */
  g_assert_true (nice_agent_attach_recv (agent, stream, 1, g_main_context_default (), on_receive, NULL));
  g_assert_true (nice_agent_gather_candidates (agent, stream));

  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!done && g_get_monotonic_time () < end)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      nat_pump (&nat);
      g_usleep (1000);
    }
  g_assert_true (done);

  GSList *cands = nice_agent_get_local_candidates (agent, stream, 1);
  for (GSList *l = cands; l != NULL; l = l->next)
    {
      NiceCandidate *cand = l->data;
      if (cand->type != NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE)
        continue;
      srflx++;
      g_assert_cmpuint (nice_address_get_port (&cand->addr), ==, socket_port (nat.back));
    }
  g_slist_free_full (cands, (GDestroyNotify) nice_candidate_free);
  g_assert_cmpuint (srflx, ==, 1);

  g_object_unref (agent);
  g_object_unref (nat.front);
  g_object_unref (nat.back);
  g_object_unref (nat.server);
  g_clear_object (&nat.client);
}

static void
test_rate_limit (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgStunServer) server = kmg_stun_server_new ("127.0.0.1", 0, 5, NULL, TRUE, &error);
  Client c;
  KmgStunServerStats stats;

  g_assert_no_error (error);
  client_init (&c);
  for (guint i = 0; i < 50; i++)
    client_send_binding (&c, kmg_stun_server_get_port (server));
  client_collect (&c, 300);
  /* Burst of 2 × 5, plus at most a couple refilled during the 300 ms. */
  g_assert_cmpuint (c.replies, >=, 10);
  g_assert_cmpuint (c.replies, <=, 12);
  kmg_stun_server_get_stats (server, &stats);
  g_assert_cmpuint (stats.rate_limited, ==, 50 - c.replies);
  client_clear (&c);
}

static void
test_denied_source (void)
{
  g_autoptr (GError) error = NULL;
  /* Loopback not allowed: 127.0.0.1 is a denied source like link-local would be. */
  g_autoptr (KmgStunServer) server = kmg_stun_server_new ("127.0.0.1", 0, 20, NULL, FALSE, &error);
  Client c;
  KmgStunServerStats stats;

  g_assert_no_error (error);
  client_init (&c);
  client_send_binding (&c, kmg_stun_server_get_port (server));
  client_collect (&c, 200);
  g_assert_cmpuint (c.replies, ==, 0);
  kmg_stun_server_get_stats (server, &stats);
  g_assert_cmpuint (stats.denied, ==, 1);
  client_clear (&c);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/relay/stun-server/binding", test_binding);
  g_test_add_func ("/relay/stun-server/binding-without-fingerprint", test_binding_without_fingerprint);
  g_test_add_func ("/relay/stun-server/libnice-srflx", test_libnice_srflx);
  g_test_add_func ("/relay/stun-server/rate-limit", test_rate_limit);
  g_test_add_func ("/relay/stun-server/denied-source", test_denied_source);
  return g_test_run ();
}
