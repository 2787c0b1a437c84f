/* kmg-relay-stats.c — reads the buyer's RTCP receiver report out of webrtcbin get-stats.
 * Pure: takes the reply structure, touches no pipeline. */
#define GST_USE_UNSTABLE_API 1
#include "kmg-relay-stats.h"

#include <gst/webrtc/webrtc.h>

#include "kmg-relay-measure.h"

static gboolean
get_u64 (const GstStructure *s, const char *field, guint64 *out)
{
  const GValue *v = gst_structure_get_value (s, field);
  GValue u = G_VALUE_INIT;

  if (v == NULL || !g_value_type_transformable (G_VALUE_TYPE (v), G_TYPE_UINT64))
    return FALSE;
  g_value_init (&u, G_TYPE_UINT64);
  g_value_transform (v, &u);
  *out = g_value_get_uint64 (&u);
  return TRUE;
}

typedef struct
{
  const GstStructure *found;
} FindRr;

static gboolean
find_remote_inbound (GQuark field, const GValue *value, gpointer user_data)
{
  FindRr *find = user_data;
  GstWebRTCStatsType type = 0;

  if (!GST_VALUE_HOLDS_STRUCTURE (value))
    return TRUE;
  const GstStructure *s = gst_value_get_structure (value);
  if (gst_structure_get_enum (s, "type", GST_TYPE_WEBRTC_STATS_TYPE, (gint *) &type)
      && type == GST_WEBRTC_STATS_REMOTE_INBOUND_RTP)
    {
      find->found = s;
      return FALSE;
    }
  return TRUE;
}

gboolean
kmg_relay_stats_parse_rr (const GstStructure *stats, guint clock_rate, KmgRrSample *out)
{
  FindRr find = { NULL };
  const GstStructure *src = NULL;
  guint64 seq = 0, lsr = 0, dlsr = 0, jitter = 0, lost = 0;

  g_return_val_if_fail (stats != NULL && out != NULL, FALSE);

  gst_structure_foreach (stats, find_remote_inbound, &find);
  if (find.found == NULL)
    return FALSE;
  if (!gst_structure_get_double (find.found, "fraction-lost", &out->fraction_lost))
    out->fraction_lost = -1;
  if (!gst_structure_get_double (find.found, "round-trip-time", &out->rtt))
    out->rtt = -1;
  out->jitter = -1;
  if (gst_structure_get (find.found, "gst-rtpsource-stats", GST_TYPE_STRUCTURE, &src, NULL) && src != NULL)
    {
      get_u64 (src, "rb-exthighestseq", &seq);
      get_u64 (src, "rb-lsr", &lsr);
      get_u64 (src, "rb-dlsr", &dlsr);
      if (get_u64 (src, "rb-jitter", &jitter) && clock_rate > 0)
        out->jitter = (double) jitter / clock_rate;
      get_u64 (src, "rb-packetslost", &lost);
      gst_structure_free ((GstStructure *) src);
    }
  out->fingerprint = kmg_rr_fingerprint (seq, lsr, dlsr, jitter, (gint64) lost);
  return TRUE;
}
