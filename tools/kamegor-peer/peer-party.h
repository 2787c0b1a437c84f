/* peer-party.h — one account of the command-line peer (seller, buyer or probe) with its
 * WebSocket and peer connections, the run that waits for all of them, and their options. */
#pragma once

#include "peer-conn.h"
#include "peer-http.h"
#include "peer-ws.h"

G_BEGIN_DECLS

typedef enum
{
  PEER_ROLE_SELLER,
  PEER_ROLE_BUYER,
  PEER_ROLE_NONE, /* account set-up only, or probes (--send) */
} PeerRole;

typedef struct
{
  char *server;
  char *username;
  char *password;
  gboolean register_first;
  PeerRole role;
  gint64 seller_id;
  char *codec;
  double duration_s;   /* seller: live time (0 = until SIGTERM); buyer: watching time */
  double timeout_s;    /* buyer: no first frame by then = failure */
  double lat, lon;
  gint64 price;
  gboolean json;
  gboolean allow_loopback;
  gboolean no_decode;
  char *log_messages;
  char **inject;       /* candidates sent as a party's own (abuse checks) */
  char **send;         /* raw messages a probe sends */
  gint viewers;        /* buyer: this many buyer accounts (USERNAME1..N), one session each */
  double stall_s;      /* buyer on the relay: no packet for this long = "disconnected"; 0 = off */
} PeerOptions;

typedef struct
{
  GMainLoop *loop;
  guint running;
  gboolean failed;
  SoupSession *http;
  FILE *log;
  const PeerOptions *opt;
} PeerRun;

typedef struct _PeerParty PeerParty;

typedef struct
{
  gint64 id;
  char *path;       /* "p2p" / "relay" / NULL */
  PeerConn *conn;   /* seller: the P2P connection of this session */
  char *state;
  gboolean reconnecting; /* seller: the last session.state said so */
} PeerSession;

struct _PeerParty
{
  PeerRun *run;
  const PeerOptions *opt;
  PeerRole role;
  char *username;
  PeerAccount account;
  PeerWs *ws;
  gint64 started_us;   /* monotonic */
  gboolean finished;
  JsonArray *inject_replies;
  guint injected;
  guint timer;         /* seller: duration / retries; buyer: watch timer */

  /* seller */
  GHashTable *sessions; /* id → PeerSession */
  PeerConn *relay_leg;  /* one shared connection to the relay */
  gint64 relay_session; /* the session its signaling names */
  gboolean live;
  guint accepted;
  gint64 minutes_earned;
  JsonArray *paths_seen;
  /* The relay connection is replaced by a fresh one (new ICE and DTLS, a new offer) when a
   * relayed session turns "reconnecting" or the connection itself goes disconnected/failed. */
  gint seller_restarts;
  gint64 restarted_us;
  guint restart_timer;     /* a restart asked for too soon after the last one */
  gint64 restart_session;
  gboolean relay_was_up;   /* a relay connection of this seller leg has connected */

  /* buyer */
  PeerSession session;  /* session.conn: the current connection (P2P or relay) */
  guint stats_timer, timeout_timer, retry_timer;
  gint64 watch_sent_us, first_frame_us, ended_us;
  guint64 frames_before, bytes_before, packets_before; /* from connections already closed (P2P before a fallback) */
  gboolean fell_back;
  /* Relay path: a fresh offer on a connection that had one is an ICE restart (new DTLS too):
   * answered on a new connection. A stall (no packet for --stall seconds) is reported as ICE
   * "disconnected", which makes the server restart the relay leg. */
  gboolean relay_offered;
  guint stall_timer;
  guint64 stall_packets;
  gint64 stall_since_us;
  gboolean stall_reported;
  gint relay_restarts;
  guint64 frames_at_restart;
  /* Relay path: the longest time without a packet, and the frames decoded since it ended
   * (whether the stall is reported or not). */
  gint64 longest_gap_us;
  guint64 frames_at_gap_end;
  char *end_reason;
  char *error;
  gint64 minutes_charged;

  /* probe */
  guint sent, answered;
  JsonArray *replies;
};

gint64 peer_now_ms (PeerParty *p); /* since the party started */
/* Prints an event line (JSON with --json, else readable on stderr). Consumes @fields (NULL ok). */
void peer_event (PeerParty *p, const char *event, JsonObject *fields);
/* The party is done: prints its summary (consumed) and stops the run after the last one. */
void peer_party_finish (PeerParty *p, gboolean ok, JsonObject *summary);
PeerConn *peer_party_new_conn (PeerParty *p, gboolean send, const PeerConnCallbacks *cb);
/* A PeerConnCallbacks.error for any party (@user_data: the party): prints a media_error event. */
void peer_party_on_conn_error (PeerConn *pc, const char *message, gpointer user_data);
/* Hands a "signal" message (candidate, offer or answer) to @pc; a refused description is a
 * media_error. */
void peer_party_apply_signal (PeerParty *p, PeerConn *pc, JsonObject *msg);
/* The first message on a new WebSocket: this client's hello. */
void peer_party_send_hello (PeerParty *p);
/* The WebSocket closed: @why becomes the party's error unless an earlier one explains the end. */
void peer_party_ws_closed (PeerParty *p, const char *why);
/* Sends --inject candidates once, as this party's own for @session_id on @path. */
void peer_party_inject (PeerParty *p, gint64 session_id, const char *path);
/* Records replies to injected candidates; TRUE when @msg was one. */
gboolean peer_party_inject_reply (PeerParty *p, JsonObject *msg, const char *type);
void peer_send_signal (PeerParty *p, gint64 session_id, const char *path, const char *kind,
                       const char *key, const char *value, gint mline);
void peer_send_ice_state (PeerParty *p, gint64 session_id, const char *path, const char *state);

void peer_seller_start (PeerParty *p);
void peer_seller_stop (PeerParty *p);
void peer_buyer_start (PeerParty *p);
void peer_buyer_stop (PeerParty *p);
void peer_probe_start (PeerParty *p);

void peer_session_clear (PeerSession *s);

G_END_DECLS
