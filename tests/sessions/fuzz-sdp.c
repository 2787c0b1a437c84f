/* fuzz-sdp.c — fuzz target for the signaling payload validators: the input as a whole SDP, as one
 * candidate line, and each of its lines as a candidate. Also checks what a success promises. */

#include "kmg-session-validate.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const unsigned char *data, size_t size);

static void
check_error (gboolean ok, GError *error)
{
  if (ok)
    g_assert_null (error);
  else
    {
      g_assert_nonnull (error);
      g_assert_true (error->domain == KMG_SESSION_ERROR);
      g_assert_cmpint (error->code, <=, KMG_SESSION_ERROR_RELAY_UNAVAILABLE);
    }
}

static void
check_candidate (const char *line)
{
  g_autoptr (GError) error = NULL;
  KmgSessionCandidate c;
  gboolean parsed = kmg_session_parse_candidate (line, &c, NULL);
  gboolean ok = kmg_session_validate_candidate (line, &error);

  check_error (ok, error);
  if (ok && *line != '\0')
    {
      /* A valid candidate parses, and its fields are within their ranges. */
      g_assert_true (parsed);
      g_assert_cmpuint (c.port, <=, 65535);
      g_assert_cmpuint (c.component, >=, 1);
      g_assert_cmpuint (c.component, <=, 256);
      g_assert_true (c.mdns || kmg_session_check_address (NULL, c.address, NULL));
    }
}

int
LLVMFuzzerTestOneInput (const unsigned char *data, size_t size)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  gboolean ok;

  if (size > 2 * KMG_SESSION_MAX_SDP_BYTES)
    return 0;
  text = g_strndup ((const char *) data, size); /* stops at an embedded NUL, as a C string would */
  ok = kmg_session_validate_sdp (text, &error);
  check_error (ok, error);
  if (ok)
    g_assert_true (g_str_has_prefix (text, "v=0"));
  check_candidate (text);
  if (size <= 8192)
    {
      g_auto (GStrv) lines = g_strsplit (text, "\n", 64);
      for (guint i = 0; lines[i] != NULL; i++)
        check_candidate (lines[i]);
    }
  return 0;
}
