/* kmg-session-types.c — wire names of the session enums.
 * The strings here are protocol: clients and billing see them. */

#include "kmg-session-types.h"

#include "kmg-enum-names.h"

G_DEFINE_QUARK (kmg-sessions-error-quark, kmg_session_error)

static const KmgEnumName policies[] = {
  { KMG_SESSION_POLICY_AUTO, "auto" },
  { KMG_SESSION_POLICY_ALWAYS, "always" },
  { KMG_SESSION_POLICY_NEVER, "never" },
};
static const KmgEnumName states[] = {
  { KMG_SESSION_REQUESTED, "requested" },
  { KMG_SESSION_CONNECTING_P2P, "connecting_p2p" },
  { KMG_SESSION_CONNECTING_RELAY, "connecting_relay" },
  { KMG_SESSION_ACTIVE, "active" },
  { KMG_SESSION_ENDED, "ended" },
};
static const KmgEnumName paths[] = {
  { KMG_SESSION_PATH_NONE, "none" },
  { KMG_SESSION_PATH_P2P, "p2p" },
  { KMG_SESSION_PATH_RELAY, "relay" },
};
/* Stored in watch_sessions.end_reason: never rename one. */
static const KmgEnumName reasons[] = {
  { KMG_SESSION_END_NONE, "none" },
  { KMG_SESSION_END_DECLINED, "declined" },
  { KMG_SESSION_END_NO_ANSWER, "no_answer" },
  { KMG_SESSION_END_BUYER_LEFT, "buyer_left" },
  { KMG_SESSION_END_SELLER_LEFT, "seller_left" },
  { KMG_SESSION_END_BUYER_GONE, "buyer_gone" },
  { KMG_SESSION_END_SELLER_GONE, "seller_gone" },
  { KMG_SESSION_END_BANNED, "banned" },
  { KMG_SESSION_END_INSUFFICIENT_CREDITS, "insufficient_credits" },
  { KMG_SESSION_END_ICE_FAILED, "ice_failed" },
  { KMG_SESSION_END_RELAY_ERROR, "relay_error" },
  { KMG_SESSION_END_ADMIN, "admin" },
  { KMG_SESSION_END_SERVER_RESTART, "server_restart" },
  { KMG_SESSION_END_UNATTESTED, "unattested" },
};
static const KmgEnumName roles[] = {
  { KMG_SESSION_ROLE_BUYER, "buyer" },
  { KMG_SESSION_ROLE_SELLER, "seller" },
};
static const KmgEnumName kinds[] = {
  { KMG_SESSION_SIGNAL_SDP_OFFER, "sdp_offer" },
  { KMG_SESSION_SIGNAL_SDP_ANSWER, "sdp_answer" },
  { KMG_SESSION_SIGNAL_ICE_CANDIDATE, "ice_candidate" },
};
static const KmgEnumName ice_states[] = {
  { KMG_SESSION_ICE_NEW, "new" },
  { KMG_SESSION_ICE_CHECKING, "checking" },
  { KMG_SESSION_ICE_CONNECTED, "connected" },
  { KMG_SESSION_ICE_DISCONNECTED, "disconnected" },
  { KMG_SESSION_ICE_FAILED, "failed" },
  { KMG_SESSION_ICE_CLOSED, "closed" },
};

/* One row per value: a value added to an enum without a name fails the build. */
G_STATIC_ASSERT (G_N_ELEMENTS (policies) == KMG_SESSION_POLICY_NEVER + 1);
G_STATIC_ASSERT (G_N_ELEMENTS (states) == KMG_SESSION_N_STATES);
G_STATIC_ASSERT (G_N_ELEMENTS (paths) == KMG_SESSION_N_PATHS);
G_STATIC_ASSERT (G_N_ELEMENTS (reasons) == KMG_SESSION_END_UNATTESTED + 1);
G_STATIC_ASSERT (G_N_ELEMENTS (roles) == KMG_SESSION_ROLE_SELLER + 1);
G_STATIC_ASSERT (G_N_ELEMENTS (kinds) == KMG_SESSION_SIGNAL_ICE_CANDIDATE + 1);
G_STATIC_ASSERT (G_N_ELEMENTS (ice_states) == KMG_SESSION_ICE_CLOSED + 1);

static const char *
name_of (const KmgEnumName *names, gsize n, int value)
{
  const char *name = kmg_enum_names_to_string (names, n, value);

  g_return_val_if_fail (name != NULL, "invalid");
  return name;
}

#define NAME(table, v) name_of (table, G_N_ELEMENTS (table), (int) (v))

/* Returns from the calling function. Parses into an int first: an enum's storage type is the
 * compiler's choice. */
#define PARSE(table, s, out, type)                                                                 \
  G_STMT_START                                                                                     \
  {                                                                                                \
    int v_;                                                                                        \
    if (!KMG_ENUM_NAMES_FROM_STRING (table, s, &v_))                                               \
      return FALSE;                                                                                \
    *(out) = (type) v_;                                                                            \
    return TRUE;                                                                                   \
  }                                                                                                \
  G_STMT_END

const char *
kmg_session_policy_to_string (KmgSessionPolicy policy)
{
  return NAME (policies, policy);
}

gboolean
kmg_session_policy_from_string (const char *s, KmgSessionPolicy *out)
{
  PARSE (policies, s, out, KmgSessionPolicy);
}

const char *
kmg_session_state_to_string (KmgSessionState state)
{
  return NAME (states, state);
}

gboolean
kmg_session_state_from_string (const char *s, KmgSessionState *out)
{
  PARSE (states, s, out, KmgSessionState);
}

const char *
kmg_session_path_to_string (KmgSessionPath path)
{
  return NAME (paths, path);
}

gboolean
kmg_session_path_from_string (const char *s, KmgSessionPath *out)
{
  PARSE (paths, s, out, KmgSessionPath);
}

const char *
kmg_session_end_reason_to_string (KmgSessionEndReason reason)
{
  return NAME (reasons, reason);
}

gboolean
kmg_session_end_reason_from_string (const char *s, KmgSessionEndReason *out)
{
  PARSE (reasons, s, out, KmgSessionEndReason);
}

const char *
kmg_session_role_to_string (KmgSessionRole role)
{
  return NAME (roles, role);
}

gboolean
kmg_session_role_from_string (const char *s, KmgSessionRole *out)
{
  PARSE (roles, s, out, KmgSessionRole);
}

const char *
kmg_session_signal_kind_to_string (KmgSessionSignalKind kind)
{
  return NAME (kinds, kind);
}

gboolean
kmg_session_signal_kind_from_string (const char *s, KmgSessionSignalKind *out)
{
  PARSE (kinds, s, out, KmgSessionSignalKind);
}

const char *
kmg_session_ice_state_to_string (KmgSessionIceState state)
{
  return NAME (ice_states, state);
}

gboolean
kmg_session_ice_state_from_string (const char *s, KmgSessionIceState *out)
{
  /* Browsers report "completed" once checks are done: for us it is the same as connected. */
  if (g_strcmp0 (s, "completed") == 0)
    {
      *out = KMG_SESSION_ICE_CONNECTED;
      return TRUE;
    }
  PARSE (ice_states, s, out, KmgSessionIceState);
}
