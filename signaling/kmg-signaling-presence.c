/* kmg-signaling-presence.c — the hub's presence layer: the presence machine and its grace timer, the
 * presence messages (hello, app_state, location, go_live, stop_live, bye, profile.watch/unwatch), profile
 * watchers and the fan-out of transitions. Calls only the connection layer below it. */

#include "kmg-signaling-presence.h"

#include "kmg-json.h"
#include "kmg-listeners.h"

struct _KmgSigPresence
{
  KmgSigConns *conns;
  const KmgSignalingConfig *cfg;
  const KmgSignalingCallbacks *cb;
  gpointer cb_data;
  KmgPresence *presence;
  KmgListeners listeners; /* KmgSignalingPresenceFunc */
  GHashTable *watchers;   /* gint64* seller -> GHashTable set of KmgSigConn* */
  /* gint64* user -> gint64* ms of the last position handed to the map: the location throttle is
   * per user, so new connections (a reconnect, a second device) do not reset it. Entries older
   * than min_location_ms are pruned now and then. */
  GHashTable *user_last_location;
  guint locations_since_prune;
  guint timer;
  gint64 deadline;
};

typedef void (*Handler) (KmgSigPresence *p, KmgSigConn *conn, JsonNode *ref, JsonObject *msg);

static void
reply_bad_request (KmgSigConn *conn, JsonNode *ref, const GError *error)
{
  kmg_sig_reply_error (conn, ref, "bad_request", error->message, NULL);
}

static gboolean
on_presence_timer (gpointer user_data)
{
  KmgSigPresence *p = user_data;

  p->timer = 0;
  p->deadline = -1;
  kmg_presence_tick (p->presence, kmg_sig_now_ms ());
  kmg_sig_presence_schedule (p);
  return G_SOURCE_REMOVE;
}

/* One timer for the earliest grace deadline; re-armed after every change that may move it. */
void
kmg_sig_presence_schedule (KmgSigPresence *p)
{
  gint64 deadline = kmg_presence_next_deadline (p->presence);

  if (deadline == p->deadline && (p->timer != 0 || deadline < 0))
    return;
  g_clear_handle_id (&p->timer, g_source_remove);
  p->deadline = deadline;
  if (deadline >= 0)
    p->timer = g_timeout_add ((guint) CLAMP (deadline - kmg_sig_now_ms (), 0, G_MAXINT), on_presence_timer, p);
}

static char *
profile_status_text (gint64 seller_id, KmgPresenceState state, JsonNode *ref)
{
  g_autoptr (JsonObject) body = json_object_new ();

  json_object_set_int_member (body, "seller_id", seller_id);
  json_object_set_string_member (body, "status", kmg_presence_state_to_string (state));
  return kmg_ws_envelope_build ("profile.status", ref, body);
}

static void
update_state_gauge (KmgSigPresence *p, KmgPresenceState state, double delta)
{
  g_autofree char *labels = NULL;

  if (p->conns->metrics == NULL || state == KMG_PRESENCE_OFFLINE)
    return;
  labels = g_strdup_printf ("state=\"%s\"", kmg_presence_state_to_string (state));
  kmg_metrics_add (p->conns->metrics, "kamegor_presence_users", labels, delta);
}

/* Called by KmgPresence: tell the user's own connections, the profile watchers, then the server. */
typedef struct
{
  gint64 user_id;
  KmgPresenceState old_state, new_state;
  KmgPresenceReason reason;
} PresenceEvent;

static void
marshal_presence (GHook *hook, gpointer data)
{
  const PresenceEvent *ev = data;
  ((KmgSignalingPresenceFunc) hook->func) (ev->user_id, ev->old_state, ev->new_state, ev->reason,
                                           hook->data);
}

static void
on_presence_changed (gint64 user_id, KmgPresenceState old_state, KmgPresenceState new_state,
                     KmgPresenceReason reason, gpointer user_data)
{
  KmgSigPresence *p = user_data;
  GPtrArray *own = kmg_sig_conns_of_user (p->conns, user_id);
  GHashTable *watchers = g_hash_table_lookup (p->watchers, &user_id);
  g_autoptr (JsonObject) body = json_object_new ();
  g_autofree char *own_text = NULL;
  char user[24];

  update_state_gauge (p, old_state, -1);
  update_state_gauge (p, new_state, +1);

  json_object_set_string_member (body, "state", kmg_presence_state_to_string (new_state));
  json_object_set_string_member (body, "reason", kmg_presence_reason_to_string (reason));
  own_text = kmg_ws_envelope_build ("presence", NULL, body);
  for (guint i = 0; own != NULL && i < own->len; i++)
    kmg_sig_conn_send_text (g_ptr_array_index (own, i), "presence", g_strdup (own_text));

  if (watchers != NULL)
    {
      g_autofree char *text = profile_status_text (user_id, new_state, NULL);
      GHashTableIter iter;
      KmgSigConn *conn;

      g_hash_table_iter_init (&iter, watchers);
      while (g_hash_table_iter_next (&iter, (gpointer *) &conn, NULL))
        kmg_sig_conn_send_text (conn, "profile.status", g_strdup (text));
    }

  g_snprintf (user, sizeof user, "%" G_GINT64_FORMAT, user_id);
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_DEBUG, "KMG_USER", user, "MESSAGE", "presence %s -> %s (%s)", kmg_presence_state_to_string (old_state),
                    kmg_presence_state_to_string (new_state), kmg_presence_reason_to_string (reason));
  {
    PresenceEvent ev = { user_id, old_state, new_state, reason };
    kmg_listeners_emit (&p->listeners, marshal_presence, &ev);
  }
}

static void
unwatch (KmgSigPresence *p, KmgSigConn *conn, gint64 seller_id)
{
  GHashTable *set = g_hash_table_lookup (p->watchers, &seller_id);

  g_hash_table_remove (conn->watching, &seller_id);
  if (set == NULL)
    return;
  g_hash_table_remove (set, conn);
  if (g_hash_table_size (set) == 0)
    g_hash_table_remove (p->watchers, &seller_id);
}

void
kmg_sig_presence_conn_gone (KmgSigPresence *p, KmgSigConn *conn)
{
  g_autoptr (GList) ids = g_hash_table_get_keys (conn->watching);

  for (GList *l = ids; l != NULL; l = l->next)
    unwatch (p, conn, *(gint64 *) l->data);
}

static void
on_hello (KmgSigPresence *p, KmgSigConn *conn, JsonNode *ref, JsonObject *msg)
{
  static const char *const fields[] = { "foreground", "app_version", "platform", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) body = json_object_new ();
  gboolean foreground = TRUE;
  const char *ignored = NULL;
  KmgPresenceState state;

  if (!kmg_ws_check_fields (msg, fields, &error) ||
      !kmg_json_get_bool (msg, "foreground", FALSE, &foreground, &error) ||
      !kmg_json_get_string (msg, "app_version", FALSE, 64, &ignored, &error) ||
      !kmg_json_get_string (msg, "platform", FALSE, 32, &ignored, &error))
    {
      reply_bad_request (conn, ref, error);
      return;
    }
  kmg_presence_set_foreground (p->presence, conn->id, foreground, kmg_sig_now_ms ());
  state = kmg_presence_get_state (p->presence, conn->user_id);
  json_object_set_string_member (body, "state", kmg_presence_state_to_string (state));
  kmg_sig_reply (conn, ref, "presence", body);
}

static void
on_app_state (KmgSigPresence *p, KmgSigConn *conn, JsonNode *ref, JsonObject *msg)
{
  static const char *const fields[] = { "foreground", NULL };
  g_autoptr (GError) error = NULL;
  gboolean foreground = TRUE;

  if (!kmg_ws_check_fields (msg, fields, &error) ||
      !kmg_json_get_bool (msg, "foreground", TRUE, &foreground, &error))
    {
      reply_bad_request (conn, ref, error);
      return;
    }
  kmg_presence_set_foreground (p->presence, conn->id, foreground, kmg_sig_now_ms ());
  kmg_sig_ack (conn, ref);
}

static gboolean
location_is_old (gpointer key, gpointer value, gpointer user_data)
{
  const gint64 *bound = user_data;
  return *(gint64 *) value < *bound;
}

/* TRUE, and the slot taken, when @user_id's last position reached the map at least
 * min_location_ms ago (or never). */
static gboolean
take_user_location_slot (KmgSigPresence *p, gint64 user_id, gint64 now)
{
  gint64 *last = g_hash_table_lookup (p->user_last_location, &user_id);

  if (++p->locations_since_prune >= 1024)
    {
      gint64 bound = now - p->cfg->min_location_ms;
      p->locations_since_prune = 0;
      g_hash_table_foreach_remove (p->user_last_location, location_is_old, &bound);
      last = g_hash_table_lookup (p->user_last_location, &user_id);
    }
  if (last != NULL && now - *last < p->cfg->min_location_ms)
    return FALSE;
  if (last == NULL)
    {
      last = g_new (gint64, 1);
      g_hash_table_insert (p->user_last_location, g_memdup2 (&user_id, sizeof user_id), last);
    }
  *last = now;
  return TRUE;
}

static void
on_location (KmgSigPresence *p, KmgSigConn *conn, JsonNode *ref, JsonObject *msg)
{
  static const char *const fields[] = { "lat", "lon", "accuracy", NULL };
  g_autoptr (GError) error = NULL;
  double lat = 0, lon = 0, accuracy = -1;
  gint64 now = kmg_sig_now_ms ();

  if (!kmg_ws_check_fields (msg, fields, &error) ||
      !kmg_json_get_double (msg, "lat", TRUE, -90, 90, &lat, &error) ||
      !kmg_json_get_double (msg, "lon", TRUE, -180, 180, &lon, &error) ||
      !kmg_json_get_double (msg, "accuracy", FALSE, 0, 1e6, &accuracy, &error))
    {
      reply_bad_request (conn, ref, error);
      return;
    }
  if (conn->last_location_ms >= 0 && now - conn->last_location_ms < p->cfg->min_location_ms)
    {
      g_autoptr (JsonObject) extra = json_object_new ();
      json_object_set_int_member (extra, "retry_after_ms", p->cfg->min_location_ms - (now - conn->last_location_ms));
      kmg_sig_reply_error (conn, ref, "too_soon", "location updates are accepted at most every min_location_ms",
                           extra);
      return;
    }
  conn->last_location_ms = now;
  /* The map learns the position before the transition it may cause. Never log it. A new
   * connection's first fix always counts for presence (a reconnect must not go offline), but
   * reaches the map only at the user's own pace: reconnecting is no way around the throttle. */
  if (p->cb->location != NULL && take_user_location_slot (p, conn->user_id, now))
    p->cb->location (conn->user_id, conn->is_seller,
                      kmg_presence_get_state (p->presence, conn->user_id), lat, lon, accuracy,
                      p->cb_data);
  kmg_presence_location (p->presence, conn->id, now);
  kmg_sig_ack (conn, ref);
}

static void
on_go_live (KmgSigPresence *p, KmgSigConn *conn, JsonNode *ref, JsonObject *msg)
{
  g_autoptr (GError) error = NULL;

  if (!kmg_ws_check_fields (msg, NULL, &error))
    {
      reply_bad_request (conn, ref, error);
      return;
    }
  if (!kmg_presence_go_live (p->presence, conn->user_id, kmg_sig_now_ms (), &error))
    {
      gboolean not_seller = g_error_matches (error, KMG_PRESENCE_ERROR, KMG_PRESENCE_ERROR_NOT_SELLER);
      kmg_sig_reply_error (conn, ref, not_seller ? "forbidden" : "not_online", error->message, NULL);
      return;
    }
  kmg_sig_ack (conn, ref);
}

static void
on_stop_live (KmgSigPresence *p, KmgSigConn *conn, JsonNode *ref, JsonObject *msg)
{
  g_autoptr (GError) error = NULL;

  if (!kmg_ws_check_fields (msg, NULL, &error))
    {
      reply_bad_request (conn, ref, error);
      return;
    }
  kmg_presence_stop_live (p->presence, conn->user_id, kmg_sig_now_ms ());
  kmg_sig_ack (conn, ref);
}

static void
on_bye (KmgSigPresence *p, KmgSigConn *conn, JsonNode *ref, JsonObject *msg)
{
  g_autoptr (GError) error = NULL;

  if (!kmg_ws_check_fields (msg, NULL, &error))
    {
      reply_bad_request (conn, ref, error);
      return;
    }
  conn->said_bye = TRUE;
  kmg_presence_goodbye (p->presence, conn->id, kmg_sig_now_ms ());
  kmg_sig_ack (conn, ref);
  kmg_sig_conn_close (conn, SOUP_WEBSOCKET_CLOSE_NORMAL, "bye");
}

static gboolean
get_seller_id (JsonObject *msg, gint64 *seller_id, GError **error)
{
  static const char *const fields[] = { "seller_id", NULL };

  return kmg_ws_check_fields (msg, fields, error) &&
         kmg_json_get_int (msg, "seller_id", TRUE, 1, G_MAXINT64, seller_id, error);
}

static void
on_profile_watch (KmgSigPresence *p, KmgSigConn *conn, JsonNode *ref, JsonObject *msg)
{
  g_autoptr (GError) error = NULL;
  gint64 seller_id = 0;
  GHashTable *set;

  if (!get_seller_id (msg, &seller_id, &error))
    {
      reply_bad_request (conn, ref, error);
      return;
    }
  if (!g_hash_table_contains (conn->watching, &seller_id))
    {
      if (g_hash_table_size (conn->watching) >= p->cfg->max_watches)
        {
          kmg_sig_reply_error (conn, ref, "too_many", "too many profiles watched on this connection", NULL);
          return;
        }
      if (p->cb->can_watch != NULL && !p->cb->can_watch (conn->user_id, seller_id, p->cb_data, &error))
        {
          kmg_sig_reply_gerror (conn, ref, error);
          return;
        }
      set = g_hash_table_lookup (p->watchers, &seller_id);
      if (set == NULL)
        {
          set = g_hash_table_new (NULL, NULL);
          g_hash_table_insert (p->watchers, g_memdup2 (&seller_id, sizeof seller_id), set);
        }
      g_hash_table_add (set, conn);
      g_hash_table_add (conn->watching, g_memdup2 (&seller_id, sizeof seller_id));
    }
  kmg_sig_conn_send_text (conn, "profile.status",
                          profile_status_text (seller_id, kmg_presence_get_state (p->presence, seller_id), ref));
}

static void
on_profile_unwatch (KmgSigPresence *p, KmgSigConn *conn, JsonNode *ref, JsonObject *msg)
{
  g_autoptr (GError) error = NULL;
  gint64 seller_id = 0;

  if (!get_seller_id (msg, &seller_id, &error))
    {
      reply_bad_request (conn, ref, error);
      return;
    }
  unwatch (p, conn, seller_id);
  kmg_sig_ack (conn, ref);
}

static Handler
lookup_handler (const char *type)
{
  static const struct
  {
    const char *type;
    Handler fn;
  } table[] = {
    { "hello", on_hello },
    { "app_state", on_app_state },
    { "location", on_location },
    { "go_live", on_go_live },
    { "stop_live", on_stop_live },
    { "bye", on_bye },
    { "profile.watch", on_profile_watch },
    { "profile.unwatch", on_profile_unwatch },
  };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    if (g_strcmp0 (table[i].type, type) == 0)
      return table[i].fn;
  return NULL;
}

gboolean
kmg_sig_presence_handles (const char *type)
{
  return lookup_handler (type) != NULL;
}

gboolean
kmg_sig_presence_dispatch (KmgSigPresence *p, KmgSigConn *conn, const char *type, JsonNode *ref, JsonObject *msg)
{
  Handler fn = lookup_handler (type);

  if (fn == NULL)
    return FALSE;
  fn (p, conn, ref, msg);
  return TRUE;
}

/* ---- the layer ---- */

KmgSigPresence *
kmg_sig_presence_new (KmgSigConns *conns, const KmgSignalingConfig *config, const KmgSignalingCallbacks *callbacks,
                      gpointer user_data)
{
  KmgSigPresence *p = g_new0 (KmgSigPresence, 1);

  p->conns = conns;
  p->cfg = config;
  p->cb = callbacks;
  p->cb_data = user_data;
  p->presence = kmg_presence_new (config->grace_ms, on_presence_changed, p);
  kmg_listeners_init (&p->listeners);
  p->watchers = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, (GDestroyNotify) g_hash_table_unref);
  p->user_last_location = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  p->deadline = -1;
  return p;
}

void
kmg_sig_presence_free (KmgSigPresence *p)
{
  if (p == NULL)
    return;
  g_clear_handle_id (&p->timer, g_source_remove);
  kmg_listeners_clear (&p->listeners);
  g_hash_table_unref (p->watchers);
  g_hash_table_unref (p->user_last_location);
  kmg_presence_free (p->presence);
  g_free (p);
}

KmgPresence *
kmg_sig_presence_get_machine (KmgSigPresence *p)
{
  return p->presence;
}

gulong
kmg_sig_presence_connect_changed (KmgSigPresence *p, KmgSignalingPresenceFunc func, gpointer user_data)
{
  return kmg_listeners_connect (&p->listeners, G_CALLBACK (func), user_data);
}
