/* kmg-sig-mailbox.c — a queue between two threads whose consumer is a GSource on the consumer's context.
 * Posting from any thread; a burst of posts costs one wakeup, the consumer drains everything at once. */

#include "kmg-sig-mailbox.h"

struct _KmgSigMailbox
{
  GSource source;
  GAsyncQueue *queue;
  gint armed; /* atomic: a wakeup is pending, later posts need not signal again */
  KmgSigMailFn fn;
  gpointer user_data;
};

static gboolean
mailbox_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  KmgSigMailbox *mb = (KmgSigMailbox *) source;
  gpointer item;

  /* Disarm before draining: a post that lands after this re-arms the source itself. The order
   * (ready time first, then the flag) keeps a concurrent re-arm from being undone. */
  g_source_set_ready_time (source, -1);
  g_atomic_int_set (&mb->armed, 0);
  while ((item = g_async_queue_try_pop (mb->queue)) != NULL)
    mb->fn (item, mb->user_data);
  return G_SOURCE_CONTINUE;
}

static void
mailbox_finalize (GSource *source)
{
  KmgSigMailbox *mb = (KmgSigMailbox *) source;

  g_async_queue_unref (mb->queue);
}

static GSourceFuncs mailbox_funcs = {
  .dispatch = mailbox_dispatch,
  .finalize = mailbox_finalize,
};

KmgSigMailbox *
kmg_sig_mailbox_new (GMainContext *context, KmgSigMailFn fn, gpointer user_data, GDestroyNotify item_free)
{
  KmgSigMailbox *mb = (KmgSigMailbox *) g_source_new (&mailbox_funcs, sizeof (KmgSigMailbox));

  mb->queue = g_async_queue_new_full (item_free);
  mb->fn = fn;
  mb->user_data = user_data;
  g_source_set_static_name (&mb->source, "kamegor signaling mailbox");
  g_source_set_priority (&mb->source, G_PRIORITY_DEFAULT);
  g_source_attach (&mb->source, context);
  return mb;
}

void
kmg_sig_mailbox_post (KmgSigMailbox *mb, gpointer item)
{
  g_async_queue_push (mb->queue, item);
  if (g_atomic_int_compare_and_exchange (&mb->armed, 0, 1))
    g_source_set_ready_time (&mb->source, 0);
}

void
kmg_sig_mailbox_free (KmgSigMailbox *mb)
{
  if (mb == NULL)
    return;
  g_source_destroy (&mb->source);
  g_source_unref (&mb->source); /* pending items are freed with the queue */
}
