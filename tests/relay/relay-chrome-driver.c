/* relay-chrome-driver.c — a KmgRelay with one seller and N buyers, signaled over stdin/stdout
 * as JSON lines, so a browser script (relay-chrome.mjs) can put real Chromium peers on it. A buyer
 * added with "loss" reaches the relay through a UDP forwarder that drops that share of the
 * relay's RTP towards it. Options: --no-direct-udp (every buyer leg sent by its webrtcbin). */
#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "kmg-relay.h"

#define SELLER_TAG "seller"
#define SELLER_ID 1

typedef struct
{
  KmgRelay *relay;
  GHashTable *legs; /* tag → KmgRelayLeg (buyers and the seller leg) */
  GPtrArray *tags;  /* buyer tags: session id n is tags[n - 1] */
  GMainLoop *loop;
  GDataInputStream *in;
  GHashTable *lossy; /* tag → Lossy */
  GRand *rand;       /* fixed seed: a run's losses repeat */
} Driver;

/* The path of a lossy buyer: Chromium only knows the forwarder's port (the relay's candidates
 * are announced with it), the relay only learns the forwarder's address (as peer-reflexive, the
 * buyer's own candidates are withheld from it). Packets from a relay port go to the buyer, the
 * RTP among them dropped at random; anything else goes to the relay. */
typedef struct
{
  Driver *d;
  double loss;
  GSocket *socket;
  GSource *source;
  guint16 port;
  GArray *relay_ports;          /* guint16: source ports of the relay's candidates */
  GSocketAddress *relay;        /* the relay's 127.0.0.1 UDP candidate */
  GSocketAddress *buyer;        /* where the buyer's packets last came from */
  guint64 rtp_forwarded, rtp_dropped;
} Lossy;

static void
lossy_free (gpointer data)
{
  Lossy *l = data;

  g_source_destroy (l->source);
  g_source_unref (l->source);
  g_object_unref (l->socket);
  g_array_unref (l->relay_ports);
  g_clear_object (&l->relay);
  g_clear_object (&l->buyer);
  g_free (l);
}

static gboolean
from_relay (const Lossy *l, GSocketAddress *from)
{
  guint16 port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (from));

  for (guint i = 0; i < l->relay_ports->len; i++)
    if (g_array_index (l->relay_ports, guint16, i) == port)
      return TRUE;
  return FALSE;
}

/* RTP, not RTCP, STUN or DTLS (RFC 7983 demultiplexing, RFC 5761 for RTCP). */
static gboolean
is_rtp (const guint8 *p, gssize len)
{
  return len >= 12 && p[0] >= 128 && p[0] <= 191 && !(p[1] >= 192 && p[1] <= 223);
}

static gboolean
on_lossy_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  Lossy *l = user_data;
  guint8 buf[2048];
  GSocketAddress *from = NULL;
  gssize len;

  while ((len = g_socket_receive_from (socket, &from, (char *) buf, sizeof buf, NULL, NULL)) >= 0)
    {
      GSocketAddress *to = NULL;
      if (!from_relay (l, from))
        {
          g_clear_object (&l->buyer);
          l->buyer = g_object_ref (from);
          to = l->relay;
        }
      else if (is_rtp (buf, len) && g_rand_double (l->d->rand) < l->loss)
        l->rtp_dropped++;
      else
        {
          l->rtp_forwarded += is_rtp (buf, len);
          to = l->buyer;
        }
      if (to != NULL)
        g_socket_send_to (socket, to, (const char *) buf, (gsize) len, NULL, NULL);
      g_clear_object (&from);
    }
  return G_SOURCE_CONTINUE;
}

static Lossy *
lossy_new (Driver *d, double loss)
{
  g_autoptr (GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) bind_addr = g_inet_socket_address_new (any, 0);
  g_autoptr (GError) error = NULL;
  Lossy *l = g_new0 (Lossy, 1);

  l->d = d;
  l->loss = loss;
  l->relay_ports = g_array_new (FALSE, FALSE, sizeof (guint16));
  l->socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  if (l->socket == NULL || !g_socket_bind (l->socket, bind_addr, FALSE, &error))
    g_error ("lossy forwarder: %s", error->message);
  g_socket_set_blocking (l->socket, FALSE);
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (l->socket, NULL);
  l->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  l->source = g_socket_create_source (l->socket, G_IO_IN, NULL);
  g_source_set_callback (l->source, G_SOURCE_FUNC (on_lossy_readable), l, NULL);
  g_source_attach (l->source, NULL);
  return l;
}

/* A relay candidate for a lossy buyer: its port noted, announced with the forwarder's port.
 * NULL: not announced (only IPv4 UDP candidates are forwarded). */
static char *
lossy_candidate (Lossy *l, const char *candidate)
{
  g_auto (GStrv) f = g_strsplit (candidate, " ", -1);
  guint64 port = 0;

  /* foundation component transport priority address port typ type ... */
  if (g_strv_length (f) < 8 || g_ascii_strcasecmp (f[2], "udp") != 0 || strchr (f[4], ':') != NULL
      || !g_ascii_string_to_unsigned (f[5], 10, 1, 65535, &port, NULL))
    return NULL;
  guint16 p16 = (guint16) port;
  g_array_append_val (l->relay_ports, p16);
  if (g_str_equal (f[4], "127.0.0.1"))
    {
      g_clear_object (&l->relay);
      l->relay = g_inet_socket_address_new_from_string ("127.0.0.1", (guint) port);
    }
  g_free (f[5]);
  f[5] = g_strdup_printf ("%u", l->port);
  return g_strjoinv (" ", f);
}

static void
emit (JsonBuilder *b)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);

  json_generator_set_root (gen, root);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  fprintf (stdout, "%s\n", text);
  fflush (stdout);
}

static const char *
leg_tag (Driver *d, KmgRelayLeg *leg)
{
  gint64 session = kmg_relay_leg_get_session_id (leg);

  return session > 0 ? g_ptr_array_index (d->tags, session - 1) : SELLER_TAG;
}

static JsonBuilder *
msg_begin (Driver *d, const char *type, KmgRelayLeg *leg)
{
  JsonBuilder *b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, type);
  json_builder_set_member_name (b, "leg");
  json_builder_add_string_value (b, leg_tag (d, leg));
  return b;
}

static void
msg_end (JsonBuilder *b)
{
  json_builder_end_object (b);
  emit (b);
  g_object_unref (b);
}

static void
on_local_sdp (KmgRelayLeg *leg, const char *type, const char *sdp, gpointer user_data)
{
  JsonBuilder *b = msg_begin (user_data, "sdp", leg);
  json_builder_set_member_name (b, "sdp_type");
  json_builder_add_string_value (b, type);
  json_builder_set_member_name (b, "sdp");
  json_builder_add_string_value (b, sdp);
  msg_end (b);
}

static void
on_local_candidate (KmgRelayLeg *leg, guint mline, const char *mid, const char *candidate,
                    gpointer user_data)
{
  Driver *d = user_data;
  Lossy *lossy = g_hash_table_lookup (d->lossy, leg_tag (d, leg));
  g_autofree char *rewritten = NULL;

  if (lossy != NULL && *candidate != '\0')
    {
      rewritten = lossy_candidate (lossy, g_str_has_prefix (candidate, "a=") ? candidate + 2 : candidate);
      if (rewritten == NULL)
        return;
      candidate = rewritten;
    }
  JsonBuilder *b = msg_begin (user_data, "candidate", leg);
  json_builder_set_member_name (b, "mline");
  json_builder_add_int_value (b, mline);
  if (mid != NULL)
    {
      json_builder_set_member_name (b, "mid");
      json_builder_add_string_value (b, mid);
    }
  json_builder_set_member_name (b, "candidate");
  json_builder_add_string_value (b, candidate);
  msg_end (b);
}

static void
on_leg_state (KmgRelayLeg *leg, KmgRelayLegState state, gpointer user_data)
{
  JsonBuilder *b = msg_begin (user_data, "state", leg);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, kmg_relay_leg_state_to_string (state));
  msg_end (b);
}

static void
on_first_rtp (KmgRelayLeg *leg, gpointer user_data)
{
  msg_end (msg_begin (user_data, "first-rtp", leg));
}

static void
emit_stats (Driver *d)
{
  KmgRelayStats st;
  JsonBuilder *b = json_builder_new ();

  kmg_relay_get_stats (d->relay, &st);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "stats");
  json_builder_set_member_name (b, "packets");
  json_builder_add_int_value (b, (gint64) st.packets);
  json_builder_set_member_name (b, "keyframe_requests_forwarded");
  json_builder_add_int_value (b, (gint64) st.keyframe_requests_forwarded);
  json_builder_set_member_name (b, "keyframe_requests_dropped");
  json_builder_add_int_value (b, (gint64) st.keyframe_requests_dropped);
  json_builder_set_member_name (b, "buyer_legs");
  json_builder_add_int_value (b, st.buyer_legs);
  json_builder_set_member_name (b, "buyer_legs_direct");
  json_builder_add_int_value (b, st.buyer_legs_direct);
  json_builder_set_member_name (b, "retransmissions_sent");
  json_builder_add_int_value (b, (gint64) st.retransmissions_sent);
  json_builder_set_member_name (b, "retransmissions_refused");
  json_builder_add_int_value (b, (gint64) st.retransmissions_refused);
  json_builder_set_member_name (b, "lossy");
  json_builder_begin_object (b);
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, d->lossy);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      const Lossy *l = value;
      json_builder_set_member_name (b, key);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "rtp_forwarded");
      json_builder_add_int_value (b, (gint64) l->rtp_forwarded);
      json_builder_set_member_name (b, "rtp_dropped");
      json_builder_add_int_value (b, (gint64) l->rtp_dropped);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  emit (b);
  g_object_unref (b);
}

static void
emit_ready (void)
{
  JsonBuilder *b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "ready");
  json_builder_end_object (b);
  emit (b);
  g_object_unref (b);
}

static void
add_buyer (Driver *d, const char *tag, double loss)
{
  g_autoptr (GError) error = NULL;
  gboolean created = FALSE;
  KmgRelayLeg *leg = kmg_relay_buyer_add (d->relay, SELLER_ID, d->tags->len + 1, &created, &error);

  if (leg == NULL)
    {
      g_printerr ("buyer_add %s: %s\n", tag, error->message);
      return;
    }
  g_ptr_array_add (d->tags, g_strdup (tag));
  g_hash_table_insert (d->legs, g_strdup (tag), leg);
  if (loss > 0)
    g_hash_table_insert (d->lossy, g_strdup (tag), lossy_new (d, loss));
  if (created)
    {
      KmgRelayLeg *seller = kmg_relay_get_seller_leg (d->relay, SELLER_ID);
      g_hash_table_insert (d->legs, g_strdup (SELLER_TAG), seller);
      msg_end (msg_begin (d, "need-offer", seller));
    }
}

static void
handle_line (Driver *d, const char *line)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  if (!json_parser_load_from_data (parser, line, -1, &error) || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_printerr ("bad line: %s\n", line);
      return;
    }
  JsonObject *o = json_node_get_object (json_parser_get_root (parser));
  const char *type = json_object_get_string_member_with_default (o, "type", "");
  const char *tag = json_object_get_string_member_with_default (o, "leg", "");
  KmgRelayLeg *leg = g_hash_table_lookup (d->legs, tag);

  if (g_str_equal (type, "add-buyer"))
    add_buyer (d, tag, json_object_get_double_member_with_default (o, "loss", 0));
  else if (g_str_equal (type, "stats"))
    emit_stats (d);
  else if (g_str_equal (type, "quit"))
    g_main_loop_quit (d->loop);
  else if (leg == NULL)
    g_printerr ("unknown leg \"%s\"\n", tag);
  else if (g_str_equal (type, "sdp"))
    {
      if (!kmg_relay_leg_set_remote_sdp (leg, json_object_get_string_member (o, "sdp_type"),
                                         json_object_get_string_member (o, "sdp"), &error))
        g_printerr ("set_remote_sdp %s: %s\n", tag, error->message);
    }
  else if (g_str_equal (type, "candidate") && g_hash_table_contains (d->lossy, tag))
    ; /* the relay learns a lossy buyer's address from the forwarder only */
  else if (g_str_equal (type, "candidate"))
    {
      if (!kmg_relay_leg_add_remote_candidate (leg, (guint) json_object_get_int_member (o, "mline"),
                                               json_object_get_string_member (o, "candidate"), &error))
        g_printerr ("candidate %s: %s\n", tag, error->message);
    }
  else if (g_str_equal (type, "restart"))
    {
      if (!kmg_relay_leg_restart_ice (leg, &error))
        g_printerr ("restart %s: %s\n", tag, error->message);
    }
  else if (g_str_equal (type, "stop"))
    {
      g_hash_table_remove (d->legs, tag);
      kmg_relay_buyer_stop (leg);
    }
}

static void on_line (GObject *source, GAsyncResult *res, gpointer user_data);

static void
read_next (Driver *d)
{
  g_data_input_stream_read_line_async (d->in, G_PRIORITY_DEFAULT, NULL, on_line, d);
}

static void
on_line (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Driver *d = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *line = g_data_input_stream_read_line_finish (d->in, res, NULL, &error);

  if (line == NULL)
    {
      g_main_loop_quit (d->loop); /* stdin closed: the script is gone */
      return;
    }
  handle_line (d, line);
  read_next (d);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  KmgRelayCallbacks cb = {
    .local_sdp = on_local_sdp,
    .local_candidate = on_local_candidate,
    .leg_state = on_leg_state,
    .first_rtp = on_first_rtp,
  };
  Driver d = { 0 };
  g_autoptr (KmgRelayConfig) config = kmg_relay_config_new ();

  config->allow_loopback = TRUE;
  config->deny_host_addresses = FALSE; /* Chromium runs on this host: its candidates are ours */
  config->ice_tcp = FALSE;
  for (int i = 1; i < argc; i++)
    if (g_str_equal (argv[i], "--no-direct-udp"))
      config->direct_udp = FALSE;
  d.relay = kmg_relay_new (config, &cb, &d, &error);
  if (d.relay == NULL)
    {
      g_printerr ("relay: %s\n", error->message);
      return 1;
    }
  d.legs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  d.tags = g_ptr_array_new_with_free_func (g_free);
  d.lossy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, lossy_free);
  d.rand = g_rand_new_with_seed (4588);
  d.loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GInputStream) raw = g_unix_input_stream_new (0, FALSE);
  d.in = g_data_input_stream_new (raw);
  read_next (&d);
  emit_ready ();
  g_main_loop_run (d.loop);
  kmg_relay_free (d.relay);
  g_hash_table_unref (d.lossy);
  g_rand_free (d.rand);
  g_hash_table_unref (d.legs);
  g_ptr_array_unref (d.tags);
  g_object_unref (d.in);
  g_main_loop_unref (d.loop);
  return 0;
}
