/* ws-bench-server.c — a SoupServer + KmgSignaling with a fake authenticator and map, for load tests.
 * Prints "PORT <n>" once listening; "bench.move" flips a fake seller's status and signals a map change. */

#include "kmg-signaling.h"

#include <stdio.h>
#include <string.h>

typedef struct
{
  KmgSignaling *sig;
  guint n_items;
  guint generation;
  guint moves;
} Bench;

static gboolean
bench_auth (const char *token, KmgSignalingAuth *out, gpointer user_data)
{
  if (token[0] != 'u')
    return FALSE;
  out->user_id = g_ascii_strtoll (token + 1, NULL, 10);
  out->is_seller = g_str_has_suffix (token, "s");
  return out->user_id > 0;
}

/* Items sit on a small grid around (48.85, 2.35); item 0 changes status with every move. */
static JsonArray *
bench_map_query (const KmgBbox *bbox, int zoom, gpointer user_data, GError **error)
{
  Bench *b = user_data;
  JsonArray *out = json_array_new ();

  for (guint i = 0; i < b->n_items; i++)
    {
      double lat = 48.85 + 0.001 * (i % 10), lon = 2.35 + 0.001 * (i / 10);
      g_autofree char *id = g_strdup_printf ("s%u", i);
      JsonObject *o;

      if (!kmg_bbox_contains (bbox, lat, lon))
        continue;
      o = json_object_new ();
      json_object_set_string_member (o, "id", id);
      json_object_set_string_member (o, "status", i == 0 && b->generation % 2 ? "streaming" : "online");
      json_object_set_double_member (o, "lat", lat);
      json_object_set_double_member (o, "lon", lon);
      json_object_set_int_member (o, "rating10", 42);
      json_array_add_object_element (out, o);
    }
  return out;
}

static void
on_move (KmgSignaling *sig, guint64 conn_id, gint64 user_id, JsonNode *ref, JsonObject *msg, gpointer data)
{
  Bench *b = data;
  KmgLatLon where = { 48.85, 2.35 };

  b->generation++;
  b->moves++;
  kmg_signaling_map_changed (sig, &where, 1);
}

int
main (int argc, char **argv)
{
  int port = 0, flush_ms = 200, ping_s = 10, items = 20, threads = 0;
  gboolean deflate = FALSE;
  GOptionEntry entries[] = {
    { "port", 0, 0, G_OPTION_ARG_INT, &port, "TCP port on 127.0.0.1 (0 = any)", "N" },
    { "flush-ms", 0, 0, G_OPTION_ARG_INT, &flush_ms, "map.flush_ms", "MS" },
    { "ping-s", 0, 0, G_OPTION_ARG_INT, &ping_s, "presence.ping_s", "S" },
    { "items", 0, 0, G_OPTION_ARG_INT, &items, "fake sellers on the map", "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "ws.threads (0 = sockets on the main context)", "N" },
    { "deflate", 0, 0, G_OPTION_ARG_NONE, &deflate, "accept permessage-deflate (ws.permessage_deflate)", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- WebSocket hub for benchmarks");
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupServer) server = NULL;
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = NULL;
  KmgSignalingConfig cfg;
  KmgSignalingCallbacks cb = { .authenticate = bench_auth, .map_query = bench_map_query };
  Bench bench = { 0 };
  GSList *uris;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  bench.n_items = (guint) items;

  server = soup_server_new (NULL, NULL);
  addr = g_inet_socket_address_new (lo, (guint16) port);
  if (!soup_server_listen (server, addr, 0, &error))
    {
      g_printerr ("listen: %s\n", error->message);
      return 1;
    }
  kmg_signaling_config_init (&cfg);
  cfg.flush_ms = (guint) flush_ms;
  cfg.ping_ms = (guint) ping_s * 1000;
  cfg.messages_per_s = 1000;
  cfg.burst = 1000;
  cfg.max_per_user = 0;    /* every client connects from loopback, many as one user */
  cfg.max_per_address = 0;
  cfg.threads = (guint) MAX (0, threads);
  cfg.permessage_deflate = deflate;
  bench.sig = kmg_signaling_new (server, &cfg, &cb, &bench);
  kmg_signaling_add_handler (bench.sig, "bench.move", on_move, &bench);

  uris = soup_server_get_uris (server);
  printf ("PORT %d\n", g_uri_get_port (uris->data));
  fflush (stdout);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  g_main_loop_run (loop);
  kmg_signaling_free (bench.sig);
  return 0;
}
