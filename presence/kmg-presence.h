/* kmg-presence.h — the presence state machine: offline / online / streaming per user (DESIGN §3).
 * Pure logic: no I/O, no clock of its own; callers pass now_ms and run kmg_presence_tick(). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define KMG_PRESENCE_ERROR (kmg_presence_error_quark ())
GQuark kmg_presence_error_quark (void);

typedef enum
{
  KMG_PRESENCE_ERROR_NOT_SELLER, /* go_live by a user who is not a seller */
  KMG_PRESENCE_ERROR_NOT_ONLINE, /* go_live while offline (no foreground connection with a location) */
  KMG_PRESENCE_ERROR_UNKNOWN,    /* no such connection */
} KmgPresenceError;

typedef enum
{
  KMG_PRESENCE_OFFLINE,
  KMG_PRESENCE_ONLINE,
  KMG_PRESENCE_STREAMING,
} KmgPresenceState;

#define KMG_PRESENCE_N_STATES 3

/* Why a transition happened. A transition out of STREAMING for any reason other than
 * STOP_LIVE means the seller is gone: watch sessions end with reason seller_gone. */
typedef enum
{
  KMG_PRESENCE_REASON_CONNECT,       /* a connection was added */
  KMG_PRESENCE_REASON_FOREGROUND,    /* a connection came to the foreground */
  KMG_PRESENCE_REASON_BACKGROUND,    /* a connection went to the background */
  KMG_PRESENCE_REASON_LOCATION,      /* a connection sent its first location */
  KMG_PRESENCE_REASON_GO_LIVE,
  KMG_PRESENCE_REASON_STOP_LIVE,
  KMG_PRESENCE_REASON_GOODBYE,       /* explicit goodbye or clean close */
  KMG_PRESENCE_REASON_GRACE_EXPIRED, /* connection lost and not replaced within grace */
  KMG_PRESENCE_REASON_REMOVED,       /* kmg_presence_remove_user (ban, seller flag revoked) */
} KmgPresenceReason;

typedef void (*KmgPresenceChangedFunc) (gint64 user_id, KmgPresenceState old_state,
                                        KmgPresenceState new_state, KmgPresenceReason reason,
                                        gpointer user_data);

typedef struct _KmgPresence KmgPresence;

/* @grace_ms: how long a lost connection keeps counting. @changed is called synchronously from the
 * call that caused the transition (never re-entrantly for the same user); it may call back into
 * the read-only accessors but must not free @presence. */
KmgPresence *kmg_presence_new (gint64 grace_ms, KmgPresenceChangedFunc changed, gpointer user_data);
void kmg_presence_free (KmgPresence *presence);

/* A new live connection. It starts in the foreground (the app is open to connect) without a location,
 * so it does not count until it sends one. @conn_id is unique for the life of @presence. */
void kmg_presence_connect (KmgPresence *presence, guint64 conn_id, gint64 user_id, gboolean is_seller,
                           gint64 now_ms);
gboolean kmg_presence_set_foreground (KmgPresence *presence, guint64 conn_id, gboolean foreground,
                                      gint64 now_ms);
/* Records that the connection has sent a (precise) location; the position itself is not kept here. */
gboolean kmg_presence_location (KmgPresence *presence, guint64 conn_id, gint64 now_ms);
/* Connection gone without goodbye: it keeps counting until now_ms + grace. */
void kmg_presence_lost (KmgPresence *presence, guint64 conn_id, gint64 now_ms);
/* Explicit goodbye: the connection stops counting at once. */
void kmg_presence_goodbye (KmgPresence *presence, guint64 conn_id, gint64 now_ms);

gboolean kmg_presence_go_live (KmgPresence *presence, gint64 user_id, gint64 now_ms, GError **error);
/* Returns FALSE when the user was not streaming (nothing changes). */
gboolean kmg_presence_stop_live (KmgPresence *presence, gint64 user_id, gint64 now_ms);

/* Drops every connection of @user_id at once (ban). */
void kmg_presence_remove_user (KmgPresence *presence, gint64 user_id, gint64 now_ms);
/* Seller flag changed by an admin; revoking it ends a stream. */
void kmg_presence_set_seller (KmgPresence *presence, gint64 user_id, gboolean is_seller, gint64 now_ms);

/* Expires graces whose deadline is <= now_ms. Returns the next absolute deadline in ms, or -1. */
gint64 kmg_presence_tick (KmgPresence *presence, gint64 now_ms);
gint64 kmg_presence_next_deadline (KmgPresence *presence);

KmgPresenceState kmg_presence_get_state (KmgPresence *presence, gint64 user_id);
gboolean kmg_presence_is_seller (KmgPresence *presence, gint64 user_id);
/* Connections of @user_id still counted (live, or lost and within the grace). */
guint kmg_presence_get_n_connections (KmgPresence *presence, gint64 user_id);
/* Fills @counts[KMG_PRESENCE_N_STATES] with users by state (users without connections are not counted). */
void kmg_presence_count (KmgPresence *presence, guint counts[KMG_PRESENCE_N_STATES]);
/* Calls @func for every user with at least one connection (live or in grace). */
typedef void (*KmgPresenceForeachFunc) (gint64 user_id, KmgPresenceState state, gboolean is_seller,
                                        guint n_connections, gpointer user_data);
void kmg_presence_foreach (KmgPresence *presence, KmgPresenceForeachFunc func, gpointer user_data);

/* Wire names. A value outside its enum is a programmer error (critical, "offline" / "unknown");
 * _from_string() returns FALSE and leaves @out alone for NULL or an unknown name. */
const char *kmg_presence_state_to_string (KmgPresenceState state);
gboolean kmg_presence_state_from_string (const char *s, KmgPresenceState *out);
const char *kmg_presence_reason_to_string (KmgPresenceReason reason);
gboolean kmg_presence_reason_from_string (const char *s, KmgPresenceReason *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgPresence, kmg_presence_free)

G_END_DECLS
