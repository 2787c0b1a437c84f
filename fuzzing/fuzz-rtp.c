/* fuzz-rtp.c — a seller's RTP as the relay reads it: each packet classified and parsed
 * (kmg_rtp_parse, as kmg_fanout_push does), then counted per second by the meter. */

#include "kmg-rtp-meter.h"

int LLVMFuzzerTestOneInput (const unsigned char *data, size_t size);

static void
check_parse (const guint8 *pkt, gsize len)
{
  KmgRtpInfo info = { 0 };
  KmgRtpKind kind = kmg_rtp_parse (pkt, len, &info);

  if (kind == KMG_RTP_KIND_RTCP)
    g_assert_cmpuint (len, >=, 8);
  if (kind != KMG_RTP_KIND_RTP)
    return;
  /* What a parse promises: a whole fixed header, and a payload inside the packet. */
  g_assert_cmpuint (len, >=, 12);
  g_assert_cmpuint (info.payload_len, <=, len - 12 - 4 * (gsize) (pkt[0] & 0x0f));
  g_assert_cmpuint (info.payload_type, <, 128);
  g_assert_cmpuint (info.seq, ==, (guint) (pkt[2] << 8 | pkt[3]));
  g_assert_cmpuint (info.ssrc >> 24, ==, pkt[8]);
}

static void
check_second (const KmgMeterSecond *s, gint64 *last_second, guint64 *packets)
{
  g_assert_cmpuint (s->packets, >=, 1);
  g_assert_cmpuint (s->seq_first, <=, s->seq_last);
  g_assert_cmpuint (s->lost, <=, s->seq_last - s->seq_first);
  g_assert_cmpuint (s->payload_bytes, <=, s->wire_bytes);
  g_assert_cmpint (s->second, >=, *last_second);
  *last_second = s->second;
  *packets += s->packets;
}

/* The input as a whole packet, then as a stream of packets: one length byte, one byte whose low
 * two bits advance the clock (in seconds), then the packet. */
int
LLVMFuzzerTestOneInput (const unsigned char *data, size_t size)
{
  g_autoptr (KmgRtpMeter) meter = kmg_rtp_meter_new ();
  KmgMeterSecond closed;
  gint64 second = 1000, last_second = 0;
  guint64 added = 0, counted = 0;

  check_parse (data, size);
  for (gsize off = 0; off + 2 <= size;)
    {
      gsize len = MIN (data[off], size - off - 2);
      const guint8 *pkt = data + off + 2;
      KmgRtpInfo info = { 0 };

      second += data[off + 1] & 3;
      off += 2 + len;
      check_parse (pkt, len);
      if (kmg_rtp_parse (pkt, len, &info) != KMG_RTP_KIND_RTP)
        continue;
      added++;
      if (kmg_rtp_meter_add (meter, &info, len, second, &closed))
        check_second (&closed, &last_second, &counted);
      if (kmg_rtp_meter_flush (meter, second - 1, &closed))
        check_second (&closed, &last_second, &counted);
    }
  if (kmg_rtp_meter_finish (meter, &closed))
    check_second (&closed, &last_second, &counted);
  /* Every packet counted exactly once. */
  g_assert_cmpuint (counted, ==, added);
  return 0;
}
