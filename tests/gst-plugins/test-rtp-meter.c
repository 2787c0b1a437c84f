/* test-rtp-meter.c — unit tests for the pure RTP classification and per-second counter
 * behind kamegormeter (no pipeline). */
#include "kmg-rtp-meter.h"

#include <string.h>

static gsize
make_rtp (guint8 *out, guint8 pt, guint16 seq, guint32 ssrc, gsize payload)
{
  memset (out, 0xab, 12 + payload);
  out[0] = 0x80;
  out[1] = pt;
  out[2] = seq >> 8;
  out[3] = seq & 0xff;
  out[8] = ssrc >> 24;
  out[9] = (ssrc >> 16) & 0xff;
  out[10] = (ssrc >> 8) & 0xff;
  out[11] = ssrc & 0xff;
  return 12 + payload;
}

static void
test_parse_rtp (void)
{
  guint8 pkt[64];
  KmgRtpInfo info;
  gsize len = make_rtp (pkt, 96 | 0x80, 4242, 0xdeadbeef, 20);

  g_assert_cmpint (kmg_rtp_parse (pkt, len, &info), ==, KMG_RTP_KIND_RTP);
  g_assert_cmpuint (info.payload_type, ==, 96);
  g_assert_cmpuint (info.seq, ==, 4242);
  g_assert_cmphex (info.ssrc, ==, 0xdeadbeef);
  g_assert_cmpuint (info.payload_len, ==, 20);

  /* One CSRC, a one-word extension and 3 bytes of padding. */
  pkt[0] = 0x80 | 0x20 | 0x10 | 1;
  pkt[16 + 2] = 0;
  pkt[16 + 3] = 1;
  pkt[len - 1] = 3;
  g_assert_cmpint (kmg_rtp_parse (pkt, len, &info), ==, KMG_RTP_KIND_RTP);
  g_assert_cmpuint (info.payload_len, ==, 20 - 4 - 8 - 3);
}

static void
test_parse_rejects (void)
{
  guint8 pkt[64];
  KmgRtpInfo info;
  gsize len = make_rtp (pkt, 96, 1, 1, 4);

  g_assert_cmpint (kmg_rtp_parse (pkt, 11, &info), ==, KMG_RTP_KIND_INVALID);
  pkt[0] = 0x40; /* version 1 */
  g_assert_cmpint (kmg_rtp_parse (pkt, len, &info), ==, KMG_RTP_KIND_INVALID);
  pkt[0] = 0x80 | 15; /* 15 CSRCs do not fit */
  g_assert_cmpint (kmg_rtp_parse (pkt, len, &info), ==, KMG_RTP_KIND_INVALID);
  pkt[0] = 0x81;
  pkt[1] = 201; /* RTCP receiver report */
  g_assert_cmpint (kmg_rtp_parse (pkt, 8, &info), ==, KMG_RTP_KIND_RTCP);
  g_assert_cmpint (kmg_rtp_parse (NULL, 0, &info), ==, KMG_RTP_KIND_INVALID);
}

static void
test_pt_set (void)
{
  guint64 set[2] = { 0, 0 };
  gboolean all = FALSE;

  g_assert_true (kmg_rtp_pt_set_parse ("96, 127,0", set, &all));
  g_assert_false (all);
  g_assert_true (kmg_rtp_pt_set_contains (set, 96));
  g_assert_true (kmg_rtp_pt_set_contains (set, 127));
  g_assert_true (kmg_rtp_pt_set_contains (set, 0));
  g_assert_false (kmg_rtp_pt_set_contains (set, 97));
  g_assert_false (kmg_rtp_pt_set_parse ("96,128", set, &all));
  g_assert_false (kmg_rtp_pt_set_parse ("x", set, &all));
  g_assert_true (kmg_rtp_pt_set_contains (set, 96)); /* unchanged on error */
  g_assert_true (kmg_rtp_pt_set_parse ("", set, &all));
  g_assert_true (all);
}

static void
test_seconds_and_loss (void)
{
  g_autoptr (KmgRtpMeter) meter = kmg_rtp_meter_new ();
  guint8 pkt[64];
  KmgRtpInfo info;
  KmgMeterSecond closed;
  guint16 seqs[] = { 65533, 65534, 1, 2 }; /* wraps, 65535 and 0 missing */

  for (guint i = 0; i < G_N_ELEMENTS (seqs); i++)
    {
      gsize len = make_rtp (pkt, 96, seqs[i], 7, 10);
      g_assert_cmpint (kmg_rtp_parse (pkt, len, &info), ==, KMG_RTP_KIND_RTP);
      g_assert_false (kmg_rtp_meter_add (meter, &info, len, 100, &closed));
    }
  g_assert_false (kmg_rtp_meter_flush (meter, 100, &closed));
  gsize len = make_rtp (pkt, 96, 3, 7, 10);
  kmg_rtp_parse (pkt, len, &info);
  g_assert_true (kmg_rtp_meter_add (meter, &info, len, 101, &closed));
  g_assert_cmpint (closed.second, ==, 100);
  g_assert_cmpuint (closed.packets, ==, 4);
  g_assert_cmpuint (closed.payload_bytes, ==, 40);
  g_assert_cmpuint (closed.wire_bytes, ==, 88);
  g_assert_cmpuint (closed.ssrc, ==, 7);
  g_assert_cmpuint (closed.seq_first & 0xffff, ==, 65533);
  g_assert_cmpuint (closed.seq_last & 0xffff, ==, 2);
  g_assert_cmpuint (closed.lost, ==, 2);

  g_assert_true (kmg_rtp_meter_flush (meter, 102, &closed));
  g_assert_cmpint (closed.second, ==, 101);
  g_assert_cmpuint (closed.packets, ==, 1);
  g_assert_cmpuint (closed.lost, ==, 0);
  g_assert_false (kmg_rtp_meter_flush (meter, 103, &closed));
  g_assert_false (kmg_rtp_meter_finish (meter, &closed));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gst-plugins/rtp-meter/parse-rtp", test_parse_rtp);
  g_test_add_func ("/gst-plugins/rtp-meter/parse-rejects", test_parse_rejects);
  g_test_add_func ("/gst-plugins/rtp-meter/payload-type-set", test_pt_set);
  g_test_add_func ("/gst-plugins/rtp-meter/seconds-and-loss", test_seconds_and_loss);
  return g_test_run ();
}
