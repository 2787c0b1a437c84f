/* kmg-reputation.c — Bayesian rating average, minute-weighted, and the tier thresholds.
 * Pure: a single 5-star rating on a fresh seller moves nothing past "new". */

#include "kmg-reputation.h"

#include "kmg-enum-names.h"

#include <math.h>

static const KmgEnumName tier_names[] = {
  { KMG_TIER_NEW, "new" },
  { KMG_TIER_BRONZE, "bronze" },
  { KMG_TIER_SILVER, "silver" },
  { KMG_TIER_GOLD, "gold" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (tier_names) == KMG_TIER_GOLD + 1);

const char *
kmg_reputation_tier_to_string (KmgReputationTier tier)
{
  const char *name = KMG_ENUM_NAMES_TO_STRING (tier_names, tier);

  g_return_val_if_fail (name != NULL, NULL);
  return name;
}

gboolean
kmg_reputation_tier_from_string (const char *s, KmgReputationTier *out)
{
  int v;

  if (!KMG_ENUM_NAMES_FROM_STRING (tier_names, s, &v))
    return FALSE;
  *out = (KmgReputationTier) v;
  return TRUE;
}

double
kmg_rating_weight (guint charged_minutes)
{
  return (double) MIN (charged_minutes, KMG_REPUTATION_FULL_WEIGHT_MINUTES)
         / KMG_REPUTATION_FULL_WEIGHT_MINUTES;
}

static KmgReputationTier
tier_for (guint count, double bayesian, guint64 minutes)
{
  if (count < 3 || minutes < 30)
    return KMG_TIER_NEW;
  if (bayesian >= 4.3 && minutes >= 1000 && count >= 25)
    return KMG_TIER_GOLD;
  if (bayesian >= 3.8 && minutes >= 300 && count >= 10)
    return KMG_TIER_SILVER;
  return KMG_TIER_BRONZE;
}

void
kmg_reputation_compute (guint count, guint64 sum_stars, double weighted_stars, double weights,
                        guint64 delivered_minutes, KmgReputation *out)
{
  double confidence;

  out->count = count;
  out->average = count > 0 ? (double) sum_stars / count : 0.0;
  out->bayesian = (KMG_REPUTATION_PRIOR_WEIGHT * KMG_REPUTATION_PRIOR_MEAN + weighted_stars)
                  / (KMG_REPUTATION_PRIOR_WEIGHT + weights);
  out->bayesian = CLAMP (out->bayesian, 1.0, 5.0);
  confidence = (double) delivered_minutes
               / ((double) delivered_minutes + KMG_REPUTATION_HALF_CONFIDENCE_MINUTES);
  out->score = (guint) lround (100.0 * (out->bayesian - 1.0) / 4.0 * confidence);
  out->tier = tier_for (count, out->bayesian, delivered_minutes);
  out->delivered_minutes = delivered_minutes;
}
