/* kmg-rtp-meter.h — pure RTP packet classification and per-second counting for kamegormeter.
 * No GStreamer, no I/O, no clock: the caller passes the wall-clock second of each packet. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  KMG_RTP_KIND_INVALID,
  KMG_RTP_KIND_RTP,
  KMG_RTP_KIND_RTCP,
} KmgRtpKind;

typedef struct
{
  guint8 payload_type;
  guint16 seq;
  guint32 ssrc;
  gsize payload_len;
} KmgRtpInfo;

/* One closed wall-clock second of forwarded media. */
typedef struct
{
  gint64 second;
  guint64 packets;
  guint64 payload_bytes;
  guint64 wire_bytes;
  guint32 ssrc;
  guint64 seq_first; /* extended sequence numbers */
  guint64 seq_last;
  guint64 lost; /* gaps in the sequence range not seen this second (estimate) */
} KmgMeterSecond;

typedef struct _KmgRtpMeter KmgRtpMeter;

/* Classifies @data as RTP or RTCP (RFC 5761 demux on the payload type byte). */
KmgRtpKind kmg_rtp_parse (const guint8 *data, gsize len, KmgRtpInfo *info);

/* Parses "96,100" into a 128-bit payload type set; empty or NULL selects every type.
 * Returns FALSE on malformed input (the set is left unchanged). */
gboolean kmg_rtp_pt_set_parse (const char *text, guint64 set[2], gboolean *all);
gboolean kmg_rtp_pt_set_contains (const guint64 set[2], guint8 pt);

KmgRtpMeter *kmg_rtp_meter_new (void);
void kmg_rtp_meter_free (KmgRtpMeter *meter);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgRtpMeter, kmg_rtp_meter_free)

/* Counts one packet seen during @second. When @second is later than the open
 * second and the open one had packets, it is returned in @closed and TRUE is returned. */
gboolean kmg_rtp_meter_add (KmgRtpMeter *meter, const KmgRtpInfo *info, gsize wire_len,
                            gint64 second, KmgMeterSecond *closed);

/* Closes the open second if it is older than @now_second (no packet will join it any more). */
gboolean kmg_rtp_meter_flush (KmgRtpMeter *meter, gint64 now_second, KmgMeterSecond *closed);

/* Closes the open second whatever its age (end of stream). */
gboolean kmg_rtp_meter_finish (KmgRtpMeter *meter, KmgMeterSecond *closed);

G_END_DECLS
