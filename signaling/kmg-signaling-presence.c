/* kmg-signaling-presence.c — the hub's presence messages (hello, app_state, location, go_live,
 * stop_live, bye, profile.watch/unwatch) and the fan-out of presence transitions. */

#include "kmg-signaling-private.h"

#include "kmg-json.h"

static void
reply_bad_request (KmgSigConn *conn, JsonNode *ref, const GError *error)
{
  kmg_sig_reply_error (conn, ref, "bad_request", error->message, NULL);
}

static gboolean
on_presence_timer (gpointer user_data)
{
  KmgSignaling *sig = user_data;

  sig->presence_timer = 0;
  sig->presence_deadline = -1;
  kmg_presence_tick (sig->presence, kmg_sig_now_ms ());
  kmg_sig_presence_schedule (sig);
  return G_SOURCE_REMOVE;
}

/* One timer for the earliest grace deadline; re-armed after every change that may move it. */
void
kmg_sig_presence_schedule (KmgSignaling *sig)
{
  gint64 deadline = kmg_presence_next_deadline (sig->presence);

  if (deadline == sig->presence_deadline && (sig->presence_timer != 0 || deadline < 0))
    return;
  g_clear_handle_id (&sig->presence_timer, g_source_remove);
  sig->presence_deadline = deadline;
  if (deadline >= 0)
    sig->presence_timer = g_timeout_add ((guint) CLAMP (deadline - kmg_sig_now_ms (), 0, G_MAXINT),
                                         on_presence_timer, sig);
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
update_state_gauge (KmgSignaling *sig, KmgPresenceState state, double delta)
{
  g_autofree char *labels = NULL;

  if (sig->metrics == NULL || state == KMG_PRESENCE_OFFLINE)
    return;
  labels = g_strdup_printf ("state=\"%s\"", kmg_presence_state_to_string (state));
  kmg_metrics_add (sig->metrics, "kamegor_presence_users", labels, delta);
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

void
kmg_sig_presence_changed (gint64 user_id, KmgPresenceState old_state, KmgPresenceState new_state,
                          KmgPresenceReason reason, gpointer user_data)
{
  KmgSignaling *sig = user_data;
  GPtrArray *own = g_hash_table_lookup (sig->user_conns, &user_id);
  GHashTable *watchers = g_hash_table_lookup (sig->watchers, &user_id);
  g_autoptr (JsonObject) body = json_object_new ();
  g_autofree char *own_text = NULL;
  char user[24];

  update_state_gauge (sig, old_state, -1);
  update_state_gauge (sig, new_state, +1);

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
    kmg_listeners_emit (&sig->presence_listeners, marshal_presence, &ev);
  }
}

static void
unwatch (KmgSignaling *sig, KmgSigConn *conn, gint64 seller_id)
{
  GHashTable *set = g_hash_table_lookup (sig->watchers, &seller_id);

  g_hash_table_remove (conn->watching, &seller_id);
  if (set == NULL)
    return;
  g_hash_table_remove (set, conn);
  if (g_hash_table_size (set) == 0)
    g_hash_table_remove (sig->watchers, &seller_id);
}

void
kmg_sig_presence_conn_gone (KmgSignaling *sig, KmgSigConn *conn)
{
  g_autoptr (GList) ids = g_hash_table_get_keys (conn->watching);

  for (GList *l = ids; l != NULL; l = l->next)
    unwatch (sig, conn, *(gint64 *) l->data);
}

static void
on_hello (KmgSignaling *sig, KmgSigConn *conn, JsonNode *ref, JsonObject *msg)
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
  kmg_presence_set_foreground (sig->presence, conn->id, foreground, kmg_sig_now_ms ());
  state = kmg_presence_get_state (sig->presence, conn->user_id);
  json_object_set_string_member (body, "state", kmg_presence_state_to_string (state));
  kmg_sig_reply (conn, ref, "presence", body);
}

static void
on_app_state (KmgSignaling *sig, KmgSigConn *conn, JsonNode *ref, JsonObject *msg)
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
  kmg_presence_set_foreground (sig->presence, conn->id, foreground, kmg_sig_now_ms ());
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
take_user_location_slot (KmgSignaling *sig, gint64 user_id, gint64 now)
{
  gint64 *last = g_hash_table_lookup (sig->user_last_location, &user_id);

  if (++sig->locations_since_prune >= 1024)
    {
      gint64 bound = now - sig->cfg.min_location_ms;
      sig->locations_since_prune = 0;
      g_hash_table_foreach_remove (sig->user_last_location, location_is_old, &bound);
      last = g_hash_table_lookup (sig->user_last_location, &user_id);
    }
  if (last != NULL && now - *last < sig->cfg.min_location_ms)
    return FALSE;
  if (last == NULL)
    {
      last = g_new (gint64, 1);
      g_hash_table_insert (sig->user_last_location, g_memdup2 (&user_id, sizeof user_id), last);
    }
  *last = now;
  return TRUE;
}

static void
on_location (KmgSignaling *sig, KmgSigConn *conn, JsonNode *ref, JsonObject *msg)
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
  if (conn->last_location_ms >= 0 && now - conn->last_location_ms < sig->cfg.min_location_ms)
    {
      g_autoptr (JsonObject) extra = json_object_new ();
      json_object_set_int_member (extra, "retry_after_ms", sig->cfg.min_location_ms - (now - conn->last_location_ms));
      kmg_sig_reply_error (conn, ref, "too_soon", "location updates are accepted at most every min_location_ms",
                           extra);
      return;
    }
  conn->last_location_ms = now;
  /* The map learns the position before the transition it may cause. Never log it. A new
   * connection's first fix always counts for presence (a reconnect must not go offline), but
   * reaches the map only at the user's own pace: reconnecting is no way around the throttle. */
  if (sig->cb.location != NULL && take_user_location_slot (sig, conn->user_id, now))
    sig->cb.location (conn->user_id, conn->is_seller,
                      kmg_presence_get_state (sig->presence, conn->user_id), lat, lon, accuracy,
                      sig->cb_data);
  kmg_presence_location (sig->presence, conn->id, now);
  kmg_sig_ack (conn, ref);
}

static void
on_go_live (KmgSignaling *sig, KmgSigConn *conn, JsonNode *ref, JsonObject *msg)
{
  g_autoptr (GError) error = NULL;

  if (!kmg_ws_check_fields (msg, NULL, &error))
    {
      reply_bad_request (conn, ref, error);
      return;
    }
  if (!kmg_presence_go_live (sig->presence, conn->user_id, kmg_sig_now_ms (), &error))
    {
      gboolean not_seller = g_error_matches (error, KMG_PRESENCE_ERROR, KMG_PRESENCE_ERROR_NOT_SELLER);
      kmg_sig_reply_error (conn, ref, not_seller ? "forbidden" : "not_online", error->message, NULL);
      return;
    }
  kmg_sig_ack (conn, ref);
}

static void
on_stop_live (KmgSignaling *sig, KmgSigConn *conn, JsonNode *ref, JsonObject *msg)
{
  g_autoptr (GError) error = NULL;

  if (!kmg_ws_check_fields (msg, NULL, &error))
    {
      reply_bad_request (conn, ref, error);
      return;
    }
  kmg_presence_stop_live (sig->presence, conn->user_id, kmg_sig_now_ms ());
  kmg_sig_ack (conn, ref);
}

static void
on_bye (KmgSignaling *sig, KmgSigConn *conn, JsonNode *ref, JsonObject *msg)
{
  g_autoptr (GError) error = NULL;

  if (!kmg_ws_check_fields (msg, NULL, &error))
    {
      reply_bad_request (conn, ref, error);
      return;
    }
  conn->said_bye = TRUE;
  kmg_presence_goodbye (sig->presence, conn->id, kmg_sig_now_ms ());
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
on_profile_watch (KmgSignaling *sig, KmgSigConn *conn, JsonNode *ref, JsonObject *msg)
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
      if (g_hash_table_size (conn->watching) >= sig->cfg.max_watches)
        {
          kmg_sig_reply_error (conn, ref, "too_many", "too many profiles watched on this connection", NULL);
          return;
        }
      if (sig->cb.can_watch != NULL && !sig->cb.can_watch (conn->user_id, seller_id, sig->cb_data, &error))
        {
          kmg_signaling_reply_gerror (sig, conn->id, ref, error);
          return;
        }
      set = g_hash_table_lookup (sig->watchers, &seller_id);
      if (set == NULL)
        {
          set = g_hash_table_new (NULL, NULL);
          g_hash_table_insert (sig->watchers, g_memdup2 (&seller_id, sizeof seller_id), set);
        }
      g_hash_table_add (set, conn);
      g_hash_table_add (conn->watching, g_memdup2 (&seller_id, sizeof seller_id));
    }
  kmg_sig_conn_send_text (conn, "profile.status",
                          profile_status_text (seller_id, kmg_presence_get_state (sig->presence, seller_id), ref));
}

static void
on_profile_unwatch (KmgSignaling *sig, KmgSigConn *conn, JsonNode *ref, JsonObject *msg)
{
  g_autoptr (GError) error = NULL;
  gint64 seller_id = 0;

  if (!get_seller_id (msg, &seller_id, &error))
    {
      reply_bad_request (conn, ref, error);
      return;
    }
  unwatch (sig, conn, seller_id);
  kmg_sig_ack (conn, ref);
}

KmgSigBuiltin
kmg_sig_presence_builtin (const char *type)
{
  static const struct
  {
    const char *type;
    KmgSigBuiltin fn;
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
