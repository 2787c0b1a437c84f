/* test-billing-charging.c — the pure charging rules: split, due points, dedupe and reorder,
 * both delivered-second definitions, evidence re-derivation, and a seeded random event stream. */

#include "kmg-charging.h"
#include "kmg-reputation.h"

#define START G_GINT64_CONSTANT (1700000000)

static KmgDeliveredSecond
sec (gint64 s)
{
  return (KmgDeliveredSecond){ .second = s, .source = KMG_DELIVERY_RELAY_MEASURED, .packets = 50,
                               .bytes = 60000, .loss = 0.01, .jitter_ms = 3, .rtt_ms = -1 };
}

static void
test_split (void)
{
  gint64 share, fee;

  kmg_charge_split (10, 20, &share, &fee);
  g_assert_cmpint (fee, ==, 2);
  g_assert_cmpint (share, ==, 8);
  kmg_charge_split (7, 15, &share, &fee); /* 1.05 → floor 1 */
  g_assert_cmpint (fee, ==, 1);
  g_assert_cmpint (share, ==, 6);
  kmg_charge_split (1, 99, &share, &fee);
  g_assert_cmpint (fee, ==, 0);
  g_assert_cmpint (share, ==, 1);
  kmg_charge_split (10000, 100, &share, &fee);
  g_assert_cmpint (fee, ==, 10000);
  g_assert_cmpint (share, ==, 0);
}

static void
test_thresholds (void)
{
  g_assert_cmpuint (kmg_charge_threshold (10, 60, 0), ==, 10);
  g_assert_cmpuint (kmg_charge_threshold (10, 60, 1), ==, 61);
  g_assert_cmpuint (kmg_charge_threshold (10, 60, 2), ==, 121);
  g_assert_cmpuint (kmg_charge_minutes_due (10, 60, 9), ==, 0);
  g_assert_cmpuint (kmg_charge_minutes_due (10, 60, 10), ==, 1);
  g_assert_cmpuint (kmg_charge_minutes_due (10, 60, 60), ==, 1);
  g_assert_cmpuint (kmg_charge_minutes_due (10, 60, 61), ==, 2);
  g_assert_cmpuint (kmg_charge_minutes_due (10, 60, 121), ==, 3);
}

static void
test_decide (void)
{
  gboolean low = TRUE;

  g_assert_cmpint (kmg_charge_decide (9, 10, 2, &low), ==, KMG_CHARGE_DECISION_END_INSUFFICIENT);
  g_assert_false (low);
  g_assert_cmpint (kmg_charge_decide (30, 10, 2, &low), ==, KMG_CHARGE_DECISION_CHARGE);
  g_assert_false (low); /* 20 left = two minutes: not less than two */
  g_assert_cmpint (kmg_charge_decide (29, 10, 2, &low), ==, KMG_CHARGE_DECISION_CHARGE);
  g_assert_true (low);
  g_assert_cmpint (kmg_charge_decide (10, 10, 2, &low), ==, KMG_CHARGE_DECISION_CHARGE);
  g_assert_true (low);
}

/* A meter whose session is active, as most tests want. */
static KmgChargeMeter *
active_meter (guint min_billable_s, guint minute_s, gint64 start_second)
{
  KmgChargeMeter *m = kmg_charge_meter_new (min_billable_s, minute_s, start_second);

  kmg_charge_meter_set_active (m, TRUE);
  return m;
}

static KmgMeterVerdict
add (KmgChargeMeter *m, gint64 s, gint64 now_s)
{
  KmgDeliveredSecond ev = sec (s);
  return kmg_charge_meter_add (m, &ev, now_s * 1000);
}

static void
test_meter_due_points (void)
{
  g_autoptr (KmgChargeMeter) m = active_meter (10, 60, START);
  const KmgMinuteEvidence *e;

  for (gint64 s = 0; s < 9; s++)
    g_assert_cmpint (add (m, START + s, START + s), ==, KMG_METER_COUNTED);
  g_assert_cmpuint (kmg_charge_meter_pending (m), ==, 0);
  g_assert_cmpint (add (m, START + 9, START + 9), ==, KMG_METER_COUNTED);
  g_assert_cmpuint (kmg_charge_meter_pending (m), ==, 1);
  e = kmg_charge_meter_peek (m, 0);
  g_assert_cmpuint (e->minute_index, ==, 0);
  g_assert_cmpuint (e->delivered_seconds, ==, 10);
  g_assert_cmpuint (e->total_seconds, ==, 10);
  g_assert_cmpint (e->first_second, ==, START);
  g_assert_cmpint (e->last_second, ==, START + 9);
  g_assert_cmpuint (e->packets, ==, 500);
  g_assert_cmpfloat (e->rtt_ms, <, 0);
  kmg_charge_meter_settle (m, 1);
  for (gint64 s = 10; s < 60; s++)
    add (m, START + s, START + s);
  g_assert_cmpuint (kmg_charge_meter_pending (m), ==, 0); /* 60 s: still minute 0 */
  add (m, START + 60, START + 60);
  g_assert_cmpuint (kmg_charge_meter_pending (m), ==, 1);
  e = kmg_charge_meter_peek (m, 0);
  g_assert_cmpuint (e->minute_index, ==, 1);
  g_assert_cmpuint (e->delivered_seconds, ==, 51);
  g_assert_cmpuint (e->total_seconds, ==, 61);
}

static void
test_meter_dedupe_reorder (void)
{
  g_autoptr (KmgChargeMeter) m = active_meter (5, 10, START);
  gint64 now = START + 100;
  gint64 order[] = { 4, 2, 2, 0, 4, 3, 1, 1, 0 };
  guint counted = 0, dup = 0;

  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    {
      KmgMeterVerdict v = add (m, START + order[i], now);
      counted += v == KMG_METER_COUNTED;
      dup += v == KMG_METER_DUPLICATE;
    }
  g_assert_cmpuint (counted, ==, 5);
  g_assert_cmpuint (dup, ==, 4);
  g_assert_cmpuint (kmg_charge_meter_delivered (m), ==, 5);
  g_assert_cmpuint (kmg_charge_meter_pending (m), ==, 1);
  /* Replaying everything again changes nothing. */
  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    g_assert_cmpint (add (m, START + order[i], now), ==, KMG_METER_DUPLICATE);
  g_assert_cmpuint (kmg_charge_meter_pending (m), ==, 1);
}

static void
test_meter_rejects (void)
{
  g_autoptr (KmgChargeMeter) m = active_meter (5, 10, START);
  KmgDeliveredSecond bad = sec (START + 1);

  g_assert_cmpint (add (m, START - 1, START + 5), ==, KMG_METER_REJECTED); /* before start */
  g_assert_cmpint (add (m, START + 6, START + 5), ==, KMG_METER_REJECTED); /* future */
  bad.loss = 1.5;
  g_assert_cmpint (kmg_charge_meter_add (m, &bad, (START + 5) * 1000), ==, KMG_METER_REJECTED);
  bad.loss = 0;
  bad.source = 7;
  g_assert_cmpint (kmg_charge_meter_add (m, &bad, (START + 5) * 1000), ==, KMG_METER_REJECTED);
  g_assert_cmpint (add (m, START + 5, START + 5), ==, KMG_METER_COUNTED);
  kmg_charge_meter_stop (m);
  g_assert_cmpint (add (m, START + 4, START + 5), ==, KMG_METER_REJECTED);
  g_assert_cmpuint (kmg_charge_meter_delivered (m), ==, 1);
}

/* Nothing is billed before the buyer sees a picture: the meter counts only while active. */
static void
test_meter_active_gate (void)
{
  g_autoptr (KmgChargeMeter) m = kmg_charge_meter_new (2, 5, START);

  g_assert_false (kmg_charge_meter_is_active (m));
  g_assert_cmpint (add (m, START, START + 1), ==, KMG_METER_INACTIVE);
  g_assert_cmpint (add (m, START + 1, START + 1), ==, KMG_METER_INACTIVE);
  g_assert_cmpuint (kmg_charge_meter_delivered (m), ==, 0);
  /* Malformed stays malformed whatever the state. */
  g_assert_cmpint (add (m, START - 1, START + 1), ==, KMG_METER_REJECTED);

  kmg_charge_meter_set_active (m, TRUE);
  g_assert_true (kmg_charge_meter_is_active (m));
  /* A second refused while inactive left no trace: handed over again, it counts. */
  g_assert_cmpint (add (m, START + 1, START + 2), ==, KMG_METER_COUNTED);
  g_assert_cmpint (add (m, START + 2, START + 2), ==, KMG_METER_COUNTED);
  g_assert_cmpuint (kmg_charge_meter_pending (m), ==, 1);

  /* The picture is lost (reconnecting): seconds stop counting until it is back. */
  kmg_charge_meter_set_active (m, FALSE);
  g_assert_cmpint (add (m, START + 3, START + 4), ==, KMG_METER_INACTIVE);
  g_assert_cmpint (add (m, START + 1, START + 4), ==, KMG_METER_INACTIVE);
  g_assert_cmpuint (kmg_charge_meter_delivered (m), ==, 2);
  kmg_charge_meter_set_active (m, TRUE);
  g_assert_cmpint (add (m, START + 1, START + 4), ==, KMG_METER_DUPLICATE);
  g_assert_cmpint (add (m, START + 4, START + 4), ==, KMG_METER_COUNTED);
  g_assert_cmpuint (kmg_charge_meter_delivered (m), ==, 3);

  /* A stopped meter refuses, active or not. */
  kmg_charge_meter_stop (m);
  g_assert_cmpint (add (m, START + 3, START + 4), ==, KMG_METER_REJECTED);
  kmg_charge_meter_set_active (m, FALSE);
  g_assert_cmpint (add (m, START + 3, START + 4), ==, KMG_METER_REJECTED);
  g_assert_cmpuint (kmg_charge_meter_delivered (m), ==, 3);
}

static void
test_relay_second (void)
{
  KmgRelaySecondSample s = { .second = START, .video_packets = 30, .bytes = 30000,
                             .rr_age_ms = 4000,
                             .rr_fraction_lost = 0.1, .jitter_ms = 2, .rtt_ms = 40 };
  KmgDeliveredSecond out = { 0 };

  g_assert_true (kmg_relay_second_delivered (&s, 5, &out)); /* RR 4 s old at end of second */
  g_assert_cmpint (out.second, ==, START);
  g_assert_cmpint (out.source, ==, KMG_DELIVERY_RELAY_MEASURED);
  g_assert_cmpuint (out.packets, ==, 30);
  s.rr_age_ms += 1000; /* 5 s old: not fresher than 5 s */
  g_assert_false (kmg_relay_second_delivered (&s, 5, NULL));
  s.rr_age_ms -= 1000;
  s.video_packets = 0;
  g_assert_false (kmg_relay_second_delivered (&s, 5, NULL));
  s.video_packets = 1;
  s.rr_fraction_lost = 0.5;
  g_assert_false (kmg_relay_second_delivered (&s, 5, NULL));
  s.rr_fraction_lost = 0.49;
  g_assert_true (kmg_relay_second_delivered (&s, 5, NULL));
  s.rr_age_ms = -1; /* no receiver report yet */
  g_assert_false (kmg_relay_second_delivered (&s, 5, NULL));
}

/* The relay's measurements against the rule: packets, receiver report age (ms), loss. */
static gboolean
relay_verdict (guint64 packets, gint64 rr_age_ms, double fraction_lost, guint receipt_timeout_s)
{
  KmgRelaySecondSample s = { .second = START, .video_packets = packets, .bytes = packets * 1000,
                             .rr_age_ms = rr_age_ms, .rr_fraction_lost = fraction_lost,
                             .jitter_ms = -1, .rtt_ms = -1 };

  return kmg_relay_second_delivered (&s, receipt_timeout_s, NULL);
}

static void
test_relay_second_verdict (void)
{
  const guint t = 5; /* billing.receipt_timeout_s default */

  g_assert_true (relay_verdict (1, 0, 0.0, t));
  g_assert_true (relay_verdict (100, t * 1000 - 1, 0.49, t));
  g_assert_false (relay_verdict (0, 0, 0.0, t));       /* nothing forwarded */
  g_assert_false (relay_verdict (100, t * 1000, 0.0, t)); /* RR too old */
  g_assert_false (relay_verdict (100, -1, 0.0, t));    /* no RR yet */
  g_assert_false (relay_verdict (100, 10, 0.5, t));    /* 50 % loss */
  g_assert_false (relay_verdict (100, 10, -1.0, t));   /* loss unknown */
  g_assert_true (relay_verdict (100, 1999, 0.1, 2));   /* configurable timeout */
  g_assert_false (relay_verdict (100, 2000, 0.1, 2));
}

static void
test_buyer_reports (void)
{
  gint64 t0 = START * G_GINT64_CONSTANT (1000);
  KmgBuyerStatsReport r[] = {
    { t0 + 300, 0, 0, 0, 0, -1, -1 },
    { t0 + 1300, 30, 100, 1000, 0, -1, -1 },  /* covers second START+1 */
    { t0 + 4300, 120, 400, 4000, 0, 5, 20 },  /* START+2..START+4 */
    { t0 + 5300, 120, 450, 4500, 0, 5, 20 },  /* frames did not increase: nothing */
    { t0 + 11300, 300, 900, 9000, 0, 5, 20 }, /* 6 s gap: nothing */
    { t0 + 12300, 330, 950, 9500, 0, 5, 20 }, /* START+12 */
    { t0 + 12100, 340, 960, 9600, 0, 5, 20 }, /* goes back in time: nothing */
  };
  g_autoptr (GArray) out = g_array_new (FALSE, FALSE, sizeof (KmgDeliveredSecond));
  guint n = kmg_buyer_reports_to_seconds (r, G_N_ELEMENTS (r), 5, out);
  gint64 want[] = { START + 1, START + 2, START + 3, START + 4, START + 12 };
  guint64 packets = 0;

  g_assert_cmpuint (n, ==, G_N_ELEMENTS (want));
  g_assert_cmpuint (out->len, ==, n);
  for (guint i = 0; i < n; i++)
    {
      KmgDeliveredSecond *d = &g_array_index (out, KmgDeliveredSecond, i);
      g_assert_cmpint (d->second, ==, want[i]);
      g_assert_cmpint (d->source, ==, KMG_DELIVERY_BUYER_ATTESTED);
      if (i >= 1 && i <= 3)
        packets += d->packets;
    }
  g_assert_cmpuint (packets, ==, 300); /* the interval's packets are spread, none lost */
}

/* Cumulative counters that go back (a client that reset them) attest nothing. */
static void
test_buyer_report_reset (void)
{
  gint64 t0 = START * G_GINT64_CONSTANT (1000);
  KmgBuyerStatsReport prev = { t0 + 300, 100, 1000, 100000, 0, -1, -1 };
  KmgBuyerStatsReport cur = { t0 + 2300, 160, 1100, 110000, 0, -1, -1 };
  g_autoptr (GArray) out = g_array_new (FALSE, FALSE, sizeof (KmgDeliveredSecond));

  g_assert_cmpuint (kmg_buyer_report_seconds (&prev, &cur, 5, out), ==, 2);
  g_array_set_size (out, 0);
  cur.bytes_received = 5000; /* bytes reset, frames still growing */
  g_assert_cmpuint (kmg_buyer_report_seconds (&prev, &cur, 5, out), ==, 0);
  cur.bytes_received = 110000;
  cur.packets_received = 10; /* packets reset */
  g_assert_cmpuint (kmg_buyer_report_seconds (&prev, &cur, 5, out), ==, 0);
  g_assert_cmpuint (out->len, ==, 0);
}

static void
test_check_evidence (void)
{
  g_autoptr (KmgChargeMeter) m = active_meter (3, 5, START);
  g_autoptr (GArray) rows = g_array_new (FALSE, FALSE, sizeof (KmgMinuteEvidence));
  g_autofree char *why = NULL;
  KmgMinuteEvidence *e;

  for (gint64 s = 0; s < 16; s++)
    add (m, START + s, START + 20);
  for (guint i = 0; i < kmg_charge_meter_pending (m); i++)
    g_array_append_val (rows, *kmg_charge_meter_peek (m, i));
  g_assert_cmpuint (rows->len, ==, 4); /* due at 3, 6, 11, 16 */
  g_assert_true (kmg_charge_check_evidence (3, 5, START, (KmgMinuteEvidence *) rows->data,
                                            rows->len, &why));
  /* A forged extra second makes the re-derivation fail. */
  e = &g_array_index (rows, KmgMinuteEvidence, 2);
  e->delivered_seconds++;
  g_assert_false (kmg_charge_check_evidence (3, 5, START, (KmgMinuteEvidence *) rows->data,
                                             rows->len, &why));
  g_assert_nonnull (why);
  e->delivered_seconds--;
  g_clear_pointer (&why, g_free);
  /* A missing minute too. */
  g_array_remove_index (rows, 1);
  g_assert_false (kmg_charge_check_evidence (3, 5, START, (KmgMinuteEvidence *) rows->data,
                                             rows->len, &why));
}

/* Seeded random stream: duplicates, reordering, junk, ticks with a fake wallet. After every step
 * the meter must agree with an independent model. */
typedef struct
{
  guint seed;
  guint min_billable, minute_s, fee_pct;
  gint64 price, balance, seller, platform, initial;
  gint64 now_s;
  GHashTable *model; /* distinct valid seconds */
  GArray *charged;   /* KmgMinuteEvidence of charged minutes */
  gboolean ended;
  guint ended_at_due; /* minutes charged + refused when the session ended */
} Sim;

#define SIM_CHECK(cond)                                                                     \
  G_STMT_START                                                                              \
  {                                                                                         \
    if (!(cond))                                                                            \
      {                                                                                     \
        g_test_fail_printf ("seed %u step %u: %s", sim->seed, step, #cond);                \
        return FALSE;                                                                       \
      }                                                                                     \
  }                                                                                         \
  G_STMT_END

static void
sim_tick (Sim *sim, KmgChargeMeter *m)
{
  while (!sim->ended && kmg_charge_meter_pending (m) > 0)
    {
      const KmgMinuteEvidence *e = kmg_charge_meter_peek (m, 0);
      gint64 share, fee;
      if (kmg_charge_decide (sim->balance, sim->price, 2, NULL) != KMG_CHARGE_DECISION_CHARGE)
        {
          sim->ended = TRUE;
          kmg_charge_meter_stop (m);
          kmg_charge_meter_settle (m, kmg_charge_meter_pending (m));
          break;
        }
      kmg_charge_split (sim->price, sim->fee_pct, &share, &fee);
      sim->balance -= sim->price;
      sim->seller += share;
      sim->platform += fee;
      g_array_append_val (sim->charged, *e);
      kmg_charge_meter_settle (m, 1);
    }
}

static gint64
pick_second (Sim *sim, GRand *rng, gint64 start)
{
  switch (g_rand_int_range (rng, 0, 10))
    {
    case 0:
      return start - g_rand_int_range (rng, 1, 5); /* before the session */
    case 1:
      return sim->now_s + g_rand_int_range (rng, 1, 5); /* future */
    case 2:
    case 3:
      return start + g_rand_int_range (rng, 0, (gint32) (sim->now_s - start + 1)); /* any, maybe dup */
    default:
      return sim->now_s - g_rand_int_range (rng, 0, 3); /* recent, slightly reordered */
    }
}

static gboolean
sim_check (Sim *sim, KmgChargeMeter *m, guint step)
{
  guint64 delivered = g_hash_table_size (sim->model);
  guint due = kmg_charge_minutes_due (sim->min_billable, sim->minute_s, delivered);
  guint accounted = kmg_charge_meter_settled (m) + kmg_charge_meter_pending (m);
  gint64 share, fee;
  g_autofree char *why = NULL;

  kmg_charge_split (sim->price, sim->fee_pct, &share, &fee);
  SIM_CHECK (kmg_charge_meter_delivered (m) == delivered);
  SIM_CHECK (sim->ended ? accounted <= due : accounted == due);
  SIM_CHECK (sim->balance >= 0);
  SIM_CHECK (sim->balance + sim->seller + sim->platform == sim->initial);
  SIM_CHECK (sim->seller == (gint64) sim->charged->len * share);
  SIM_CHECK (sim->platform == (gint64) sim->charged->len * fee);
  SIM_CHECK (kmg_charge_check_evidence (sim->min_billable, sim->minute_s, START,
                                        (KmgMinuteEvidence *) sim->charged->data,
                                        sim->charged->len, &why));
  return TRUE;
}

static gboolean
run_seed (guint seed)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (seed);
  Sim s = { .seed = seed };
  Sim *sim = &s;
  g_autoptr (KmgChargeMeter) m = NULL;
  g_autoptr (GHashTable) model = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr (GArray) charged = g_array_new (FALSE, FALSE, sizeof (KmgMinuteEvidence));
  guint steps = (guint) g_rand_int_range (rng, 50, 400);

  s.minute_s = (guint) g_rand_int_range (rng, 2, 61);
  s.min_billable = (guint) g_rand_int_range (rng, 1, (gint32) s.minute_s + 1);
  s.fee_pct = (guint) g_rand_int_range (rng, 0, 101);
  s.price = g_rand_int_range (rng, 1, 10001);
  s.balance = s.initial = s.price * g_rand_int_range (rng, 0, 20) + g_rand_int_range (rng, 0, (gint32) s.price);
  s.now_s = START;
  s.model = model;
  s.charged = charged;
  m = active_meter (s.min_billable, s.minute_s, START);
  for (guint step = 0; step < steps; step++)
    {
      KmgDeliveredSecond ev = sec (pick_second (sim, rng, START));
      KmgMeterVerdict v;
      gboolean valid = ev.second >= START && ev.second <= s.now_s && !s.ended;
      gboolean fresh = valid && !g_hash_table_contains (model, &ev.second);

      if (g_rand_int_range (rng, 0, 4) == 0)
        ev.source = KMG_DELIVERY_BUYER_ATTESTED;
      v = kmg_charge_meter_add (m, &ev, s.now_s * 1000 + g_rand_int_range (rng, 0, 1000));
      SIM_CHECK (v == (!valid ? KMG_METER_REJECTED : fresh ? KMG_METER_COUNTED : KMG_METER_DUPLICATE));
      if (fresh)
        g_hash_table_add (model, g_memdup2 (&ev.second, sizeof ev.second));
      if (g_rand_int_range (rng, 0, 3) == 0)
        sim_tick (sim, m);
      if (g_rand_int_range (rng, 0, 50) == 0)
        {
          s.balance += s.price; /* an occasional top-up mid-session */
          s.initial += s.price;
        }
      if (g_rand_int_range (rng, 0, 3) != 0)
        s.now_s++;
      if (!sim_check (sim, m, step))
        return FALSE;
    }
  return TRUE;
}

static void
test_random_streams (void)
{
  guint base = (guint) g_test_rand_int ();
  guint n = g_test_slow () ? 50000 : 3000;

  for (guint i = 0; i < n; i++)
    if (!run_seed (base + i))
      return; /* run_seed printed the failing seed */
}

static void
test_reputation (void)
{
  KmgReputation one_five, many, none;

  kmg_reputation_compute (0, 0, 0, 0, 0, &none);
  g_assert_cmpuint (none.tier, ==, KMG_TIER_NEW);
  g_assert_cmpuint (none.score, ==, 0);
  /* One 5-star rating on a 10-minute seller does not make a reputation. */
  kmg_reputation_compute (1, 5, 5.0 * kmg_rating_weight (10), kmg_rating_weight (10), 10,
                          &one_five);
  g_assert_cmpfloat (one_five.average, ==, 5.0);
  g_assert_cmpfloat (one_five.bayesian, <, 3.5);
  g_assert_cmpuint (one_five.tier, ==, KMG_TIER_NEW);
  g_assert_cmpuint (one_five.score, <, 10);
  /* Forty 4.6-star ratings over 1500 minutes: gold. */
  kmg_reputation_compute (40, 184, 184.0, 40.0, 1500, &many);
  g_assert_cmpuint (many.tier, ==, KMG_TIER_GOLD);
  g_assert_cmpuint (many.score, >, one_five.score);
  g_assert_cmpfloat (kmg_rating_weight (1), ==, 0.1);
  g_assert_cmpfloat (kmg_rating_weight (500), ==, 1.0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/billing/charging/split", test_split);
  g_test_add_func ("/billing/charging/thresholds", test_thresholds);
  g_test_add_func ("/billing/charging/decide", test_decide);
  g_test_add_func ("/billing/charging/meter-due-points", test_meter_due_points);
  g_test_add_func ("/billing/charging/meter-dedupe-reorder", test_meter_dedupe_reorder);
  g_test_add_func ("/billing/charging/meter-rejects", test_meter_rejects);
  g_test_add_func ("/billing/charging/meter-active-gate", test_meter_active_gate);
  g_test_add_func ("/billing/charging/relay-second", test_relay_second);
  g_test_add_func ("/billing/charging/relay-second-verdict", test_relay_second_verdict);
  g_test_add_func ("/billing/charging/buyer-reports", test_buyer_reports);
  g_test_add_func ("/billing/charging/buyer-report-reset", test_buyer_report_reset);
  g_test_add_func ("/billing/charging/check-evidence", test_check_evidence);
  g_test_add_func ("/billing/charging/random-streams", test_random_streams);
  g_test_add_func ("/billing/reputation/formula", test_reputation);
  return g_test_run ();
}
