/* kmg-admin.h — moderation store: the admin action log and the operator views of sessions,
 * transfers and seller flags. Every change is written with its admin_actions row in one transaction. */
#pragma once

#include <json-glib/json-glib.h>

#include "kmg-db.h"

G_BEGIN_DECLS

#define KMG_ADMIN_ERROR (kmg_admin_error_quark ())
GQuark kmg_admin_error_quark (void);

typedef enum
{
  KMG_ADMIN_ERROR_REASON_REQUIRED, /* every admin action needs a reason (1..500 characters) */
  KMG_ADMIN_ERROR_NOT_FOUND,
  KMG_ADMIN_ERROR_INVALID,
  KMG_ADMIN_ERROR_CONSENT_REQUIRED, /* the user never gave (or withdrew) location consent */
} KmgAdminError;

#define KMG_ADMIN_REASON_MAX 500

/* Checks @reason: not empty after trimming, at most KMG_ADMIN_REASON_MAX characters. */
gboolean kmg_admin_check_reason (const char *reason, GError **error);

/* Appends one row to the action log. @admin_id 0 = done from kamegorctl; @target_user 0 = none;
 * @detail: a JSON object text or NULL. Call inside the transaction of the change it records. */
gboolean kmg_admin_record (KmgDb *db, gint64 admin_id, const char *action, gint64 target_user,
                           const char *target_ref, const char *reason, const char *detail,
                           gint64 now_s, GError **error);

/* Sets a user's seller flag (@is_seller -1 keeps it) and/or description (NULL keeps it), and
 * records it. An admin cannot give consent on a user's behalf: turning the flag on fails with
 * CONSENT_REQUIRED unless the user's latest location consent is a grant. */
gboolean kmg_admin_set_seller (KmgDb *db, gint64 admin_id, gint64 user_id, int is_seller,
                               const char *description, const char *reason, gint64 now_s,
                               GError **error);

/* Newest first; @before_id 0 = from the newest. Each returns a JSON array of objects. */
JsonArray *kmg_admin_list_sessions (KmgDb *db, gboolean live, gint64 before_id, guint limit,
                                    GError **error);
JsonArray *kmg_admin_list_transfers (KmgDb *db, gint64 before_id, guint limit, GError **error);
JsonArray *kmg_admin_list_actions (KmgDb *db, gint64 before_id, guint limit, GError **error);

/* {id, buyer_id, seller_id, ended} of a session, or NULL with NOT_FOUND. */
JsonObject *kmg_admin_get_session (KmgDb *db, gint64 session_id, GError **error);

G_END_DECLS
