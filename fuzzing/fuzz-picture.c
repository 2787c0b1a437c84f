/* fuzz-picture.c — untrusted uploads through the profile picture sniffer.
 * The input is copied to an exact-size heap buffer so sanitizers see any read past its end. */

#include <string.h>

#include "kmg-picture-sniff.h"

int LLVMFuzzerTestOneInput (const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput (const unsigned char *data, size_t size)
{
  g_autofree guint8 *copy = g_malloc (size ? size : 1);
  KmgPictureInfo info;

  memcpy (copy, data, size);
  if (kmg_picture_sniff (copy, size, &info, NULL))
    {
      g_assert (info.content_type != NULL && info.extension != NULL);
      g_assert (info.width > 0 && info.height > 0);
    }
  return 0;
}
