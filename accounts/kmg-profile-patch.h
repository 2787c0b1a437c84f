/* kmg-profile-patch.h — decoding and planning a profile change (PATCH /me), pure.
 * Everything is validated before anything is written, so a bad request changes nothing. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct
{
  gboolean has_display_name;
  char *display_name;
  gboolean has_is_seller;
  gboolean is_seller;
  gboolean has_location_consent;
  gboolean location_consent;
  gboolean has_seller_description;
  char *seller_description;
  gboolean has_price_per_minute;
  gint64 price_per_minute;
  gboolean has_always_relay;
  gboolean always_relay;
} KmgProfilePatch;

/* The part of a user's state a patch can change. */
typedef struct
{
  gboolean is_seller;
  gboolean location_consent; /* latest consent row, FALSE when none */
} KmgProfileState;

/* The members PATCH /me accepts (NULL-terminated). */
extern const char *const kmg_profile_patch_fields[];

void kmg_profile_patch_clear (KmgProfilePatch *patch);

/* Decodes @obj (unknown members, wrong types, ranges, text rules). Errors are KMG_JSON_ERROR for
 * shape problems and KMG_ACCOUNTS_ERROR_INVALID_VALUE / CONSENT_REQUIRED for rule violations.
 * On failure @out is left cleared. */
gboolean kmg_profile_patch_decode (JsonObject *obj, KmgProfilePatch *out, GError **error);

/* Applies @patch to @current giving @next. *consent_change is -1 when no consent row is to be
 * written, else the new granted value. Becoming a seller needs location_consent: true in the same
 * patch; withdrawing consent also ends being a seller. */
gboolean kmg_profile_patch_plan (const KmgProfilePatch *patch, const KmgProfileState *current,
                                 KmgProfileState *next, int *consent_change, GError **error);

G_END_DECLS
