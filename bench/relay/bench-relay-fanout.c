/* bench-relay-fanout.c — one seller, N relayed buyer legs on loopback, all in this process:
 * prints CPU and RSS per added leg and forwarded packets/s. Buyers only count RTP. */
#include <sys/resource.h>

#include "relay-fixture.h"

static double
cpu_seconds (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double
rss_mb (void)
{
  g_autofree char *status = NULL;
  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0;
  const char *line = strstr (status, "VmRSS:");
  return line != NULL ? g_ascii_strtod (line + 6, NULL) / 1024.0 : 0;
}

typedef struct
{
  double cpu_pct, rss;
  guint64 packets;
  double seconds;
} Sample;

static Sample
measure (RelayFixture *fx, guint seconds)
{
  KmgRelayStats before, after;
  Sample s;

  kmg_relay_get_stats (fx->relay, &before);
  double c0 = cpu_seconds ();
  gint64 t0 = g_get_monotonic_time ();
  relay_fixture_run_for (seconds * 1000);
  s.seconds = (g_get_monotonic_time () - t0) / 1e6;
  s.cpu_pct = 100.0 * (cpu_seconds () - c0) / s.seconds;
  s.rss = rss_mb ();
  kmg_relay_get_stats (fx->relay, &after);
  s.packets = after.packets - before.packets;
  return s;
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
  gint legs = 10, seconds = 10;
  GOptionEntry entries[] = {
    { "legs", 'n', 0, G_OPTION_ARG_INT, &legs, "buyer legs in the loaded phase (default 10)", "N" },
    { "seconds", 's', 0, G_OPTION_ARG_INT, &seconds, "measurement time per phase (default 10)", "S" },
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
  relay_fixture_init (&fx, config);
  fx.count_only = TRUE;
  /* ≈ 1 Mb/s of VP8, closer to a phone stream than the tests' tiny video. */
  fx.seller_video = "pattern=snow ! video/x-raw,width=320,height=240,framerate=30/1 ! vp8enc deadline=1 target-bitrate=1000000 "
                    "cpu-used=8 end-usage=cbr";

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

  g_print ("phase      legs  cpu%%(process)  rss MB  forwarded pkt/s\n");
  g_print ("1 buyer    %4d  %13.1f  %6.1f  %15.0f\n", 1, one.cpu_pct, one.rss, one.packets / one.seconds);
  g_print ("N buyers   %4d  %13.1f  %6.1f  %15.0f\n", legs, many.cpu_pct, many.rss, many.packets / many.seconds);
  g_print ("per added leg (relay leg + its receiving webrtcbin): %.2f %% of a core, %.2f MB\n",
           (many.cpu_pct - one.cpu_pct) / (legs - 1), (many.rss - one.rss) / (legs - 1));
  g_print ("seller packets/s into the relay: %.0f\n", one.packets / one.seconds);
  relay_fixture_clear (&fx);
  return 0;
}
