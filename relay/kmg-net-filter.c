/* kmg-net-filter.c — denied peer address ranges and ICE candidate line helpers.
 * Pure: string and address arithmetic only, unit-tested without a network. */
#include "kmg-net-filter.h"

#include <string.h>

struct _KmgNetFilter
{
  GPtrArray *masks; /* GInetAddressMask */
};

static const char *const default_denied[] = {
  "169.254.0.0/16", "fe80::/10",         /* link-local, incl. cloud metadata */
  "224.0.0.0/4",    "ff00::/8",          /* multicast */
  "0.0.0.0/8",      "::/128",            /* unspecified / "this network" */
  "255.255.255.255/32",                  /* broadcast */
  NULL,
};

static const char *const loopback_ranges[] = { "127.0.0.0/8", "::1/128", NULL };

const char *const *
kmg_net_filter_default_denied (void)
{
  return default_denied;
}

static gboolean
add_masks (KmgNetFilter *filter, const char *const *cidrs, GError **error)
{
  for (guint i = 0; cidrs[i] != NULL; i++)
    {
      GInetAddressMask *mask = g_inet_address_mask_new_from_string (cidrs[i], error);
      if (mask == NULL)
        {
          g_prefix_error (error, "denied CIDR \"%s\": ", cidrs[i]);
          return FALSE;
        }
      g_ptr_array_add (filter->masks, mask);
    }
  return TRUE;
}

KmgNetFilter *
kmg_net_filter_new (const char *const *denied_cidrs, gboolean allow_loopback, GError **error)
{
  g_autoptr (KmgNetFilter) filter = g_new0 (KmgNetFilter, 1);

  filter->masks = g_ptr_array_new_with_free_func (g_object_unref);
  if (!add_masks (filter, denied_cidrs != NULL ? denied_cidrs : default_denied, error))
    return NULL;
  if (!allow_loopback && !add_masks (filter, loopback_ranges, error))
    return NULL;
  return g_steal_pointer (&filter);
}

void
kmg_net_filter_free (KmgNetFilter *filter)
{
  if (filter == NULL)
    return;
  g_ptr_array_unref (filter->masks);
  g_free (filter);
}

/* ::ffff:a.b.c.d reaches the IPv4 host a.b.c.d, so it must be judged as that host. */
static GInetAddress *
unmap_v4 (GInetAddress *addr)
{
  if (g_inet_address_get_family (addr) != G_SOCKET_FAMILY_IPV6)
    return g_object_ref (addr);
  const guint8 *b = g_inet_address_to_bytes (addr);
  static const guint8 prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  if (memcmp (b, prefix, 12) != 0)
    return g_object_ref (addr);
  return g_inet_address_new_from_bytes (b + 12, G_SOCKET_FAMILY_IPV4);
}

gboolean
kmg_net_filter_is_denied (const KmgNetFilter *filter, const char *address)
{
  g_return_val_if_fail (filter != NULL, TRUE);

  if (address == NULL)
    return TRUE;
  g_autoptr (GInetAddress) parsed = g_inet_address_new_from_string (address);
  if (parsed == NULL)
    return TRUE;
  g_autoptr (GInetAddress) addr = unmap_v4 (parsed);
  for (guint i = 0; i < filter->masks->len; i++)
    {
      GInetAddressMask *mask = g_ptr_array_index (filter->masks, i);
      if (g_inet_address_mask_get_family (mask) == g_inet_address_get_family (addr)
          && g_inet_address_mask_matches (mask, addr))
        return TRUE;
    }
  return FALSE;
}

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
  g_auto (GStrv) tok = g_strsplit_set (body, " \r\n", 0);
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
  g_auto (GStrv) tok = g_strsplit (line, " ", 0);
  if (g_strv_length (tok) < 8)
    return NULL;
  g_free (tok[4]);
  tok[4] = g_strdup (address);
  return g_strjoinv (" ", tok);
}
