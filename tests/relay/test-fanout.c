/* test-fanout.c — the UDP forwarding path on 127.0.0.1: what a buyer receives decrypts to the
 * seller's packets (CM and GCM profiles), NACKs are answered from the history within a budget
 * per buyer, PLI/FIR and receiver reports are read, seconds are counted, a removed buyer gets
 * nothing more. */
#include <string.h>

#include <srtp2/srtp.h>

#include "kmg-fanout.h"

typedef struct
{
  GSocket *send_socket, *recv_socket;
  GSocketAddress *recv_address;
  srtp_t receiver;
  KmgFanout *fanout;
  KmgFanoutTarget *target;
  KmgSrtpParams params;
  gint first_sent;
} Fixture;

static void
count_first_sent (gpointer data)
{
  (*(gint *) data)++;
}

static GSocket *
udp_socket (void)
{
  g_autoptr (GError) error = NULL;
  GSocket *s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_assert_true (g_socket_bind (s, any, FALSE, &error));
  g_assert_no_error (error);
  return s;
}

/* The buyer: a plain libsrtp receiver with the same key (AES-CM-80 or AES-GCM-128 here). */
static srtp_t
receiver_new (const KmgSrtpParams *params)
{
  srtp_policy_t policy;
  srtp_t session = NULL;
  guint8 key[KMG_SRTP_MAX_KEY_LEN];

  srtp_init (); /* a repeated call reports an error but changes nothing */
  memset (&policy, 0, sizeof policy);
  if (params->profile == KMG_SRTP_AEAD_AES_128_GCM)
    {
      srtp_crypto_policy_set_aes_gcm_128_16_auth (&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth (&policy.rtcp);
    }
  else
    {
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&policy.rtcp);
    }
  memcpy (key, params->key, params->key_len);
  policy.key = key;
  policy.ssrc.type = ssrc_any_inbound;
  policy.window_size = 1024;
  g_assert_cmpint (srtp_create (&session, &policy), ==, srtp_err_status_ok);
  return session;
}

static void
fixture_set_up (Fixture *fx, KmgSrtpProfile profile, gsize key_len)
{
  g_autoptr (GError) error = NULL;

  memset (fx, 0, sizeof *fx);
  fx->send_socket = udp_socket ();
  fx->recv_socket = udp_socket ();
  g_socket_set_timeout (fx->recv_socket, 2);
  fx->recv_address = g_socket_get_local_address (fx->recv_socket, &error);
  g_assert_no_error (error);
  fx->params.profile = profile;
  fx->params.key_len = key_len;
  for (gsize i = 0; i < key_len; i++)
    fx->params.key[i] = (guint8) (i * 7 + 3);

  fx->receiver = receiver_new (&fx->params);

  fx->fanout = kmg_fanout_new (256, 90000);
  fx->target = kmg_fanout_add_target (fx->fanout, &fx->params, fx->send_socket, fx->recv_address, count_first_sent,
                                      &fx->first_sent, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fx->target);
}

static void
fixture_tear_down (Fixture *fx)
{
  g_clear_pointer (&fx->fanout, kmg_fanout_free);
  srtp_dealloc (fx->receiver);
  g_clear_object (&fx->recv_address);
  g_clear_object (&fx->send_socket);
  g_clear_object (&fx->recv_socket);
}

/* One poll of @fx's target: counters, last report, and the seconds closed before @now_second. */
static GArray *
poll_target (Fixture *fx, gint64 now_second, KmgFanoutCounters *counters, KmgFanoutFeedback *last)
{
  GArray *seconds = g_array_new (FALSE, FALSE, sizeof (KmgMeterSecond));
  KmgFanoutCounters c;
  KmgFanoutFeedback r;

  kmg_fanout_target_poll (fx->fanout, fx->target, now_second, counters ? counters : &c, last ? last : &r, seconds);
  return seconds;
}

static gsize
make_rtp (guint8 *buf, guint16 seq, gsize payload_len)
{
  buf[0] = 0x80;
  buf[1] = 96;
  buf[2] = seq >> 8;
  buf[3] = seq & 0xff;
  guint32 ts = 90000u + seq * 3000u, ssrc = 0x1234abcd;
  for (int i = 0; i < 4; i++)
    {
      buf[4 + i] = (guint8) (ts >> (24 - 8 * i));
      buf[8 + i] = (guint8) (ssrc >> (24 - 8 * i));
    }
  for (gsize i = 0; i < payload_len; i++)
    buf[12 + i] = (guint8) (seq + i);
  return 12 + payload_len;
}

/* Receives one datagram (or returns 0 after the timeout). */
static gssize
receive (Fixture *fx, guint8 *buf, gsize size)
{
  g_autoptr (GError) error = NULL;
  gssize n = g_socket_receive (fx->recv_socket, (gchar *) buf, size, NULL, &error);
  return n < 0 ? 0 : n;
}

static gboolean
nothing_waiting (Fixture *fx)
{
  return !g_socket_condition_timed_wait (fx->recv_socket, G_IO_IN, 200 * 1000, NULL, NULL);
}

static void
check_roundtrip (KmgSrtpProfile profile, gsize key_len)
{
  Fixture fx;
  guint8 rtp[1300], wire[1400];

  fixture_set_up (&fx, profile, key_len);
  for (guint16 seq = 65530; seq != 6; seq++) /* across the sequence number wrap */
    {
      gsize len = make_rtp (rtp, seq, 1000);
      kmg_fanout_push (fx.fanout, rtp, len, 1000);
      gssize n = receive (&fx, wire, sizeof wire);
      g_assert_cmpint (n, >, (gssize) len); /* encrypted and authenticated */
      g_assert_cmpmem (wire, 12, rtp, 12); /* the header stays in the clear */
      g_assert_false (memcmp (wire + 12, rtp + 12, 16) == 0);
      int plain = (int) n;
      g_assert_cmpint (srtp_unprotect (fx.receiver, wire, &plain), ==, srtp_err_status_ok);
      g_assert_cmpmem (wire, plain, rtp, len);
    }
  KmgFanoutCounters c;
  g_array_unref (poll_target (&fx, 0, &c, NULL));
  g_assert_cmpuint (c.packets_sent, ==, 12);
  g_assert_cmpuint (c.packets_dropped, ==, 0);
  g_assert_cmpint (fx.first_sent, ==, 1);
  fixture_tear_down (&fx);
}

static void
test_roundtrip_cm (void)
{
  check_roundtrip (KMG_SRTP_AES128_CM_SHA1_80, 30);
}

static void
test_roundtrip_gcm (void)
{
  check_roundtrip (KMG_SRTP_AEAD_AES_128_GCM, 28);
}

static void
test_bad_key (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgFanout) fanout = kmg_fanout_new (64, 90000);
  g_autoptr (GSocket) s = udp_socket ();
  g_autoptr (GSocketAddress) addr = g_socket_get_local_address (s, NULL);
  KmgSrtpParams params = { .profile = KMG_SRTP_AES128_CM_SHA1_80, .key_len = 28 };

  g_assert_null (kmg_fanout_add_target (fanout, &params, s, addr, NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (kmg_fanout_get_n_targets (fanout), ==, 0);
}

static void
test_not_rtp_ignored (void)
{
  Fixture fx;
  guint8 junk[40] = { 0x40, 96 }; /* version 1 */
  guint8 rtcp[8] = { 0x80, 201, 0, 1, 1, 2, 3, 4 };

  fixture_set_up (&fx, KMG_SRTP_AES128_CM_SHA1_80, 30);
  kmg_fanout_push (fx.fanout, junk, sizeof junk, 1000);
  kmg_fanout_push (fx.fanout, rtcp, sizeof rtcp, 1000);
  kmg_fanout_push (fx.fanout, junk, 5, 1000);
  g_assert_true (nothing_waiting (&fx));
  fixture_tear_down (&fx);
}

static void
test_nack_pli_rr (void)
{
  Fixture fx;
  guint8 rtp[400], wire[600], first[20][600];
  gssize first_len[20];
  KmgFanoutFeedback fb;

  fixture_set_up (&fx, KMG_SRTP_AES128_CM_SHA1_80, 30);
  for (guint16 seq = 100; seq < 120; seq++)
    {
      kmg_fanout_push (fx.fanout, rtp, make_rtp (rtp, seq, 300), 1000);
      first_len[seq - 100] = receive (&fx, first[seq - 100], sizeof first[0]);
      g_assert_cmpint (first_len[seq - 100], >, 0);
    }

  /* RR (one block, 25 % lost) + NACK for 105 and, by bitmask, 106 and 108 + PLI, as one
   * compound packet; 2000 was never sent. */
  guint8 rtcp[] = {
    0x81, 201, 0, 7, 0, 0, 0, 9,                       /* RR from SSRC 9, one block */
    0x12, 0x34, 0xab, 0xcd, 64, 0, 0, 3,               /* fraction 64/256, 3 lost */
    0, 1, 0, 119, 0, 0, 0x0b, 0xb8,                    /* ext seq, jitter 3000 */
    0, 0, 0, 0, 0, 0, 0, 0,                            /* LSR, DLSR */
    0x81, 205, 0, 4, 0, 0, 0, 9, 0x12, 0x34, 0xab, 0xcd, /* generic NACK */
    0, 105, 0, 0x05,                                   /* 105, 106, 108 */
    0x07, 0xd0, 0, 0,                                  /* 2000: not in the history */
    0x81, 206, 0, 2, 0, 0, 0, 9, 0x12, 0x34, 0xab, 0xcd, /* PLI */
  };
  kmg_fanout_target_feedback (fx.fanout, fx.target, rtcp, sizeof rtcp, &fb);
  g_assert_true (fb.keyframe_wanted);
  g_assert_cmpuint (fb.nacked, ==, 4);
  g_assert_cmpuint (fb.retransmitted, ==, 3);
  g_assert_true (fb.have_rr);
  g_assert_cmpfloat_with_epsilon (fb.fraction_lost, 0.25, 1e-9);
  g_assert_cmpfloat_with_epsilon (fb.jitter, 3000.0 / 90000, 1e-9);
  KmgFanoutFeedback last;
  g_array_unref (poll_target (&fx, 0, NULL, &last));
  g_assert_true (last.have_rr);
  g_assert_cmpuint (last.rr_fingerprint, ==, fb.rr_fingerprint);
  /* A retransmission is the original packet, encrypted the same way. */
  guint16 expect[] = { 105, 106, 108 };
  for (guint i = 0; i < G_N_ELEMENTS (expect); i++)
    {
      gssize n = receive (&fx, wire, sizeof wire);
      g_assert_cmpmem (wire, n, first[expect[i] - 100], first_len[expect[i] - 100]);
    }
  g_assert_true (nothing_waiting (&fx));

  /* A report that changes, changes the fingerprint; a truncated packet is ignored. */
  guint64 fp = fb.rr_fingerprint;
  rtcp[19] = 120;
  kmg_fanout_target_feedback (fx.fanout, fx.target, rtcp, 32, &fb);
  g_assert_true (fb.have_rr);
  g_assert_cmpuint (fb.rr_fingerprint, !=, fp);
  kmg_fanout_target_feedback (fx.fanout, fx.target, rtcp, 20, &fb);
  g_assert_false (fb.have_rr);
  g_assert_cmpuint (fb.nacked, ==, 0);
  fixture_tear_down (&fx);
}

/* A buyer that negotiated RTX gets its resends as RFC 4588 packets: the RTX payload type and
 * SSRC, consecutive sequence numbers of their own, the original sequence number, then the
 * original payload; the marker bit and timestamp stay. */
static void
test_nack_as_rtx (void)
{
  Fixture fx;
  guint8 rtp[400], wire[600];
  KmgFanoutFeedback fb;

  fixture_set_up (&fx, KMG_SRTP_AES128_CM_SHA1_80, 30);
  kmg_fanout_target_set_rtx (fx.fanout, fx.target, 97, 0x55667788);
  for (guint16 seq = 100; seq < 120; seq++)
    {
      kmg_fanout_push (fx.fanout, rtp, make_rtp (rtp, seq, 300), 1000);
      g_assert_cmpint (receive (&fx, wire, sizeof wire), >, 0);
    }
  guint8 nack[] = { 0x81, 205, 0, 3, 0, 0, 0, 9, 0x12, 0x34, 0xab, 0xcd, 0, 105, 0, 0x01 }; /* 105, 106 */
  kmg_fanout_target_feedback (fx.fanout, fx.target, nack, sizeof nack, &fb);
  g_assert_cmpuint (fb.retransmitted, ==, 2);
  guint16 rtx_seq = 0;
  for (guint16 osn = 105; osn <= 106; osn++)
    {
      gssize n = receive (&fx, wire, sizeof wire);
      int plain = (int) n;
      g_assert_cmpint (srtp_unprotect (fx.receiver, wire, &plain), ==, srtp_err_status_ok);
      gsize len = make_rtp (rtp, osn, 300);
      g_assert_cmpint (plain, ==, (int) len + 2);
      g_assert_cmpint (wire[0], ==, rtp[0]);
      g_assert_cmpint (wire[1], ==, 97);
      guint16 seq = (guint16) (wire[2] << 8 | wire[3]);
      if (osn > 105)
        g_assert_cmpint (seq, ==, (guint16) (rtx_seq + 1));
      rtx_seq = seq;
      g_assert_cmpmem (wire + 4, 4, rtp + 4, 4); /* timestamp */
      const guint8 ssrc[] = { 0x55, 0x66, 0x77, 0x88 };
      g_assert_cmpmem (wire + 8, 4, ssrc, 4);
      g_assert_cmpint (wire[12] << 8 | wire[13], ==, osn);
      g_assert_cmpmem (wire + 14, plain - 14, rtp + 12, len - 12);
    }
  g_assert_true (nothing_waiting (&fx));
  fixture_tear_down (&fx);
}

/* A second buyer on @fx's fan-out: its own socket and key. */
typedef struct
{
  GSocket *recv_socket;
  srtp_t receiver;
  KmgFanoutTarget *target;
} OtherBuyer;

static void
other_buyer_set_up (Fixture *fx, OtherBuyer *b)
{
  g_autoptr (GError) error = NULL;
  KmgSrtpParams params = { .profile = KMG_SRTP_AES128_CM_SHA1_80, .key_len = 30 };

  for (gsize i = 0; i < params.key_len; i++)
    params.key[i] = (guint8) (i * 13 + 5);
  b->recv_socket = udp_socket ();
  g_socket_set_timeout (b->recv_socket, 2);
  g_autoptr (GSocketAddress) addr = g_socket_get_local_address (b->recv_socket, &error);
  g_assert_no_error (error);
  b->receiver = receiver_new (&params);
  b->target = kmg_fanout_add_target (fx->fanout, &params, fx->send_socket, addr, NULL, NULL, &error);
  g_assert_no_error (error);
}

static void
other_buyer_tear_down (OtherBuyer *b)
{
  srtp_dealloc (b->receiver);
  g_clear_object (&b->recv_socket);
}

static gssize
receive_on (GSocket *socket, guint8 *buf, gsize size)
{
  g_autoptr (GError) error = NULL;
  gssize n = g_socket_receive (socket, (gchar *) buf, size, NULL, &error);
  g_assert_no_error (error);
  return n;
}

/* Reads and forgets whatever @socket has queued. */
static void
drain (GSocket *socket)
{
  guint8 buf[2000];

  while (g_socket_condition_timed_wait (socket, G_IO_IN, 50 * 1000, NULL, NULL))
    receive_on (socket, buf, sizeof buf);
}

/* A generic NACK asking, by bitmask, for the 17 × @n_fci sequence numbers from @first; written
 * to @buf (4 × (3 + @n_fci) bytes), its length returned. */
static gsize
make_nack (guint8 *buf, guint16 first, guint n_fci)
{
  const guint8 head[] = { 0x81, 205, 0, (guint8) (2 + n_fci), 0, 0, 0, 9, 0x12, 0x34, 0xab, 0xcd };

  memcpy (buf, head, sizeof head);
  for (guint i = 0; i < n_fci; i++)
    {
      guint16 pid = (guint16) (first + 17 * i);
      guint8 *fci = buf + sizeof head + 4 * i;
      fci[0] = pid >> 8;
      fci[1] = pid & 0xff;
      fci[2] = fci[3] = 0xff;
    }
  return sizeof head + 4 * n_fci;
}

typedef struct
{
  guint nacked, retransmitted, refused;
  gint64 elapsed_us;
} Flood;

/* @times NACKs for the whole history of @fx (256 packets, sequence numbers 0–255), as fast as
 * they can be handed over. */
static Flood
flood (Fixture *fx, KmgFanoutTarget *target, guint times)
{
  guint8 nack[12 + 4 * 16];
  gsize len = make_nack (nack, 0, 16); /* 0–271: 256–271 are not in the history */
  Flood f = { 0 };
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; i < times; i++)
    {
      KmgFanoutFeedback fb;
      kmg_fanout_target_feedback (fx->fanout, target, nack, len, &fb);
      f.nacked += fb.nacked;
      f.retransmitted += fb.retransmitted;
      f.refused += fb.refused;
    }
  f.elapsed_us = g_get_monotonic_time () - start;
  return f;
}

/* Fills @fx's history with 256 packets of @payload_len bytes, sequence numbers 0–255, and keeps
 * what buyer A (@fx) received of @keep_seq, encrypted, in @kept. Buyer @b's copies are read. */
static gssize
fill_history (Fixture *fx, OtherBuyer *b, gsize payload_len, guint16 keep_seq, guint8 *kept, gsize kept_size)
{
  guint8 rtp[1500], wire[1600];
  gssize kept_len = 0;

  for (guint seq = 0; seq < 256; seq++)
    {
      kmg_fanout_push (fx->fanout, rtp, make_rtp (rtp, (guint16) seq, payload_len), 1000);
      gssize n = receive (fx, wire, sizeof wire);
      g_assert_cmpint (n, >, 0);
      if (seq == keep_seq)
        {
          g_assert_cmpint (n, <=, (gssize) kept_size);
          memcpy (kept, wire, (gsize) n);
          kept_len = n;
        }
      g_assert_cmpint (receive_on (b->recv_socket, wire, sizeof wire), >, 0);
    }
  return kept_len;
}

/* Buyer A NACKs the whole history thousands of times within a second: it is resent at most its
 * budget (here the packets bind: 312-byte packets), the rest is refused and counted; buyer B's
 * forwarding and its own NACKs are untouched; a second later A's budget is back and an honest
 * NACK is answered with the very bytes it was sent the first time. */
static void
test_nack_flood_budget (void)
{
  Fixture fx;
  OtherBuyer b;
  guint8 first_a[600], first_b[600], wire[600], rtp[400];
  gssize first_b_len = 0;
  KmgFanoutFeedback fb;
  KmgFanoutCounters c;

  fixture_set_up (&fx, KMG_SRTP_AES128_CM_SHA1_80, 30);
  other_buyer_set_up (&fx, &b);
  gssize first_a_len = fill_history (&fx, &b, 300, 7, first_a, sizeof first_a);

  Flood f = flood (&fx, fx.target, 20);
  g_assert_cmpuint (f.nacked, ==, 20 * 272);
  g_assert_cmpuint (f.retransmitted + f.refused, ==, 20 * 256);
  g_assert_cmpuint (f.retransmitted, >=, KMG_FANOUT_NACK_PACKETS_PER_SECOND); /* a full budget */
  g_assert_cmpuint (f.retransmitted, <=,
                    KMG_FANOUT_NACK_PACKETS_PER_SECOND
                        + f.elapsed_us * KMG_FANOUT_NACK_PACKETS_PER_SECOND / G_USEC_PER_SEC + 1);
  g_array_unref (poll_target (&fx, 0, &c, NULL));
  g_assert_cmpuint (c.retransmitted, ==, f.retransmitted);
  g_assert_cmpuint (c.retransmit_refused, ==, f.refused);

  /* B: its packets still flow, and its honest NACK is answered. */
  kmg_fanout_push (fx.fanout, rtp, make_rtp (rtp, 256, 300), 1000);
  gssize n = receive_on (b.recv_socket, wire, sizeof wire);
  int plain = (int) n;
  g_assert_cmpint (srtp_unprotect (b.receiver, wire, &plain), ==, srtp_err_status_ok);
  g_assert_cmpuint (wire[2] << 8 | wire[3], ==, 256);
  guint8 nack_9[] = { 0x81, 205, 0, 3, 0, 0, 0, 9, 0x12, 0x34, 0xab, 0xcd, 0, 9, 0, 0 };
  kmg_fanout_target_feedback (fx.fanout, b.target, nack_9, sizeof nack_9, &fb);
  g_assert_cmpuint (fb.retransmitted, ==, 1);
  g_assert_cmpuint (fb.refused, ==, 0);
  first_b_len = receive_on (b.recv_socket, first_b, sizeof first_b);
  plain = (int) first_b_len;
  g_assert_cmpint (srtp_unprotect (b.receiver, first_b, &plain), ==, srtp_err_status_ok);
  g_assert_cmpuint (first_b[2] << 8 | first_b[3], ==, 9);

  /* The totals over both targets: A's flood and B's one packet, each counted once. */
  KmgFanoutCounters totals = { 0 };
  kmg_fanout_target_add_growth (fx.fanout, fx.target, &totals);
  kmg_fanout_target_add_growth (fx.fanout, b.target, &totals);
  g_assert_cmpuint (totals.retransmitted, ==, f.retransmitted + 1);
  g_assert_cmpuint (totals.retransmit_refused, ==, f.refused);
  g_assert_cmpuint (totals.packets_sent, ==, 2 * 257);
  kmg_fanout_target_add_growth (fx.fanout, fx.target, &totals);
  g_assert_cmpuint (totals.retransmitted, ==, f.retransmitted + 1);

  /* A second later the budget is full again. */
  g_usleep (G_USEC_PER_SEC);
  drain (fx.recv_socket);
  guint8 nack_7[] = { 0x81, 205, 0, 3, 0, 0, 0, 9, 0x12, 0x34, 0xab, 0xcd, 0, 7, 0, 0 };
  kmg_fanout_target_feedback (fx.fanout, fx.target, nack_7, sizeof nack_7, &fb);
  g_assert_cmpuint (fb.retransmitted, ==, 1);
  g_assert_cmpuint (fb.refused, ==, 0);
  n = receive (&fx, wire, sizeof wire);
  g_assert_cmpmem (wire, n, first_a, first_a_len);
  f = flood (&fx, fx.target, 20);
  g_assert_cmpuint (f.retransmitted, >=, KMG_FANOUT_NACK_PACKETS_PER_SECOND - 1);
  g_assert_cmpuint (f.retransmitted, <=,
                    KMG_FANOUT_NACK_PACKETS_PER_SECOND
                        + f.elapsed_us * KMG_FANOUT_NACK_PACKETS_PER_SECOND / G_USEC_PER_SEC + 1);
  g_assert_cmpuint (f.refused, >, 0);

  other_buyer_tear_down (&b);
  fixture_tear_down (&fx);
}

/* With full-size packets the bytes bind first: 1,412-byte packets, ⌊125,000 / 1,412⌋ = 88 of them. */
static void
test_nack_budget_bytes (void)
{
  enum { LEN = 1412 };
  Fixture fx;
  OtherBuyer b;
  guint8 kept[1600];

  fixture_set_up (&fx, KMG_SRTP_AES128_CM_SHA1_80, 30);
  other_buyer_set_up (&fx, &b);
  fill_history (&fx, &b, LEN - 12, 0, kept, sizeof kept);
  Flood f = flood (&fx, fx.target, 5);
  guint full = KMG_FANOUT_NACK_BYTES_PER_SECOND / LEN;
  g_assert_cmpuint (full, <, KMG_FANOUT_NACK_PACKETS_PER_SECOND);
  g_assert_cmpuint (f.retransmitted, >=, full);
  g_assert_cmpuint (f.retransmitted, <=,
                    full + f.elapsed_us * KMG_FANOUT_NACK_BYTES_PER_SECOND / G_USEC_PER_SEC / LEN + 1);
  g_assert_cmpuint (f.retransmitted + f.refused, ==, 5 * 256);
  other_buyer_tear_down (&b);
  fixture_tear_down (&fx);
}

static void
test_seconds_and_remove (void)
{
  Fixture fx;
  guint8 rtp[400], wire[600];
  KmgMeterSecond s;
  GArray *closed;

  fixture_set_up (&fx, KMG_SRTP_AES128_CM_SHA1_80, 30);
  for (guint16 seq = 1; seq <= 5; seq++)
    {
      kmg_fanout_push (fx.fanout, rtp, make_rtp (rtp, seq, 100), 5000);
      receive (&fx, wire, sizeof wire);
    }
  kmg_fanout_push (fx.fanout, rtp, make_rtp (rtp, 6, 100), 5001);
  receive (&fx, wire, sizeof wire);
  closed = poll_target (&fx, 5001, NULL, NULL);
  g_assert_cmpuint (closed->len, ==, 1);
  s = g_array_index (closed, KmgMeterSecond, 0);
  g_assert_cmpint (s.second, ==, 5000);
  g_assert_cmpuint (s.packets, ==, 5);
  g_assert_cmpuint (s.payload_bytes, ==, 500);
  g_array_unref (closed);
  closed = poll_target (&fx, 5001, NULL, NULL); /* a polled second is not returned again */
  g_assert_cmpuint (closed->len, ==, 0);
  g_array_unref (closed);
  /* The open second closes once the clock has passed it. */
  closed = poll_target (&fx, 5002, NULL, NULL);
  g_assert_cmpuint (closed->len, ==, 1);
  s = g_array_index (closed, KmgMeterSecond, 0);
  g_assert_cmpint (s.second, ==, 5001);
  g_assert_cmpuint (s.packets, ==, 1);
  g_array_unref (closed);

  kmg_fanout_remove_target (fx.fanout, fx.target);
  g_assert_cmpuint (kmg_fanout_get_n_targets (fx.fanout), ==, 0);
  /* Late feedback for a removed target (a buyer thread racing the removal) is ignored. */
  guint8 pli[] = { 0x81, 206, 0, 2, 0, 0, 0, 9, 0x12, 0x34, 0xab, 0xcd };
  KmgFanoutFeedback fb;
  kmg_fanout_target_feedback (fx.fanout, fx.target, pli, sizeof pli, &fb);
  g_assert_false (fb.keyframe_wanted);
  kmg_fanout_push (fx.fanout, rtp, make_rtp (rtp, 7, 100), 5002);
  g_assert_true (nothing_waiting (&fx));
  fixture_tear_down (&fx);
}

/* A sender report goes out encrypted as SRTCP; the receiver's echo of it gives the RTT. */
static void
test_sender_report_and_rtt (void)
{
  Fixture fx;
  guint8 rtp[400], wire[600];
  KmgFanoutFeedback fb;

  fixture_set_up (&fx, KMG_SRTP_AES128_CM_SHA1_80, 30);
  kmg_fanout_send_reports (fx.fanout, g_get_real_time ()); /* nothing forwarded yet: no report */
  g_assert_true (nothing_waiting (&fx));
  for (guint16 seq = 1; seq <= 3; seq++)
    {
      kmg_fanout_push (fx.fanout, rtp, make_rtp (rtp, seq, 100), 5000);
      receive (&fx, wire, sizeof wire);
    }
  kmg_fanout_send_reports (fx.fanout, g_get_real_time ());
  gssize n = receive (&fx, wire, sizeof wire);
  int len = (int) n;
  g_assert_cmpint (srtp_unprotect_rtcp (fx.receiver, wire, &len), ==, srtp_err_status_ok);
  g_assert_cmpint (len, ==, 28);
  g_assert_cmpuint (wire[1], ==, 200);
  g_assert_cmpuint (wire[4] << 24 | wire[5] << 16 | wire[6] << 8 | wire[7], ==, 0x1234abcd);
  g_assert_cmpuint (wire[23], ==, 3);   /* packets */
  g_assert_cmpuint (wire[26] << 8 | wire[27], ==, 300); /* payload octets */

  /* RR echoing that SR (LSR = middle 32 bits of its NTP time) after a 0.25 s hold (DLSR). */
  guint8 rr[32] = { 0x81, 201, 0, 7, 0, 0, 0, 9, 0x12, 0x34, 0xab, 0xcd };
  memcpy (rr + 24, wire + 10, 4);
  rr[30] = 0x40; /* DLSR 0x4000 / 65536 s */
  kmg_fanout_target_feedback (fx.fanout, fx.target, rr, sizeof rr, &fb);
  g_assert_true (fb.have_rr);
  /* The RR came back at once but claims a 0.25 s hold: the sum is not a round trip. */
  g_assert_cmpfloat (fb.rtt, ==, -1);
  rr[30] = 0;
  kmg_fanout_target_feedback (fx.fanout, fx.target, rr, sizeof rr, &fb);
  g_assert_cmpfloat (fb.rtt, >=, 0);
  g_assert_cmpfloat (fb.rtt, <, 0.5);
  fixture_tear_down (&fx);
}

/* Enough buyers for the push to be shared with helper threads: every buyer still gets every
 * packet once, in order, decryptable with its own key. */
static void
test_many_targets_in_order (void)
{
  enum { N = 45, PACKETS = 30 };
  g_autoptr (KmgFanout) fanout = kmg_fanout_new (64, 90000);
  GSocket *send = udp_socket (), *recv[N];
  srtp_t receivers[N];
  guint8 rtp[300], wire[400];

  for (int i = 0; i < N; i++)
    {
      g_autoptr (GError) error = NULL;
      recv[i] = udp_socket ();
      g_socket_set_timeout (recv[i], 2);
      g_autoptr (GSocketAddress) addr = g_socket_get_local_address (recv[i], NULL);
      KmgSrtpParams params = { .profile = KMG_SRTP_AES128_CM_SHA1_80, .key_len = 30 };
      for (int k = 0; k < 30; k++)
        params.key[k] = (guint8) (i * 31 + k);
      g_assert_nonnull (kmg_fanout_add_target (fanout, &params, send, addr, NULL, NULL, &error));
      g_assert_no_error (error);
      receivers[i] = receiver_new (&params);
    }
  for (guint16 seq = 0; seq < PACKETS; seq++)
    kmg_fanout_push (fanout, rtp, make_rtp (rtp, seq, 200), 7000);
  for (int i = 0; i < N; i++)
    {
      for (guint16 seq = 0; seq < PACKETS; seq++)
        {
          g_autoptr (GError) error = NULL;
          gssize n = g_socket_receive (recv[i], (gchar *) wire, sizeof wire, NULL, &error);
          g_assert_no_error (error);
          int len = (int) n;
          g_assert_cmpint (srtp_unprotect (receivers[i], wire, &len), ==, srtp_err_status_ok);
          g_assert_cmpuint (wire[2] << 8 | wire[3], ==, seq);
        }
      srtp_dealloc (receivers[i]);
      g_object_unref (recv[i]);
    }
  g_object_unref (send);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/relay/fanout/roundtrip-aes-cm", test_roundtrip_cm);
  g_test_add_func ("/relay/fanout/roundtrip-aes-gcm", test_roundtrip_gcm);
  g_test_add_func ("/relay/fanout/bad-key", test_bad_key);
  g_test_add_func ("/relay/fanout/not-rtp-ignored", test_not_rtp_ignored);
  g_test_add_func ("/relay/fanout/nack-pli-rr", test_nack_pli_rr);
  g_test_add_func ("/relay/fanout/nack-as-rtx", test_nack_as_rtx);
  g_test_add_func ("/relay/fanout/nack-flood-budget", test_nack_flood_budget);
  g_test_add_func ("/relay/fanout/nack-budget-bytes", test_nack_budget_bytes);
  g_test_add_func ("/relay/fanout/seconds-and-remove", test_seconds_and_remove);
  g_test_add_func ("/relay/fanout/sender-report-and-rtt", test_sender_report_and_rtt);
  g_test_add_func ("/relay/fanout/many-targets-in-order", test_many_targets_in_order);
  return g_test_run ();
}
