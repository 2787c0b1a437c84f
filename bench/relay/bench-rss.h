/* bench-rss.h — the relay benches' memory reading. */
#pragma once

#include <glib.h>
#include <string.h>

/* This process's resident set, MiB (0 when /proc cannot tell). */
static inline double
bench_rss_mib (void)
{
  g_autofree char *status = NULL;
  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0;
  const char *line = strstr (status, "VmRSS:");
  return line != NULL ? g_ascii_strtod (line + 6, NULL) / 1024.0 : 0;
}
