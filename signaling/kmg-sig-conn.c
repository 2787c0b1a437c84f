/* kmg-sig-conn.c — the hub's connections: the registry by id and by user, sending to one connection
 * through its worker, replies and errors, and the message metrics. */

#include "kmg-sig-conn.h"

#include <string.h>

G_DEFINE_QUARK (kmg-signaling-error-quark, kmg_signaling_error)

gint64
kmg_sig_now_ms (void)
{
  return g_get_monotonic_time () / 1000;
}

static void
conn_free (KmgSigConn *conn)
{
  g_clear_handle_id (&conn->auth_timer, g_source_remove);
  g_clear_pointer (&conn->watching, g_hash_table_unref);
  g_assert (conn->sub == NULL);
  g_free (conn->address);
  g_free (conn);
}

void
kmg_sig_conns_init (KmgSigConns *conns, KmgMetrics *metrics, GHashTable *handler_types)
{
  memset (conns, 0, sizeof *conns);
  conns->metrics = metrics;
  conns->handler_types = handler_types;
  conns->by_id = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, (GDestroyNotify) conn_free);
  conns->by_user = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                          (GDestroyNotify) g_ptr_array_unref);
}

void
kmg_sig_conns_clear (KmgSigConns *conns)
{
  g_clear_pointer (&conns->by_id, g_hash_table_unref);
  g_clear_pointer (&conns->by_user, g_hash_table_unref);
}

KmgSigConn *
kmg_sig_conns_add (KmgSigConns *conns, KmgSigWorker *worker, char *address)
{
  KmgSigConn *conn = g_new0 (KmgSigConn, 1);

  conn->conns = conns;
  conn->id = ++conns->next_id;
  conn->worker = worker;
  conn->address = address;
  conn->last_location_ms = -1;
  conn->watching = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_hash_table_insert (conns->by_id, &conn->id, conn);
  return conn;
}

KmgSigConn *
kmg_sig_conns_lookup (KmgSigConns *conns, guint64 id)
{
  return g_hash_table_lookup (conns->by_id, &id);
}

void
kmg_sig_conns_remove (KmgSigConns *conns, guint64 id)
{
  g_hash_table_remove (conns->by_id, &id);
}

void
kmg_sig_conns_bind_user (KmgSigConns *conns, KmgSigConn *conn)
{
  GPtrArray *list = g_hash_table_lookup (conns->by_user, &conn->user_id);

  if (list == NULL)
    {
      list = g_ptr_array_new ();
      g_hash_table_insert (conns->by_user, g_memdup2 (&conn->user_id, sizeof (gint64)), list);
    }
  g_ptr_array_add (list, conn);
}

void
kmg_sig_conns_unbind_user (KmgSigConns *conns, KmgSigConn *conn)
{
  GPtrArray *list = g_hash_table_lookup (conns->by_user, &conn->user_id);

  if (list == NULL)
    return;
  g_ptr_array_remove_fast (list, conn);
  if (list->len == 0)
    g_hash_table_remove (conns->by_user, &conn->user_id);
}

GPtrArray *
kmg_sig_conns_of_user (KmgSigConns *conns, gint64 user_id)
{
  return g_hash_table_lookup (conns->by_user, &user_id);
}

guint
kmg_sig_conns_n_of_user (KmgSigConns *conns, gint64 user_id)
{
  GPtrArray *list = kmg_sig_conns_of_user (conns, user_id);

  return list != NULL ? list->len : 0;
}

/* ---- metrics ---- */

static const char *
type_label (KmgSigConns *conns, const char *type)
{
  static const char *const own[] = { "auth", "hello", "app_state", "location", "go_live", "stop_live", "bye",
                                     "profile.watch", "profile.unwatch", "map.subscribe", "map.unsubscribe",
                                     "auth_ok", "ack", "error", "presence", "profile.status", "map.snapshot",
                                     "map.diff", NULL };

  if (type == NULL)
    return "unknown";
  if (g_strv_contains (own, type) || g_hash_table_contains (conns->handler_types, type))
    return type;
  return "other";
}

void
kmg_sig_conns_count (KmgSigConns *conns, const char *family, const char *type)
{
  g_autofree char *labels = NULL;

  if (conns->metrics == NULL)
    return;
  labels = g_strdup_printf ("type=\"%s\"", type_label (conns, type));
  kmg_metrics_add (conns->metrics, family, labels, 1);
}

const char *
kmg_sig_error_code (KmgSigConns *conns, const GError *error, const char *fallback)
{
  const char *code = conns->error_map != NULL ? conns->error_map (error) : NULL;

  return code != NULL ? code : fallback;
}

/* ---- sending ---- */

gboolean
kmg_sig_conn_send_borrowed (KmgSigConn *conn, const char *type, const char *text)
{
  if (conn->gone || !kmg_sig_worker_send (conn->worker, conn->id, text))
    return FALSE;
  kmg_sig_conns_count (conn->conns, "kamegor_ws_messages_out_total", type);
  return TRUE;
}

gboolean
kmg_sig_conn_send_text (KmgSigConn *conn, const char *type, char *text)
{
  g_autofree char *owned = text;

  return kmg_sig_conn_send_borrowed (conn, type, owned);
}

gboolean
kmg_sig_conn_send_shared (KmgSigConn *conn, char *text)
{
  return !conn->gone && kmg_sig_worker_send_shared (conn->worker, conn->id, text);
}

void
kmg_sig_reply (KmgSigConn *conn, JsonNode *ref, const char *type, JsonObject *body)
{
  kmg_sig_conn_send_text (conn, type, kmg_ws_envelope_build (type, ref, body));
}

void
kmg_sig_reply_error (KmgSigConn *conn, JsonNode *ref, const char *code, const char *message,
                     JsonObject *extra)
{
  kmg_sig_conn_send_text (conn, "error", kmg_ws_envelope_error (ref, code, message, extra));
}

void
kmg_sig_reply_gerror (KmgSigConn *conn, JsonNode *ref, const GError *error)
{
  kmg_sig_reply_error (conn, ref, kmg_sig_error_code (conn->conns, error, "internal"), error->message, NULL);
}

void
kmg_sig_ack (KmgSigConn *conn, JsonNode *ref)
{
  if (ref != NULL)
    kmg_sig_reply (conn, ref, "ack", NULL);
}

void
kmg_sig_conn_close (KmgSigConn *conn, gushort code, const char *reason)
{
  if (conn->gone)
    return;
  conn->gone = TRUE;
  kmg_sig_worker_close (conn->worker, conn->id, code, reason);
}
