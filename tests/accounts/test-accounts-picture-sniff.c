/* test-picture-sniff.c — picture type detection on real tiny images, garbage and truncations.
 * Every prefix of every sample must be refused: a truncated header is never "probably fine". */

#include <string.h>

#include "kmg-accounts.h"
#include "picture-samples.h"

typedef struct
{
  const char *name;
  const guint8 *data;
  gsize len;
  KmgPictureType type;
  const char *content_type;
  guint32 width, height;
  gsize header_len; /* bytes the sniffer needs; shorter prefixes must fail */
} Sample;

/* RIFF/WEBP with only a VP8X chunk: canvas 300x200 (stored minus one, 24-bit little endian). */
static const guint8 webp_vp8x[] = {
  'R', 'I', 'F', 'F', 22, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'X', 10, 0, 0, 0,
  0,   0,   0,   0,   43, 1, 0, 199, 0, 0,
};

static const Sample samples[] = {
  { "png", tiny_png, sizeof tiny_png, KMG_PICTURE_PNG, "image/png", 1, 1, 33 },
  { "jpeg", tiny_jpg, sizeof tiny_jpg, KMG_PICTURE_JPEG, "image/jpeg", 1, 1, 0 },
  { "webp-lossy", tiny_lossy_webp, sizeof tiny_lossy_webp, KMG_PICTURE_WEBP, "image/webp", 16, 16, 0 },
  { "webp-lossless", tiny_lossless_webp, sizeof tiny_lossless_webp, KMG_PICTURE_WEBP, "image/webp",
    16, 16, 0 },
  { "webp-vp8x", webp_vp8x, sizeof webp_vp8x, KMG_PICTURE_WEBP, "image/webp", 300, 200, 0 },
};

static void
test_samples (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    {
      const Sample *s = &samples[i];
      KmgPictureInfo info;
      g_autoptr (GError) error = NULL;

      g_test_message ("sample %s", s->name);
      g_assert_true (kmg_picture_sniff (s->data, s->len, &info, &error));
      g_assert_no_error (error);
      g_assert_cmpint (info.type, ==, s->type);
      g_assert_cmpstr (info.content_type, ==, s->content_type);
      g_assert_cmpuint (info.width, ==, s->width);
      g_assert_cmpuint (info.height, ==, s->height);
    }
}

/* JPEG and WebP need their whole header; for the samples the frame header ends well inside the
 * file, so only prefixes up to that point are checked to fail. */
static gsize
needed_prefix (const Sample *s)
{
  gsize lo = 0;

  if (s->header_len)
    return s->header_len;
  /* Smallest prefix that passes: everything shorter must fail. */
  for (gsize n = 0; n <= s->len; n++)
    {
      KmgPictureInfo info;
      if (kmg_picture_sniff (s->data, n, &info, NULL))
        {
          lo = n;
          break;
        }
    }
  return lo;
}

static void
test_truncated (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    {
      const Sample *s = &samples[i];
      gsize need = needed_prefix (s);

      g_test_message ("sample %s needs %" G_GSIZE_FORMAT " bytes", s->name, need);
      g_assert_cmpuint (need, >, 12);
      for (gsize n = 0; n < need; n++)
        {
          g_autoptr (GError) error = NULL;
          KmgPictureInfo info;
          /* A heap copy of exactly n bytes so ASan catches any read past the end. */
          g_autofree guint8 *copy = g_memdup2 (s->data, n ? n : 1);

          g_assert_false (kmg_picture_sniff (copy, n, &info, &error));
          g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_BAD_PICTURE);
        }
    }
  /* WebP: the RIFF size must be covered by the data, so cutting the tail is refused too. */
  g_assert_false (kmg_picture_sniff (tiny_lossy_webp, sizeof tiny_lossy_webp - 1,
                                     &(KmgPictureInfo){ 0 }, NULL));
}

#define BYTES(lit) { (const guint8 *) (lit), sizeof (lit) - 1 }

static void
test_garbage (void)
{
  static const struct
  {
    const guint8 *data;
    gsize len;
  } bad[] = {
    BYTES (""),
    BYTES ("hello world, this is not a picture at all"),
    BYTES ("GIF89a\x01\x00\x01\x00\x00\x00\x00"),
    BYTES ("<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>"),
    BYTES ("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x00\x00\x00\x00"
           "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
    BYTES ("\xff\xd8\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"), /* scan before any frame */
    BYTES ("\xff\xd8\xff\xe0\xff\xff"),                          /* segment past the end */
    BYTES ("\xff\xd8\x00\x00\x00\x00"),
    BYTES ("\x89PNG\r\n\x1a\n"),
  };
  guint8 png[sizeof tiny_png];
  guint8 webp[sizeof tiny_lossy_webp];

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      KmgPictureInfo info;

      g_assert_false (kmg_picture_sniff (bad[i].data, bad[i].len, &info, &error));
      g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_BAD_PICTURE);
    }

  /* Structural checks, one broken field at a time. */
  memcpy (png, tiny_png, sizeof png);
  memcpy (png + 12, "IDAT", 4);
  g_assert_false (kmg_picture_sniff (png, sizeof png, &(KmgPictureInfo){ 0 }, NULL));
  memcpy (png, tiny_png, sizeof png);
  memset (png + 16, 0, 4); /* width 0 */
  g_assert_false (kmg_picture_sniff (png, sizeof png, &(KmgPictureInfo){ 0 }, NULL));
  memcpy (png, tiny_png, sizeof png);
  png[24] = 7; /* bit depth */
  g_assert_false (kmg_picture_sniff (png, sizeof png, &(KmgPictureInfo){ 0 }, NULL));

  memcpy (webp, tiny_lossy_webp, sizeof webp);
  memcpy (webp + 12, "VP9 ", 4);
  g_assert_false (kmg_picture_sniff (webp, sizeof webp, &(KmgPictureInfo){ 0 }, NULL));
  memcpy (webp, tiny_lossy_webp, sizeof webp);
  webp[23] = 0; /* VP8 start code */
  g_assert_false (kmg_picture_sniff (webp, sizeof webp, &(KmgPictureInfo){ 0 }, NULL));
  memcpy (webp, tiny_lossy_webp, sizeof webp);
  webp[19] = 0x7f; /* chunk size far past the end */
  g_assert_false (kmg_picture_sniff (webp, sizeof webp, &(KmgPictureInfo){ 0 }, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/accounts/picture-sniff/samples", test_samples);
  g_test_add_func ("/accounts/picture-sniff/truncated", test_truncated);
  g_test_add_func ("/accounts/picture-sniff/garbage", test_garbage);
  return g_test_run ();
}
