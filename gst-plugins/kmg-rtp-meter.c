/* kmg-rtp-meter.c — pure RTP packet classification and per-second counting for kamegormeter.
 * Kept free of GStreamer so the counting rules are tested without a pipeline. */
#include "kmg-rtp-meter.h"

#include <stdlib.h>
#include <string.h>

struct _KmgRtpMeter
{
  gboolean open;
  KmgMeterSecond cur;
  gboolean have_seq;
  guint32 ssrc;
  guint64 ext_seq; /* highest extended sequence number seen for @ssrc */
};

KmgRtpKind
kmg_rtp_parse (const guint8 *data, gsize len, KmgRtpInfo *info)
{
  g_return_val_if_fail (info != NULL, KMG_RTP_KIND_INVALID);

  if (data == NULL || len < 2 || (data[0] >> 6) != 2)
    return KMG_RTP_KIND_INVALID;
  /* RFC 5761: RTCP packet types 192..223 collide with RTP marker+PT 64..95, which RTP never uses. */
  if (data[1] >= 192 && data[1] <= 223)
    return len >= 8 ? KMG_RTP_KIND_RTCP : KMG_RTP_KIND_INVALID;
  if (len < 12)
    return KMG_RTP_KIND_INVALID;

  gsize header = 12 + 4 * (gsize) (data[0] & 0x0f);
  if (header > len)
    return KMG_RTP_KIND_INVALID;
  if (data[0] & 0x10)
    {
      if (header + 4 > len)
        return KMG_RTP_KIND_INVALID;
      header += 4 + 4 * (gsize) ((data[header + 2] << 8) | data[header + 3]);
      if (header > len)
        return KMG_RTP_KIND_INVALID;
    }
  gsize padding = 0;
  if (data[0] & 0x20)
    {
      padding = data[len - 1];
      if (padding == 0 || header + padding > len)
        return KMG_RTP_KIND_INVALID;
    }

  info->payload_type = data[1] & 0x7f;
  info->seq = (guint16) ((data[2] << 8) | data[3]);
  info->ssrc = ((guint32) data[8] << 24) | ((guint32) data[9] << 16) | ((guint32) data[10] << 8) | data[11];
  info->payload_len = len - header - padding;
  return KMG_RTP_KIND_RTP;
}

gboolean
kmg_rtp_pt_set_parse (const char *text, guint64 set[2], gboolean *all)
{
  guint64 out[2] = { 0, 0 };

  g_return_val_if_fail (set != NULL && all != NULL, FALSE);

  if (text == NULL || *text == '\0')
    {
      set[0] = set[1] = 0;
      *all = TRUE;
      return TRUE;
    }
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      guint64 pt = 0;
      g_strstrip (parts[i]);
      if (!g_ascii_string_to_unsigned (parts[i], 10, 0, 127, &pt, NULL))
        return FALSE;
      out[pt / 64] |= G_GUINT64_CONSTANT (1) << (pt % 64);
    }
  set[0] = out[0];
  set[1] = out[1];
  *all = FALSE;
  return TRUE;
}

gboolean
kmg_rtp_pt_set_contains (const guint64 set[2], guint8 pt)
{
  pt &= 0x7f;
  return (set[pt / 64] >> (pt % 64)) & 1;
}

KmgRtpMeter *
kmg_rtp_meter_new (void)
{
  return g_new0 (KmgRtpMeter, 1);
}

void
kmg_rtp_meter_free (KmgRtpMeter *meter)
{
  g_free (meter);
}

/* Extends a 16-bit sequence number against the highest one seen (RFC 3550 A.1 style). */
static guint64
extend_seq (KmgRtpMeter *meter, const KmgRtpInfo *info)
{
  if (!meter->have_seq || meter->ssrc != info->ssrc)
    {
      meter->have_seq = TRUE;
      meter->ssrc = info->ssrc;
      meter->ext_seq = G_GUINT64_CONSTANT (1) << 16 | info->seq; /* room to go backwards */
      return meter->ext_seq;
    }
  gint16 delta = (gint16) (info->seq - (guint16) (meter->ext_seq & 0xffff));
  guint64 ext = (guint64) ((gint64) meter->ext_seq + delta);
  if (ext > meter->ext_seq)
    meter->ext_seq = ext;
  return ext;
}

static gboolean
close_open (KmgRtpMeter *meter, KmgMeterSecond *closed)
{
  if (!meter->open || meter->cur.packets == 0)
    {
      meter->open = FALSE;
      return FALSE;
    }
  guint64 expected = meter->cur.seq_last - meter->cur.seq_first + 1;
  meter->cur.lost = expected > meter->cur.packets ? expected - meter->cur.packets : 0;
  *closed = meter->cur;
  meter->open = FALSE;
  return TRUE;
}

gboolean
kmg_rtp_meter_add (KmgRtpMeter *meter, const KmgRtpInfo *info, gsize wire_len,
                   gint64 second, KmgMeterSecond *closed)
{
  gboolean did_close = FALSE;

  g_return_val_if_fail (meter != NULL && info != NULL && closed != NULL, FALSE);

  /* A packet stamped earlier than the open second (clock step) joins the open second. */
  if (meter->open && second > meter->cur.second)
    did_close = close_open (meter, closed);

  guint64 ext = extend_seq (meter, info);
  if (!meter->open)
    {
      memset (&meter->cur, 0, sizeof meter->cur);
      meter->open = TRUE;
      meter->cur.second = second;
      meter->cur.seq_first = ext;
      meter->cur.seq_last = ext;
    }
  if (meter->cur.ssrc != info->ssrc && meter->cur.packets > 0)
    {
      /* A new sender restarts the sequence range; the loss estimate covers the last SSRC only. */
      meter->cur.seq_first = ext;
      meter->cur.seq_last = ext;
    }
  meter->cur.ssrc = info->ssrc;
  meter->cur.packets++;
  meter->cur.payload_bytes += info->payload_len;
  meter->cur.wire_bytes += wire_len;
  meter->cur.seq_first = MIN (meter->cur.seq_first, ext);
  meter->cur.seq_last = MAX (meter->cur.seq_last, ext);
  return did_close;
}

gboolean
kmg_rtp_meter_flush (KmgRtpMeter *meter, gint64 now_second, KmgMeterSecond *closed)
{
  g_return_val_if_fail (meter != NULL && closed != NULL, FALSE);

  if (!meter->open || meter->cur.second >= now_second)
    return FALSE;
  return close_open (meter, closed);
}

gboolean
kmg_rtp_meter_finish (KmgRtpMeter *meter, KmgMeterSecond *closed)
{
  g_return_val_if_fail (meter != NULL && closed != NULL, FALSE);
  return close_open (meter, closed);
}
