/* test-cpu-quota.c — the cores a cgroup CPU quota leaves: both file formats, and the smallest
 * quota found along a process's cgroups in a constructed /sys/fs/cgroup tree (v2 and v1). */
#include <glib/gstdio.h>
#include <math.h>
#include "funad-private.h"

static void
test_parse (void)
{
  g_assert_cmpfloat_with_epsilon (funad_cpu_quota_parse_v2 ("200000 100000\n"), 2.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (funad_cpu_quota_parse_v2 ("150000 100000"), 1.5, 1e-12);
  g_assert_cmpfloat (funad_cpu_quota_parse_v2 ("max 100000\n"), ==, 0);
  g_assert_cmpfloat (funad_cpu_quota_parse_v2 (""), ==, 0);
  g_assert_cmpfloat (funad_cpu_quota_parse_v2 ("garbage"), ==, 0);
  g_assert_cmpfloat (funad_cpu_quota_parse_v2 ("100000 0"), ==, 0);
  g_assert_cmpfloat (funad_cpu_quota_parse_v2 (NULL), ==, 0);
  g_assert_cmpfloat_with_epsilon (funad_cpu_quota_parse_v1 ("300000\n", "100000\n"), 3.0, 1e-12);
  g_assert_cmpfloat (funad_cpu_quota_parse_v1 ("-1\n", "100000\n"), ==, 0);
  g_assert_cmpfloat (funad_cpu_quota_parse_v1 ("12x", "100000"), ==, 0);
  g_assert_cmpfloat (funad_cpu_quota_parse_v1 (NULL, "100000"), ==, 0);
}

static void
write_file (const char *root, const char *rel, const char *text)
{
  char *path = g_build_filename (root, rel, NULL);
  char *dir = g_path_get_dirname (path);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  g_free (dir);
  g_free (path);
}

static void
remove_tree (const char *path)
{
  GDir *d = g_dir_open (path, 0, NULL);
  if (d) {
    const char *name;
    while ((name = g_dir_read_name (d))) {
      char *child = g_build_filename (path, name, NULL);
      remove_tree (child);
      g_free (child);
    }
    g_dir_close (d);
  }
  g_remove (path);
}

static void
test_v2_tree (void)
{
  char *root = g_dir_make_tmp ("funad-cgroup-XXXXXX", NULL);
  g_assert_nonnull (root);
  const char *self = "0::/machine/app.scope\n";
  /* no file anywhere: no quota */
  g_assert_cmpfloat (funad_cpu_quota_at (root, self), ==, 0);
  /* the process's own cgroup says no limit, its parent 2.5 cores: the parent's holds */
  write_file (root, "machine/app.scope/cpu.max", "max 100000\n");
  write_file (root, "machine/cpu.max", "250000 100000\n");
  g_assert_cmpfloat_with_epsilon (funad_cpu_quota_at (root, self), 2.5, 1e-12);
  /* a tighter limit lower down wins */
  write_file (root, "machine/app.scope/cpu.max", "50000 100000\n");
  g_assert_cmpfloat_with_epsilon (funad_cpu_quota_at (root, self), 0.5, 1e-12);
  /* a container with its own namespace sees its limit at the mount's root, path "/" */
  remove_tree (root);
  g_assert_cmpint (g_mkdir_with_parents (root, 0755), ==, 0);
  write_file (root, "cpu.max", "400000 100000\n");
  g_assert_cmpfloat_with_epsilon (funad_cpu_quota_at (root, "0::/\n"), 4.0, 1e-12);
  remove_tree (root);
  g_free (root);
}

static void
test_v1_tree (void)
{
  char *root = g_dir_make_tmp ("funad-cgroup-XXXXXX", NULL);
  g_assert_nonnull (root);
  const char *self = "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/\n";
  write_file (root, "cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1\n");
  write_file (root, "cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
  g_assert_cmpfloat (funad_cpu_quota_at (root, self), ==, 0);
  write_file (root, "cpu,cpuacct/docker/cpu.cfs_quota_us", "300000\n");
  write_file (root, "cpu,cpuacct/docker/cpu.cfs_period_us", "100000\n");
  g_assert_cmpfloat_with_epsilon (funad_cpu_quota_at (root, self), 3.0, 1e-12);
  /* a memory-only cgroup's files are not a CPU limit */
  write_file (root, "memory/docker/abc/cpu.max", "100000 100000\n");
  g_assert_cmpfloat_with_epsilon (funad_cpu_quota_at (root, self), 3.0, 1e-12);
  remove_tree (root);
  g_free (root);
}

/* On this machine: never more than the processors, never fewer than one. */
static void
test_available (void)
{
  int cores = funad_available_cores ();
  g_assert_cmpint (cores, >=, 1);
  g_assert_cmpint (cores, <=, (int) g_get_num_processors ());
  g_test_message ("available cores here: %d of %u processors", cores, g_get_num_processors ());
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cpu-quota/parse", test_parse);
  g_test_add_func ("/cpu-quota/v2-tree", test_v2_tree);
  g_test_add_func ("/cpu-quota/v1-tree", test_v1_tree);
  g_test_add_func ("/cpu-quota/available", test_available);
  return g_test_run ();
}
