/* kmg-metrics.h — a small Prometheus registry: counters, gauges and histograms with labels.
 * Thread-safe: relay streaming threads may update counters; rendering happens on the main context. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _KmgMetrics KmgMetrics;

typedef enum
{
  KMG_METRIC_COUNTER,
  KMG_METRIC_GAUGE,
  KMG_METRIC_HISTOGRAM,
} KmgMetricType;

/* Called at render time so modules can publish gauges computed on demand (e.g. users by state). */
typedef void (*KmgMetricsCollector) (KmgMetrics *metrics, gpointer user_data);

KmgMetrics *kmg_metrics_new (void);
void kmg_metrics_free (KmgMetrics *metrics);

/* Declares a family once; later declarations of the same name are ignored.
 * @buckets (histograms only) is a strictly increasing array of @n_buckets upper bounds. */
void kmg_metrics_declare (KmgMetrics *metrics, const char *name, KmgMetricType type,
                          const char *help, const double *buckets, guint n_buckets);

/* @labels is the Prometheus label text without braces, e.g. "route=\"/x\",status=\"200\"", or NULL. */
void kmg_metrics_add (KmgMetrics *metrics, const char *name, const char *labels, double value);
void kmg_metrics_set (KmgMetrics *metrics, const char *name, const char *labels, double value);
void kmg_metrics_observe (KmgMetrics *metrics, const char *name, const char *labels, double value);
double kmg_metrics_get (KmgMetrics *metrics, const char *name, const char *labels);

void kmg_metrics_add_collector (KmgMetrics *metrics, KmgMetricsCollector collector,
                                gpointer user_data);

/* Renders the text exposition format (version 0.0.4). */
char *kmg_metrics_render (KmgMetrics *metrics);

/* Escapes a label value for use inside double quotes. */
char *kmg_metrics_escape_label (const char *value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgMetrics, kmg_metrics_free)

G_END_DECLS
