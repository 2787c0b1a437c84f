/* kmg-stun-server.h — a small STUN binding responder so clients can learn their reflexive
 * address from the relay itself (DESIGN §5.7). UDP only, on the main context. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define KMG_STUN_DEFAULT_PORT 3478

typedef struct _KmgStunServer KmgStunServer;

typedef struct
{
  guint64 answered;
  guint64 rate_limited;
  guint64 denied;  /* source in a denied range: never answered */
  guint64 ignored; /* not a binding request, or malformed */
} KmgStunServerStats;

/* Binds @address:@port (port 0 picks one). Requests from a source above @rate_per_s
 * (burst 2× that) are dropped; @denied_cidrs / @allow_loopback as for the relay. */
KmgStunServer *kmg_stun_server_new (const char *address, guint port, guint rate_per_s,
                                    const char *const *denied_cidrs, gboolean allow_loopback,
                                    GError **error);
void kmg_stun_server_free (KmgStunServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgStunServer, kmg_stun_server_free)

guint kmg_stun_server_get_port (KmgStunServer *server);
void kmg_stun_server_get_stats (KmgStunServer *server, KmgStunServerStats *stats);

G_END_DECLS
