/* kmg-session-validate.h — checks of the signaling payloads clients send (SDP, ICE candidates)
 * before they are forwarded to a peer or to the relay. Pure: no sockets, no resolution. */
#pragma once

#include "kmg-net-deny.h"
#include "kmg-session-types.h"

G_BEGIN_DECLS

#define KMG_SESSION_MAX_SDP_BYTES (64 * 1024)
#define KMG_SESSION_MAX_CANDIDATE_BYTES 1024
#define KMG_SESSION_MAX_HOST_LEN 253

/* Address ranges candidates may not point at (DESIGN §9 relay.denied_peer_cidrs): the ranges of
 * kmg-net-deny.h, with a bad entry reported as KMG_SESSION_ERROR_INVALID. */
typedef KmgNetDeny KmgSessionDenyList;

/* As kmg_net_deny_new: @cidrs NULL = the defaults; loopback is denied unless @allow_loopback. */
KmgSessionDenyList *kmg_session_deny_list_new (const char *const *cidrs, gboolean allow_loopback,
                                                 GError **error);
void kmg_session_deny_list_free (KmgSessionDenyList *list);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgSessionDenyList, kmg_session_deny_list_free)

/* TRUE when @address may appear in a forwarded candidate: an IP literal outside the denied ranges
 * (judged with the IPv4 an IPv6 form carries, see kmg_net_deny_matches), or an mDNS name ending
 * in ".local". Anything else fails with DENIED_ADDRESS or INVALID.
 * @list NULL means the defaults with loopback denied. */
gboolean kmg_session_check_address (const KmgSessionDenyList *list, const char *address,
                                     GError **error);

/* One ICE candidate line (RFC 8839 §5.1), fields as written except transport (lower case). */
typedef struct
{
  char foundation[33];
  guint component;       /* 1..256 */
  char transport[4];     /* "udp" or "tcp" */
  guint32 priority;
  char address[KMG_SESSION_MAX_HOST_LEN + 1];
  guint port;            /* 0..65535 (0 and 9 appear for TCP active candidates) */
  char type[6];          /* host, srflx, prflx, relay */
  char raddr[KMG_SESSION_MAX_HOST_LEN + 1]; /* "" when absent */
  gint rport;            /* -1 when absent */
  char tcptype[8];       /* active, passive, so; "" when absent */
  gboolean mdns;         /* address is a .local name */
} KmgSessionCandidate;

/* Parses "candidate:..." or "a=candidate:..." (a trailing CR/LF is accepted). Syntax only: the
 * address is checked to be an IP literal or .local name but not against a deny list. */
gboolean kmg_session_parse_candidate (const char *line, KmgSessionCandidate *out, GError **error);

/* Parses and checks the address against @list (NULL = defaults, loopback denied). An empty
 * string is the end-of-candidates marker and is accepted. */
gboolean kmg_session_validate_candidate_full (const KmgSessionDenyList *list, const char *cand,
                                               GError **error);
gboolean kmg_session_validate_candidate (const char *cand, GError **error);

/* At most KMG_SESSION_MAX_SDP_BYTES, first line "v=0", every line "<letter>=<printable UTF-8>"
 * (CRLF or LF), and every a=candidate line valid for @list. */
gboolean kmg_session_validate_sdp_full (const KmgSessionDenyList *list, const char *sdp,
                                         GError **error);
gboolean kmg_session_validate_sdp (const char *sdp, GError **error);

G_END_DECLS
