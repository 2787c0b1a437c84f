/* kmg-sig-worker.c — the socket side of the hub: WebSocket I/O, size and rate limits, pings, liveness
 * and envelope parsing for the connections a worker owns, on the main context or on its own thread. */

/* Threads: a threaded worker's connections, its conns table and every libsoup object in it are only
 * touched on the worker's thread (its context is that thread's default, so libsoup attaches its
 * sources there). The main context reaches them through the inbox; the worker reports through the
 * outbox, drained on the main context. The hub's state is never touched from a worker thread. */

#include "kmg-sig-worker.h"

#include "kmg-sig-mailbox.h"

#include <string.h>

#define SHUTDOWN_WAIT_US (500 * 1000)
/* Commands travel in batches: one mailbox post (and at most one wakeup) per batch. */
#define BATCH_MAX 512

typedef struct
{
  KmgSigWorker *w;
  guint64 id;
  SoupWebsocketConnection *ws;
  gint64 last_rx_ms;
  KmgTokenBucket bucket;
  guint strikes;
  gboolean gone; /* closed or being closed: handle nothing more from it */
} WConn;

typedef enum
{
  CMD_ADOPT,
  CMD_SEND,
  CMD_CLOSE,
  CMD_QUIT,
} CmdKind;

typedef struct
{
  CmdKind kind;
  guint64 id;
  char *text;   /* SEND: the frame (GRefString, shared by a fan-out) */
  char *reason; /* CLOSE */
  gushort code;
  GIOStream *stream;
  GUri *uri;
  char *origin, *protocol;
  GList *extensions;
} Cmd;

typedef enum
{
  EV_MESSAGE,
  EV_LOST,
  EV_CLOSED,
} EvKind;

typedef struct
{
  EvKind kind;
  guint64 id;
  JsonObject *msg;
  const char *type;
  JsonNode *ref;
  GError *error;
} Ev;

struct _KmgSigWorker
{
  KmgSigWorkerConfig cfg; /* immutable: read on both sides */
  KmgSigWorkerEvents events; /* called on the main context */
  gpointer events_data;
  guint index;
  gboolean threaded;
  GMainContext *ctx;
  GMainLoop *loop;
  GThread *thread;
  GHashTable *conns;      /* worker side: guint64* id -> WConn* */
  KmgSigMailbox *inbox;   /* main -> worker, drained on ctx */
  KmgSigMailbox *outbox;  /* worker -> main, drained on the main context */
  GSource *liveness;
  GPtrArray *batch;       /* main side: Cmd* not posted yet */
  GSource *batch_flush;   /* main side: posts the batch at the next main-loop iteration */
  gint load;              /* atomic: connections owned */
  gboolean quitting;
};

static void
cmd_free (Cmd *cmd)
{
  g_clear_pointer (&cmd->text, g_ref_string_release);
  g_free (cmd->reason);
  g_clear_object (&cmd->stream);
  g_clear_pointer (&cmd->uri, g_uri_unref);
  g_free (cmd->origin);
  g_free (cmd->protocol);
  g_list_free_full (cmd->extensions, g_object_unref);
  g_free (cmd);
}

static void
ev_free (Ev *ev)
{
  g_clear_pointer (&ev->msg, json_object_unref);
  g_clear_error (&ev->error);
  g_free (ev);
}

/* ---- worker -> main context ---- */

static void
on_event (gpointer item, gpointer user_data)
{
  KmgSigWorker *w = user_data;
  Ev *ev = item;

  switch (ev->kind)
    {
    case EV_MESSAGE:
      w->events.message (ev->id, g_steal_pointer (&ev->msg), ev->type, ev->ref, ev->error, w->events_data);
      break;
    case EV_LOST:
      w->events.lost (ev->id, w->events_data);
      break;
    case EV_CLOSED:
      w->events.closed (ev->id, w->events_data);
      break;
    }
  ev_free (ev);
}

static void
emit (KmgSigWorker *w, Ev *ev)
{
  if (w->threaded)
    kmg_sig_mailbox_post (w->outbox, ev);
  else
    on_event (ev, w); /* same thread, same order as libsoup emitted it */
}

static void
emit_simple (KmgSigWorker *w, EvKind kind, guint64 id)
{
  Ev *ev = g_new0 (Ev, 1);

  ev->kind = kind;
  ev->id = id;
  emit (w, ev);
}

/* ---- connections (worker thread) ---- */

static gint64
now_ms (void)
{
  return g_get_monotonic_time () / 1000;
}

static void
wconn_close (WConn *c, gushort code, const char *reason)
{
  if (c->gone)
    return;
  c->gone = TRUE;
  if (soup_websocket_connection_get_state (c->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (c->ws, code, reason);
}

static void
wconn_send_error (WConn *c, const char *code, const char *message)
{
  g_autofree char *text = kmg_ws_envelope_error (NULL, code, message, NULL);

  if (soup_websocket_connection_get_state (c->ws) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  soup_websocket_connection_send_text (c->ws, text);
  if (c->w->cfg.metrics != NULL)
    kmg_metrics_add (c->w->cfg.metrics, "kamegor_ws_messages_out_total", "type=\"error\"", 1);
}

/* Token bucket per connection; persistent abuse (strikes net of accepted messages) closes it. */
static gboolean
rate_ok (WConn *c, gint64 now)
{
  if (kmg_token_bucket_take (&c->bucket, now))
    {
      if (c->strikes > 0)
        c->strikes--;
      return TRUE;
    }
  if (++c->strikes >= MAX (1u, c->w->cfg.max_strikes))
    {
      wconn_send_error (c, "rate_limited", "too many messages, closing");
      wconn_close (c, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, "rate limit");
    }
  else
    wconn_send_error (c, "rate_limited", "too many messages");
  return FALSE;
}

static void frame_handle (WConn *c, gint data_type, GBytes *message);

/* Whatever became of it, the frame may hold a precise fix or a token: clear it before libsoup
 * frees it. Its buffer is the heap copy libsoup assembled for this signal, which nothing else
 * holds or reads after us; libsoup's own read buffer cannot be reached. */
static void
on_message (SoupWebsocketConnection *ws, gint data_type, GBytes *message, gpointer user_data)
{
  gsize len;
  char *data = (char *) g_bytes_get_data (message, &len);

  frame_handle (user_data, data_type, message);
  if (data != NULL)
    memset (data, 0, len);
}

static void
frame_handle (WConn *c, gint data_type, GBytes *message)
{
  gint64 now = now_ms ();
  gsize len;
  const char *data = g_bytes_get_data (message, &len);
  Ev *ev;

  c->last_rx_ms = now;
  if (c->gone)
    return;
  if (len > c->w->cfg.max_message_bytes)
    {
      wconn_close (c, SOUP_WEBSOCKET_CLOSE_TOO_BIG, "message too big");
      return;
    }
  if (!rate_ok (c, now))
    return;
  if (data_type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      wconn_send_error (c, "bad_request", "binary frames are not accepted");
      return;
    }
  /* Parsing here keeps JSON work off the main context; the hub gets the object. */
  ev = g_new0 (Ev, 1);
  ev->kind = EV_MESSAGE;
  ev->id = c->id;
  kmg_ws_envelope_parse (data, len, &ev->msg, &ev->type, &ev->ref, &ev->error);
  emit (c->w, ev);
}

static void
on_pong (SoupWebsocketConnection *ws, GBytes *message, gpointer user_data)
{
  ((WConn *) user_data)->last_rx_ms = now_ms ();
}

static gboolean
unref_later (gpointer ws)
{
  g_object_unref (ws);
  return G_SOURCE_REMOVE;
}

static void
wconn_free (WConn *c)
{
  g_signal_handlers_disconnect_by_data (c->ws, c);
  /* May run inside the connection's own "closed" emission: drop our reference afterwards. */
  if (c->w->quitting)
    g_object_unref (c->ws);
  else
    {
      GSource *idle = g_idle_source_new ();
      g_source_set_callback (idle, unref_later, c->ws, NULL);
      g_source_attach (idle, c->w->ctx);
      g_source_unref (idle);
    }
  g_atomic_int_add (&c->w->load, -1);
  g_free (c);
}

static void
on_closed (SoupWebsocketConnection *ws, gpointer user_data)
{
  WConn *c = user_data;
  KmgSigWorker *w = c->w;
  guint64 id = c->id;

  c->gone = TRUE;
  g_hash_table_remove (w->conns, &id);
  emit_simple (w, EV_CLOSED, id);
}

static void
do_adopt (KmgSigWorker *w, Cmd *cmd)
{
  WConn *c = g_new0 (WConn, 1);
  const KmgSigWorkerConfig *cfg = &w->cfg;

  c->w = w;
  c->id = cmd->id;
  c->last_rx_ms = now_ms ();
  kmg_token_bucket_init (&c->bucket, cfg->messages_per_s, cfg->burst, c->last_rx_ms);
  c->ws = soup_websocket_connection_new (cmd->stream, cmd->uri, SOUP_WEBSOCKET_CONNECTION_SERVER, cmd->origin,
                                         cmd->protocol, g_steal_pointer (&cmd->extensions));
  g_hash_table_insert (w->conns, &c->id, c);

  /* libsoup drops the socket on frames over its limit without a clean close frame; keep its limit as
   * a hard backstop and close cleanly with 1009 ourselves for anything between. */
  soup_websocket_connection_set_max_incoming_payload_size (c->ws, 4 * cfg->max_message_bytes);
  if (cfg->ping_ms > 0)
    soup_websocket_connection_set_keepalive_interval (c->ws, MAX (1u, cfg->ping_ms / 1000));
  g_signal_connect (c->ws, "message", G_CALLBACK (on_message), c);
  g_signal_connect (c->ws, "pong", G_CALLBACK (on_pong), c);
  g_signal_connect (c->ws, "closed", G_CALLBACK (on_closed), c);
}

static gboolean
do_send (KmgSigWorker *w, guint64 id, const char *text)
{
  WConn *c = g_hash_table_lookup (w->conns, &id);

  if (c == NULL || c->gone || soup_websocket_connection_get_state (c->ws) != SOUP_WEBSOCKET_STATE_OPEN)
    return FALSE;
  soup_websocket_connection_send_text (c->ws, text);
  return TRUE;
}

static void
do_close (KmgSigWorker *w, guint64 id, gushort code, const char *reason)
{
  WConn *c = g_hash_table_lookup (w->conns, &id);

  if (c != NULL)
    wconn_close (c, code, reason);
}

/* A peer that sent nothing (not even a pong) for two ping intervals is gone: treat it as a loss. */
static gboolean
on_liveness_check (gpointer user_data)
{
  KmgSigWorker *w = user_data;
  gint64 now = now_ms ();
  /* libsoup pings in whole seconds. */
  gint64 limit = 2 * 1000 * (gint64) MAX (1u, w->cfg.ping_ms / 1000);
  GHashTableIter iter;
  WConn *c;
  g_autoptr (GPtrArray) dead = g_ptr_array_new ();

  g_hash_table_iter_init (&iter, w->conns);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &c))
    if (!c->gone && now - c->last_rx_ms > limit)
      g_ptr_array_add (dead, c);
  for (guint i = 0; i < dead->len; i++)
    {
      c = g_ptr_array_index (dead, i);
      emit_simple (w, EV_LOST, c->id);
      wconn_close (c, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "ping timeout");
    }
  return G_SOURCE_CONTINUE;
}

/* Closes everything without reporting it (the hub is going away). */
static void
close_all (KmgSigWorker *w)
{
  GHashTableIter iter;
  WConn *c;

  w->quitting = TRUE;
  g_hash_table_iter_init (&iter, w->conns);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &c))
    {
      g_signal_handlers_disconnect_by_data (c->ws, c);
      wconn_close (c, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "server shutting down");
    }
}

static void
run_command (KmgSigWorker *w, Cmd *cmd)
{

  switch (cmd->kind)
    {
    case CMD_ADOPT:
      do_adopt (w, cmd);
      break;
    case CMD_SEND:
      do_send (w, cmd->id, cmd->text);
      break;
    case CMD_CLOSE:
      do_close (w, cmd->id, cmd->code, cmd->reason);
      break;
    case CMD_QUIT:
      close_all (w);
      g_main_loop_quit (w->loop);
      break;
    }
}

static void
on_batch (gpointer item, gpointer user_data)
{
  GPtrArray *batch = item;

  for (guint i = 0; i < batch->len; i++)
    run_command (user_data, g_ptr_array_index (batch, i));
  g_ptr_array_unref (batch);
}

/* ---- main side of the inbox ---- */

static void
batch_post (KmgSigWorker *w)
{
  if (w->batch_flush != NULL)
    {
      g_source_destroy (w->batch_flush);
      g_clear_pointer (&w->batch_flush, g_source_unref);
    }
  if (w->batch == NULL)
    return;
  kmg_sig_mailbox_post (w->inbox, g_steal_pointer (&w->batch));
}

static gboolean
on_batch_flush (gpointer user_data)
{
  KmgSigWorker *w = user_data;

  g_clear_pointer (&w->batch_flush, g_source_unref);
  batch_post (w);
  return G_SOURCE_REMOVE;
}

/* Inline workers run the command now; threaded ones queue it, in order, for the worker. */
static void
submit (KmgSigWorker *w, Cmd *cmd)
{
  if (!w->threaded)
    {
      run_command (w, cmd);
      cmd_free (cmd);
      return;
    }
  if (w->batch == NULL)
    w->batch = g_ptr_array_new_with_free_func ((GDestroyNotify) cmd_free);
  g_ptr_array_add (w->batch, cmd);
  if (w->batch->len >= BATCH_MAX || cmd->kind == CMD_QUIT)
    batch_post (w);
  else if (w->batch_flush == NULL)
    {
      /* Before the main loop polls again: what one dispatch queued leaves as one batch. */
      w->batch_flush = g_idle_source_new ();
      g_source_set_priority (w->batch_flush, G_PRIORITY_HIGH);
      g_source_set_callback (w->batch_flush, on_batch_flush, w, NULL);
      g_source_attach (w->batch_flush, g_main_context_get_thread_default ());
    }
}

static gpointer
worker_thread (gpointer data)
{
  KmgSigWorker *w = data;
  gint64 deadline;

  g_main_context_push_thread_default (w->ctx);
  g_main_loop_run (w->loop);
  /* Let the close frames go out before the sockets are dropped. */
  deadline = g_get_monotonic_time () + SHUTDOWN_WAIT_US;
  while (g_get_monotonic_time () < deadline && g_main_context_iteration (w->ctx, FALSE))
    ;
  g_hash_table_remove_all (w->conns);
  g_main_context_pop_thread_default (w->ctx);
  return NULL;
}

/* ---- public (main context) ---- */

KmgSigWorker *
kmg_sig_worker_new (const KmgSigWorkerConfig *config, guint index, gboolean threaded,
                    const KmgSigWorkerEvents *events, gpointer user_data)
{
  KmgSigWorker *w;

  g_return_val_if_fail (config != NULL && events != NULL, NULL);
  g_return_val_if_fail (events->message != NULL && events->lost != NULL && events->closed != NULL, NULL);

  w = g_new0 (KmgSigWorker, 1);
  w->cfg = *config;
  w->events = *events;
  w->events_data = user_data;
  w->index = index;
  w->threaded = threaded;
  w->conns = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, (GDestroyNotify) wconn_free);
  w->ctx = threaded ? g_main_context_new () : g_main_context_ref_thread_default ();
  if (w->cfg.ping_ms > 0)
    {
      w->liveness = g_timeout_source_new (MAX (500u, w->cfg.ping_ms / 2));
      g_source_set_callback (w->liveness, on_liveness_check, w, NULL);
      g_source_attach (w->liveness, w->ctx);
    }
  if (threaded)
    {
      g_autofree char *name = g_strdup_printf ("kmg-ws-%u", index);
      w->loop = g_main_loop_new (w->ctx, FALSE);
      w->inbox = kmg_sig_mailbox_new (w->ctx, on_batch, w, (GDestroyNotify) g_ptr_array_unref);
      w->outbox = kmg_sig_mailbox_new (g_main_context_get_thread_default (), on_event, w, (GDestroyNotify) ev_free);
      w->thread = g_thread_new (name, worker_thread, w);
    }
  return w;
}

void
kmg_sig_worker_free (KmgSigWorker *w)
{
  if (w == NULL)
    return;
  if (w->threaded)
    {
      Cmd *cmd = g_new0 (Cmd, 1);
      cmd->kind = CMD_QUIT;
      submit (w, cmd);
      g_thread_join (w->thread);
      kmg_sig_mailbox_free (w->inbox);
      kmg_sig_mailbox_free (w->outbox);
      g_main_loop_unref (w->loop);
    }
  else
    close_all (w);
  if (w->liveness != NULL)
    {
      g_source_destroy (w->liveness);
      g_source_unref (w->liveness);
    }
  w->quitting = FALSE; /* inline: sockets still closing; drop them from an idle like on close */
  g_hash_table_unref (w->conns);
  g_main_context_unref (w->ctx);
  g_free (w);
}

void
kmg_sig_worker_adopt (KmgSigWorker *w, guint64 conn_id, GIOStream *stream, GUri *uri, const char *origin,
                      const char *protocol, GList *extensions)
{
  Cmd *cmd = g_new0 (Cmd, 1);

  cmd->kind = CMD_ADOPT;
  cmd->id = conn_id;
  cmd->stream = stream;
  cmd->uri = g_uri_ref (uri);
  cmd->origin = g_strdup (origin);
  cmd->protocol = g_strdup (protocol);
  cmd->extensions = extensions;
  g_atomic_int_inc (&w->load);
  submit (w, cmd);
}

gboolean
kmg_sig_worker_send (KmgSigWorker *w, guint64 conn_id, const char *text)
{
  char *shared;
  gboolean ok;

  if (!w->threaded)
    return do_send (w, conn_id, text);
  shared = g_ref_string_new (text);
  ok = kmg_sig_worker_send_shared (w, conn_id, shared);
  g_ref_string_release (shared);
  return ok;
}

gboolean
kmg_sig_worker_send_shared (KmgSigWorker *w, guint64 conn_id, char *text)
{
  Cmd *cmd;

  if (!w->threaded)
    return do_send (w, conn_id, text);
  cmd = g_new0 (Cmd, 1);
  cmd->kind = CMD_SEND;
  cmd->id = conn_id;
  cmd->text = g_ref_string_acquire (text);
  submit (w, cmd);
  return TRUE;
}

void
kmg_sig_worker_close (KmgSigWorker *w, guint64 conn_id, gushort code, const char *reason)
{
  Cmd *cmd = g_new0 (Cmd, 1);

  cmd->kind = CMD_CLOSE;
  cmd->id = conn_id;
  cmd->code = code;
  cmd->reason = g_strdup (reason);
  submit (w, cmd);
}

guint
kmg_sig_worker_load (KmgSigWorker *w)
{
  return (guint) g_atomic_int_get (&w->load);
}
