/* kmg-session-types.c — wire names of the session enums and the error-to-API-code mapping.
 * The strings here are protocol: clients and billing see them. */

#include "kmg-session-types.h"

G_DEFINE_QUARK (kmg-sessions-error-quark, kmg_sessions_error)

static const char *const error_codes[] = {
  [KMG_SESSIONS_ERROR_NOT_STREAMING] = "not_streaming",
  [KMG_SESSIONS_ERROR_NOT_SELLER] = "not_seller",
  [KMG_SESSIONS_ERROR_SELF] = "self",
  [KMG_SESSIONS_ERROR_BANNED] = "banned",
  [KMG_SESSIONS_ERROR_INSUFFICIENT_CREDITS] = "insufficient_credits",
  [KMG_SESSIONS_ERROR_ALREADY_WATCHING] = "already_watching",
  [KMG_SESSIONS_ERROR_SELLER_BUSY] = "seller_busy",
  [KMG_SESSIONS_ERROR_NOT_FOUND] = "not_found",
  [KMG_SESSIONS_ERROR_NOT_PARTICIPANT] = "not_participant",
  [KMG_SESSIONS_ERROR_FORBIDDEN] = "forbidden",
  [KMG_SESSIONS_ERROR_SESSION_ENDED] = "session_ended",
  [KMG_SESSIONS_ERROR_BAD_STATE] = "bad_state",
  [KMG_SESSIONS_ERROR_STALE_PATH] = "stale_path",
  [KMG_SESSIONS_ERROR_INVALID] = "bad_request",
  [KMG_SESSIONS_ERROR_DENIED_ADDRESS] = "denied_address",
  [KMG_SESSIONS_ERROR_TOO_LARGE] = "too_large",
  [KMG_SESSIONS_ERROR_RELAY_UNAVAILABLE] = "relay_unavailable",
};

const char *
kmg_sessions_error_code (const GError *error)
{
  if (error == NULL || error->domain != KMG_SESSIONS_ERROR || error->code < 0
      || (gsize) error->code >= G_N_ELEMENTS (error_codes))
    return "internal";
  return error_codes[error->code];
}

static const char *const policies[] = { "auto", "always", "never" };
static const char *const states[] = { "requested", "connecting_p2p", "connecting_relay", "active", "ended" };
static const char *const paths[] = { "none", "p2p", "relay" };
static const char *const reasons[] = {
  "none",   "declined",   "no_answer", "buyer_left",          "seller_left",
  "buyer_gone", "seller_gone", "banned", "insufficient_credits", "ice_failed",
  "relay_error", "admin",    "server_restart",
};
static const char *const roles[] = { "buyer", "seller" };
static const char *const kinds[] = { "sdp_offer", "sdp_answer", "ice_candidate" };
static const char *const ice_states[] = { "new", "checking", "connected", "disconnected", "failed", "closed" };

G_STATIC_ASSERT (G_N_ELEMENTS (states) == KMG_SESSION_N_STATES);
G_STATIC_ASSERT (G_N_ELEMENTS (paths) == KMG_SESSION_N_PATHS);
G_STATIC_ASSERT (G_N_ELEMENTS (reasons) == KMG_SESSION_END_SERVER_RESTART + 1);
G_STATIC_ASSERT (G_N_ELEMENTS (ice_states) == KMG_SESSION_ICE_CLOSED + 1);

static const char *
name_of (const char *const *names, gsize n, int value)
{
  g_return_val_if_fail (value >= 0 && (gsize) value < n, "invalid");
  return names[value];
}

static gboolean
value_of (const char *const *names, gsize n, const char *s, int *out)
{
  if (s == NULL)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (g_str_equal (names[i], s))
      {
        *out = (int) i;
        return TRUE;
      }
  return FALSE;
}

#define NAME(table, v) name_of (table, G_N_ELEMENTS (table), (int) (v))

const char *
kmg_session_policy_to_string (KmgSessionPolicy policy)
{
  return NAME (policies, policy);
}

gboolean
kmg_session_policy_from_string (const char *s, KmgSessionPolicy *out)
{
  int v;

  if (!value_of (policies, G_N_ELEMENTS (policies), s, &v))
    return FALSE;
  *out = (KmgSessionPolicy) v;
  return TRUE;
}

const char *
kmg_session_state_to_string (KmgSessionState state)
{
  return NAME (states, state);
}

const char *
kmg_session_path_to_string (KmgSessionPath path)
{
  return NAME (paths, path);
}

gboolean
kmg_session_path_from_string (const char *s, KmgSessionPath *out)
{
  int v;

  if (!value_of (paths, G_N_ELEMENTS (paths), s, &v))
    return FALSE;
  *out = (KmgSessionPath) v;
  return TRUE;
}

const char *
kmg_session_end_reason_to_string (KmgSessionEndReason reason)
{
  return NAME (reasons, reason);
}

const char *
kmg_session_role_to_string (KmgSessionRole role)
{
  return NAME (roles, role);
}

const char *
kmg_session_signal_kind_to_string (KmgSessionSignalKind kind)
{
  return NAME (kinds, kind);
}

gboolean
kmg_session_signal_kind_from_string (const char *s, KmgSessionSignalKind *out)
{
  int v;

  if (!value_of (kinds, G_N_ELEMENTS (kinds), s, &v))
    return FALSE;
  *out = (KmgSessionSignalKind) v;
  return TRUE;
}

const char *
kmg_session_ice_state_to_string (KmgSessionIceState state)
{
  return NAME (ice_states, state);
}

gboolean
kmg_session_ice_state_from_string (const char *s, KmgSessionIceState *out)
{
  int v;

  /* Browsers report "completed" once checks are done: for us it is the same as connected. */
  if (g_strcmp0 (s, "completed") == 0)
    {
      *out = KMG_SESSION_ICE_CONNECTED;
      return TRUE;
    }
  if (!value_of (ice_states, G_N_ELEMENTS (ice_states), s, &v))
    return FALSE;
  *out = (KmgSessionIceState) v;
  return TRUE;
}
