/* map-test-util.h — helpers shared by the map tests: seeds, result fingerprints.
 * Test-only; the seed comes from KMG_TEST_SEED when set so a failure can be replayed. */
#pragma once

#include "kmg-map.h"

/* Aborts the test with the seed in the message, so a failing random case can be replayed. */
#define SEED_ASSERT(seed, cond)                                                                    \
  G_STMT_START                                                                                     \
  {                                                                                                \
    if (G_UNLIKELY (!(cond)))                                                                      \
      g_error ("%s:%d: seed %u (replay with KMG_TEST_SEED=%u): assertion failed: %s", __FILE__,    \
               __LINE__, (seed), (seed), #cond);                                                   \
  }                                                                                                \
  G_STMT_END

/* KMG_TEST_SEED if set, else a fresh one; logged either way. */
guint32 map_test_seed (void);

/* One line per item, exact (%.17g), in result order: equal strings mean identical answers. */
char *map_test_result_string (const KmgMapResult *r);

/* A random viewport around (@lat, @lon) at @zoom that passes validation (shrunk until it does). */
void map_test_random_viewport (GRand *rand, double lat, double lon, guint zoom, KmgMapViewport *vp);
