/* kmg-relay-sdp.c — which codecs and header extensions the relay negotiates with a seller.
 * Pure: SDP and caps manipulation only, unit-tested in tests/relay/test-relay-sdp.c. */
#include "kmg-relay-sdp.h"

#include <stdlib.h>

static const char *const forwarded_extensions[] = {
  /* Transport-wide congestion control: without it a Chrome seller's bitrate ramps slowly. */
  KMG_RELAY_EXT_TWCC,
  KMG_RELAY_EXT_ABS_SEND_TIME,
  NULL,
};

gboolean
kmg_relay_sdp_extmap_is_forwarded (const GValue *value)
{
  const char *uri = NULL;

  if (G_VALUE_HOLDS_STRING (value))
    uri = g_value_get_string (value);
  else if (GST_VALUE_HOLDS_ARRAY (value) && gst_value_array_get_size (value) >= 2)
    {
      const GValue *v = gst_value_array_get_value (value, 1);
      if (G_VALUE_HOLDS_STRING (v))
        uri = g_value_get_string (v);
    }
  return uri != NULL && g_strv_contains (forwarded_extensions, uri);
}

/* Codecs the relay forwards; RTX/RED/FEC are left out of the answer. */
static gboolean
is_forwarded_codec (const GstStructure *s)
{
  const char *name = gst_structure_get_string (s, "encoding-name");
  return g_strcmp0 (name, "VP8") == 0 || g_strcmp0 (name, "H264") == 0;
}

static gboolean
keep_caps_field (GQuark field_id, GValue *value, gpointer user_data)
{
  const char *name = g_quark_to_string (field_id);

  /* Session-level SDP attributes (a-ice-ufrag, a-fingerprint, a-setup…) and the seller's
   * ssrc lines would come back in the answer as duplicates or as bogus fmtp parameters. */
  if (g_str_has_prefix (name, "a-") || g_str_has_prefix (name, "ssrc-"))
    return FALSE;
  if (g_str_has_prefix (name, "extmap-"))
    return kmg_relay_sdp_extmap_is_forwarded (value);
  return TRUE;
}

GstCaps *
kmg_relay_sdp_offer_video_caps (const GstSDPMessage *sdp)
{
  for (guint i = 0; i < gst_sdp_message_medias_len (sdp); i++)
    {
      const GstSDPMedia *media = gst_sdp_message_get_media (sdp, i);
      if (g_strcmp0 (gst_sdp_media_get_media (media), "video") != 0)
        continue;
      GstCaps *all = gst_caps_new_empty ();
      for (guint f = 0; f < gst_sdp_media_formats_len (media); f++)
        {
          gint pt = atoi (gst_sdp_media_get_format (media, f));
          GstCaps *caps = gst_sdp_media_get_caps_from_media (media, pt);
          if (caps == NULL)
            continue;
          caps = gst_caps_make_writable (caps);
          gst_sdp_media_attributes_to_caps (media, caps);
          GstStructure *st = gst_caps_get_structure (caps, 0);
          gst_structure_set_name (st, "application/x-rtp");
          gst_structure_filter_and_map_in_place (st, keep_caps_field, NULL);
          if (is_forwarded_codec (st))
            gst_caps_append (all, caps);
          else
            gst_caps_unref (caps);
        }
      if (!gst_caps_is_empty (all))
        return all;
      gst_caps_unref (all);
    }
  return NULL;
}

char *
kmg_relay_sdp_with_fingerprint (const char *sdp, const char *fingerprint)
{
  g_auto (GStrv) lines = g_strsplit (sdp, "\r\n", -1);
  GString *out = g_string_sized_new (strlen (sdp) + 64);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (lines[i][0] == '\0' && lines[i + 1] == NULL)
        break; /* the final CRLF */
      if (g_str_has_prefix (lines[i], "a=fingerprint:"))
        g_string_append_printf (out, "a=fingerprint:sha-256 %s\r\n", fingerprint);
      else
        g_string_append_printf (out, "%s\r\n", lines[i]);
    }
  return g_string_free (out, FALSE);
}

const char *
kmg_relay_sdp_mid (const GstSDPMessage *sdp, guint mline)
{
  g_return_val_if_fail (sdp != NULL, NULL);

  if (mline >= gst_sdp_message_medias_len (sdp))
    return NULL;
  return gst_sdp_media_get_attribute_val (gst_sdp_message_get_media (sdp, mline), "mid");
}

static const GstSDPMedia *
first_video (const GstSDPMessage *sdp)
{
  for (guint i = 0; i < gst_sdp_message_medias_len (sdp); i++)
    {
      const GstSDPMedia *media = gst_sdp_message_get_media (sdp, i);
      if (g_strcmp0 (gst_sdp_media_get_media (media), "video") == 0)
        return media;
    }
  return NULL;
}

/* The "rtx" payload type of @media whose apt is @video_pt, or -1. */
static gint
rtx_payload (const GstSDPMedia *media, guint video_pt)
{
  for (guint f = 0; f < gst_sdp_media_formats_len (media); f++)
    {
      gint pt = atoi (gst_sdp_media_get_format (media, f));
      g_autoptr (GstCaps) caps = gst_sdp_media_get_caps_from_media (media, pt);
      const GstStructure *s = caps != NULL ? gst_caps_get_structure (caps, 0) : NULL;
      const char *apt = s != NULL ? gst_structure_get_string (s, "apt") : NULL;
      if (s != NULL && g_ascii_strcasecmp (gst_structure_get_string (s, "encoding-name"), "RTX") == 0
          && apt != NULL && (guint) atoi (apt) == video_pt)
        return pt;
    }
  return -1;
}

static gboolean
has_format (const GstSDPMedia *media, gint pt)
{
  for (guint f = 0; f < gst_sdp_media_formats_len (media); f++)
    if (atoi (gst_sdp_media_get_format (media, f)) == pt)
      return TRUE;
  return FALSE;
}

gboolean
kmg_relay_sdp_rtx (const GstSDPMessage *offer, const GstSDPMessage *answer, guint video_pt, guint32 video_ssrc,
                   guint *rtx_pt, guint32 *rtx_ssrc)
{
  g_return_val_if_fail (offer != NULL && answer != NULL, FALSE);

  const GstSDPMedia *ours = first_video (offer), *theirs = first_video (answer);
  gint pt = ours != NULL ? rtx_payload (ours, video_pt) : -1;
  if (pt < 0 || theirs == NULL || !has_format (theirs, pt))
    return FALSE;
  for (guint i = 0; i < gst_sdp_media_attributes_len (ours); i++)
    {
      const GstSDPAttribute *a = gst_sdp_media_get_attribute (ours, i);
      if (g_strcmp0 (a->key, "ssrc-group") != 0 || a->value == NULL)
        continue;
      g_auto (GStrv) tok = g_strsplit (a->value, " ", 0);
      guint64 primary = 0, repair = 0;
      if (g_strv_length (tok) == 3 && g_str_equal (tok[0], "FID")
          && g_ascii_string_to_unsigned (tok[1], 10, 0, G_MAXUINT32, &primary, NULL)
          && g_ascii_string_to_unsigned (tok[2], 10, 0, G_MAXUINT32, &repair, NULL) && primary == video_ssrc)
        {
          *rtx_pt = (guint) pt;
          *rtx_ssrc = (guint32) repair;
          return TRUE;
        }
    }
  return FALSE;
}
