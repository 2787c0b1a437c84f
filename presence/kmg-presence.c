/* kmg-presence.c — the presence state machine: users, their connections, grace after loss.
 * Pure: time comes in as now_ms; transitions go out through one callback. */

#include "kmg-presence.h"

#include "kmg-enum-names.h"

G_DEFINE_QUARK (kmg-presence-error-quark, kmg_presence_error)

typedef struct
{
  guint64 id;
  gint64 user_id;
  gboolean foreground;
  gboolean has_location;
  gboolean lost;
  gint64 lost_at_ms;
} Conn;

typedef struct
{
  gint64 id;
  gboolean is_seller;
  gboolean live;
  KmgPresenceState state;
  GPtrArray *conns; /* Conn*, borrowed from KmgPresence.conns */
} User;

struct _KmgPresence
{
  gint64 grace_ms;
  KmgPresenceChangedFunc changed;
  gpointer user_data;
  GHashTable *users; /* gint64* -> User* (owned) */
  GHashTable *conns; /* guint64* -> Conn* (owned) */
  /* Lost connection ids in the order they were lost: grace is constant and time does not go
   * backwards, so the head always holds the earliest deadline. Stale ids are skipped. */
  GQueue lost;
};

static void
user_free (User *user)
{
  g_ptr_array_unref (user->conns);
  g_free (user);
}

KmgPresence *
kmg_presence_new (gint64 grace_ms, KmgPresenceChangedFunc changed, gpointer user_data)
{
  KmgPresence *p = g_new0 (KmgPresence, 1);

  g_return_val_if_fail (grace_ms >= 0, NULL);
  p->grace_ms = grace_ms;
  p->changed = changed;
  p->user_data = user_data;
  p->users = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, (GDestroyNotify) user_free);
  p->conns = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  g_queue_init (&p->lost);
  return p;
}

void
kmg_presence_free (KmgPresence *presence)
{
  if (presence == NULL)
    return;
  g_hash_table_unref (presence->users);
  g_hash_table_unref (presence->conns);
  g_queue_clear_full (&presence->lost, g_free);
  g_free (presence);
}

static gboolean
conn_counts (const Conn *c)
{
  return c->foreground && c->has_location;
}

/* Derives the user's state from its connections, emits a transition when it changed and forgets
 * users that have neither connections nor a non-offline state. */
static void
recompute (KmgPresence *p, User *user, KmgPresenceReason reason)
{
  gboolean counting = FALSE;
  KmgPresenceState old_state = user->state;
  KmgPresenceState new_state;
  gint64 user_id = user->id;

  for (guint i = 0; i < user->conns->len && !counting; i++)
    counting = conn_counts (g_ptr_array_index (user->conns, i));
  if (!counting || !user->is_seller)
    user->live = FALSE;
  new_state = user->live ? KMG_PRESENCE_STREAMING : counting ? KMG_PRESENCE_ONLINE : KMG_PRESENCE_OFFLINE;
  user->state = new_state;

  /* No connection means no counting one, so the state is OFFLINE: the record can go. */
  if (user->conns->len == 0)
    g_hash_table_remove (p->users, &user_id);

  if (old_state != new_state && p->changed != NULL)
    p->changed (user_id, old_state, new_state, reason, p->user_data);
}

static User *
lookup_user (KmgPresence *p, gint64 user_id)
{
  return g_hash_table_lookup (p->users, &user_id);
}

static Conn *
lookup_conn (KmgPresence *p, guint64 conn_id)
{
  return g_hash_table_lookup (p->conns, &conn_id);
}

void
kmg_presence_connect (KmgPresence *presence, guint64 conn_id, gint64 user_id, gboolean is_seller,
                      gint64 now_ms)
{
  User *user;
  Conn *conn;

  g_return_if_fail (presence != NULL);
  g_return_if_fail (lookup_conn (presence, conn_id) == NULL);

  user = lookup_user (presence, user_id);
  if (user == NULL)
    {
      user = g_new0 (User, 1);
      user->id = user_id;
      user->conns = g_ptr_array_new ();
      g_hash_table_insert (presence->users, &user->id, user);
    }
  user->is_seller = is_seller;

  conn = g_new0 (Conn, 1);
  conn->id = conn_id;
  conn->user_id = user_id;
  conn->foreground = TRUE;
  g_hash_table_insert (presence->conns, &conn->id, conn);
  g_ptr_array_add (user->conns, conn);
  recompute (presence, user, KMG_PRESENCE_REASON_CONNECT);
}

gboolean
kmg_presence_set_foreground (KmgPresence *presence, guint64 conn_id, gboolean foreground,
                             gint64 now_ms)
{
  Conn *conn = lookup_conn (presence, conn_id);

  if (conn == NULL || conn->lost)
    return FALSE;
  if (conn->foreground == !!foreground)
    return TRUE;
  conn->foreground = !!foreground;
  recompute (presence, lookup_user (presence, conn->user_id),
             foreground ? KMG_PRESENCE_REASON_FOREGROUND : KMG_PRESENCE_REASON_BACKGROUND);
  return TRUE;
}

gboolean
kmg_presence_location (KmgPresence *presence, guint64 conn_id, gint64 now_ms)
{
  Conn *conn = lookup_conn (presence, conn_id);

  if (conn == NULL || conn->lost)
    return FALSE;
  if (conn->has_location)
    return TRUE;
  conn->has_location = TRUE;
  recompute (presence, lookup_user (presence, conn->user_id), KMG_PRESENCE_REASON_LOCATION);
  return TRUE;
}

static void
remove_conn (KmgPresence *p, Conn *conn, KmgPresenceReason reason)
{
  User *user = lookup_user (p, conn->user_id);
  guint64 id = conn->id;

  g_ptr_array_remove (user->conns, conn);
  g_hash_table_remove (p->conns, &id);
  recompute (p, user, reason);
}

void
kmg_presence_lost (KmgPresence *presence, guint64 conn_id, gint64 now_ms)
{
  Conn *conn = lookup_conn (presence, conn_id);

  if (conn == NULL || conn->lost)
    return;
  /* A connection that did not count has nothing to hold. */
  if (!conn_counts (conn) || presence->grace_ms == 0)
    {
      remove_conn (presence, conn, KMG_PRESENCE_REASON_GRACE_EXPIRED);
      return;
    }
  conn->lost = TRUE;
  conn->lost_at_ms = now_ms;
  g_queue_push_tail (&presence->lost, g_memdup2 (&conn_id, sizeof conn_id));
}

void
kmg_presence_goodbye (KmgPresence *presence, guint64 conn_id, gint64 now_ms)
{
  Conn *conn = lookup_conn (presence, conn_id);

  if (conn != NULL)
    remove_conn (presence, conn, KMG_PRESENCE_REASON_GOODBYE);
}

gboolean
kmg_presence_go_live (KmgPresence *presence, gint64 user_id, gint64 now_ms, GError **error)
{
  User *user = lookup_user (presence, user_id);

  if (user == NULL || user->state == KMG_PRESENCE_OFFLINE)
    {
      g_set_error_literal (error, KMG_PRESENCE_ERROR, KMG_PRESENCE_ERROR_NOT_ONLINE,
                           "go live needs the app in the foreground with a location sent");
      return FALSE;
    }
  if (!user->is_seller)
    {
      g_set_error_literal (error, KMG_PRESENCE_ERROR, KMG_PRESENCE_ERROR_NOT_SELLER,
                           "only sellers can go live");
      return FALSE;
    }
  if (user->live)
    return TRUE;
  user->live = TRUE;
  recompute (presence, user, KMG_PRESENCE_REASON_GO_LIVE);
  return TRUE;
}

gboolean
kmg_presence_stop_live (KmgPresence *presence, gint64 user_id, gint64 now_ms)
{
  User *user = lookup_user (presence, user_id);

  if (user == NULL || !user->live)
    return FALSE;
  user->live = FALSE;
  recompute (presence, user, KMG_PRESENCE_REASON_STOP_LIVE);
  return TRUE;
}

void
kmg_presence_remove_user (KmgPresence *presence, gint64 user_id, gint64 now_ms)
{
  User *user = lookup_user (presence, user_id);

  if (user == NULL)
    return;
  while (user->conns->len > 0)
    {
      Conn *conn = g_ptr_array_steal_index (user->conns, user->conns->len - 1);
      guint64 id = conn->id;
      g_hash_table_remove (presence->conns, &id);
    }
  user->live = FALSE;
  recompute (presence, user, KMG_PRESENCE_REASON_REMOVED);
}

void
kmg_presence_set_seller (KmgPresence *presence, gint64 user_id, gboolean is_seller, gint64 now_ms)
{
  User *user = lookup_user (presence, user_id);

  if (user == NULL || user->is_seller == !!is_seller)
    return;
  user->is_seller = !!is_seller;
  recompute (presence, user, KMG_PRESENCE_REASON_REMOVED);
}

gint64
kmg_presence_next_deadline (KmgPresence *presence)
{
  while (!g_queue_is_empty (&presence->lost))
    {
      guint64 *id = g_queue_peek_head (&presence->lost);
      Conn *conn = lookup_conn (presence, *id);

      if (conn != NULL && conn->lost)
        return conn->lost_at_ms + presence->grace_ms;
      g_free (g_queue_pop_head (&presence->lost));
    }
  return -1;
}

gint64
kmg_presence_tick (KmgPresence *presence, gint64 now_ms)
{
  gint64 deadline;

  while ((deadline = kmg_presence_next_deadline (presence)) >= 0 && deadline <= now_ms)
    {
      g_autofree guint64 *id = g_queue_pop_head (&presence->lost);
      remove_conn (presence, lookup_conn (presence, *id), KMG_PRESENCE_REASON_GRACE_EXPIRED);
    }
  return deadline;
}

KmgPresenceState
kmg_presence_get_state (KmgPresence *presence, gint64 user_id)
{
  User *user = lookup_user (presence, user_id);

  return user != NULL ? user->state : KMG_PRESENCE_OFFLINE;
}

guint
kmg_presence_get_n_connections (KmgPresence *presence, gint64 user_id)
{
  User *user = lookup_user (presence, user_id);

  return user != NULL ? user->conns->len : 0;
}

gboolean
kmg_presence_is_seller (KmgPresence *presence, gint64 user_id)
{
  User *user = lookup_user (presence, user_id);

  return user != NULL && user->is_seller;
}

void
kmg_presence_count (KmgPresence *presence, guint counts[KMG_PRESENCE_N_STATES])
{
  GHashTableIter iter;
  User *user;

  for (guint i = 0; i < KMG_PRESENCE_N_STATES; i++)
    counts[i] = 0;
  g_hash_table_iter_init (&iter, presence->users);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &user))
    counts[user->state]++;
}

void
kmg_presence_foreach (KmgPresence *presence, KmgPresenceForeachFunc func, gpointer user_data)
{
  GHashTableIter iter;
  User *user;

  g_hash_table_iter_init (&iter, presence->users);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &user))
    func (user->id, user->state, user->is_seller, user->conns->len, user_data);
}

static const KmgEnumName state_names[] = {
  { KMG_PRESENCE_OFFLINE, "offline" },
  { KMG_PRESENCE_ONLINE, "online" },
  { KMG_PRESENCE_STREAMING, "streaming" },
};
static const KmgEnumName reason_names[] = {
  { KMG_PRESENCE_REASON_CONNECT, "connect" },
  { KMG_PRESENCE_REASON_FOREGROUND, "foreground" },
  { KMG_PRESENCE_REASON_BACKGROUND, "background" },
  { KMG_PRESENCE_REASON_LOCATION, "location" },
  { KMG_PRESENCE_REASON_GO_LIVE, "go_live" },
  { KMG_PRESENCE_REASON_STOP_LIVE, "stop_live" },
  { KMG_PRESENCE_REASON_GOODBYE, "goodbye" },
  { KMG_PRESENCE_REASON_GRACE_EXPIRED, "grace_expired" },
  { KMG_PRESENCE_REASON_REMOVED, "removed" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (state_names) == KMG_PRESENCE_N_STATES);
G_STATIC_ASSERT (G_N_ELEMENTS (reason_names) == KMG_PRESENCE_REASON_REMOVED + 1);

const char *
kmg_presence_state_to_string (KmgPresenceState state)
{
  const char *name = KMG_ENUM_NAMES_TO_STRING (state_names, state);

  g_return_val_if_fail (name != NULL, "offline");
  return name;
}

gboolean
kmg_presence_state_from_string (const char *s, KmgPresenceState *out)
{
  int v;

  if (!KMG_ENUM_NAMES_FROM_STRING (state_names, s, &v))
    return FALSE;
  *out = (KmgPresenceState) v;
  return TRUE;
}

const char *
kmg_presence_reason_to_string (KmgPresenceReason reason)
{
  const char *name = KMG_ENUM_NAMES_TO_STRING (reason_names, reason);

  g_return_val_if_fail (name != NULL, "unknown");
  return name;
}

gboolean
kmg_presence_reason_from_string (const char *s, KmgPresenceReason *out)
{
  int v;

  if (!KMG_ENUM_NAMES_FROM_STRING (reason_names, s, &v))
    return FALSE;
  *out = (KmgPresenceReason) v;
  return TRUE;
}
