/* bench-map-e2e.c — live map viewport queries end to end: map.subscribe -> map.snapshot over
 * WebSocket against a real in-process server holding many sellers, next to kmg_map_query alone. */

/* Threads: the server runs on the global default main context in the main thread (its modules
 * attach timers there); the clients run in their own thread with their own context. The map is
 * filled before the server loop runs and queried directly only after it stopped. */

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench-map-sellers.h"
#include "kmg-map.h"
#include "kmg-server.h"
#include "kmg-signaling.h"

#define PASSWORD "map bench password 1"
#define DRAIN_TIMEOUT_S 10

static int opt_sellers = 1000000;
static int opt_clients = 16;
static int opt_inflight = 4;
static int opt_seconds = 10;
static int opt_users = 4;
static int opt_viewports = 20000;
static int opt_ws_threads = 0;
static int opt_streaming_pct = 10;
static int opt_seed = 42;

typedef struct _Bench Bench;

typedef struct
{
  Bench *b;
  SoupWebsocketConnection *ws;
  gint64 *sent_us;    /* indexed by ref % inflight: refs in flight are consecutive */
  gint64 next_ref;    /* ref of the next map.subscribe */
  gint64 oldest_ref;  /* ref of the oldest one still unanswered */
  guint next_vp;      /* this client's walk through the viewport pool */
  guint n_replies;
  gboolean ready;
} Client;

struct _Bench
{
  guint16 port;
  GMainLoop *loop;        /* the clients' loop */
  GMainLoop *server_loop; /* the default context's loop */
  KmgMapViewport *vps;
  char **vp_text; /* each viewport's map.subscribe, up to the ref */
  char **tokens;
  Client *clients;
  guint n_ready, n_failed;
  gint64 started_us, deadline_us, ended_us;
  guint64 in_flight, sent, errors, out_of_order;
  double items, clusters;
  GArray *lat_us; /* gint64 */
  char *first_error;
  double client_cpu_s, process_cpu_s;
};

static long
rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  line = strstr (status, "VmRSS:");
  return line != NULL ? strtol (line + 6, NULL, 10) : -1;
}

static double
cpu_s (clockid_t clock)
{
  struct timespec ts;

  clock_gettime (clock, &ts);
  return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The message text up to the ref: clients only append "<ref>}". */
static char *
subscribe_prefix (const KmgMapViewport *vp)
{
  char s[G_ASCII_DTOSTR_BUF_SIZE], w[G_ASCII_DTOSTR_BUF_SIZE];
  char n[G_ASCII_DTOSTR_BUF_SIZE], e[G_ASCII_DTOSTR_BUF_SIZE];

  return g_strdup_printf ("{\"type\":\"map.subscribe\",\"bbox\":{\"south\":%s,\"west\":%s,"
                          "\"north\":%s,\"east\":%s},\"zoom\":%u,\"ref\":",
                          g_ascii_dtostr (s, sizeof s, vp->south), g_ascii_dtostr (w, sizeof w, vp->west),
                          g_ascii_dtostr (n, sizeof n, vp->north), g_ascii_dtostr (e, sizeof e, vp->east),
                          vp->zoom);
}

/* The same population as bench-map for the same seed. */
static void
fill_map (KmgMap *map, const KmgBenchSellers *sellers)
{
  for (guint i = 0; i < sellers->n_sellers; i++)
    {
      g_autofree char *name = g_strdup_printf ("seller%u", i);
      KmgMapProfile *p = kmg_map_profile_new (name, NULL, 4.2, 10);
      const KmgBenchPoint *pt = &sellers->where[i];

      /* Ids far above the registered users', so no real account collides with a map seller. */
      kmg_map_update_seller (map, 1000000000 + (gint) i, pt->lat, pt->lon, sellers->status[i], FALSE,
                             p, 0, NULL, NULL);
      kmg_map_profile_unref (p);
    }
}

/* Viewports follow the sellers: most look at cities, at any zoom. */
static void
make_viewports (Bench *b, GRand *rand, const KmgBenchSellers *sellers)
{
  b->vps = g_new (KmgMapViewport, opt_viewports);
  b->vp_text = g_new0 (char *, opt_viewports + 1);
  for (gint i = 0; i < opt_viewports; i++)
    {
      guint zoom = (guint) g_rand_int_range (rand, 0, KMG_MAP_MAX_ZOOM + 1);

      kmg_bench_screen_viewport (rand, kmg_bench_sellers_random_point (sellers, rand), zoom, &b->vps[i]);
      b->vp_text[i] = subscribe_prefix (&b->vps[i]);
    }
}

/* ---- clients ---- */

static void
finish (Bench *b)
{
  if (b->ended_us == 0)
    b->ended_us = g_get_monotonic_time ();
  g_main_loop_quit (b->loop);
}

static void
send_subscribe (Client *c)
{
  Bench *b = c->b;
  guint vp = c->next_vp;
  g_autofree char *text = g_strdup_printf ("%s%" G_GINT64_FORMAT "}", b->vp_text[vp], c->next_ref);

  c->next_vp = (c->next_vp + 1) % (guint) opt_viewports;
  c->sent_us[c->next_ref % opt_inflight] = g_get_monotonic_time ();
  c->next_ref++;
  b->in_flight++;
  b->sent++;
  soup_websocket_connection_send_text (c->ws, text);
}

static void
start_all (Bench *b)
{
  b->started_us = g_get_monotonic_time ();
  b->deadline_us = b->started_us + (gint64) opt_seconds * G_USEC_PER_SEC;
  b->client_cpu_s = cpu_s (CLOCK_THREAD_CPUTIME_ID);
  b->process_cpu_s = cpu_s (CLOCK_PROCESS_CPUTIME_ID);
  for (gint i = 0; i < opt_clients; i++)
    for (gint k = 0; k < opt_inflight; k++)
      send_subscribe (&b->clients[i]);
}

/* Items and clusters of a snapshot, without building a JSON tree: the client must stay cheap
 * next to the server on the same cores. */
static void
count_items (const char *data, gsize len, double *items, double *clusters)
{
  static const char key[] = "\"kind\":\"";
  const gsize klen = sizeof key - 1;
  const char *p = data, *end = data + len;

  while ((p = memchr (p, '"', (gsize) (end - p))) != NULL && (gsize) (end - p) > klen)
    {
      if (memcmp (p, key, klen) == 0)
        {
          *items += 1;
          *clusters += p[klen] == 'c';
          p += klen;
        }
      else
        p++;
    }
}

static void
on_reply (Client *c, gint64 ref, const char *data, gsize len, gboolean is_snapshot)
{
  Bench *b = c->b;
  gint64 now = g_get_monotonic_time ();
  gint64 lat = now - c->sent_us[ref % opt_inflight];

  if (ref != c->oldest_ref)
    b->out_of_order++;
  c->oldest_ref = ref + 1;
  c->n_replies++;
  b->in_flight--;
  if (is_snapshot)
    {
      g_array_append_val (b->lat_us, lat);
      count_items (data, len, &b->items, &b->clusters);
    }
  else
    {
      b->errors++;
      if (b->first_error == NULL)
        b->first_error = g_strndup (data, MIN (len, 300));
    }
  if (now < b->deadline_us)
    send_subscribe (c);
  else if (b->in_flight == 0)
    finish (b);
}

static void
on_message (SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer user_data)
{
  static const char snap[] = "{\"type\":\"map.snapshot\",\"ref\":";
  static const char err[] = "{\"type\":\"error\",\"ref\":";
  Client *c = user_data;
  gsize len;
  const char *data = g_bytes_get_data (message, &len);
  g_autofree char *head = g_strndup (data, MIN (len, 64));

  g_assert (ws == c->ws);
  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;
  if (!c->ready)
    {
      if (g_str_has_prefix (head, "{\"type\":\"auth_ok\""))
        {
          c->ready = TRUE;
          if (++c->b->n_ready == (guint) opt_clients)
            start_all (c->b);
        }
      return;
    }
  if (g_str_has_prefix (head, snap))
    on_reply (c, g_ascii_strtoll (head + strlen (snap), NULL, 10), data, len, TRUE);
  else if (g_str_has_prefix (head, err))
    on_reply (c, g_ascii_strtoll (head + strlen (err), NULL, 10), data, len, FALSE);
  /* map.diff and presence pushes carry no ref: nothing moves on this map, ignore them. */
}

static void
on_closed (SoupWebsocketConnection *ws, gpointer user_data)
{
  Client *c = user_data;

  if (c->b->ended_us == 0)
    {
      g_printerr ("connection closed early: code %u\n", soup_websocket_connection_get_close_code (ws));
      finish (c->b);
    }
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Client *c = user_data;
  g_autoptr (GError) error = NULL;

  c->ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (c->ws == NULL)
    {
      g_printerr ("websocket connect: %s\n", error->message);
      if (++c->b->n_failed == 1)
        finish (c->b);
      return;
    }
  /* Snapshots of hundreds of markers exceed libsoup's default incoming limit. */
  soup_websocket_connection_set_max_incoming_payload_size (c->ws, 64 << 20);
  g_signal_connect (c->ws, "message", G_CALLBACK (on_message), c);
  g_signal_connect (c->ws, "closed", G_CALLBACK (on_closed), c);
}

/* Registers one user through the public API and returns its token. */
static char *
register_user (SoupSession *session, guint16 port, guint i)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/api/v1/auth/register", port);
  g_autofree char *body = g_strdup_printf ("{\"username\":\"mapbench%u\",\"password\":\"%s\"}", i, PASSWORD);
  g_autoptr (SoupMessage) msg = soup_message_new ("POST", url);
  g_autoptr (GBytes) req = g_bytes_new (body, strlen (body));
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  JsonNode *root;

  soup_message_set_request_body_from_bytes (msg, "application/json", req);
  reply = soup_session_send_and_read (session, msg, NULL, &error);
  if (reply == NULL || soup_message_get_status (msg) != SOUP_STATUS_CREATED
      || !json_parser_load_from_data (parser, g_bytes_get_data (reply, NULL),
                                      (gssize) g_bytes_get_size (reply), &error)
      || !JSON_NODE_HOLDS_OBJECT (root = json_parser_get_root (parser)))
    g_error ("register mapbench%u: status %u %s", i, soup_message_get_status (msg),
             error != NULL ? error->message : "");
  return g_strdup (json_object_get_string_member (json_node_get_object (root), "token"));
}

static void
connect_client (Bench *b, SoupSession *session, Client *c, const char *token)
{
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u%s", b->port, KMG_SIGNALING_PATH);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
  g_autofree char *bearer = g_strconcat (KMG_SIGNALING_BEARER_PREFIX, token, NULL);
  char *protocols[] = { (char *) KMG_SIGNALING_SUBPROTOCOL, bearer, NULL };

  c->b = b;
  c->sent_us = g_new0 (gint64, opt_inflight);
  soup_session_websocket_connect_async (session, msg, NULL, protocols, G_PRIORITY_DEFAULT, NULL,
                                        on_connected, c);
}

static gboolean
on_give_up (gpointer data)
{
  Bench *b = data;

  g_printerr ("gave up waiting (%u ready, %" G_GUINT64_FORMAT " replies outstanding)\n", b->n_ready,
              b->in_flight);
  finish (b);
  return G_SOURCE_REMOVE;
}

static gboolean
quit_server_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static gpointer
client_thread (gpointer data)
{
  Bench *b = data;
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (SoupSession) session = NULL;
  g_autoptr (GSource) give_up = NULL;

  g_main_context_push_thread_default (ctx);
  session = soup_session_new_with_options ("max-conns", opt_clients + 8, "max-conns-per-host",
                                           opt_clients + 8, "timeout", 60, NULL);
  b->loop = g_main_loop_new (ctx, FALSE);
  b->tokens = g_new0 (char *, opt_users + 1);
  for (gint i = 0; i < opt_users; i++)
    b->tokens[i] = register_user (session, b->port, (guint) i);
  b->clients = g_new0 (Client, opt_clients);
  for (gint i = 0; i < opt_clients; i++)
    {
      b->clients[i].next_vp = (guint) ((gint64) i * opt_viewports / opt_clients);
      connect_client (b, session, &b->clients[i], b->tokens[i % opt_users]);
    }
  /* Connecting, the run, then the drain of the last replies. */
  give_up = g_timeout_source_new_seconds ((guint) (opt_seconds + 30 + DRAIN_TIMEOUT_S));
  g_source_set_callback (give_up, on_give_up, b, NULL);
  g_source_attach (give_up, ctx);
  g_main_loop_run (b->loop);
  g_source_destroy (give_up);
  b->client_cpu_s = cpu_s (CLOCK_THREAD_CPUTIME_ID) - b->client_cpu_s;
  b->process_cpu_s = cpu_s (CLOCK_PROCESS_CPUTIME_ID) - b->process_cpu_s;

  for (gint i = 0; i < opt_clients; i++)
    {
      Client *c = &b->clients[i];

      if (c->ws == NULL)
        continue;
      g_signal_handlers_disconnect_by_data (c->ws, c);
      if (soup_websocket_connection_get_state (c->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (c->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_clear_object (&c->ws);
    }
  /* Let the close frames go out before the session goes. */
  for (int i = 0; i < 50 && g_main_context_iteration (ctx, FALSE); i++)
    ;
  g_clear_object (&session);
  g_main_loop_unref (b->loop);
  g_main_context_pop_thread_default (ctx);
  g_idle_add (quit_server_loop, b->server_loop);
  return NULL;
}

/* ---- report ---- */

static int
cmp_i64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static double
pct_us (GArray *sorted, double p)
{
  if (sorted->len == 0)
    return 0;
  return (double) g_array_index (sorted, gint64, (guint) (p * (sorted->len - 1) + 0.5));
}

/* The same viewports through kmg_map_query alone, on the main thread once the server loop stopped. */
static void
bench_in_process (KmgMap *map, const KmgMapViewport *vps, guint n)
{
  g_autoptr (GArray) lat = g_array_sized_new (FALSE, FALSE, sizeof (gint64), n);
  gint64 t0 = g_get_monotonic_time ();
  double items = 0;

  for (guint i = 0; i < n; i++)
    {
      gint64 q0 = g_get_monotonic_time (), d;
      KmgMapResult *r = kmg_map_query (map, &vps[i], 0);

      d = g_get_monotonic_time () - q0;
      g_array_append_val (lat, d);
      items += r->n_items;
      kmg_map_result_free (r);
    }
  t0 = g_get_monotonic_time () - t0;
  g_array_sort (lat, cmp_i64);
  printf ("in-process           %u kmg_map_query calls on the same viewports: %.0f queries/s, "
          "p50 %.0f us, p99 %.0f us, max %.0f us, %.1f items avg\n",
          n, n / (t0 / 1e6), pct_us (lat, 0.5), pct_us (lat, 0.99), pct_us (lat, 1.0), items / n);
}

static void
report_ws (Bench *b)
{
  double secs = (b->ended_us - b->started_us) / 1e6;
  guint n = b->lat_us->len, least = G_MAXUINT, most = 0;

  for (gint i = 0; i < opt_clients; i++)
    {
      least = MIN (least, b->clients[i].n_replies);
      most = MAX (most, b->clients[i].n_replies);
    }

  g_array_sort (b->lat_us, cmp_i64);
  printf ("websocket            %d clients (%d users), %d in flight each, %.1f s: %u snapshots, "
          "%" G_GUINT64_FORMAT " errors, %" G_GUINT64_FORMAT " out of order\n",
          opt_clients, opt_users, opt_inflight, secs, n, b->errors, b->out_of_order);
  printf ("websocket throughput %.0f queries/s (subscribe -> snapshot)\n", n / secs);
  printf ("websocket latency    p50 %.2f ms, p99 %.2f ms, max %.2f ms (send to snapshot received)\n",
          pct_us (b->lat_us, 0.5) / 1000, pct_us (b->lat_us, 0.99) / 1000, pct_us (b->lat_us, 1.0) / 1000);
  printf ("fairness             %u to %u replies per connection\n", least, most);
  printf ("snapshot items       %.1f avg (%.1f clusters)\n", n ? b->items / n : 0, n ? b->clusters / n : 0);
  printf ("cpu during run       process %.0f %%, client thread %.0f %%, rest (server) %.0f %% "
          "of one core\n",
          100 * b->process_cpu_s / secs, 100 * b->client_cpu_s / secs,
          100 * (b->process_cpu_s - b->client_cpu_s) / secs);
  if (b->first_error != NULL)
    printf ("first error          %s\n", b->first_error);
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_remove (child);
    }
  g_rmdir (path);
}

static KmgServer *
start_server (const char *dir, GError **error)
{
  KmgConfig *cfg = kmg_config_new_default ();
  g_autofree char *threads = g_strdup_printf ("%d", opt_ws_threads);

  /* The per-connection rate limit and the per-address connection cap (every client connects at
   * once from 127.0.0.1) are lifted: this measures the work, not the refusals. */
  if (!kmg_config_set (cfg, "server", "listen", "127.0.0.1:0", error)
      || !kmg_config_set (cfg, "server", "data_dir", dir, error)
      || !kmg_config_set (cfg, "server", "log_level", "warning", error)
      || !kmg_config_set (cfg, "relay", "stun_port", "0", error)
      || !kmg_config_set (cfg, "ws", "messages_per_s", "100000", error)
      || !kmg_config_set (cfg, "ws", "burst", "100000", error)
      || !kmg_config_set (cfg, "ws", "threads", threads, error)
      || !kmg_config_set (cfg, "ws", "max_per_user", "10000", error)
      || !kmg_config_set (cfg, "ws", "max_per_address", "1000000", error)
      || !kmg_config_set (cfg, "accounts", "login_per_addr_per_5min", "100000", error)
      || !kmg_config_set (cfg, "accounts", "register_per_addr_per_hour", "1000000", error)
      || !kmg_config_set (cfg, "http", "max_connections_per_address", "0", error))
    {
      kmg_config_free (cfg);
      return NULL;
    }
  return kmg_server_new (cfg, error);
}

static gboolean
parse_options (int *argc, char ***argv)
{
  const GOptionEntry entries[] = {
    { "sellers", 'n', 0, G_OPTION_ARG_INT, &opt_sellers, "sellers on the map (1000000)", "N" },
    { "clients", 'c', 0, G_OPTION_ARG_INT, &opt_clients, "WebSocket connections (16)", "N" },
    { "inflight", 'i', 0, G_OPTION_ARG_INT, &opt_inflight, "subscribes in flight per connection (4)", "N" },
    { "seconds", 'd', 0, G_OPTION_ARG_INT, &opt_seconds, "seconds of load (10)", "S" },
    { "users", 'u', 0, G_OPTION_ARG_INT, &opt_users, "registered users shared by the connections (4)", "N" },
    { "viewports", 'v', 0, G_OPTION_ARG_INT, &opt_viewports, "distinct viewports (20000)", "N" },
    { "ws-threads", 0, 0, G_OPTION_ARG_INT, &opt_ws_threads, "ws.threads of the server (0)", "N" },
    { "streaming-pct", 0, 0, G_OPTION_ARG_INT, &opt_streaming_pct, "percent streaming (10)", "P" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &opt_seed, "random seed (42)", "S" },
    { NULL },
  };
  g_autoptr (GOptionContext) octx = g_option_context_new ("- map queries over WebSocket, end to end");
  g_autoptr (GError) error = NULL;

  g_option_context_add_main_entries (octx, entries, NULL);
  if (!g_option_context_parse (octx, argc, argv, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return FALSE;
    }
  if (opt_sellers < 0 || opt_sellers > 10000000 || opt_clients < 1 || opt_clients > 1000
      || opt_inflight < 1 || opt_inflight > 1000 || opt_seconds < 1 || opt_seconds > 600
      || opt_users < 1 || opt_users > 64 || opt_viewports < 1 || opt_viewports > 10000000
      || opt_ws_threads < 0 || opt_ws_threads > 64 || opt_streaming_pct < 0 || opt_streaming_pct > 100)
    {
      fprintf (stderr, "a value is out of range (see --help)\n");
      return FALSE;
    }
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgServer) server = NULL;
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GRand) rand = NULL;
  g_autoptr (KmgBenchSellers) sellers = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *loadavg = NULL;
  Bench b = { 0 };
  KmgMap *map;
  GThread *client;
  long rss0, rss1;
  gint64 t0;
  int rc;

  if (!parse_options (&argc, &argv))
    return 2;
  dir = g_dir_make_tmp ("kmg-bench-map-e2e-XXXXXX", &error);
  if (dir == NULL || (server = start_server (dir, &error)) == NULL)
    g_error ("server: %s", error->message);
  map = kmg_server_get_app (server)->map;
  b.port = kmg_server_get_port (server);
  b.server_loop = loop;
  b.lat_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_file_get_contents ("/proc/loadavg", &loadavg, NULL, NULL);
  printf ("host                 %u CPUs, load average %s", g_get_num_processors (),
          loadavg != NULL ? loadavg : "?\n");

  rand = g_rand_new_with_seed ((guint32) opt_seed);
  sellers = kmg_bench_sellers_new (rand, (guint) opt_sellers, (guint) opt_streaming_pct);
  rss0 = rss_kib ();
  t0 = g_get_monotonic_time ();
  fill_map (map, sellers);
  rss1 = rss_kib ();
  printf ("sellers              %d (%d%% streaming, %u visible), inserted in %.2f s\n", opt_sellers,
          opt_streaming_pct, kmg_map_get_n_visible (map), (g_get_monotonic_time () - t0) / 1e6);
  printf ("process rss          %.1f MiB with the server started, %.1f MiB with the map filled\n",
          rss0 / 1024.0, rss1 / 1024.0);
  make_viewports (&b, rand, sellers);

  client = g_thread_new ("map-bench-client", client_thread, &b);
  g_main_loop_run (loop);
  g_thread_join (client);

  if (b.started_us != 0)
    report_ws (&b);
  printf ("process rss          %.1f MiB after the run (server, map and clients)\n", rss_kib () / 1024.0);
  bench_in_process (map, b.vps, (guint) opt_viewports);

  rc = b.started_us != 0 && b.errors == 0 && b.lat_us->len > 0 ? 0 : 1;
  g_clear_pointer (&server, kmg_server_free);
  remove_tree (dir);
  for (gint i = 0; b.clients != NULL && i < opt_clients; i++)
    g_free (b.clients[i].sent_us);
  g_free (b.clients);
  g_strfreev (b.tokens);
  g_strfreev (b.vp_text);
  g_free (b.vps);
  g_free (b.first_error);
  g_array_unref (b.lat_us);
  return rc;
}
