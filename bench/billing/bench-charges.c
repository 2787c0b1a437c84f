/* bench-charges.c — sustained durable minute charges per second: many concurrent sessions, one
 * transaction per tick (WAL + synchronous=FULL), through the same engine the server uses. */

#include "kmg-audit.h"
#include "kmg-billing.h"

#include <glib/gstdio.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int opt_sessions = 20000;
static int opt_ticks = 30;
static gboolean opt_audit = TRUE;
static int opt_cache_mb = 0;

static GOptionEntry entries[] = {
  { "sessions", 's', 0, G_OPTION_ARG_INT, &opt_sessions, "concurrent sessions (default 20000)", "N" },
  { "ticks", 't', 0, G_OPTION_ARG_INT, &opt_ticks, "ticks to run, each one due minute per session (default 30)", "N" },
  { "cache-mb", 0, 0, G_OPTION_ARG_INT, &opt_cache_mb, "SQLite page cache in MiB (default: store default)", "N" },
  { "no-audit", 0, G_OPTION_FLAG_REVERSE, G_OPTION_ARG_NONE, &opt_audit, "skip the final audit", NULL },
  { NULL },
};

/* CPU seconds (user + system) used by this process so far: steadier than wall time on a shared
 * machine. */
static double
cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Bytes this process has handed to write() so far (WAL and checkpoints), 0 when unknown. */
static guint64
written_bytes (void)
{
  g_autofree char *text = NULL;
  const char *p;

  if (!g_file_get_contents ("/proc/self/io", &text, NULL, NULL) || (p = strstr (text, "wchar: ")) == NULL)
    return 0;
  return g_ascii_strtoull (p + 7, NULL, 10);
}

static void
setup_users (KmgDb *db, KmgLedger *ledger, int buyers, int sellers)
{
  g_autoptr (GError) error = NULL;

  kmg_db_begin (db, NULL);
  for (int i = 1; i <= buyers + sellers; i++)
    {
      g_autofree char *sql = g_strdup_printf (
        "INSERT INTO users (id, username, username_key, password_hash, is_seller, "
        "price_per_minute, created_at, updated_at) VALUES (%d, 'u%d', 'u%d', 'x', %d, %d, 0, 0)",
        i, i, i, i > buyers, 5 + i % 50);
      if (!kmg_db_exec (db, sql, &error))
        g_error ("%s", error->message);
    }
  kmg_db_commit (db, NULL);
  for (int i = 1; i <= buyers; i++)
    {
      g_autofree char *ref = g_strdup_printf ("bench-%d", i);
      if (!kmg_ledger_topup (ledger, i, 100000000, ref, 0, NULL, &error))
        g_error ("%s", error->message);
    }
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new ("— durable minute charges per second");
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("kmg-bench-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "bench.db", NULL);
  g_autoptr (KmgDb) db = NULL;
  g_autoptr (KmgBilling) b = NULL;
  g_autoptr (GArray) sessions = g_array_new (FALSE, FALSE, sizeof (gint64));
  KmgBillingRules rules;
  int buyers, sellers = 100;
  gint64 now, second, charges = 0, ticks_done = 0;
  double flush_s = 0, worst_tick = 0, flush_cpu = 0;
  guint64 flush_written = 0;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 2;
    }
  buyers = MAX (1, opt_sessions / 4);
  db = kmg_db_open (path, &error);
  if (db == NULL)
    g_error ("%s", error->message);
  if (opt_cache_mb > 0)
    {
      g_autofree char *pragma = g_strdup_printf ("PRAGMA cache_size = -%d", opt_cache_mb * 1024);
      kmg_db_exec (db, pragma, NULL);
    }
  kmg_billing_rules_init (&rules);
  /* A minute is due every second of delivery: each tick charges one minute per session, the
   * heaviest load the rules allow, with the same work per charge as a 60 s minute. */
  rules.minute_s = 1;
  rules.min_billable_s = 1;
  b = kmg_billing_new (db, &rules, &error);
  setup_users (db, kmg_billing_get_ledger (b), buyers, sellers);
  now = g_get_real_time () / 1000;
  second = now / 1000;
  for (int i = 0; i < opt_sessions; i++)
    {
      gint64 id = kmg_billing_session_start (b, 1 + i % buyers, buyers + 1 + i % sellers, now, &error);
      if (id <= 0)
        g_error ("start: %s", error->message);
      kmg_billing_session_set_active (b, id, TRUE);
      g_array_append_val (sessions, id);
    }
  for (int t = 0; t < opt_ticks; t++)
    {
      g_autoptr (GArray) events = NULL;
      gint64 t0;
      double dt, c0;
      guint64 w0;

      now = (second + 1) * 1000;
      for (guint i = 0; i < sessions->len; i++)
        {
          KmgDeliveredSecond ev = { .second = second, .packets = 45, .bytes = 50000, .loss = 0.01,
                                    .jitter_ms = 4, .rtt_ms = 35 };
          kmg_billing_delivered_second (b, g_array_index (sessions, gint64, i), &ev, now);
        }
      second++;
      t0 = g_get_monotonic_time ();
      c0 = cpu_seconds ();
      w0 = written_bytes ();
      events = kmg_billing_flush (b, now, &error);
      flush_cpu += cpu_seconds () - c0;
      flush_written += written_bytes () - w0;
      if (events == NULL)
        g_error ("flush: %s", error->message);
      dt = (g_get_monotonic_time () - t0) / 1e6;
      flush_s += dt;
      worst_tick = MAX (worst_tick, dt);
      for (guint i = 0; i < events->len; i++)
        charges += g_array_index (events, KmgBillingEvent, i).kind == KMG_BILLING_EVENT_CHARGED;
      ticks_done++;
    }
  printf ("bench-charges: %d concurrent sessions, %" G_GINT64_FORMAT " ticks (WAL, synchronous=FULL, one transaction per tick)\n",
          opt_sessions, ticks_done);
  printf ("  minute charges committed: %" G_GINT64_FORMAT " (2 transfers + 1 evidence row each)\n", charges);
  printf ("  flush time total: %.2f s, mean per tick %.1f ms, worst tick %.1f ms\n", flush_s,
          1000 * flush_s / MAX (ticks_done, 1), 1000 * worst_tick);
  printf ("  flush CPU time (user + system): %.2f s, %.1f us per charge\n", flush_cpu,
          1e6 * flush_cpu / MAX (charges, 1));
  printf ("  written by flushes (WAL + checkpoints): %.1f MiB, %.0f bytes per charge\n",
          flush_written / 1048576.0, (double) flush_written / MAX (charges, 1));
  printf ("  sustained durable charges: %.0f /s\n", charges / flush_s);
  if (opt_audit)
    {
      gint64 t0 = g_get_monotonic_time ();
      g_autoptr (KmgAuditReport) r = kmg_audit_run (db, &error);
      if (r == NULL)
        g_error ("%s", error->message);
      printf ("  audit: %s, %" G_GUINT64_FORMAT " transfers verified in %.2f s\n",
              r->ok ? "OK" : "FAILED", r->transfers, (g_get_monotonic_time () - t0) / 1e6);
    }
  g_clear_pointer (&b, kmg_billing_free);
  g_clear_pointer (&db, kmg_db_close);
  {
    const char *suffixes[] = { "", "-wal", "-shm" };
    for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
      {
        g_autofree char *p = g_strconcat (path, suffixes[i], NULL);
        g_remove (p);
      }
    g_rmdir (dir);
  }
  return 0;
}
