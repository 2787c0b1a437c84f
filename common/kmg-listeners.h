/* kmg-listeners.h — the listeners of one event of a module: a second listener is one connect call,
 * as with a GObject signal. A thin typed face on GHookList; main context only. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef struct
{
  GHookList hooks;
} KmgListeners;

void kmg_listeners_init (KmgListeners *listeners);
/* Disconnects every listener. Accepts a list that was never initialised (zeroed). */
void kmg_listeners_clear (KmgListeners *listeners);

/* Returns an id > 0 for kmg_listeners_disconnect(). @func is cast back by the emitter's marshaller. */
gulong kmg_listeners_connect (KmgListeners *listeners, GCallback func, gpointer user_data);
void kmg_listeners_disconnect (KmgListeners *listeners, gulong id);
guint kmg_listeners_count (KmgListeners *listeners);

/* Calls @marshal (hook, @event) for each listener in the order they connected. A listener may
 * disconnect itself or others while the event is emitted. */
void kmg_listeners_emit (KmgListeners *listeners, GHookMarshaller marshal, gpointer event);

G_END_DECLS
