/* kmg-routes-ops.c — operator routes: /healthz and /metrics, with the process figures.
 * Process figures are read from /proc at scrape time, so they cost nothing between scrapes. */

#include "kmg-routes-ops.h"

#include <stdio.h>
#include <unistd.h>

static void
healthz (KmgHttpRequest *req, gpointer user_data)
{
  KmgApp *app = user_data;
  g_autoptr (JsonObject) obj = json_object_new ();
  g_autoptr (GError) error = NULL;
  gboolean db_ok = kmg_db_exec (app->db, "SELECT 1", &error);

  json_object_set_string_member (obj, "status", db_ok ? "ok" : "degraded");
  json_object_set_string_member (obj, "db", db_ok ? "ok" : error->message);
  json_object_set_string_member (obj, "version", PACKAGE_VERSION);
  json_object_set_int_member (obj, "uptime_s",
                              (g_get_monotonic_time () - app->started_at_us) / G_USEC_PER_SEC);
  kmg_http_reply_object (req, db_ok ? 200 : 503, obj);
}

static guint
count_fds (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  if (dir == NULL)
    return 0;
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static void
collect_process (KmgMetrics *m, gpointer user_data)
{
  KmgApp *app = user_data;
  g_autofree char *stat = NULL;
  long page = sysconf (_SC_PAGESIZE);
  long ticks = sysconf (_SC_CLK_TCK);

  if (g_file_get_contents ("/proc/self/stat", &stat, NULL, NULL))
    {
      /* Fields after the command name, which is in parentheses and may contain spaces. */
      const char *p = strrchr (stat, ')');
      unsigned long utime = 0, stime = 0;
      long rss = 0;
      unsigned long long vsize = 0;

      if (p != NULL
          && sscanf (p + 2,
                     "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d "
                     "%*d %*u %llu %ld",
                     &utime, &stime, &vsize, &rss)
                 == 4)
        {
          kmg_metrics_set (m, "process_cpu_seconds_total", NULL,
                           (double) (utime + stime) / (double) ticks);
          kmg_metrics_set (m, "process_resident_memory_bytes", NULL, (double) rss * page);
          kmg_metrics_set (m, "process_virtual_memory_bytes", NULL, (double) vsize);
        }
    }
  kmg_metrics_set (m, "process_open_fds", NULL, count_fds ());
  kmg_metrics_set (m, "kamegor_db_errors_total", NULL, (double) kmg_db_error_count (app->db));
}

static void
metrics (KmgHttpRequest *req, gpointer user_data)
{
  KmgApp *app = user_data;
  g_autofree char *text = kmg_metrics_render (app->metrics);

  kmg_http_reply_text (req, 200, "text/plain; version=0.0.4; charset=utf-8", text);
}

void
kmg_routes_ops_register (KmgRouter *router, KmgApp *app)
{
  KmgMetrics *m = app->metrics;

  kmg_metrics_declare (m, "process_cpu_seconds_total", KMG_METRIC_COUNTER,
                       "User and system CPU time spent, in seconds", NULL, 0);
  kmg_metrics_declare (m, "process_resident_memory_bytes", KMG_METRIC_GAUGE,
                       "Resident memory size in bytes", NULL, 0);
  kmg_metrics_declare (m, "process_virtual_memory_bytes", KMG_METRIC_GAUGE,
                       "Virtual memory size in bytes", NULL, 0);
  kmg_metrics_declare (m, "process_open_fds", KMG_METRIC_GAUGE, "Open file descriptors", NULL, 0);
  kmg_metrics_declare (m, "process_start_time_seconds", KMG_METRIC_GAUGE,
                       "Start time of the process since the Unix epoch, in seconds", NULL, 0);
  kmg_metrics_declare (m, "kamegor_db_errors_total", KMG_METRIC_COUNTER,
                       "SQLite errors other than constraint violations", NULL, 0);
  kmg_metrics_set (m, "process_start_time_seconds", NULL,
                   (double) g_get_real_time () / G_USEC_PER_SEC);
  kmg_metrics_add_collector (m, collect_process, app);

  kmg_router_add (router, "GET", "/healthz", KMG_ROUTE_PUBLIC, 0, healthz, app);
  kmg_router_add (router, "GET", "/metrics", KMG_ROUTE_PUBLIC, 0, metrics, app);
}
