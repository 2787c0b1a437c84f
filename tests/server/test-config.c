/* test-config.c — defaults, INI loading, and a clear error naming the key for every bad value. */
#include "kmg-config.h"
#include "kmg-net-deny.h"

#include <string.h>

static void
test_defaults_valid (void)
{
  g_autoptr (KmgConfig) c = kmg_config_new_default ();
  g_autoptr (GError) error = NULL;

  g_assert_true (kmg_config_validate (c, &error));
  g_assert_cmpstr (c->listen, ==, "127.0.0.1:8080");
  g_assert_cmpint (c->grace_s, ==, 20);
  g_assert_cmpint (c->ping_s, ==, 10);
  g_assert_cmpint (c->online_precision, ==, 5);
  g_assert_cmpint (c->streaming_decimals, ==, 4);
  g_assert_cmpint (c->flush_ms, ==, 200);
  g_assert_cmpint (c->min_update_s, ==, 5);
  g_assert_cmpint (c->p2p_timeout_ms, ==, 5000);
  g_assert_cmpint (c->relay_policy, ==, KMG_RELAY_POLICY_AUTO);
  g_assert_cmpint (c->min_billable_s, ==, 10);
  g_assert_cmpint (c->minute_s, ==, 60);
  g_assert_cmpint (c->receipt_timeout_s, ==, 5);
  g_assert_true (g_strv_contains ((const char *const *) c->denied_peer_cidrs, "169.254.0.0/16"));
}

static void
test_load (void)
{
  const char *ini = "[server]\nlisten = 0.0.0.0:9000\nallowed_origins = https://a.example, "
                    "https://b.example\n[relay]\npolicy = always\nice_tcp = false\n"
                    "[billing]\nminute_s = 6\nmin_billable_s = 2\n";
  g_autoptr (KmgConfig) c = kmg_config_new_default ();
  g_autoptr (GError) error = NULL;

  g_assert_true (kmg_config_load_data (c, ini, strlen (ini), &error));
  g_assert_no_error (error);
  g_assert_cmpstr (c->listen, ==, "0.0.0.0:9000");
  g_assert_cmpuint (g_strv_length (c->allowed_origins), ==, 2);
  g_assert_cmpstr (c->allowed_origins[1], ==, "https://b.example");
  g_assert_cmpint (c->relay_policy, ==, KMG_RELAY_POLICY_ALWAYS);
  g_assert_false (c->ice_tcp);
  g_assert_cmpint (c->minute_s, ==, 6);
}

static void
test_bad_values_name_the_key (void)
{
  const struct
  {
    const char *ini, *needle;
  } cases[] = {
    { "[map]\nonline_precision = 13\n", "map.online_precision" },
    { "[map]\nflush_ms = fast\n", "map.flush_ms" },
    { "[relay]\npolicy = sometimes\n", "relay.policy" },
    { "[relay]\nice_tcp = yes please\n", "relay.ice_tcp" },
    { "[nope]\nx = 1\n", "nope.x" },
    { "[server]\nlisten = localhost\n", "server.listen" },
    { "[server]\nlisten = example.com:80\n", "server.listen" },
    { "[relay]\ndenied_peer_cidrs = 10.0.0.0/99\n", "relay.denied_peer_cidrs" },
    { "[relay]\nrtp_port_min = 5000\n", "relay.rtp_port" },
    { "[billing]\nmin_billable_s = 100\n", "billing.min_billable_s" },
    { "[server]\nlog_level = loud\n", "server.log_level" },
    { "not an ini file", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (KmgConfig) c = kmg_config_new_default ();
      g_autoptr (GError) error = NULL;

      g_assert_false (kmg_config_load_data (c, cases[i].ini, strlen (cases[i].ini), &error));
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, cases[i].needle));
    }
}

/* relay.denied_peer_cidrs is checked by the parser the relay and the signaling checks use: the
 * error says which entry is wrong and why, and the default is that module's list. */
static void
test_denied_cidrs (void)
{
  const struct
  {
    const char *ini, *entry, *why;
  } cases[] = {
    { "[relay]\ndenied_peer_cidrs = 10.0.0.0/8, 10.0.0.0/99\n", "10.0.0.0/99", "0..32" },
    { "[relay]\ndenied_peer_cidrs = 10.0.0.1/8\n", "10.0.0.1/8", "after the /8" },
    { "[relay]\ndenied_peer_cidrs = fe80::/10, fe80::/200\n", "fe80::/200", "0..128" },
    { "[relay]\ndenied_peer_cidrs = 169.254.0.0/16, metadata\n", "metadata", "not an IP address" },
  };
  g_autoptr (KmgConfig) defaults = kmg_config_new_default ();

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (KmgConfig) c = kmg_config_new_default ();
      g_autoptr (GError) error = NULL;

      g_assert_false (kmg_config_load_data (c, cases[i].ini, strlen (cases[i].ini), &error));
      g_assert_error (error, KMG_CONFIG_ERROR, KMG_CONFIG_ERROR_VALUE);
      g_assert_true (g_str_has_prefix (error->message, "relay.denied_peer_cidrs: "));
      g_assert_nonnull (strstr (error->message, cases[i].entry));
      g_assert_nonnull (strstr (error->message, cases[i].why));
    }
  g_assert_true (g_strv_equal ((const char *const *) defaults->denied_peer_cidrs,
                               kmg_net_deny_default_cidrs ()));
}

static void
test_parse_listen (void)
{
  g_autofree char *a = NULL, *b = NULL;
  guint16 p = 0;

  g_assert_true (kmg_config_parse_listen ("127.0.0.1:0", &a, &p, NULL));
  g_assert_cmpstr (a, ==, "127.0.0.1");
  g_assert_cmpuint (p, ==, 0);
  g_assert_true (kmg_config_parse_listen ("[::1]:8443", &b, &p, NULL));
  g_assert_cmpstr (b, ==, "::1");
  g_assert_cmpuint (p, ==, 8443);
  g_assert_false (kmg_config_parse_listen ("127.0.0.1:70000", NULL, NULL, NULL));
  g_assert_false (kmg_config_parse_listen (":80", NULL, NULL, NULL));
}

static void
test_sample_config_loads (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("KMG_SOURCE_DIR"), "kamegor.conf.sample",
                                            NULL);
  g_autoptr (KmgConfig) c = kmg_config_new_default ();
  g_autoptr (GError) error = NULL;

  g_assert_true (kmg_config_load_file (c, path, &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/server/config/defaults-valid", test_defaults_valid);
  g_test_add_func ("/server/config/load", test_load);
  g_test_add_func ("/server/config/bad-values-name-the-key", test_bad_values_name_the_key);
  g_test_add_func ("/server/config/denied-cidrs", test_denied_cidrs);
  g_test_add_func ("/server/config/parse-listen", test_parse_listen);
  g_test_add_func ("/server/config/sample-config-loads", test_sample_config_loads);
  return g_test_run ();
}
