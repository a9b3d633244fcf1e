/* fuzz-main.c — runs a fuzz target over files and folders of inputs without libFuzzer, so the
 * ordinary (gcc) build replays the seed corpus and past findings as a test. */
#include <glib/gstdio.h>
#include <stdio.h>
#include "fuzz-target.h"

static int n_run;

static void
run_path (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
    GDir *dir = g_dir_open (path, 0, NULL);
    g_assert (dir);
    const char *name;
    GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
    while ((name = g_dir_read_name (dir)))
      g_ptr_array_add (names, g_build_filename (path, name, NULL));
    g_dir_close (dir);
    for (guint i = 0; i < names->len; i++)
      run_path (names->pdata[i]);
    g_ptr_array_unref (names);
    return;
  }
  char *data;
  gsize len;
  GError *error = NULL;
  if (!g_file_get_contents (path, &data, &len, &error))
    g_error ("fuzz-main: %s", error->message);
  LLVMFuzzerTestOneInput ((const guint8 *) data, len);
  g_free (data);
  n_run++;
}

int
main (int argc, char **argv)
{
  if (argc < 2) {
    fprintf (stderr, "usage: %s FILE|DIR...\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; i++)
    run_path (argv[i]);
  if (n_run == 0) {
    fprintf (stderr, "%s: no input found\n", argv[0]);
    return 1;
  }
  printf ("%s: %d inputs ran clean\n", argv[0], n_run);
  return 0;
}
