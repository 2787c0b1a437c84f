/* kmg-session-manager.h — watch sessions (DESIGN §5): admission, path choice (P2P / relay /
 * fallback), signaling routing, ICE grace, end reasons. Pure: the server feeds events and time. */
#pragma once

#include <json-glib/json-glib.h>

#include "kmg-session-types.h"
#include "kmg-session-validate.h"

G_BEGIN_DECLS

/*
 * States
 *
 * | state            | path  | entered when                                    | leaves on                        |
 * |------------------|-------|-------------------------------------------------|----------------------------------|
 * | requested        | none  | watch_start admitted; session.offer to seller    | accept, decline, answer timeout  |
 * | connecting_p2p   | p2p   | accepted, policy auto/never, nobody always_relay | buyer ICE connected + first frame|
 * |                  |       |                                                 | → active; p2p timeout or ICE     |
 * |                  |       |                                                 | failed → connecting_relay (auto) |
 * |                  |       |                                                 | or ended ice_failed (never)      |
 * | connecting_relay | relay | accepted with policy always or an always_relay   | buyer first frame → active;      |
 * |                  |       | party; or fallback from p2p                     | connect timeout/failure → ended  |
 * | active           | both  | buyer saw the first frame                        | P2P ICE failed or silent buyer → |
 * |                  |       |                                                 | connecting_relay (auto), silent  |
 * |                  |       |                                                 | buyer → ended unattested (never),|
 * |                  |       |                                                 | any end reason → ended           |
 * | ended            | kept  | any end reason; terminal                         | freed after ended_keep_ms        |
 *
 *   watch_start ──► requested ──accept──► connecting_p2p ──first frame──► active(p2p)
 *                      │           │            │ timeout / ICE failed (auto)   │ ICE failed (auto)
 *                      │           │            ▼                               ▼
 *                      │           └──────► connecting_relay ──first frame──► active(relay)
 *                      │                        (policy always or always_relay)
 *                      └─ decline / no answer / leave / gone / ban ... ──► ended(reason)  ◄── from any state
 *
 * Every transition sends `session.state` to both parties (the transition into ended is sent as
 * `session.ended` with the reason); see sessions/README.md for the messages.
 *
 * ICE grace: while any transport of the session (a client's peer connection, a relay leg) reports
 * `disconnected`, a deadline of ice_grace_ms runs; `connected` from every such transport clears it
 * (ICE restart, same session), expiry ends the session with ice_failed.
 *
 * Buyer-gone grace: every close of a buyer's WebSocket (kmg_session_manager_user_connection_closed)
 * restarts a deadline of ice_grace_ms + KMG_SESSION_GONE_MARGIN_MS; when it passes and the
 * user_connections effect reports no connection, the buyer's sessions end buyer_gone. A seller's
 * sessions are not affected: a seller is gone when presence takes it out of STREAMING.
 *
 * Silent buyer on P2P (docs/billing.md, "When the buyer stops attesting"): on P2P only the buyer's
 * stats are billing evidence. An active P2P session whose buyer has attested no second for
 * buyer_silence_ms (no stats report that billing counted seconds from; the clock starts when the
 * session turns active and again when every transport is connected after a reconnection) while the
 * seller's latest send report, at most KMG_SESSION_SELLER_REPORT_MAX_GAP_MS old, shows media
 * reaching the buyer (kmg_session_seller_report_flowing) leaves P2P: to the relay under policy auto
 * (same fallback as an ICE failure, the relay then measures), ended unattested under policy never.
 * It is decided at that deadline and again on every seller report past it; never while a transport
 * is disconnected (the ICE grace decides then). A buyer silent because the media stopped has a
 * seller whose receiver reports stopped too: the rule does not apply.
 *
 * Time: the manager keeps every deadline itself. After each entry point (tick included) it hands
 * the next one to the schedule effect; the server arms one timer there and calls tick when it fires.
 *
 * Server restart: sessions live in memory only. A clean shutdown calls
 * kmg_session_manager_shutdown() (reason server_restart, billing told); after a crash the billing
 * recovery closes what was left active in the ledger (kmg_billing_recover), nothing to do here.
 */

/* Presence keeps counting a lost connection until its own grace (the same presence.grace_s) has
 * passed, and its timer runs beside ours: the buyer-gone check waits this much longer so that the
 * closed connection is no longer counted when user_connections is asked. */
#define KMG_SESSION_GONE_MARGIN_MS 500

/* A seller send report counts as evidence against the previous one only when it follows it within
 * this much (the same spacing billing allows between two buyer reports), and is current for this
 * long after it arrived. */
#define KMG_SESSION_SELLER_REPORT_MAX_GAP_MS 5000

typedef struct _KmgSessionManager KmgSessionManager;
typedef struct _KmgSession KmgSession;

typedef struct
{
  KmgSessionPolicy policy;     /* relay.policy, default auto */
  gint64 p2p_timeout_ms;       /* relay.p2p_timeout_ms, default 5000 */
  gint64 connect_timeout_ms;   /* connecting_relay (or connecting_p2p under policy never) without
                                * a first frame ends ice_failed; default 15000 */
  gint64 answer_timeout_ms;    /* seller's accept/decline; default 30000 → no_answer */
  gint64 ice_grace_ms;         /* presence.grace_s in ms, default 20000; also the buyer-gone grace */
  gint64 ended_keep_ms;        /* ended sessions answer session_ended this long; default 60000 */
  gint64 buyer_silence_ms;     /* P2P buyer without an attested second this long while the seller's
                                * evidence shows media flowing: off P2P (see above); default 6000
                                * (two 2 s report intervals + 2 s slack); 0 = off */
  guint max_sessions_per_seller; /* live sessions; 0 = unlimited */
  char **denied_cidrs;         /* relay.denied_peer_cidrs; NULL = defaults */
  gboolean allow_loopback;     /* tests: loopback candidates pass */
} KmgSessionConfig;

/* Fills @config with the defaults above. */
void kmg_session_config_init (KmgSessionConfig *config);

/* One signaling payload. Strings are borrowed. */
typedef struct
{
  KmgSessionSignalKind kind;
  const char *sdp;         /* offer/answer */
  const char *candidate;   /* ice_candidate; "" marks the end of candidates */
  const char *sdp_mid;     /* optional */
  gint mline_index;        /* -1 when absent */
  KmgSessionPath path;     /* the path the client meant (NONE: any); a mismatch is stale_path */
} KmgSessionSignal;

/* P2P receive statistics from the buyer (billing source buyer_attested). */
typedef struct
{
  guint64 frames_decoded; /* cumulative */
  guint64 bytes_received; /* cumulative */
  gint64 timestamp_ms;    /* client clock, for ordering only */
} KmgSessionStats;

/* P2P send statistics from the seller: its outbound video and what the buyer's RTCP receiver reports
 * told it. Not billing evidence (the seller would vouch for its own earnings): they only decide
 * whether a silent buyer's session leaves P2P. */
typedef struct
{
  guint64 packets_sent;  /* cumulative, video */
  guint64 bytes_sent;    /* cumulative, video */
  guint64 rr_count;      /* cumulative receiver reports received from the buyer */
  double fraction_lost;  /* from the buyer's latest receiver report, 0..1; < 0: none received yet */
  gint64 timestamp_ms;   /* client clock, informative */
} KmgSessionSellerStats;

/* The seller's evidence that media reaches the buyer: @cur arrived at most
 * KMG_SESSION_SELLER_REPORT_MAX_GAP_MS after @prev (receive times, server clock), packets_sent,
 * bytes_sent and rr_count all grew, and the latest receiver report shows a known loss below 50 %. */
gboolean kmg_session_seller_report_flowing (const KmgSessionSellerStats *prev, gint64 prev_ms,
                                            const KmgSessionSellerStats *cur, gint64 cur_ms);

/* What the server implements. All run synchronously from the event call that caused them and must
 * not call back into the manager (queue that on the main context instead). Optional ones may be NULL. */
typedef struct
{
  /* A message for one participant. @conn_hint: the connection the party uses for this session, 0 =
   * all of the user's connections (and fall back to them when that connection is gone). @msg
   * carries its own "type"; the server may add fields (e.g. usernames) before sending. */
  void (*send) (gint64 user_id, guint64 conn_hint, JsonObject *msg, gpointer user_data);
  /* ≥ one minute at @price in the buyer's wallet. Checked at watch_start and again at accept. */
  gboolean (*balance_ok) (gint64 buyer_id, gint64 price, gpointer user_data);
  /* Session created (requested; price fixed). Store it and set *@out_id to its id (> 0), which
   * names the session everywhere. NULL: the manager numbers sessions itself. FALSE fails watch_start. */
  gboolean (*billing_session_started) (KmgSession *session, gint64 *out_id, gpointer user_data,
                                       GError **error);
  /* Called exactly once per started session, when it ends. */
  void (*billing_session_ended) (KmgSession *session, KmgSessionEndReason reason, gpointer user_data);
  /* Buyer's P2P stats report, only while the path is P2P. Returns how many seconds billing counted
   * from it (kmg_billing_buyer_report): > 0 is an attestation for the silent-buyer rule. NULL: every
   * buyer report counts as one. */
  guint (*p2p_stats) (KmgSession *session, const KmgSessionStats *report, gpointer user_data);
  /* Add a relayed buyer leg for this session (kmg_relay_buyer_add, keyed by the session id).
   * Set *@seller_offer_needed when the relay created a new seller leg (the seller must send an
   * offer). May add relay details (ICE servers, ...) to @buyer_msg / @seller_msg, the
   * session.use_relay messages about to be sent. FALSE: the session ends with relay_error. */
  gboolean (*relay_start_buyer) (KmgSession *session, gboolean *seller_offer_needed,
                                 JsonObject *buyer_msg, JsonObject *seller_msg, gpointer user_data,
                                 GError **error);
  /* Exactly once for every successful relay_start_buyer, when the session ends. */
  void (*relay_stop_buyer) (KmgSession *session, gpointer user_data);
  /* Signaling from a party in relay mode: @role BUYER → the session's buyer leg, SELLER → the
   * seller's (shared) seller leg. Never forwarded to the other party. Payload already validated. */
  void (*relay_signal) (KmgSession *session, KmgSessionRole role, const KmgSessionSignal *signal,
                        gpointer user_data);
  /* The buyer's transport to the relay is disconnected: restart ICE on the buyer leg (the relay
   * is the offerer there). Optional. */
  void (*relay_restart_ice) (KmgSession *session, gpointer user_data);
  /* Any state or path change (metrics, billing path "p2p"/"relay"). Optional. */
  void (*state_changed) (KmgSession *session, KmgSessionState old_state, gpointer user_data);
  /* How many connections @user_id has now (live ones and lost ones presence still counts); asked
   * when a buyer's gone-grace passes. NULL: none (the grace alone decides). */
  guint (*user_connections) (gint64 user_id, gpointer user_data);
  /* The next deadline may have changed: call kmg_session_manager_tick at @next_deadline_ms
   * (absolute, same clock as now_ms; -1 = nothing pending). Called at the end of every entry point
   * that can change a deadline, tick included, with kmg_session_manager_next_deadline(). Optional. */
  void (*schedule) (gint64 next_deadline_ms, gpointer user_data);
} KmgSessionEffects;

/* Seller facts the server looks up for watch_start. */
typedef struct
{
  gboolean streaming;           /* presence STREAMING */
  gboolean is_seller;
  gboolean seller_banned;
  gboolean buyer_banned;
  gint64 price_per_minute;      /* the seller's price now; fixed into the session */
  gboolean seller_always_relay;
  gboolean buyer_always_relay;
} KmgWatchRequest;

/* @config and @effects are copied. Fails on a bad denied_cidrs entry. */
KmgSessionManager *kmg_session_manager_new (const KmgSessionConfig *config, const KmgSessionEffects *effects,
                                            gpointer user_data, GError **error);
/* Frees everything without ending sessions (call shutdown first for a clean stop). Accepts NULL. */
void kmg_session_manager_free (KmgSessionManager *mgr);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgSessionManager, kmg_session_manager_free)

/* ---- events from clients (@conn_id: the connection the message came on; it becomes that party's
 * conn_hint). All return FALSE with a KMG_SESSION_ERROR and change nothing on refusal. ---- */

/* Returns the new session id (> 0), or 0 with @error. Sends session.offer to the seller. */
gint64 kmg_session_manager_watch_start (KmgSessionManager *mgr, gint64 buyer_id, guint64 conn_id,
                                        gint64 seller_id, const KmgWatchRequest *req, gint64 now_ms,
                                        GError **error);
gboolean kmg_session_manager_accept (KmgSessionManager *mgr, gint64 session_id, gint64 user_id,
                                     guint64 conn_id, gint64 now_ms, GError **error);
gboolean kmg_session_manager_decline (KmgSessionManager *mgr, gint64 session_id, gint64 user_id,
                                      guint64 conn_id, gint64 now_ms, GError **error);
/* P2P: forwarded to the other party (seller sends offers, buyer answers, both candidates).
 * Relay: handed to relay_signal. Before accept: bad_state. */
gboolean kmg_session_manager_signal (KmgSessionManager *mgr, gint64 session_id, gint64 user_id,
                                     guint64 conn_id, const KmgSessionSignal *signal, gint64 now_ms,
                                     GError **error);
/* A party's own peer connection (to the other party in P2P, to the relay in relay mode). */
/* @path: the path of the peer connection the report is about (NONE: the current one); a report
 * about the abandoned P2P connection after a fallback is refused with stale_path. */
gboolean kmg_session_manager_ice_state (KmgSessionManager *mgr, gint64 session_id, gint64 user_id,
                                        guint64 conn_id, KmgSessionPath path, KmgSessionIceState state,
                                        gint64 now_ms, GError **error);
/* Buyer only. */
gboolean kmg_session_manager_first_frame (KmgSessionManager *mgr, gint64 session_id, gint64 user_id,
                                          guint64 conn_id, KmgSessionPath path, gint64 now_ms,
                                          GError **error);
/* Buyer only; forwarded to p2p_stats while on P2P, ignored (TRUE) on the relay. */
gboolean kmg_session_manager_stats (KmgSessionManager *mgr, gint64 session_id, gint64 user_id,
                                    const KmgSessionStats *report, gint64 now_ms, GError **error);
/* Seller only; on P2P it feeds the silent-buyer rule (which may move or end the session at once),
 * on the relay it is accepted and ignored (TRUE). */
gboolean kmg_session_manager_seller_stats (KmgSessionManager *mgr, gint64 session_id, gint64 user_id,
                                           const KmgSessionSellerStats *report, gint64 now_ms,
                                           GError **error);
gboolean kmg_session_manager_leave (KmgSessionManager *mgr, gint64 session_id, gint64 user_id,
                                    gint64 now_ms, GError **error);

/* ---- events from the server ---- */

/* Presence: the user's connections are gone past the grace (seller: out of STREAMING for a reason
 * other than stop_live). presence_gone = both. Return how many sessions ended. */
guint kmg_session_manager_seller_gone (KmgSessionManager *mgr, gint64 seller_id, gint64 now_ms);
guint kmg_session_manager_buyer_gone (KmgSessionManager *mgr, gint64 buyer_id, gint64 now_ms);
guint kmg_session_manager_presence_gone (KmgSessionManager *mgr, gint64 user_id, gint64 now_ms);
/* One of @user_id's WebSocket connections closed (every close, whatever is left). If the user is
 * the buyer of a live session, the buyer-gone grace (re)starts: see "Buyer-gone grace" above. */
void kmg_session_manager_user_connection_closed (KmgSessionManager *mgr, gint64 user_id, gint64 now_ms);
/* Seller stopped streaming: its sessions end seller_left. */
guint kmg_session_manager_stop_live (KmgSessionManager *mgr, gint64 seller_id, gint64 now_ms);
/* Either party banned. */
guint kmg_session_manager_ban (KmgSessionManager *mgr, gint64 user_id, gint64 now_ms);
/* Billing could not charge the next minute. */
gboolean kmg_session_manager_billing_exhausted (KmgSessionManager *mgr, gint64 session_id, gint64 now_ms);
/* Admin "end session" (reason admin) or any other reason the server decides. */
gboolean kmg_session_manager_end (KmgSessionManager *mgr, gint64 session_id, KmgSessionEndReason reason,
                                  gint64 now_ms);
/* Clean shutdown: every live session ends server_restart. */
guint kmg_session_manager_shutdown (KmgSessionManager *mgr, gint64 now_ms);

/* Relay callbacks. Buyer leg of a session (the relay keys it by the session id): */
gboolean kmg_session_manager_relay_leg_state (KmgSessionManager *mgr, gint64 session_id,
                                              KmgSessionIceState state, gint64 now_ms);
/* The seller leg of @seller_id, shared by all its relayed sessions. */
guint kmg_session_manager_relay_seller_leg_state (KmgSessionManager *mgr, gint64 seller_id,
                                                  KmgSessionIceState state, gint64 now_ms);
/* Relay leg failed (ice_failed) or the relay could not serve it (relay_error). */
gboolean kmg_session_manager_relay_leg_failed (KmgSessionManager *mgr, gint64 session_id, gint64 now_ms);
gboolean kmg_session_manager_relay_error (KmgSessionManager *mgr, gint64 session_id, gint64 now_ms);
/* Relay → party signaling (local SDP/candidates of a leg), wrapped as a `signal` from "relay".
 * Buyer legs: by session. Seller legs: to the seller (any conn of its relayed sessions). */
gboolean kmg_session_manager_relay_to_buyer (KmgSessionManager *mgr, gint64 session_id,
                                             const KmgSessionSignal *signal, gint64 now_ms);
gboolean kmg_session_manager_relay_to_seller (KmgSessionManager *mgr, gint64 seller_id,
                                              const KmgSessionSignal *signal, gint64 now_ms);

/* Fires due timeouts (answer, p2p fallback, relay connect, ICE grace, buyer-gone grace, silent
 * buyer, freeing ended sessions). Returns the next absolute deadline in ms, or -1 when none (also given to schedule). */
gint64 kmg_session_manager_tick (KmgSessionManager *mgr, gint64 now_ms);
gint64 kmg_session_manager_next_deadline (KmgSessionManager *mgr);

/* ---- reading ---- */

/* Borrowed; NULL when unknown or freed. */
KmgSession *kmg_session_manager_get (KmgSessionManager *mgr, gint64 session_id);
/* Live (not ended) sessions by state and by path, for /metrics. */
void kmg_session_manager_count (KmgSessionManager *mgr, guint by_state[KMG_SESSION_N_STATES],
                                guint by_path[KMG_SESSION_N_PATHS]);
typedef void (*KmgSessionFunc) (KmgSession *session, gpointer user_data);
/* Every kept session (ended ones too), in id order. @func must not call into the manager. */
void kmg_session_manager_foreach (KmgSessionManager *mgr, KmgSessionFunc func, gpointer user_data);

gint64 kmg_session_get_id (const KmgSession *s);
gint64 kmg_session_get_buyer (const KmgSession *s);
gint64 kmg_session_get_seller (const KmgSession *s);
gint64 kmg_session_get_price (const KmgSession *s);
KmgSessionState kmg_session_get_state (const KmgSession *s);
KmgSessionPath kmg_session_get_path (const KmgSession *s);
KmgSessionEndReason kmg_session_get_end_reason (const KmgSession *s);
gboolean kmg_session_get_fell_back (const KmgSession *s); /* went P2P → relay */
gint64 kmg_session_get_created_ms (const KmgSession *s);
gint64 kmg_session_get_active_ms (const KmgSession *s);  /* 0 until active */
gint64 kmg_session_get_ended_ms (const KmgSession *s);   /* 0 until ended */
/* A slot for the server (e.g. its relay leg); @destroy runs when the session is freed. */
void kmg_session_set_data (KmgSession *s, gpointer data, GDestroyNotify destroy);
gpointer kmg_session_get_data (const KmgSession *s);

G_END_DECLS
