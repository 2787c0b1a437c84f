/* main.c — kamegord: command line, configuration, signals and the main loop.
 * Exit codes: 0 clean stop, 1 runtime failure (e.g. cannot listen), 2 bad configuration or flags. */

#include "kmg-logging.h"
#include "kmg-server.h"

#include <glib-unix.h>
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

static gboolean
on_signal (gpointer user_data)
{
  GMainLoop *loop = user_data;

  g_message ("stopping");
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  g_autofree char *listen = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *log_level = NULL;
  g_auto (GStrv) sets = NULL;
  gboolean version = FALSE;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "INI configuration file", "FILE" },
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &listen, "Listen address (default 127.0.0.1:8080)",
      "ADDR:PORT" },
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir, "Data folder (default ./data)", "DIR" },
    { "log-level", 0, 0, G_OPTION_ARG_STRING, &log_level,
      "error, warning, message, info (default) or debug", "LEVEL" },
    { "set", 's', 0, G_OPTION_ARG_STRING_ARRAY, &sets, "Set any config key", "GROUP.KEY=VALUE" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("— Kamegor server");
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgConfig) config = kmg_config_new_default ();
  g_autoptr (KmgServer) server = NULL;
  g_autoptr (GMainLoop) loop = NULL;

  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (ctx, "Runs accounts, presence, the live map, signaling, the media "
                                     "relay and billing in one process.");
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "kamegord: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      printf ("kamegord %s\n", PACKAGE_VERSION);
      return 0;
    }

  /* Order: defaults, then the file, then flags. */
  if (config_path && !kmg_config_load_file (config, config_path, &error))
    goto bad_config;
  if ((listen && !kmg_config_set (config, "server", "listen", listen, &error))
      || (data_dir && !kmg_config_set (config, "server", "data_dir", data_dir, &error))
      || (log_level && !kmg_config_set (config, "server", "log_level", log_level, &error)))
    goto bad_config;
  for (guint i = 0; sets && sets[i]; i++)
    {
      g_auto (GStrv) kv = g_strsplit (sets[i], "=", 2);
      g_auto (GStrv) gk = kv[0] ? g_strsplit (kv[0], ".", 2) : NULL;
      if (kv[0] == NULL || kv[1] == NULL || gk[0] == NULL || gk[1] == NULL)
        {
          g_set_error (&error, KMG_CONFIG_ERROR, KMG_CONFIG_ERROR_VALUE,
                       "--set '%s': expected GROUP.KEY=VALUE", sets[i]);
          goto bad_config;
        }
      if (!kmg_config_set (config, gk[0], gk[1], kv[1], &error))
        goto bad_config;
    }
  if (!kmg_config_validate (config, &error))
    goto bad_config;

  kmg_logging_init (config->log_level);
  /* Precise fixes live in this process's memory only (DESIGN §4): keep them out of core files and
   * away from other processes of the same user, before the first one can arrive. */
  if (!config->core_dumps && prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    {
      g_critical ("cannot disable core dumps: %s (set server.core_dumps = true to run anyway)",
                  g_strerror (errno));
      return 1;
    }
  loop = g_main_loop_new (NULL, FALSE);
  server = kmg_server_new (g_steal_pointer (&config), &error);
  if (server == NULL)
    {
      g_critical ("cannot start: %s", error->message);
      return 1;
    }
  
  g_unix_signal_add (SIGINT, on_signal, loop);
  g_unix_signal_add (SIGTERM, on_signal, loop);
  {
    g_autofree char *host = NULL;
    g_autofree char *url = NULL;
    kmg_config_parse_listen (kmg_server_get_app (server)->config->listen, &host, NULL, NULL);
    url = g_strdup_printf (strchr (host, ':') ? "http://[%s]:%u/" : "http://%s:%u/", host,
                           kmg_server_get_port (server));
    g_message ("listening on %s", url);
    printf ("kamegord listening on %s\n", url);
  }
  fflush (stdout);
  g_main_loop_run (loop);
  g_clear_pointer (&server, kmg_server_free);
  g_message ("stopped");
  return 0;

bad_config:
  fprintf (stderr, "kamegord: invalid configuration: %s\n", error->message);
  return 2;
}
