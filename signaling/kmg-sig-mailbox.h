/* kmg-sig-mailbox.h — a cross-thread queue drained by a GSource on the consumer's context.
 * The bottom of the hub: it knows nothing of WebSockets. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _KmgSigMailbox KmgSigMailbox;
typedef void (*KmgSigMailFn) (gpointer item, gpointer user_data);

KmgSigMailbox *kmg_sig_mailbox_new (GMainContext *context, KmgSigMailFn fn, gpointer user_data,
                                    GDestroyNotify item_free);
void kmg_sig_mailbox_post (KmgSigMailbox *mb, gpointer item);
void kmg_sig_mailbox_free (KmgSigMailbox *mb);

G_END_DECLS
