/* main.c — kamegor-peer: a command-line WebRTC seller or buyer for smoke tests of a deployment
 * (options, accounts, the main loop, exit status). */
#include "peer-party.h"

#include <glib-unix.h>
#include <gst/gst.h>
#include <stdlib.h>
#include <string.h>

static gboolean
parse_role (const char *s, PeerRole *out)
{
  if (g_strcmp0 (s, "seller") == 0)
    *out = PEER_ROLE_SELLER;
  else if (g_strcmp0 (s, "buyer") == 0)
    *out = PEER_ROLE_BUYER;
  else if (g_strcmp0 (s, "none") == 0)
    *out = PEER_ROLE_NONE;
  else
    return FALSE;
  return TRUE;
}

static gboolean
parse_location (const char *s, PeerOptions *opt)
{
  char *end = NULL;

  opt->lat = g_ascii_strtod (s, &end);
  if (end == NULL || *end != ',')
    return FALSE;
  opt->lon = g_ascii_strtod (end + 1, &end);
  return *end == '\0' && opt->lat >= -90 && opt->lat <= 90 && opt->lon >= -180 && opt->lon <= 180;
}

typedef struct
{
  PeerRun *run;
  GPtrArray *parties;
} Stopper;

static gboolean
on_hard_stop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

/* SIGINT/SIGTERM: leave sessions and stop streaming cleanly, then give up after 5 s. */
static gboolean
on_signal (gpointer data)
{
  Stopper *s = data;

  for (guint i = 0; i < s->parties->len; i++)
    {
      PeerParty *p = g_ptr_array_index (s->parties, i);
      if (p->finished)
        continue;
      if (p->role == PEER_ROLE_SELLER)
        peer_seller_stop (p);
      else if (p->role == PEER_ROLE_BUYER)
        peer_buyer_stop (p);
    }
  g_timeout_add (5000, on_hard_stop, s->run->loop);
  return G_SOURCE_CONTINUE;
}

static void
party_free (gpointer data)
{
  PeerParty *p = data;

  g_clear_pointer (&p->sessions, g_hash_table_unref);
  g_clear_pointer (&p->relay_leg, peer_conn_free);
  peer_session_clear (&p->session);
  g_clear_pointer (&p->ws, peer_ws_free);
  g_clear_pointer (&p->paths_seen, json_array_unref);
  g_clear_pointer (&p->inject_replies, json_array_unref);
  g_clear_pointer (&p->replies, json_array_unref);
  peer_account_clear (&p->account);
  g_free (p->username);
  g_free (p->end_reason);
  g_free (p->error);
  g_free (p);
}

static int
run (PeerOptions *opt)
{
  PeerRun r = { 0 };
  g_autoptr (GPtrArray) parties = g_ptr_array_new_with_free_func (party_free);
  g_autoptr (SoupSession) http = soup_session_new_with_options ("timeout", 15, "user-agent",
                                                               "kamegor-peer", NULL);
  Stopper stopper = { &r, parties };
  guint n = opt->role == PEER_ROLE_SELLER ? 1 : (guint) MAX (opt->viewers, 1);

  r.loop = g_main_loop_new (NULL, FALSE);
  r.http = http;
  r.opt = opt;
  if (opt->log_messages != NULL && (r.log = fopen (opt->log_messages, "a")) == NULL)
    {
      g_printerr ("cannot open %s\n", opt->log_messages);
      return 2;
    }
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GError) error = NULL;
      PeerParty *p = g_new0 (PeerParty, 1);
      p->run = &r;
      p->opt = opt;
      p->role = opt->role;
      p->started_us = g_get_monotonic_time ();
      p->username = n == 1 ? g_strdup (opt->username) : g_strdup_printf ("%s%u", opt->username, i + 1);
      g_ptr_array_add (parties, p);
      if (!peer_account_open (http, opt->server, p->username, opt->password, opt->register_first,
                              opt->role == PEER_ROLE_SELLER, opt->price, &p->account, &error))
        {
          g_printerr ("%s: %s\n", p->username, error->message);
          return 1;
        }
    }
  for (guint i = 0; i < parties->len; i++)
    {
      PeerParty *p = g_ptr_array_index (parties, i);
      g_autoptr (JsonObject) f = json_object_new ();
      json_object_set_int_member (f, "user_id", p->account.user_id);
      json_object_set_string_member (f, "stun_server", p->account.stun_server ? p->account.stun_server : "");
      peer_event (p, "account", g_steal_pointer (&f));
    }
  r.running = parties->len;
  g_unix_signal_add (SIGINT, on_signal, &stopper);
  g_unix_signal_add (SIGTERM, on_signal, &stopper);
  for (guint i = 0; i < parties->len; i++)
    {
      PeerParty *p = g_ptr_array_index (parties, i);
      if (p->role == PEER_ROLE_SELLER)
        peer_seller_start (p);
      else if (p->role == PEER_ROLE_BUYER)
        peer_buyer_start (p);
      else
        peer_probe_start (p);
    }
  if (r.running > 0)
    g_main_loop_run (r.loop);
  g_ptr_array_set_size (parties, 0);
  g_main_loop_unref (r.loop);
  if (r.log)
    fclose (r.log);
  return r.failed ? 1 : 0;
}

int
main (int argc, char **argv)
{
  PeerOptions opt = { .codec = NULL, .timeout_s = 30, .stall_s = 3, .lat = 48.8566, .lon = 2.3522, .viewers = 1 };
  g_autofree char *role = NULL;
  g_autofree char *location = NULL;
  gint64 seller_id = 0;
  g_autoptr (GError) error = NULL;
  GOptionEntry entries[] = {
    { "server", 0, 0, G_OPTION_ARG_STRING, &opt.server, "Server base URL (http://HOST:PORT)", "URL" },
    { "username", 0, 0, G_OPTION_ARG_STRING, &opt.username, "Account name (prefix with --viewers)", "U" },
    { "password", 0, 0, G_OPTION_ARG_STRING, &opt.password, "Account password", "P" },
    { "register", 0, 0, G_OPTION_ARG_NONE, &opt.register_first, "Register first (sellers: consent, is_seller)", NULL },
    { "role", 0, 0, G_OPTION_ARG_STRING, &role, "seller, buyer or none (account only / probes)", "ROLE" },
    { "seller-id", 0, 0, G_OPTION_ARG_INT64, &seller_id, "Buyer: the seller to watch", "N" },
    { "codec", 0, 0, G_OPTION_ARG_STRING, &opt.codec, "Seller: vp8 (default) or h264", "C" },
    { "duration", 0, 0, G_OPTION_ARG_DOUBLE, &opt.duration_s, "Seller: live time; buyer: watch time after the first frame", "S" },
    { "timeout", 0, 0, G_OPTION_ARG_DOUBLE, &opt.timeout_s, "Buyer: fail without video by then (default 30)", "S" },
    { "stall", 0, 0, G_OPTION_ARG_DOUBLE, &opt.stall_s, "Buyer on the relay: report ICE \"disconnected\" after S s "
      "without a packet, so the relay restarts the leg (default 3, 0: never)", "S" },
    { "location", 0, 0, G_OPTION_ARG_STRING, &location, "Seller: position (default 48.8566,2.3522)", "LAT,LON" },
    { "price", 0, 0, G_OPTION_ARG_INT64, &opt.price, "Seller with --register: price per minute", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &opt.json, "Events and summary as JSON lines on stdout", NULL },
    { "allow-loopback", 0, 0, G_OPTION_ARG_NONE, &opt.allow_loopback, "Offer 127.0.0.1 as an ICE candidate (single-host runs)", NULL },
    { "no-decode", 0, 0, G_OPTION_ARG_NONE, &opt.no_decode, "Buyer: count frames from RTP, do not decode (load tests)", NULL },
    { "log-messages", 0, 0, G_OPTION_ARG_FILENAME, &opt.log_messages, "Append every received message to FILE", "FILE" },
    { "inject-candidate", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt.inject, "Also send this ICE candidate once (abuse checks)", "CAND" },
    { "send", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt.send, "Role none: send this raw JSON message, report the reply", "JSON" },
    { "viewers", 0, 0, G_OPTION_ARG_INT, &opt.viewers, "Buyer or none: this many accounts USERNAME1..N (buyers: one session each)", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- Kamegor command-line WebRTC peer");
  int rc;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  opt.seller_id = seller_id;
  if (opt.server == NULL || opt.username == NULL || opt.password == NULL || role == NULL
      || !parse_role (role, &opt.role) || (opt.role == PEER_ROLE_BUYER && opt.seller_id <= 0)
      || (location != NULL && !parse_location (location, &opt))
      || (opt.codec != NULL && g_strcmp0 (opt.codec, "vp8") != 0 && g_strcmp0 (opt.codec, "h264") != 0)
      || opt.viewers < 1)
    {
      g_autofree char *help = g_option_context_get_help (ctx, TRUE, NULL);
      g_printerr ("%s", help);
      return 2;
    }
  while (g_str_has_suffix (opt.server, "/"))
    opt.server[strlen (opt.server) - 1] = '\0';
  rc = run (&opt);
  g_free (opt.server);
  g_free (opt.username);
  g_free (opt.password);
  g_free (opt.codec);
  g_free (opt.log_messages);
  g_strfreev (opt.inject);
  g_strfreev (opt.send);
  return rc;
}
