/* kmg-map-item.c — result items and the refcounted marker profile they carry.
 * Markers are filled from a seller's displayed position only. */
#include "kmg-map-private.h"

KmgMapProfile *
kmg_map_profile_new (const char *username, const char *picture_url, double rating, guint rating_count)
{
  KmgMapProfile *p = g_rc_box_new0 (KmgMapProfile);

  p->username = g_strdup (username != NULL ? username : "");
  p->picture_url = g_strdup (picture_url);
  p->rating = rating;
  p->rating_count = rating_count;
  return p;
}

KmgMapProfile *
kmg_map_profile_ref (KmgMapProfile *profile)
{
  g_return_val_if_fail (profile != NULL, NULL);
  return g_rc_box_acquire (profile);
}

static void
profile_clear (gpointer data)
{
  KmgMapProfile *p = data;

  g_free (p->username);
  g_free (p->picture_url);
}

void
kmg_map_profile_unref (KmgMapProfile *profile)
{
  if (profile != NULL)
    g_rc_box_release_full (profile, profile_clear);
}

gboolean
kmg_map_profile_equal (const KmgMapProfile *a, const KmgMapProfile *b)
{
  if (a == b)
    return TRUE;
  if (a == NULL || b == NULL)
    return FALSE;
  return g_strcmp0 (a->username, b->username) == 0
         && g_strcmp0 (a->picture_url, b->picture_url) == 0 && a->rating == b->rating
         && a->rating_count == b->rating_count;
}

void
kmg_map_item_set_marker (KmgMapItem *item, const KmgMapEntry *e)
{
  *item = (KmgMapItem){
    .kind = KMG_MAP_ITEM_MARKER,
    .lat = e->pos.lat,
    .lon = e->pos.lon,
    .count = 1,
    .streaming_count = e->status == KMG_MAP_STATUS_STREAMING,
    .user_id = e->id,
    .status = e->status,
    .profile = e->profile != NULL ? kmg_map_profile_ref (e->profile) : NULL,
  };
  g_snprintf (item->id, sizeof item->id, "u:%" G_GINT64_FORMAT, e->id);
}

void
kmg_map_item_copy (KmgMapItem *dst, const KmgMapItem *src)
{
  g_return_if_fail (dst != NULL && src != NULL);

  *dst = *src;
  if (dst->profile != NULL)
    kmg_map_profile_ref (dst->profile);
}

void
kmg_map_item_clear (KmgMapItem *item)
{
  if (item != NULL)
    g_clear_pointer (&item->profile, kmg_map_profile_unref);
}
