/* kmg-picture-sniff.c — recognising PNG, JPEG and WebP by magic bytes and header structure.
 * Every read is bounds-checked against @len: this parses untrusted uploads (fuzzed in fuzzing/). */

#include "kmg-picture-sniff.h"

#include <string.h>

#include "kmg-accounts-error.h"

static gboolean
bad (GError **error, const char *why)
{
  g_set_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_BAD_PICTURE,
               "picture must be a PNG, JPEG or WebP image: %s", why);
  return FALSE;
}

static guint32
be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static guint32
le32 (const guint8 *p)
{
  return ((guint32) p[3] << 24) | ((guint32) p[2] << 16) | ((guint32) p[1] << 8) | p[0];
}

static guint16
be16 (const guint8 *p)
{
  return (guint16) ((p[0] << 8) | p[1]);
}

static guint16
le16 (const guint8 *p)
{
  return (guint16) (p[0] | (p[1] << 8));
}

static guint32
le24 (const guint8 *p)
{
  return ((guint32) p[2] << 16) | ((guint32) p[1] << 8) | p[0];
}

/* PNG: signature, then the first chunk must be a 13-byte IHDR with sane dimensions and bit depth. */
static gboolean
sniff_png (const guint8 *d, gsize len, KmgPictureInfo *out, GError **error)
{
  static const guint8 sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  guint8 depth, colour;

  if (len < 8 + 8 + 13 + 4)
    return bad (error, "truncated PNG header");
  if (memcmp (d, sig, 8) != 0)
    return bad (error, "bad PNG signature");
  if (be32 (d + 8) != 13 || memcmp (d + 12, "IHDR", 4) != 0)
    return bad (error, "PNG does not start with an IHDR chunk");
  out->width = be32 (d + 16);
  out->height = be32 (d + 20);
  depth = d[24];
  colour = d[25];
  if (out->width == 0 || out->height == 0 || out->width > 0x7fffffff || out->height > 0x7fffffff)
    return bad (error, "PNG has invalid dimensions");
  if ((depth != 1 && depth != 2 && depth != 4 && depth != 8 && depth != 16)
      || (colour != 0 && colour != 2 && colour != 3 && colour != 4 && colour != 6))
    return bad (error, "PNG has an invalid bit depth or colour type");
  out->type = KMG_PICTURE_PNG;
  out->content_type = "image/png";
  out->extension = "png";
  return TRUE;
}

static gboolean
is_jpeg_sof (guint8 m)
{
  /* SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC). */
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

/* JPEG: SOI, then walk marker segments by their lengths until a frame header (SOF) appears.
 * Reaching scan data (SOS) or the end first means there is no frame to show. */
static gboolean
sniff_jpeg (const guint8 *d, gsize len, KmgPictureInfo *out, GError **error)
{
  gsize pos = 2;

  if (len < 4 || d[0] != 0xFF || d[1] != 0xD8)
    return bad (error, "bad JPEG signature");
  while (pos < len)
    {
      guint8 marker;
      guint16 seglen;

      if (d[pos] != 0xFF)
        return bad (error, "JPEG marker expected");
      while (pos < len && d[pos] == 0xFF) /* fill bytes */
        pos++;
      if (pos >= len)
        break;
      marker = d[pos++];
      if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7))
        continue; /* standalone markers carry no length */
      if (marker == 0xD8 || marker == 0xD9 || marker == 0xDA || marker == 0x00)
        return bad (error, "JPEG has no frame header before its data");
      if (pos + 2 > len)
        break;
      seglen = be16 (d + pos);
      if (seglen < 2 || pos + seglen > len)
        return bad (error, "JPEG segment runs past the end");
      if (is_jpeg_sof (marker))
        {
          if (seglen < 8)
            return bad (error, "JPEG frame header too short");
          out->height = be16 (d + pos + 3);
          out->width = be16 (d + pos + 5);
          /* Height 0 (defined later by a DNL marker) is legal JPEG but nothing we want to show. */
          if (out->width == 0 || out->height == 0 || d[pos + 7] == 0)
            return bad (error, "JPEG has invalid dimensions or no components");
          out->type = KMG_PICTURE_JPEG;
          out->content_type = "image/jpeg";
          out->extension = "jpg";
          return TRUE;
        }
      pos += seglen;
    }
  return bad (error, "truncated JPEG header");
}

/* WebP: RIFF container whose size fits the data, form type WEBP, first chunk VP8, VP8L or VP8X. */
static gboolean
sniff_webp (const guint8 *d, gsize len, KmgPictureInfo *out, GError **error)
{
  guint32 riff_size, chunk_size;
  const guint8 *c;

  if (len < 12 + 8)
    return bad (error, "truncated WebP header");
  if (memcmp (d, "RIFF", 4) != 0 || memcmp (d + 8, "WEBP", 4) != 0)
    return bad (error, "bad WebP signature");
  riff_size = le32 (d + 4);
  if (riff_size < 4 + 8 || (guint64) riff_size + 8 > len)
    return bad (error, "WebP RIFF size does not match the data");
  chunk_size = le32 (d + 16);
  if ((guint64) chunk_size + 20 > len)
    return bad (error, "WebP chunk runs past the end");
  c = d + 20;
  if (memcmp (d + 12, "VP8 ", 4) == 0)
    {
      /* Frame tag (3 bytes), start code 9D 01 2A, then 14-bit width and height. */
      if (chunk_size < 10 || c[3] != 0x9D || c[4] != 0x01 || c[5] != 0x2A)
        return bad (error, "WebP VP8 frame header is invalid");
      out->width = le16 (c + 6) & 0x3FFF;
      out->height = le16 (c + 8) & 0x3FFF;
    }
  else if (memcmp (d + 12, "VP8L", 4) == 0)
    {
      guint32 bits;
      if (chunk_size < 5 || c[0] != 0x2F)
        return bad (error, "WebP lossless header is invalid");
      bits = le32 (c + 1);
      out->width = (bits & 0x3FFF) + 1;
      out->height = ((bits >> 14) & 0x3FFF) + 1;
    }
  else if (memcmp (d + 12, "VP8X", 4) == 0)
    {
      if (chunk_size < 10)
        return bad (error, "WebP extended header is invalid");
      out->width = le24 (c + 4) + 1;
      out->height = le24 (c + 7) + 1;
    }
  else
    return bad (error, "WebP has no VP8, VP8L or VP8X chunk");
  if (out->width == 0 || out->height == 0)
    return bad (error, "WebP has invalid dimensions");
  out->type = KMG_PICTURE_WEBP;
  out->content_type = "image/webp";
  out->extension = "webp";
  return TRUE;
}

gboolean
kmg_picture_sniff (const guint8 *data, gsize len, KmgPictureInfo *out, GError **error)
{
  KmgPictureInfo info = { 0 };
  gboolean ok;

  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  if (len >= 8 && data[0] == 0x89 && data[1] == 'P')
    ok = sniff_png (data, len, &info, error);
  else if (len >= 2 && data[0] == 0xFF && data[1] == 0xD8)
    ok = sniff_jpeg (data, len, &info, error);
  else if (len >= 4 && memcmp (data, "RIFF", 4) == 0)
    ok = sniff_webp (data, len, &info, error);
  else
    ok = bad (error, len == 0 ? "empty body" : "unrecognised format");
  if (ok)
    *out = info;
  return ok;
}
