/* fuzz-json-request.c — untrusted request bodies through strict JSON decoding and the PATCH /me
 * decoder and planner (the same path as the route, without HTTP). */

#include "kmg-profile-patch.h"
#include "kmg-json.h"

int LLVMFuzzerTestOneInput (const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput (const unsigned char *data, size_t size)
{
  g_autoptr (JsonObject) obj = NULL;
  KmgProfilePatch patch;

  obj = kmg_json_parse_object ((const char *) data, size, NULL);
  if (obj == NULL)
    return 0;
  if (!kmg_profile_patch_decode (obj, &patch, NULL))
    return 0;
  /* Every starting state, so each branch of the planner sees this patch. */
  for (int s = 0; s < 4; s++)
    {
      KmgProfileState cur = { s & 1, (s >> 1) & 1 }, next;
      int change;

      if (kmg_profile_patch_plan (&patch, &cur, &next, &change, NULL))
        {
          g_assert (change >= -1 && change <= 1);
          /* From a consistent state (a seller has consent) the result is consistent too. */
          if (!cur.is_seller || cur.location_consent)
            g_assert (!next.is_seller || next.location_consent);
        }
    }
  kmg_profile_patch_clear (&patch);
  return 0;
}
