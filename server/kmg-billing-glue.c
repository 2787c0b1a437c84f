/* kmg-billing-glue.c — billing and the rest: the 1 s tick, and billing's events as WebSocket
 * messages (see kmg-billing-glue.h). Main context only. */

#include "kmg-billing-glue.h"

#include "kmg-signaling.h"

struct _KmgBillingTick
{
  KmgBilling *billing;
  guint timer;
};

static GArray *
flush (KmgBillingTick *tick, GError **error)
{
  return kmg_billing_flush (tick->billing, g_get_real_time () / 1000, error);
}

static gboolean
on_tick (gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) events = flush (user_data, &error);

  /* Nothing was charged; the same minutes are due again next tick. */
  if (events == NULL)
    g_warning ("billing tick failed: %s", error->message);
  return G_SOURCE_CONTINUE;
}

static void
count_charge (const KmgBillingEvent *ev, gpointer user_data)
{
  if (ev->kind == KMG_BILLING_EVENT_CHARGED)
    kmg_metrics_add (user_data, "kamegor_billing_minutes_total", NULL, 1);
}

KmgBillingTick *
kmg_billing_tick_start (KmgBilling *billing, KmgMetrics *metrics)
{
  KmgBillingTick *tick = g_new0 (KmgBillingTick, 1);

  tick->billing = billing;
  kmg_metrics_declare (metrics, "kamegor_billing_minutes_total", KMG_METRIC_COUNTER,
                       "Minutes charged", NULL, 0);
  kmg_billing_connect_events (billing, count_charge, metrics);
  tick->timer = g_timeout_add_seconds (1, on_tick, tick);
  return tick;
}

void
kmg_billing_tick_stop (KmgBillingTick *tick)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) events = NULL;

  if (tick == NULL)
    return;
  g_clear_handle_id (&tick->timer, g_source_remove);
  events = flush (tick, &error);
  if (events == NULL)
    g_warning ("the final billing charge failed, minutes due now go unbilled: %s",
               error->message);
  g_free (tick);
}

/* Billing's events as WebSocket messages to the buyer and the seller (an end is the watch
 * glue's: it stops the media). */
void
kmg_billing_glue_push_event (const KmgBillingEvent *ev, gpointer user_data)
{
  KmgSignaling *sig = user_data;
  g_autoptr (JsonObject) msg = json_object_new ();

  json_object_set_int_member (msg, "session_id", ev->session_id);
  switch (ev->kind)
    {
    case KMG_BILLING_EVENT_CHARGED:
      json_object_set_string_member (msg, "type", "billing.charged");
      json_object_set_int_member (msg, "minute_index", ev->minute_index);
      json_object_set_int_member (msg, "minutes_charged", ev->minute_index + 1);
      json_object_set_int_member (msg, "balance", ev->balance);
      kmg_signaling_send_to_user (sig, ev->buyer_id, msg);
      json_object_set_string_member (msg, "type", "billing.earned");
      json_object_remove_member (msg, "balance");
      json_object_set_int_member (msg, "amount", ev->seller_share);
      kmg_signaling_send_to_user (sig, ev->seller_id, msg);
      break;
    case KMG_BILLING_EVENT_LOW_BALANCE:
      json_object_set_string_member (msg, "type", "billing.low_balance");
      json_object_set_int_member (msg, "balance", ev->balance);
      kmg_signaling_send_to_user (sig, ev->buyer_id, msg);
      break;
    default:
      break;
    }
}
