/* picture-tagged.h — the tiny samples of picture-samples.h with metadata added around their pixels:
 * EXIF with a GPS fix, XMP, IPTC, ICC, comments, text chunks and trailers, all carrying a marker. */
#pragma once

#include <glib.h>
#include <string.h>

#include "picture-samples.h"

/* Appears in every metadata block the builders add; must never survive stripping. */
#define TAGGED_MARKER "KMG-MARKER-48.858370N-2.294481E"

static inline void
tagged_be16 (GByteArray *a, guint v)
{
  const guint8 b[2] = { (guint8) (v >> 8), (guint8) v };
  g_byte_array_append (a, b, 2);
}

static inline void
tagged_be32 (GByteArray *a, guint32 v)
{
  const guint8 b[4] = { (guint8) (v >> 24), (guint8) (v >> 16), (guint8) (v >> 8), (guint8) v };
  g_byte_array_append (a, b, 4);
}

static inline void
tagged_le32 (GByteArray *a, guint32 v)
{
  const guint8 b[4] = { (guint8) v, (guint8) (v >> 8), (guint8) (v >> 16), (guint8) (v >> 24) };
  g_byte_array_append (a, b, 4);
}

static inline void
tagged_str (GByteArray *a, const char *s)
{
  g_byte_array_append (a, (const guint8 *) s, strlen (s));
}

/* "Exif\0\0" and a big-endian TIFF: IFD0 = {ImageDescription: marker, GPSInfo -> GPS IFD},
 * GPS IFD = {GPSLatitudeRef "N", GPSLatitude 48/1 51/1 3013/100}. */
static inline GByteArray *
tagged_exif (gboolean with_exif_header)
{
  GByteArray *a = g_byte_array_new ();
  const guint32 desc_len = sizeof TAGGED_MARKER; /* with its NUL */
  /* Offsets from the TIFF header: IFD0 at 8 (2 entries: 2 + 24 + 4 = 30), GPS IFD at 38
   * (2 entries: 30), rationals at 68 (24 bytes), description at 92. */
  if (with_exif_header)
    g_byte_array_append (a, (const guint8 *) "Exif\0\0", 6);
  tagged_str (a, "MM");
  tagged_be16 (a, 42);
  tagged_be32 (a, 8);
  tagged_be16 (a, 2);
  tagged_be16 (a, 0x010E), tagged_be16 (a, 2), tagged_be32 (a, desc_len), tagged_be32 (a, 92);
  tagged_be16 (a, 0x8825), tagged_be16 (a, 4), tagged_be32 (a, 1), tagged_be32 (a, 38);
  tagged_be32 (a, 0);
  tagged_be16 (a, 2);
  tagged_be16 (a, 0x0001), tagged_be16 (a, 2), tagged_be32 (a, 2), tagged_be32 (a, 0x4E000000);
  tagged_be16 (a, 0x0002), tagged_be16 (a, 5), tagged_be32 (a, 3), tagged_be32 (a, 68);
  tagged_be32 (a, 0);
  tagged_be32 (a, 48), tagged_be32 (a, 1), tagged_be32 (a, 51), tagged_be32 (a, 1);
  tagged_be32 (a, 3013), tagged_be32 (a, 100);
  g_byte_array_append (a, (const guint8 *) TAGGED_MARKER, desc_len);
  return a;
}

static inline const char *
tagged_xmp (void)
{
  return "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF><rdf:Description "
         "exif:GPSLatitude=\"48,51.502N\" dc:title=\"" TAGGED_MARKER "\"/></rdf:RDF></x:xmpmeta>";
}

/* --- JPEG: segments after SOI, then the sample's own segments, then a trailer after EOI. ---- */

static inline void
tagged_jpeg_segment (GByteArray *a, guint8 marker, const guint8 *payload, gsize len)
{
  const guint8 m[2] = { 0xFF, marker };
  g_byte_array_append (a, m, 2);
  tagged_be16 (a, (guint) len + 2);
  g_byte_array_append (a, payload, (guint) len);
}

static inline GBytes *
tagged_jpeg (void)
{
  GByteArray *a = g_byte_array_new ();
  g_autoptr (GByteArray) exif = tagged_exif (TRUE);
  g_autoptr (GByteArray) xmp = g_byte_array_new ();
  g_autoptr (GByteArray) iptc = g_byte_array_new ();
  g_autoptr (GByteArray) icc = g_byte_array_new ();

  g_byte_array_append (xmp, (const guint8 *) "http://ns.adobe.com/xap/1.0/", 29);
  tagged_str (xmp, tagged_xmp ());
  static const char iptc_block[] = "Photoshop 3.0\0008BIM\x04\x04\0\0\0\0\0\x25\x1c\x02\x5a\0\x1f"
                                   TAGGED_MARKER;
  g_byte_array_append (iptc, (const guint8 *) iptc_block, sizeof iptc_block - 1);
  g_byte_array_append (icc, (const guint8 *) "ICC_PROFILE\0\x01\x01", 14);
  tagged_str (icc, "desc " TAGGED_MARKER);

  g_byte_array_append (a, tiny_jpg, 2);                  /* SOI */
  g_byte_array_append (a, tiny_jpg + 2, 18);             /* the sample's JFIF APP0 */
  tagged_jpeg_segment (a, 0xE1, exif->data, exif->len);  /* APP1 EXIF */
  tagged_jpeg_segment (a, 0xE1, xmp->data, xmp->len);    /* APP1 XMP */
  tagged_jpeg_segment (a, 0xE2, icc->data, icc->len);    /* APP2 ICC */
  tagged_jpeg_segment (a, 0xED, iptc->data, iptc->len);  /* APP13 IPTC */
  tagged_jpeg_segment (a, 0xFE, (const guint8 *) TAGGED_MARKER, strlen (TAGGED_MARKER)); /* COM */
  g_byte_array_append (a, tiny_jpg + 20, sizeof tiny_jpg - 20);
  tagged_str (a, "trailer " TAGGED_MARKER);
  return g_byte_array_free_to_bytes (a);
}

/* --- PNG: chunks with real CRCs between IHDR and IDAT, and after IEND. -------------------- */

static inline guint32
tagged_crc32 (const guint8 *p, gsize len)
{
  guint32 c = 0xFFFFFFFFu;
  for (gsize i = 0; i < len; i++)
    {
      c ^= p[i];
      for (int k = 0; k < 8; k++)
        c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
  return c ^ 0xFFFFFFFFu;
}

static inline void
tagged_png_chunk (GByteArray *a, const char *type, const guint8 *data, gsize len)
{
  guint start;

  tagged_be32 (a, (guint32) len);
  start = a->len;
  g_byte_array_append (a, (const guint8 *) type, 4);
  g_byte_array_append (a, data, (guint) len);
  tagged_be32 (a, tagged_crc32 (a->data + start, len + 4));
}

static inline GBytes *
tagged_png (void)
{
  GByteArray *a = g_byte_array_new ();
  g_autoptr (GByteArray) exif = tagged_exif (FALSE);
  g_autoptr (GByteArray) itxt = g_byte_array_new ();
  static const guint8 time[7] = { 0x07, 0xE8, 6, 1, 12, 0, 0 };
  static const char text[] = "Comment\0" TAGGED_MARKER;
  static const char ztxt[] = TAGGED_MARKER "\0\0x\x9c\x03\0\0\0\0\x01";

  g_byte_array_append (itxt, (const guint8 *) "XML:com.adobe.xmp\0\0\0\0\0", 22);
  tagged_str (itxt, tagged_xmp ());

  g_byte_array_append (a, tiny_png, 33); /* signature and IHDR */
  tagged_png_chunk (a, "tEXt", (const guint8 *) text, sizeof text - 1);
  tagged_png_chunk (a, "zTXt", (const guint8 *) ztxt, sizeof ztxt - 1);
  tagged_png_chunk (a, "iTXt", itxt->data, itxt->len);
  tagged_png_chunk (a, "eXIf", exif->data, exif->len);
  tagged_png_chunk (a, "tIME", time, sizeof time);
  g_byte_array_append (a, tiny_png + 33, sizeof tiny_png - 33 - 12); /* IDAT */
  tagged_png_chunk (a, "tEXt", (const guint8 *) text, sizeof text - 1);
  g_byte_array_append (a, tiny_png + sizeof tiny_png - 12, 12); /* IEND */
  tagged_str (a, "trailer " TAGGED_MARKER);
  return g_byte_array_free_to_bytes (a);
}

/* --- WebP: the lossy sample's VP8 chunk under a VP8X with ICCP, EXIF and XMP chunks. ------- */

static inline void
tagged_riff_chunk (GByteArray *a, const char *fourcc, const guint8 *data, gsize len)
{
  g_byte_array_append (a, (const guint8 *) fourcc, 4);
  tagged_le32 (a, (guint32) len);
  g_byte_array_append (a, data, (guint) len);
  if (len & 1)
    g_byte_array_append (a, (const guint8 *) "", 1);
}

/* The VP8 chunk of tiny_lossy_webp (header included): 16 × 16. */
#define TAGGED_VP8_CHUNK (tiny_lossy_webp + 12)
#define TAGGED_VP8_CHUNK_LEN (sizeof tiny_lossy_webp - 12)

static inline GBytes *
tagged_webp (void)
{
  GByteArray *a = g_byte_array_new ();
  g_autoptr (GByteArray) exif = tagged_exif (FALSE);
  /* Flags ICC | EXIF | XMP, canvas 16 × 16. */
  static const guint8 vp8x[10] = { 0x2C, 0, 0, 0, 15, 0, 0, 15, 0, 0 };
  static const char icc[] = "icc desc " TAGGED_MARKER;

  tagged_str (a, "RIFF");
  tagged_le32 (a, 0);
  tagged_str (a, "WEBP");
  tagged_riff_chunk (a, "VP8X", vp8x, sizeof vp8x);
  tagged_riff_chunk (a, "ICCP", (const guint8 *) icc, sizeof icc - 1);
  g_byte_array_append (a, TAGGED_VP8_CHUNK, TAGGED_VP8_CHUNK_LEN);
  tagged_riff_chunk (a, "EXIF", exif->data, exif->len);
  tagged_riff_chunk (a, "XMP ", (const guint8 *) tagged_xmp (), strlen (tagged_xmp ()));
  tagged_riff_chunk (a, "ZZZZ", (const guint8 *) TAGGED_MARKER, strlen (TAGGED_MARKER));
  a->data[4] = (guint8) (a->len - 8);
  a->data[5] = (guint8) ((a->len - 8) >> 8);
  return g_byte_array_free_to_bytes (a);
}

/* An animation: VP8X (animation, EXIF), ANIM, one ANMF frame whose data holds an unknown chunk
 * with the marker before the lossy sample's VP8 chunk, then EXIF. */
static inline GBytes *
tagged_animated_webp (void)
{
  GByteArray *a = g_byte_array_new ();
  g_autoptr (GByteArray) frame = g_byte_array_new ();
  g_autoptr (GByteArray) exif = tagged_exif (FALSE);
  static const guint8 vp8x[10] = { 0x0A, 0, 0, 0, 15, 0, 0, 15, 0, 0 };
  static const guint8 anim[6] = { 0, 0, 0, 0, 0, 0 };
  /* Offset 0,0; 16 × 16; 100 ms; no blending. */
  static const guint8 anmf[16] = { 0, 0, 0, 0, 0, 0, 15, 0, 0, 15, 0, 0, 100, 0, 0, 0x02 };

  g_byte_array_append (frame, anmf, sizeof anmf);
  tagged_riff_chunk (frame, "ZZZZ", (const guint8 *) TAGGED_MARKER, strlen (TAGGED_MARKER));
  g_byte_array_append (frame, TAGGED_VP8_CHUNK, TAGGED_VP8_CHUNK_LEN);

  tagged_str (a, "RIFF");
  tagged_le32 (a, 0);
  tagged_str (a, "WEBP");
  tagged_riff_chunk (a, "VP8X", vp8x, sizeof vp8x);
  tagged_riff_chunk (a, "ANIM", anim, sizeof anim);
  tagged_riff_chunk (a, "ANMF", frame->data, frame->len);
  tagged_riff_chunk (a, "EXIF", exif->data, exif->len);
  a->data[4] = (guint8) (a->len - 8);
  a->data[5] = (guint8) ((a->len - 8) >> 8);
  return g_byte_array_free_to_bytes (a);
}

/* TRUE when @needle occurs in @b. */
static inline gboolean
tagged_contains (GBytes *b, const char *needle)
{
  gsize len, n = strlen (needle);
  const guint8 *p = g_bytes_get_data (b, &len);

  for (gsize i = 0; p != NULL && i + n <= len; i++)
    if (memcmp (p + i, needle, n) == 0)
      return TRUE;
  return FALSE;
}
