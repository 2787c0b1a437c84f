/* kmg-picture-strip.c — rewriting uploaded PNG, JPEG and WebP files to pixels and colour only.
 * Parses untrusted bytes (fuzzed in fuzzing/): every read is checked against the input's length. */

#include "kmg-picture-strip.h"

#include <stdarg.h>
#include <string.h>

#include "kmg-accounts-error.h"

G_GNUC_PRINTF (2, 3)
static gboolean
bad (GError **error, const char *fmt, ...)
{
  g_autofree char *why = NULL;
  va_list ap;

  va_start (ap, fmt);
  why = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_BAD_PICTURE, "malformed picture: %s",
               why);
  return FALSE;
}

static gboolean
check_dimensions (guint32 w, guint32 h, GError **error)
{
  if (w == 0 || h == 0)
    return bad (error, "zero width or height");
  if (w > KMG_PICTURE_MAX_SIDE || h > KMG_PICTURE_MAX_SIDE
      || (guint64) w * h > KMG_PICTURE_MAX_PIXELS)
    {
      g_set_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_BAD_PICTURE,
                   "picture is %u × %u pixels; at most %u per side and %u in all are accepted", w,
                   h, KMG_PICTURE_MAX_SIDE, KMG_PICTURE_MAX_PIXELS);
      return FALSE;
    }
  return TRUE;
}

static guint32
be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static guint16
be16 (const guint8 *p)
{
  return (guint16) ((p[0] << 8) | p[1]);
}

static guint32
le32 (const guint8 *p)
{
  return ((guint32) p[3] << 24) | ((guint32) p[2] << 16) | ((guint32) p[1] << 8) | p[0];
}

static guint32
le24 (const guint8 *p)
{
  return ((guint32) p[2] << 16) | ((guint32) p[1] << 8) | p[0];
}

static void
put_le32 (guint8 *p, guint32 v)
{
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = v >> 24;
}

static void
put_le24 (guint8 *p, guint32 v)
{
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
}

/* --- PNG --------------------------------------------------------------------------------- */

/* Colour chunks a renderer uses, with the only sizes they may have: no room for a payload. */
static gboolean
png_colour_chunk (const guint8 *type, guint32 size)
{
  if (memcmp (type, "tRNS", 4) == 0)
    return size <= 256;
  if (memcmp (type, "gAMA", 4) == 0 || memcmp (type, "cICP", 4) == 0)
    return size == 4;
  if (memcmp (type, "cHRM", 4) == 0)
    return size == 32;
  if (memcmp (type, "sRGB", 4) == 0)
    return size == 1;
  return FALSE;
}

static gboolean
strip_png (const guint8 *d, gsize len, GByteArray *out, GError **error)
{
  gboolean seen_idat = FALSE, idat_done = FALSE;
  gsize pos = 8;

  g_byte_array_append (out, d, 8);
  for (;;)
    {
      const guint8 *type;
      guint32 size;
      gboolean is_idat, keep = FALSE;

      if (len - pos < 12)
        return bad (error, "PNG ends before its IEND chunk");
      size = be32 (d + pos);
      type = d + pos + 4;
      if (size > 0x7fffffff || size > len - pos - 12)
        return bad (error, "PNG chunk runs past the end");
      for (guint i = 0; i < 4; i++)
        if (!g_ascii_isalpha (type[i]))
          return bad (error, "PNG chunk type is not four letters");
      is_idat = memcmp (type, "IDAT", 4) == 0;
      if (seen_idat && !is_idat)
        idat_done = TRUE;

      if (memcmp (type, "IHDR", 4) == 0)
        {
          if (pos != 8)
            return bad (error, "PNG has a second IHDR chunk");
          keep = TRUE;
        }
      else if (memcmp (type, "IEND", 4) == 0)
        {
          if (!seen_idat)
            return bad (error, "PNG has no image data");
          g_byte_array_append (out, d + pos, 12 + size);
          return TRUE; /* anything after IEND is dropped */
        }
      else if (is_idat)
        {
          if (idat_done)
            return bad (error, "PNG image data is split by other chunks");
          seen_idat = keep = TRUE;
        }
      else if (memcmp (type, "PLTE", 4) == 0)
        {
          if (seen_idat)
            return bad (error, "PNG palette comes after the image data");
          keep = TRUE;
        }
      else if (!(type[0] & 0x20))
        return bad (error, "PNG has an unknown critical chunk");
      else
        keep = !seen_idat && png_colour_chunk (type, size);

      if (keep)
        g_byte_array_append (out, d + pos, 12 + size);
      pos += 12 + (gsize) size;
    }
}

/* --- JPEG -------------------------------------------------------------------------------- */

static gboolean
jpeg_is_sof (guint8 m)
{
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

/* Tables and markers decoding needs, copied as they are. */
static gboolean
jpeg_is_table (guint8 m)
{
  return m == 0xDB || m == 0xC4 || m == 0xCC || m == 0xDD || m == 0xDC || m == 0xDE || m == 0xDF;
}

static void
append_marker (GByteArray *out, guint8 marker, const guint8 *seg, gsize seglen)
{
  const guint8 head[2] = { 0xFF, marker };

  g_byte_array_append (out, head, 2);
  g_byte_array_append (out, seg, seglen);
}

/* Entropy-coded data runs until a 0xFF that is neither a stuffed 0x00 nor a restart marker. */
static gsize
jpeg_scan_end (const guint8 *d, gsize len, gsize pos)
{
  while (pos < len)
    {
      if (d[pos] != 0xFF)
        pos++;
      else if (pos + 1 < len && (d[pos + 1] == 0x00 || (d[pos + 1] >= 0xD0 && d[pos + 1] <= 0xD7)))
        pos += 2;
      else
        break;
    }
  return pos;
}

static gboolean
strip_jpeg (const guint8 *d, gsize len, GByteArray *out, GError **error)
{
  static const guint8 soi[2] = { 0xFF, 0xD8 }, eoi[2] = { 0xFF, 0xD9 };
  gboolean seen_frame = FALSE, seen_scan = FALSE, seen_jfif = FALSE, seen_adobe = FALSE;
  gsize pos = 2;

  g_byte_array_append (out, soi, 2);
  for (;;)
    {
      const guint8 *seg, *p;
      guint8 marker;
      gsize seglen, plen;

      if (pos >= len || d[pos] != 0xFF)
        return bad (error, pos >= len ? "JPEG ends before its end marker" : "JPEG marker expected");
      while (pos < len && d[pos] == 0xFF)
        pos++;
      if (pos >= len)
        return bad (error, "JPEG ends before its end marker");
      marker = d[pos++];
      if (marker == 0xD9)
        {
          if (!seen_scan)
            return bad (error, "JPEG has no image data");
          g_byte_array_append (out, eoi, 2);
          return TRUE; /* anything after EOI (MPF images, trailers) is dropped */
        }
      if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7))
        continue; /* stray standalone markers: nothing to decode */
      if (marker < 0xC0 || marker == 0xD8)
        return bad (error, "JPEG has an invalid marker 0x%02x", marker);
      if (len - pos < 2)
        return bad (error, "JPEG ends before its end marker");
      seglen = be16 (d + pos);
      if (seglen < 2 || seglen > len - pos)
        return bad (error, "JPEG segment runs past the end");
      seg = d + pos;
      p = seg + 2;
      plen = seglen - 2;
      pos += seglen;

      if (jpeg_is_sof (marker))
        {
          if (seen_frame)
            return bad (error, "JPEG has more than one frame header");
          if (plen < 6)
            return bad (error, "JPEG frame header too short");
          if (!check_dimensions (be16 (p + 3), be16 (p + 1), error))
            return FALSE;
          seen_frame = TRUE;
          append_marker (out, marker, seg, seglen);
        }
      else if (marker == 0xDA)
        {
          gsize end;

          if (!seen_frame)
            return bad (error, "JPEG scan comes before the frame header");
          append_marker (out, marker, seg, seglen);
          end = jpeg_scan_end (d, len, pos);
          g_byte_array_append (out, d + pos, end - pos);
          pos = end;
          seen_scan = TRUE;
        }
      else if (jpeg_is_table (marker))
        append_marker (out, marker, seg, seglen);
      else if (marker == 0xE0 && !seen_jfif && plen >= 14 && memcmp (p, "JFIF", 5) == 0)
        {
          /* Version, density unit and density; the thumbnail goes. */
          guint8 jfif[16] = { 0, 16, 'J', 'F', 'I', 'F', 0 };

          memcpy (jfif + 7, p + 5, 7);
          seen_jfif = TRUE;
          append_marker (out, 0xE0, jfif, sizeof jfif);
        }
      else if (marker == 0xEE && !seen_adobe && plen >= 12 && memcmp (p, "Adobe", 5) == 0)
        {
          /* The colour transform decides how components become RGB (or CMYK): keep it alone. */
          guint8 adobe[14] = { 0, 14, 'A', 'd', 'o', 'b', 'e', p[5], p[6], 0, 0, 0, 0, p[11] };

          seen_adobe = TRUE;
          append_marker (out, 0xEE, adobe, sizeof adobe);
        }
      /* else: other APPn (EXIF, XMP, ICC, IPTC, MPF, ...), COM and JPEG extensions are dropped */
    }
}

/* --- WebP -------------------------------------------------------------------------------- */

#define VP8X_ICC 0x20
#define VP8X_ALPHA 0x10
#define VP8X_EXIF 0x08
#define VP8X_XMP 0x04
#define VP8X_ANIMATION 0x02

typedef struct
{
  const guint8 *fourcc;
  const guint8 *payload;
  guint32 size;
} Chunk;

/* The chunk at *pos of @d[0..len); a missing pad byte after the very last chunk is tolerated. */
static gboolean
next_chunk (const guint8 *d, gsize len, gsize *pos, Chunk *c, GError **error)
{
  gsize room = len - *pos;

  if (room < 8)
    return bad (error, "WebP chunk header truncated");
  c->fourcc = d + *pos;
  c->size = le32 (d + *pos + 4);
  if (c->size > room - 8)
    return bad (error, "WebP chunk runs past the end");
  c->payload = d + *pos + 8;
  *pos += MIN (room, 8 + (gsize) c->size + (c->size & 1));
  return TRUE;
}

static gboolean
is_fourcc (const Chunk *c, const char *fourcc)
{
  return memcmp (c->fourcc, fourcc, 4) == 0;
}

static void
append_chunk (GByteArray *out, const char *fourcc, const guint8 *payload, guint32 size)
{
  guint8 head[8];
  static const guint8 pad = 0;

  memcpy (head, fourcc, 4);
  put_le32 (head + 4, size);
  g_byte_array_append (out, head, 8);
  g_byte_array_append (out, payload, size);
  if (size & 1)
    g_byte_array_append (out, &pad, 1);
}

/* VP8 (lossy key frame) or VP8L (lossless) bitstream: its own width and height. */
static gboolean
bitstream_dimensions (const Chunk *c, guint32 *w, guint32 *h, GError **error)
{
  const guint8 *p = c->payload;

  if (is_fourcc (c, "VP8 "))
    {
      if (c->size < 10 || (p[0] & 1) != 0 || p[3] != 0x9D || p[4] != 0x01 || p[5] != 0x2A)
        return bad (error, "WebP VP8 frame header is invalid");
      *w = (p[6] | (p[7] << 8)) & 0x3FFF;
      *h = (p[8] | (p[9] << 8)) & 0x3FFF;
    }
  else
    {
      guint32 bits;

      if (c->size < 5 || p[0] != 0x2F)
        return bad (error, "WebP lossless header is invalid");
      bits = le32 (p + 1);
      if (bits >> 29)
        return bad (error, "WebP lossless version is unknown");
      *w = (bits & 0x3FFF) + 1;
      *h = ((bits >> 14) & 0x3FFF) + 1;
    }
  return check_dimensions (*w, *h, error);
}

static gboolean
is_bitstream (const Chunk *c)
{
  return is_fourcc (c, "VP8 ") || is_fourcc (c, "VP8L");
}

/* Image chunks of @d[pos..len) into @out: optional ALPH then exactly one bitstream of @w × @h.
 * Used for a still VP8X image and for each animation frame; other chunks are dropped. */
static gboolean
copy_image_chunks (const guint8 *d, gsize len, gsize pos, guint32 w, guint32 h, GByteArray *out,
                   GError **error)
{
  gboolean seen_alpha = FALSE, seen_bitstream = FALSE;

  while (pos < len)
    {
      Chunk c = { 0 };

      if (!next_chunk (d, len, &pos, &c, error))
        return FALSE;
      if (seen_bitstream)
        continue; /* nothing after the bitstream belongs to this image */
      if (is_fourcc (&c, "ALPH") && !seen_alpha)
        {
          seen_alpha = TRUE;
          append_chunk (out, "ALPH", c.payload, c.size);
        }
      else if (is_bitstream (&c))
        {
          guint32 bw, bh;

          if (!bitstream_dimensions (&c, &bw, &bh, error))
            return FALSE;
          if (bw != w || bh != h)
            return bad (error, "WebP image is %u × %u inside a %u × %u frame", bw, bh, w, h);
          seen_bitstream = TRUE;
          append_chunk (out, (const char *) c.fourcc, c.payload, c.size);
        }
    }
  return seen_bitstream ? TRUE : bad (error, "WebP has no image bitstream");
}

static gboolean
copy_frame (const Chunk *anmf, guint32 cw, guint32 ch, GByteArray *out, GError **error)
{
  g_autoptr (GByteArray) frame = g_byte_array_new ();
  const guint8 *p = anmf->payload;
  guint32 x, y, fw, fh;
  guint8 header[16];

  if (anmf->size < 16)
    return bad (error, "WebP animation frame header too short");
  x = le24 (p) * 2;
  y = le24 (p + 3) * 2;
  fw = le24 (p + 6) + 1;
  fh = le24 (p + 9) + 1;
  if (!check_dimensions (fw, fh, error))
    return FALSE;
  if ((guint64) x + fw > cw || (guint64) y + fh > ch)
    return bad (error, "WebP animation frame lies outside the canvas");
  memcpy (header, p, 15);
  header[15] = p[15] & 0x03; /* blending and disposal; reserved bits cleared */
  g_byte_array_append (frame, header, sizeof header);
  if (!copy_image_chunks (p, anmf->size, 16, fw, fh, frame, error))
    return FALSE;
  append_chunk (out, "ANMF", frame->data, frame->len);
  return TRUE;
}

static gboolean
strip_webp_extended (const guint8 *d, gsize end, gsize pos, const Chunk *vp8x, GByteArray *out,
                     GError **error)
{
  g_autoptr (GByteArray) body = g_byte_array_new ();
  guint8 head[10] = { 0 };
  guint32 cw, ch;
  guint8 flags;
  gboolean animated, seen_anim = FALSE;
  guint frames = 0;

  if (vp8x->size < 10)
    return bad (error, "WebP extended header is invalid");
  flags = vp8x->payload[0];
  animated = (flags & VP8X_ANIMATION) != 0;
  cw = le24 (vp8x->payload + 4) + 1;
  ch = le24 (vp8x->payload + 7) + 1;
  if (!check_dimensions (cw, ch, error))
    return FALSE;

  if (!animated)
    {
      if (!copy_image_chunks (d, end, pos, cw, ch, body, error))
        return FALSE;
    }
  else
    while (pos < end)
      {
        Chunk c = { 0 };

        if (!next_chunk (d, end, &pos, &c, error))
          return FALSE;
        if (is_fourcc (&c, "ANIM") && !seen_anim)
          {
            if (c.size != 6)
              return bad (error, "WebP animation header is invalid");
            seen_anim = TRUE;
            append_chunk (body, "ANIM", c.payload, c.size);
          }
        else if (is_fourcc (&c, "ANMF"))
          {
            if (!seen_anim)
              return bad (error, "WebP animation frame before its header");
            if (!copy_frame (&c, cw, ch, body, error))
              return FALSE;
            frames++;
          }
        else if (is_bitstream (&c))
          return bad (error, "WebP animation has a still image");
      }
  if (animated && frames == 0)
    return bad (error, "WebP animation has no frames");

  head[0] = flags & (VP8X_ALPHA | VP8X_ANIMATION);
  put_le24 (head + 4, cw - 1);
  put_le24 (head + 7, ch - 1);
  append_chunk (out, "VP8X", head, sizeof head);
  g_byte_array_append (out, body->data, body->len);
  return TRUE;
}

static gboolean
strip_webp (const guint8 *d, gsize len, GByteArray *out, GError **error)
{
  gsize end = 8 + (gsize) le32 (d + 4); /* the sniffer checked it fits in @len */
  gsize pos = 12;
  Chunk first;

  g_assert (end <= len);
  g_byte_array_append (out, d, 12);
  if (!next_chunk (d, end, &pos, &first, error))
    return FALSE;
  if (is_fourcc (&first, "VP8X"))
    {
      if (!strip_webp_extended (d, end, pos, &first, out, error))
        return FALSE;
    }
  else if (is_bitstream (&first))
    {
      guint32 w, h;

      if (!bitstream_dimensions (&first, &w, &h, error))
        return FALSE;
      append_chunk (out, (const char *) first.fourcc, first.payload, first.size);
    }
  else
    return bad (error, "WebP has no VP8, VP8L or VP8X chunk");
  put_le32 (out->data + 4, out->len - 8);
  return TRUE;
}

/* --- Entry point ------------------------------------------------------------------------- */

GBytes *
kmg_picture_strip (const guint8 *data, gsize len, KmgPictureInfo *out, GError **error)
{
  g_autoptr (GByteArray) clean = NULL;
  KmgPictureInfo in, result;
  gboolean ok;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (out != NULL, NULL);

  if (len > G_MAXINT32)
    {
      bad (error, "larger than 2 GiB");
      return NULL;
    }
  if (!kmg_picture_sniff (data, len, &in, error))
    return NULL;
  if (!check_dimensions (in.width, in.height, error))
    return NULL;
  clean = g_byte_array_sized_new ((guint) len);
  switch (in.type)
    {
    case KMG_PICTURE_PNG:
      ok = strip_png (data, len, clean, error);
      break;
    case KMG_PICTURE_JPEG:
      ok = strip_jpeg (data, len, clean, error);
      break;
    case KMG_PICTURE_WEBP:
      ok = strip_webp (data, len, clean, error);
      break;
    default:
      g_assert_not_reached ();
    }
  if (!ok)
    return NULL;
  /* What is stored must still be what was recognised. */
  if (!kmg_picture_sniff (clean->data, clean->len, &result, error))
    return NULL;
  g_assert (result.type == in.type);
  *out = result;
  return g_byte_array_free_to_bytes (g_steal_pointer (&clean));
}
