/* fuzz-picture-strip.c — untrusted uploads through the metadata stripper.
 * Whatever is accepted must re-parse, never grow past its chunk padding, and be a fixed point. */

#include <string.h>

#include "kmg-picture-strip.h"

int LLVMFuzzerTestOneInput (const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput (const unsigned char *data, size_t size)
{
  g_autofree guint8 *copy = g_malloc (size ? size : 1);
  g_autoptr (GBytes) out = NULL;
  g_autoptr (GBytes) again = NULL;
  KmgPictureInfo info, info2;
  const guint8 *p;
  gsize len;

  memcpy (copy, data, size);
  out = kmg_picture_strip (copy, size, &info, NULL);
  if (out == NULL)
    return 0;
  p = g_bytes_get_data (out, &len);
  /* WebP may gain a pad byte per chunk that lacked one at its end, nothing else grows. */
  g_assert (len <= size + 8);
  g_assert (info.width > 0 && info.width <= KMG_PICTURE_MAX_SIDE);
  g_assert (info.height > 0 && info.height <= KMG_PICTURE_MAX_SIDE);
  g_assert ((guint64) info.width * info.height <= KMG_PICTURE_MAX_PIXELS);
  g_assert (kmg_picture_sniff (p, len, &info2, NULL));
  again = kmg_picture_strip (p, len, &info2, NULL);
  g_assert (again != NULL && g_bytes_equal (again, out));
  g_assert (info2.type == info.type && info2.width == info.width && info2.height == info.height);
  return 0;
}
