/* kmg-accounts.h — users, passwords, bearer tokens, profiles, pictures and login rate limits.
 * Owned by the main context; password hashing runs on a capped worker pool and returns there. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "kmg-accounts-error.h"
#include "kmg-accounts-rules.h"
#include "kmg-db.h"
#include "kmg-picture-sniff.h"
#include "kmg-profile-patch.h"

G_BEGIN_DECLS

typedef struct _KmgAccounts KmgAccounts;

typedef struct
{
  gint64 max_concurrent_hashes;   /* worker threads hashing at once (each argon2id uses ~64 MiB) */
  gint64 max_queued_hashes;       /* beyond this, register/login fail fast with BUSY */
  gint64 token_ttl_s;
  gint64 login_per_user_per_5min;
  gint64 login_per_addr_per_5min;
  gint64 register_per_addr_per_hour;
  gint64 picture_max_bytes;
} KmgAccountsConfig;

/* Defaults: 2 hashes, 64 queued, 30 days, 10 logins per user and 30 per address per 5 min,
 * 20 registrations per address per hour, 2 MiB. */
void kmg_accounts_config_init (KmgAccountsConfig *cfg);

/* @db is borrowed and must outlive the accounts; pictures go to <data_dir>/pictures/. */
KmgAccounts *kmg_accounts_new (KmgDb *db, const char *data_dir, const KmgAccountsConfig *cfg,
                               GError **error);
/* Waits for hashes in progress; their callbacks then get KMG_ACCOUNTS_ERROR_CLOSED. */
void kmg_accounts_free (KmgAccounts *accounts);

/* --- Authentication ------------------------------------------------------------------------ */

typedef struct
{
  gint64 user_id;
  gint64 token_id;
  gint64 expires_at; /* unix time */
  gboolean is_admin;
  gboolean banned; /* set when FALSE is returned for a token that only the ban stopped */
} KmgAccountsAuth;

/* Resolves a bearer token at unix time @now. FALSE when malformed, unknown, expired, revoked or
 * the user is banned. A token that would still work but for its user's ban (a ban revokes every
 * token) also gives FALSE, with @out->banned and @out->user_id set so that the caller can say
 * "banned" rather than "invalid". Records last_used_at at most once a minute. */
gboolean kmg_accounts_authenticate (KmgAccounts *accounts, const char *token, gint64 now,
                                    KmgAccountsAuth *out);

/* What register and login give back: the token text exists only here, never stored. */
typedef struct
{
  gint64 user_id;
  gint64 token_id;
  char *token;
  gint64 expires_at;
  JsonObject *user; /* as kmg_accounts_get_me */
} KmgAccountsLogin;

void kmg_accounts_login_free (KmgAccountsLogin *login);

/* Validates, hashes on the worker pool, creates the user and a first token labelled @device.
 * Every well-formed attempt (taken name or not) is charged to @client_addr (may be NULL); over
 * the limit it fails with RATE_LIMITED and *retry_after_s (finish) says when to come back. */
void kmg_accounts_register_async (KmgAccounts *accounts, const char *username, const char *password,
                                  const char *display_name, const char *device,
                                  const char *client_addr, gint64 now, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
/* Finish functions: @accounts is not needed (the result carries everything) and may be NULL. */
KmgAccountsLogin *kmg_accounts_register_finish (KmgAccounts *accounts, GAsyncResult *result,
                                                gint64 *retry_after_s, GError **error);

/* Rate-limited per username and per @client_addr (may be NULL). An unknown username still spends
 * one hash so timing does not tell which usernames exist. On RATE_LIMITED, *retry_after_s is set. */
void kmg_accounts_login_async (KmgAccounts *accounts, const char *username, const char *password,
                               const char *device, const char *client_addr, gint64 now,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data);
KmgAccountsLogin *kmg_accounts_login_finish (KmgAccounts *accounts, GAsyncResult *result,
                                             gint64 *retry_after_s, GError **error);

/* --- Tokens -------------------------------------------------------------------------------- */

/* Live tokens of @user_id: [{id, label, created_at, expires_at, last_used_at, current}]. */
JsonArray *kmg_accounts_list_tokens (KmgAccounts *accounts, gint64 user_id,
                                     gint64 current_token_id, gint64 now, GError **error);
/* NOT_FOUND unless @token_id is a live token of @user_id (no way to probe others' tokens).
 * Tells the token_revoked listeners once the change is stored. */
gboolean kmg_accounts_revoke_token (KmgAccounts *accounts, gint64 user_id, gint64 token_id,
                                    gint64 now, GError **error);
/* Returns how many were revoked, -1 on error. Tells the token_revoked listeners (token id 0) when
 * at least one was. */
gint64 kmg_accounts_revoke_all_tokens (KmgAccounts *accounts, gint64 user_id, gint64 now,
                                       GError **error);
/* Deletes rows of tokens expired or revoked before @before; returns the count, -1 on error. */
gint64 kmg_accounts_prune_tokens (KmgAccounts *accounts, gint64 before, GError **error);

/* --- Profiles ------------------------------------------------------------------------------ */

typedef struct
{
  gint64 id;
  char *username;
  char *display_name;
  gboolean is_admin;
  gboolean is_seller;
  gboolean always_relay;
  gboolean banned;
  gint64 price_per_minute;
  char *seller_description;
  char *picture_id; /* NULL when none */
} KmgUser;

void kmg_user_free (KmgUser *user);
KmgUser *kmg_accounts_get_user (KmgAccounts *accounts, gint64 user_id, GError **error);

/* The owner's view: {id, username, display_name, role, is_seller, location_consent,
 * seller_description, price_per_minute, always_relay, picture_url, created_at}. */
JsonObject *kmg_accounts_get_me (KmgAccounts *accounts, gint64 user_id, GError **error);

/* Validates all of @patch against the current state, then writes it in one transaction. */
gboolean kmg_accounts_update_profile (KmgAccounts *accounts, gint64 user_id,
                                      const KmgProfilePatch *patch, gint64 now, GError **error);

/* The public view of a seller: {id, username, display_name, description, price_per_minute,
 * picture_url}. NOT_FOUND for non-sellers, banned and unknown users. The server adds status,
 * rating and history members to the returned object. */
JsonObject *kmg_accounts_seller_profile (KmgAccounts *accounts, gint64 user_id, GError **error);

/* "/media/pictures/<id>", or NULL for a NULL id. */
char *kmg_accounts_picture_url (const char *picture_id);

/* --- Pictures ------------------------------------------------------------------------------ */

gsize kmg_accounts_picture_max_bytes (KmgAccounts *accounts);

/* Checks the content, strips every metadata block (kmg_picture_strip: EXIF, XMP, text chunks,
 * ...), stores the result as <data_dir>/pictures/<sha256 of it>.<ext> and makes it the user's
 * picture. Returns the new picture id (hex SHA-256). Oversized dimensions: BAD_PICTURE. */
char *kmg_accounts_set_picture (KmgAccounts *accounts, gint64 user_id, GBytes *data, gint64 now,
                                GError **error);

/* The stored bytes of picture @picture_id and its content type (static string). */
GBytes *kmg_accounts_get_picture (KmgAccounts *accounts, const char *picture_id,
                                  const char **content_type, GError **error);

/* --- Administration (kamegorctl and the admin API) ----------------------------------------- */

/* Creates a user synchronously (hashes on the calling thread: for command-line tools).
 * Admins may take reserved names such as "admin". Returns the new id, 0 on error. */
gint64 kmg_accounts_create_user_sync (KmgAccounts *accounts, const char *username,
                                      const char *password, gboolean is_admin, gint64 now,
                                      GError **error);

/* Users whose username contains @search (NULL = all), newest first:
 * [{id, username, display_name, role, is_seller, banned, created_at}]. */
JsonArray *kmg_accounts_list_users (KmgAccounts *accounts, const char *search, gint64 offset,
                                    gint64 limit, GError **error);

/* Each records an admin_actions row; @admin_id is 0 when done from the command line. */
gboolean kmg_accounts_set_role (KmgAccounts *accounts, gint64 admin_id, gint64 user_id,
                                gboolean is_admin, const char *reason, gint64 now, GError **error);
/* Banning also revokes every token of the user; a banned seller disappears from public views. */
gboolean kmg_accounts_set_banned (KmgAccounts *accounts, gint64 admin_id, gint64 user_id,
                                  gboolean banned, const char *reason, gint64 now, GError **error);

/* --- Events ------------------------------------------------------------------------------- */

/* A user's public data changed (profile, picture, seller flag, unban), or the user was banned
 * (after the ban is committed). Listeners run on the main context in the order they connected and
 * stay until the accounts are freed. */
typedef void (*KmgAccountsUserFunc) (gint64 user_id, gpointer user_data);
gulong kmg_accounts_connect_user_changed (KmgAccounts *accounts, KmgAccountsUserFunc func,
                                          gpointer user_data);
gulong kmg_accounts_connect_user_banned (KmgAccounts *accounts, KmgAccountsUserFunc func,
                                         gpointer user_data);
/* Tokens of @user_id stopped working before their expiry (logout, revocation), after the change
 * is stored: @token_id is the one revoked, or 0 when every token of the user was. A ban revokes
 * tokens too but is told as user_banned only. Expiry is not an event: holders know expires_at. */
typedef void (*KmgAccountsTokenFunc) (gint64 user_id, gint64 token_id, gpointer user_data);
gulong kmg_accounts_connect_token_revoked (KmgAccounts *accounts, KmgAccountsTokenFunc func,
                                           gpointer user_data);
/* For changes to a user made outside accounts (the admin store's seller flag). */
void kmg_accounts_user_changed (KmgAccounts *accounts, gint64 user_id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgAccounts, kmg_accounts_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgAccountsLogin, kmg_accounts_login_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgUser, kmg_user_free)

G_END_DECLS
