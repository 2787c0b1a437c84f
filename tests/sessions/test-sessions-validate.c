/* test-sessions-validate.c — SDP and ICE candidate checks: syntax, size limits, and the denied
 * address ranges including IPv4 hidden in IPv6 forms. */

#include "kmg-session-validate.h"
#include "net-deny-cases.h"

#include <string.h>

static void
test_candidate_parse (void)
{
  g_autoptr (GError) error = NULL;
  KmgSessionCandidate c;

  g_assert_true (kmg_session_parse_candidate (
      "a=candidate:842163049 1 UDP 1677729535 198.51.100.7 61665 typ srflx raddr 10.0.0.2 rport 52000 "
      "generation 0 ufrag EsAw network-cost 999\r\n", &c, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (c.foundation, ==, "842163049");
  g_assert_cmpuint (c.component, ==, 1);
  g_assert_cmpstr (c.transport, ==, "udp");
  g_assert_cmpuint (c.priority, ==, 1677729535u);
  g_assert_cmpstr (c.address, ==, "198.51.100.7");
  g_assert_cmpuint (c.port, ==, 61665);
  g_assert_cmpstr (c.type, ==, "srflx");
  g_assert_cmpstr (c.raddr, ==, "10.0.0.2");
  g_assert_cmpint (c.rport, ==, 52000);
  g_assert_false (c.mdns);

  g_assert_true (kmg_session_parse_candidate (
      "candidate:1 2 tcp 1518280447 2001:db8::5 9 typ host tcptype active", &c, &error));
  g_assert_cmpstr (c.transport, ==, "tcp");
  g_assert_cmpstr (c.tcptype, ==, "active");
  g_assert_cmpint (c.rport, ==, -1);
  g_assert_cmpstr (c.raddr, ==, "");

  g_assert_true (kmg_session_parse_candidate (
      "candidate:3 1 udp 2113937151 0f4c5ab2-1d3e-4c8a-9b7e-5d2f6a1c3e9b.local 54321 typ host", &c, &error));
  g_assert_true (c.mdns);
  g_assert_no_error (error);
}

static void
test_candidate_syntax_errors (void)
{
  g_autofree char *long_line = g_strnfill (1100, 'a');
  g_autofree char *long_foundation = g_strdup_printf ("candidate:%s 1 udp 1 192.0.2.1 9 typ host",
                                                      "012345678901234567890123456789012");
  const char *bad[] = {
    "candidate:1 1 udp 1 192.0.2.1 9",                 /* no typ */
    "candidate:1 1 udp 1 192.0.2.1 70000 typ host",    /* port */
    "candidate:1 0 udp 1 192.0.2.1 9 typ host",        /* component 0 */
    "candidate:1 257 udp 1 192.0.2.1 9 typ host",
    "candidate:1 1 sctp 1 192.0.2.1 9 typ host",
    "candidate:1 1 udp 4294967296 192.0.2.1 9 typ host",
    "candidate:1 1 udp 1 192.0.2.1 9 typ bogus",
    "candidate:1  1 udp 1 192.0.2.1 9 typ host",       /* double space */
    "candidate: 1 udp 1 192.0.2.1 9 typ host",
    "candidate:1 1 udp 1 example.com 9 typ host",      /* resolvable name */
    "candidate:1 1 udp 1 .local 9 typ host",
    "candidate:1 1 udp 1 a..local 9 typ host",
    "candidate:1 1 udp 1 010.1.1.1 9 typ host",        /* not a canonical IP literal */
    "candidate:1 1 udp 1 fe80::1%eth0 9 typ host",
    "candidate:1 1 udp 1 192.0.2.1 9 typ host raddr",  /* extension without value */
    "candidate:1 1 udp 1 192.0.2.1 9 typ srflx raddr evil.example rport 1",
    "candidate:1 1 udp 1 192.0.2.1 9 typ host tcptype sideways",
    "candidate:1 1 udp 1 192.0.2.1 9 typ host\tgeneration 0",
    "candidate:1 1 udp 1 192.0.2.1 9 typ host\r\nx",
    "cand:1 1 udp 1 192.0.2.1 9 typ host",
    long_foundation,
    long_line,
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;

      g_test_message ("%s", bad[i]);
      g_assert_false (kmg_session_validate_candidate (bad[i], &error));
      g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, "candidate"));
    }
  g_assert_true (kmg_session_validate_candidate ("", NULL)); /* end of candidates */
}

static gboolean
denied_by_default (const char *address)
{
  g_autofree char *line = g_strdup_printf ("candidate:1 1 udp 1 %s 9 typ host", address);
  g_autoptr (GError) error = NULL;
  gboolean ok = kmg_session_validate_candidate (line, &error);

  if (!ok)
    {
      g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_DENIED_ADDRESS);
      g_assert_nonnull (strstr (error->message, "denied"));
    }
  return !ok;
}

static void
test_denied_addresses (void)
{
  const char *denied[] = {
    "169.254.169.254", "::ffff:169.254.169.254", "::ffff:a9fe:a9fe", "64:ff9b::a9fe:a9fe", "169.254.0.1",
    "fe80::1",         "febf:ffff::1",           "224.0.0.1",        "239.255.255.250",    "ff02::1",
    "0.0.0.0",         "0.1.2.3",                "::",               "255.255.255.255",    "127.0.0.1",
    "127.255.0.9",     "::1",                    "::ffff:127.0.0.1", "::ffff:0.0.0.0",
  };
  const char *allowed[] = {
    "192.0.2.1", "10.0.0.1", "169.253.255.255", "169.255.0.0", "223.255.255.255", "240.0.0.1", "2001:db8::1",
    "fec0::1",   "::2",      "1.0.0.0",         "128.0.0.1",   "::ffff:192.0.2.1",
    "0f4c5ab2-1d3e-4c8a-9b7e-5d2f6a1c3e9b.local",
  };

  for (guint i = 0; i < G_N_ELEMENTS (denied); i++)
    g_assert_true (denied_by_default (denied[i]));
  for (guint i = 0; i < G_N_ELEMENTS (allowed); i++)
    g_assert_false (denied_by_default (allowed[i]));
}

/* The constant default table must say exactly what the documented CIDR strings say. */
static void
test_builtin_matches_strings (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgSessionDenyList) list = kmg_session_deny_list_new (NULL, FALSE, &error);
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  const char *probes[] = {
    "169.253.255.255", "169.254.0.0", "169.254.255.255", "169.255.0.0", "223.255.255.255", "224.0.0.0",
    "239.255.255.255", "240.0.0.0",   "0.255.255.255",   "1.0.0.0",     "126.255.255.255", "127.0.0.0",
    "128.0.0.0",       "fe7f::1",     "fe80::",          "febf::",      "fec0::",          "feff::",
    "ff00::",          "::",          "::1",             "::2",         "255.255.255.254", "255.255.255.255",
  };

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (probes) + 2000; i++)
    {
      g_autofree char *addr = NULL;
      gboolean a, b;

      if (i < G_N_ELEMENTS (probes))
        addr = g_strdup (probes[i]);
      else
        addr = g_strdup_printf ("%u.%u.%u.%u", g_rand_int_range (rand, 0, 256), g_rand_int_range (rand, 0, 256),
                                g_rand_int_range (rand, 0, 256), g_rand_int_range (rand, 0, 256));
      a = kmg_session_check_address (NULL, addr, NULL);
      b = kmg_session_check_address (list, addr, NULL);
      g_assert_cmpint (a, ==, b);
    }
}

static void
test_custom_deny_list (void)
{
  const char *cidrs[] = { "10.0.0.0/8", "::ffff:192.168.0.0/112", "2001:db8::7", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgSessionDenyList) list = kmg_session_deny_list_new (cidrs, FALSE, &error);
  g_autoptr (KmgSessionDenyList) loop = kmg_session_deny_list_new (cidrs, TRUE, &error);

  g_assert_no_error (error);
  g_assert_false (kmg_session_check_address (list, "10.9.8.7", NULL));
  g_assert_false (kmg_session_check_address (list, "::ffff:10.9.8.7", NULL));
  g_assert_false (kmg_session_check_address (list, "192.168.4.4", NULL)); /* mapped CIDR judged as v4 */
  g_assert_true (kmg_session_check_address (list, "192.169.4.4", NULL));
  g_assert_false (kmg_session_check_address (list, "2001:db8::7", NULL));
  g_assert_true (kmg_session_check_address (list, "2001:db8::8", NULL));
  g_assert_true (kmg_session_check_address (list, "169.254.169.254", NULL)); /* defaults replaced */
  g_assert_false (kmg_session_check_address (list, "127.0.0.1", NULL));
  g_assert_true (kmg_session_check_address (loop, "127.0.0.1", NULL));
  g_assert_true (kmg_session_validate_candidate_full (loop, "candidate:1 1 udp 1 127.0.0.1 9 typ host", NULL));

  for (guint i = 0; i < 3; i++)
    {
      const char *bad[] = { "10.0.0.0/33", "nonsense/8", "10.0.0.0/x" };
      const char *one[] = { bad[i], NULL };
      g_autoptr (GError) e = NULL;

      g_assert_null (kmg_session_deny_list_new (one, FALSE, &e));
      g_assert_error (e, KMG_SESSION_ERROR, KMG_SESSION_ERROR_INVALID);
    }
}

static const char *good_sdp =
  "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
  "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n"
  "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\na=fingerprint:sha-256 AA:BB\r\n"
  "a=setup:actpass\r\na=mid:0\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n"
  "a=candidate:1 1 udp 2122260223 192.0.2.4 50000 typ host generation 0\r\n";

static void
expect_sdp_error (const char *sdp, int code, const char *needle)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (kmg_session_validate_sdp (sdp, &error));
  g_assert_error (error, KMG_SESSION_ERROR, code);
  if (needle != NULL)
    g_assert_nonnull (strstr (error->message, needle));
}

static gboolean
candidate_denied (const KmgSessionDenyList *list, const char *line)
{
  g_autoptr (GError) error = NULL;

  if (kmg_session_validate_candidate_full (list, line, &error))
    return FALSE;
  g_assert_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_DENIED_ADDRESS);
  return TRUE;
}

/* The shared table through the signaling checks: candidate lines (with and without "a=", every
 * form of the address) and a=candidate lines inside an SDP, loopback denied and allowed. */
static void
test_address_table (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgSessionDenyList) loop = kmg_session_deny_list_new (NULL, TRUE, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (net_deny_cases); i++)
    {
      const NetDenyCase *c = &net_deny_cases[i];
      g_autofree char *line = g_strdup_printf ("candidate:7 1 udp 2122260223 %s 50000 typ host", c->address);
      g_autofree char *a_line = g_strdup_printf ("a=candidate:7 2 TCP 1518280447 %s 9 typ srflx raddr "
                                                 "0.0.0.0 rport 0 tcptype active\r\n", c->address);
      g_autofree char *sdp = g_strdup_printf ("%sa=%s\r\n", good_sdp, line);
      g_autoptr (GError) sdp_error = NULL;
      gboolean sdp_ok;

      g_test_message ("%s", c->address);
      g_assert_cmpint (candidate_denied (NULL, line), ==, net_deny_case_denied (c, FALSE));
      g_assert_cmpint (candidate_denied (NULL, a_line), ==, net_deny_case_denied (c, FALSE));
      g_assert_cmpint (candidate_denied (loop, line), ==, net_deny_case_denied (c, TRUE));
      g_assert_cmpint (kmg_session_check_address (NULL, c->address, NULL), !=, net_deny_case_denied (c, FALSE));
      sdp_ok = kmg_session_validate_sdp (sdp, &sdp_error);
      g_assert_cmpint (sdp_ok, !=, net_deny_case_denied (c, FALSE));
      if (!sdp_ok)
        g_assert_error (sdp_error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_DENIED_ADDRESS);
    }
}

static void
test_sdp (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) big = g_string_new ("v=0\r\n");
  g_autofree char *lf = NULL;
  g_autofree char *denied = NULL;

  g_assert_true (kmg_session_validate_sdp (good_sdp, &error));
  g_assert_no_error (error);
  lf = g_strjoinv ("\n", (char *[]){ "v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=\xc3\xa9t\xc3\xa9", "t=0 0", NULL });
  g_assert_true (kmg_session_validate_sdp (lf, &error));

  while (big->len <= KMG_SESSION_MAX_SDP_BYTES)
    g_string_append (big, "a=x-padding:0123456789012345678901234567890123456789\r\n");
  expect_sdp_error (big->str, KMG_SESSION_ERROR_TOO_LARGE, NULL);
  g_string_truncate (big, KMG_SESSION_MAX_SDP_BYTES - 60);
  g_string_truncate (big, strrchr (big->str, '\n') + 1 - big->str);
  g_assert_true (kmg_session_validate_sdp (big->str, NULL));

  expect_sdp_error ("", KMG_SESSION_ERROR_INVALID, "v=0");
  expect_sdp_error ("o=- 1 1 IN IP4 0.0.0.0\r\nv=0\r\n", KMG_SESSION_ERROR_INVALID, "v=0");
  expect_sdp_error ("v=0\r\nV=bad\r\n", KMG_SESSION_ERROR_INVALID, "line 2");
  expect_sdp_error ("v=0\r\n\r\ns=-\r\n", KMG_SESSION_ERROR_INVALID, "line 2");
  expect_sdp_error ("v=0\r\ns=a\x01z\r\n", KMG_SESSION_ERROR_INVALID, "control");
  expect_sdp_error ("v=0\r\ns=a\rz\r\n", KMG_SESSION_ERROR_INVALID, "control");
  expect_sdp_error ("v=0\r\ns=\xff\xfe\r\n", KMG_SESSION_ERROR_INVALID, "UTF-8");
  expect_sdp_error ("v=0\r\na=candidate:1 1 udp 1 nope 9 typ host\r\n", KMG_SESSION_ERROR_INVALID, "line 2");
  denied = g_strconcat (good_sdp, "a=candidate:2 1 udp 1 ::ffff:169.254.169.254 80 typ host\r\n", NULL);
  expect_sdp_error (denied, KMG_SESSION_ERROR_DENIED_ADDRESS, "line 17");
}

static void
test_names_round_trip (void)
{
  KmgSessionIceState ice;
  KmgSessionPolicy policy;
  KmgSessionSignalKind kind;

  g_assert_true (kmg_session_ice_state_from_string ("completed", &ice));
  g_assert_cmpint (ice, ==, KMG_SESSION_ICE_CONNECTED);
  g_assert_false (kmg_session_ice_state_from_string ("bogus", &ice));
  for (int i = 0; i <= KMG_SESSION_ICE_CLOSED; i++)
    {
      g_assert_true (kmg_session_ice_state_from_string (kmg_session_ice_state_to_string (i), &ice));
      g_assert_cmpint (ice, ==, i);
    }
  g_assert_true (kmg_session_policy_from_string ("never", &policy));
  g_assert_cmpint (policy, ==, KMG_SESSION_POLICY_NEVER);
  g_assert_true (kmg_session_signal_kind_from_string ("ice_candidate", &kind));
  g_assert_cmpstr (kmg_session_end_reason_to_string (KMG_SESSION_END_SERVER_RESTART), ==, "server_restart");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sessions/validate/candidate-parse", test_candidate_parse);
  g_test_add_func ("/sessions/validate/candidate-syntax-errors", test_candidate_syntax_errors);
  g_test_add_func ("/sessions/validate/denied-addresses", test_denied_addresses);
  g_test_add_func ("/sessions/validate/builtin-table-matches-strings", test_builtin_matches_strings);
  g_test_add_func ("/sessions/validate/custom-deny-list", test_custom_deny_list);
  g_test_add_func ("/sessions/validate/address-table", test_address_table);
  g_test_add_func ("/sessions/validate/sdp", test_sdp);
  g_test_add_func ("/sessions/validate/names-round-trip", test_names_round_trip);
  return g_test_run ();
}
