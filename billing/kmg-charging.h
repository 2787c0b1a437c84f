/* kmg-charging.h — the charging rules of DESIGN §6 as pure functions: delivered seconds,
 * when a minute is due, the fee split, the balance decision. No I/O; time comes in as arguments. */
#pragma once

#include "kmg-billing-types.h"

G_BEGIN_DECLS

/* One delivered wall-clock second, with the numbers that back it. */
typedef struct
{
  gint64 second;            /* unix second index */
  KmgDeliverySource source;
  guint64 packets;          /* video RTP packets forwarded (relay) or received (buyer) */
  guint64 bytes;
  double loss;              /* fraction lost 0..1 */
  double jitter_ms;         /* < 0: unknown */
  double rtt_ms;            /* < 0: unknown */
} KmgDeliveredSecond;

/* The evidence row written with a charged minute: the delivered seconds counted since the
 * previous charged minute, up to and including the one that made this minute due. */
typedef struct
{
  guint minute_index;
  KmgDeliverySource source;   /* majority source of its seconds; relay on a tie */
  gint64 first_second;        /* smallest and largest second index counted */
  gint64 last_second;
  guint delivered_seconds;
  guint64 total_seconds;      /* delivered seconds of the session when this minute became due */
  guint64 packets;
  guint64 bytes;
  double loss;                /* worst of its seconds */
  double jitter_ms;           /* worst known, < 0 when none known */
  double rtt_ms;              /* worst known, < 0 when none known */
} KmgMinuteEvidence;

/* Split of one minute's price: fee = floor(price × fee_pct / 100), seller gets the rest. */
void kmg_charge_split (gint64 price, guint fee_pct, gint64 *seller_share, gint64 *fee);

/* Delivered seconds at which minute @minute_index becomes due: min_billable_s for minute 0,
 * minute_s·k + 1 for minute k >= 1 (the first second past 60·k). */
guint64 kmg_charge_threshold (guint min_billable_s, guint minute_s, guint minute_index);

/* How many minutes are due after @delivered seconds. */
guint kmg_charge_minutes_due (guint min_billable_s, guint minute_s, guint64 delivered);

typedef enum
{
  KMG_CHARGE_DECISION_CHARGE,
  KMG_CHARGE_DECISION_END_INSUFFICIENT,
} KmgChargeDecision;

/* Before a minute is charged: the balance must cover it. *@low_balance tells whether, after the
 * charge, fewer than @low_minutes minutes at @price remain. */
KmgChargeDecision kmg_charge_decide (gint64 balance, gint64 price, guint low_minutes,
                                     gboolean *low_balance);

/* Per-session accumulator of delivered seconds. Counts each second index once whatever the
 * order or repetition of events, and queues a minute's evidence the moment it becomes due.
 * Nothing is billed before the buyer sees a picture: a new meter is inactive, and a second only
 * counts when it is handed over while the meter is active (kmg_charge_meter_set_active). */
typedef struct _KmgChargeMeter KmgChargeMeter;

typedef enum
{
  KMG_METER_COUNTED,   /* a new delivered second */
  KMG_METER_DUPLICATE, /* that second was already counted: no effect */
  KMG_METER_REJECTED,  /* before the session start, in the future, malformed, or meter stopped */
  KMG_METER_INACTIVE,  /* the session is not active (no picture yet, or lost): not counted */
  KMG_METER_UNDELIVERED, /* relay path: the second failed the delivered-second rule */
} KmgMeterVerdict;

KmgChargeMeter *kmg_charge_meter_new (guint min_billable_s, guint minute_s, gint64 start_second);
void kmg_charge_meter_free (KmgChargeMeter *meter);
KmgMeterVerdict kmg_charge_meter_add (KmgChargeMeter *meter, const KmgDeliveredSecond *ev,
                                      gint64 now_ms);
/* Minutes due but not yet settled, oldest first. */
guint kmg_charge_meter_pending (const KmgChargeMeter *meter);
const KmgMinuteEvidence *kmg_charge_meter_peek (const KmgChargeMeter *meter, guint i);
/* The oldest @n pending minutes were charged (or the session ended): drop them. */
void kmg_charge_meter_settle (KmgChargeMeter *meter, guint n);
/* The session is active (the buyer has seen its first frame) or no longer is (reconnecting,
 * switching path). While inactive every second is INACTIVE and leaves no trace: the same second
 * handed over again once active counts. */
void kmg_charge_meter_set_active (KmgChargeMeter *meter, gboolean active);
gboolean kmg_charge_meter_is_active (const KmgChargeMeter *meter);
/* No more seconds are accepted (the session ended). */
void kmg_charge_meter_stop (KmgChargeMeter *meter);
guint64 kmg_charge_meter_delivered (const KmgChargeMeter *meter);
/* Minutes settled so far. */
guint kmg_charge_meter_settled (const KmgChargeMeter *meter);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgChargeMeter, kmg_charge_meter_free)

/* Relay path: what the relay measured during one wall-clock second for one buyer leg. */
typedef struct
{
  gint64 second;
  guint64 video_packets;   /* video RTP packets forwarded to the buyer in that second */
  guint64 bytes;
  gint64 rr_age_ms;        /* age of the buyer's last fresh RTCP receiver report when the second
                            * was measured; < 0: none yet */
  double rr_fraction_lost; /* from that report, 0..1; < 0: unknown */
  double jitter_ms;        /* < 0: unknown */
  double rtt_ms;           /* < 0: unknown */
} KmgRelaySecondSample;

/* The delivered-second rule of the relay path (DESIGN §6): a relayed second counts when >= 1
 * video packet was forwarded and the last fresh receiver report is younger than
 * @receipt_timeout_s and shows a known loss below 50 %. Fills @out when it counts. */
gboolean kmg_relay_second_delivered (const KmgRelaySecondSample *sample, guint receipt_timeout_s,
                                     KmgDeliveredSecond *out);

/* P2P path: one periodic stats report from the buyer (cumulative counters). */
typedef struct
{
  gint64 at_ms;            /* unix ms when the server received it */
  guint64 frames_decoded;
  guint64 packets_received;
  guint64 bytes_received;
  double loss;             /* fraction 0..1 over the interval, as the client computed it */
  double jitter_ms;        /* < 0: unknown */
  double rtt_ms;           /* < 0: unknown */
} KmgBuyerStatsReport;

/* The seconds attested by @cur following @prev: the wall seconds whose start lies in
 * (prev.at, cur.at], provided the two are at most @max_gap_s apart, frames_decoded increased
 * and no counter went back. Appends KmgDeliveredSecond to @out and returns how many. */
guint kmg_buyer_report_seconds (const KmgBuyerStatsReport *prev, const KmgBuyerStatsReport *cur,
                                guint max_gap_s, GArray *out);
/* Same over a whole sequence of reports in arrival order. */
guint kmg_buyer_reports_to_seconds (const KmgBuyerStatsReport *reports, guint n, guint max_gap_s,
                                    GArray *out);

/* Audit: checks that a session's evidence rows (sorted by minute index) are exactly what the
 * rules produce — indices 0..n-1, each row making its minute due at its threshold, seconds
 * consistent with the time range. Returns FALSE with a reason in *@why. */
gboolean kmg_charge_check_evidence (guint min_billable_s, guint minute_s, gint64 start_second,
                                    const KmgMinuteEvidence *rows, guint n, char **why);

G_END_DECLS
