/* bench-api.c — requests/s and latency percentiles of GET /api/v1/sellers/{id} and of login
 * (argon2id behind the hash cap) against a real server on loopback.
 * The server runs on the default main context in the main thread; the load client runs in its own
 * thread with its own context, so they do not share a loop. */

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <stdlib.h>
#include <string.h>

#include "kmg-accounts.h"
#include "kmg-server.h"

static int opt_duration_s = 4;
static int opt_concurrency = 16;
static int opt_login_concurrency = 8;
static int opt_hashes = 2;

typedef struct
{
  const char *name;
  const char *method;
  char *url;
  char *body;
  guint expect_status;
} Phase;

typedef struct
{
  SoupSession *session;
  GMainLoop *loop;
  const Phase *phase;
  gint64 deadline_us;
  int in_flight;
  GArray *latencies_us; /* gint64 */
  guint errors;
  gint64 started_us, ended_us;
} Run;

typedef struct
{
  Run *run;
  SoupMessage *msg;
  gint64 sent_us;
} Req;

static void send_one (Run *run);

static void
on_done (GObject *source, GAsyncResult *res, gpointer data)
{
  Req *req = data;
  Run *run = req->run;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), res, &error);
  gint64 now = g_get_monotonic_time ();

  if (body == NULL || soup_message_get_status (req->msg) != run->phase->expect_status)
    run->errors++;
  else
    {
      gint64 lat = now - req->sent_us;
      g_array_append_val (run->latencies_us, lat);
    }
  g_object_unref (req->msg);
  g_free (req);
  run->in_flight--;
  if (now < run->deadline_us)
    send_one (run);
  else if (run->in_flight == 0)
    {
      run->ended_us = now;
      g_main_loop_quit (run->loop);
    }
}

static void
send_one (Run *run)
{
  Req *req = g_new0 (Req, 1);

  req->run = run;
  req->msg = soup_message_new (run->phase->method, run->phase->url);
  if (run->phase->body)
    {
      g_autoptr (GBytes) b = g_bytes_new (run->phase->body, strlen (run->phase->body));
      soup_message_set_request_body_from_bytes (req->msg, "application/json", b);
    }
  req->sent_us = g_get_monotonic_time ();
  run->in_flight++;
  soup_session_send_and_read_async (run->session, req->msg, G_PRIORITY_DEFAULT, NULL, on_done, req);
}

static int
cmp_i64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

static double
percentile_ms (GArray *sorted, double p)
{
  guint i;

  if (sorted->len == 0)
    return 0;
  i = (guint) (p * (sorted->len - 1) + 0.5);
  return g_array_index (sorted, gint64, i) / 1000.0;
}

static void
run_phase (const Phase *phase, int concurrency)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  Run run = { 0 };
  double secs;

  g_main_context_push_thread_default (ctx);
  run.session = soup_session_new_with_options ("max-conns", concurrency * 2, "max-conns-per-host",
                                               concurrency * 2, "timeout", 60, NULL);
  run.loop = g_main_loop_new (ctx, FALSE);
  run.phase = phase;
  run.latencies_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  run.started_us = g_get_monotonic_time ();
  run.deadline_us = run.started_us + (gint64) opt_duration_s * G_USEC_PER_SEC;
  for (int i = 0; i < concurrency; i++)
    send_one (&run);
  g_main_loop_run (run.loop);
  g_array_sort (run.latencies_us, cmp_i64);
  secs = (run.ended_us - run.started_us) / 1e6;
  g_print ("%-22s conc %3d  %7u ok  %5u err  %9.1f req/s  p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms\n",
           phase->name, concurrency, run.latencies_us->len, run.errors, run.latencies_us->len / secs,
           percentile_ms (run.latencies_us, 0.50), percentile_ms (run.latencies_us, 0.99),
           percentile_ms (run.latencies_us, 1.0));
  g_array_unref (run.latencies_us);
  g_main_loop_unref (run.loop);
  g_object_unref (run.session);
  g_main_context_pop_thread_default (ctx);
}

typedef struct
{
  Phase seller, login;
  GMainLoop *server_loop;
} Plan;

static gboolean
quit_server_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static gpointer
client_thread (gpointer data)
{
  Plan *plan = data;

  run_phase (&plan->seller, opt_concurrency);
  run_phase (&plan->login, opt_login_concurrency);
  g_idle_add (quit_server_loop, plan->server_loop);
  return NULL;
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_remove (child);
    }
  g_rmdir (path);
}

/* A seller to look at and a user to log in as, made directly through the accounts API. */
static gint64
make_users (KmgAccounts *accounts)
{
  g_autoptr (GError) error = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  KmgProfilePatch patch = { .has_is_seller = TRUE, .is_seller = TRUE, .has_location_consent = TRUE,
                            .location_consent = TRUE };
  gint64 id = kmg_accounts_create_user_sync (accounts, "benchseller", "bench password 1", FALSE, now, &error);

  if (id == 0 || !kmg_accounts_update_profile (accounts, id, &patch, now, &error))
    g_error ("cannot create the bench users: %s", error->message);
  return id;
}

int
main (int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "duration", 'd', 0, G_OPTION_ARG_INT, &opt_duration_s, "Seconds per phase (4)", "S" },
    { "concurrency", 'c', 0, G_OPTION_ARG_INT, &opt_concurrency, "Requests in flight, seller GET (16)", "N" },
    { "login-concurrency", 'l', 0, G_OPTION_ARG_INT, &opt_login_concurrency, "Requests in flight, login (8)", "N" },
    { "hashes", 'H', 0, G_OPTION_ARG_INT, &opt_hashes, "accounts.max_concurrent_hashes (2)", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) octx = g_option_context_new ("— accounts API load on loopback");
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgServer) server = NULL;
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autofree char *dir = NULL;
  g_autofree char *hashes = NULL;
  KmgConfig *cfg = kmg_config_new_default ();
  GThread *client;
  Plan plan = { 0 };
  guint16 port;
  gint64 seller;

  g_option_context_add_main_entries (octx, entries, NULL);
  if (!g_option_context_parse (octx, &argc, &argv, &error))
    g_error ("%s", error->message);
  opt_duration_s = CLAMP (opt_duration_s, 1, 60);
  dir = g_dir_make_tmp ("kmg-bench-api-XXXXXX", &error);
  hashes = g_strdup_printf ("%d", opt_hashes);
  /* Rate limits out of the way: this measures the work, not the refusals. */
  if (dir == NULL || !kmg_config_set (cfg, "server", "listen", "127.0.0.1:0", &error)
      || !kmg_config_set (cfg, "server", "data_dir", dir, &error)
      || !kmg_config_set (cfg, "server", "log_level", "warning", &error)
      || !kmg_config_set (cfg, "relay", "stun_port", "0", &error)
      || !kmg_config_set (cfg, "accounts", "max_concurrent_hashes", hashes, &error)
      || !kmg_config_set (cfg, "accounts", "login_per_user_per_5min", "10000", &error)
      || !kmg_config_set (cfg, "accounts", "login_per_addr_per_5min", "100000", &error))
    g_error ("%s", error->message);
  server = kmg_server_new (cfg, &error);
  if (server == NULL)
    g_error ("%s", error->message);
  port = kmg_server_get_port (server);
  seller = make_users (kmg_server_get_app (server)->accounts);

  plan.server_loop = loop;
  plan.seller = (Phase){ "GET /sellers/{id}", "GET",
                         g_strdup_printf ("http://127.0.0.1:%u/api/v1/sellers/%" G_GINT64_FORMAT, port, seller),
                         NULL, 200 };
  plan.login = (Phase){ "POST /auth/login", "POST", g_strdup_printf ("http://127.0.0.1:%u/api/v1/auth/login", port),
                        g_strdup ("{\"username\":\"benchseller\",\"password\":\"bench password 1\"}"), 200 };
  g_print ("accounts API on 127.0.0.1:%u, %d s per phase, %d hash threads, %u CPUs\n", port,
           opt_duration_s, opt_hashes, g_get_num_processors ());
  client = g_thread_new ("bench-client", client_thread, &plan);
  g_main_loop_run (loop);
  g_thread_join (client);

  g_clear_pointer (&server, kmg_server_free);
  remove_tree (dir);
  g_free (plan.seller.url);
  g_free (plan.login.url);
  g_free (plan.login.body);
  return 0;
}
