/* fuzz-relay-sdp.c — fuzz target for the seller-leg SDP rules: any text a seller may send as an
 * offer, parsed as GStreamer does, then turned into receive caps; checks what the caps promise. */
#include <string.h>

#include "kmg-relay-sdp.h"

int LLVMFuzzerTestOneInput (const unsigned char *data, size_t size);

static gboolean
check_field (GQuark field, const GValue *value, gpointer user_data)
{
  const char *name = g_quark_to_string (field);

  g_assert_false (g_str_has_prefix (name, "a-"));
  g_assert_false (g_str_has_prefix (name, "ssrc-"));
  if (g_str_has_prefix (name, "extmap-"))
    g_assert_true (kmg_relay_sdp_extmap_is_forwarded (value));
  return TRUE;
}

int
LLVMFuzzerTestOneInput (const unsigned char *data, size_t size)
{
  static gboolean initialized;
  GstSDPMessage *msg = NULL;

  if (!initialized)
    {
      gst_init (NULL, NULL);
      initialized = TRUE;
    }
  g_autofree char *text = g_strndup ((const char *) data, size);
  if (gst_sdp_message_new_from_text (text, &msg) != GST_SDP_OK)
    {
      if (msg != NULL)
        gst_sdp_message_free (msg);
      return 0;
    }
  g_autoptr (GstCaps) caps = kmg_relay_sdp_offer_video_caps (msg);
  for (guint i = 0; caps != NULL && i < gst_caps_get_size (caps); i++)
    {
      const GstStructure *s = gst_caps_get_structure (caps, i);
      const char *codec = gst_structure_get_string (s, "encoding-name");
      gint pt = -1;

      g_assert_true (gst_structure_has_name (s, "application/x-rtp"));
      g_assert_true (g_strcmp0 (codec, "VP8") == 0 || g_strcmp0 (codec, "H264") == 0);
      g_assert_true (gst_structure_get_int (s, "payload", &pt));
      g_assert_true (gst_structure_foreach (s, check_field, NULL));
    }
  gst_sdp_message_free (msg);
  return 0;
}
