/* kmg-reputation.h — the seller reputation formula (pure): a Bayesian average of ratings weighted
 * by billed minutes, a score damped by delivered minutes, and a tier. docs/billing.md explains it. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define KMG_REPUTATION_PRIOR_MEAN 3.0
#define KMG_REPUTATION_PRIOR_WEIGHT 5.0
#define KMG_REPUTATION_FULL_WEIGHT_MINUTES 10 /* a rating counts fully from this many minutes */
#define KMG_REPUTATION_HALF_CONFIDENCE_MINUTES 120.0

typedef enum
{
  KMG_TIER_NEW,
  KMG_TIER_BRONZE,
  KMG_TIER_SILVER,
  KMG_TIER_GOLD,
} KmgReputationTier;

const char *kmg_reputation_tier_to_string (KmgReputationTier tier);
gboolean kmg_reputation_tier_from_string (const char *s, KmgReputationTier *out);

typedef struct
{
  guint count;               /* number of ratings */
  double average;            /* plain mean of stars, 0 when none */
  double bayesian;           /* weighted Bayesian average, 1..5 */
  guint score;               /* 0..100 */
  KmgReputationTier tier;
  guint64 delivered_minutes; /* billed minutes over all the seller's sessions */
} KmgReputation;

/* Weight of one rating given the billed minutes of its session: min(minutes, 10) / 10. */
double kmg_rating_weight (guint charged_minutes);

/* @sum_stars: plain sum; @weighted_stars: Σ weight·stars; @weights: Σ weight. */
void kmg_reputation_compute (guint count, guint64 sum_stars, double weighted_stars,
                             double weights, guint64 delivered_minutes, KmgReputation *out);

G_END_DECLS
