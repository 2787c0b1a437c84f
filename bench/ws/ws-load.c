/* ws-load.c — WebSocket load generator for ws-bench-server: raw non-blocking sockets, minimal client
 * framing. Modes: idle (N connections answering pings, occasional messages; server RSS and CPU)
 * and fanout (N map subscribers, one change, time until the last subscriber has its diff).
 * Mode soak drives a real kamegord instead: clients with real tokens that stay in the foreground,
 * send locations at the allowed pace (sellers live and moving), subscribe to map viewports and
 * re-subscribe now and then, and count every error reply and unexpected close. */

#include <glib.h>
#include <glib-unix.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define BUF_SIZE 16384

typedef struct
{
  int fd;
  guint id;
  gsize len;
  guint8 *buf;
  gint64 diff_round; /* last round in which a map.diff arrived */
  gboolean got_snapshot;
  int close_code; /* of the server's close frame, 0 if none */
} Conn;

/* Ask for permessage-deflate in the handshake, as browsers do; the server accepts it or not. */
static gboolean ask_deflate, server_deflate;

/* Soak: real bearer tokens, one per connection (else connection i uses "u<i+1>"). */
static char **soak_tokens;

static gint64
now_us (void)
{
  return g_get_monotonic_time ();
}

static void
write_all (int fd, const void *data, gsize len)
{
  const guint8 *p = data;

  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        {
          g_usleep (100);
          continue;
        }
      if (n <= 0)
        return;
      p += n;
      len -= (gsize) n;
    }
}

/* Client frames must be masked (RFC 6455 §5.3); a fixed key is fine for load. */
static void
send_frame (int fd, int opcode, const void *payload, gsize len)
{
  static const guint8 key[4] = { 0x12, 0x34, 0x56, 0x78 };
  guint8 hdr[14];
  gsize h = 0;
  g_autofree guint8 *masked = g_malloc (len + 1);

  hdr[h++] = (guint8) (0x80 | opcode);
  if (len < 126)
    hdr[h++] = (guint8) (0x80 | len);
  else
    {
      hdr[h++] = 0x80 | 126;
      hdr[h++] = (guint8) (len >> 8);
      hdr[h++] = (guint8) len;
    }
  memcpy (hdr + h, key, 4);
  h += 4;
  for (gsize i = 0; i < len; i++)
    masked[i] = ((const guint8 *) payload)[i] ^ key[i % 4];
  write_all (fd, hdr, h);
  write_all (fd, masked, len);
}

static void
send_text (int fd, const char *text)
{
  send_frame (fd, 0x1, text, strlen (text));
}

/* Blocking connect and upgrade request; ws_open_finish() reads the 101. Split so a batch of
 * handshakes is in flight at once (the server then handles several per main-loop pass). */
static gboolean
ws_open_start (Conn *c, int port, const char *token)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((guint16) port) };
  g_autofree char *req = NULL;
  int one = 1;

  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  c->fd = socket (AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0 || connect (c->fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    return FALSE;
  setsockopt (c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  req = g_strdup_printf ("GET /api/v1/ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                         "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: kamegor.v1, bearer.%s\r\n%s\r\n",
                         port, token,
                         ask_deflate ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" : "");
  write_all (c->fd, req, strlen (req));
  return TRUE;
}

/* Leftover bytes after the 101 stay in c->buf. */
static gboolean
ws_open_finish (Conn *c)
{
  char *end;

  c->buf = g_malloc (BUF_SIZE);
  c->len = 0;
  while ((end = g_strstr_len ((char *) c->buf, (gssize) c->len, "\r\n\r\n")) == NULL)
    {
      ssize_t n = read (c->fd, c->buf + c->len, BUF_SIZE - 1 - c->len);
      if (n <= 0)
        return FALSE;
      c->len += (gsize) n;
    }
  if (strncmp ((char *) c->buf, "HTTP/1.1 101", 12) != 0)
    return FALSE;
  end += 4;
  c->len -= (gsize) (end - (char *) c->buf);
  memmove (c->buf, end, c->len);
  return TRUE;
}

/* The listener's accept backlog is small (GSocket default 10): keep batches below it. */
#define OPEN_BATCH 8

/* Opens conns[first..first+count) with tokens "u<id+1>"; returns how many opened. */
static guint
ws_open_many (Conn *conns, guint first, guint count, int port, void (*between) (gpointer), gpointer data)
{
  guint opened = 0;

  for (guint b = 0; b < count; b += OPEN_BATCH)
    {
      guint end = MIN (count, b + OPEN_BATCH);
      for (guint i = b; i < end; i++)
        {
          g_autofree char *token = soak_tokens != NULL ? g_strdup (soak_tokens[first + i])
                                                        : g_strdup_printf ("u%u", first + i + 1);
          conns[i].id = first + i;
          if (!ws_open_start (&conns[i], port, token))
            return opened;
        }
      for (guint i = b; i < end; i++)
        {
          if (!ws_open_finish (&conns[i]))
            return opened;
          opened++;
        }
      if (between != NULL)
        between (data);
    }
  return opened;
}

typedef void (*TextFunc) (Conn *c, const char *text, gsize len, gpointer data);

/* Reads what is there and handles complete frames: pings are answered, texts go to @on_text. */
static gboolean
ws_pump (Conn *c, TextFunc on_text, gpointer data)
{
  for (;;)
    {
      ssize_t n = read (c->fd, c->buf + c->len, BUF_SIZE - c->len);
      if (n == 0)
        return FALSE;
      if (n < 0)
        break;
      c->len += (gsize) n;
      if (c->len == BUF_SIZE)
        break;
    }
  for (;;)
    {
      gsize need = 2, plen;
      int opcode;

      if (c->len < 2)
        break;
      opcode = c->buf[0] & 0x0f;
      plen = c->buf[1] & 0x7f;
      if (plen == 126)
        {
          need = 4;
          if (c->len < need)
            break;
          plen = ((gsize) c->buf[2] << 8) | c->buf[3];
        }
      else if (plen == 127)
        return FALSE; /* nothing this big is expected */
      if (need + plen > BUF_SIZE)
        return FALSE;
      if (c->len < need + plen)
        break;
      if (opcode == 0x9)
        send_frame (c->fd, 0xA, c->buf + need, plen);
      else if (opcode == 0x1 && on_text != NULL)
        on_text (c, (const char *) c->buf + need, plen, data);
      else if (opcode == 0x8)
        {
          c->close_code = plen >= 2 ? (c->buf[need] << 8) | c->buf[need + 1] : 1005;
          return FALSE;
        }
      memmove (c->buf, c->buf + need + plen, c->len - need - plen);
      c->len -= need + plen;
    }
  return TRUE;
}

static void
set_nonblocking (int fd)
{
  g_unix_set_fd_nonblocking (fd, TRUE, NULL);
}

/* ---- server process ---- */

/* Server ws.threads, passed to every spawned server. */
static int server_threads;

static GPid
spawn_server (const char *path, int flush_ms, int ping_s, int *port)
{
  g_autofree char *flush = g_strdup_printf ("--flush-ms=%d", flush_ms);
  g_autofree char *ping = g_strdup_printf ("--ping-s=%d", ping_s);
  g_autofree char *threads = g_strdup_printf ("--threads=%d", server_threads);
  char *argv[] = { (char *) path, flush, ping, threads, server_deflate ? (char *) "--deflate" : NULL, NULL };
  g_autoptr (GError) error = NULL;
  GPid pid;
  int out;
  char line[64] = { 0 };
  gsize used = 0;

  if (!g_spawn_async_with_pipes (NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, NULL, &out, NULL,
                                 &error))
    g_error ("spawn %s: %s", path, error->message);
  while (used < sizeof line - 1 && read (out, line + used, 1) == 1 && line[used] != '\n')
    used++;
  if (sscanf (line, "PORT %d", port) != 1)
    g_error ("server did not report its port");
  return pid;
}

static double
proc_rss_mib (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *text = NULL;
  const char *p;

  if (!g_file_get_contents (path, &text, NULL, NULL) || (p = strstr (text, "VmRSS:")) == NULL)
    return 0;
  return g_ascii_strtod (p + 6, NULL) / 1024.0;
}

static double
proc_cpu_s (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *text = NULL;
  unsigned long ut = 0, st = 0;
  char *p;

  if (!g_file_get_contents (path, &text, NULL, NULL) || (p = strrchr (text, ')')) == NULL)
    return 0;
  /* Fields after the command: state(3) ... utime(14) stime(15). */
  if (sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
    return 0;
  return (double) (ut + st) / (double) sysconf (_SC_CLK_TCK);
}

static int
cmp_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
percentile (GArray *values, double p)
{
  guint i;

  if (values->len == 0)
    return 0;
  g_array_sort (values, cmp_double);
  i = (guint) MIN ((double) values->len - 1, p / 100.0 * (double) values->len);
  return g_array_index (values, double, i);
}

/* ---- idle mode: many connections, pings and occasional messages ---- */

static void
idle_worker (int port, guint first, guint count, int ready_fd, int interval_s)
{
  Conn *conns = g_new0 (Conn, count);
  int ep = epoll_create1 (0);
  guint opened = 0, tick = 0, period = (guint) MAX (1, interval_s * 10);
  struct epoll_event events[256];

  opened = ws_open_many (conns, first, count, port, NULL, NULL);
  for (guint i = 0; i < opened; i++)
    {
      struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &conns[i] };
      set_nonblocking (conns[i].fd);
      epoll_ctl (ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    }
  write_all (ready_fd, &opened, sizeof opened);
  for (;;)
    {
      int n = epoll_wait (ep, events, G_N_ELEMENTS (events), 100);
      for (int e = 0; e < n; e++)
        {
          Conn *c = events[e].data.ptr;
          if (!ws_pump (c, NULL, NULL))
            {
              epoll_ctl (ep, EPOLL_CTL_DEL, c->fd, NULL);
              close (c->fd);
            }
        }
      /* Every connection sends one small message per interval, spread evenly over it. */
      tick++;
      for (guint i = tick % period; i < opened; i += period)
        send_text (conns[i].fd, "{\"type\":\"app_state\",\"foreground\":true}");
    }
}

static int
run_idle (const char *server, int n, int procs, int duration_s, int interval_s, int ping_s)
{
  int port = 0;
  GPid spid = spawn_server (server, 200, ping_s, &port);
  double rss0, rss1, rss2, cpu0, cpu1, setup_s;
  g_autofree pid_t *kids = g_new0 (pid_t, procs);
  int pipes[2];
  guint opened = 0;
  gint64 t0;

  g_usleep (200000);
  rss0 = proc_rss_mib (spid);
  if (pipe (pipes) < 0)
    return 1;
  t0 = now_us ();
  for (int p = 0; p < procs; p++)
    {
      guint share = (guint) (n / procs + (p < n % procs ? 1 : 0));
      guint first = (guint) (p * (n / procs) + MIN (p, n % procs));

      kids[p] = fork ();
      if (kids[p] == 0)
        {
          close (pipes[0]);
          idle_worker (port, first, share, pipes[1], interval_s);
          _exit (0);
        }
    }
  close (pipes[1]);
  for (int p = 0; p < procs; p++)
    {
      guint got = 0;
      if (read (pipes[0], &got, sizeof got) == sizeof got)
        opened += got;
    }
  setup_s = (double) (now_us () - t0) / 1e6;
  g_usleep (1000000);
  rss1 = proc_rss_mib (spid);
  cpu0 = proc_cpu_s (spid);
  g_usleep ((gulong) duration_s * 1000000);
  cpu1 = proc_cpu_s (spid);
  rss2 = proc_rss_mib (spid);

  printf ("connections      %u of %d (%d client processes, server ws.threads = %d), set up in %.1f s\n", opened,
          n, procs, server_threads, setup_s);
  printf ("server RSS       %.1f MiB idle -> %.1f MiB connected (%.1f MiB after %d s)\n", rss0, rss1, rss2,
          duration_s);
  printf ("RSS/connection   %.1f KiB\n", opened > 0 ? (rss2 - rss0) * 1024.0 / opened : 0.0);
  printf ("server CPU       %.1f %% of one core over %d s (ping every %d s, one message per connection every %d s"
          " = %.0f msg/s)\n",
          100.0 * (cpu1 - cpu0) / duration_s, duration_s, ping_s, interval_s, (double) opened / interval_s);

  for (int p = 0; p < procs; p++)
    {
      kill (kids[p], SIGTERM);
      waitpid (kids[p], NULL, 0);
    }
  kill (spid, SIGTERM);
  waitpid (spid, NULL, 0);
  return opened == (guint) n ? 0 : 1;
}

/* ---- fanout mode: N subscribers, one change, time to the last diff ---- */

typedef struct
{
  guint snapshots;
  guint received;
  guint lost;
  gint64 round;
  gint64 t0;
  gint64 last;
  GArray *each; /* ms */
} Fanout;

static void
fanout_text (Conn *c, const char *text, gsize len, gpointer data)
{
  Fanout *f = data;

  if (g_strstr_len (text, (gssize) MIN (len, 40), "map.snapshot") != NULL)
    f->snapshots++;
  else if (g_strstr_len (text, (gssize) MIN (len, 40), "map.diff") != NULL && c->diff_round != f->round)
    {
      double ms;
      c->diff_round = f->round;
      f->received++;
      f->last = now_us ();
      ms = (double) (f->last - f->t0) / 1000.0;
      g_array_append_val (f->each, ms);
    }
}

static void
pump_until (int ep, Fanout *f, guint *counter, guint target, gint64 timeout_us)
{
  struct epoll_event events[512];
  gint64 deadline = now_us () + timeout_us;

  do
    {
      int n = epoll_wait (ep, events, G_N_ELEMENTS (events), timeout_us > 0 ? 50 : 0);
      for (int e = 0; e < n; e++)
        {
          Conn *c = events[e].data.ptr;
          if (!ws_pump (c, fanout_text, f))
            {
              f->lost++;
              epoll_ctl (ep, EPOLL_CTL_DEL, c->fd, NULL);
            }
        }
    }
  while (*counter < target && now_us () < deadline);
}

typedef struct
{
  Conn *conns;
  int ep;
  Fanout *f;
  guint done; /* connections registered and subscribed so far */
  int n;
  gboolean distinct;
} FanoutSetup;

/* After each batch: register the new connections, subscribe them, answer pending pings. */
static void
fanout_between (gpointer data)
{
  FanoutSetup *s = data;

  for (; s->done <= (guint) s->n && s->conns[s->done].buf != NULL; s->done++)
    {
      Conn *c = &s->conns[s->done];
      struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
      /* Distinct viewports defeat the per-flush query cache: every subscriber costs one map query. */
      g_autofree char *sub = g_strdup_printf ("{\"type\":\"map.subscribe\",\"bbox\":{\"south\":%.6f,\"west\":2.0,"
                                              "\"north\":49.5,\"east\":3.0},\"zoom\":12}",
                                              s->distinct ? 48.0 + s->done * 1e-6 : 48.0);

      set_nonblocking (c->fd);
      epoll_ctl (s->ep, EPOLL_CTL_ADD, c->fd, &ev);
      if (s->done < (guint) s->n)
        send_text (c->fd, sub);
    }
  pump_until (s->ep, s->f, &s->f->snapshots, (guint) s->n, 0);
}

static int
run_fanout (const char *server, int n, int rounds, int flush_ms, gboolean distinct)
{
  int port = 0;
  GPid spid = spawn_server (server, flush_ms, 10, &port);
  Conn *conns = g_new0 (Conn, n + 1);
  Conn *trigger = &conns[n];
  int ep = epoll_create1 (0);
  Fanout f = { .each = g_array_new (FALSE, FALSE, sizeof (double)) };
  g_autoptr (GArray) lasts = g_array_new (FALSE, FALSE, sizeof (double));
  double cpu0, cpu1, rss0;
  guint complete = 0;

  gint64 t_setup;

  g_usleep (200000);
  rss0 = proc_rss_mib (spid);
  t_setup = now_us ();
  {
    FanoutSetup setup = { conns, ep, &f, 0, n, distinct };
    if (ws_open_many (conns, 0, (guint) n + 1, port, fanout_between, &setup) != (guint) n + 1)
      g_error ("could not open %d connections", n + 1);
    fanout_between (&setup);
  }
  pump_until (ep, &f, &f.snapshots, (guint) n, 60 * G_USEC_PER_SEC);
  printf ("subscribers      %u of %d subscribed (%s viewports) in %.1f s, server RSS %.1f -> %.1f MiB\n",
          f.snapshots, n, distinct ? "distinct" : "identical", (double) (now_us () - t_setup) / 1e6, rss0,
          proc_rss_mib (spid));

  cpu0 = proc_cpu_s (spid);
  for (int r = 1; r <= rounds; r++)
    {
      f.round = r;
      f.received = 0;
      f.t0 = now_us ();
      send_text (trigger->fd, "{\"type\":\"bench.move\"}");
      pump_until (ep, &f, &f.received, (guint) n, 10 * G_USEC_PER_SEC);
      if (f.received == (guint) n)
        {
          double ms = (double) (f.last - f.t0) / 1000.0;
          g_array_append_val (lasts, ms);
          complete++;
        }
      g_usleep (100000);
    }
  cpu1 = proc_cpu_s (spid);

  if (f.lost > 0)
    printf ("lost             %u connections closed by the server\n", f.lost);
  printf ("rounds           %u of %d delivered to every subscriber (map.flush_ms = %d, ws.threads = %d)\n",
          complete, rounds, flush_ms, server_threads);
  printf ("last delivery    p50 %.1f ms  p99 %.1f ms  (change -> last subscriber has its diff)\n",
          percentile (lasts, 50), percentile (lasts, 99));
  printf ("each delivery    p50 %.1f ms  p99 %.1f ms\n", percentile (f.each, 50), percentile (f.each, 99));
  printf ("server CPU       %.1f ms per change\n", 1000.0 * (cpu1 - cpu0) / rounds);

  kill (spid, SIGTERM);
  waitpid (spid, NULL, 0);
  g_array_unref (f.each);
  return complete == (guint) rounds ? 0 : 1;
}

/* ---- soak mode: kamegord clients that move and subscribe until stopped ---- */

/* Sellers and viewports lie in one square degree around Paris. */
#define REGION_SOUTH 48.4
#define REGION_WEST 1.9
#define REGION_SIZE 1.0

typedef struct
{
  gboolean seller;
  double lat, lon;
  gint64 next_location, next_foreground, next_subscribe;
  gboolean closed;
} SoakClient;

typedef struct
{
  SoakClient *clients;
  guint opened, failed_opens, closed;
  guint64 sent, received, acks, snapshots, diffs, presences, errors;
  GHashTable *error_codes; /* code -> count */
  GHashTable *close_codes; /* "1001" -> count */
  guint printed_errors;
} Soak;

static volatile sig_atomic_t soak_stop;

static void
on_soak_signal (int sig)
{
  (void) sig;
  soak_stop = 1;
}

static void
soak_send (Soak *s, Conn *c, const char *text)
{
  send_text (c->fd, text);
  s->sent++;
}

static void
count_code (GHashTable *table, const char *code)
{
  gpointer old = g_hash_table_lookup (table, code);
  g_hash_table_insert (table, g_strdup (code), GUINT_TO_POINTER (GPOINTER_TO_UINT (old) + 1));
}

/* The server writes "type" first: {"type":"ack",...}. */
static void
soak_text (Conn *c, const char *text, gsize len, gpointer data)
{
  Soak *s = data;
  const char *head = "{\"type\":\"";
  gsize hl = strlen (head);
  g_autofree char *type = NULL;
  const char *end;

  s->received++;
  if (len <= hl || strncmp (text, head, hl) != 0 || (end = memchr (text + hl, '"', len - hl)) == NULL)
    {
      s->errors++;
      count_code (s->error_codes, "unparsed_reply");
      return;
    }
  type = g_strndup (text + hl, (gsize) (end - text - (gssize) hl));
  if (g_str_equal (type, "ack"))
    s->acks++;
  else if (g_str_equal (type, "map.snapshot"))
    s->snapshots++;
  else if (g_str_equal (type, "map.diff"))
    s->diffs++;
  else if (g_str_equal (type, "presence"))
    s->presences++;
  else if (g_str_equal (type, "error"))
    {
      const char *code = g_strstr_len (text, (gssize) len, "\"code\":\"");
      g_autofree char *name = NULL;
      if (code != NULL && (end = memchr (code + 8, '"', len - (gsize) (code + 8 - text))) != NULL)
        name = g_strndup (code + 8, (gsize) (end - code - 8));
      s->errors++;
      count_code (s->error_codes, name != NULL ? name : "?");
      if (s->printed_errors++ < 20)
        g_printerr ("client %u: %.*s\n", c->id, (int) MIN (len, 300), text);
    }
}

static void
soak_location (Soak *s, Conn *c, SoakClient *k)
{
  char msg[160], lat[G_ASCII_DTOSTR_BUF_SIZE], lon[G_ASCII_DTOSTR_BUF_SIZE];

  if (k->seller)
    {
      /* About 50 m per step, so the 4-decimal position shown for a live seller changes. */
      k->lat += g_random_double_range (-0.0005, 0.0005);
      k->lon += g_random_double_range (-0.0007, 0.0007);
      k->lat = CLAMP (k->lat, REGION_SOUTH, REGION_SOUTH + REGION_SIZE);
      k->lon = CLAMP (k->lon, REGION_WEST, REGION_WEST + REGION_SIZE);
    }
  g_snprintf (msg, sizeof msg, "{\"type\":\"location\",\"ref\":\"l\",\"lat\":%s,\"lon\":%s,\"accuracy\":15}",
              g_ascii_formatd (lat, sizeof lat, "%.6f", k->lat), g_ascii_formatd (lon, sizeof lon, "%.6f", k->lon));
  soak_send (s, c, msg);
}

/* A viewport of about 5 x 7 km somewhere in the region. */
static void
soak_subscribe (Soak *s, Conn *c)
{
  char msg[200], b[4][G_ASCII_DTOSTR_BUF_SIZE];
  double h = 0.045, w = 0.07;
  double south = g_random_double_range (REGION_SOUTH, REGION_SOUTH + REGION_SIZE - h);
  double west = g_random_double_range (REGION_WEST, REGION_WEST + REGION_SIZE - w);

  g_snprintf (msg, sizeof msg,
              "{\"type\":\"map.subscribe\",\"ref\":\"m\",\"bbox\":{\"south\":%s,\"west\":%s,\"north\":%s,"
              "\"east\":%s},\"zoom\":13}",
              g_ascii_formatd (b[0], sizeof b[0], "%.5f", south), g_ascii_formatd (b[1], sizeof b[1], "%.5f", west),
              g_ascii_formatd (b[2], sizeof b[2], "%.5f", south + h),
              g_ascii_formatd (b[3], sizeof b[3], "%.5f", west + w));
  soak_send (s, c, msg);
}

static void
soak_report (Soak *s, gint64 t0, guint n)
{
  GString *codes = g_string_new (NULL);
  GHashTableIter it;
  gpointer k, v;

  g_hash_table_iter_init (&it, s->error_codes);
  while (g_hash_table_iter_next (&it, &k, &v))
    g_string_append_printf (codes, "%s%s:%u", codes->len ? "," : "", (char *) k, GPOINTER_TO_UINT (v));
  g_hash_table_iter_init (&it, s->close_codes);
  while (g_hash_table_iter_next (&it, &k, &v))
    g_string_append_printf (codes, "%sclose%s:%u", codes->len ? "," : "", (char *) k, GPOINTER_TO_UINT (v));
  printf ("soak t=%.0f clients=%u open=%u failed_opens=%u closed=%u errors=%" G_GUINT64_FORMAT
          " sent=%" G_GUINT64_FORMAT " received=%" G_GUINT64_FORMAT " acks=%" G_GUINT64_FORMAT
          " snapshots=%" G_GUINT64_FORMAT " diffs=%" G_GUINT64_FORMAT " codes=%s\n",
          (double) (now_us () - t0) / 1e6, n, s->opened - s->closed, s->failed_opens, s->closed,
          s->errors + s->failed_opens + s->closed, s->sent, s->received, s->acks, s->snapshots, s->diffs,
          codes->len ? codes->str : "-");
  g_string_free (codes, TRUE);
}

typedef struct
{
  Soak *soak;
  Conn *conns;
  int ep;
  guint done;
  guint n;
  gint64 location_us, foreground_us, subscribe_us;
} SoakSetup;

static void
soak_pump (SoakSetup *st, int timeout_ms)
{
  struct epoll_event events[512];
  int n = epoll_wait (st->ep, events, G_N_ELEMENTS (events), timeout_ms);

  for (int e = 0; e < n; e++)
    {
      Conn *c = events[e].data.ptr;
      SoakClient *k = &st->soak->clients[c->id];
      if (!k->closed && !ws_pump (c, soak_text, st->soak))
        {
          g_autofree char *code = g_strdup_printf ("%d", c->close_code);
          k->closed = TRUE;
          st->soak->closed++;
          count_code (st->soak->close_codes, code);
          epoll_ctl (st->ep, EPOLL_CTL_DEL, c->fd, NULL);
          close (c->fd);
        }
    }
}

/* After each batch of upgrades: the new clients say hello, send their first location (sellers
 * then go live) and subscribe; everything pending is read. */
static void
soak_between (gpointer data)
{
  SoakSetup *st = data;
  gint64 now = now_us ();

  for (; st->done < st->n && st->conns[st->done].buf != NULL; st->done++)
    {
      Conn *c = &st->conns[st->done];
      SoakClient *k = &st->soak->clients[st->done];
      struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

      set_nonblocking (c->fd);
      epoll_ctl (st->ep, EPOLL_CTL_ADD, c->fd, &ev);
      st->soak->opened++;
      soak_send (st->soak, c, "{\"type\":\"hello\",\"ref\":\"h\",\"foreground\":true,\"platform\":\"soak\"}");
      soak_location (st->soak, c, k);
      if (k->seller)
        soak_send (st->soak, c, "{\"type\":\"go_live\",\"ref\":\"g\"}");
      soak_subscribe (st->soak, c);
      k->next_location = now + st->location_us;
      k->next_foreground = now + g_random_int_range (1, (gint32) (st->foreground_us / 1000)) * (gint64) 1000;
      k->next_subscribe = now + (gint64) (g_random_double_range (0.5, 1.5) * (double) st->subscribe_us);
    }
  soak_pump (st, 0);
}

static int
run_soak (int port, const char *tokens_path, int duration_s, double min_update_s, int resubscribe_s,
          int foreground_s, int report_s)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GError) error = NULL;
  Soak s = { 0 };
  SoakSetup st = { 0 };
  Conn *conns;
  guint n = 0;
  gint64 t0, next_report, end;

  if (!g_file_get_contents (tokens_path, &text, NULL, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  lines = g_strsplit (g_strstrip (text), "\n", -1);
  n = g_strv_length (lines);
  soak_tokens = g_new0 (char *, n + 1);
  s.clients = g_new0 (SoakClient, n);
  s.error_codes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  s.close_codes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  /* Each line: TOKEN [seller]. */
  for (guint i = 0; i < n; i++)
    {
      g_auto (GStrv) f = g_strsplit (lines[i], " ", 2);
      soak_tokens[i] = g_strdup (f[0]);
      s.clients[i].seller = f[1] != NULL && g_str_equal (g_strstrip (f[1]), "seller");
      s.clients[i].lat = g_random_double_range (REGION_SOUTH, REGION_SOUTH + REGION_SIZE);
      s.clients[i].lon = g_random_double_range (REGION_WEST, REGION_WEST + REGION_SIZE);
    }
  signal (SIGTERM, on_soak_signal);
  signal (SIGINT, on_soak_signal);
  conns = g_new0 (Conn, n);
  st = (SoakSetup){ &s, conns, epoll_create1 (0), 0, n, (gint64) ((min_update_s + 1.0) * G_USEC_PER_SEC),
                    (gint64) foreground_s * G_USEC_PER_SEC, (gint64) resubscribe_s * G_USEC_PER_SEC };
  t0 = now_us ();
  /* A failed upgrade stops the opening; the clients before it run. */
  st.n = ws_open_many (conns, 0, n, port, soak_between, &st);
  s.failed_opens = n - st.n;
  soak_between (&st);
  printf ("soak setup clients=%u opened=%u in %.1f s (location every %.1f s, app_state every %d s, "
          "re-subscribe every %d s on average)\n",
          n, s.opened, (double) (now_us () - t0) / 1e6, (double) st.location_us / 1e6, foreground_s, resubscribe_s);
  next_report = now_us () + (gint64) report_s * G_USEC_PER_SEC;
  end = duration_s > 0 ? now_us () + (gint64) duration_s * G_USEC_PER_SEC : G_MAXINT64;
  while (!soak_stop && now_us () < end)
    {
      gint64 now;

      soak_pump (&st, 50);
      now = now_us ();
      for (guint i = 0; i < s.opened; i++)
        {
          SoakClient *k = &s.clients[i];
          Conn *c = &conns[i];
          if (k->closed)
            continue;
          if (now >= k->next_location)
            {
              soak_location (&s, c, k);
              k->next_location += st.location_us;
            }
          if (now >= k->next_foreground)
            {
              soak_send (&s, c, "{\"type\":\"app_state\",\"ref\":\"f\",\"foreground\":true}");
              k->next_foreground += st.foreground_us;
            }
          if (now >= k->next_subscribe)
            {
              soak_subscribe (&s, c);
              k->next_subscribe = now + (gint64) (g_random_double_range (0.5, 1.5) * (double) st.subscribe_us);
            }
        }
      if (now >= next_report)
        {
          soak_report (&s, t0, n);
          next_report += (gint64) report_s * G_USEC_PER_SEC;
        }
    }
  soak_report (&s, t0, n);
  for (guint i = 0; i < s.opened; i++)
    if (!s.clients[i].closed)
      close (conns[i].fd);
  for (guint i = 0; i < n; i++)
    g_free (conns[i].buf);
  g_free (conns);
  g_free (s.clients);
  g_hash_table_unref (s.error_codes);
  g_hash_table_unref (s.close_codes);
  g_strfreev (soak_tokens);
  return s.errors + s.failed_opens + s.closed == 0 ? 0 : 1;
}

int
main (int argc, char **argv)
{
  g_autofree char *mode = g_strdup ("idle");
  g_autofree char *server = NULL;
  int connections = 2000, procs = 0, duration = 20, interval = 10, ping_s = 10;
  int subscribers = 10000, rounds = 20, flush_ms = 200;
  gboolean distinct = FALSE;
  g_autofree char *tokens = NULL;
  int port = 0, resubscribe_s = 60, foreground_s = 60, report_s = 10;
  double min_update_s = 5;
  GOptionEntry entries[] = {
    { "mode", 0, 0, G_OPTION_ARG_STRING, &mode, "idle, fanout or soak", "MODE" },
    { "server", 0, 0, G_OPTION_ARG_FILENAME, &server, "ws-bench-server path (default: next to this program)", "PATH" },
    { "connections", 'n', 0, G_OPTION_ARG_INT, &connections, "idle: connections (default 2000; up to 19000)", "N" },
    { "procs", 0, 0, G_OPTION_ARG_INT, &procs, "idle: client processes (default: one per 9000)", "N" },
    { "duration", 0, 0, G_OPTION_ARG_INT, &duration, "idle: measuring time in seconds; soak: running time (0: until SIGTERM)", "S" },
    { "interval", 0, 0, G_OPTION_ARG_INT, &interval, "idle: seconds between messages of one connection", "S" },
    { "ping-s", 0, 0, G_OPTION_ARG_INT, &ping_s, "server ping interval", "S" },
    { "subscribers", 0, 0, G_OPTION_ARG_INT, &subscribers, "fanout: map subscribers (default 10000)", "N" },
    { "rounds", 0, 0, G_OPTION_ARG_INT, &rounds, "fanout: changes to measure", "N" },
    { "flush-ms", 0, 0, G_OPTION_ARG_INT, &flush_ms, "fanout: server map.flush_ms", "MS" },
    { "distinct", 0, 0, G_OPTION_ARG_NONE, &distinct, "fanout: every subscriber has its own viewport", NULL },
    { "threads", 0, 0, G_OPTION_ARG_INT, &server_threads, "server ws.threads (default 0)", "N" },
    { "deflate", 0, 0, G_OPTION_ARG_NONE, &ask_deflate, "clients ask for permessage-deflate, as browsers do", NULL },
    { "server-deflate", 0, 0, G_OPTION_ARG_NONE, &server_deflate, "server accepts it (ws.permessage_deflate)", NULL },
    { "port", 0, 0, G_OPTION_ARG_INT, &port, "soak: port of a running kamegord on 127.0.0.1", "PORT" },
    { "tokens", 0, 0, G_OPTION_ARG_FILENAME, &tokens, "soak: one client per line, \"TOKEN [seller]\"", "FILE" },
    { "min-update-s", 0, 0, G_OPTION_ARG_DOUBLE, &min_update_s, "soak: the server's map.min_update_s (locations "
      "are sent 1 s slower)", "S" },
    { "resubscribe-s", 0, 0, G_OPTION_ARG_INT, &resubscribe_s, "soak: mean time between viewport changes", "S" },
    { "foreground-s", 0, 0, G_OPTION_ARG_INT, &foreground_s, "soak: time between app_state messages", "S" },
    { "report-s", 0, 0, G_OPTION_ARG_INT, &report_s, "soak: time between counter lines", "S" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- WebSocket load for ws-bench-server");
  g_autoptr (GError) error = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  signal (SIGPIPE, SIG_IGN);
  setvbuf (stdout, NULL, _IOLBF, 0);
  if (server == NULL)
    {
      g_autofree char *dir = g_path_get_dirname (argv[0]);
      server = g_build_filename (dir, "ws-bench-server", NULL);
    }
  if (procs <= 0)
    procs = (connections + 8999) / 9000;
  if (g_strcmp0 (mode, "soak") == 0)
    {
      if (port <= 0 || tokens == NULL || resubscribe_s < 1 || foreground_s < 1 || report_s < 1)
        {
          g_printerr ("soak needs --port and --tokens\n");
          return 2;
        }
      return run_soak (port, tokens, duration, min_update_s, resubscribe_s,
                       foreground_s, report_s);
    }
  if (g_strcmp0 (mode, "fanout") == 0)
    return run_fanout (server, subscribers, rounds, flush_ms, distinct);
  return run_idle (server, connections, procs, duration, interval, ping_s);
}
