/* relay-chrome-driver.c — a KmgRelay with one seller and N buyers, signaled over stdin/stdout
 * as JSON lines, so a browser script (relay-chrome.mjs) can put real Chromium peers on it. */
#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <json-glib/json-glib.h>
#include <stdio.h>

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
} Driver;

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

static JsonBuilder *
msg_begin (Driver *d, const char *type, KmgRelayLeg *leg)
{
  gint64 session = kmg_relay_leg_get_session_id (leg);

  JsonBuilder *b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, type);
  json_builder_set_member_name (b, "leg");
  json_builder_add_string_value (b, session > 0 ? g_ptr_array_index (d->tags, session - 1) : SELLER_TAG);
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
add_buyer (Driver *d, const char *tag)
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
    add_buyer (d, tag);
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
  d.relay = kmg_relay_new (config, &cb, &d, &error);
  if (d.relay == NULL)
    {
      g_printerr ("relay: %s\n", error->message);
      return 1;
    }
  d.legs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  d.tags = g_ptr_array_new_with_free_func (g_free);
  d.loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GInputStream) raw = g_unix_input_stream_new (0, FALSE);
  d.in = g_data_input_stream_new (raw);
  read_next (&d);
  emit_ready ();
  g_main_loop_run (d.loop);
  kmg_relay_free (d.relay);
  g_hash_table_unref (d.legs);
  g_ptr_array_unref (d.tags);
  g_object_unref (d.in);
  g_main_loop_unref (d.loop);
  return 0;
}
