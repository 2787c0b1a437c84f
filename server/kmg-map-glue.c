/* kmg-map-glue.c — wires the WebSocket hub, presence and the live map together.
 * Precise fixes stay in this file's table (memory only); the map and every output see displayed
 * positions. Nothing here logs a position. */

#include "kmg-map-glue.h"

#include "kmg-accounts.h"
#include "kmg-json.h"
#include "kmg-map.h"
#include "kmg-ratings.h"
#include "kmg-signaling.h"

typedef struct
{
  gboolean has_fix;
  double lat, lon;          /* precise: never leaves this struct except into kmg_map_update_seller */
  gboolean hidden;
  KmgMapProfile *profile;
  gint64 profile_at_ms;
  guint switch_timer;       /* the map's pending cell switch (kmg_map_apply_due) */
  gint64 switch_due_ms;
} Seller;

struct _KmgMapGlue
{
  KmgApp *app;
  GHashTable *sellers; /* user id → Seller */
};

static void
seller_free (gpointer p)
{
  Seller *s = p;
  g_clear_pointer (&s->profile, kmg_map_profile_unref);
  g_clear_handle_id (&s->switch_timer, g_source_remove);
  /* Overwrite the fix so a later heap dump does not hold it. */
  s->lat = s->lon = 0;
  g_free (s);
}

static gint64
now_ms (void)
{
  return g_get_monotonic_time () / 1000;
}

static Seller *
seller_get (KmgMapGlue *rt, gint64 user_id)
{
  Seller *s = g_hash_table_lookup (rt->sellers, &user_id);

  if (s == NULL)
    {
      gint64 *key = g_new (gint64, 1);
      *key = user_id;
      s = g_new0 (Seller, 1);
      g_hash_table_insert (rt->sellers, key, s);
    }
  return s;
}

/* Marker data is read from the database at most once a minute per seller, or when told. */
static KmgMapProfile *
seller_profile (KmgMapGlue *rt, gint64 user_id, Seller *s)
{
  g_autoptr (KmgUser) user = NULL;
  g_autofree char *picture = NULL;
  KmgReputation rep = { 0 };

  if (s->profile != NULL && now_ms () - s->profile_at_ms < 60000)
    return s->profile;
  user = kmg_accounts_get_user (rt->app->accounts, user_id, NULL);
  if (user == NULL)
    return s->profile;
  kmg_ratings_seller_summary (rt->app->db, user_id, &rep, NULL);
  picture = kmg_accounts_picture_url (user->picture_id);
  g_clear_pointer (&s->profile, kmg_map_profile_unref);
  s->profile = kmg_map_profile_new (user->username, picture, rep.average, rep.count);
  s->profile_at_ms = now_ms ();
  return s->profile;
}

static void
publish_change (KmgMapGlue *rt, const KmgMapChange *c)
{
  KmgLatLon points[2];
  guint n = 0;

  if (c->was_visible)
    points[n++] = (KmgLatLon) { c->old_lat, c->old_lon };
  if (c->is_visible)
    points[n++] = (KmgLatLon) { c->lat, c->lon };
  if (n > 0)
    kmg_signaling_map_changed (rt->app->signaling, points, n);
}

typedef struct
{
  KmgMapGlue *rt;
  gint64 user_id;
} SwitchDue;

static void arm_switch (KmgMapGlue *rt, gint64 user_id, const KmgMapChange *change);

static gboolean
on_switch_due (gpointer data)
{
  SwitchDue *d = data;
  Seller *s = g_hash_table_lookup (d->rt->sellers, &d->user_id);
  KmgMapChange change = { 0 };

  if (s != NULL)
    s->switch_timer = 0;
  if (kmg_map_apply_due (d->rt->app->map, d->user_id, now_ms (), &change))
    {
      publish_change (d->rt, &change);
      arm_switch (d->rt, d->user_id, &change);
    }
  return G_SOURCE_REMOVE;
}

/* The map delays a seller's cell switch by a random time (kmg-map-position.h); this carries it out
 * when no fix comes first. */
static void
arm_switch (KmgMapGlue *rt, gint64 user_id, const KmgMapChange *change)
{
  Seller *s = g_hash_table_lookup (rt->sellers, &user_id);
  SwitchDue *d;

  if (s == NULL || (s->switch_timer != 0 && change->switch_pending
                    && s->switch_due_ms == change->switch_due_ms))
    return;
  g_clear_handle_id (&s->switch_timer, g_source_remove);
  if (!change->switch_pending)
    return;
  d = g_new (SwitchDue, 1);
  *d = (SwitchDue){ rt, user_id };
  s->switch_due_ms = change->switch_due_ms;
  s->switch_timer = g_timeout_add_full (G_PRIORITY_DEFAULT,
                                        (guint) CLAMP (change->switch_due_ms - now_ms (), 0, G_MAXINT),
                                        on_switch_due, d, g_free);
}

/* Puts the seller where its presence @state and its last fix say, or takes it off the map. */
static void
sync_seller (KmgMapGlue *rt, gint64 user_id, KmgPresenceState state)
{
  Seller *s = g_hash_table_lookup (rt->sellers, &user_id);
  KmgMapChange change = { 0 };
  g_autoptr (GError) error = NULL;

  if (s == NULL || !s->has_fix || state == KMG_PRESENCE_OFFLINE)
    {
      if (kmg_map_remove_seller (rt->app->map, user_id, &change))
        publish_change (rt, &change);
      return;
    }
  if (!kmg_map_update_seller (rt->app->map, user_id, s->lat, s->lon,
                              state == KMG_PRESENCE_STREAMING ? KMG_MAP_STATUS_STREAMING
                                                              : KMG_MAP_STATUS_ONLINE,
                              s->hidden, seller_profile (rt, user_id, s), now_ms (), &change,
                              &error))
    {
      g_warning ("map update for a seller failed: %s", error->message);
      return;
    }
  publish_change (rt, &change);
  arm_switch (rt, user_id, &change);
}

static gboolean
on_authenticate (const char *token, KmgSignalingAuth *out, gpointer user_data)
{
  KmgMapGlue *rt = user_data;
  KmgAccountsAuth auth;
  g_autoptr (KmgUser) user = NULL;

  if (!kmg_accounts_authenticate (rt->app->accounts, token, g_get_real_time () / G_USEC_PER_SEC,
                                  &auth))
    {
      /* A token that only the ban stopped: the client is told banned, not "invalid token". */
      out->user_id = auth.user_id;
      out->banned = auth.banned;
      return auth.banned;
    }
  user = kmg_accounts_get_user (rt->app->accounts, auth.user_id, NULL);
  if (user == NULL)
    return FALSE;
  out->user_id = user->id;
  out->is_seller = user->is_seller;
  out->banned = user->banned;
  out->token_id = auth.token_id;
  out->expires_at = auth.expires_at;
  return TRUE;
}

static void
on_location (gint64 user_id, gboolean is_seller, KmgPresenceState state, double lat, double lon,
             double accuracy, gpointer user_data)
{
  KmgMapGlue *rt = user_data;
  Seller *s;

  if (!is_seller)
    return; /* buyers' positions are not needed: keep nothing */
  s = seller_get (rt, user_id);
  s->has_fix = TRUE;
  s->lat = lat;
  s->lon = lon;
  sync_seller (rt, user_id, state);
}

void
kmg_map_glue_on_presence_changed (gint64 user_id, KmgPresenceState old_state,
                                  KmgPresenceState new_state, KmgPresenceReason reason,
                                  gpointer user_data)
{
  KmgMapGlue *rt = user_data;

  sync_seller (rt, user_id, new_state);
  if (new_state == KMG_PRESENCE_OFFLINE)
    g_hash_table_remove (rt->sellers, &user_id);
}

/* The hub's hot path: items go over pre-serialised in signaling's wire form. */
static JsonArray *
on_map_query (const KmgBbox *bbox, int zoom, gpointer user_data, GError **error)
{
  KmgMapGlue *rt = user_data;
  g_autoptr (KmgMapResult) res = NULL;
  KmgMapViewport vp;

  if (!kmg_map_viewport_init (&vp, bbox->south, bbox->west, bbox->north, bbox->east, zoom, error))
    return NULL;
  res = kmg_map_query (rt->app->map, &vp, 0);
  return kmg_ws_map_result_to_array (res);
}

static gboolean
on_can_watch (gint64 viewer_id, gint64 seller_id, gpointer user_data, GError **error)
{
  KmgMapGlue *rt = user_data;
  g_autoptr (KmgUser) user = kmg_accounts_get_user (rt->app->accounts, seller_id, NULL);

  if (user == NULL || !user->is_seller || user->banned)
    {
      g_set_error (error, KMG_SIGNALING_ERROR, KMG_SIGNALING_ERROR_NOT_FOUND, "no such seller");
      return FALSE;
    }
  return TRUE;
}

/* {"type":"map.visibility","hidden":true}: a seller hides its marker without going offline. */
void
kmg_map_glue_on_visibility (KmgSignaling *sig, guint64 conn_id, gint64 user_id, JsonNode *ref, JsonObject *msg,
               gpointer user_data)
{
  KmgMapGlue *rt = user_data;
  static const char *const allowed[] = { "type", "ref", "hidden", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) body = json_object_new ();
  gboolean hidden = FALSE;
  Seller *s;

  if (!kmg_json_check_fields (msg, allowed, &error)
      || !kmg_json_get_bool (msg, "hidden", TRUE, &hidden, &error))
    {
      kmg_signaling_reply_gerror (sig, conn_id, ref, error);
      return;
    }
  if (!kmg_presence_is_seller (kmg_signaling_get_presence (sig), user_id))
    {
      kmg_signaling_reply_error (sig, conn_id, ref, "forbidden", "only sellers have a marker");
      return;
    }
  s = seller_get (rt, user_id);
  s->hidden = hidden;
  sync_seller (rt, user_id, kmg_signaling_get_state (sig, user_id));
  json_object_set_boolean_member (body, "hidden", hidden);
  kmg_signaling_reply (sig, conn_id, ref, "map.visibility", body);
}

static void
collect (KmgMetrics *m, gpointer user_data)
{
  KmgMapGlue *rt = user_data;

  kmg_metrics_set (m, "kamegor_map_sellers", "status=\"visible\"",
                   kmg_map_get_n_visible (rt->app->map));
  kmg_metrics_set (m, "kamegor_map_sellers", "status=\"streaming\"",
                   kmg_map_get_n_streaming (rt->app->map));
}

void
kmg_map_glue_signaling_callbacks (KmgSignalingCallbacks *cb)
{
  *cb = (KmgSignalingCallbacks) {
    .authenticate = on_authenticate,
    .location = on_location,
    .map_query = on_map_query,
    .can_watch = on_can_watch,
  };
}

KmgMapGlue *
kmg_map_glue_new (KmgApp *app)
{
  KmgMapGlue *rt = g_new0 (KmgMapGlue, 1);

  rt->app = app;
  rt->sellers = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, seller_free);
  kmg_metrics_declare (app->metrics, "kamegor_map_sellers", KMG_METRIC_GAUGE,
                       "Sellers on the map (visible), and how many of them stream", NULL, 0);
  kmg_metrics_add_collector (app->metrics, collect, rt);
  return rt;
}

void
kmg_map_glue_free (KmgMapGlue *rt)
{
  if (rt == NULL)
    return;
  g_clear_pointer (&rt->sellers, g_hash_table_unref);
  g_free (rt);
}

void
kmg_map_glue_on_user_changed (gint64 user_id, gpointer user_data)
{
  KmgMapGlue *rt = user_data;
  g_autoptr (KmgUser) user = kmg_accounts_get_user (rt->app->accounts, user_id, NULL);
  Seller *s = g_hash_table_lookup (rt->sellers, &user_id);

  if (user == NULL)
    return;
  kmg_signaling_set_seller (rt->app->signaling, user_id, user->is_seller && !user->banned);
  if (s != NULL)
    s->profile_at_ms = G_MININT64 / 2; /* re-read marker data */
  if (!user->is_seller && s != NULL)
    {
      s->has_fix = FALSE;
      s->lat = s->lon = 0; /* no longer needed: do not keep it */
    }
  sync_seller (rt, user_id, kmg_signaling_get_state (rt->app->signaling, user_id));
}

void
kmg_map_glue_on_user_banned (gint64 user_id, gpointer user_data)
{
  KmgMapGlue *rt = user_data;
  KmgMapChange change = { 0 };

  if (kmg_map_remove_seller (rt->app->map, user_id, &change))
    publish_change (rt, &change);
  g_hash_table_remove (rt->sellers, &user_id);
  kmg_signaling_stop_live (rt->app->signaling, user_id);
  kmg_signaling_disconnect_user (rt->app->signaling, user_id, KMG_WS_CLOSE_BANNED, "banned");
}

const char *
kmg_map_glue_status (KmgMapGlue *rt, gint64 user_id)
{
  return kmg_presence_state_to_string (kmg_signaling_get_state (rt->app->signaling, user_id));
}
