/* kmg-net-deny.h — the denied peer address ranges (relay.denied_peer_cidrs, DESIGN §9): the one
 * default list, the CIDR list parser and the matcher every consumer asks. Pure: no sockets. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define KMG_NET_DENY_ERROR (kmg_net_deny_error_quark ())
GQuark kmg_net_deny_error_quark (void);

typedef enum
{
  KMG_NET_DENY_ERROR_BAD_CIDR, /* an entry of a CIDR list is not "address[/prefix]" */
} KmgNetDenyError;

typedef struct _KmgNetDeny KmgNetDeny;

/* Link-local (incl. 169.254.169.254), multicast, unspecified and broadcast ranges. */
const char *const *kmg_net_deny_default_cidrs (void);

/* Checks every entry of @cidrs: "a.b.c.d/n" or "v6::/n", a bare address meaning one host, no
 * bits set after the prefix. The error names the first bad entry. */
gboolean kmg_net_deny_check_cidrs (const char *const *cidrs, GError **error);

/* @cidrs as for kmg_net_deny_check_cidrs (NULL = the defaults). Loopback (127/8, ::1) is denied
 * too unless @allow_loopback. */
KmgNetDeny *kmg_net_deny_new (const char *const *cidrs, gboolean allow_loopback, GError **error);
void kmg_net_deny_free (KmgNetDeny *deny);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgNetDeny, kmg_net_deny_free)

/* The defaults with loopback denied, built once and shared (never freed; safe from any thread). */
const KmgNetDeny *kmg_net_deny_get_default (void);

/* TRUE when @address, or the IPv4 address it carries, is in a denied range. Carried IPv4:
 * IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d, and IPv4-compatible ::a.b.c.d with a != 0
 * (::, ::1 and the rest of ::/104 are IPv6 addresses of their own). A range written in one of
 * these forms also covers the IPv4 addresses it carries. */
gboolean kmg_net_deny_matches (const KmgNetDeny *deny, GInetAddress *address);

/* As kmg_net_deny_matches for a string; TRUE for anything that is not an IP literal (a host name
 * such as an mDNS ".local" would be resolved behind our back). */
gboolean kmg_net_deny_is_denied (const KmgNetDeny *deny, const char *address);

G_END_DECLS
