/* kmg-net-filter.c — ICE candidate line helpers: the address a candidate names, and the same line
 * announcing another address. Pure string work, unit-tested without a network. */
#include "kmg-net-filter.h"

#include <string.h>

/* What ends a field of a candidate line; parsing and rewriting must agree on it. */
#define FIELD_SEPARATORS " \r\n"

void
kmg_candidate_clear (KmgCandidate *cand)
{
  g_clear_pointer (&cand->foundation, g_free);
  g_clear_pointer (&cand->transport, g_free);
  g_clear_pointer (&cand->address, g_free);
  g_clear_pointer (&cand->type, g_free);
}

static const char *
strip_prefix (const char *line)
{
  if (g_str_has_prefix (line, "a="))
    line += 2;
  if (!g_str_has_prefix (line, "candidate:"))
    return NULL;
  return line + strlen ("candidate:");
}

gboolean
kmg_candidate_parse (const char *line, KmgCandidate *cand)
{
  guint64 component = 0, port = 0;

  g_return_val_if_fail (cand != NULL, FALSE);
  memset (cand, 0, sizeof *cand);
  const char *body = line != NULL ? strip_prefix (line) : NULL;
  if (body == NULL)
    return FALSE;
  g_auto (GStrv) tok = g_strsplit_set (body, FIELD_SEPARATORS, 0);
  guint n = g_strv_length (tok);
  if (n < 8 || g_strcmp0 (tok[6], "typ") != 0
      || !g_ascii_string_to_unsigned (tok[1], 10, 1, 256, &component, NULL)
      || !g_ascii_string_to_unsigned (tok[5], 10, 0, 65535, &port, NULL)
      || *tok[4] == '\0')
    return FALSE;
  cand->foundation = g_strdup (tok[0]);
  cand->component = (guint) component;
  cand->transport = g_strdup (tok[2]);
  cand->address = g_strdup (tok[4]);
  cand->port = (guint) port;
  cand->type = g_strdup (tok[7]);
  return TRUE;
}

char *
kmg_candidate_with_address (const char *line, const char *address)
{
  g_return_val_if_fail (line != NULL && address != NULL, NULL);

  const char *body = strip_prefix (line);
  if (body == NULL)
    return NULL;
  /* The fields as kmg_candidate_parse() splits them, so the one replaced is the address it read. */
  g_auto (GStrv) tok = g_strsplit_set (body, FIELD_SEPARATORS, 0);
  if (g_strv_length (tok) < 8)
    return NULL;
  gsize at = (gsize) (body - line) + 4; /* the four separators before the address */
  for (guint i = 0; i < 4; i++)
    at += strlen (tok[i]);
  return g_strdup_printf ("%.*s%s%s", (int) at, line, address, line + at + strlen (tok[4]));
}
