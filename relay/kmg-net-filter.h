/* kmg-net-filter.h — denied peer address ranges and ICE candidate line helpers.
 * Pure: no sockets; decides which remote candidates may reach libnice. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _KmgNetFilter KmgNetFilter;

/* Link-local (incl. 169.254.169.254), multicast, unspecified and broadcast ranges. */
const char *const *kmg_net_filter_default_denied (void);

/* @denied_cidrs: "a.b.c.d/n" or "v6::/n" strings (NULL = the defaults). Loopback is denied
 * too unless @allow_loopback. IPv4-mapped IPv6 addresses are matched as the IPv4 they carry. */
KmgNetFilter *kmg_net_filter_new (const char *const *denied_cidrs, gboolean allow_loopback, GError **error);
void kmg_net_filter_free (KmgNetFilter *filter);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgNetFilter, kmg_net_filter_free)

/* TRUE for addresses in a denied range and for anything that is not a literal IP address
 * (host names such as mDNS ".local" would be resolved behind our back). */
gboolean kmg_net_filter_is_denied (const KmgNetFilter *filter, const char *address);

typedef struct
{
  char *foundation;
  guint component;
  char *transport; /* "UDP" / "TCP", as written */
  char *address;
  guint port;
  char *type; /* host, srflx, prflx, relay */
} KmgCandidate;

void kmg_candidate_clear (KmgCandidate *cand);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (KmgCandidate, kmg_candidate_clear)

/* Parses "candidate:…" (an "a=" prefix is accepted). */
gboolean kmg_candidate_parse (const char *line, KmgCandidate *cand);

/* Returns @line with its connection address replaced by @address (1:1 NAT announcement). */
char *kmg_candidate_with_address (const char *line, const char *address);

G_END_DECLS
