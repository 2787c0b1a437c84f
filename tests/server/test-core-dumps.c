/* test-core-dumps.c — kamegord keeps precise fixes out of core files unless server.core_dumps is set.
 * Runs the built executable, makes it dump core and asks the kernel whether it wrote one. */

#include <glib.h>
#include <glib/gstdio.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* After fork, before exec: the largest core size allowed, and a core of headers and notes only
 * (coredump_filter is inherited by exec), so a dump is cheap. */
static void
child_setup (gpointer data)
{
  struct rlimit lim;
  int fd;

  if (getrlimit (RLIMIT_CORE, &lim) == 0)
    {
      lim.rlim_cur = lim.rlim_max;
      setrlimit (RLIMIT_CORE, &lim);
    }
  fd = open ("/proc/self/coredump_filter", O_WRONLY);
  if (fd >= 0)
    {
      if (write (fd, "0", 1) != 1)
        _exit (127);
      close (fd);
    }
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

typedef struct
{
  gboolean dumped;     /* the kernel says a core was written (WCOREDUMP) */
  gboolean proc_owned; /* /proc/PID is owned by us (dumpable); only telling when we are not root */
} Outcome;

/* Starts kamegord in a fresh folder (port 0, no STUN port), waits until it listens, then kills it
 * with SIGABRT. */
static Outcome
run_and_abort (const char *extra_set)
{
  g_autofree char *exe = g_build_filename (g_getenv ("KMG_BUILD_DIR"), "server", "kamegord", NULL);
  g_autofree char *dir = g_dir_make_tmp ("kmg-core-XXXXXX", NULL);
  g_autofree char *data = g_build_filename (dir, "data", NULL);
  const char *argv[] = { exe, "--listen", "127.0.0.1:0", "--data-dir", data, "--log-level", "warning",
                         "--set", "relay.stun_port=0", extra_set ? "--set" : NULL, extra_set, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) out = g_string_new (NULL);
  g_autofree char *proc = NULL;
  GPid pid;
  int out_fd, status;
  struct stat st;
  Outcome o = { FALSE, FALSE };

  g_assert_nonnull (dir);
  g_assert_true (g_spawn_async_with_pipes (dir, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                           child_setup, NULL, &pid, NULL, &out_fd, NULL, &error));
  g_assert_no_error (error);
  while (strstr (out->str, "kamegord listening on ") == NULL)
    {
      char buf[256];
      ssize_t n = read (out_fd, buf, sizeof buf);

      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >, 0); /* EOF: it did not start */
      g_string_append_len (out, buf, n);
    }
  close (out_fd);
  proc = g_strdup_printf ("/proc/%d", (int) pid);
  g_assert_cmpint (g_stat (proc, &st), ==, 0);
  o.proc_owned = st.st_uid == getuid ();
  g_assert_cmpint (kill (pid, SIGABRT), ==, 0);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGABRT);
  o.dumped = WCOREDUMP (status);
  remove_tree (dir);
  return o;
}

/* The kernel refuses to dump a process that is not dumpable, whatever core_pattern and the core
 * size limit say; and it hands that process's /proc files to root. The knob's own run shows the
 * system does write cores here, so the default run's "no core" is not the system's doing. */
static void
test_no_core_by_default (void)
{
  Outcome allowed = run_and_abort ("server.core_dumps=true");
  Outcome dflt = run_and_abort (NULL);

  if (getuid () != 0)
    {
      g_assert_true (allowed.proc_owned);
      g_assert_false (dflt.proc_owned);
    }
  g_assert_false (dflt.dumped);
  if (!allowed.dumped)
    g_test_skip ("this system writes no core files (core_pattern, RLIMIT_CORE): only the /proc "
                 "owner could be compared");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/server/core-dumps/none-by-default", test_no_core_by_default);
  return g_test_run ();
}
