/* test-relay-pure.c — unit tests for the relay's pure parts: denied address ranges,
 * candidate parsing/rewriting, RR freshness and the throttle. The delivered-second rule is
 * billing's and is tested there (tests/billing/test-billing-charging.c). */
#include "kmg-relay-liveness.h"
#include "kmg-relay-measure.h"
#include "kmg-net-filter.h"
#include "kmg-relay.h"
#include "net-deny-cases.h"

static void
test_default_denied (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgNetDeny) f = kmg_net_deny_new (NULL, FALSE, &error);

  g_assert_no_error (error);
  const char *denied[] = { "169.254.169.254", "169.254.0.1", "fe80::1", "224.0.0.251", "239.255.255.250",
                           "ff02::1", "0.0.0.0", "::", "255.255.255.255", "127.0.0.1", "::1",
                           "::ffff:169.254.169.254", "::ffff:127.0.0.1", "::ffff:224.0.0.1",
                           "::ffff:0.0.0.0", "host.local", "", "1.2.3", NULL };
  const char *allowed[] = { "192.0.2.10", "10.1.2.3", "2001:db8::1", "::ffff:192.0.2.10", "8.8.8.8", NULL };
  for (guint i = 0; denied[i] != NULL; i++)
    g_assert_true (kmg_net_deny_is_denied (f, denied[i]));
  for (guint i = 0; allowed[i] != NULL; i++)
    g_assert_false (kmg_net_deny_is_denied (f, allowed[i]));
}

static void
test_loopback_and_custom (void)
{
  g_autoptr (GError) error = NULL;
  const char *custom[] = { "10.0.0.0/8", NULL };
  g_autoptr (KmgNetDeny) f = kmg_net_deny_new (custom, TRUE, &error);

  g_assert_no_error (error);
  g_assert_false (kmg_net_deny_is_denied (f, "127.0.0.1"));
  g_assert_false (kmg_net_deny_is_denied (f, "::ffff:127.0.0.1"));
  g_assert_true (kmg_net_deny_is_denied (f, "10.9.9.9"));
  g_assert_true (kmg_net_deny_is_denied (f, "::ffff:10.9.9.9"));
  g_assert_false (kmg_net_deny_is_denied (f, "169.254.169.254")); /* replaced defaults */

  const char *bad[] = { "10.0.0.0/33", NULL };
  KmgNetDeny *none = kmg_net_deny_new (bad, FALSE, &error);
  g_assert_null (none);
  g_assert_nonnull (error);
}

/* The shared table as the relay judges a remote or local candidate: the address its candidate
 * parser takes from the line, against a filter made as the relay makes it from its config. */
static void
test_address_table (void)
{
  g_autoptr (KmgRelayConfig) config = kmg_relay_config_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgNetDeny) strict = kmg_net_deny_new ((const char *const *) config->denied_cidrs, FALSE, &error);
  g_autoptr (KmgNetDeny) loop = kmg_net_deny_new ((const char *const *) config->denied_cidrs, TRUE, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (net_deny_cases); i++)
    {
      const NetDenyCase *c = &net_deny_cases[i];
      g_autofree char *line = g_strdup_printf ("a=candidate:1 1 UDP 2122260223 %s 5000 typ host", c->address);
      g_auto (KmgCandidate) cand = { 0 };

      g_test_message ("%s", c->address);
      g_assert_true (kmg_candidate_parse (line, &cand));
      g_assert_cmpint (kmg_net_deny_is_denied (strict, cand.address), ==, net_deny_case_denied (c, FALSE));
      g_assert_cmpint (kmg_net_deny_is_denied (loop, cand.address), ==, net_deny_case_denied (c, TRUE));
    }
}

static void
test_candidate_parse (void)
{
  g_auto (KmgCandidate) c = { 0 };

  g_assert_true (kmg_candidate_parse ("a=candidate:1 1 UDP 2015363327 192.0.2.5 40000 typ host", &c));
  g_assert_cmpstr (c.foundation, ==, "1");
  g_assert_cmpuint (c.component, ==, 1);
  g_assert_cmpstr (c.transport, ==, "UDP");
  g_assert_cmpstr (c.address, ==, "192.0.2.5");
  g_assert_cmpuint (c.port, ==, 40000);
  g_assert_cmpstr (c.type, ==, "host");
  kmg_candidate_clear (&c);

  g_assert_true (kmg_candidate_parse ("candidate:2 1 TCP 1 10.0.0.1 9 typ srflx raddr 1.1.1.1 rport 9 tcptype active", &c));
  g_assert_cmpstr (c.type, ==, "srflx");
  kmg_candidate_clear (&c);
  g_assert_false (kmg_candidate_parse ("candidate:1 1 UDP 1 10.0.0.1 99999 typ host", &c));
  g_assert_false (kmg_candidate_parse ("candidate:1 1 UDP 1 10.0.0.1 9 host", &c));
  g_assert_false (kmg_candidate_parse ("nonsense", &c));
  g_assert_false (kmg_candidate_parse ("candidate:", &c));

  g_autofree char *r = kmg_candidate_with_address ("candidate:1 1 UDP 2015363327 10.0.0.5 40000 typ host",
                                                   "203.0.113.7");
  g_assert_cmpstr (r, ==, "candidate:1 1 UDP 2015363327 203.0.113.7 40000 typ host");
}

/* A line break ends a field for the parser: the rewrite must replace the address the parser read,
 * not the port, and keep the rest of the line as it was. */
static void
test_candidate_rewrite_separators (void)
{
  const char *line = "a=candidate:4\n2 UDP 1 10.0.0.5 5000 typ host\r\n";
  g_auto (KmgCandidate) before = { 0 };
  g_auto (KmgCandidate) after = { 0 };

  g_assert_true (kmg_candidate_parse (line, &before));
  g_assert_cmpstr (before.address, ==, "10.0.0.5");
  g_autofree char *r = kmg_candidate_with_address (line, "203.0.113.7");
  g_assert_cmpstr (r, ==, "a=candidate:4\n2 UDP 1 203.0.113.7 5000 typ host\r\n");
  g_assert_true (kmg_candidate_parse (r, &after));
  g_assert_cmpstr (after.address, ==, "203.0.113.7");
  g_assert_cmpuint (after.port, ==, 5000);
  g_assert_null (kmg_candidate_with_address ("candidate:1 1 UDP 1 10.0.0.5", "203.0.113.7"));
}

static void
test_freshness (void)
{
  KmgRrFreshness f = { 0 };
  guint64 a = kmg_rr_fingerprint (100, 1, 2, 3, 0);
  guint64 b = kmg_rr_fingerprint (180, 1, 2, 3, 0);

  g_assert_cmpuint (a, !=, b);
  g_assert_cmpint (kmg_rr_freshness_age_ms (&f, 1000), ==, -1);
  kmg_rr_freshness_update (&f, a, 1000);
  g_assert_cmpint (kmg_rr_freshness_age_ms (&f, 1500), ==, 500);
  kmg_rr_freshness_update (&f, a, 4000); /* same report again: not fresher */
  g_assert_cmpint (kmg_rr_freshness_age_ms (&f, 7000), ==, 6000);
  kmg_rr_freshness_update (&f, b, 7000);
  g_assert_cmpint (kmg_rr_freshness_age_ms (&f, 7200), ==, 200);
  g_assert_cmpint (kmg_rr_freshness_age_ms (&f, 6000), ==, 0); /* clock never goes negative */
}

static void
test_throttle (void)
{
  gint64 last = G_MININT64;

  g_assert_true (kmg_throttle_allow (&last, 1000, 500));
  g_assert_false (kmg_throttle_allow (&last, 1200, 500));
  g_assert_false (kmg_throttle_allow (&last, 1499, 500));
  g_assert_true (kmg_throttle_allow (&last, 1500, 500));
  g_assert_cmpint (last, ==, 1500);
}

/* Silence before the first packet is not judged; then one SILENT per stall and one BACK. */
static void
test_liveness (void)
{
  KmgLiveness l;

  kmg_liveness_reset (&l);
  g_assert_cmpint (kmg_liveness_check (&l, 0, 0, 3000), ==, KMG_LIVENESS_UNCHANGED);
  g_assert_cmpint (kmg_liveness_check (&l, 0, 10000, 3000), ==, KMG_LIVENESS_UNCHANGED);
  g_assert_cmpint (kmg_liveness_check (&l, 5, 11000, 3000), ==, KMG_LIVENESS_UNCHANGED);
  g_assert_cmpint (kmg_liveness_check (&l, 9, 12000, 3000), ==, KMG_LIVENESS_UNCHANGED);
  g_assert_cmpint (kmg_liveness_check (&l, 9, 14999, 3000), ==, KMG_LIVENESS_UNCHANGED);
  g_assert_cmpint (kmg_liveness_check (&l, 9, 15000, 3000), ==, KMG_LIVENESS_SILENT);
  g_assert_cmpint (kmg_liveness_check (&l, 9, 30000, 3000), ==, KMG_LIVENESS_UNCHANGED);
  g_assert_cmpint (kmg_liveness_check (&l, 10, 31000, 3000), ==, KMG_LIVENESS_BACK);
  g_assert_cmpint (kmg_liveness_check (&l, 11, 32000, 3000), ==, KMG_LIVENESS_UNCHANGED);
  g_assert_cmpint (kmg_liveness_check (&l, 11, 35000, 3000), ==, KMG_LIVENESS_SILENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/relay/net-filter/default-denied", test_default_denied);
  g_test_add_func ("/relay/net-filter/loopback-and-custom", test_loopback_and_custom);
  g_test_add_func ("/relay/net-filter/address-table", test_address_table);
  g_test_add_func ("/relay/candidate/parse-and-rewrite", test_candidate_parse);
  g_test_add_func ("/relay/candidate/rewrite-separators", test_candidate_rewrite_separators);
  g_test_add_func ("/relay/measure/rr-freshness", test_freshness);
  g_test_add_func ("/relay/measure/keyframe-throttle", test_throttle);
  g_test_add_func ("/relay/measure/seller-liveness", test_liveness);
  return g_test_run ();
}
