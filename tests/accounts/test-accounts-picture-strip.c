/* test-accounts-picture-strip.c — metadata stripping and the dimension cap on tagged samples.
 * A stripped picture keeps its pixels byte for byte, loses every marker, and still parses. */

#include <string.h>

#include "kmg-accounts.h"
#include "kmg-picture-strip.h"
#include "picture-tagged.h"

static GBytes *
strip_ok (GBytes *in, KmgPictureInfo *info)
{
  g_autoptr (GError) error = NULL;
  gsize len;
  const guint8 *p = g_bytes_get_data (in, &len);
  GBytes *out = kmg_picture_strip (p, len, info, &error);

  g_assert_no_error (error);
  g_assert_nonnull (out);
  return out;
}

/* Refused with BAD_PICTURE; the heap copy of exactly @len bytes lets ASan see any overread. */
static void
strip_refused (const guint8 *data, gsize len, const char *why)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *copy = g_memdup2 (data, len ? len : 1);
  KmgPictureInfo info = { 0 };

  g_assert_null (kmg_picture_strip (copy, len, &info, &error));
  g_assert_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_BAD_PICTURE);
  if (why != NULL && strstr (error->message, why) == NULL)
    g_error ("expected \"%s\" in \"%s\"", why, error->message);
  g_assert_cmpint (info.type, ==, 0); /* @out untouched */
}

/* The output re-parses to the expected picture, and stripping it again changes nothing. */
static void
assert_clean (GBytes *out, KmgPictureType type, guint32 w, guint32 h)
{
  g_autoptr (GBytes) again = NULL;
  KmgPictureInfo info;

  g_assert_false (tagged_contains (out, "KMG-MARKER"));
  g_assert_false (tagged_contains (out, "48.85"));
  g_assert_false (tagged_contains (out, "Exif"));
  g_assert_false (tagged_contains (out, "xmpmeta"));
  g_assert_true (kmg_picture_sniff (g_bytes_get_data (out, NULL), g_bytes_get_size (out), &info, NULL));
  g_assert_cmpint (info.type, ==, type);
  g_assert_cmpuint (info.width, ==, w);
  g_assert_cmpuint (info.height, ==, h);
  again = strip_ok (out, &info);
  g_assert_true (g_bytes_equal (again, out));
}

static void
assert_bytes (GBytes *b, const guint8 *expect, gsize len)
{
  g_assert_cmpmem (g_bytes_get_data (b, NULL), g_bytes_get_size (b), expect, len);
}

static void
test_jpeg (void)
{
  g_autoptr (GBytes) tagged = tagged_jpeg ();
  g_autoptr (GBytes) out = NULL;
  KmgPictureInfo info;

  g_assert_true (tagged_contains (tagged, TAGGED_MARKER));
  out = strip_ok (tagged, &info);
  g_assert_cmpstr (info.content_type, ==, "image/jpeg");
  assert_clean (out, KMG_PICTURE_JPEG, 1, 1);
  g_assert_false (tagged_contains (out, "ICC_PROFILE"));
  g_assert_false (tagged_contains (out, "Photoshop"));
  /* Exactly the untagged sample: JFIF, tables, frame, scan and EOI are unchanged. */
  assert_bytes (out, tiny_jpg, sizeof tiny_jpg);
}

/* The JFIF thumbnail and the Adobe flags go; JFIF density and the Adobe transform stay. */
static void
test_jpeg_app_rewrite (void)
{
  g_autoptr (GByteArray) a = g_byte_array_new ();
  g_autoptr (GBytes) in = NULL;
  g_autoptr (GBytes) out = NULL;
  /* JFIF 1.2, dpi 72 x 72, a 1 x 1 RGB thumbnail holding marker bytes. */
  static const guint8 jfif[] = { 'J', 'F', 'I', 'F', 0, 1, 2, 1, 0, 72, 0, 72, 1, 1, 'K', 'M', 'G' };
  static const guint8 adobe[] = { 'A', 'd', 'o', 'b', 'e', 0, 100, 0x80, 0, 0, 0, 1, 'K', 'M', 'G' };
  static const guint8 want_jfif[] = { 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 2, 1, 0, 72, 0, 72, 0, 0 };
  static const guint8 want_adobe[] = { 0xFF, 0xEE, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 1 };
  KmgPictureInfo info;

  g_byte_array_append (a, tiny_jpg, 2);
  tagged_jpeg_segment (a, 0xE0, jfif, sizeof jfif);
  tagged_jpeg_segment (a, 0xEE, adobe, sizeof adobe);
  g_byte_array_append (a, tiny_jpg + 20, sizeof tiny_jpg - 20);
  in = g_bytes_new (a->data, a->len);
  out = strip_ok (in, &info);
  g_assert_false (tagged_contains (out, "KMG"));
  g_assert_cmpmem ((const guint8 *) g_bytes_get_data (out, NULL) + 2, sizeof want_jfif, want_jfif,
                   sizeof want_jfif);
  g_assert_cmpmem ((const guint8 *) g_bytes_get_data (out, NULL) + 2 + sizeof want_jfif,
                   sizeof want_adobe, want_adobe, sizeof want_adobe);
  g_assert_cmpmem ((const guint8 *) g_bytes_get_data (out, NULL) + 2 + sizeof want_jfif + sizeof want_adobe,
                   g_bytes_get_size (out) - 2 - sizeof want_jfif - sizeof want_adobe, tiny_jpg + 20,
                   sizeof tiny_jpg - 20);
}

static void
test_png (void)
{
  g_autoptr (GBytes) tagged = tagged_png ();
  g_autoptr (GBytes) out = NULL;
  KmgPictureInfo info;

  g_assert_true (tagged_contains (tagged, TAGGED_MARKER));
  out = strip_ok (tagged, &info);
  assert_clean (out, KMG_PICTURE_PNG, 1, 1);
  g_assert_false (tagged_contains (out, "tEXt"));
  g_assert_false (tagged_contains (out, "tIME"));
  assert_bytes (out, tiny_png, sizeof tiny_png);
}

/* Colour chunks of their fixed size stay (in order); iCCP and a padded sRGB go. */
static void
test_png_colour (void)
{
  g_autoptr (GByteArray) a = g_byte_array_new ();
  g_autoptr (GByteArray) want = g_byte_array_new ();
  g_autoptr (GBytes) in = NULL;
  g_autoptr (GBytes) out = NULL;
  static const guint8 gama[4] = { 0, 0, 0xB1, 0x8F };
  static const guint8 srgb_long[5] = { 0, 'K', 'M', 'G', '!' };
  static const char iccp[] = "KMG icc\0\0x\x9c\x03\0\0\0\0\x01";
  KmgPictureInfo info;

  g_byte_array_append (a, tiny_png, 33);
  tagged_png_chunk (a, "gAMA", gama, sizeof gama);
  tagged_png_chunk (a, "sRGB", (const guint8 *) "", 1);
  tagged_png_chunk (a, "iCCP", (const guint8 *) iccp, sizeof iccp - 1);
  tagged_png_chunk (a, "sRGB", srgb_long, sizeof srgb_long);
  g_byte_array_append (a, tiny_png + 33, sizeof tiny_png - 33);
  in = g_bytes_new (a->data, a->len);

  g_byte_array_append (want, tiny_png, 33);
  tagged_png_chunk (want, "gAMA", gama, sizeof gama);
  tagged_png_chunk (want, "sRGB", (const guint8 *) "", 1);
  g_byte_array_append (want, tiny_png + 33, sizeof tiny_png - 33);

  out = strip_ok (in, &info);
  g_assert_false (tagged_contains (out, "KMG"));
  assert_bytes (out, want->data, want->len);
}

static void
test_webp (void)
{
  g_autoptr (GBytes) tagged = tagged_webp ();
  g_autoptr (GBytes) out = NULL;
  static const guint8 vp8x[18] = { 'V', 'P', '8', 'X', 10, 0, 0, 0, 0, 0, 0, 0, 15, 0, 0, 15, 0, 0 };
  KmgPictureInfo info;
  const guint8 *p;
  gsize len;

  g_assert_true (tagged_contains (tagged, TAGGED_MARKER));
  out = strip_ok (tagged, &info);
  assert_clean (out, KMG_PICTURE_WEBP, 16, 16);
  g_assert_false (tagged_contains (out, "ICCP"));
  g_assert_false (tagged_contains (out, "XMP "));
  p = g_bytes_get_data (out, &len);
  /* RIFF header with the new size, VP8X with no flag left, then the VP8 chunk as it was. */
  g_assert_cmpuint (len, ==, 12 + sizeof vp8x + TAGGED_VP8_CHUNK_LEN);
  g_assert_cmpmem (p, 4, "RIFF", 4);
  g_assert_cmpuint (p[4] | (p[5] << 8) | (p[6] << 16) | ((guint32) p[7] << 24), ==, len - 8);
  g_assert_cmpmem (p + 12, sizeof vp8x, vp8x, sizeof vp8x);
  g_assert_cmpmem (p + 12 + sizeof vp8x, TAGGED_VP8_CHUNK_LEN, TAGGED_VP8_CHUNK, TAGGED_VP8_CHUNK_LEN);
}

static void
test_webp_animated (void)
{
  g_autoptr (GBytes) tagged = tagged_animated_webp ();
  g_autoptr (GBytes) out = NULL;
  KmgPictureInfo info;
  const guint8 *p;
  gsize len;

  out = strip_ok (tagged, &info);
  assert_clean (out, KMG_PICTURE_WEBP, 16, 16);
  p = g_bytes_get_data (out, &len);
  /* VP8X keeps only the animation flag; ANIM, then ANMF = 16-byte header + the VP8 chunk. */
  g_assert_cmpuint (p[20], ==, 0x02);
  g_assert_cmpmem (p + 30, 4, "ANIM", 4);
  g_assert_cmpmem (p + 44, 4, "ANMF", 4);
  g_assert_cmpuint (p[48] | (p[49] << 8), ==, 16 + TAGGED_VP8_CHUNK_LEN);
  g_assert_cmpmem (p + 52 + 16, TAGGED_VP8_CHUNK_LEN, TAGGED_VP8_CHUNK, TAGGED_VP8_CHUNK_LEN);
  g_assert_cmpuint (len, ==, 52 + 16 + TAGGED_VP8_CHUNK_LEN);
}

/* Clean samples come back byte for byte. */
static void
test_clean_unchanged (void)
{
  static const struct
  {
    const guint8 *data;
    gsize len;
  } samples[] = {
    { tiny_png, sizeof tiny_png },
    { tiny_jpg, sizeof tiny_jpg },
    { tiny_lossy_webp, sizeof tiny_lossy_webp },
    { tiny_lossless_webp, sizeof tiny_lossless_webp },
  };

  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    {
      g_autoptr (GBytes) in = g_bytes_new_static (samples[i].data, samples[i].len);
      g_autoptr (GBytes) out = NULL;
      KmgPictureInfo info;

      out = strip_ok (in, &info);
      assert_bytes (out, samples[i].data, samples[i].len);
    }
}

/* Every prefix of a tagged file is refused: a cut file is never "probably fine". */
static void
test_truncated (void)
{
  GBytes *all[] = { tagged_jpeg (), tagged_png (), tagged_webp (), tagged_animated_webp () };

  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    {
      gsize len;
      const guint8 *p = g_bytes_get_data (all[i], &len);
      gsize end = len;

      /* Trailers after EOI / IEND are dropped, so only cuts before them must fail. */
      if (i < 2)
        end = len - strlen ("trailer " TAGGED_MARKER);
      for (gsize n = 0; n < end; n++)
        strip_refused (p, n, NULL);
      g_bytes_unref (all[i]);
    }
}

static GByteArray *
copy_of (const guint8 *data, gsize len)
{
  GByteArray *a = g_byte_array_sized_new ((guint) len);
  g_byte_array_append (a, data, (guint) len);
  return a;
}

static void
test_malformed (void)
{
  g_autoptr (GByteArray) a = NULL;

  /* PNG: unknown critical chunk; IDAT split; IHDR twice; no IDAT; chunk length past the end. */
  a = copy_of (tiny_png, 33);
  tagged_png_chunk (a, "ZZZZ", (const guint8 *) "x", 1);
  g_byte_array_append (a, tiny_png + 33, sizeof tiny_png - 33);
  strip_refused (a->data, a->len, "unknown critical chunk");
  g_clear_pointer (&a, g_byte_array_unref);
  a = copy_of (tiny_png, 57);
  tagged_png_chunk (a, "tEXt", (const guint8 *) "a\0b", 3);
  g_byte_array_append (a, tiny_png + 33, sizeof tiny_png - 33);
  strip_refused (a->data, a->len, "split");
  g_clear_pointer (&a, g_byte_array_unref);
  a = copy_of (tiny_png, 33);
  g_byte_array_append (a, tiny_png + 8, sizeof tiny_png - 8);
  strip_refused (a->data, a->len, "second IHDR");
  g_clear_pointer (&a, g_byte_array_unref);
  a = copy_of (tiny_png, 33);
  g_byte_array_append (a, tiny_png + sizeof tiny_png - 12, 12);
  strip_refused (a->data, a->len, "no image data");
  g_clear_pointer (&a, g_byte_array_unref);
  a = copy_of (tiny_png, sizeof tiny_png);
  a->data[33] = 0x7f; /* IDAT length */
  strip_refused (a->data, a->len, "past the end");
  g_clear_pointer (&a, g_byte_array_unref);
  a = copy_of (tiny_png, sizeof tiny_png);
  a->data[37] = '1'; /* IDAT type */
  strip_refused (a->data, a->len, "four letters");
  g_clear_pointer (&a, g_byte_array_unref);

  /* JPEG: no EOI; no scan; bytes between segments; a second frame header; reserved marker. */
  strip_refused (tiny_jpg, sizeof tiny_jpg - 2, "end marker");
  a = copy_of (tiny_jpg, sizeof tiny_jpg);
  g_byte_array_remove_range (a, 0x261, sizeof tiny_jpg - 2 - 0x261); /* SOS .. before EOI */
  strip_refused (a->data, a->len, "no image data");
  g_clear_pointer (&a, g_byte_array_unref);
  a = copy_of (tiny_jpg, 20);
  g_byte_array_append (a, (const guint8 *) "junk", 4);
  g_byte_array_append (a, tiny_jpg + 20, sizeof tiny_jpg - 20);
  strip_refused (a->data, a->len, "marker expected");
  g_clear_pointer (&a, g_byte_array_unref);
  a = copy_of (tiny_jpg, 0x261);
  g_byte_array_append (a, tiny_jpg + 0x9e, 19); /* the SOF0 segment again */
  g_byte_array_append (a, tiny_jpg + 0x261, sizeof tiny_jpg - 0x261);
  strip_refused (a->data, a->len, "more than one frame");
  g_clear_pointer (&a, g_byte_array_unref);
  a = copy_of (tiny_jpg, sizeof tiny_jpg);
  a->data[0x261 + 1] = 0x30; /* SOS -> reserved */
  strip_refused (a->data, a->len, "invalid marker");
  g_clear_pointer (&a, g_byte_array_unref);

  /* WebP: VP8X with no bitstream; bitstream not matching the canvas; animation frame outside the
   * canvas; animation frame before ANIM; chunk past the RIFF end. */
  {
    g_autoptr (GBytes) t = tagged_webp ();
    g_autoptr (GBytes) anim = tagged_animated_webp ();
    gsize len;
    const guint8 *p = g_bytes_get_data (t, &len);
    const guint8 *q;
    gsize qlen;
    static const guint8 only_vp8x[] = { 'R', 'I', 'F', 'F', 22, 0, 0, 0, 'W', 'E', 'B', 'P',
                                        'V', 'P', '8', 'X', 10, 0, 0, 0, 0, 0, 0, 0, 15, 0, 0, 15, 0, 0 };

    strip_refused (only_vp8x, sizeof only_vp8x, "no image bitstream");
    a = copy_of (p, len);
    a->data[24] = 31; /* canvas 32 wide, VP8 16 */
    strip_refused (a->data, a->len, "inside a 32 × 16 frame");
    g_clear_pointer (&a, g_byte_array_unref);

    q = g_bytes_get_data (anim, &qlen);
    a = copy_of (q, qlen);
    a->data[52] = 1; /* frame x offset 2: 2 + 16 > 16 */
    strip_refused (a->data, a->len, "outside the canvas");
    g_clear_pointer (&a, g_byte_array_unref);
    a = copy_of (q, qlen);
    memcpy (a->data + 30, "ANIX", 4);
    strip_refused (a->data, a->len, "before its header");
    g_clear_pointer (&a, g_byte_array_unref);
    a = copy_of (q, qlen);
    a->data[50] = 0x10; /* ANMF size past the RIFF end */
    strip_refused (a->data, a->len, "past the end");
    g_clear_pointer (&a, g_byte_array_unref);
  }
}

/* Huge declared dimensions are refused in every format, whatever the bytes behind them. */
static void
test_dimensions (void)
{
  g_autoptr (GByteArray) a = NULL;
  g_autoptr (GBytes) ok = NULL;
  KmgPictureInfo info;

  /* PNG 2^31-1 x 2^31-1 (what an attacker sent), 8193 x 1, 8192 x 8192 (over the total). */
  static const guint32 png_bad[][2] = { { 0x7fffffff, 0x7fffffff }, { 8193, 1 }, { 1, 8193 }, { 8192, 8192 } };
  for (guint i = 0; i < G_N_ELEMENTS (png_bad); i++)
    {
      a = copy_of (tiny_png, sizeof tiny_png);
      a->data[16] = png_bad[i][0] >> 24, a->data[17] = png_bad[i][0] >> 16;
      a->data[18] = png_bad[i][0] >> 8, a->data[19] = png_bad[i][0];
      a->data[20] = png_bad[i][1] >> 24, a->data[21] = png_bad[i][1] >> 16;
      a->data[22] = png_bad[i][1] >> 8, a->data[23] = png_bad[i][1];
      strip_refused (a->data, a->len, "pixels");
      g_clear_pointer (&a, g_byte_array_unref);
    }
  /* At the caps exactly: 8192 x 4096 is accepted (nothing is decoded). */
  a = copy_of (tiny_png, sizeof tiny_png);
  a->data[18] = 0x20, a->data[19] = 0;
  a->data[22] = 0x10, a->data[23] = 0;
  {
    g_autoptr (GBytes) in = g_bytes_new (a->data, a->len);
    ok = strip_ok (in, &info);
    g_assert_cmpuint (info.width, ==, 8192);
    g_assert_cmpuint (info.height, ==, 4096);
  }
  g_clear_pointer (&a, g_byte_array_unref);

  /* JPEG frame header 65535 x 65535 (SOF0 at 0x9e: FF C0 len(2) precision height width). */
  a = copy_of (tiny_jpg, sizeof tiny_jpg);
  memset (a->data + 0x9e + 5, 0xff, 4);
  strip_refused (a->data, a->len, "65535 × 65535 pixels");
  g_clear_pointer (&a, g_byte_array_unref);

  /* WebP lossy 16383 x 16383; VP8X canvas 2^24 x 2^24 (before the bitstream is even read). */
  a = copy_of (tiny_lossy_webp, sizeof tiny_lossy_webp);
  a->data[26] = 0xff, a->data[27] = 0x3f, a->data[28] = 0xff, a->data[29] = 0x3f;
  strip_refused (a->data, a->len, "16383 × 16383 pixels");
  g_clear_pointer (&a, g_byte_array_unref);
  {
    g_autoptr (GBytes) t = tagged_webp ();
    gsize len;
    const guint8 *p = g_bytes_get_data (t, &len);

    a = copy_of (p, len);
    memset (a->data + 24, 0xff, 6);
    strip_refused (a->data, a->len, "16777216 × 16777216 pixels");
    g_clear_pointer (&a, g_byte_array_unref);
  }
  /* Lossless 16384 x 1: width-1 and height-1 are the low 28 bits after the 0x2F signature. */
  a = copy_of (tiny_lossless_webp, sizeof tiny_lossless_webp);
  a->data[21] = 0xff, a->data[22] = 0x3f, a->data[23] = 0, a->data[24] &= 0xf0;
  strip_refused (a->data, a->len, "16384 × 1 pixels");
  g_clear_pointer (&a, g_byte_array_unref);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/accounts/picture-strip/jpeg", test_jpeg);
  g_test_add_func ("/accounts/picture-strip/jpeg-app-rewrite", test_jpeg_app_rewrite);
  g_test_add_func ("/accounts/picture-strip/png", test_png);
  g_test_add_func ("/accounts/picture-strip/png-colour", test_png_colour);
  g_test_add_func ("/accounts/picture-strip/webp", test_webp);
  g_test_add_func ("/accounts/picture-strip/webp-animated", test_webp_animated);
  g_test_add_func ("/accounts/picture-strip/clean-unchanged", test_clean_unchanged);
  g_test_add_func ("/accounts/picture-strip/truncated", test_truncated);
  g_test_add_func ("/accounts/picture-strip/malformed", test_malformed);
  g_test_add_func ("/accounts/picture-strip/dimensions", test_dimensions);
  return g_test_run ();
}
