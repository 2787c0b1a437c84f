/* kmg-server.h — a whole kamegord instance: store, modules, listeners, routes.
 * main() and the API tests both start one; port 0 picks a free port. */
#pragma once

#include "kmg-app.h"

G_BEGIN_DECLS

typedef struct _KmgServer KmgServer;

/* Takes ownership of @config. Opens (and migrates) the database, binds the listeners. */
KmgServer *kmg_server_new (KmgConfig *config, GError **error);
/* Stops accepting, closes connections, finishes database work. Accepts NULL. */
void kmg_server_free (KmgServer *server);

KmgApp *kmg_server_get_app (KmgServer *server);
guint16 kmg_server_get_port (KmgServer *server);
guint16 kmg_server_get_admin_port (KmgServer *server);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgServer, kmg_server_free)

G_END_DECLS
