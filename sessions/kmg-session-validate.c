/* kmg-session-validate.c — SDP and ICE candidate checks, addresses judged by kmg-net-deny.h.
 * Everything here reads untrusted client input: bounded lengths, no allocation per byte, fuzzed. */

#include "kmg-session-validate.h"

#include <string.h>

KmgSessionDenyList *
kmg_session_deny_list_new (const char *const *cidrs, gboolean allow_loopback, GError **error)
{
  g_autoptr (GError) local = NULL;
  KmgNetDeny *deny = kmg_net_deny_new (cidrs, allow_loopback, &local);

  if (deny == NULL)
    g_set_error_literal (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_INVALID, local->message);
  return deny;
}

void
kmg_session_deny_list_free (KmgSessionDenyList *list)
{
  kmg_net_deny_free (list);
}

/* mDNS candidate names (RFC 8838 obfuscation): labels of letters, digits and '-', ending ".local". */
static gboolean
is_mdns_name (const char *s)
{
  gsize n = strlen (s), label = 0;

  if (n <= 6 || n > KMG_SESSION_MAX_HOST_LEN || g_ascii_strcasecmp (s + n - 6, ".local") != 0)
    return FALSE;
  for (gsize i = 0; i < n - 6; i++)
    {
      if (s[i] == '.')
        {
          if (label == 0)
            return FALSE;
          label = 0;
        }
      else if (g_ascii_isalnum (s[i]) || s[i] == '-')
        {
          if (++label > 63)
            return FALSE;
        }
      else
        return FALSE;
    }
  return label > 0;
}

static gboolean
check_address (const KmgSessionDenyList *list, const char *address, gboolean deny, gboolean *mdns,
               GError **error)
{
  *mdns = is_mdns_name (address);
  if (*mdns)
    return TRUE;
  g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (address);
  if (addr == NULL)
    {
      g_set_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_INVALID,
                   "candidate address must be an IP address or an mDNS .local name");
      return FALSE;
    }
  if (deny && kmg_net_deny_matches (list != NULL ? list : kmg_net_deny_get_default (), addr))
    {
      g_set_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_DENIED_ADDRESS,
                   "candidate address %s is in a denied range", address);
      return FALSE;
    }
  return TRUE;
}

gboolean
kmg_session_check_address (const KmgSessionDenyList *list, const char *address, GError **error)
{
  gboolean mdns;

  g_return_val_if_fail (address != NULL, FALSE);
  return check_address (list, address, TRUE, &mdns, error);
}

/* ---- candidate lines ---- */

#define MAX_TOKENS 64

static gboolean
invalid (GError **error, const char *what)
{
  g_set_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_INVALID, "bad ICE candidate: %s", what);
  return FALSE;
}

static gboolean
parse_uint (const char *s, guint max_digits, guint64 max, guint64 *out)
{
  gsize n = strlen (s);

  if (n == 0 || n > max_digits)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isdigit (s[i]))
      return FALSE;
  *out = g_ascii_strtoull (s, NULL, 10);
  return *out <= max;
}

static gboolean
copy_token (char *dst, gsize size, const char *src)
{
  return g_strlcpy (dst, src, size) < size;
}

static gboolean
is_ice_chars (const char *s)
{
  if (*s == '\0')
    return FALSE;
  for (; *s; s++)
    if (!g_ascii_isalnum (*s) && *s != '+' && *s != '/')
      return FALSE;
  return TRUE;
}

/* Splits @buf in place on single spaces; FALSE on empty tokens or too many of them. */
static gboolean
tokenize (char *buf, char **tokens, guint *n)
{
  *n = 0;
  for (char *p = buf;;)
    {
      char *sp = strchr (p, ' ');

      if (*n == MAX_TOKENS)
        return FALSE;
      tokens[(*n)++] = p;
      if (sp == NULL)
        break;
      *sp = '\0';
      p = sp + 1;
    }
  for (guint i = 0; i < *n; i++)
    if (*tokens[i] == '\0')
      return FALSE;
  return TRUE;
}

static gboolean
parse_extensions (char **tok, guint n, KmgSessionCandidate *out, GError **error)
{
  gboolean mdns;
  guint64 v;

  if (n % 2 != 0)
    return invalid (error, "extension attribute without a value");
  for (guint i = 0; i < n; i += 2)
    {
      const char *name = tok[i], *value = tok[i + 1];

      if (g_str_equal (name, "raddr"))
        {
          if (!check_address (NULL, value, FALSE, &mdns, NULL)
              || !copy_token (out->raddr, sizeof out->raddr, value))
            return invalid (error, "raddr must be an IP address or .local name");
        }
      else if (g_str_equal (name, "rport"))
        {
          if (!parse_uint (value, 5, 65535, &v))
            return invalid (error, "rport must be 0..65535");
          out->rport = (gint) v;
        }
      else if (g_str_equal (name, "tcptype"))
        {
          if (!g_str_equal (value, "active") && !g_str_equal (value, "passive")
              && !g_str_equal (value, "so"))
            return invalid (error, "tcptype must be active, passive or so");
          g_strlcpy (out->tcptype, value, sizeof out->tcptype);
        }
    }
  return TRUE;
}

static gboolean
parse_fields (char **tok, guint n, KmgSessionCandidate *out, GError **error)
{
  guint64 v;

  if (n < 8)
    return invalid (error, "expected foundation, component, transport, priority, address, port, typ");
  if (!g_str_has_prefix (tok[0], "candidate:") || !is_ice_chars (tok[0] + 10)
      || !copy_token (out->foundation, sizeof out->foundation, tok[0] + 10))
    return invalid (error, "foundation must be 1 to 32 of [A-Za-z0-9+/] after \"candidate:\"");
  if (!parse_uint (tok[1], 3, 256, &v) || v == 0)
    return invalid (error, "component must be 1..256");
  out->component = (guint) v;
  if (g_ascii_strcasecmp (tok[2], "udp") != 0 && g_ascii_strcasecmp (tok[2], "tcp") != 0)
    return invalid (error, "transport must be UDP or TCP");
  for (guint i = 0; i < 3; i++)
    out->transport[i] = g_ascii_tolower (tok[2][i]);
  if (!parse_uint (tok[3], 10, G_MAXUINT32, &v))
    return invalid (error, "priority must be 0..4294967295");
  out->priority = (guint32) v;
  if (!copy_token (out->address, sizeof out->address, tok[4]))
    return invalid (error, "address too long");
  if (!parse_uint (tok[5], 5, 65535, &v))
    return invalid (error, "port must be 0..65535");
  out->port = (guint) v;
  if (!g_str_equal (tok[6], "typ"))
    return invalid (error, "\"typ\" expected after the port");
  if (!g_str_equal (tok[7], "host") && !g_str_equal (tok[7], "srflx") && !g_str_equal (tok[7], "prflx")
      && !g_str_equal (tok[7], "relay"))
    return invalid (error, "type must be host, srflx, prflx or relay");
  g_strlcpy (out->type, tok[7], sizeof out->type);
  return parse_extensions (tok + 8, n - 8, out, error);
}

gboolean
kmg_session_parse_candidate (const char *line, KmgSessionCandidate *out, GError **error)
{
  char buf[KMG_SESSION_MAX_CANDIDATE_BYTES + 1];
  char *tokens[MAX_TOKENS];
  gsize n;
  guint n_tokens;

  g_return_val_if_fail (line != NULL && out != NULL, FALSE);
  memset (out, 0, sizeof *out);
  out->rport = -1;
  if (g_str_has_prefix (line, "a="))
    line += 2;
  n = strnlen (line, KMG_SESSION_MAX_CANDIDATE_BYTES + 1);
  if (n > KMG_SESSION_MAX_CANDIDATE_BYTES)
    return invalid (error, "longer than 1024 bytes");
  memcpy (buf, line, n + 1);
  if (n > 0 && buf[n - 1] == '\n')
    buf[--n] = '\0';
  if (n > 0 && buf[n - 1] == '\r')
    buf[--n] = '\0';
  for (gsize i = 0; i < n; i++)
    if ((guchar) buf[i] < 0x20 || (guchar) buf[i] > 0x7e)
      return invalid (error, "only printable ASCII is allowed");
  if (!tokenize (buf, tokens, &n_tokens))
    return invalid (error, "fields must be separated by single spaces");
  if (!parse_fields (tokens, n_tokens, out, error))
    return FALSE;
  return check_address (NULL, out->address, FALSE, &out->mdns, error);
}

gboolean
kmg_session_validate_candidate_full (const KmgSessionDenyList *list, const char *cand, GError **error)
{
  KmgSessionCandidate c;

  g_return_val_if_fail (cand != NULL, FALSE);
  if (*cand == '\0')
    return TRUE;
  if (!kmg_session_parse_candidate (cand, &c, error))
    return FALSE;
  return check_address (list, c.address, TRUE, &c.mdns, error);
}

gboolean
kmg_session_validate_candidate (const char *cand, GError **error)
{
  return kmg_session_validate_candidate_full (NULL, cand, error);
}

/* ---- SDP ---- */

static gboolean
sdp_error (GError **error, guint line_no, const char *what)
{
  g_set_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_INVALID, "bad SDP, line %u: %s",
               line_no, what);
  return FALSE;
}

static gboolean
check_sdp_line (const KmgSessionDenyList *list, const char *line, gsize len, guint line_no,
                GError **error)
{
  if (len < 2 || line[0] < 'a' || line[0] > 'z' || line[1] != '=')
    return sdp_error (error, line_no, "expected <letter>=<value>");
  for (gsize i = 0; i < len; i++)
    if ((guchar) line[i] < 0x20 || line[i] == 0x7f)
      return sdp_error (error, line_no, "control characters are not allowed");
  if (len > 12 && memcmp (line, "a=candidate:", 12) == 0)
    {
      g_autofree char *cand = g_strndup (line, len);
      g_autoptr (GError) local = NULL;

      if (!kmg_session_validate_candidate_full (list, cand, &local))
        {
          g_set_error (error, KMG_SESSION_ERROR, local->code, "bad SDP, line %u: %s", line_no,
                       local->message);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
kmg_session_validate_sdp_full (const KmgSessionDenyList *list, const char *sdp, GError **error)
{
  gsize len;
  guint line_no = 0;

  g_return_val_if_fail (sdp != NULL, FALSE);
  len = strnlen (sdp, KMG_SESSION_MAX_SDP_BYTES + 1);
  if (len > KMG_SESSION_MAX_SDP_BYTES)
    {
      g_set_error (error, KMG_SESSION_ERROR, KMG_SESSION_ERROR_TOO_LARGE,
                   "SDP larger than %u bytes", (guint) KMG_SESSION_MAX_SDP_BYTES);
      return FALSE;
    }
  if (!g_utf8_validate_len (sdp, len, NULL))
    return sdp_error (error, 1, "not UTF-8");
  if (!g_str_has_prefix (sdp, "v=0\r\n") && !g_str_has_prefix (sdp, "v=0\n"))
    return sdp_error (error, 1, "an SDP starts with \"v=0\"");
  for (const char *p = sdp; *p != '\0';)
    {
      const char *nl = strchr (p, '\n');
      gsize line_len = nl != NULL ? (gsize) (nl - p) : strlen (p);

      line_no++;
      if (line_len > 0 && p[line_len - 1] == '\r')
        line_len--;
      if (!check_sdp_line (list, p, line_len, line_no, error))
        return FALSE;
      if (nl == NULL)
        break;
      p = nl + 1;
    }
  return TRUE;
}

gboolean
kmg_session_validate_sdp (const char *sdp, GError **error)
{
  return kmg_session_validate_sdp_full (NULL, sdp, error);
}
