/* kmg-profile-patch.c — decoding and planning a profile change (PATCH /me), pure.
 * Fuzzed through fuzzing/fuzz-json-request.c together with kmg_json_parse_object. */

#include "kmg-profile-patch.h"

#include <string.h>

#include "kmg-accounts-error.h"
#include "kmg-accounts-rules.h"
#include "kmg-json.h"

const char *const kmg_profile_patch_fields[] = {
  "display_name",     "is_seller",    "location_consent", "seller_description",
  "price_per_minute", "always_relay", NULL,
};

void
kmg_profile_patch_clear (KmgProfilePatch *patch)
{
  if (patch == NULL)
    return;
  g_free (patch->display_name);
  g_free (patch->seller_description);
  memset (patch, 0, sizeof *patch);
}

static gboolean
get_bool (JsonObject *obj, const char *name, gboolean *has, gboolean *value, GError **error)
{
  JsonNode *node = json_object_get_member (obj, name);

  *has = node != NULL && !JSON_NODE_HOLDS_NULL (node);
  return kmg_json_get_bool (obj, name, FALSE, value, error);
}

static gboolean
get_text (JsonObject *obj, const char *name, gsize max, gboolean multiline, gboolean *has,
          char **value, GError **error)
{
  const char *s = NULL;

  if (!kmg_json_get_string (obj, name, FALSE, 0, &s, error))
    return FALSE;
  if (s == NULL)
    return TRUE;
  if (!kmg_text_check (name, s, max, multiline, error))
    return FALSE;
  *has = TRUE;
  *value = g_strdup (s);
  return TRUE;
}

static gboolean
decode_members (JsonObject *obj, KmgProfilePatch *p, GError **error)
{
  const char *const *fields = kmg_profile_patch_fields;

  if (!kmg_json_check_fields (obj, fields, error))
    return FALSE;
  if (!get_text (obj, "display_name", KMG_DISPLAY_NAME_MAX, FALSE, &p->has_display_name,
                 &p->display_name, error)
      || !get_text (obj, "seller_description", KMG_SELLER_DESCRIPTION_MAX, TRUE,
                    &p->has_seller_description, &p->seller_description, error)
      || !get_bool (obj, "is_seller", &p->has_is_seller, &p->is_seller, error)
      || !get_bool (obj, "location_consent", &p->has_location_consent, &p->location_consent, error)
      || !get_bool (obj, "always_relay", &p->has_always_relay, &p->always_relay, error))
    return FALSE;
  p->price_per_minute = 0;
  if (!kmg_json_get_int (obj, "price_per_minute", FALSE, KMG_PRICE_MIN, KMG_PRICE_MAX,
                         &p->price_per_minute, error))
    return FALSE;
  p->has_price_per_minute = p->price_per_minute != 0;
  if (p->has_is_seller && p->is_seller && p->has_location_consent && !p->location_consent)
    {
      g_set_error_literal (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_CONSENT_REQUIRED,
                           "is_seller: true cannot go with location_consent: false");
      return FALSE;
    }
  return TRUE;
}

gboolean
kmg_profile_patch_decode (JsonObject *obj, KmgProfilePatch *out, GError **error)
{
  KmgProfilePatch p = { 0 };

  g_return_val_if_fail (obj != NULL && out != NULL, FALSE);
  memset (out, 0, sizeof *out);
  if (!decode_members (obj, &p, error))
    {
      kmg_profile_patch_clear (&p);
      return FALSE;
    }
  *out = p;
  return TRUE;
}

gboolean
kmg_profile_patch_plan (const KmgProfilePatch *patch, const KmgProfileState *current,
                        KmgProfileState *next, int *consent_change, GError **error)
{
  KmgProfileState n = *current;
  int change = -1;

  if (patch->has_location_consent && patch->location_consent != current->location_consent)
    {
      change = patch->location_consent ? 1 : 0;
      n.location_consent = patch->location_consent;
    }
  if (patch->has_location_consent && !patch->location_consent)
    n.is_seller = FALSE;
  if (patch->has_is_seller && patch->is_seller && !current->is_seller)
    {
      /* Consent given earlier is not enough: turning selling on must be a deliberate act with
       * the consent statement shown at that moment (DESIGN §4). */
      if (!(patch->has_location_consent && patch->location_consent))
        {
          g_set_error_literal (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_CONSENT_REQUIRED,
                               "becoming a seller requires location_consent: true in the same request");
          return FALSE;
        }
      n.is_seller = TRUE;
      /* Re-stating consent when turning selling on is recorded even if it was already given. */
      change = 1;
    }
  else if (patch->has_is_seller && !patch->is_seller)
    n.is_seller = FALSE;
  *next = n;
  *consent_change = change;
  return TRUE;
}
