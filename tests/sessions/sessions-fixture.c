/* sessions-fixture.c — recording effects and a fake clock for the session manager tests.
 * The effects only record; nothing here decides anything the manager should decide. */

#include "sessions-fixture.h"

#include <gio/gio.h>
#include <string.h>

static void
sent_free (gpointer p)
{
  Sent *s = p;

  g_free (s->type);
  g_free (s->json);
  json_object_unref (s->msg);
  g_free (s);
}

static void
record (SessionFx *fx, char *call)
{
  g_ptr_array_add (fx->calls, call);
}

static void
fx_send (gint64 user_id, guint64 conn_hint, JsonObject *msg, gpointer user_data)
{
  SessionFx *fx = user_data;
  Sent *s = g_new0 (Sent, 1);
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  json_node_set_object (node, msg);
  s->user = user_id;
  s->conn = conn_hint;
  s->type = g_strdup (json_object_get_string_member (msg, "type"));
  s->json = json_to_string (node, FALSE);
  s->msg = json_object_ref (msg);
  g_ptr_array_add (fx->sent, s);
  if (fx->on_send != NULL)
    fx->on_send (fx, user_id, msg);
}

static gboolean
fx_balance_ok (gint64 buyer_id, gint64 price, gpointer user_data)
{
  return ((SessionFx *) user_data)->balance_ok;
}

static gboolean
fx_billing_started (KmgSession *session, gint64 *out_id, gpointer user_data, GError **error)
{
  SessionFx *fx = user_data;

  *out_id = fx->next_billing_id++;
  record (fx, g_strdup_printf ("billing_start:%" G_GINT64_FORMAT, *out_id));
  return TRUE;
}

static void
fx_billing_ended (KmgSession *s, KmgSessionEndReason reason, gpointer user_data)
{
  record (user_data, g_strdup_printf ("billing_end:%" G_GINT64_FORMAT ":%s", kmg_session_get_id (s),
                                      kmg_session_end_reason_to_string (reason)));
}

static guint
fx_p2p_stats (KmgSession *s, const KmgSessionStats *report, gpointer user_data)
{
  SessionFx *fx = user_data;

  record (fx, g_strdup_printf ("stats:%" G_GINT64_FORMAT ":%" G_GUINT64_FORMAT,
                               kmg_session_get_id (s), report->frames_decoded));
  return fx->attested;
}

static gboolean
fx_relay_start (KmgSession *s, gboolean *offer_needed, JsonObject *buyer_msg, JsonObject *seller_msg,
                gpointer user_data, GError **error)
{
  SessionFx *fx = user_data;

  if (fx->relay_fails)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "relay full");
      return FALSE;
    }
  *offer_needed = fx->offer_needed;
  json_object_set_string_member (buyer_msg, "relay_hint", "relay.example");
  record (fx, g_strdup_printf ("relay_start:%" G_GINT64_FORMAT, kmg_session_get_id (s)));
  return TRUE;
}

static void
fx_relay_stop (KmgSession *s, gpointer user_data)
{
  record (user_data, g_strdup_printf ("relay_stop:%" G_GINT64_FORMAT, kmg_session_get_id (s)));
}

static void
fx_relay_signal (KmgSession *s, KmgSessionRole role, const KmgSessionSignal *sig, gpointer user_data)
{
  record (user_data, g_strdup_printf ("relay_signal:%" G_GINT64_FORMAT ":%s:%s", kmg_session_get_id (s),
                                      kmg_session_role_to_string (role),
                                      kmg_session_signal_kind_to_string (sig->kind)));
}

static void
fx_restart (KmgSession *s, gpointer user_data)
{
  record (user_data, g_strdup_printf ("restart:%" G_GINT64_FORMAT, kmg_session_get_id (s)));
}

static void
fx_state_changed (KmgSession *s, KmgSessionState old_state, gpointer user_data)
{
  record (user_data, g_strdup_printf ("state:%" G_GINT64_FORMAT ":%s>%s", kmg_session_get_id (s),
                                      kmg_session_state_to_string (old_state),
                                      kmg_session_state_to_string (kmg_session_get_state (s))));
}

static guint
fx_user_connections (gint64 user_id, gpointer user_data)
{
  SessionFx *fx = user_data;

  return GPOINTER_TO_UINT (g_hash_table_lookup (fx->connections, &user_id));
}

static void
fx_schedule (gint64 next_deadline_ms, gpointer user_data)
{
  SessionFx *fx = user_data;

  fx->scheduled = next_deadline_ms;
  fx->n_scheduled++;
  if (fx->schedule_reenters)
    g_assert_cmpint (kmg_session_manager_tick (fx->mgr, fx->now), ==, -1);
}

static const KmgSessionEffects effects = {
  .send = fx_send,
  .balance_ok = fx_balance_ok,
  .billing_session_started = fx_billing_started,
  .billing_session_ended = fx_billing_ended,
  .p2p_stats = fx_p2p_stats,
  .relay_start_buyer = fx_relay_start,
  .relay_stop_buyer = fx_relay_stop,
  .relay_signal = fx_relay_signal,
  .relay_restart_ice = fx_restart,
  .state_changed = fx_state_changed,
  .user_connections = fx_user_connections,
  .schedule = fx_schedule,
};

void
session_fx_restart (SessionFx *fx)
{
  g_autoptr (GError) error = NULL;

  kmg_session_manager_free (fx->mgr);
  fx->mgr = kmg_session_manager_new (&fx->config, &effects, fx, &error);
  g_assert_no_error (error);
  fx->scheduled = -1;
  fx->n_scheduled = 0;
}

void
session_fx_init (SessionFx *fx, KmgSessionPolicy policy)
{
  memset (fx, 0, sizeof *fx);
  kmg_session_config_init (&fx->config);
  fx->config.policy = policy;
  fx->now = 1000000;
  fx->sent = g_ptr_array_new_with_free_func (sent_free);
  fx->calls = g_ptr_array_new_with_free_func (g_free);
  fx->balance_ok = TRUE;
  fx->attested = 2;
  fx->next_billing_id = 101;
  fx->connections = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  session_fx_restart (fx);
}

void
session_fx_clear (SessionFx *fx)
{
  g_clear_pointer (&fx->mgr, kmg_session_manager_free);
  g_clear_pointer (&fx->sent, g_ptr_array_unref);
  g_clear_pointer (&fx->calls, g_ptr_array_unref);
  g_clear_pointer (&fx->connections, g_hash_table_unref);
}

KmgWatchRequest
session_fx_request (void)
{
  return (KmgWatchRequest){ .streaming = TRUE, .is_seller = TRUE, .price_per_minute = 10 };
}

gint64
session_fx_start (SessionFx *fx, gint64 buyer, gint64 seller, const KmgWatchRequest *req)
{
  g_autoptr (GError) error = NULL;
  KmgWatchRequest def = session_fx_request ();
  gint64 id = kmg_session_manager_watch_start (fx->mgr, buyer, buyer * 10, seller, req ? req : &def, fx->now,
                                               &error);

  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

gint64
session_fx_start_accepted (SessionFx *fx, gint64 buyer, gint64 seller, const KmgWatchRequest *req)
{
  g_autoptr (GError) error = NULL;
  gint64 id = session_fx_start (fx, buyer, seller, req);

  g_assert_true (kmg_session_manager_accept (fx->mgr, id, seller, seller * 10, fx->now, &error));
  g_assert_no_error (error);
  return id;
}

void
session_fx_advance (SessionFx *fx, gint64 ms)
{
  fx->now += ms;
  kmg_session_manager_tick (fx->mgr, fx->now);
}

void
session_fx_set_connections (SessionFx *fx, gint64 user, guint n)
{
  g_hash_table_insert (fx->connections, g_memdup2 (&user, sizeof user), GUINT_TO_POINTER (n));
}

guint
session_fx_count (SessionFx *fx, gint64 user, const char *type)
{
  guint n = 0;

  for (guint i = 0; i < fx->sent->len; i++)
    {
      Sent *s = fx->sent->pdata[i];
      n += s->user == user && g_str_equal (s->type, type);
    }
  return n;
}

JsonObject *
session_fx_last (SessionFx *fx, gint64 user, const char *type)
{
  for (guint i = fx->sent->len; i > 0; i--)
    {
      Sent *s = fx->sent->pdata[i - 1];
      if (s->user == user && g_str_equal (s->type, type))
        return s->msg;
    }
  return NULL;
}

guint
session_fx_count_calls (SessionFx *fx, const char *prefix)
{
  guint n = 0;

  for (guint i = 0; i < fx->calls->len; i++)
    n += g_str_has_prefix (fx->calls->pdata[i], prefix);
  return n;
}

gboolean
session_fx_has_call (SessionFx *fx, const char *call)
{
  for (guint i = 0; i < fx->calls->len; i++)
    if (g_str_equal (fx->calls->pdata[i], call))
      return TRUE;
  return FALSE;
}

gboolean
session_fx_user_saw (SessionFx *fx, gint64 user, const char *needle)
{
  for (guint i = 0; i < fx->sent->len; i++)
    {
      Sent *s = fx->sent->pdata[i];
      if (s->user == user && strstr (s->json, needle) != NULL)
        return TRUE;
    }
  return FALSE;
}

char *
session_fx_sdp (const char *ip)
{
  return g_strdup_printf ("v=0\r\no=- 1 2 IN IP4 %s\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
                          "c=IN IP4 %s\r\na=candidate:1 1 udp 2122260223 %s 50000 typ host\r\n", ip, ip, ip);
}

char *
session_fx_candidate (const char *ip)
{
  return g_strdup_printf ("candidate:7 1 udp 1686052607 %s 61000 typ srflx raddr 0.0.0.0 rport 0", ip);
}
