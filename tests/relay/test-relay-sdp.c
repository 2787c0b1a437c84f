/* test-relay-sdp.c — the seller leg's SDP rules against a browser-style offer: receive caps keep
 * codec, fmtp, rtcp-fb and the forwarded header extensions only, and the relay's answer is one
 * a browser accepts (no duplicated session attributes, every PT line for a PT in the m-line). */
#include <stdlib.h>
#include <string.h>

#include "kmg-relay-sdp.h"
#include "kmg-relay.h"
#include "kmg-relay-cert.h"

/* A browser-style offer: session- and media-level transport attributes, RTX per codec, RED and
 * ULPFEC, a dozen header extensions, ssrc lines. @first_pt is listed first in the m-line. */
static char *
browser_offer (const char *first_pt)
{
  const char *rest = g_str_equal (first_pt, "96") ? "97 102 103 116 117" : "103 96 97 116 117";
  return g_strdup_printf (
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS cam\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF %s %s\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Ab3x\r\n"
    "a=ice-pwd:q1w2e3r4t5y6u7i8o9p0a1s2\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:toffset\r\n"
    "a=extmap:2 " KMG_RELAY_EXT_ABS_SEND_TIME "\r\n"
    "a=extmap:3 urn:3gpp:video-orientation\r\n"
    "a=extmap:4 " KMG_RELAY_EXT_TWCC "\r\n"
    "a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay\r\n"
    "a=extmap:9 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n"
    "a=sendonly\r\n"
    "a=msid:cam track\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtcp-fb:96 goog-remb\r\n"
    "a=rtcp-fb:96 transport-cc\r\n"
    "a=rtcp-fb:96 ccm fir\r\n"
    "a=rtcp-fb:96 nack\r\n"
    "a=rtcp-fb:96 nack pli\r\n"
    "a=rtpmap:97 rtx/90000\r\n"
    "a=fmtp:97 apt=96\r\n"
    "a=rtpmap:102 H264/90000\r\n"
    "a=rtcp-fb:102 transport-cc\r\n"
    "a=rtcp-fb:102 ccm fir\r\n"
    "a=rtcp-fb:102 nack\r\n"
    "a=rtcp-fb:102 nack pli\r\n"
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
    "a=rtpmap:103 rtx/90000\r\n"
    "a=fmtp:103 apt=102\r\n"
    "a=rtpmap:116 red/90000\r\n"
    "a=rtpmap:117 ulpfec/90000\r\n"
    "a=ssrc-group:FID 1111 2222\r\n"
    "a=ssrc:1111 cname:camcname\r\n"
    "a=ssrc:1111 msid:cam track\r\n"
    "a=ssrc:2222 cname:camcname\r\n"
    "a=ssrc:2222 msid:cam track\r\n",
    first_pt, rest);
}

static GstSDPMessage *
parse_sdp (const char *text)
{
  GstSDPMessage *msg = NULL;

  g_assert_cmpint (gst_sdp_message_new_from_text (text, &msg), ==, GST_SDP_OK);
  return msg;
}

static gboolean
field_is_codec_level (GQuark field, const GValue *value, gpointer user_data)
{
  const char *name = g_quark_to_string (field);
  return !g_str_has_prefix (name, "a-") && !g_str_has_prefix (name, "ssrc-");
}

static void
test_offer_caps (void)
{
  g_autofree char *text = browser_offer ("96");
  GstSDPMessage *offer = parse_sdp (text);
  g_autoptr (GstCaps) caps = kmg_relay_sdp_offer_video_caps (offer);

  g_assert_nonnull (caps);
  g_assert_cmpuint (gst_caps_get_size (caps), ==, 2); /* VP8 and H264; no rtx, red, ulpfec */
  for (guint i = 0; i < gst_caps_get_size (caps); i++)
    {
      const GstStructure *s = gst_caps_get_structure (caps, i);
      const char *codec = gst_structure_get_string (s, "encoding-name");
      gint pt = -1;

      g_assert_true (gst_structure_foreach (s, field_is_codec_level, NULL));
      g_assert_true (gst_structure_get_int (s, "payload", &pt));
      g_assert_cmpint (pt, ==, g_str_equal (codec, "VP8") ? 96 : 102);
      g_assert_cmpstr (gst_structure_get_string (s, "extmap-4"), ==, KMG_RELAY_EXT_TWCC);
      g_assert_cmpstr (gst_structure_get_string (s, "extmap-2"), ==, KMG_RELAY_EXT_ABS_SEND_TIME);
      for (const char *const *dropped = (const char *const[]) { "extmap-1", "extmap-3", "extmap-5", "extmap-9",
                                                                "extmap-10", NULL };
           *dropped != NULL; dropped++)
        g_assert_false (gst_structure_has_field (s, *dropped));
      g_assert_true (gst_structure_has_field (s, "rtcp-fb-transport-cc"));
      g_assert_true (gst_structure_has_field (s, "rtcp-fb-nack-pli"));
      if (g_str_equal (codec, "H264"))
        g_assert_cmpstr (gst_structure_get_string (s, "packetization-mode"), ==, "1");
    }
  gst_sdp_message_free (offer);
}

static void
test_offer_caps_no_video_codec (void)
{
  GstSDPMessage *offer = parse_sdp ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                                    "m=video 9 UDP/TLS/RTP/SAVPF 45\r\na=rtpmap:45 AV1/90000\r\n"
                                    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n");

  g_assert_null (kmg_relay_sdp_offer_video_caps (offer));
  gst_sdp_message_free (offer);
}

static void
test_extmap_values (void)
{
  g_auto (GValue) str = G_VALUE_INIT;
  g_auto (GValue) arr = G_VALUE_INIT;
  g_auto (GValue) item = G_VALUE_INIT;

  g_value_init (&str, G_TYPE_STRING);
  g_value_set_string (&str, KMG_RELAY_EXT_TWCC);
  g_assert_true (kmg_relay_sdp_extmap_is_forwarded (&str));
  g_value_set_string (&str, "urn:ietf:params:rtp-hdrext:sdes:mid");
  g_assert_false (kmg_relay_sdp_extmap_is_forwarded (&str));

  /* (direction, uri, attributes) form */
  gst_value_array_init (&arr, 3);
  g_value_init (&item, G_TYPE_STRING);
  g_value_set_string (&item, "");
  gst_value_array_append_value (&arr, &item);
  g_value_set_string (&item, KMG_RELAY_EXT_ABS_SEND_TIME);
  gst_value_array_append_value (&arr, &item);
  g_value_set_string (&item, "");
  gst_value_array_append_value (&arr, &item);
  g_assert_true (kmg_relay_sdp_extmap_is_forwarded (&arr));
}

/* --- the relay's answer, produced by a real seller leg ---------------------------------------- */

typedef struct
{
  char *answer;
} AnswerCtx;

static void
on_local_sdp (KmgRelayLeg *leg, const char *type, const char *sdp, gpointer user_data)
{
  AnswerCtx *ctx = user_data;

  if (kmg_relay_leg_get_kind (leg) == KMG_RELAY_LEG_SELLER && g_str_equal (type, "answer"))
    ctx->answer = g_strdup (sdp);
}

static char *
relay_answer (const char *offer_text)
{
  g_autoptr (GError) error = NULL;
  KmgRelayCallbacks cb = { .local_sdp = on_local_sdp };
  AnswerCtx ctx = { 0 };
  g_autoptr (KmgRelayConfig) config = kmg_relay_config_new ();
  gboolean created = FALSE;

  config->allow_loopback = TRUE;
  g_autoptr (KmgRelay) relay = kmg_relay_new (config, &cb, &ctx, &error);
  g_assert_no_error (error);
  g_assert_nonnull (kmg_relay_buyer_add (relay, 1, 1, &created, &error));
  g_assert_no_error (error);
  g_assert_true (created);
  KmgRelayLeg *seller = kmg_relay_get_seller_leg (relay, 1);
  g_assert_true (kmg_relay_leg_set_remote_sdp (seller, "offer", offer_text, &error));
  g_assert_no_error (error);
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (ctx.answer == NULL && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  g_assert_nonnull (ctx.answer);
  return ctx.answer;
}

static guint
count_attr (const GstSDPMessage *msg, const GstSDPMedia *media, const char *key)
{
  guint n = 0;

  for (guint i = 0; i < gst_sdp_message_attributes_len (msg); i++)
    n += g_str_equal (gst_sdp_message_get_attribute (msg, i)->key, key);
  for (guint i = 0; i < gst_sdp_media_attributes_len (media); i++)
    n += g_str_equal (gst_sdp_media_get_attribute (media, i)->key, key);
  return n;
}

static gboolean
media_has_format (const GstSDPMedia *media, const char *pt)
{
  for (guint i = 0; i < gst_sdp_media_formats_len (media); i++)
    if (g_str_equal (gst_sdp_media_get_format (media, i), pt))
      return TRUE;
  return FALSE;
}

/* The value of "a=<key>:<pt> …" for @pt in @media, or NULL. */
static const char *
pt_attr (const GstSDPMedia *media, const char *key, const char *pt)
{
  gsize len = strlen (pt);

  for (guint i = 0; i < gst_sdp_media_attributes_len (media); i++)
    {
      const GstSDPAttribute *a = gst_sdp_media_get_attribute (media, i);
      if (g_str_equal (a->key, key) && a->value != NULL && strncmp (a->value, pt, len) == 0 && a->value[len] == ' ')
        return a->value + len + 1;
    }
  return NULL;
}

/* The payload type of the RTX entry of @media that repairs @pt, or NULL. */
static char *
rtx_for (const GstSDPMedia *media, const char *pt)
{
  g_autofree char *apt = g_strdup_printf ("apt=%s", pt);

  for (guint i = 0; i < gst_sdp_media_formats_len (media); i++)
    {
      const char *f = gst_sdp_media_get_format (media, i);
      const char *fmtp = pt_attr (media, "fmtp", f);
      if (fmtp != NULL && g_str_equal (fmtp, apt))
        return g_strdup (f);
    }
  return NULL;
}

static void
check_answer (const char *offer_text, const char *answer_text, const char *expect_pt, const char *expect_codec)
{
  GstSDPMessage *offer = parse_sdp (offer_text);
  GstSDPMessage *answer = parse_sdp (answer_text);
  const GstSDPMedia *om = gst_sdp_message_get_media (offer, 0);

  g_assert_cmpuint (gst_sdp_message_medias_len (answer), ==, 1);
  const GstSDPMedia *m = gst_sdp_message_get_media (answer, 0);

  /* A browser rejects a section with these twice ("Failed to parse codecs correctly"). */
  for (const char *const *key = (const char *const[]) { "ice-ufrag", "ice-pwd", "setup", "fingerprint", "mid",
                                                        "rtcp-mux", "recvonly", NULL };
       *key != NULL; key++)
    g_assert_cmpuint (count_attr (answer, m, *key), ==, 1);
  g_assert_cmpuint (count_attr (answer, m, "ssrc-group"), ==, 0);
  g_assert_cmpuint (count_attr (answer, m, "msid"), ==, 0);

  /* The seller's payload type for the forwarded codec comes first; every line is for a listed PT. */
  g_assert_cmpstr (gst_sdp_media_get_format (m, 0), ==, expect_pt);
  g_autofree char *rtpmap = g_strdup_printf ("%s/90000", expect_codec);
  g_assert_cmpstr (pt_attr (m, "rtpmap", expect_pt), ==, rtpmap);
  for (guint i = 0; i < gst_sdp_media_attributes_len (m); i++)
    {
      const GstSDPAttribute *a = gst_sdp_media_get_attribute (m, i);
      if (g_str_equal (a->key, "rtpmap") || g_str_equal (a->key, "fmtp") || g_str_equal (a->key, "rtcp-fb"))
        {
          g_auto (GStrv) parts = g_strsplit (a->value, " ", 2);
          if (!g_str_equal (parts[0], "*"))
            g_assert_true (media_has_format (m, parts[0]));
          g_assert_null (strstr (a->value, "ssrc-"));
          g_assert_null (strstr (a->value, "a-"));
        }
    }

  /* RTX repairing the forwarded PT uses the offer's RTX PT: the seller sends on that one. */
  g_autofree char *rtx_answer = rtx_for (m, expect_pt);
  g_autofree char *rtx_offer = rtx_for (om, expect_pt);
  if (rtx_answer != NULL)
    g_assert_cmpstr (rtx_answer, ==, rtx_offer);

  /* Header extensions: each id once, with the URI the offer gave it, and only forwarded ones. */
  gboolean twcc = FALSE;
  GHashTable *ids = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < gst_sdp_media_attributes_len (m); i++)
    {
      const GstSDPAttribute *a = gst_sdp_media_get_attribute (m, i);
      if (!g_str_equal (a->key, "extmap"))
        continue;
      g_auto (GStrv) parts = g_strsplit (a->value, " ", 3);
      g_assert_nonnull (parts[1]);
      g_assert_false (g_hash_table_contains (ids, parts[0]));
      g_hash_table_add (ids, (gpointer) a->value);
      g_autofree char *line = g_strdup_printf ("%s %s", parts[0], parts[1]);
      gboolean in_offer = FALSE;
      for (guint j = 0; j < gst_sdp_media_attributes_len (om); j++)
        {
          const GstSDPAttribute *o = gst_sdp_media_get_attribute (om, j);
          in_offer |= g_str_equal (o->key, "extmap") && g_str_equal (o->value, line);
        }
      g_assert_true (in_offer);
      g_assert_true (g_str_equal (parts[1], KMG_RELAY_EXT_TWCC) || g_str_equal (parts[1], KMG_RELAY_EXT_ABS_SEND_TIME));
      twcc |= g_str_equal (parts[1], KMG_RELAY_EXT_TWCC);
    }
  g_assert_true (twcc); /* without it a browser seller's bitrate ramps slowly */
  g_assert_true (pt_attr (m, "rtcp-fb", expect_pt) != NULL);
  g_hash_table_unref (ids);
  gst_sdp_message_free (offer);
  gst_sdp_message_free (answer);
}

static void
test_answer_vp8 (void)
{
  g_autofree char *offer = browser_offer ("96");
  g_autofree char *answer = relay_answer (offer);

  g_test_message ("answer:\n%s", answer);
  check_answer (offer, answer, "96", "VP8");
}

static void
test_answer_h264 (void)
{
  g_autofree char *offer = browser_offer ("102");
  g_autofree char *answer = relay_answer (offer);

  g_test_message ("answer:\n%s", answer);
  check_answer (offer, answer, "102", "H264");
}

/* A rebuilt leg's certificate: a PEM GStreamer's DTLS can load, and the fingerprint of the
 * certificate alone (SHA-256 of its DER), which is what the buyer checks the handshake against. */
static void
test_restart_certificate (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *fp1 = NULL, *fp2 = NULL;
  g_autofree char *pem1 = kmg_relay_cert_new_pem (&fp1, &error);
  g_assert_no_error (error);
  g_autofree char *pem2 = kmg_relay_cert_new_pem (&fp2, &error);
  g_assert_no_error (error);

  g_assert_nonnull (strstr (pem1, "-----BEGIN CERTIFICATE-----"));
  g_assert_nonnull (strstr (pem1, "-----BEGIN PRIVATE KEY-----"));
  g_assert_cmpuint (strlen (fp1), ==, 32 * 3 - 1);
  g_assert_cmpstr (fp1, !=, fp2);
  g_assert_cmpstr (pem1, !=, pem2);

  const char *b = strstr (pem1, "-----BEGIN CERTIFICATE-----\n") + strlen ("-----BEGIN CERTIFICATE-----\n");
  const char *e = strstr (pem1, "-----END CERTIFICATE-----");
  g_autofree char *b64 = g_strndup (b, (gsize) (e - b));
  gsize der_len = 0;
  g_autofree guchar *der = g_base64_decode (b64, &der_len);
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, der, der_len);
  g_autofree char *hex = g_ascii_strup (g_checksum_get_string (sum), -1);
  for (guint i = 0; i < 32; i++)
    g_assert_true (fp1[i * 3] == hex[i * 2] && fp1[i * 3 + 1] == hex[i * 2 + 1]);

  /* GStreamer's DTLS takes it: an element given it reports it back. */
  GstElement *dec = gst_element_factory_make ("dtlsdec", NULL);
  g_assert_nonnull (dec);
  g_object_set (dec, "pem", pem1, NULL);
  g_autofree char *back = NULL;
  g_object_get (dec, "pem", &back, NULL);
  g_assert_nonnull (strstr (back, b64));
  gst_object_unref (gst_object_ref_sink (dec));

  const char *sdp = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=fingerprint:sha-256 00:11\r\na=mid:video0\r\n";
  g_autofree char *out = kmg_relay_sdp_with_fingerprint (sdp, fp1);
  g_autofree char *want = g_strdup_printf ("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=fingerprint:sha-256 %s\r\n"
                                           "a=mid:video0\r\n", fp1);
  g_assert_cmpstr (out, ==, want);
}

static void
test_mid_of_mline (void)
{
  static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                            "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:audio0\r\n"
                            "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:video1\r\n"
                            "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n";
  g_autoptr (GstSDPMessage) msg = NULL;

  g_assert_cmpint (gst_sdp_message_new_from_text (sdp, &msg), ==, GST_SDP_OK);
  g_assert_cmpstr (kmg_relay_sdp_mid (msg, 0), ==, "audio0");
  g_assert_cmpstr (kmg_relay_sdp_mid (msg, 1), ==, "video1");
  g_assert_null (kmg_relay_sdp_mid (msg, 2)); /* no a=mid */
  g_assert_null (kmg_relay_sdp_mid (msg, 3)); /* no such m-line */
}

/* RTX is used only as both sides negotiated it: the relay's offer pairs the RTX SSRC with the
 * forwarded one, and the buyer's answer kept the RTX payload type. */
static void
test_negotiated_rtx (void)
{
  static const char offer[] = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                              "m=video 9 UDP/TLS/RTP/SAVPF 97 96\r\nc=IN IP4 0.0.0.0\r\n"
                              "a=rtpmap:97 VP8/90000\r\na=rtcp-fb:97 nack\r\na=rtpmap:96 rtx/90000\r\n"
                              "a=fmtp:96 apt=97\r\na=ssrc-group:FID 2618776911 3093730614\r\na=mid:video0\r\n";
  static const char with_rtx[] = "v=0\r\no=- 2 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                                 "m=video 9 UDP/TLS/RTP/SAVPF 97 96\r\nc=IN IP4 0.0.0.0\r\n"
                                 "a=rtpmap:97 VP8/90000\r\na=rtpmap:96 rtx/90000\r\na=fmtp:96 apt=97\r\n";
  static const char without_rtx[] = "v=0\r\no=- 2 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                                    "m=video 9 UDP/TLS/RTP/SAVPF 97\r\nc=IN IP4 0.0.0.0\r\n"
                                    "a=rtpmap:97 VP8/90000\r\n";
  g_autoptr (GstSDPMessage) o = NULL, a = NULL, b = NULL;
  guint pt = 0;
  guint32 ssrc = 0;

  g_assert_cmpint (gst_sdp_message_new_from_text (offer, &o), ==, GST_SDP_OK);
  g_assert_cmpint (gst_sdp_message_new_from_text (with_rtx, &a), ==, GST_SDP_OK);
  g_assert_cmpint (gst_sdp_message_new_from_text (without_rtx, &b), ==, GST_SDP_OK);
  g_assert_true (kmg_relay_sdp_rtx (o, a, 97, 2618776911u, &pt, &ssrc));
  g_assert_cmpuint (pt, ==, 96);
  g_assert_cmpuint (ssrc, ==, 3093730614u);
  g_assert_false (kmg_relay_sdp_rtx (o, b, 97, 2618776911u, &pt, &ssrc)); /* the buyer dropped it */
  g_assert_false (kmg_relay_sdp_rtx (o, a, 98, 2618776911u, &pt, &ssrc)); /* not for this PT */
  g_assert_false (kmg_relay_sdp_rtx (o, a, 97, 1, &pt, &ssrc));           /* not for this SSRC */
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  g_test_add_func ("/relay/sdp/offer-caps-keep-codec-fields-only", test_offer_caps);
  g_test_add_func ("/relay/sdp/offer-caps-no-video-codec", test_offer_caps_no_video_codec);
  g_test_add_func ("/relay/sdp/extmap-values", test_extmap_values);
  g_test_add_func ("/relay/sdp/mid-of-mline", test_mid_of_mline);
  g_test_add_func ("/relay/sdp/negotiated-rtx", test_negotiated_rtx);
  g_test_add_func ("/relay/sdp/answer-vp8-browser-valid", test_answer_vp8);
  g_test_add_func ("/relay/sdp/answer-h264-browser-valid", test_answer_h264);
  g_test_add_func ("/relay/sdp/restart-certificate", test_restart_certificate);
  return g_test_run ();
}
