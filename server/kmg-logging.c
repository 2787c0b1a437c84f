/* kmg-logging.c — structured log output for kamegord: one logfmt line per record on stderr.
 * Fields named KMG_* (KMG_SESSION, KMG_USER, …) are printed; callers never pass secrets or positions. */

#include "kmg-logging.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static GLogLevelFlags max_level = G_LOG_LEVEL_INFO;

static const char *
level_name (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR)
    return "error";
  if (level & G_LOG_LEVEL_CRITICAL)
    return "critical";
  if (level & G_LOG_LEVEL_WARNING)
    return "warning";
  if (level & G_LOG_LEVEL_MESSAGE)
    return "message";
  if (level & G_LOG_LEVEL_INFO)
    return "info";
  return "debug";
}

static void
append_value (GString *out, const char *value, gssize len)
{
  gsize n = len < 0 ? strlen (value) : (gsize) len;

  g_string_append_c (out, '"');
  for (gsize i = 0; i < n; i++)
    {
      char c = value[i];
      if (c == '"' || c == '\\')
        g_string_append_c (out, '\\');
      if (c == '\n')
        g_string_append (out, "\\n");
      else
        g_string_append_c (out, c);
    }
  g_string_append_c (out, '"');
}

static GLogWriterOutput
writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  g_autoptr (GString) line = NULL;
  g_autoptr (GDateTime) now = NULL;
  g_autofree char *ts = NULL;
  const char *domain = NULL, *message = NULL;

  if ((level & G_LOG_LEVEL_MASK) > max_level && !(level & G_LOG_FLAG_FATAL))
    return G_LOG_WRITER_HANDLED;
  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_str_equal (fields[i].key, "GLIB_DOMAIN"))
        domain = fields[i].value;
      else if (g_str_equal (fields[i].key, "MESSAGE"))
        message = fields[i].value;
    }
  now = g_date_time_new_now_utc ();
  ts = g_date_time_format_iso8601 (now);
  line = g_string_new (NULL);
  g_string_append_printf (line, "ts=%s level=%s domain=%s msg=", ts, level_name (level),
                          domain ? domain : "kamegord");
  append_value (line, message ? message : "", -1);
  for (gsize i = 0; i < n_fields; i++)
    if (g_str_has_prefix (fields[i].key, "KMG_"))
      {
        g_autofree char *key = g_ascii_strdown (fields[i].key + 4, -1);
        g_string_append_printf (line, " %s=", key);
        append_value (line, fields[i].value, fields[i].length);
      }
  g_string_append_c (line, '\n');
  fputs (line->str, stderr);
  fflush (stderr);
  return G_LOG_WRITER_HANDLED;
}

void
kmg_logging_init (const char *level)
{
  static const struct
  {
    const char *name;
    GLogLevelFlags flag;
  } levels[] = {
    { "error", G_LOG_LEVEL_ERROR },     { "critical", G_LOG_LEVEL_CRITICAL },
    { "warning", G_LOG_LEVEL_WARNING }, { "message", G_LOG_LEVEL_MESSAGE },
    { "info", G_LOG_LEVEL_INFO },       { "debug", G_LOG_LEVEL_DEBUG },
  };

  for (guint i = 0; i < G_N_ELEMENTS (levels); i++)
    if (g_str_equal (levels[i].name, level))
      max_level = levels[i].flag;
  g_log_set_writer_func (writer, NULL, NULL);
}
