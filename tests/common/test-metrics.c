/* test-metrics.c — the Prometheus registry renders what was recorded, in the text format. */
#include "kmg-metrics.h"

#include <string.h>

static void
collector (KmgMetrics *m, gpointer data)
{
  kmg_metrics_set (m, "g", "state=\"online\"", *(int *) data);
}

static void
test_render (void)
{
  g_autoptr (KmgMetrics) m = kmg_metrics_new ();
  static const double b[] = { 0.1, 1 };
  int online = 3;
  g_autofree char *text = NULL;

  kmg_metrics_declare (m, "c_total", KMG_METRIC_COUNTER, "a counter", NULL, 0);
  kmg_metrics_declare (m, "g", KMG_METRIC_GAUGE, "a gauge", NULL, 0);
  kmg_metrics_declare (m, "h", KMG_METRIC_HISTOGRAM, "a histogram", b, 2);
  kmg_metrics_add (m, "c_total", "route=\"/x\"", 1);
  kmg_metrics_add (m, "c_total", "route=\"/x\"", 2);
  kmg_metrics_observe (m, "h", NULL, 0.05);
  kmg_metrics_observe (m, "h", NULL, 0.5);
  kmg_metrics_observe (m, "h", NULL, 5);
  kmg_metrics_add_collector (m, collector, &online);
  text = kmg_metrics_render (m);

  g_assert_nonnull (strstr (text, "# TYPE c_total counter\n"));
  g_assert_nonnull (strstr (text, "c_total{route=\"/x\"} 3\n"));
  g_assert_nonnull (strstr (text, "g{state=\"online\"} 3\n"));
  g_assert_nonnull (strstr (text, "h_bucket{le=\"0.1\"} 1\n"));
  g_assert_nonnull (strstr (text, "h_bucket{le=\"1\"} 2\n"));
  g_assert_nonnull (strstr (text, "h_bucket{le=\"+Inf\"} 3\n"));
  g_assert_nonnull (strstr (text, "h_count 3\n"));
  g_assert_cmpfloat (kmg_metrics_get (m, "c_total", "route=\"/x\""), ==, 3);
}

static void
test_escape (void)
{
  g_autofree char *e = kmg_metrics_escape_label ("a\"b\\c\nd");
  g_assert_cmpstr (e, ==, "a\\\"b\\\\c\\nd");
}

static gpointer
adder (gpointer data)
{
  for (int i = 0; i < 10000; i++)
    kmg_metrics_add (data, "c_total", NULL, 1);
  return NULL;
}

static void
test_threads (void)
{
  g_autoptr (KmgMetrics) m = kmg_metrics_new ();
  GThread *t[4];

  kmg_metrics_declare (m, "c_total", KMG_METRIC_COUNTER, "a counter", NULL, 0);
  for (int i = 0; i < 4; i++)
    t[i] = g_thread_new ("adder", adder, m);
  for (int i = 0; i < 4; i++)
    g_thread_join (t[i]);
  g_assert_cmpfloat (kmg_metrics_get (m, "c_total", NULL), ==, 40000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/common/metrics/render", test_render);
  g_test_add_func ("/common/metrics/escape", test_escape);
  g_test_add_func ("/common/metrics/threads", test_threads);
  return g_test_run ();
}
