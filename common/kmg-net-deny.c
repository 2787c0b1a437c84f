/* kmg-net-deny.c — the denied address ranges: one default list, one CIDR parser, one matcher.
 * Pure byte arithmetic on parsed addresses; callers judge untrusted input with it, so no state. */
#include "kmg-net-deny.h"

#include <string.h>

G_DEFINE_QUARK (kmg-net-deny-error-quark, kmg_net_deny_error)

typedef struct
{
  guint8 bytes[16];
  guint8 len;    /* 4 or 16 */
  guint8 prefix; /* bits */
} Range;

struct _KmgNetDeny
{
  GArray *ranges; /* Range; read-only once built */
};

static const char *const default_cidrs[] = {
  "169.254.0.0/16", "fe80::/10", /* link-local, incl. cloud metadata 169.254.169.254 */
  "224.0.0.0/4",    "ff00::/8",  /* multicast */
  "0.0.0.0/8",      "::/128",    /* unspecified / "this network" */
  "255.255.255.255/32",          /* broadcast */
  NULL,
};

static const char *const loopback_cidrs[] = { "127.0.0.0/8", "::1/128", NULL };

const char *const *
kmg_net_deny_default_cidrs (void)
{
  return default_cidrs;
}

/* TRUE when the IPv6 address @b (16 bytes) reaches an IPv4 host, carried in its last 4 bytes:
 * IPv4-mapped ::ffff:0:0/96, NAT64 64:ff9b::/96 (RFC 6052 well-known prefix) or IPv4-compatible
 * ::/96. ::/104 is left alone: it holds :: and ::1, and no host of 0.0.0.0/8 is reached that way. */
static gboolean
carries_ipv4 (const guint8 b[16])
{
  static const guint8 mapped[12] = { [10] = 0xff, [11] = 0xff };
  static const guint8 nat64[12] = { 0, 0x64, 0xff, 0x9b };
  static const guint8 zero[12] = { 0 };

  return memcmp (b, mapped, 12) == 0 || memcmp (b, nat64, 12) == 0
         || (memcmp (b, zero, 12) == 0 && b[12] != 0);
}

static gboolean
bad_cidr (GError **error, const char *cidr, const char *why)
{
  g_set_error (error, KMG_NET_DENY_ERROR, KMG_NET_DENY_ERROR_BAD_CIDR, "denied CIDR \"%s\": %s", cidr,
               why);
  return FALSE;
}

static gboolean
parse_prefix (const char *s, guint max, guint *out)
{
  gsize n = strlen (s);

  if (n == 0 || n > 3)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isdigit (s[i]))
      return FALSE;
  *out = (guint) g_ascii_strtoull (s, NULL, 10);
  return *out <= max;
}

static gboolean
range_parse (const char *cidr, Range *out, GError **error)
{
  const char *slash = strchr (cidr, '/');
  g_autofree char *host = g_strndup (cidr, slash != NULL ? (gsize) (slash - cidr) : strlen (cidr));
  g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (host);
  guint len, prefix;

  if (addr == NULL)
    return bad_cidr (error, cidr, "not an IP address");
  len = (guint) g_inet_address_get_native_size (addr);
  prefix = len * 8;
  if (slash != NULL && !parse_prefix (slash + 1, len * 8, &prefix))
    {
      g_autofree char *why = g_strdup_printf ("the prefix must be a number 0..%u", len * 8);
      return bad_cidr (error, cidr, why);
    }
  memset (out, 0, sizeof *out);
  memcpy (out->bytes, g_inet_address_to_bytes (addr), len);
  out->len = (guint8) len;
  out->prefix = (guint8) prefix;
  /* 10.0.0.1/8 is most likely a typo for a host or a network: make the operator say which. */
  for (guint bit = prefix; bit < len * 8; bit++)
    if (out->bytes[bit / 8] & (0x80 >> (bit % 8)))
      {
        g_autofree char *why = g_strdup_printf ("bits are set after the /%u prefix", prefix);
        return bad_cidr (error, cidr, why);
      }
  return TRUE;
}

/* A range written in an IPv4-carrying form also stands for the IPv4 addresses it carries:
 * ::ffff:192.168.0.0/112 denies 192.168.4.4. With no bits after the prefix, a range whose network
 * carries IPv4 holds only such addresses (an IPv4-compatible one has a bit set in byte 12). */
static void
add_range (GArray *ranges, const Range *r)
{
  g_array_append_vals (ranges, r, 1);
  if (r->len == 16 && r->prefix >= 96 && carries_ipv4 (r->bytes))
    {
      Range v4 = { .len = 4, .prefix = (guint8) (r->prefix - 96) };

      memcpy (v4.bytes, r->bytes + 12, 4);
      g_array_append_vals (ranges, &v4, 1);
    }
}

static gboolean
add_cidrs (GArray *ranges, const char *const *cidrs, GError **error)
{
  for (guint i = 0; cidrs[i] != NULL; i++)
    {
      Range r;

      if (!range_parse (cidrs[i], &r, error))
        return FALSE;
      if (ranges != NULL)
        add_range (ranges, &r);
    }
  return TRUE;
}

gboolean
kmg_net_deny_check_cidrs (const char *const *cidrs, GError **error)
{
  g_return_val_if_fail (cidrs != NULL, FALSE);

  return add_cidrs (NULL, cidrs, error);
}

KmgNetDeny *
kmg_net_deny_new (const char *const *cidrs, gboolean allow_loopback, GError **error)
{
  g_autoptr (KmgNetDeny) deny = g_new0 (KmgNetDeny, 1);

  deny->ranges = g_array_new (FALSE, TRUE, sizeof (Range));
  if (!add_cidrs (deny->ranges, cidrs != NULL ? cidrs : default_cidrs, error))
    return NULL;
  if (!allow_loopback && !add_cidrs (deny->ranges, loopback_cidrs, error))
    return NULL;
  return g_steal_pointer (&deny);
}

void
kmg_net_deny_free (KmgNetDeny *deny)
{
  if (deny == NULL)
    return;
  g_array_unref (deny->ranges);
  g_free (deny);
}

const KmgNetDeny *
kmg_net_deny_get_default (void)
{
  static gsize built;
  static KmgNetDeny *deny;

  if (g_once_init_enter (&built))
    {
      deny = kmg_net_deny_new (NULL, FALSE, NULL);
      g_assert (deny != NULL);
      g_once_init_leave (&built, 1);
    }
  return deny;
}

static gboolean
range_matches (const Range *r, const guint8 *bytes, guint len)
{
  guint full = r->prefix / 8, rest = r->prefix % 8;

  if (r->len != len || memcmp (r->bytes, bytes, full) != 0)
    return FALSE;
  return rest == 0 || ((r->bytes[full] ^ bytes[full]) & (0xff00 >> rest) & 0xff) == 0;
}

static gboolean
any_matches (const KmgNetDeny *deny, const guint8 *bytes, guint len)
{
  for (guint i = 0; i < deny->ranges->len; i++)
    if (range_matches (&g_array_index (deny->ranges, Range, i), bytes, len))
      return TRUE;
  return FALSE;
}

gboolean
kmg_net_deny_matches (const KmgNetDeny *deny, GInetAddress *address)
{
  g_return_val_if_fail (deny != NULL, TRUE);
  g_return_val_if_fail (G_IS_INET_ADDRESS (address), TRUE);

  const guint8 *bytes = g_inet_address_to_bytes (address);
  guint len = (guint) g_inet_address_get_native_size (address);

  /* ::ffff:169.254.169.254 reaches the metadata host: judge it as that host too. */
  if (any_matches (deny, bytes, len))
    return TRUE;
  return len == 16 && carries_ipv4 (bytes) && any_matches (deny, bytes + 12, 4);
}

gboolean
kmg_net_deny_is_denied (const KmgNetDeny *deny, const char *address)
{
  g_return_val_if_fail (deny != NULL, TRUE);

  if (address == NULL)
    return TRUE;
  g_autoptr (GInetAddress) parsed = g_inet_address_new_from_string (address);
  return parsed == NULL || kmg_net_deny_matches (deny, parsed);
}
