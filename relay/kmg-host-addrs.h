/* kmg-host-addrs.h — the server's own interface addresses as denied peer ranges: a peer naming
 * one of them as its candidate would make the relay probe services on the server itself. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The addresses of the host's interfaces (GInetAddress), read once with getifaddrs(). */
GPtrArray *kmg_host_addrs_list (void);

/* @base (a CIDR list, NULL = kmg_net_deny_default_cidrs()) followed by one single-host entry for
 * each of @addresses (GInetAddress), skipping loopback when @allow_loopback. Pure. */
char **kmg_host_addrs_deny_cidrs (const char *const *base, GPtrArray *addresses, gboolean allow_loopback);

G_END_DECLS
