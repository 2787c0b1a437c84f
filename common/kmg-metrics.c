/* kmg-metrics.c — a small Prometheus registry: counters, gauges and histograms with labels.
 * One mutex guards everything; updates are rare enough (per request, per second) that it never contends. */


#include "kmg-metrics.h"

#include <math.h>

typedef struct
{
  double value;     /* counter/gauge value, or histogram sum */
  guint64 count;    /* histogram observations */
  guint64 *buckets; /* histogram cumulative counts per bound */
} Series;

typedef struct
{
  char *name;
  char *help;
  KmgMetricType type;
  double *bounds;
  guint n_bounds;
  GHashTable *series; /* labels text ("" for none) → Series */
  GPtrArray *order;   /* label texts in creation order, for stable output */
} Family;

typedef struct
{
  KmgMetricsCollector fn;
  gpointer data;
} Collector;

struct _KmgMetrics
{
  GMutex lock;
  GHashTable *families; /* name → Family */
  GPtrArray *order;     /* Family*, declaration order */
  GArray *collectors;
};

static void
series_free (gpointer p)
{
  Series *s = p;
  g_free (s->buckets);
  g_free (s);
}

static void
family_free (gpointer p)
{
  Family *f = p;
  g_free (f->name);
  g_free (f->help);
  g_free (f->bounds);
  g_hash_table_unref (f->series);
  g_ptr_array_unref (f->order);
  g_free (f);
}

KmgMetrics *
kmg_metrics_new (void)
{
  KmgMetrics *m = g_new0 (KmgMetrics, 1);

  g_mutex_init (&m->lock);
  m->families = g_hash_table_new (g_str_hash, g_str_equal);
  m->order = g_ptr_array_new_with_free_func (family_free);
  m->collectors = g_array_new (FALSE, FALSE, sizeof (Collector));
  return m;
}

void
kmg_metrics_free (KmgMetrics *m)
{
  if (m == NULL)
    return;
  g_hash_table_unref (m->families);
  g_ptr_array_unref (m->order);
  g_array_unref (m->collectors);
  g_mutex_clear (&m->lock);
  g_free (m);
}

void
kmg_metrics_declare (KmgMetrics *m, const char *name, KmgMetricType type, const char *help,
                     const double *buckets, guint n_buckets)
{
  Family *f;

  g_return_if_fail (m != NULL && name != NULL && help != NULL);
  g_return_if_fail (type != KMG_METRIC_HISTOGRAM || (buckets != NULL && n_buckets > 0));

  g_mutex_lock (&m->lock);
  if (g_hash_table_contains (m->families, name))
    {
      g_mutex_unlock (&m->lock);
      return;
    }
  f = g_new0 (Family, 1);
  f->name = g_strdup (name);
  f->help = g_strdup (help);
  f->type = type;
  if (type == KMG_METRIC_HISTOGRAM)
    {
      f->bounds = g_memdup2 (buckets, sizeof (double) * n_buckets);
      f->n_bounds = n_buckets;
    }
  f->series = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, series_free);
  f->order = g_ptr_array_new ();
  g_hash_table_insert (m->families, f->name, f);
  g_ptr_array_add (m->order, f);
  g_mutex_unlock (&m->lock);
}

/* Caller holds the lock. */
static Series *
get_series (KmgMetrics *m, const char *name, const char *labels)
{
  Family *f = g_hash_table_lookup (m->families, name);
  Series *s;
  char *key;

  if (f == NULL)
    {
      g_critical ("metric '%s' used before it was declared", name);
      return NULL;
    }
  if (labels == NULL)
    labels = "";
  s = g_hash_table_lookup (f->series, labels);
  if (s != NULL)
    return s;
  s = g_new0 (Series, 1);
  if (f->type == KMG_METRIC_HISTOGRAM)
    s->buckets = g_new0 (guint64, f->n_bounds);
  key = g_strdup (labels);
  g_hash_table_insert (f->series, key, s);
  g_ptr_array_add (f->order, key);
  return s;
}

void
kmg_metrics_add (KmgMetrics *m, const char *name, const char *labels, double value)
{
  Series *s;

  g_mutex_lock (&m->lock);
  if ((s = get_series (m, name, labels)) != NULL)
    s->value += value;
  g_mutex_unlock (&m->lock);
}

void
kmg_metrics_set (KmgMetrics *m, const char *name, const char *labels, double value)
{
  Series *s;

  g_mutex_lock (&m->lock);
  if ((s = get_series (m, name, labels)) != NULL)
    s->value = value;
  g_mutex_unlock (&m->lock);
}

double
kmg_metrics_get (KmgMetrics *m, const char *name, const char *labels)
{
  Family *f;
  Series *s = NULL;
  double v = 0;

  g_mutex_lock (&m->lock);
  f = g_hash_table_lookup (m->families, name);
  if (f != NULL)
    s = g_hash_table_lookup (f->series, labels ? labels : "");
  if (s != NULL)
    v = f->type == KMG_METRIC_HISTOGRAM ? (double) s->count : s->value;
  g_mutex_unlock (&m->lock);
  return v;
}

void
kmg_metrics_observe (KmgMetrics *m, const char *name, const char *labels, double value)
{
  Family *f;
  Series *s;

  g_mutex_lock (&m->lock);
  f = g_hash_table_lookup (m->families, name);
  if (f != NULL && f->type == KMG_METRIC_HISTOGRAM && (s = get_series (m, name, labels)) != NULL)
    {
      s->value += value;
      s->count++;
      for (guint i = 0; i < f->n_bounds; i++)
        if (value <= f->bounds[i])
          s->buckets[i]++;
    }
  else if (f == NULL || f->type != KMG_METRIC_HISTOGRAM)
    g_critical ("metric '%s' is not a declared histogram", name);
  g_mutex_unlock (&m->lock);
}

void
kmg_metrics_add_collector (KmgMetrics *m, KmgMetricsCollector collector, gpointer user_data)
{
  Collector c = { collector, user_data };

  g_mutex_lock (&m->lock);
  g_array_append_val (m->collectors, c);
  g_mutex_unlock (&m->lock);
}

char *
kmg_metrics_escape_label (const char *value)
{
  GString *out = g_string_new (NULL);

  for (const char *p = value; *p; p++)
    {
      if (*p == '\\' || *p == '"')
        g_string_append_c (out, '\\');
      if (*p == '\n')
        {
          g_string_append (out, "\\n");
          continue;
        }
      g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

static void
append_number (GString *out, double v)
{
  if (isinf (v))
    g_string_append (out, v > 0 ? "+Inf" : "-Inf");
  else if (v == floor (v) && fabs (v) < 1e15)
    g_string_append_printf (out, "%.0f", v);
  else
    g_string_append_printf (out, "%.9g", v);
}

static void
append_labelled (GString *out, const char *name, const char *suffix, const char *labels,
                 const char *extra)
{
  gboolean has = labels != NULL && *labels;

  g_string_append_printf (out, "%s%s", name, suffix);
  if (has || extra != NULL)
    g_string_append_printf (out, "{%s%s%s}", has ? labels : "", has && extra ? "," : "",
                            extra ? extra : "");
  g_string_append_c (out, ' ');
}

char *
kmg_metrics_render (KmgMetrics *m)
{
  static const char *type_names[] = { "counter", "gauge", "histogram" };
  GString *out = g_string_new (NULL);
  g_autoptr (GArray) collectors = NULL;

  /* Collectors call back into the registry, so run them unlocked on a copy. */
  g_mutex_lock (&m->lock);
  collectors = g_array_copy (m->collectors);
  g_mutex_unlock (&m->lock);
  for (guint i = 0; i < collectors->len; i++)
    {
      Collector *c = &g_array_index (collectors, Collector, i);
      c->fn (m, c->data);
    }

  g_mutex_lock (&m->lock);
  for (guint i = 0; i < m->order->len; i++)
    {
      Family *f = g_ptr_array_index (m->order, i);

      g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                              type_names[f->type]);
      if (f->order->len == 0 && f->type != KMG_METRIC_HISTOGRAM)
        {
          g_string_append_printf (out, "%s 0\n", f->name);
          continue;
        }
      for (guint j = 0; j < f->order->len; j++)
        {
          const char *labels = g_ptr_array_index (f->order, j);
          Series *s = g_hash_table_lookup (f->series, labels);

          if (f->type != KMG_METRIC_HISTOGRAM)
            {
              append_labelled (out, f->name, "", labels, NULL);
              append_number (out, s->value);
              g_string_append_c (out, '\n');
              continue;
            }
          for (guint b = 0; b < f->n_bounds; b++)
            {
              g_autofree char *le = g_strdup_printf ("le=\"%g\"", f->bounds[b]);
              append_labelled (out, f->name, "_bucket", labels, le);
              g_string_append_printf (out, "%" G_GUINT64_FORMAT "\n", s->buckets[b]);
            }
          append_labelled (out, f->name, "_bucket", labels, "le=\"+Inf\"");
          g_string_append_printf (out, "%" G_GUINT64_FORMAT "\n", s->count);
          append_labelled (out, f->name, "_sum", labels, NULL);
          append_number (out, s->value);
          g_string_append_c (out, '\n');
          append_labelled (out, f->name, "_count", labels, NULL);
          g_string_append_printf (out, "%" G_GUINT64_FORMAT "\n", s->count);
        }
    }
  g_mutex_unlock (&m->lock);
  return g_string_free (out, FALSE);
}
