/* kmg-session-glue.c — watch sessions end to end: WebSocket messages → session manager → relay legs and
 * billing. Relay callbacks arrive on the main context (the relay hops them there), so everything
 * here runs on the main context. */

#include "kmg-session-glue-private.h"

#include "kmg-accounts.h"
#include "kmg-billing.h"
#include "kmg-charging.h"
#include "kmg-json.h"
#include "kmg-ledger.h"
#include "kmg-presence.h"
#include "kmg-relay.h"
#include "kmg-session-manager.h"
#include "kmg-signaling.h"
#include "kmg-stun-server.h"

#include <string.h>


gint64
kmg_session_glue_now_ms (void)
{
  return g_get_real_time () / 1000;
}

/* ---- timers -------------------------------------------------------------------------------- */

static gboolean
on_tick (gpointer user_data)
{
  KmgSessionGlue *w = user_data;

  w->tick = 0;
  /* The manager re-arms the timer through fx_schedule before this returns. */
  kmg_session_manager_tick (w->mgr, kmg_session_glue_now_ms ());
  return G_SOURCE_REMOVE;
}

/* The manager's one timer. Waits are capped at a minute: a tick with nothing due re-arms it. */
static void
fx_schedule (gint64 next, gpointer user_data)
{
  KmgSessionGlue *w = user_data;

  if (w->tick != 0 && next == w->tick_at)
    return;
  g_clear_handle_id (&w->tick, g_source_remove);
  w->tick_at = next;
  if (next >= 0)
    w->tick = g_timeout_add ((guint) CLAMP (next - kmg_session_glue_now_ms (), 0, 60000), on_tick, w);
}

/* ---- effects (called by the manager) ------------------------------------------------------- */

static void
fx_send (gint64 user_id, guint64 conn_hint, JsonObject *msg, gpointer user_data)
{
  KmgSessionGlue *w = user_data;

  if (conn_hint == 0 || kmg_signaling_send_to_conn (w->app->signaling, conn_hint, msg) == 0)
    kmg_signaling_send_to_user (w->app->signaling, user_id, msg);
}

static gboolean
fx_balance_ok (gint64 buyer_id, gint64 price, gpointer user_data)
{
  KmgSessionGlue *w = user_data;
  gint64 balance = 0;

  return kmg_ledger_balance (kmg_billing_get_ledger (w->app->billing), buyer_id, &balance, NULL)
         && balance >= price;
}

static gboolean
fx_billing_started (KmgSession *s, gint64 *out_id, gpointer user_data, GError **error)
{
  KmgSessionGlue *w = user_data;
  gint64 id = kmg_billing_session_start (w->app->billing, kmg_session_get_buyer (s),
                                         kmg_session_get_seller (s), kmg_session_glue_now_ms (), error);
  if (id <= 0)
    return FALSE;
  *out_id = id;
  return TRUE;
}

static void
fx_billing_ended (KmgSession *s, KmgSessionEndReason reason, gpointer user_data)
{
  KmgSessionGlue *w = user_data;
  gint64 id = kmg_session_get_id (s);
  g_autoptr (GError) error = NULL;

  /* Billing closes the row itself when the buyer cannot pay, then tells us: nothing to close. */
  if (!kmg_billing_session_end (w->app->billing, id, kmg_session_end_reason_to_string (reason),
                                kmg_session_glue_now_ms (), &error)
      && !g_error_matches (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_SESSION_ENDED))
    g_warning ("closing the billing of a session failed: %s", error->message);
}

static guint
fx_p2p_stats (KmgSession *s, const KmgSessionStats *report, gpointer user_data)
{
  KmgSessionGlue *w = user_data;
  KmgBuyerStatsReport cur = { .at_ms = kmg_session_glue_now_ms (),
                              .frames_decoded = report->frames_decoded,
                              .bytes_received = report->bytes_received,
                              .loss = 0,
                              .jitter_ms = -1,
                              .rtt_ms = -1 };

  /* What billing counted is what the manager calls an attestation. */
  return kmg_billing_buyer_report (w->app->billing, kmg_session_get_id (s), &cur, cur.at_ms);
}

static gboolean
fx_relay_start_buyer (KmgSession *s, gboolean *seller_offer_needed, JsonObject *buyer_msg,
                      JsonObject *seller_msg, gpointer user_data, GError **error)
{
  KmgSessionGlue *w = user_data;

  if (kmg_relay_buyer_add (w->relay, kmg_session_get_seller (s), kmg_session_get_id (s),
                           seller_offer_needed, error) == NULL)
    return FALSE;
  kmg_metrics_add (w->app->metrics, "kamegor_relay_sessions_total", NULL, 1);
  return TRUE;
}

static void
fx_relay_stop_buyer (KmgSession *s, gpointer user_data)
{
  KmgSessionGlue *w = user_data;
  KmgRelayLeg *leg = kmg_relay_get_buyer_leg (w->relay, kmg_session_get_id (s));

  /* The relay drops the buyer's packets before this returns: enforcement is on the media path. */
  if (leg != NULL)
    kmg_relay_buyer_stop (leg);
}

static gboolean
relay_refused_idle (gpointer data)
{
  KmgSessionGlue *w = data;
  g_autoptr (GArray) ids = g_steal_pointer (&w->refused);

  w->refused_idle = 0;
  for (guint i = 0; ids && i < ids->len; i++)
    kmg_session_manager_relay_error (w->mgr, g_array_index (ids, gint64, i), kmg_session_glue_now_ms ());
  return G_SOURCE_REMOVE;
}

static void
fx_relay_signal (KmgSession *s, KmgSessionRole role, const KmgSessionSignal *sig,
                 gpointer user_data)
{
  KmgSessionGlue *w = user_data;
  gint64 id = kmg_session_get_id (s);
  g_autoptr (GError) error = NULL;
  KmgRelayLeg *leg;

  if (role == KMG_SESSION_ROLE_BUYER)
    leg = kmg_relay_get_buyer_leg (w->relay, id);
  else
    leg = kmg_relay_get_seller_leg (w->relay, kmg_session_get_seller (s));
  if (leg == NULL)
    return;
  if (sig->kind == KMG_SESSION_SIGNAL_ICE_CANDIDATE)
    kmg_relay_leg_add_remote_candidate (leg, sig->mline_index >= 0 ? (guint) sig->mline_index : 0,
                                        sig->candidate, &error);
  else
    kmg_relay_leg_set_remote_sdp (leg,
                                  sig->kind == KMG_SESSION_SIGNAL_SDP_OFFER ? "offer" : "answer",
                                  sig->sdp, &error);
  if (error == NULL)
    return;
  {
    g_autofree char *sid = g_strdup_printf ("%" G_GINT64_FORMAT, id);
    g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO, "KMG_SESSION", sid, "MESSAGE",
                      "session %s: relay refused signaling: %s", sid, error->message);
  }
  /* An SDP the relay cannot use means the session cannot work: end it now rather than at the
   * connect timeout. Effects must not re-enter the manager, so this runs from an idle. */
  if (sig->kind != KMG_SESSION_SIGNAL_ICE_CANDIDATE)
    {
      if (w->refused == NULL)
        w->refused = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_array_append_val (w->refused, id);
      if (w->refused_idle == 0)
        w->refused_idle = g_idle_add (relay_refused_idle, w);
    }
}

static void
fx_relay_restart_ice (KmgSession *s, gpointer user_data)
{
  KmgSessionGlue *w = user_data;
  KmgRelayLeg *leg = kmg_relay_get_buyer_leg (w->relay, kmg_session_get_id (s));

  if (leg != NULL)
    kmg_relay_leg_restart_ice (leg, NULL);
}

static void
fx_state_changed (KmgSession *s, KmgSessionState old_state, gpointer user_data)
{
  KmgSessionGlue *w = user_data;
  KmgSessionPath path = kmg_session_get_path (s);

  kmg_billing_session_set_active (w->app->billing, kmg_session_get_id (s),
                                  kmg_session_get_state (s) == KMG_SESSION_ACTIVE);
  if (path != KMG_SESSION_PATH_NONE && kmg_session_get_state (s) != KMG_SESSION_ENDED)
    kmg_billing_session_set_path (w->app->billing, kmg_session_get_id (s),
                                  kmg_session_path_to_string (path), NULL);
}

/* Presence counts a lost connection until its grace ends: the manager asks after that. */
static guint
fx_user_connections (gint64 user_id, gpointer user_data)
{
  KmgSessionGlue *w = user_data;

  return kmg_presence_get_n_connections (kmg_signaling_get_presence (w->app->signaling), user_id);
}

/* ---- relay callbacks ----------------------------------------------------------------------- */

static KmgSessionIceState
ice_of (KmgRelayLegState state)
{
  switch (state)
    {
    case KMG_RELAY_LEG_STATE_CONNECTED:
      return KMG_SESSION_ICE_CONNECTED;
    case KMG_RELAY_LEG_STATE_DISCONNECTED:
      return KMG_SESSION_ICE_DISCONNECTED;
    case KMG_RELAY_LEG_STATE_FAILED:
      return KMG_SESSION_ICE_FAILED;
    case KMG_RELAY_LEG_STATE_CLOSED:
      return KMG_SESSION_ICE_CLOSED;
    case KMG_RELAY_LEG_STATE_CONNECTING:
      return KMG_SESSION_ICE_CHECKING;
    default:
      return KMG_SESSION_ICE_NEW;
    }
}

static void
relay_signal_out (KmgSessionGlue *w, KmgRelayLeg *leg, KmgSessionSignal *sig)
{
  if (kmg_relay_leg_get_kind (leg) == KMG_RELAY_LEG_BUYER)
    kmg_session_manager_relay_to_buyer (w->mgr, kmg_relay_leg_get_session_id (leg), sig,
                                        kmg_session_glue_now_ms ());
  else
    kmg_session_manager_relay_to_seller (w->mgr, kmg_relay_leg_get_seller_id (leg), sig,
                                         kmg_session_glue_now_ms ());
}

static void
on_local_sdp (KmgRelayLeg *leg, const char *type, const char *sdp, gpointer user_data)
{
  KmgSessionSignal sig = { .kind = g_str_equal (type, "offer") ? KMG_SESSION_SIGNAL_SDP_OFFER
                                                               : KMG_SESSION_SIGNAL_SDP_ANSWER,
                           .sdp = sdp,
                           .mline_index = -1,
                           .path = KMG_SESSION_PATH_RELAY };
  relay_signal_out (user_data, leg, &sig);
}

static void
on_local_candidate (KmgRelayLeg *leg, guint mline, const char *mid, const char *candidate,
                    gpointer user_data)
{
  KmgSessionSignal sig = { .kind = KMG_SESSION_SIGNAL_ICE_CANDIDATE,
                           .candidate = candidate,
                           .sdp_mid = mid,
                           .mline_index = (gint) mline,
                           .path = KMG_SESSION_PATH_RELAY };
  relay_signal_out (user_data, leg, &sig);
}

static void
on_leg_state (KmgRelayLeg *leg, KmgRelayLegState state, gpointer user_data)
{
  KmgSessionGlue *w = user_data;
  gint64 t = kmg_session_glue_now_ms ();

  if (kmg_relay_leg_get_kind (leg) == KMG_RELAY_LEG_BUYER)
    {
      gint64 id = kmg_relay_leg_get_session_id (leg);
      if (state == KMG_RELAY_LEG_STATE_FAILED)
        kmg_session_manager_relay_leg_failed (w->mgr, id, t);
      else if (state != KMG_RELAY_LEG_STATE_CLOSED)
        kmg_session_manager_relay_leg_state (w->mgr, id, ice_of (state), t);
    }
  else if (state != KMG_RELAY_LEG_STATE_CLOSED)
    kmg_session_manager_relay_seller_leg_state (w->mgr, kmg_relay_leg_get_seller_id (leg),
                                                ice_of (state), t);
}

static void
on_measured_second (KmgRelayLeg *leg, const KmgRelaySecond *sec, gpointer user_data)
{
  KmgSessionGlue *w = user_data;
  gint64 id = kmg_relay_leg_get_session_id (leg);
  KmgRelaySecondSample sample = { .second = sec->second,
                                  .video_packets = sec->packets,
                                  .bytes = sec->bytes,
                                  .rr_age_ms = sec->rr_age_ms,
                                  .rr_fraction_lost = sec->fraction_lost,
                                  .jitter_ms = sec->jitter < 0 ? -1 : sec->jitter * 1000,
                                  .rtt_ms = sec->rtt < 0 ? -1 : sec->rtt * 1000 };
  KmgMeterVerdict verdict;

  /* The relay only measures; billing judges and counts. */
  if (id <= 0)
    return;
  verdict = kmg_billing_relay_second (w->app->billing, id, &sample, kmg_session_glue_now_ms ());
  if (verdict != KMG_METER_UNDELIVERED && verdict != KMG_METER_REJECTED)
    kmg_metrics_add (w->app->metrics, "kamegor_relay_delivered_seconds_total", NULL, 1);
}

/* ---- listeners and commands ------------------------------------------------------------- */

void
kmg_session_glue_on_connection_closed (guint64 conn_id, gint64 user_id, guint n_left, gpointer user_data)
{
  KmgSessionGlue *w = user_data;

  /* Every close counts (the buyer-gone grace restarts); the manager decides what it means. */
  if (user_id > 0)
    kmg_session_manager_user_connection_closed (w->mgr, user_id, kmg_session_glue_now_ms ());
}

void
kmg_session_glue_on_presence_changed (gint64 user_id, KmgPresenceState old_state,
                               KmgPresenceState new_state, KmgPresenceReason reason,
                               gpointer user_data)
{
  KmgSessionGlue *w = user_data;

  if (old_state != KMG_PRESENCE_STREAMING || new_state == KMG_PRESENCE_STREAMING)
    return;
  if (reason == KMG_PRESENCE_REASON_STOP_LIVE)
    kmg_session_manager_stop_live (w->mgr, user_id, kmg_session_glue_now_ms ());
  else
    kmg_session_manager_seller_gone (w->mgr, user_id, kmg_session_glue_now_ms ());
}

/* Billing ended a session it cannot charge: the buyer cannot pay (insufficient_credits), or its
 * row was closed outside this process ("not_active": an admin, a recovery), which the session
 * then ends with as admin. */
static void
billing_ended (KmgSessionGlue *w, gint64 session_id, const char *reason)
{
  KmgSessionEndReason why = KMG_SESSION_END_ADMIN;

  if (!kmg_session_end_reason_from_string (reason, &why) || why == KMG_SESSION_END_NONE)
    why = KMG_SESSION_END_ADMIN;

  kmg_session_manager_end (w->mgr, session_id, why, kmg_session_glue_now_ms ());
}

gboolean
kmg_session_glue_end_session (KmgSessionGlue *w, gint64 session_id, KmgSessionEndReason reason)
{
  gboolean ok;

  g_return_val_if_fail (reason != KMG_SESSION_END_NONE, FALSE);
  ok = kmg_session_manager_end (w->mgr, session_id, reason, kmg_session_glue_now_ms ());
  return ok;
}

void
kmg_session_glue_on_user_banned (gint64 user_id, gpointer user_data)
{
  KmgSessionGlue *w = user_data;

  kmg_session_manager_ban (w->mgr, user_id, kmg_session_glue_now_ms ());
}

/* Billing ended a session: stop its media now. */
void
kmg_session_glue_on_billing_event (const KmgBillingEvent *ev, gpointer user_data)
{
  if (ev->kind == KMG_BILLING_EVENT_ENDED)
    billing_ended (user_data, ev->session_id, ev->end_reason);
}

static void
collect (KmgMetrics *m, gpointer user_data)
{
  KmgSessionGlue *w = user_data;
  guint by_state[KMG_SESSION_N_STATES] = { 0 };
  guint by_path[KMG_SESSION_N_PATHS] = { 0 };
  KmgRelayStats rs = { 0 };

  kmg_session_manager_count (w->mgr, by_state, by_path);
  for (int p = 0; p < KMG_SESSION_N_PATHS; p++)
    {
      g_autofree char *labels = g_strdup_printf ("path=\"%s\"", kmg_session_path_to_string (p));
      kmg_metrics_set (m, "kamegor_sessions", labels, by_path[p]);
    }
  kmg_relay_get_stats (w->relay, &rs);
  kmg_metrics_set (m, "kamegor_relay_legs", "role=\"seller\"", rs.seller_legs);
  kmg_metrics_set (m, "kamegor_relay_legs", "role=\"buyer\"", rs.buyer_legs);
  kmg_metrics_set (m, "kamegor_relay_direct_legs", NULL, rs.buyer_legs_direct);
  kmg_metrics_set (m, "kamegor_relay_packets_dropped_total", NULL, (double) rs.packets_dropped);
  kmg_metrics_set (m, "kamegor_relay_packets_total", NULL, (double) rs.packets);
  kmg_metrics_set (m, "kamegor_relay_bytes_total", NULL, (double) rs.bytes);
  kmg_metrics_set (m, "kamegor_relay_keyframe_requests_total", "outcome=\"forwarded\"",
                   (double) rs.keyframe_requests_forwarded);
  kmg_metrics_set (m, "kamegor_relay_keyframe_requests_total", "outcome=\"dropped\"",
                   (double) rs.keyframe_requests_dropped);
  kmg_metrics_set (m, "kamegor_relay_candidates_denied_total", NULL, (double) rs.candidates_denied);
  kmg_metrics_set (m, "kamegor_relay_retransmissions_total", "outcome=\"sent\"",
                   (double) rs.retransmissions_sent);
  kmg_metrics_set (m, "kamegor_relay_retransmissions_total", "outcome=\"refused\"",
                   (double) rs.retransmissions_refused);
}

static void
declare_metrics (KmgMetrics *m)
{
  kmg_metrics_declare (m, "kamegor_sessions", KMG_METRIC_GAUGE,
                       "Live watch sessions by path (none = not yet chosen)", NULL, 0);
  kmg_metrics_declare (m, "kamegor_relay_sessions_total", KMG_METRIC_COUNTER,
                       "Watch sessions that used the relay", NULL, 0);
  kmg_metrics_declare (m, "kamegor_relay_legs", KMG_METRIC_GAUGE, "Relay legs by role", NULL, 0);
  kmg_metrics_declare (m, "kamegor_relay_direct_legs", KMG_METRIC_GAUGE,
                       "Buyer legs forwarded over UDP by their seller's fan-out", NULL, 0);
  kmg_metrics_declare (m, "kamegor_relay_packets_dropped_total", KMG_METRIC_COUNTER,
                       "Packets the fan-out could not send because a buyer's socket was full", NULL, 0);
  kmg_metrics_declare (m, "kamegor_relay_packets_total", KMG_METRIC_COUNTER,
                       "RTP packets forwarded to buyers", NULL, 0);
  kmg_metrics_declare (m, "kamegor_relay_bytes_total", KMG_METRIC_COUNTER,
                       "RTP payload bytes forwarded to buyers", NULL, 0);
  kmg_metrics_declare (m, "kamegor_relay_delivered_seconds_total", KMG_METRIC_COUNTER,
                       "Relayed seconds that met the delivered-second rule", NULL, 0);
  kmg_metrics_declare (m, "kamegor_relay_keyframe_requests_total", KMG_METRIC_COUNTER,
                       "Keyframe requests from buyers, forwarded to the seller or throttled", NULL,
                       0);
  kmg_metrics_declare (m, "kamegor_relay_candidates_denied_total", KMG_METRIC_COUNTER,
                       "Remote ICE candidates dropped for a denied address", NULL, 0);
  kmg_metrics_declare (m, "kamegor_relay_retransmissions_total", KMG_METRIC_COUNTER,
                       "NACKed packets resent to buyers, or refused over a fan-out buyer's budget", NULL, 0);
}

void
kmg_session_glue_effects (KmgSessionEffects *fx)
{
  *fx = (KmgSessionEffects) {
    .send = fx_send,
    .balance_ok = fx_balance_ok,
    .billing_session_started = fx_billing_started,
    .billing_session_ended = fx_billing_ended,
    .p2p_stats = fx_p2p_stats,
    .relay_start_buyer = fx_relay_start_buyer,
    .relay_stop_buyer = fx_relay_stop_buyer,
    .relay_signal = fx_relay_signal,
    .relay_restart_ice = fx_relay_restart_ice,
    .state_changed = fx_state_changed,
    .user_connections = fx_user_connections,
    .schedule = fx_schedule,
  };
}

void
kmg_session_glue_relay_callbacks (KmgRelayCallbacks *cb)
{
  *cb = (KmgRelayCallbacks) {
    .local_sdp = on_local_sdp,
    .local_candidate = on_local_candidate,
    .leg_state = on_leg_state,
    .measured_second = on_measured_second,
  };
}

KmgSessionGlue *
kmg_session_glue_new (KmgApp *app)
{
  KmgSessionGlue *w = g_new0 (KmgSessionGlue, 1);

  w->app = app;
  declare_metrics (app->metrics);
  kmg_metrics_add_collector (app->metrics, collect, w);
  return w;
}

void
kmg_session_glue_attach (KmgSessionGlue *w, KmgSessionManager *sessions, KmgRelay *relay)
{
  w->mgr = sessions;
  w->relay = relay;
}

void
kmg_session_glue_register_messages (KmgSessionGlue *w, KmgSignaling *sig)
{
  static const struct
  {
    const char *type;
    KmgSignalingHandler fn;
  } handlers[] = {
    { "watch.start", kmg_session_glue_on_watch_start },   { "session.accept", kmg_session_glue_on_accept },
    { "session.decline", kmg_session_glue_on_decline },   { "signal", kmg_session_glue_on_signal },
    { "ice_state", kmg_session_glue_on_ice_state },       { "first_frame", kmg_session_glue_on_first_frame },
    { "stats", kmg_session_glue_on_stats },               { "session.leave", kmg_session_glue_on_leave },
  };

  for (guint i = 0; i < G_N_ELEMENTS (handlers); i++)
    kmg_signaling_add_handler (sig, handlers[i].type, handlers[i].fn, w);
}

void
kmg_session_glue_shutdown (KmgSessionGlue *w)
{
  if (w->mgr)
    kmg_session_manager_shutdown (w->mgr, kmg_session_glue_now_ms ());
  g_clear_handle_id (&w->tick, g_source_remove);
  g_clear_handle_id (&w->refused_idle, g_source_remove);
}

void
kmg_session_glue_free (KmgSessionGlue *w)
{
  if (w == NULL)
    return;
  g_clear_handle_id (&w->tick, g_source_remove);
  g_clear_handle_id (&w->refused_idle, g_source_remove);
  g_clear_pointer (&w->refused, g_array_unref);
  g_free (w);
}
