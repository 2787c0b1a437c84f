/* fuzz-rtcp-feedback.c — a buyer's decrypted RTCP compound packet through the fan-out
 * (kmg_fanout_target_feedback): SR/RR report blocks, generic NACKs answered from the seller's
 * history within the buyer's budget, PLI/FIR. Resends go to a loopback socket of our own. */

#include "kmg-fanout.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const unsigned char *data, size_t size);

#define HISTORY 64

static KmgFanout *fanout;
static KmgFanoutTarget *target;
static GSocket *sock;

static void
setup (void)
{
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) dest = NULL;
  KmgSrtpParams params = { .profile = KMG_SRTP_AES128_CM_SHA1_80, .key_len = 30 };
  guint8 rtp[1500] = { 0 };

  sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
  g_assert_nonnull (sock);
  g_assert_true (g_socket_bind (sock, any, FALSE, NULL));
  /* Resends come back to this socket, drained after each input. */
  dest = g_socket_get_local_address (sock, NULL);
  g_assert_nonnull (dest);
  g_socket_set_blocking (sock, FALSE);
  fanout = kmg_fanout_new (HISTORY, 90000);
  /* Seller packets 0..63 fill the history, 200 to 1,500 bytes, so both budgets can run out. */
  for (guint seq = 0; seq < HISTORY; seq++)
    {
      gsize len = 200 + (seq * 97) % 1301;
      rtp[0] = 0x80;
      rtp[1] = 96;
      rtp[2] = (guint8) (seq >> 8);
      rtp[3] = (guint8) seq;
      rtp[11] = 1;
      kmg_fanout_push (fanout, rtp, len, 1000);
    }
  /* One buyer for every input: making its SRTP session costs more than parsing. Its resend
   * budget refills with time, as a real buyer's does. */
  memset (params.key, 0x5a, params.key_len);
  target = kmg_fanout_add_target (fanout, &params, sock, dest, NULL, NULL, NULL);
  g_assert_nonnull (target);
}

int
LLVMFuzzerTestOneInput (const unsigned char *data, size_t size)
{
  static gboolean initialized;
  static guint8 drain[2048];
  KmgFanoutFeedback fb, last;
  KmgFanoutCounters counters, grown = { 0 };
  g_autoptr (GArray) seconds = g_array_new (FALSE, FALSE, sizeof (KmgMeterSecond));

  if (!initialized)
    {
      setup ();
      initialized = TRUE;
    }
  if (size > 65535)
    return 0;
  kmg_fanout_target_add_growth (fanout, target, &grown); /* forget what earlier inputs did */
  memset (&grown, 0, sizeof grown);
  kmg_fanout_target_feedback (fanout, target, data, size, &fb);

  /* A NACK item (4 bytes after a 12-byte header) names at most 17 packets. */
  g_assert_cmpuint (fb.nacked, <=, size < 12 ? 0 : 17 * ((size - 12) / 4));
  g_assert_cmpuint (fb.retransmitted + fb.refused, <=, fb.nacked);
  /* One call refills the budget once, to one second's worth at most. */
  g_assert_cmpuint (fb.retransmitted, <=, KMG_FANOUT_NACK_PACKETS_PER_SECOND);
  if (fb.have_rr)
    {
      g_assert_cmpfloat (fb.fraction_lost, >=, 0);
      g_assert_cmpfloat (fb.fraction_lost, <, 1);
      g_assert_cmpfloat (fb.jitter, >=, 0);
      g_assert_true (fb.rtt == -1 || (fb.rtt >= 0 && fb.rtt < 32768));
    }
  else
    g_assert_cmpfloat (fb.rtt, ==, -1);
  kmg_fanout_target_add_growth (fanout, target, &grown);
  g_assert_cmpuint (grown.retransmitted, ==, fb.retransmitted);
  g_assert_cmpuint (grown.retransmit_refused, ==, fb.refused);
  g_assert_cmpuint (grown.packets_sent, ==, 0);
  kmg_fanout_target_poll (fanout, target, 2000, &counters, &last, seconds);
  g_assert_cmpuint (seconds->len, ==, 0);
  if (fb.have_rr)
    g_assert_true (last.have_rr && last.rr_fingerprint == fb.rr_fingerprint);
  /* Drop what was resent, so that the next input's resends are sent too. */
  while (g_socket_receive (sock, (char *) drain, sizeof drain, NULL, NULL) > 0)
    ;
  return 0;
}
