/* bench-map.c — live map index figures: insert, update and viewport query costs, memory.
 * Prints numbers only; run `bench-map --help` for the knobs. */
#include "bench-map-sellers.h"
#include "kmg-ws-proto.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double
now_us (void)
{
  return (double) g_get_monotonic_time ();
}

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

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* One subscriber's refresh as the hub does it: query, items in their wire form, item set. */
static GHashTable *
refresh (KmgMap *map, const KmgMapViewport *vp)
{
  g_autoptr (KmgMapResult) res = kmg_map_query (map, vp, 0);
  g_autoptr (JsonArray) items = kmg_ws_map_result_to_array (res);

  return kmg_map_items_from_array (items, NULL);
}

/* Refresh + diff of many subscribers after a burst of moves, as one map.flush_ms tick would. */
static void
bench_subscriptions (KmgMap *map, GRand *rand, KmgBenchSellers *sellers)
{
  const guint n_subs = 2000;
  g_autofree KmgMapViewport *vps = g_new (KmgMapViewport, n_subs);
  g_autoptr (GPtrArray) shown = g_ptr_array_new_with_free_func ((GDestroyNotify) g_hash_table_unref);
  g_autoptr (GString) out = g_string_sized_new (4096);
  double t0, t1;
  guint changed = 0;

  for (guint i = 0; i < n_subs; i++)
    {
      kmg_bench_screen_viewport (rand, kmg_bench_sellers_random_point (sellers, rand),
                                 (guint) g_rand_int_range (rand, 3, 17), &vps[i]);
      g_ptr_array_add (shown, refresh (map, &vps[i]));
    }
  for (guint i = 0; i < 20000; i++)
    {
      gint id = g_rand_int_range (rand, 0, (gint32) sellers->n_sellers);
      KmgBenchPoint *p = &sellers->where[id];

      p->lat = CLAMP (p->lat + g_rand_double_range (rand, -0.05, 0.05), -85.0, 85.0);
      kmg_map_update_seller (map, id, p->lat, p->lon, KMG_MAP_STATUS_ONLINE, FALSE,
                             NULL, G_MAXINT64 / 2 + i, NULL, NULL);
    }
  t0 = now_us ();
  for (guint i = 0; i < n_subs; i++)
    {
      GHashTable *next = refresh (map, &vps[i]);

      g_string_truncate (out, 0);
      changed += kmg_map_items_diff (shown->pdata[i], next, out);
      g_hash_table_unref (shown->pdata[i]);
      shown->pdata[i] = next;
    }
  t1 = now_us ();
  printf ("subscription refresh %.1f us each incl. serialisation and diff (%u subscribers, %u with "
          "changes after 20000 moves)\n",
          (t1 - t0) / n_subs, n_subs, changed);
}

int
main (int argc, char **argv)
{
  gint n_sellers = 1000000, n_queries = 20000, n_updates = 200000, streaming_pct = 10, seed = 42;
  GOptionEntry entries[] = {
    { "sellers", 'n', 0, G_OPTION_ARG_INT, &n_sellers, "sellers (default 1000000)", "N" },
    { "queries", 'q', 0, G_OPTION_ARG_INT, &n_queries, "viewport queries (default 20000)", "N" },
    { "updates", 'u', 0, G_OPTION_ARG_INT, &n_updates, "position updates (default 200000)", "N" },
    { "streaming-pct", 0, 0, G_OPTION_ARG_INT, &streaming_pct, "percent streaming (10)", "P" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed, "random seed (42)", "S" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- live map index benchmark");
  g_autoptr (GError) error = NULL;
  g_autoptr (GRand) rand = NULL;
  g_autoptr (KmgMap) map = NULL;
  g_autoptr (KmgBenchSellers) sellers = NULL;
  KmgBenchPoint *where;
  g_autofree double *lat_us = NULL;
  KmgMapConfig cfg;
  long rss0, rss1;
  double t0, t1, items = 0, clusters = 0;
  guint truncated = 0, coarsened = 0;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || n_sellers < 1 || n_queries < 1
      || n_updates < 1)
    {
      fprintf (stderr, "%s\n", error != NULL ? error->message : "counts must be >= 1");
      return 2;
    }
  rand = g_rand_new_with_seed ((guint32) seed);
  sellers = kmg_bench_sellers_new (rand, (guint) n_sellers, (guint) CLAMP (streaming_pct, 0, 100));
  where = sellers->where;

  kmg_map_config_init (&cfg);
  map = kmg_map_new (&cfg, &error);
  rss0 = rss_kib ();
  t0 = now_us ();
  for (gint i = 0; i < n_sellers; i++)
    {
      g_autofree char *name = g_strdup_printf ("seller%d", i);
      KmgMapProfile *p = kmg_map_profile_new (name, NULL, 4.2, 10);

      kmg_map_update_seller (map, i, where[i].lat, where[i].lon, sellers->status[i], FALSE, p, 0,
                             NULL, NULL);
      kmg_map_profile_unref (p);
    }
  t1 = now_us ();
  rss1 = rss_kib ();
  printf ("sellers              %d (%d%% streaming, %u visible)\n", n_sellers, streaming_pct,
          kmg_map_get_n_visible (map));
  printf ("insert total         %.2f s (%.2f us/seller)\n", (t1 - t0) / 1e6, (t1 - t0) / n_sellers);
  printf ("rss for index        %.1f MiB (%.0f bytes/seller, incl. profiles)\n",
          (rss1 - rss0) / 1024.0, (rss1 - rss0) * 1024.0 / n_sellers);

  /* Walks of ~100 m: most keep their cell (hysteresis), a few change it; 5% toggle streaming. */
  t0 = now_us ();
  for (gint i = 0; i < n_updates; i++)
    {
      gint id = g_rand_int_range (rand, 0, n_sellers);
      KmgBenchPoint *p = &where[id];
      KmgMapStatus st = g_rand_int_range (rand, 0, 20) == 0 ? KMG_MAP_STATUS_STREAMING
                                                             : KMG_MAP_STATUS_ONLINE;

      p->lat = CLAMP (p->lat + g_rand_double_range (rand, -0.001, 0.001), -85.0, 85.0);
      p->lon = kmg_bench_wrap_lon (p->lon + g_rand_double_range (rand, -0.001, 0.001));
      kmg_map_update_seller (map, id, p->lat, p->lon, st, FALSE, NULL, (gint64) (i + 1) * 10000,
                             NULL, NULL);
    }
  t1 = now_us ();
  printf ("update               %.2f us/position change (%d updates)\n", (t1 - t0) / n_updates,
          n_updates);

  lat_us = g_new (double, n_queries);
  t0 = now_us ();
  for (gint i = 0; i < n_queries; i++)
    {
      KmgMapViewport vp;
      guint zoom = (guint) g_rand_int_range (rand, 0, KMG_MAP_MAX_ZOOM + 1);
      double q0;
      KmgMapResult *r;

      kmg_bench_screen_viewport (rand, kmg_bench_sellers_random_point (sellers, rand), zoom, &vp);
      q0 = now_us ();
      r = kmg_map_query (map, &vp, 0);
      lat_us[i] = now_us () - q0;
      items += r->n_items;
      for (guint k = 0; k < r->n_items; k++)
        clusters += r->items[k].kind == KMG_MAP_ITEM_CLUSTER;
      truncated += r->truncated;
      coarsened += r->grid_zoom != vp.zoom;
      kmg_map_result_free (r);
    }
  t1 = now_us ();
  qsort (lat_us, n_queries, sizeof (double), cmp_double);
  printf ("query                %d random screen viewports, zoom 0..22, cap %u\n", n_queries,
          cfg.max_items);
  printf ("query latency        p50 %.0f us, p99 %.0f us, max %.0f us\n",
          lat_us[n_queries / 2], lat_us[(gsize) (n_queries * 0.99)], lat_us[n_queries - 1]);
  printf ("query throughput     %.0f queries/s (one core, incl. viewport generation)\n",
          n_queries / ((t1 - t0) / 1e6));
  printf ("query items          %.1f avg (%.1f clusters), %u coarsened, %u truncated\n",
          items / n_queries, clusters / n_queries, coarsened, truncated);
  bench_subscriptions (map, rand, sellers);
  return 0;
}
