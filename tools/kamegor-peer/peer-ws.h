/* peer-ws.h — the command-line peer's WebSocket to /api/v1/ws: bearer subprotocol, JSON objects
 * in and out, and an optional log of every message received (privacy checks read it). */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <stdio.h>

G_BEGIN_DECLS

typedef struct _PeerWs PeerWs;

typedef struct
{
  void (*opened) (PeerWs *ws, gpointer user_data);  /* after auth_ok */
  void (*message) (PeerWs *ws, JsonObject *msg, const char *type, gpointer user_data);
  void (*closed) (PeerWs *ws, const char *why, gpointer user_data);
} PeerWsCallbacks;

/* @log: may be NULL; not owned. One line per received message; sent ones start with "> ". */
PeerWs *peer_ws_new (SoupSession *session, const char *server, const char *token, FILE *log,
                     const PeerWsCallbacks *cb, gpointer user_data);
void peer_ws_free (PeerWs *ws);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PeerWs, peer_ws_free)

/* Sends @msg (its "type" set to @type; @ref added when not NULL). Consumes @msg. */
void peer_ws_send (PeerWs *ws, const char *type, const char *ref, JsonObject *msg);
/* Sends raw text as it is (probes). */
void peer_ws_send_text (PeerWs *ws, const char *text);
gboolean peer_ws_is_open (PeerWs *ws);

G_END_DECLS
