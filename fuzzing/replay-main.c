/* replay-main.c — runs a fuzz target's LLVMFuzzerTestOneInput over every file of its corpus, so
 * corpora are ordinary tests in every build (no libFuzzer needed). */

#include <glib.h>

int LLVMFuzzerTestOneInput (const unsigned char *data, size_t size);

static guint
replay_path (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;
  guint n = 0;

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, &error);
      const char *name;

      if (dir == NULL)
        g_error ("%s", error->message);
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          n += replay_path (child);
        }
      return n;
    }
  if (!g_file_get_contents (path, &contents, &len, &error))
    g_error ("%s", error->message);
  LLVMFuzzerTestOneInput ((const unsigned char *) contents, len);
  return 1;
}

int
main (int argc, char **argv)
{
  guint total = 0;

  if (argc < 2)
    {
      g_printerr ("usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
      return 2;
    }
  for (int i = 1; i < argc; i++)
    total += replay_path (argv[i]);
  g_print ("replayed %u inputs\n", total);
  /* An empty corpus would make this test pass without testing anything. */
  return total > 0 ? 0 : 1;
}
