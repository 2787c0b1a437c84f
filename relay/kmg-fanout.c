/* kmg-fanout.c — one seller's packets, encrypted and sent to each UDP buyer; NACKs answered from
 * the seller's recent packets, within a budget per buyer; buyers' receiver reports read. See
 * kmg-fanout.h. */
#include "kmg-fanout.h"
#include "kmg-relay-measure.h"

#include <string.h>
#include <sys/socket.h>

#include <srtp2/srtp.h>

#define SLOT_BYTES 1500      /* largest packet kept for retransmission (WebRTC keeps RTP ≤ 1200) */
#define MAX_PACKET 65535     /* largest packet forwarded */
#define MAX_CLOSED_SECONDS 64 /* forwarded seconds kept per target until polled */

/* The NACK budget (KMG_FANOUT_NACK_*_PER_SECOND) is a token bucket per target that holds one
 * second's worth and refills continuously. Honest repair of the largest stream we relay,
 * 2.5 Mb/s in ≈ 1,200-byte packets (≈ 260 packets/s) at 10 % loss, asks ≈ 26 packets (≈ 31 kB)
 * a second; losses come in bursts (a keyframe of ≈ 100 kB cut in two) and a resend lost again is
 * asked again, so the budget is about four times that: 100 packets and 125,000 bytes (1 Mb/s),
 * far above what a 600 kb/s stream ever needs. A buyer NACKing everything in the history then
 * adds at most 1 Mb/s to the stream it is sent anyway, instead of without limit. Units below:
 * millionths of a packet or byte, so that refilling per µs stays exact in integers. */
#define BUDGET_PACKETS_FULL ((gint64) KMG_FANOUT_NACK_PACKETS_PER_SECOND * G_USEC_PER_SEC)
#define BUDGET_BYTES_FULL ((gint64) KMG_FANOUT_NACK_BYTES_PER_SECOND * G_USEC_PER_SEC)

/* Targets from which one push is shared with helper threads; helpers per fan-out at most. */
#define SPLIT_MIN_TARGETS 32
#define MAX_HELPERS 7

typedef struct
{
  const guint8 *rtp;
  gsize len;
  KmgRtpInfo info;
  gint64 second;
} Packet;

typedef struct
{
  KmgFanout *fanout;
  GThread *thread;
  GMutex lock;
  GCond cond;
  gboolean quit;
  gboolean has_job; /* set by the pushing thread, cleared by the helper when done */
  const Packet *pkt;
  guint from, to;
  guint8 *scratch;
} Helper;

typedef struct
{
  guint16 seq;
  guint16 len; /* 0: empty */
  guint8 data[SLOT_BYTES];
} Slot;

struct _KmgFanoutTarget
{
  srtp_t srtp;
  GSocket *socket;
  int fd;
  struct sockaddr_storage addr;
  socklen_t addr_len;
  KmgRtpMeter *meter;
  GArray *closed; /* KmgMeterSecond, not yet polled */
  KmgFanoutCounters counters;
  KmgFanoutFirstSentFunc first_sent_func;
  gpointer target_data;
  gboolean first_sent;
  KmgFanoutFeedback last_report;
  gint64 budget_packets, budget_bytes; /* what it may still have resent, see BUDGET_PACKETS_FULL */
  gint64 budget_us;                    /* monotonic time the budget was last refilled */
  KmgFanoutCounters grown_from;        /* the counters as of the last kmg_fanout_target_add_growth() */
  gboolean rtx;                        /* resend as RTX (kmg_fanout_target_set_rtx) */
  guint8 rtx_pt;
  guint32 rtx_ssrc;
  guint16 rtx_seq;
};

struct _KmgFanout
{
  GMutex lock;
  GPtrArray *targets;
  Slot *history;
  guint history_mask;
  guint clock_rate;
  /* The forwarded stream as last seen, for sender reports. */
  gboolean have_stream;
  guint64 packets_in;
  guint32 ssrc, rtp_ts;
  gint64 rtp_ts_us; /* monotonic time the packet with rtp_ts went out */
  guint8 *scratch; /* MAX_PACKET + SRTP_MAX_TRAILER_LEN, used under the lock */
  Helper *helpers;  /* made when the fan-out first has SPLIT_MIN_TARGETS targets */
  guint n_helpers;
};

/* libsrtp is process-wide and GStreamer's srtp plugin may have initialised it already: a second
 * srtp_init() then reports an error while leaving it usable, so only srtp_create() tells. */
static void
ensure_srtp (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      srtp_init ();
      g_once_init_leave (&done, 1);
    }
}

KmgFanout *
kmg_fanout_new (guint history_packets, guint clock_rate)
{
  g_return_val_if_fail (history_packets >= 64 && (history_packets & (history_packets - 1)) == 0, NULL);

  KmgFanout *fanout = g_new0 (KmgFanout, 1);
  g_mutex_init (&fanout->lock);
  fanout->targets = g_ptr_array_new ();
  fanout->history = g_new0 (Slot, history_packets);
  fanout->history_mask = history_packets - 1;
  fanout->clock_rate = clock_rate > 0 ? clock_rate : 90000;
  fanout->scratch = g_malloc (MAX_PACKET + SRTP_MAX_TRAILER_LEN);
  return fanout;
}

static void helpers_free (KmgFanout *fanout);

static void
target_free (KmgFanoutTarget *t)
{
  srtp_dealloc (t->srtp);
  g_object_unref (t->socket);
  kmg_rtp_meter_free (t->meter);
  g_array_unref (t->closed);
  g_free (t);
}

void
kmg_fanout_free (KmgFanout *fanout)
{
  if (fanout == NULL)
    return;
  helpers_free (fanout);
  g_ptr_array_foreach (fanout->targets, (GFunc) (void (*) (void)) target_free, NULL);
  g_ptr_array_unref (fanout->targets);
  g_free (fanout->history);
  g_free (fanout->scratch);
  g_mutex_clear (&fanout->lock);
  g_free (fanout);
}

static gboolean
set_crypto_policy (srtp_policy_t *policy, const KmgSrtpParams *params, GError **error)
{
  gsize want = 0;

  switch (params->profile)
    {
    case KMG_SRTP_AES128_CM_SHA1_80:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&policy->rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&policy->rtcp);
      want = 30;
      break;
    case KMG_SRTP_AES128_CM_SHA1_32:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32 (&policy->rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&policy->rtcp); /* RFC 5764 §4.1.2 */
      want = 30;
      break;
    case KMG_SRTP_AEAD_AES_128_GCM:
      srtp_crypto_policy_set_aes_gcm_128_16_auth (&policy->rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth (&policy->rtcp);
      want = 28;
      break;
    case KMG_SRTP_AEAD_AES_256_GCM:
      srtp_crypto_policy_set_aes_gcm_256_16_auth (&policy->rtp);
      srtp_crypto_policy_set_aes_gcm_256_16_auth (&policy->rtcp);
      want = 44;
      break;
    default:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "unknown SRTP profile %d", params->profile);
      return FALSE;
    }
  if (params->key_len != want)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "SRTP key is %" G_GSIZE_FORMAT " bytes, the profile needs %" G_GSIZE_FORMAT, params->key_len, want);
      return FALSE;
    }
  return TRUE;
}

static gboolean
copy_destination (KmgFanoutTarget *t, GSocket *socket, GSocketAddress *destination)
{
  struct sockaddr_storage addr;

  if (!g_socket_address_to_native (destination, &addr, sizeof addr, NULL))
    return FALSE;
  g_set_object (&t->socket, socket);
  t->fd = g_socket_get_fd (socket);
  t->addr = addr;
  t->addr_len = (socklen_t) g_socket_address_get_native_size (destination);
  return TRUE;
}

KmgFanoutTarget *
kmg_fanout_add_target (KmgFanout *fanout, const KmgSrtpParams *params, GSocket *socket,
                       GSocketAddress *destination, KmgFanoutFirstSentFunc first_sent, gpointer target_data,
                       GError **error)
{
  srtp_policy_t policy;
  guint8 key[KMG_SRTP_MAX_KEY_LEN];

  g_return_val_if_fail (fanout != NULL && params != NULL, NULL);
  g_return_val_if_fail (G_IS_SOCKET (socket) && G_IS_SOCKET_ADDRESS (destination), NULL);

  ensure_srtp ();
  memset (&policy, 0, sizeof policy);
  if (!set_crypto_policy (&policy, params, error))
    return NULL;
  memcpy (key, params->key, params->key_len);
  policy.key = key;
  policy.ssrc.type = ssrc_any_outbound;
  policy.window_size = fanout->history_mask + 1; /* NACKs reach back as far as the history */
  policy.allow_repeat_tx = 1;                    /* retransmissions reuse their index */

  KmgFanoutTarget *t = g_new0 (KmgFanoutTarget, 1);
  if (!copy_destination (t, socket, destination))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "destination address is not usable");
      g_clear_object (&t->socket);
      g_free (t);
      return NULL;
    }
  srtp_err_status_t status = srtp_create (&t->srtp, &policy);
  memset (key, 0, sizeof key);
  if (status != srtp_err_status_ok)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot create the SRTP session (libsrtp error %d)", status);
      g_object_unref (t->socket);
      g_free (t);
      return NULL;
    }
  t->meter = kmg_rtp_meter_new ();
  t->closed = g_array_new (FALSE, FALSE, sizeof (KmgMeterSecond));
  t->first_sent_func = first_sent;
  t->target_data = target_data;
  t->budget_packets = BUDGET_PACKETS_FULL;
  t->budget_bytes = BUDGET_BYTES_FULL;
  t->budget_us = g_get_monotonic_time ();

  g_mutex_lock (&fanout->lock);
  g_ptr_array_add (fanout->targets, t);
  g_mutex_unlock (&fanout->lock);
  return t;
}

void
kmg_fanout_target_set_path (KmgFanout *fanout, KmgFanoutTarget *target, GSocket *socket,
                            GSocketAddress *destination)
{
  g_mutex_lock (&fanout->lock);
  copy_destination (target, socket, destination);
  g_mutex_unlock (&fanout->lock);
}

void
kmg_fanout_target_set_rtx (KmgFanout *fanout, KmgFanoutTarget *target, guint8 rtx_pt, guint32 rtx_ssrc)
{
  g_return_if_fail (rtx_pt < 128);

  g_mutex_lock (&fanout->lock);
  target->rtx = TRUE;
  target->rtx_pt = rtx_pt;
  target->rtx_ssrc = rtx_ssrc;
  target->rtx_seq = (guint16) g_random_int (); /* RFC 3550 §5.1: a random start */
  g_mutex_unlock (&fanout->lock);
}

void
kmg_fanout_remove_target (KmgFanout *fanout, KmgFanoutTarget *target)
{
  if (target == NULL)
    return;
  g_mutex_lock (&fanout->lock);
  gboolean found = g_ptr_array_remove_fast (fanout->targets, target);
  g_mutex_unlock (&fanout->lock);
  g_return_if_fail (found);
  target_free (target);
}

guint
kmg_fanout_get_n_targets (KmgFanout *fanout)
{
  g_mutex_lock (&fanout->lock);
  guint n = fanout->targets->len;
  g_mutex_unlock (&fanout->lock);
  return n;
}

/* Under the lock: encrypts @len bytes of @rtp into the scratch buffer and sends them. */
static gboolean
send_protected (guint8 *scratch, KmgFanoutTarget *t, const guint8 *rtp, gsize len, int *wire_len)
{
  int plen = (int) len;

  memcpy (scratch, rtp, len);
  if (srtp_protect (t->srtp, scratch, &plen) != srtp_err_status_ok)
    return FALSE;
  *wire_len = plen;
  return sendto (t->fd, scratch, (size_t) plen, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *) &t->addr,
                 t->addr_len)
         == plen;
}

static void
keep_closed (KmgFanoutTarget *t, const KmgMeterSecond *closed)
{
  if (t->closed->len >= MAX_CLOSED_SECONDS)
    g_array_remove_index (t->closed, 0);
  g_array_append_val (t->closed, *closed);
}

/* Under the lock (held by the pushing thread, which also waits for its helpers): sends one
 * packet to targets [from, to) with @scratch. */
static void
send_range (KmgFanout *fanout, guint8 *scratch, const Packet *pkt, guint from, guint to)
{
  KmgMeterSecond closed;

  for (guint i = from; i < to; i++)
    {
      KmgFanoutTarget *t = g_ptr_array_index (fanout->targets, i);
      int wire_len = 0;
      if (!send_protected (scratch, t, pkt->rtp, pkt->len, &wire_len))
        {
          t->counters.packets_dropped++;
          continue;
        }
      t->counters.packets_sent++;
      t->counters.payload_bytes_sent += pkt->info.payload_len;
      if (!t->first_sent)
        {
          t->first_sent = TRUE;
          if (t->first_sent_func != NULL)
            t->first_sent_func (t->target_data);
        }
      if (kmg_rtp_meter_add (t->meter, &pkt->info, (gsize) wire_len, pkt->second, &closed))
        keep_closed (t, &closed);
    }
}

static gpointer
helper_main (gpointer data)
{
  Helper *h = data;

  g_mutex_lock (&h->lock);
  for (;;)
    {
      while (!h->has_job && !h->quit)
        g_cond_wait (&h->cond, &h->lock);
      if (h->quit)
        break;
      g_mutex_unlock (&h->lock);
      send_range (h->fanout, h->scratch, h->pkt, h->from, h->to);
      g_mutex_lock (&h->lock);
      h->has_job = FALSE;
      g_cond_broadcast (&h->cond);
    }
  g_mutex_unlock (&h->lock);
  return NULL;
}

static void
ensure_helpers (KmgFanout *fanout)
{
  if (fanout->helpers != NULL)
    return;
  fanout->n_helpers = (guint) CLAMP (g_get_num_processors () - 1, 1, MAX_HELPERS);
  fanout->helpers = g_new0 (Helper, fanout->n_helpers);
  for (guint i = 0; i < fanout->n_helpers; i++)
    {
      Helper *h = &fanout->helpers[i];
      h->fanout = fanout;
      g_mutex_init (&h->lock);
      g_cond_init (&h->cond);
      h->scratch = g_malloc (MAX_PACKET + SRTP_MAX_TRAILER_LEN);
      h->thread = g_thread_new ("kmg-fanout", helper_main, h);
    }
}

static void
helpers_free (KmgFanout *fanout)
{
  for (guint i = 0; i < fanout->n_helpers; i++)
    {
      Helper *h = &fanout->helpers[i];
      g_mutex_lock (&h->lock);
      h->quit = TRUE;
      g_cond_broadcast (&h->cond);
      g_mutex_unlock (&h->lock);
      g_thread_join (h->thread);
      g_mutex_clear (&h->lock);
      g_cond_clear (&h->cond);
      g_free (h->scratch);
    }
  g_free (fanout->helpers);
}

guint64
kmg_fanout_get_packets_in (KmgFanout *fanout)
{
  g_mutex_lock (&fanout->lock);
  guint64 n = fanout->packets_in;
  g_mutex_unlock (&fanout->lock);
  return n;
}

void
kmg_fanout_push (KmgFanout *fanout, const guint8 *rtp, gsize len, gint64 second)
{
  Packet pkt = { .rtp = rtp, .len = len, .second = second };

  if (len > MAX_PACKET || kmg_rtp_parse (rtp, len, &pkt.info) != KMG_RTP_KIND_RTP)
    return;
  g_mutex_lock (&fanout->lock);
  fanout->packets_in++;
  fanout->have_stream = TRUE;
  fanout->ssrc = pkt.info.ssrc;
  fanout->rtp_ts = (guint32) rtp[4] << 24 | (guint32) rtp[5] << 16 | (guint32) rtp[6] << 8 | rtp[7];
  fanout->rtp_ts_us = g_get_monotonic_time ();
  if (len <= SLOT_BYTES)
    {
      Slot *slot = &fanout->history[pkt.info.seq & fanout->history_mask];
      slot->seq = pkt.info.seq;
      slot->len = (guint16) len;
      memcpy (slot->data, rtp, len);
    }
  guint n = fanout->targets->len;
  if (n < SPLIT_MIN_TARGETS)
    {
      send_range (fanout, fanout->scratch, &pkt, 0, n);
      g_mutex_unlock (&fanout->lock);
      return;
    }
  /* Many buyers: the last one would wait for all the others, so slices of them are encrypted
   * and sent on other cores at the same time. Each target stays in one slice per packet and the
   * push returns only when every slice is done, so a buyer's packets keep their order. */
  ensure_helpers (fanout);
  guint parts = fanout->n_helpers + 1, step = (n + parts - 1) / parts;
  for (guint i = 0; i < fanout->n_helpers; i++)
    {
      Helper *h = &fanout->helpers[i];
      g_mutex_lock (&h->lock);
      h->pkt = &pkt;
      h->from = MIN (n, step * (i + 1));
      h->to = MIN (n, step * (i + 2));
      h->has_job = h->from < h->to;
      g_cond_broadcast (&h->cond);
      g_mutex_unlock (&h->lock);
    }
  send_range (fanout, fanout->scratch, &pkt, 0, MIN (n, step));
  for (guint i = 0; i < fanout->n_helpers; i++)
    {
      Helper *h = &fanout->helpers[i];
      g_mutex_lock (&h->lock);
      while (h->has_job)
        g_cond_wait (&h->cond, &h->lock);
      g_mutex_unlock (&h->lock);
    }
  g_mutex_unlock (&fanout->lock);
}

static void
wr32 (guint8 *p, guint32 v)
{
  p[0] = (guint8) (v >> 24);
  p[1] = (guint8) (v >> 16);
  p[2] = (guint8) (v >> 8);
  p[3] = (guint8) v;
}

/* NTP timestamp (RFC 3550 §4) of a wall-clock time in µs. */
static guint64
ntp_time (gint64 real_us)
{
  guint64 secs = (guint64) (real_us / G_USEC_PER_SEC) + G_GUINT64_CONSTANT (2208988800);
  guint64 frac = ((guint64) (real_us % G_USEC_PER_SEC) << 32) / G_USEC_PER_SEC;
  return secs << 32 | frac;
}

void
kmg_fanout_send_reports (KmgFanout *fanout, gint64 now_real_us)
{
  guint8 sr[28 + SRTP_MAX_TRAILER_LEN + 4];

  g_mutex_lock (&fanout->lock);
  if (!fanout->have_stream)
    {
      g_mutex_unlock (&fanout->lock);
      return;
    }
  guint64 ntp = ntp_time (now_real_us);
  gint64 since_us = g_get_monotonic_time () - fanout->rtp_ts_us;
  guint32 rtp_ts = fanout->rtp_ts + (guint32) (since_us * (gint64) fanout->clock_rate / G_USEC_PER_SEC);
  for (guint i = 0; i < fanout->targets->len; i++)
    {
      KmgFanoutTarget *t = g_ptr_array_index (fanout->targets, i);
      int len = 28;
      sr[0] = 0x80; /* V=2, no report blocks */
      sr[1] = 200;
      sr[2] = 0;
      sr[3] = 6;
      wr32 (sr + 4, fanout->ssrc);
      wr32 (sr + 8, (guint32) (ntp >> 32));
      wr32 (sr + 12, (guint32) ntp);
      wr32 (sr + 16, rtp_ts);
      wr32 (sr + 20, (guint32) t->counters.packets_sent);
      wr32 (sr + 24, (guint32) t->counters.payload_bytes_sent);
      if (srtp_protect_rtcp (t->srtp, sr, &len) == srtp_err_status_ok)
        sendto (t->fd, sr, (size_t) len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *) &t->addr, t->addr_len);
    }
  g_mutex_unlock (&fanout->lock);
}

static guint32
rd32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

static guint16
rd16 (const guint8 *p)
{
  return (guint16) (p[0] << 8 | p[1]);
}

/* Under the lock. */
static void
budget_refill (KmgFanoutTarget *t, gint64 now_us)
{
  gint64 elapsed = CLAMP (now_us - t->budget_us, 0, G_USEC_PER_SEC); /* a second fills it */

  t->budget_us = now_us;
  t->budget_packets += elapsed * KMG_FANOUT_NACK_PACKETS_PER_SECOND;
  t->budget_packets = MIN (t->budget_packets, BUDGET_PACKETS_FULL);
  t->budget_bytes += elapsed * KMG_FANOUT_NACK_BYTES_PER_SECOND;
  t->budget_bytes = MIN (t->budget_bytes, BUDGET_BYTES_FULL);
}

/* Under the lock: takes one packet of @len bytes from @t's budget, if it has that much left. */
static gboolean
budget_take (KmgFanoutTarget *t, gsize len)
{
  gint64 bytes = (gint64) len * G_USEC_PER_SEC;

  if (t->budget_packets < G_USEC_PER_SEC || t->budget_bytes < bytes)
    return FALSE;
  t->budget_packets -= G_USEC_PER_SEC;
  t->budget_bytes -= bytes;
  return TRUE;
}

/* RFC 4588 §4: @rtp (of @len bytes) as an RTX packet of @t into @out (room for @len + 2): the
 * same header and extensions with the RTX payload type, SSRC and sequence number, then the
 * original sequence number, then the original payload (and padding). 0 if @rtp is malformed. */
static gsize
make_rtx (KmgFanoutTarget *t, const guint8 *rtp, gsize len, guint8 *out)
{
  gsize header = 12 + 4 * (gsize) (rtp[0] & 0x0f);

  if (len < header)
    return 0;
  if (rtp[0] & 0x10) /* header extension: 4 bytes, then its length in words */
    {
      if (len < header + 4)
        return 0;
      header += 4 + 4 * (gsize) rd16 (rtp + header + 2);
      if (len < header)
        return 0;
    }
  memcpy (out, rtp, header);
  out[1] = (guint8) ((rtp[1] & 0x80) | t->rtx_pt);
  out[2] = (guint8) (t->rtx_seq >> 8);
  out[3] = (guint8) t->rtx_seq;
  wr32 (out + 8, t->rtx_ssrc);
  out[header] = rtp[2]; /* OSN */
  out[header + 1] = rtp[3];
  memcpy (out + header + 2, rtp + header, len - header);
  t->rtx_seq++;
  return len + 2;
}

/* Under the lock. */
static void
retransmit (KmgFanout *fanout, KmgFanoutTarget *t, guint16 seq, KmgFanoutFeedback *out)
{
  const Slot *slot = &fanout->history[seq & fanout->history_mask];
  int wire_len;

  out->nacked++;
  if (slot->len == 0 || slot->seq != seq)
    return;
  if (!budget_take (t, slot->len))
    {
      out->refused++;
      t->counters.retransmit_refused++;
      return;
    }
  guint8 rtx[SLOT_BYTES + 2];
  const guint8 *resend = slot->data;
  gsize resend_len = slot->len;
  if (t->rtx)
    {
      resend_len = make_rtx (t, slot->data, slot->len, rtx);
      resend = rtx;
      if (resend_len == 0)
        return;
    }
  if (send_protected (fanout->scratch, t, resend, resend_len, &wire_len))
    {
      out->retransmitted++;
      t->counters.retransmitted++;
    }
}

static void
read_report_blocks (KmgFanout *fanout, const guint8 *p, guint count, const guint8 *end, KmgFanoutFeedback *out)
{
  for (guint i = 0; i < count && p + 24 <= end; i++, p += 24)
    {
      /* One forwarded stream per fan-out: the first block is about it. */
      guint8 fraction = p[4];
      gint32 lost = (gint32) (rd32 (p + 4) & 0xffffff);
      if (lost & 0x800000)
        lost -= 0x1000000; /* signed 24 bits */
      guint32 ext_seq = rd32 (p + 8), jitter = rd32 (p + 12), lsr = rd32 (p + 16), dlsr = rd32 (p + 20);
      out->have_rr = TRUE;
      out->rtt = -1;
      if (lsr != 0)
        {
          /* Now, in the middle 32 bits of NTP time like LSR and DLSR (1/65536 s). */
          guint32 now = (guint32) (ntp_time (g_get_real_time ()) >> 16);
          guint32 rtt = now - lsr - dlsr;
          if (rtt < 0x80000000u)
            out->rtt = rtt / 65536.0;
        }
      out->fraction_lost = fraction / 256.0;
      out->jitter = (double) jitter / fanout->clock_rate;
      out->rr_fingerprint = kmg_rr_fingerprint (ext_seq, lsr, dlsr, jitter, lost);
      return;
    }
}

void
kmg_fanout_target_feedback (KmgFanout *fanout, KmgFanoutTarget *target, const guint8 *rtcp, gsize len,
                            KmgFanoutFeedback *out)
{
  const guint8 *p = rtcp, *end = rtcp + len;

  memset (out, 0, sizeof *out);
  out->rtt = -1;
  g_mutex_lock (&fanout->lock);
  if (!g_ptr_array_find (fanout->targets, target, NULL))
    p = end;
  else
    budget_refill (target, g_get_monotonic_time ());
  while (p + 4 <= end && (p[0] >> 6) == 2)
    {
      guint count = p[0] & 0x1f;
      guint8 pt = p[1];
      const guint8 *next = p + 4 * ((gsize) rd16 (p + 2) + 1);
      if (next > end)
        break;
      if (pt == 200) /* SR: sender info, then report blocks */
        read_report_blocks (fanout, p + 28, count, next, out);
      else if (pt == 201) /* RR */
        read_report_blocks (fanout, p + 8, count, next, out);
      else if (pt == 205 && count == 1) /* generic NACK */
        for (const guint8 *fci = p + 12; fci + 4 <= next; fci += 4)
          {
            guint16 pid = rd16 (fci), blp = rd16 (fci + 2);
            retransmit (fanout, target, pid, out);
            for (guint b = 0; b < 16; b++)
              if (blp & (1u << b))
                retransmit (fanout, target, (guint16) (pid + b + 1), out);
          }
      else if (pt == 206 && (count == 1 || count == 4)) /* PLI, FIR */
        out->keyframe_wanted = TRUE;
      p = next;
    }
  if (out->have_rr)
    target->last_report = *out;
  g_mutex_unlock (&fanout->lock);
}

void
kmg_fanout_target_poll (KmgFanout *fanout, KmgFanoutTarget *target, gint64 now_second,
                        KmgFanoutCounters *counters, KmgFanoutFeedback *last_report, GArray *seconds)
{
  KmgMeterSecond closed;

  g_mutex_lock (&fanout->lock);
  if (kmg_rtp_meter_flush (target->meter, now_second, &closed))
    keep_closed (target, &closed);
  g_array_append_vals (seconds, target->closed->data, target->closed->len);
  g_array_set_size (target->closed, 0);
  *counters = target->counters;
  *last_report = target->last_report;
  g_mutex_unlock (&fanout->lock);
}

void
kmg_fanout_target_add_growth (KmgFanout *fanout, KmgFanoutTarget *target, KmgFanoutCounters *totals)
{
  g_mutex_lock (&fanout->lock);
  const KmgFanoutCounters *now = &target->counters, *from = &target->grown_from;
  totals->packets_sent += now->packets_sent - from->packets_sent;
  totals->payload_bytes_sent += now->payload_bytes_sent - from->payload_bytes_sent;
  totals->packets_dropped += now->packets_dropped - from->packets_dropped;
  totals->retransmitted += now->retransmitted - from->retransmitted;
  totals->retransmit_refused += now->retransmit_refused - from->retransmit_refused;
  target->grown_from = *now;
  g_mutex_unlock (&fanout->lock);
}
