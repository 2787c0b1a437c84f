/* fuzz-candidate.c — ICE candidate lines as the relay reads them (kmg_candidate_parse, then the
 * denied-range check on the address), and the 1:1 NAT rewrite of a parsed line: it must still
 * parse, to the same candidate with only the address changed. */

#include "kmg-net-filter.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const unsigned char *data, size_t size);

#define PUBLIC_IP "203.0.113.7"

static void
check_token (const char *s)
{
  g_assert_nonnull (s);
  g_assert_null (strpbrk (s, " \r\n"));
}

static void
check_line (const char *line)
{
  g_auto (KmgCandidate) cand = { 0 };
  g_auto (KmgCandidate) again = { 0 };

  if (!kmg_candidate_parse (line, &cand))
    {
      g_assert_null (cand.address);
      return;
    }
  g_assert_cmpuint (cand.component, >=, 1);
  g_assert_cmpuint (cand.component, <=, 256);
  g_assert_cmpuint (cand.port, <=, 65535);
  g_assert_cmpstr (cand.address, !=, "");
  check_token (cand.foundation);
  check_token (cand.transport);
  check_token (cand.address);
  check_token (cand.type);
  (void) kmg_net_deny_is_denied (kmg_net_deny_get_default (), cand.address);

  g_autofree char *rewritten = kmg_candidate_with_address (line, PUBLIC_IP);
  g_assert_nonnull (rewritten);
  g_assert_true (kmg_candidate_parse (rewritten, &again));
  g_assert_cmpstr (again.address, ==, PUBLIC_IP);
  g_assert_cmpstr (again.foundation, ==, cand.foundation);
  g_assert_cmpuint (again.component, ==, cand.component);
  g_assert_cmpstr (again.transport, ==, cand.transport);
  g_assert_cmpuint (again.port, ==, cand.port);
  g_assert_cmpstr (again.type, ==, cand.type);
}

int
LLVMFuzzerTestOneInput (const unsigned char *data, size_t size)
{
  if (size > 8192)
    return 0;
  g_autofree char *text = g_strndup ((const char *) data, size);
  check_line (text);
  g_auto (GStrv) lines = g_strsplit (text, "\n", 32);
  for (guint i = 0; lines[i] != NULL; i++)
    check_line (lines[i]);
  return 0;
}
