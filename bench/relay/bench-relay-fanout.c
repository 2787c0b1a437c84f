/* bench-relay-fanout.c — one seller, N relayed buyer legs on loopback, all in this process:
 * prints the relay's own CPU (per-thread accounting) and RSS per leg, forwarded packets/s,
 * send → receive latency and loss. Buyers only count RTP. */
#include <sys/resource.h>

#include "bench-rss.h"
#include "relay-fixture.h"

static double
cpu_seconds (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Thread classes: test peers (receivers, seller: their pad tasks are known by tid), the RTCP
 * threads every webrtcbin has (one per relay webrtcbin, one per peer webrtcbin: split evenly),
 * everything else is the relay's (including the main loop, which also runs the fixture's
 * signalling, and the seller leg's jitterbuffer task that pushes into the tee). Jitterbuffer
 * "timer" threads (one relay, N peers, idle without loss) are counted as the peers'. */
enum { CLS_RELAY, CLS_PEER, CLS_RTCP, N_CLS };

static int
thread_class (RelayFixture *fx, gint tid, const char *comm)
{
  if (relay_fixture_is_peer_thread (fx, tid) || g_str_has_prefix (comm, "w:") || g_str_equal (comm, "timer") || g_str_has_prefix (comm, "videotestsrc"))
    return CLS_PEER;
  if (g_str_equal (comm, "rtpsession-rtcp"))
    return CLS_RTCP;
  return CLS_RELAY;
}

/* tid → on-CPU nanoseconds (schedstat: exact, unlike the 10 ms ticks of stat, which lose up to
 * a tick per thread and window), and tid → thread name. */
static void
thread_ticks (GHashTable *ticks, GHashTable *names)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  const char *entry;

  while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *sched_path = g_strdup_printf ("/proc/self/task/%s/schedstat", entry);
      g_autofree char *comm_path = g_strdup_printf ("/proc/self/task/%s/comm", entry);
      g_autofree char *sched = NULL, *comm = NULL;
      if (!g_file_get_contents (sched_path, &sched, NULL, NULL) || !g_file_get_contents (comm_path, &comm, NULL, NULL))
        continue;
      gint tid = atoi (entry);
      g_hash_table_insert (ticks, GINT_TO_POINTER (tid), GSIZE_TO_POINTER (g_ascii_strtoull (sched, NULL, 10)));
      g_hash_table_insert (names, GINT_TO_POINTER (tid), g_strdup (g_strstrip (comm)));
    }
}

typedef struct
{
  double cpu_pct, rss;
  double cls_pct[N_CLS];
  GHashTable *relay_by_name; /* folded thread name → % of a core */
  guint64 packets, received, bytes, sent;
  double seconds;
} Sample;

static guint64
received_total (RelayFixture *fx)
{
  guint64 n = 0;
  for (guint i = 0; i < fx->buyers->len; i++)
    n += (guint) g_atomic_int_get (&((TestPeer *) g_ptr_array_index (fx->buyers, i))->rtp_packets);
  return n;
}

static char *
fold_digits (const char *name)
{
  GString *out = g_string_new (NULL);
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isdigit (*p))
      g_string_append_c (out, *p);
    else if (out->len == 0 || out->str[out->len - 1] != 'N')
      g_string_append_c (out, 'N');
  return g_string_free (out, FALSE);
}

static Sample
measure (RelayFixture *fx, guint seconds)
{
  KmgRelayStats before, after;
  Sample s = { 0 };
  g_autoptr (GHashTable) t0_ticks = g_hash_table_new (NULL, NULL);
  g_autoptr (GHashTable) t1_ticks = g_hash_table_new (NULL, NULL);
  g_autoptr (GHashTable) t1_names = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  g_autoptr (GHashTable) t0_names = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  const double hz = 1e9; /* schedstat is in ns */

  kmg_relay_get_stats (fx->relay, &before);
  guint64 r0 = received_total (fx);
  thread_ticks (t0_ticks, t0_names);
  double c0 = cpu_seconds ();
  gint64 t0 = g_get_monotonic_time ();
  g_mutex_lock (&fx->probe_lock);
  g_array_set_size (fx->delays_us, 0);
  g_mutex_unlock (&fx->probe_lock);
  g_atomic_int_set (&fx->sent_recorded, 0);
  fx->recording = TRUE;
  relay_fixture_run_for (seconds * 1000);
  fx->recording = FALSE;
  s.sent = (guint) g_atomic_int_get (&fx->sent_recorded) * (guint64) fx->buyers->len;
  s.seconds = (g_get_monotonic_time () - t0) / 1e6;
  s.cpu_pct = 100.0 * (cpu_seconds () - c0) / s.seconds;
  thread_ticks (t1_ticks, t1_names);
  s.rss = bench_rss_mib ();
  kmg_relay_get_stats (fx->relay, &after);
  s.packets = after.packets - before.packets;
  s.bytes = after.bytes - before.bytes;
  s.received = received_total (fx) - r0;

  s.relay_by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, t1_ticks);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      const char *comm = g_hash_table_lookup (t1_names, key);
      double pct = 100.0 * (GPOINTER_TO_SIZE (value) - GPOINTER_TO_SIZE (g_hash_table_lookup (t0_ticks, key))) / hz
                   / s.seconds;
      int cls = thread_class (fx, GPOINTER_TO_INT (key), comm);
      s.cls_pct[cls] += pct;
      if (cls != CLS_RELAY)
        continue;
      char *folded = fold_digits (comm);
      double *sum = g_hash_table_lookup (s.relay_by_name, folded);
      if (sum == NULL)
        g_hash_table_insert (s.relay_by_name, folded, sum = g_new0 (double, 1));
      else
        g_free (folded);
      *sum += pct;
    }
  return s;
}

static double
relay_pct (const Sample *s)
{
  return s->cls_pct[CLS_RELAY] + s->cls_pct[CLS_RTCP] / 2;
}

static int
cmp_i64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

static void
print_latency (RelayFixture *fx)
{
  g_mutex_lock (&fx->probe_lock);
  GArray *d = fx->delays_us;
  if (d->len > 0)
    {
      g_array_sort (d, cmp_i64);
      g_print ("seller payloader -> buyer webrtcbin output (both relay hops, loopback, %u packets): "
               "p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
               d->len, g_array_index (d, gint64, d->len / 2) / 1e3, g_array_index (d, gint64, d->len * 99 / 100) / 1e3,
               g_array_index (d, gint64, d->len - 1) / 1e3);
    }
  g_mutex_unlock (&fx->probe_lock);
}

static void
print_relay_threads (const Sample *s)
{
  GHashTableIter it;
  gpointer key, value;
  g_print ("relay threads (%% of a core, by name):");
  g_hash_table_iter_init (&it, s->relay_by_name);
  while (g_hash_table_iter_next (&it, &key, &value))
    if (*(double *) value >= 0.05)
      g_print ("  %s %.1f", (const char *) key, *(double *) value);
  g_print ("\n");
}

static gboolean
all_receiving (gpointer data)
{
  RelayFixture *fx = data;
  for (guint i = 0; i < fx->buyers->len; i++)
    if (g_atomic_int_get (&((TestPeer *) g_ptr_array_index (fx->buyers, i))->rtp_packets) < 10)
      return FALSE;
  return TRUE;
}

int
main (int argc, char **argv)
{
  gint legs = 10, seconds = 10, bitrate = 600000, width = 240, height = 180, fps = 15;
  gboolean light = FALSE, through_webrtcbin = FALSE;
  GOptionEntry entries[] = {
    { "legs", 'n', 0, G_OPTION_ARG_INT, &legs, "buyer legs in the loaded phase (default 10)", "N" },
    { "seconds", 's', 0, G_OPTION_ARG_INT, &seconds, "measurement time per phase (default 10)", "S" },
    { "bitrate", 'b', 0, G_OPTION_ARG_INT, &bitrate, "seller VP8 target bit/s (default 600000)", "BPS" },
    { "width", 0, 0, G_OPTION_ARG_INT, &width, "seller video width (default 240)", "W" },
    { "height", 0, 0, G_OPTION_ARG_INT, &height, "seller video height (default 180)", "H" },
    { "fps", 0, 0, G_OPTION_ARG_INT, &fps, "seller frames per second (default 15)", "F" },
    { "light", 0, 0, G_OPTION_ARG_NONE, &light, "buyers drop SRTP unread at their ICE source", NULL },
    { "webrtcbin", 0, 0, G_OPTION_ARG_NONE, &through_webrtcbin, "every leg through its own webrtcbin "
      "(relay.direct_udp=false)", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("— relay fan-out load");
  g_autoptr (GError) error = NULL;
  RelayFixture fx;

  gst_init (&argc, &argv);
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || legs < 2 || seconds < 1)
    {
      g_printerr ("%s\n", error != NULL ? error->message : "need --legs >= 2 and --seconds >= 1");
      return 2;
    }
  KmgRelayConfig *config = kmg_relay_config_new ();
  config->max_legs_per_seller = (guint) legs;
  config->direct_udp = !through_webrtcbin;
  relay_fixture_init (&fx, config);
  fx.count_only = TRUE;
  fx.light_buyers = light;
  fx.track_latency = TRUE;
  /* ≈ 600 kb/s in ≈ 1,250-byte packets by default: vp8enc overshoots target-bitrate on snow,
   * so the picture size and frame rate set the real rate (printed below). */
  g_autofree char *video = g_strdup_printf ("pattern=snow ! video/x-raw,width=%d,height=%d,framerate=%d/1 "
                                            "! vp8enc deadline=1 target-bitrate=%d cpu-used=16 end-usage=cbr",
                                            width, height, fps, bitrate);
  fx.seller_video = video;

  relay_fixture_add_buyer (&fx, "buyer-0", FALSE);
  if (!relay_fixture_run_until (all_receiving, &fx, 20000))
    {
      g_printerr ("first buyer never received media\n");
      return 1;
    }
  Sample one = measure (&fx, (guint) seconds);

  for (gint i = 1; i < legs; i++)
    {
      g_autofree char *tag = g_strdup_printf ("buyer-%d", i);
      relay_fixture_add_buyer (&fx, tag, FALSE);
    }
  if (!relay_fixture_run_until (all_receiving, &fx, 60000))
    g_printerr ("warning: not every buyer received media\n");
  Sample many = measure (&fx, (guint) seconds);

  /* "due" = seller packets × legs (exact, counted at both ends by the fixture); the relay's own
   * forwarded count comes from per-second meter messages, so it is only exact to a second. Loss
   * is end to end (seller payloader → buyer webrtcbin output), relay queue drops included. */
  g_print ("phase      legs  cpu%%(process)  cpu%%(relay)  cpu%%(peers)  rss MB  due pkt/s  forwarded pkt/s  loss%%\n");
  const Sample *ph[2] = { &one, &many };
  for (guint i = 0; i < 2; i++)
    g_print ("%-9s  %4d  %13.1f  %11.1f  %11.1f  %6.1f  %9.0f  %15.0f  %5.2f\n", i == 0 ? "1 buyer" : "N buyers",
             i == 0 ? 1 : legs, ph[i]->cpu_pct, relay_pct (ph[i]), ph[i]->cls_pct[CLS_PEER] + ph[i]->cls_pct[CLS_RTCP] / 2,
             ph[i]->rss, ph[i]->sent / ph[i]->seconds, ph[i]->packets / ph[i]->seconds,
             ph[i]->sent > 0 ? MAX (0.0, 100.0 * (1.0 - (double) ph[i]->received / ph[i]->sent)) : 0.0);
  double added_pps = many.sent / many.seconds - one.sent / one.seconds;
  g_print ("per added leg, relay only: %.2f %% of a core, %.2f MB (process RSS, receivers included)\n",
           (relay_pct (&many) - relay_pct (&one)) / (legs - 1), (many.rss - one.rss) / (legs - 1));
  if (added_pps > 0)
    g_print ("relay CPU per added forwarded packet: %.1f us; at %d legs overall: %.1f us\n",
             (relay_pct (&many) - relay_pct (&one)) / 100.0 / added_pps * 1e6, legs,
             relay_pct (&many) / 100.0 / (many.sent / many.seconds) * 1e6);
  /* CPU of threads that ended during the window is only in the process total: bound it. */
  double upper = (many.cpu_pct - many.cls_pct[CLS_PEER] - many.cls_pct[CLS_RTCP] / 2) / 100.0;
  g_print ("upper bound (process minus live peer threads) at %d legs: %.1f us per forwarded packet\n", legs,
           upper / (many.sent / many.seconds) * 1e6);
  g_print ("seller packets/s into the relay: %.0f (~%.0f kb/s payload)\n", one.sent / one.seconds,
           8.0 * (double) one.bytes / one.seconds / 1000.0);
  print_relay_threads (&many);
  print_latency (&fx);
  g_hash_table_unref (one.relay_by_name);
  g_hash_table_unref (many.relay_by_name);
  relay_fixture_clear (&fx);
  return 0;
}
