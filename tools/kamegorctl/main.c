/* main.c — kamegorctl: operator tasks on a kamegord data dir (admins, users, audit, credits).
 * Exit codes: 0 success, 1 a check failed (audit), 2 usage or runtime error. */

#include "ctl-billing.h"
#include "kmg-accounts.h"
#include "kmg-anchor.h"
#include "kmg-db.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct
{
  const char *data_dir;
  gboolean json;
  const char *search;
  const char *password_file;
} Options;

static int
usage (void)
{
  fputs ("usage: kamegorctl [--data-dir DIR] COMMAND ...\n"
         "commands:\n"
         "  create-admin USERNAME       create an admin (password read from stdin or --password-file)\n"
         "  list-users [--search TEXT]  list users, newest first\n"
         "  audit [--json] [--anchors FILE]\n"
         "                              verify the ledger (and its anchors: FILE, default\n"
         "                              DIR/ledger-anchors.log when present); exit 0 only when all holds\n"
         "  grant USER_ID AMOUNT REASON add credits to a wallet from the external account\n"
         "  export-session SESSION_ID   measured-minute evidence of a session as CSV\n",
         stderr);
  return 2;
}

static char *
db_path (const Options *o)
{
  return g_build_filename (o->data_dir, "kamegor.db", NULL);
}

static KmgDb *
open_rw (const Options *o)
{
  g_autofree char *path = db_path (o);
  g_autoptr (GError) error = NULL;
  KmgDb *db;

  if (g_mkdir_with_parents (o->data_dir, 0700) != 0)
    {
      fprintf (stderr, "kamegorctl: cannot create '%s': %s\n", o->data_dir, g_strerror (errno));
      return NULL;
    }
  db = kmg_db_open (path, &error);
  if (db == NULL)
    fprintf (stderr, "kamegorctl: %s\n", error->message);
  return db;
}

static KmgDb *
open_ro (const Options *o)
{
  g_autofree char *path = db_path (o);
  g_autoptr (GError) error = NULL;
  KmgDb *db = kmg_db_open_readonly (path, &error);

  if (db == NULL)
    fprintf (stderr, "kamegorctl: %s\n", error->message);
  return db;
}

static char *
read_password (const Options *o)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  char line[1024];

  if (o->password_file)
    {
      if (!g_file_get_contents (o->password_file, &text, NULL, &error))
        {
          fprintf (stderr, "kamegorctl: %s\n", error->message);
          return NULL;
        }
      return g_strdup (g_strchomp (text));
    }
  if (isatty (STDIN_FILENO))
    fputs ("password: ", stderr);
  if (fgets (line, sizeof line, stdin) == NULL)
    {
      fputs ("kamegorctl: no password given on stdin\n", stderr);
      return NULL;
    }
  line[strcspn (line, "\r\n")] = '\0';
  return g_strdup (line);
}

static int
cmd_create_admin (const Options *o, int argc, char **argv)
{
  g_autoptr (KmgDb) db = NULL;
  g_autoptr (KmgAccounts) accounts = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *password = NULL;
  KmgAccountsConfig cfg;
  gint64 id;

  if (argc != 1)
    return usage ();
  if ((db = open_rw (o)) == NULL || (password = read_password (o)) == NULL)
    return 2;
  kmg_accounts_config_init (&cfg);
  accounts = kmg_accounts_new (db, o->data_dir, &cfg, &error);
  if (accounts == NULL)
    {
      fprintf (stderr, "kamegorctl: %s\n", error->message);
      return 2;
    }
  id = kmg_accounts_create_user_sync (accounts, argv[0], password, TRUE,
                                      g_get_real_time () / G_USEC_PER_SEC, &error);
  memset (password, 0, strlen (password));
  if (id == 0)
    {
      fprintf (stderr, "kamegorctl: %s\n", error->message);
      return 2;
    }
  printf ("created admin '%s' with id %" G_GINT64_FORMAT "\n", argv[0], id);
  return 0;
}

static int
cmd_list_users (const Options *o, int argc, char **argv)
{
  g_autoptr (KmgDb) db = NULL;
  g_autoptr (KmgAccounts) accounts = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) users = NULL;
  KmgAccountsConfig cfg;

  if (argc != 0 || (db = open_rw (o)) == NULL)
    return argc != 0 ? usage () : 2;
  kmg_accounts_config_init (&cfg);
  accounts = kmg_accounts_new (db, o->data_dir, &cfg, &error);
  if (accounts)
    users = kmg_accounts_list_users (accounts, o->search, 0, 10000, &error);
  if (users == NULL)
    {
      fprintf (stderr, "kamegorctl: %s\n", error->message);
      return 2;
    }
  if (o->json)
    {
      g_autoptr (JsonNode) node = json_node_new (JSON_NODE_ARRAY);
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      g_autofree char *text = NULL;
      json_node_set_array (node, users);
      json_generator_set_root (gen, node);
      json_generator_set_pretty (gen, TRUE);
      text = json_generator_to_data (gen, NULL);
      puts (text);
      return 0;
    }
  printf ("%-8s %-24s %-6s %-6s %s\n", "ID", "USERNAME", "ROLE", "SELLER", "BANNED");
  for (guint i = 0; i < json_array_get_length (users); i++)
    {
      JsonObject *u = json_array_get_object_element (users, i);
      printf ("%-8" G_GINT64_FORMAT " %-24s %-6s %-6s %s\n", json_object_get_int_member (u, "id"),
              json_object_get_string_member (u, "username"),
              json_object_get_string_member (u, "role"),
              json_object_get_boolean_member (u, "is_seller") ? "yes" : "no",
              json_object_get_boolean_member (u, "banned") ? "yes" : "no");
    }
  return 0;
}

static gboolean
parse_id (const char *s, gint64 *out)
{
  guint64 v;
  if (!g_ascii_string_to_unsigned (s, 10, 1, G_MAXINT64, &v, NULL))
    {
      fprintf (stderr, "kamegorctl: '%s' is not a positive integer\n", s);
      return FALSE;
    }
  *out = (gint64) v;
  return TRUE;
}

int
main (int argc, char **argv)
{
  Options o = { .data_dir = "./data" };
  g_autofree char *data_dir = NULL;
  g_autofree char *search = NULL;
  g_autofree char *password_file = NULL;
  g_autofree char *anchors = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir, "kamegord's data dir (default ./data)",
      "DIR" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Machine-readable output", NULL },
    { "anchors", 0, 0, G_OPTION_ARG_FILENAME, &anchors,
      "audit: ledger anchor file to check (default DIR/ledger-anchors.log when present)", "FILE" },
    { "search", 0, 0, G_OPTION_ARG_STRING, &search, "list-users: part of the username", "TEXT" },
    { "password-file", 0, 0, G_OPTION_ARG_FILENAME, &password_file,
      "create-admin: read the password from this file", "FILE" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("COMMAND ...");
  g_autoptr (GError) error = NULL;
  const char *cmd;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "kamegorctl: %s\n", error->message);
      return 2;
    }
  if (argc < 2)
    return usage ();
  o.data_dir = data_dir ? data_dir : "./data";
  o.json = json;
  o.search = search;
  o.password_file = password_file;
  cmd = argv[1];
  argc -= 2;
  argv += 2;

  if (g_str_equal (cmd, "create-admin"))
    return cmd_create_admin (&o, argc, argv);
  if (g_str_equal (cmd, "list-users"))
    return cmd_list_users (&o, argc, argv);
  if (g_str_equal (cmd, "audit"))
    {
      g_autoptr (KmgDb) db = NULL;
      if (argc != 0)
        return usage ();
      if ((db = open_ro (&o)) == NULL)
        return 2;
      g_autofree char *default_anchors = g_build_filename (o.data_dir, KMG_ANCHOR_FILE_NAME, NULL);
      return kmg_ctl_audit (db, o.json, anchors != NULL ? anchors : default_anchors, anchors != NULL);
    }
  if (g_str_equal (cmd, "grant"))
    {
      g_autoptr (KmgDb) db = NULL;
      gint64 user, amount;
      if (argc != 3)
        return usage ();
      if (!parse_id (argv[0], &user) || !parse_id (argv[1], &amount))
        return 2;
      if ((db = open_rw (&o)) == NULL)
        return 2;
      g_autofree char *anchor_file = g_build_filename (o.data_dir, KMG_ANCHOR_FILE_NAME, NULL);
      return kmg_ctl_grant (db, user, amount, argv[2], anchor_file);
    }
  if (g_str_equal (cmd, "export-session"))
    {
      g_autoptr (KmgDb) db = NULL;
      gint64 id;
      if (argc != 1)
        return usage ();
      if (!parse_id (argv[0], &id) || (db = open_ro (&o)) == NULL)
        return 2;
      return kmg_ctl_export_session (db, id, stdout);
    }
  fprintf (stderr, "kamegorctl: unknown command '%s'\n", cmd);
  return usage ();
}
