/* kmg-picture-sniff.h — recognising profile pictures by their bytes (pure, no I/O).
 * The client's Content-Type is never trusted: magic bytes plus a minimal structural check decide. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  KMG_PICTURE_PNG = 1,
  KMG_PICTURE_JPEG,
  KMG_PICTURE_WEBP,
} KmgPictureType;

typedef struct
{
  KmgPictureType type;
  const char *content_type; /* static string: "image/png", ... */
  const char *extension;    /* static string: "png", "jpg", "webp" */
  guint32 width;            /* from IHDR, the frame header, the VP8/VP8L bitstream or the VP8X canvas */
  guint32 height;
} KmgPictureInfo;

/* Fails with KMG_ACCOUNTS_ERROR_BAD_PICTURE when @data is not a PNG, JPEG or WebP whose header
 * holds together (truncated headers, chunk sizes past the end, zero dimensions). */
gboolean kmg_picture_sniff (const guint8 *data, gsize len, KmgPictureInfo *out, GError **error);

G_END_DECLS
