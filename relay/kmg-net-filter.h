/* kmg-net-filter.h — the relay's address checks: ICE candidate line helpers, and the denied
 * ranges of kmg-net-deny.h the relay judges candidates and STUN sources with. Pure: no sockets. */
#pragma once

#include "kmg-net-deny.h"

G_BEGIN_DECLS

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
