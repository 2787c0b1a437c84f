/* test-enum-names.c — the enum name tables: the generic look-ups, then every product enum through
 * its public pair. The expected names are wire and database values: a rename must fail here. */
#include "kmg-billing-types.h"
#include "kmg-enum-names.h"
#include "kmg-presence.h"
#include "kmg-reputation.h"
#include "kmg-session-types.h"

#include <string.h>

/* Values out of order and negative on purpose: look-ups go by value, not by position. */
static const KmgEnumName sample[] = {
  { 7, "seven" },
  { -2, "minus_two" },
  { 0, "zero" },
};

static void
test_generic_to_string (void)
{
  g_assert_cmpstr (KMG_ENUM_NAMES_TO_STRING (sample, 7), ==, "seven");
  g_assert_cmpstr (KMG_ENUM_NAMES_TO_STRING (sample, -2), ==, "minus_two");
  g_assert_cmpstr (KMG_ENUM_NAMES_TO_STRING (sample, 0), ==, "zero");
  g_assert_null (KMG_ENUM_NAMES_TO_STRING (sample, 1));
  g_assert_null (KMG_ENUM_NAMES_TO_STRING (sample, G_MININT));
  g_assert_null (kmg_enum_names_to_string (NULL, 0, 0));
}

static void
test_generic_from_string (void)
{
  int v = 42;

  g_assert_true (KMG_ENUM_NAMES_FROM_STRING (sample, "minus_two", &v));
  g_assert_cmpint (v, ==, -2);
  g_assert_true (KMG_ENUM_NAMES_FROM_STRING (sample, "seven", &v));
  g_assert_cmpint (v, ==, 7);

  v = 42;
  g_assert_false (KMG_ENUM_NAMES_FROM_STRING (sample, NULL, &v));
  g_assert_false (KMG_ENUM_NAMES_FROM_STRING (sample, "", &v));
  g_assert_false (KMG_ENUM_NAMES_FROM_STRING (sample, "Seven", &v));
  g_assert_false (KMG_ENUM_NAMES_FROM_STRING (sample, "seven ", &v));
  g_assert_false (KMG_ENUM_NAMES_FROM_STRING (sample, "sev", &v));
  g_assert_false (kmg_enum_names_from_string (NULL, 0, "zero", &v));
  g_assert_cmpint (v, ==, 42);
}

typedef struct
{
  const char *path;
  const char *log_domain;   /* where a programmer-error critical comes from */
  const char *out_of_range; /* what _to_string() returns for a value outside the enum */
  const char *(*to_string) (int value);
  gboolean (*from_string) (const char *s, int *value);
  const char *const *names; /* expected name of each value 0..n-1, NULL-terminated */
} EnumCase;

/* Adapters with an int signature, so one test walks every enum without casting function types. */
#define ADAPT(fn, type)                                                                            \
  static const char *fn##_to (int v)                                                               \
  {                                                                                                \
    return fn##_to_string ((type) v);                                                              \
  }                                                                                                \
  static gboolean fn##_from (const char *s, int *v)                                                \
  {                                                                                                \
    type e;                                                                                        \
    if (!fn##_from_string (s, &e))                                                                 \
      return FALSE;                                                                                \
    *v = (int) e;                                                                                  \
    return TRUE;                                                                                   \
  }

ADAPT (kmg_session_policy, KmgSessionPolicy)
ADAPT (kmg_session_state, KmgSessionState)
ADAPT (kmg_session_path, KmgSessionPath)
ADAPT (kmg_session_end_reason, KmgSessionEndReason)
ADAPT (kmg_session_role, KmgSessionRole)
ADAPT (kmg_session_signal_kind, KmgSessionSignalKind)
ADAPT (kmg_session_ice_state, KmgSessionIceState)
ADAPT (kmg_delivery_source, KmgDeliverySource)
ADAPT (kmg_transfer_kind, KmgTransferKind)
ADAPT (kmg_presence_state, KmgPresenceState)
ADAPT (kmg_presence_reason, KmgPresenceReason)
ADAPT (kmg_reputation_tier, KmgReputationTier)

#define NAMES(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define CASE(p, domain, oor, fn, ...)                                                              \
  { p, domain, oor, fn##_to, fn##_from, NAMES (__VA_ARGS__) }

static const EnumCase cases[] = {
  CASE ("session-policy", "kamegor-sessions", "invalid", kmg_session_policy, "auto", "always",
        "never"),
  CASE ("session-state", "kamegor-sessions", "invalid", kmg_session_state, "requested",
        "connecting_p2p", "connecting_relay", "active", "ended"),
  CASE ("session-path", "kamegor-sessions", "invalid", kmg_session_path, "none", "p2p", "relay"),
  CASE ("session-end-reason", "kamegor-sessions", "invalid", kmg_session_end_reason, "none",
        "declined", "no_answer", "buyer_left", "seller_left", "buyer_gone", "seller_gone",
        "banned", "insufficient_credits", "ice_failed", "relay_error", "admin", "server_restart",
        "unattested"),
  CASE ("session-role", "kamegor-sessions", "invalid", kmg_session_role, "buyer", "seller"),
  CASE ("session-signal-kind", "kamegor-sessions", "invalid", kmg_session_signal_kind,
        "sdp_offer", "sdp_answer", "ice_candidate"),
  CASE ("session-ice-state", "kamegor-sessions", "invalid", kmg_session_ice_state, "new",
        "checking", "connected", "disconnected", "failed", "closed"),
  CASE ("delivery-source", "kamegor-billing", NULL, kmg_delivery_source, "relay_measured",
        "buyer_attested"),
  CASE ("transfer-kind", "kamegor-billing", NULL, kmg_transfer_kind, "topup", "grant", "charge",
        "refund"),
  CASE ("presence-state", "kamegor-presence", "offline", kmg_presence_state, "offline", "online",
        "streaming"),
  CASE ("presence-reason", "kamegor-presence", "unknown", kmg_presence_reason, "connect",
        "foreground", "background", "location", "go_live", "stop_live", "goodbye",
        "grace_expired", "removed"),
  CASE ("reputation-tier", "kamegor-billing", NULL, kmg_reputation_tier, "new", "bronze",
        "silver", "gold"),
};

static void
expect_out_of_range (const EnumCase *c, int value)
{
  g_test_expect_message (c->log_domain, G_LOG_LEVEL_CRITICAL, "*assertion*name != NULL*");
  g_assert_cmpstr (c->to_string (value), ==, c->out_of_range);
  g_test_assert_expected_messages ();
}

static void
test_enum (gconstpointer data)
{
  const EnumCase *c = data;
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  int n = (int) g_strv_length ((char **) c->names);
  int v;

  for (int i = 0; i < n; i++)
    {
      const char *name = c->to_string (i);

      g_assert_cmpstr (name, ==, c->names[i]);
      g_assert_true (g_hash_table_add (seen, (gpointer) name)); /* unique within the enum */
      v = -1;
      g_assert_true (c->from_string (name, &v));
      g_assert_cmpint (v, ==, i);
    }

  v = 42;
  g_assert_false (c->from_string (NULL, &v));
  g_assert_false (c->from_string ("", &v));
  g_assert_false (c->from_string ("bogus", &v));
  for (int i = 0; i < n; i++)
    {
      g_autofree char *upper = g_ascii_strup (c->names[i], -1);
      g_autofree char *padded = g_strconcat (c->names[i], " ", NULL);

      g_assert_false (c->from_string (upper, &v));
      g_assert_false (c->from_string (padded, &v));
    }
  g_assert_cmpint (v, ==, 42);

  expect_out_of_range (c, n);
  expect_out_of_range (c, -1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/common/enum-names/to-string", test_generic_to_string);
  g_test_add_func ("/common/enum-names/from-string", test_generic_from_string);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strconcat ("/common/enum-names/", cases[i].path, NULL);
      g_test_add_data_func (path, &cases[i], test_enum);
    }
  return g_test_run ();
}
