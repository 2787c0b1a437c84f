/* kmg-routes-accounts.h — HTTP routes of accounts: register, login, logout, tokens, profile,
 * picture upload and serving, public seller profile. */
#pragma once

#include "kmg-app.h"

G_BEGIN_DECLS

/* Adds the routes under /api/v1 (and /media/pictures) and installs kmg_routes_accounts_auth as
 * @router's token resolver. @app->accounts must be set and outlive @router. */
void kmg_routes_accounts_register (KmgRouter *router, KmgApp *app);

/* KmgAuthFunc over kmg_accounts_authenticate; @user_data is the KmgApp. Use it for any other
 * router (e.g. the admin listener) that needs bearer tokens. */
gboolean kmg_routes_accounts_auth (const char *token, KmgAuthInfo *out, gpointer user_data);

G_END_DECLS
