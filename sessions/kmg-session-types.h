/* kmg-session-types.h — the vocabulary of watch sessions (DESIGN §5): error domain, states, paths,
 * end reasons, roles, signal kinds and ICE states, with their wire names. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define KMG_SESSION_ERROR (kmg_session_error_quark ())
GQuark kmg_session_error_quark (void);

/* server/kmg-api-error.c maps each code to the API code quoted beside it. */
typedef enum
{
  KMG_SESSION_ERROR_NOT_STREAMING,        /* "not_streaming": seller is not live */
  KMG_SESSION_ERROR_NOT_SELLER,           /* "not_seller" */
  KMG_SESSION_ERROR_SELF,                 /* "self": a user cannot watch itself */
  KMG_SESSION_ERROR_BANNED,               /* "banned": either party is banned */
  KMG_SESSION_ERROR_INSUFFICIENT_CREDITS, /* "insufficient_credits": < one minute at the price */
  KMG_SESSION_ERROR_ALREADY_WATCHING,     /* "already_watching": the buyer has a live session */
  KMG_SESSION_ERROR_SELLER_BUSY,          /* "seller_busy": seller at its session limit */
  KMG_SESSION_ERROR_NOT_FOUND,            /* "not_found": unknown (or long freed) session */
  KMG_SESSION_ERROR_NOT_PARTICIPANT,      /* "not_participant": user is neither buyer nor seller */
  KMG_SESSION_ERROR_FORBIDDEN,            /* "forbidden": participant, but not the right role */
  KMG_SESSION_ERROR_SESSION_ENDED,        /* "session_ended": late message for an ended session */
  KMG_SESSION_ERROR_BAD_STATE,            /* "bad_state": not valid in the session's state */
  KMG_SESSION_ERROR_STALE_PATH,           /* "stale_path": signal meant for a path no longer used */
  KMG_SESSION_ERROR_INVALID,              /* "bad_request": malformed SDP, candidate or field */
  KMG_SESSION_ERROR_DENIED_ADDRESS,       /* "denied_address": candidate address in a denied range */
  KMG_SESSION_ERROR_TOO_LARGE,            /* "too_large": SDP over the size limit */
  KMG_SESSION_ERROR_RELAY_UNAVAILABLE,    /* "relay_unavailable": a party needs the relay, policy never */
} KmgSessionError;

typedef enum
{
  KMG_SESSION_POLICY_AUTO,   /* P2P first, relay on timeout or ICE failure */
  KMG_SESSION_POLICY_ALWAYS, /* relay from the start */
  KMG_SESSION_POLICY_NEVER,  /* P2P only; P2P failure ends the session */
} KmgSessionPolicy;

typedef enum
{
  KMG_SESSION_REQUESTED,
  KMG_SESSION_CONNECTING_P2P,
  KMG_SESSION_CONNECTING_RELAY,
  KMG_SESSION_ACTIVE,
  KMG_SESSION_ENDED,
} KmgSessionState;

#define KMG_SESSION_N_STATES 5

typedef enum
{
  KMG_SESSION_PATH_NONE, /* not chosen yet (requested) */
  KMG_SESSION_PATH_P2P,
  KMG_SESSION_PATH_RELAY,
} KmgSessionPath;

#define KMG_SESSION_N_PATHS 3

typedef enum
{
  KMG_SESSION_END_NONE,                 /* not ended */
  KMG_SESSION_END_DECLINED,             /* seller declined (or left before accepting) */
  KMG_SESSION_END_NO_ANSWER,            /* seller did not answer in time */
  KMG_SESSION_END_BUYER_LEFT,
  KMG_SESSION_END_SELLER_LEFT,          /* seller left the session or stopped streaming */
  KMG_SESSION_END_BUYER_GONE,           /* buyer's connections gone past the grace */
  KMG_SESSION_END_SELLER_GONE,          /* seller offline past the grace */
  KMG_SESSION_END_BANNED,
  KMG_SESSION_END_INSUFFICIENT_CREDITS,
  KMG_SESSION_END_ICE_FAILED,           /* no working path (and no fallback left), or grace expired */
  KMG_SESSION_END_RELAY_ERROR,          /* the relay could not serve the session */
  KMG_SESSION_END_ADMIN,                /* ended by an admin */
  KMG_SESSION_END_SERVER_RESTART,       /* server shutdown; after a crash billing recovery does it */
  KMG_SESSION_END_UNATTESTED,           /* P2P without the relay: the buyer stopped attesting delivery
                                         * while the seller's reports showed media reaching it */
} KmgSessionEndReason;

typedef enum
{
  KMG_SESSION_ROLE_BUYER,
  KMG_SESSION_ROLE_SELLER,
} KmgSessionRole;

typedef enum
{
  KMG_SESSION_SIGNAL_SDP_OFFER,
  KMG_SESSION_SIGNAL_SDP_ANSWER,
  KMG_SESSION_SIGNAL_ICE_CANDIDATE,
} KmgSessionSignalKind;

/* ICE state of one transport as reported by a client or a relay leg (RTCIceConnectionState). */
typedef enum
{
  KMG_SESSION_ICE_NEW,
  KMG_SESSION_ICE_CHECKING,
  KMG_SESSION_ICE_CONNECTED, /* "completed" parses to this too */
  KMG_SESSION_ICE_DISCONNECTED,
  KMG_SESSION_ICE_FAILED,
  KMG_SESSION_ICE_CLOSED,
} KmgSessionIceState;

/* Wire names, also stored by billing. A value outside its enum is a programmer error ("invalid");
 * _from_string() returns FALSE and leaves @out alone for NULL or an unknown name. */
const char *kmg_session_policy_to_string (KmgSessionPolicy policy);
gboolean kmg_session_policy_from_string (const char *s, KmgSessionPolicy *out);
const char *kmg_session_state_to_string (KmgSessionState state);
gboolean kmg_session_state_from_string (const char *s, KmgSessionState *out);
const char *kmg_session_path_to_string (KmgSessionPath path);
gboolean kmg_session_path_from_string (const char *s, KmgSessionPath *out);
const char *kmg_session_end_reason_to_string (KmgSessionEndReason reason);
gboolean kmg_session_end_reason_from_string (const char *s, KmgSessionEndReason *out);
const char *kmg_session_role_to_string (KmgSessionRole role);
gboolean kmg_session_role_from_string (const char *s, KmgSessionRole *out);
const char *kmg_session_signal_kind_to_string (KmgSessionSignalKind kind);
gboolean kmg_session_signal_kind_from_string (const char *s, KmgSessionSignalKind *out);
const char *kmg_session_ice_state_to_string (KmgSessionIceState state);
gboolean kmg_session_ice_state_from_string (const char *s, KmgSessionIceState *out);

G_END_DECLS
