/* kmg-enum-names.c — look-ups in the enum name tables (linear: the tables have a dozen rows).
 * Pure: no allocation, no logging; callers decide whether a miss is a programmer error. */

#include "kmg-enum-names.h"

const char *
kmg_enum_names_to_string (const KmgEnumName *names, gsize n_names, int value)
{
  for (gsize i = 0; i < n_names; i++)
    if (names[i].value == value)
      return names[i].name;
  return NULL;
}

gboolean
kmg_enum_names_from_string (const KmgEnumName *names, gsize n_names, const char *name, int *value)
{
  if (name == NULL)
    return FALSE;
  for (gsize i = 0; i < n_names; i++)
    if (g_str_equal (names[i].name, name))
      {
        *value = names[i].value;
        return TRUE;
      }
  return FALSE;
}
