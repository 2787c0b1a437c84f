/* kmg-relay-measure.h — what the relay measures per buyer leg and second, receiver report
 * freshness and the keyframe request throttle. Pure: time is passed in. The delivered-second
 * rule itself (DESIGN §6) is billing's (kmg_relay_second_delivered in billing/kmg-charging.h). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One wall-clock second of a relayed watch session as the relay measured it: no verdict. */
typedef struct
{
  gint64 second;        /* unix seconds */
  guint64 packets;      /* video RTP packets forwarded to the buyer */
  guint64 bytes;        /* their payload bytes */
  gint64 rr_age_ms;     /* age of the buyer's last changed receiver report; -1: none yet */
  double fraction_lost; /* from that report, 0..1; -1: unknown */
  double jitter;        /* seconds; -1: unknown */
  double rtt;           /* seconds; -1: unknown */
} KmgRelaySecond;

/* Tracks when the buyer's receiver report last changed: webrtcbin keeps returning the
 * last report it got, so a report that stops changing means the buyer went silent. */
typedef struct
{
  gboolean have;
  guint64 fingerprint;
  gint64 changed_ms;
} KmgRrFreshness;

void kmg_rr_freshness_update (KmgRrFreshness *fresh, guint64 fingerprint, gint64 now_ms);
gint64 kmg_rr_freshness_age_ms (const KmgRrFreshness *fresh, gint64 now_ms);

/* Fingerprint of the report block fields that change from one RR to the next. */
guint64 kmg_rr_fingerprint (guint64 ext_highest_seq, guint64 lsr, guint64 dlsr, guint64 jitter, gint64 lost);

/* Throttle: TRUE if an event at @now_ms is allowed given the last allowed one (*@last_ms,
 * G_MININT64 if none); updates *@last_ms when allowed. */
gboolean kmg_throttle_allow (gint64 *last_ms, gint64 now_ms, gint64 interval_ms);

G_END_DECLS
