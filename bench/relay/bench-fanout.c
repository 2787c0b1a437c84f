/* bench-fanout.c — the relay's UDP forwarding path (kmg-fanout) alone, at full scale: S sellers,
 * N buyer legs in all, each leg with its own SRTP session and its own sending socket (as an ICE
 * socket is), receivers on 127.0.0.1 in this process. Prints the fan-out's CPU per forwarded
 * packet (CPU time of the seller threads, which run it), the relay-added latency (seller packet
 * handed to the fan-out → kernel receive timestamp at the buyer's socket), loss and memory.
 *
 * What it leaves out: per-leg ICE keepalives and RTCP, which webrtcbin still handles (measured with
 * bench-relay-fanout). On loopback, sendto() also runs the receiving socket's kernel path, so the
 * per-packet CPU is higher than with a NIC. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/net_tstamp.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench-rss.h"
#include "kmg-fanout.h"

#define SEQ_SLOTS 4096
#define MAX_SELLERS 64

typedef struct
{
  KmgFanout *fanout;
  guint index;
  guint rate;
  guint burst; /* packets sent back to back, as a video frame's are */
  gsize size;
  gint64 sent_ns[SEQ_SLOTS]; /* CLOCK_REALTIME of each push, by seq */
  guint pushed;
  gint64 cpu_ns;
  GThread *thread;
} Seller;

typedef struct
{
  Seller *sellers;
  guint n_sellers;
  volatile gint running;
  volatile gint recording;
  gint64 stop_at_ns;
  GArray *delays_us; /* receiver thread only */
  GMutex done_lock;
  GArray *done_us; /* per push: frame handed over → last buyer's send returned */
  guint64 received; /* packets pushed while recording, received */
  gint64 receiver_cpu_ns;
} Bench;

static Bench bench;

static gint64
now_ns (clockid_t clock)
{
  struct timespec ts;
  clock_gettime (clock, &ts);
  return ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

static gpointer
seller_main (gpointer data)
{
  Seller *s = data;
  guint8 *rtp = g_malloc0 (s->size);
  guint32 ssrc = 0x10000000u + s->index;
  gint64 period = G_GINT64_CONSTANT (1000000000) * s->burst / s->rate;
  struct timespec next;
  gint64 frame_ns = 0;

  rtp[0] = 0x80;
  rtp[1] = 96;
  for (int i = 0; i < 4; i++)
    rtp[8 + i] = (guint8) (ssrc >> (24 - 8 * i));
  for (gsize i = 12; i < s->size; i++)
    rtp[i] = (guint8) g_random_int ();
  clock_gettime (CLOCK_MONOTONIC, &next);
  /* Sellers start out of phase, as independent cameras would. */
  gint64 offset = period * s->index / MAX (bench.n_sellers, 1);
  next.tv_nsec += offset;
  for (guint16 seq = 0; g_atomic_int_get (&bench.running); seq++)
    {
      if (seq % s->burst == 0) /* a new frame; the rest of it follows at once */
        {
          next.tv_nsec += period;
          while (next.tv_nsec >= 1000000000)
            {
              next.tv_nsec -= 1000000000;
              next.tv_sec++;
            }
          clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        }
      rtp[2] = seq >> 8;
      rtp[3] = seq & 0xff;
      guint32 ts = seq * 1500u;
      for (int i = 0; i < 4; i++)
        rtp[4 + i] = (guint8) (ts >> (24 - 8 * i));
      gboolean rec = g_atomic_int_get (&bench.recording);
      gint64 c0 = now_ns (CLOCK_THREAD_CPUTIME_ID);
      /* A frame's packets all arrive at once: each one's wait behind the others counts. */
      if (seq % s->burst == 0)
        frame_ns = now_ns (CLOCK_REALTIME);
      s->sent_ns[seq % SEQ_SLOTS] = rec ? frame_ns : 0;
      kmg_fanout_push (s->fanout, rtp, s->size, g_get_real_time () / G_USEC_PER_SEC);
      if (rec)
        {
          /* Until the last buyer's send returned: what the relay adds, without any receiver. */
          gint64 done_us = (now_ns (CLOCK_REALTIME) - frame_ns) / 1000;
          g_mutex_lock (&bench.done_lock);
          g_array_append_val (bench.done_us, done_us);
          g_mutex_unlock (&bench.done_lock);
          s->cpu_ns += now_ns (CLOCK_THREAD_CPUTIME_ID) - c0;
          s->pushed++;
        }
    }
  g_free (rtp);
  return NULL;
}

static void
handle_packets (int fd)
{
  enum { BATCH = 32 };
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  guint8 bufs[BATCH][64]; /* the RTP header is enough (MSG_TRUNC) */
  char ctrl[BATCH][CMSG_SPACE (sizeof (struct timespec))];

  for (;;)
    {
      for (int i = 0; i < BATCH; i++)
        {
          iov[i].iov_base = bufs[i];
          iov[i].iov_len = sizeof bufs[i];
          memset (&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
          msgs[i].msg_hdr.msg_iov = &iov[i];
          msgs[i].msg_hdr.msg_iovlen = 1;
          msgs[i].msg_hdr.msg_control = ctrl[i];
          msgs[i].msg_hdr.msg_controllen = sizeof ctrl[i];
        }
      int n = recvmmsg (fd, msgs, BATCH, MSG_DONTWAIT, NULL);
      if (n <= 0)
        return;
      for (int i = 0; i < n; i++)
        {
          const guint8 *p = bufs[i];
          if (msgs[i].msg_len < 12 || p[1] >= 192)
            continue; /* SRTCP sender reports */
          guint32 ssrc = (guint32) p[8] << 24 | (guint32) p[9] << 16 | (guint32) p[10] << 8 | p[11];
          guint seller = ssrc - 0x10000000u;
          guint16 seq = (guint16) (p[2] << 8 | p[3]);
          struct cmsghdr *c = CMSG_FIRSTHDR (&msgs[i].msg_hdr);
          if (seller >= bench.n_sellers || c == NULL || c->cmsg_type != SO_TIMESTAMPNS)
            continue;
          struct timespec ts;
          memcpy (&ts, CMSG_DATA (c), sizeof ts);
          gint64 sent = bench.sellers[seller].sent_ns[seq % SEQ_SLOTS];
          gint64 arrived = ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
          if (sent > 0)
            bench.received++; /* pushed while recording */
          if (sent > 0 && arrived >= sent)
            {
              gint64 us = (arrived - sent) / 1000;
              g_array_append_val (bench.delays_us, us);
            }
        }
    }
}

static gpointer
receiver_main (gpointer data)
{
  int ep = GPOINTER_TO_INT (data);
  struct epoll_event events[256];

  gboolean was_recording = FALSE;
  gint64 cpu0 = 0;

  /* The receivers stand in for buyers on other machines: they yield the CPU to the relay. */
  setpriority (PRIO_PROCESS, (id_t) gettid (), 10);

  while (g_atomic_int_get (&bench.running))
    {
      int n = epoll_wait (ep, events, G_N_ELEMENTS (events), 20);
      for (int i = 0; i < n; i++)
        handle_packets (events[i].data.fd);
      /* This thread's CPU while recording, to take out of the process's. */
      gboolean rec = g_atomic_int_get (&bench.recording);
      if (rec && !was_recording)
        cpu0 = now_ns (CLOCK_THREAD_CPUTIME_ID);
      else if (!rec && was_recording)
        bench.receiver_cpu_ns = now_ns (CLOCK_THREAD_CPUTIME_ID) - cpu0;
      was_recording = rec;
    }
  return NULL;
}

static GSocket *
udp_socket (void)
{
  g_autoptr (GError) error = NULL;
  GSocket *s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  if (s == NULL)
    g_error ("socket: %s", error->message);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  if (!g_socket_bind (s, any, FALSE, &error))
    g_error ("bind: %s", error->message);
  return s;
}

static int
cmp_i64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  gint legs = 1000, sellers = 10, seconds = 10, rate = 64, size = 1200, burst = 1;
  char *sink_arg = NULL;
  GOptionEntry entries[] = {
    { "legs", 'n', 0, G_OPTION_ARG_INT, &legs, "buyer legs in all (default 1000)", "N" },
    { "sellers", 0, 0, G_OPTION_ARG_INT, &sellers, "sellers, legs spread evenly (default 10)", "S" },
    { "seconds", 's', 0, G_OPTION_ARG_INT, &seconds, "measurement time (default 10)", "T" },
    { "rate", 0, 0, G_OPTION_ARG_INT, &rate, "packets/s per seller (default 64: 600 kb/s)", "P" },
    { "size", 0, 0, G_OPTION_ARG_INT, &size, "RTP packet bytes (default 1200)", "B" },
    { "burst", 0, 0, G_OPTION_ARG_INT, &burst, "packets per frame, sent back to back (default 1)", "K" },
    { "sink", 0, 0, G_OPTION_ARG_STRING, &sink_arg, "send to ADDR (e.g. behind a dummy interface) instead of "
      "to receivers on 127.0.0.1: CPU figures only", "ADDR" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("— relay fan-out data path load");
  g_autoptr (GError) error = NULL;

  g_autoptr (GInetAddress) sink = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || legs < 1 || sellers < 1 || sellers > MAX_SELLERS
      || legs < sellers || rate < 1 || burst < 1 || burst > rate || size < 64 || size > 1400 || seconds < 1)
    {
      g_printerr ("%s\n", error != NULL ? error->message : "bad arguments");
      return 2;
    }
  if (sink_arg != NULL && (sink = g_inet_address_new_from_string (sink_arg)) == NULL)
    {
      g_printerr ("--sink: not an IP address: %s\n", sink_arg);
      return 2;
    }
  struct rlimit nofile;
  getrlimit (RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  setrlimit (RLIMIT_NOFILE, &nofile);
  if ((rlim_t) legs * 2 + 100 > nofile.rlim_cur)
    {
      g_printerr ("%d legs need %d file descriptors, the limit is %lu\n", legs, legs * 2 + 100,
                  (unsigned long) nofile.rlim_cur);
      return 2;
    }

  bench.sellers = g_new0 (Seller, sellers);
  bench.n_sellers = (guint) sellers;
  bench.delays_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  bench.done_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_mutex_init (&bench.done_lock);
  double rss0 = bench_rss_mib ();
  for (int i = 0; i < sellers; i++)
    {
      bench.sellers[i].fanout = kmg_fanout_new (1024, 90000);
      bench.sellers[i].index = (guint) i;
      bench.sellers[i].rate = (guint) rate;
      bench.sellers[i].size = (gsize) size;
      bench.sellers[i].burst = (guint) burst;
    }
  int ep = epoll_create1 (0);
  GPtrArray *sockets = g_ptr_array_new_with_free_func (g_object_unref);
  for (int i = 0; i < legs; i++)
    {
      GSocket *send = udp_socket (), *recv = NULL;
      g_autoptr (GSocketAddress) dest = NULL;
      if (sink != NULL)
        dest = g_inet_socket_address_new (sink, (guint16) (20000 + i));
      else
        {
          int on = 1, buf = 256 * 1024;
          recv = udp_socket ();
          setsockopt (g_socket_get_fd (recv), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
          setsockopt (g_socket_get_fd (recv), SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
          dest = g_socket_get_local_address (recv, NULL);
        }
      KmgSrtpParams params = { .profile = KMG_SRTP_AES128_CM_SHA1_80, .key_len = 30 };
      for (int k = 0; k < 30; k++)
        params.key[k] = (guint8) g_random_int ();
      if (kmg_fanout_add_target (bench.sellers[i % sellers].fanout, &params, send, dest, NULL, NULL, &error) == NULL)
        g_error ("target: %s", error->message);
      g_ptr_array_add (sockets, send);
      if (recv != NULL)
        {
          struct epoll_event ev = { .events = EPOLLIN, .data.fd = g_socket_get_fd (recv) };
          epoll_ctl (ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
          g_ptr_array_add (sockets, recv);
        }
    }
  double rss_legs = bench_rss_mib () - rss0;

  g_atomic_int_set (&bench.running, 1);
  GThread *receiver = g_thread_new ("receiver", receiver_main, GINT_TO_POINTER (ep));
  for (int i = 0; i < sellers; i++)
    bench.sellers[i].thread = g_thread_new ("seller", seller_main, &bench.sellers[i]);
  g_usleep (2 * G_USEC_PER_SEC); /* warm-up */
  struct rusage ru0, ru1;
  getrusage (RUSAGE_SELF, &ru0);
  gint64 t0 = g_get_monotonic_time ();
  g_atomic_int_set (&bench.recording, 1);
  g_usleep ((gulong) seconds * G_USEC_PER_SEC);
  g_atomic_int_set (&bench.recording, 0);
  double elapsed = (g_get_monotonic_time () - t0) / 1e6;
  getrusage (RUSAGE_SELF, &ru1);
  g_usleep (200 * 1000); /* the last packets land, the receiver notes its CPU */
  guint64 received = bench.received;
  g_atomic_int_set (&bench.running, 0);
  for (int i = 0; i < sellers; i++)
    g_thread_join (bench.sellers[i].thread);
  g_thread_join (receiver);

  guint64 pushed = 0, due = 0;
  gint64 cpu_ns = 0;
  for (int i = 0; i < sellers; i++)
    {
      Seller *s = &bench.sellers[i];
      pushed += s->pushed;
      due += (guint64) s->pushed * kmg_fanout_get_n_targets (s->fanout);
      cpu_ns += s->cpu_ns;
    }
  double process_cpu = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec)
                       + (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
  g_array_sort (bench.delays_us, cmp_i64);
  GArray *d = bench.delays_us;
  g_print ("legs %d, sellers %d, %d packets/s of %d bytes per seller in bursts of %d (%.0f kb/s per leg), %d s\n", legs,
           sellers, rate, size, burst, rate * size * 8 / 1000.0, seconds);
  /* The fan-out runs on the seller threads and its helpers: everything but the receiver. */
  double relay_cpu = process_cpu - bench.receiver_cpu_ns / 1e9;
  g_print ("forwarded %.0f packets/s; fan-out CPU %.1f %% of a core = %.2f us per forwarded packet "
           "(process %.1f %%, receiver thread %.1f %%; pushing threads alone %.2f us)\n",
           due / elapsed, 100.0 * relay_cpu / elapsed, due > 0 ? relay_cpu * 1e6 / due : 0.0, 100.0 * process_cpu / elapsed,
           100.0 * bench.receiver_cpu_ns / 1e9 / elapsed, due > 0 ? cpu_ns / 1e3 / due : 0.0);
  GArray *dn = bench.done_us;
  g_array_sort (dn, cmp_i64);
  if (dn->len > 0)
    g_print ("relay-added latency to the last buyer's send (%u packets): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
             dn->len, g_array_index (dn, gint64, dn->len / 2) / 1e3, g_array_index (dn, gint64, dn->len * 99 / 100) / 1e3,
             g_array_index (dn, gint64, dn->len - 1) / 1e3);
  if (d->len > 0)
    g_print ("relay-added latency (handed to the fan-out -> in the buyer socket, %u packets): p50 %.2f ms, "
             "p99 %.2f ms, max %.2f ms\n",
             d->len, g_array_index (d, gint64, d->len / 2) / 1e3, g_array_index (d, gint64, d->len * 99 / 100) / 1e3,
             g_array_index (d, gint64, d->len - 1) / 1e3);
  if (sink != NULL)
    g_print ("sent to %s: no receivers, so no latency or loss", sink_arg);
  else
    g_print ("loss %.3f %% (%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " received)",
             due > 0 ? MAX (0.0, 100.0 * (1.0 - (double) received / due)) : 0.0, received, due);
  g_print ("; fan-out memory %.1f MB for %d legs and %d sellers (%.1f KB per leg)\n", rss_legs, legs, sellers,
           rss_legs * 1024 / legs);
  g_free (sink_arg);
  for (int i = 0; i < sellers; i++)
    kmg_fanout_free (bench.sellers[i].fanout);
  g_ptr_array_unref (sockets);
  close (ep);
  return pushed > 0 ? 0 : 1;
}
