/* kmg-host-addrs.c — the host's interface addresses (getifaddrs) and the deny list they extend.
 * Listing is the only I/O; turning addresses into CIDR entries is pure and unit-tested. */
#include "kmg-host-addrs.h"

#include "kmg-net-deny.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

GPtrArray *
kmg_host_addrs_list (void)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_object_unref);
  struct ifaddrs *ifa = NULL;

  if (getifaddrs (&ifa) != 0)
    return out;
  for (struct ifaddrs *i = ifa; i != NULL; i = i->ifa_next)
    {
      if (i->ifa_addr == NULL)
        continue;
      GInetAddress *a = NULL;
      if (i->ifa_addr->sa_family == AF_INET)
        a = g_inet_address_new_from_bytes ((const guint8 *) &((struct sockaddr_in *) i->ifa_addr)->sin_addr,
                                           G_SOCKET_FAMILY_IPV4);
      else if (i->ifa_addr->sa_family == AF_INET6)
        a = g_inet_address_new_from_bytes ((const guint8 *) &((struct sockaddr_in6 *) i->ifa_addr)->sin6_addr,
                                           G_SOCKET_FAMILY_IPV6);
      if (a != NULL)
        g_ptr_array_add (out, a);
    }
  freeifaddrs (ifa);
  return out;
}

char **
kmg_host_addrs_deny_cidrs (const char *const *base, GPtrArray *addresses, gboolean allow_loopback)
{
  GPtrArray *out = g_ptr_array_new ();

  if (base == NULL)
    base = kmg_net_deny_default_cidrs ();
  for (guint i = 0; base[i] != NULL; i++)
    g_ptr_array_add (out, g_strdup (base[i]));
  for (guint i = 0; addresses != NULL && i < addresses->len; i++)
    {
      GInetAddress *a = g_ptr_array_index (addresses, i);
      if (allow_loopback && g_inet_address_get_is_loopback (a))
        continue;
      /* Also the IPv6 forms carrying it: kmg_net_deny_matches folds them onto the IPv4 entry. */
      char *s = g_inet_address_to_string (a);
      if (!g_ptr_array_find_with_equal_func (out, s, g_str_equal, NULL))
        g_ptr_array_add (out, s);
      else
        g_free (s);
    }
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}
