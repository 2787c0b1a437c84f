/* kmg-charging.c — pure charging rules: second dedupe, minute due points, split, decisions,
 * and the two definitions of a delivered second (relay measured, buyer attested). No I/O. */

#include "kmg-charging.h"

#include <math.h>
#include <string.h>

/* A session cannot meter seconds further than this from its start (bounds the bitmap). */
#define MAX_SESSION_SECONDS (31 * 86400)

void
kmg_charge_split (gint64 price, guint fee_pct, gint64 *seller_share, gint64 *fee)
{
  g_return_if_fail (price >= 0 && fee_pct <= 100);
  /* Integer division of non-negative numbers is floor. */
  *fee = price * (gint64) fee_pct / 100;
  *seller_share = price - *fee;
}

guint64
kmg_charge_threshold (guint min_billable_s, guint minute_s, guint minute_index)
{
  if (minute_index == 0)
    return min_billable_s;
  return (guint64) minute_s * minute_index + 1;
}

guint
kmg_charge_minutes_due (guint min_billable_s, guint minute_s, guint64 delivered)
{
  if (delivered < min_billable_s || minute_s == 0)
    return 0;
  /* Minute k >= 1 is due when delivered >= minute_s·k + 1. */
  return 1 + (guint) ((delivered - 1) / minute_s);
}

KmgChargeDecision
kmg_charge_decide (gint64 balance, gint64 price, guint low_minutes, gboolean *low_balance)
{
  if (low_balance)
    *low_balance = FALSE;
  if (price <= 0 || balance < price)
    return KMG_CHARGE_DECISION_END_INSUFFICIENT;
  if (low_balance)
    *low_balance = balance - price < price * (gint64) low_minutes;
  return KMG_CHARGE_DECISION_CHARGE;
}

struct _KmgChargeMeter
{
  guint min_billable_s;
  guint minute_s;
  gint64 start_second;
  GByteArray *seen;     /* bit i: second start_second + i counted */
  guint64 delivered;
  KmgMinuteEvidence cur; /* seconds counted since the last due minute */
  guint cur_relay;
  guint cur_buyer;
  GArray *pending;      /* KmgMinuteEvidence */
  guint settled;
  gboolean active;
  gboolean stopped;
};

static void
evidence_reset (KmgMinuteEvidence *e)
{
  *e = (KmgMinuteEvidence){ 0 };
  e->jitter_ms = -1;
  e->rtt_ms = -1;
}

KmgChargeMeter *
kmg_charge_meter_new (guint min_billable_s, guint minute_s, gint64 start_second)
{
  KmgChargeMeter *m;

  g_return_val_if_fail (min_billable_s >= 1 && minute_s >= min_billable_s, NULL);
  m = g_new0 (KmgChargeMeter, 1);
  m->min_billable_s = min_billable_s;
  m->minute_s = minute_s;
  m->start_second = start_second;
  m->seen = g_byte_array_new ();
  m->pending = g_array_new (FALSE, FALSE, sizeof (KmgMinuteEvidence));
  evidence_reset (&m->cur);
  return m;
}

void
kmg_charge_meter_free (KmgChargeMeter *m)
{
  if (m == NULL)
    return;
  g_byte_array_unref (m->seen);
  g_array_unref (m->pending);
  g_free (m);
}

static gboolean
second_valid (const KmgChargeMeter *m, const KmgDeliveredSecond *ev, gint64 now_ms)
{
  gint64 now_s = now_ms >= 0 ? now_ms / 1000 : -((-now_ms + 999) / 1000);

  if ((guint) ev->source > KMG_DELIVERY_BUYER_ATTESTED)
    return FALSE;
  if (!(ev->loss >= 0.0 && ev->loss <= 1.0)) /* also refuses NaN */
    return FALSE;
  /* A second is billable only once it has begun and only inside the session. */
  return ev->second >= m->start_second && ev->second <= now_s
         && ev->second - m->start_second < MAX_SESSION_SECONDS;
}

/* Marks the second; FALSE when it was already marked. */
static gboolean
mark_seen (KmgChargeMeter *m, gint64 second)
{
  guint64 off = (guint64) (second - m->start_second);
  guint byte = (guint) (off / 8);
  guint8 bit = (guint8) (1u << (off % 8));

  if (byte >= m->seen->len)
    {
      guint old = m->seen->len;
      /* Grow geometrically; new bytes must be zero. */
      g_byte_array_set_size (m->seen, MAX (byte + 1, old * 2));
      memset (m->seen->data + old, 0, m->seen->len - old);
    }
  if (m->seen->data[byte] & bit)
    return FALSE;
  m->seen->data[byte] |= bit;
  return TRUE;
}

static double
worst_known (double acc, double v)
{
  if (v < 0 || isnan (v))
    return acc;
  return acc < 0 ? v : MAX (acc, v);
}

static void
accumulate (KmgChargeMeter *m, const KmgDeliveredSecond *ev)
{
  KmgMinuteEvidence *e = &m->cur;

  if (e->delivered_seconds == 0 || ev->second < e->first_second)
    e->first_second = ev->second;
  if (e->delivered_seconds == 0 || ev->second > e->last_second)
    e->last_second = ev->second;
  e->delivered_seconds++;
  e->packets += ev->packets;
  e->bytes += ev->bytes;
  e->loss = MAX (e->loss, ev->loss);
  e->jitter_ms = worst_known (e->jitter_ms, ev->jitter_ms);
  e->rtt_ms = worst_known (e->rtt_ms, ev->rtt_ms);
  if (ev->source == KMG_DELIVERY_RELAY_MEASURED)
    m->cur_relay++;
  else
    m->cur_buyer++;
}

KmgMeterVerdict
kmg_charge_meter_add (KmgChargeMeter *m, const KmgDeliveredSecond *ev, gint64 now_ms)
{
  guint next_index;

  g_return_val_if_fail (m != NULL && ev != NULL, KMG_METER_REJECTED);
  if (m->stopped || !second_valid (m, ev, now_ms))
    return KMG_METER_REJECTED;
  if (!m->active)
    return KMG_METER_INACTIVE;
  if (!mark_seen (m, ev->second))
    return KMG_METER_DUPLICATE;
  m->delivered++;
  accumulate (m, ev);
  next_index = m->settled + m->pending->len;
  /* delivered grows by one at a time, so it meets each threshold exactly. */
  if (m->delivered == kmg_charge_threshold (m->min_billable_s, m->minute_s, next_index))
    {
      KmgMinuteEvidence e = m->cur;
      e.minute_index = next_index;
      e.total_seconds = m->delivered;
      e.source = m->cur_buyer > m->cur_relay ? KMG_DELIVERY_BUYER_ATTESTED
                                             : KMG_DELIVERY_RELAY_MEASURED;
      g_array_append_val (m->pending, e);
      evidence_reset (&m->cur);
      m->cur_relay = m->cur_buyer = 0;
    }
  return KMG_METER_COUNTED;
}

guint
kmg_charge_meter_pending (const KmgChargeMeter *m)
{
  return m->pending->len;
}

const KmgMinuteEvidence *
kmg_charge_meter_peek (const KmgChargeMeter *m, guint i)
{
  g_return_val_if_fail (i < m->pending->len, NULL);
  return &g_array_index (m->pending, KmgMinuteEvidence, i);
}

void
kmg_charge_meter_settle (KmgChargeMeter *m, guint n)
{
  g_return_if_fail (n <= m->pending->len);
  g_array_remove_range (m->pending, 0, n);
  m->settled += n;
}

void
kmg_charge_meter_set_active (KmgChargeMeter *m, gboolean active)
{
  m->active = !!active;
}

gboolean
kmg_charge_meter_is_active (const KmgChargeMeter *m)
{
  return m->active;
}

void
kmg_charge_meter_stop (KmgChargeMeter *m)
{
  m->stopped = TRUE;
}

guint64
kmg_charge_meter_delivered (const KmgChargeMeter *m)
{
  return m->delivered;
}

guint
kmg_charge_meter_settled (const KmgChargeMeter *m)
{
  return m->settled;
}

gboolean
kmg_relay_second_delivered (const KmgRelaySecondSample *s, guint receipt_timeout_s,
                            KmgDeliveredSecond *out)
{
  if (s->video_packets == 0 || s->rr_age_ms < 0)
    return FALSE;
  if (s->rr_age_ms >= (gint64) receipt_timeout_s * 1000)
    return FALSE;
  /* Unknown loss is not evidence of receipt. */
  if (!(s->rr_fraction_lost >= 0.0 && s->rr_fraction_lost < 0.5))
    return FALSE;
  if (out)
    *out = (KmgDeliveredSecond){
      .second = s->second,
      .source = KMG_DELIVERY_RELAY_MEASURED,
      .packets = s->video_packets,
      .bytes = s->bytes,
      .loss = s->rr_fraction_lost,
      .jitter_ms = s->jitter_ms,
      .rtt_ms = s->rtt_ms,
    };
  return TRUE;
}

guint
kmg_buyer_report_seconds (const KmgBuyerStatsReport *prev, const KmgBuyerStatsReport *cur,
                          guint max_gap_s, GArray *out)
{
  gint64 lo, hi;
  guint64 n, packets, bytes;
  double loss;

  if (prev == NULL || cur == NULL || prev->at_ms < 0 || cur->at_ms <= prev->at_ms)
    return 0;
  if (cur->at_ms - prev->at_ms > (gint64) max_gap_s * 1000)
    return 0;
  if (cur->frames_decoded <= prev->frames_decoded)
    return 0;
  /* The counters are cumulative: a client that reset them attests nothing for that interval. */
  if (cur->packets_received < prev->packets_received || cur->bytes_received < prev->bytes_received)
    return 0;
  lo = prev->at_ms / 1000 + 1; /* first second starting after prev */
  hi = cur->at_ms / 1000;      /* last second starting at or before cur */
  if (hi < lo)
    return 0;
  n = (guint64) (hi - lo + 1);
  packets = cur->packets_received - prev->packets_received;
  bytes = cur->bytes_received - prev->bytes_received;
  loss = cur->loss >= 0.0 && cur->loss <= 1.0 ? cur->loss : 1.0;
  for (gint64 s = lo; s <= hi; s++)
    {
      gboolean first = s == lo;
      KmgDeliveredSecond d = {
        .second = s,
        .source = KMG_DELIVERY_BUYER_ATTESTED,
        /* Spread the interval's counters evenly; the remainder goes to the first second. */
        .packets = packets / n + (first ? packets % n : 0),
        .bytes = bytes / n + (first ? bytes % n : 0),
        .loss = loss,
        .jitter_ms = cur->jitter_ms,
        .rtt_ms = cur->rtt_ms,
      };
      g_array_append_val (out, d);
    }
  return (guint) n;
}

guint
kmg_buyer_reports_to_seconds (const KmgBuyerStatsReport *reports, guint n, guint max_gap_s,
                              GArray *out)
{
  guint total = 0;

  for (guint i = 1; i < n; i++)
    total += kmg_buyer_report_seconds (&reports[i - 1], &reports[i], max_gap_s, out);
  return total;
}

gboolean
kmg_charge_check_evidence (guint min_billable_s, guint minute_s, gint64 start_second,
                           const KmgMinuteEvidence *rows, guint n, char **why)
{
  guint64 total = 0;
  gint64 latest = start_second - 1;

  for (guint i = 0; i < n; i++)
    {
      const KmgMinuteEvidence *e = &rows[i];
      guint64 want = kmg_charge_threshold (min_billable_s, minute_s, i);

      if (e->minute_index != i)
        {
          *why = g_strdup_printf ("minute %u missing (next evidence row is minute %u)", i,
                                  e->minute_index);
          return FALSE;
        }
      if (e->delivered_seconds == 0 || e->first_second < start_second
          || e->last_second < e->first_second
          || (guint64) e->delivered_seconds > (guint64) (e->last_second - e->first_second + 1))
        {
          *why = g_strdup_printf ("minute %u: %u delivered seconds do not fit seconds %"
                                  G_GINT64_FORMAT "..%" G_GINT64_FORMAT,
                                  i, e->delivered_seconds, e->first_second, e->last_second);
          return FALSE;
        }
      total += e->delivered_seconds;
      latest = MAX (latest, e->last_second);
      if (e->total_seconds != total || total != want)
        {
          *why = g_strdup_printf ("minute %u: due at %" G_GUINT64_FORMAT
                                  " delivered seconds, evidence shows %" G_GUINT64_FORMAT
                                  " (row total %" G_GUINT64_FORMAT ")",
                                  i, want, total, e->total_seconds);
          return FALSE;
        }
      if (total > (guint64) (latest - start_second + 1))
        {
          *why = g_strdup_printf ("minute %u: %" G_GUINT64_FORMAT
                                  " delivered seconds in a session only %" G_GINT64_FORMAT
                                  " seconds old",
                                  i, total, latest - start_second + 1);
          return FALSE;
        }
    }
  return TRUE;
}
