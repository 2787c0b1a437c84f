/* sessions-fixture.h — a session manager on a fake clock with recording effects, shared by the
 * session tests: every message sent and every effect call is kept for assertions. */
#pragma once

#include "kmg-session-manager.h"

typedef struct
{
  gint64 user;
  guint64 conn;
  char *type;
  char *json;
  JsonObject *msg;
} Sent;

typedef struct
{
  KmgSessionManager *mgr;
  KmgSessionConfig config;
  gint64 now;
  GPtrArray *sent;  /* Sent */
  GPtrArray *calls; /* "relay_start:ID", "relay_stop:ID", "billing_start:ID", "billing_end:ID:REASON",
                     * "relay_signal:ID:ROLE:KIND", "stats:ID", "restart:ID", "state:ID:OLD>NEW" */
  gboolean balance_ok;
  gboolean relay_fails;
  gboolean offer_needed;
  guint attested;          /* what p2p_stats answers: seconds billing counted (default 2) */
  gint64 next_billing_id;
  GHashTable *connections; /* gint64 user -> guint, what user_connections answers (default 0) */
  gint64 scheduled;        /* last deadline given to schedule; -1 before the first call */
  guint n_scheduled;       /* schedule calls so far */
  gboolean schedule_reenters; /* the schedule effect tries to tick (it must be refused) */
  /* Optional extra check run on every send (random test invariants). */
  void (*on_send) (gpointer fx, gint64 user, JsonObject *msg);
} SessionFx;

void session_fx_init (SessionFx *fx, KmgSessionPolicy policy);
/* Re-creates the manager with fx->config (after a test changed it). */
void session_fx_restart (SessionFx *fx);
void session_fx_clear (SessionFx *fx);

KmgWatchRequest session_fx_request (void); /* streaming seller, price 10, no flags */
/* watch_start at fx->now; asserts success. */
gint64 session_fx_start (SessionFx *fx, gint64 buyer, gint64 seller, const KmgWatchRequest *req);
/* watch_start + accept. */
gint64 session_fx_start_accepted (SessionFx *fx, gint64 buyer, gint64 seller, const KmgWatchRequest *req);
void session_fx_advance (SessionFx *fx, gint64 ms); /* moves the clock and ticks */
/* What user_connections answers for @user from now on. */
void session_fx_set_connections (SessionFx *fx, gint64 user, guint n);

guint session_fx_count (SessionFx *fx, gint64 user, const char *type);
/* Last message of @type to @user, or NULL. */
JsonObject *session_fx_last (SessionFx *fx, gint64 user, const char *type);
guint session_fx_count_calls (SessionFx *fx, const char *prefix);
gboolean session_fx_has_call (SessionFx *fx, const char *call);
/* TRUE when any message to @user contains @needle in its JSON text. */
gboolean session_fx_user_saw (SessionFx *fx, gint64 user, const char *needle);

/* Signals with a payload naming @ip (an address of the sender). */
char *session_fx_sdp (const char *ip);
char *session_fx_candidate (const char *ip);
