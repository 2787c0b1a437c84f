/* kmg-enum-names.h — the name of each value of an enum, as clients, logs and the database see it.
 * One static table per enum beside the enum; every module looks names up with these two calls. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  int value;
  const char *name;
} KmgEnumName;

/* The name of @value in @names, or NULL when the table has no such value. */
const char *kmg_enum_names_to_string (const KmgEnumName *names, gsize n_names, int value);
/* Sets @value to the value named @name and returns TRUE; FALSE (and @value untouched) when @name
 * is NULL or not in @names. Names are compared exactly (case matters). */
gboolean kmg_enum_names_from_string (const KmgEnumName *names, gsize n_names, const char *name,
                                     int *value);

#define KMG_ENUM_NAMES_TO_STRING(table, v)                                                         \
  kmg_enum_names_to_string ((table), G_N_ELEMENTS (table), (int) (v))
#define KMG_ENUM_NAMES_FROM_STRING(table, s, out)                                                  \
  kmg_enum_names_from_string ((table), G_N_ELEMENTS (table), (s), (out))

G_END_DECLS
