/* fuzz-replay.c — runs every file of a corpus directory through LLVMFuzzerTestOneInput, so the
 * committed corpus is an ordinary test in every build, with or without libFuzzer. */
#include <glib.h>

int LLVMFuzzerTestOneInput (const unsigned char *data, size_t size);

int
main (int argc, char **argv)
{
  guint n = 0;

  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GDir) dir = g_dir_open (argv[i], 0, &error);
      const char *name;

      if (dir == NULL)
        g_error ("%s", error->message);
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *path = g_build_filename (argv[i], name, NULL);
          g_autofree char *contents = NULL;
          gsize len;

          if (!g_file_get_contents (path, &contents, &len, &error))
            g_error ("%s", error->message);
          LLVMFuzzerTestOneInput ((const unsigned char *) contents, len);
          n++;
        }
    }
  g_print ("replayed %u inputs\n", n);
  return n > 0 ? 0 : 1; /* an empty corpus would test nothing */
}
