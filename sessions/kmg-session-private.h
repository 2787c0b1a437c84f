/* kmg-session-private.h — the session and manager structs shared by the manager's files.
 * Not installed for other modules: they go through kmg-session-manager.h. */
#pragma once

#include "kmg-session-manager.h"

G_BEGIN_DECLS

#define KMG_NO_DEADLINE G_MAXINT64

/* Transports whose ICE state is tracked for the grace period (bit mask). */
enum
{
  TRANSPORT_BUYER_PC = 1 << 0,   /* buyer's peer connection (to seller or to relay) */
  TRANSPORT_SELLER_PC = 1 << 1,  /* seller's peer connection (to buyer or to relay) */
  TRANSPORT_RELAY_BUYER = 1 << 2,
  TRANSPORT_RELAY_SELLER = 1 << 3,
};

struct _KmgSession
{
  gint64 id, buyer, seller, price;
  guint64 buyer_conn, seller_conn;
  KmgSessionState state;
  KmgSessionPath path;
  KmgSessionEndReason end_reason;
  gboolean buyer_always_relay, seller_always_relay;
  gboolean fell_back;
  gboolean relay_started;   /* relay_stop_buyer owed */
  gboolean billing_started; /* billing_session_ended owed */
  gboolean buyer_ice_connected, first_frame; /* on the current path */
  guint disconnected;       /* TRANSPORT_* bits */
  gint64 created_ms, active_ms, ended_ms;
  gint64 state_deadline;    /* answer / p2p / connect timeout */
  gint64 grace_deadline;    /* ICE restart grace */
  gint64 free_at;           /* ended sessions */
  /* Silent-buyer rule (kmg-session-silence.c), active P2P sessions only. */
  gint64 attested_ms;       /* the buyer's last attestation (or the start of its clock) */
  gint64 silence_deadline;  /* attested_ms + buyer_silence_ms, until decided */
  gboolean seller_reported; /* seller_last is a baseline */
  gboolean seller_flowing;  /* seller_last showed media flowing to the buyer */
  KmgSessionSellerStats seller_last;
  gint64 seller_last_ms;    /* when seller_last arrived */
  gpointer data;
  GDestroyNotify destroy;
};

/* A buyer's gone-grace (kmg-session-from-system.c). */
typedef struct
{
  gint64 user_id;
  gint64 deadline;
} KmgGoneGrace;

struct _KmgSessionManager
{
  KmgSessionConfig config; /* denied_cidrs deep-copied */
  KmgSessionEffects fx;
  gpointer user_data;
  KmgSessionDenyList *deny;
  GHashTable *sessions; /* gint64 id -> KmgSession, owned */
  GHashTable *gone;     /* buyer id -> KmgGoneGrace, owned: buyers whose connection closed */
  gint64 next_id;
  gboolean busy;        /* inside an entry point: effects must not re-enter */
};

/* Re-entrancy guard for every entry point; a re-entrant call is a programmer error. Leaving hands
 * the next deadline to the schedule effect (still inside the guard). */
gboolean kmg_session_enter (KmgSessionManager *mgr);
void kmg_session_leave (KmgSessionManager *mgr);

/* Looks up @id for @user: NOT_FOUND, NOT_PARTICIPANT, or SESSION_ENDED (when !@allow_ended). */
KmgSession *kmg_session_lookup (KmgSessionManager *mgr, gint64 id, gint64 user, gboolean allow_ended,
                                     KmgSessionRole *role, GError **error);
gboolean kmg_session_is_live (const KmgSession *s);

void kmg_session_set_state (KmgSessionManager *mgr, KmgSession *s, KmgSessionState state, gint64 now_ms);
/* FALSE when @s had already ended. */
gboolean kmg_session_end (KmgSessionManager *mgr, KmgSession *s, KmgSessionEndReason reason, gint64 now_ms);
void kmg_session_start_p2p (KmgSessionManager *mgr, KmgSession *s, gint64 now_ms);
void kmg_session_start_relay (KmgSessionManager *mgr, KmgSession *s, gboolean fallback, gint64 now_ms);
/* P2P ICE failure: relay under policy auto, else end ice_failed. */
void kmg_session_p2p_failed (KmgSessionManager *mgr, KmgSession *s, gint64 now_ms);
void kmg_session_transport_state (KmgSessionManager *mgr, KmgSession *s, guint transport,
                                  KmgSessionIceState state, gint64 now_ms);
void kmg_session_maybe_activate (KmgSessionManager *mgr, KmgSession *s, gint64 now_ms);

/* Live sessions matching @user (e.g. as its buyer), in id order so effects come out
 * deterministically; ending them all. */
typedef gboolean (*KmgSessionMatch) (const KmgSession *s, gint64 user);
gboolean kmg_session_match_buyer (const KmgSession *s, gint64 user);
GPtrArray *kmg_session_select_live (KmgSessionManager *mgr, KmgSessionMatch match, gint64 user);
guint kmg_session_end_live (KmgSessionManager *mgr, KmgSessionMatch match, gint64 user,
                            KmgSessionEndReason reason, gint64 now_ms);

/* Silent-buyer rule (kmg-session-silence.c). _restart starts the buyer's clock at @now_ms (the
 * session became active on P2P, or reconnected); _clear forgets everything (path change, end). */
void kmg_session_silence_restart (KmgSessionManager *mgr, KmgSession *s, gint64 now_ms);
void kmg_session_silence_clear (KmgSession *s);
void kmg_session_silence_buyer_report (KmgSessionManager *mgr, KmgSession *s, guint attested,
                                       gint64 now_ms);
/* TRUE: the buyer must leave P2P now (kmg_session_leave_p2p_unattested). */
gboolean kmg_session_silence_seller_report (KmgSessionManager *mgr, KmgSession *s,
                                            const KmgSessionSellerStats *report, gint64 now_ms);
/* The silence deadline passed: decide (TRUE as above). */
gboolean kmg_session_silence_due (KmgSessionManager *mgr, KmgSession *s, gint64 now_ms);
/* Relay from now on under policy auto, else the session ends unattested (kmg-session-manager.c). */
void kmg_session_leave_p2p_unattested (KmgSessionManager *mgr, KmgSession *s, gint64 now_ms);

/* Sends @msg (consumed) to the party of @s in @role. */
void kmg_session_send (KmgSessionManager *mgr, KmgSession *s, KmgSessionRole role, JsonObject *msg);

/* Message builders (kmg-session-messages.c); each returns a new object with "type" set. */
JsonObject *kmg_session_msg_offer (const KmgSession *s, gint64 answer_within_ms);
JsonObject *kmg_session_msg_state (const KmgSession *s, KmgSessionRole role);
JsonObject *kmg_session_msg_path (const KmgSession *s, KmgSessionRole role, gboolean fallback);
JsonObject *kmg_session_msg_signal (gint64 session_id, const char *from, KmgSessionPath path,
                                    const KmgSessionSignal *signal);

G_END_DECLS
