/* kmg-listeners.c — listener lists on GHookList (see kmg-listeners.h). */

#include "kmg-listeners.h"

void
kmg_listeners_init (KmgListeners *listeners)
{
  g_hook_list_init (&listeners->hooks, sizeof (GHook));
}

void
kmg_listeners_clear (KmgListeners *listeners)
{
  if (listeners->hooks.is_setup)
    g_hook_list_clear (&listeners->hooks);
}

gulong
kmg_listeners_connect (KmgListeners *listeners, GCallback func, gpointer user_data)
{
  GHook *hook;

  g_return_val_if_fail (listeners->hooks.is_setup && func != NULL, 0);
  hook = g_hook_alloc (&listeners->hooks);
  hook->func = (gpointer) func;
  hook->data = user_data;
  g_hook_append (&listeners->hooks, hook);
  return hook->hook_id;
}

void
kmg_listeners_disconnect (KmgListeners *listeners, gulong id)
{
  if (listeners->hooks.is_setup && id > 0)
    g_hook_destroy (&listeners->hooks, id);
}

guint
kmg_listeners_count (KmgListeners *listeners)
{
  guint n = 0;

  if (!listeners->hooks.is_setup)
    return 0;
  for (GHook *h = g_hook_first_valid (&listeners->hooks, FALSE); h != NULL;
       h = g_hook_next_valid (&listeners->hooks, h, FALSE))
    n++;
  return n;
}

void
kmg_listeners_emit (KmgListeners *listeners, GHookMarshaller marshal, gpointer event)
{
  if (listeners->hooks.is_setup)
    g_hook_list_marshal (&listeners->hooks, FALSE, marshal, event);
}
