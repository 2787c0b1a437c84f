/* kmg-billing-tick.c — the 1 s billing tick (see kmg-billing-tick.h). Main context only. */

#include "kmg-billing-tick.h"

struct _KmgBillingTick
{
  KmgBilling *billing;
  guint timer;
};

static gboolean
flush (KmgBillingTick *tick, const char *when)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) events = kmg_billing_flush (tick->billing, g_get_real_time () / 1000, &error);

  /* Nothing was charged; the same minutes are due again next time (or after a restart). */
  if (events == NULL)
    g_warning ("billing %s failed: %s", when, error->message);
  return events != NULL;
}

static gboolean
on_tick (gpointer user_data)
{
  flush (user_data, "tick");
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
  if (tick == NULL)
    return;
  g_clear_handle_id (&tick->timer, g_source_remove);
  flush (tick, "flush at stop");
  g_free (tick);
}
