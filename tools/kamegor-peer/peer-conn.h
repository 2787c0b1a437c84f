/* peer-conn.h — one WebRTC peer connection of the command-line peer (a webrtcbin pipeline):
 * a test-video sender or a receiver that counts frames. Callbacks run on the main context. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PEER_CONN_ERROR (peer_conn_error_quark ())
GQuark peer_conn_error_quark (void);

typedef enum
{
  PEER_CONN_ERROR_PIPELINE,
  PEER_CONN_ERROR_SDP,
} PeerConnError;

typedef struct _PeerConn PeerConn;

typedef struct
{
  gboolean send;           /* TRUE: test video out; FALSE: receive only */
  const char *codec;       /* "vp8" or "h264" (sender) */
  const char *stun_server; /* "stun://host:port" or NULL */
  gboolean allow_loopback; /* add 127.0.0.1 to the ICE agent (single-host runs) */
  gboolean decode;         /* receiver: decode frames (else count RTP frames by marker bit) */
  guint width, height, fps;
} PeerConnConfig;

typedef struct
{
  /* @type: "offer" or "answer". */
  void (*local_sdp) (PeerConn *pc, const char *type, const char *sdp, gpointer user_data);
  void (*local_candidate) (PeerConn *pc, guint mline, const char *candidate, gpointer user_data);
  /* @state: new, checking, connected, completed, failed, disconnected, closed */
  void (*ice_state) (PeerConn *pc, const char *state, gpointer user_data);
  void (*first_frame) (PeerConn *pc, gpointer user_data);
  void (*error) (PeerConn *pc, const char *message, gpointer user_data);
} PeerConnCallbacks;

PeerConn *peer_conn_new (const PeerConnConfig *config, const PeerConnCallbacks *cb, gpointer user_data,
                         GError **error);
/* Stops the pipeline; no callback runs after this returns. Accepts NULL. */
void peer_conn_free (PeerConn *pc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PeerConn, peer_conn_free)

/* Sender: creates and sends (local_sdp) an offer. */
void peer_conn_create_offer (PeerConn *pc);
/* An offer is answered (local_sdp "answer"). */
gboolean peer_conn_set_remote (PeerConn *pc, const char *type, const char *sdp, GError **error);
/* Candidates before the remote description are held back. "" (end of candidates) is ignored. */
void peer_conn_add_candidate (PeerConn *pc, guint mline, const char *candidate);

guint64 peer_conn_get_frames (PeerConn *pc);
guint64 peer_conn_get_bytes (PeerConn *pc);
guint64 peer_conn_get_packets (PeerConn *pc);

G_END_DECLS
