/* test-cpu-quota.c — the cores a cgroup CPU quota leaves: both file formats, and the smallest
 * quota found along a process's cgroups, through constructed mount tables and trees (v2, a
 * hybrid host, Docker on v1). */
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

static char *
new_root (void)
{
  char *root = g_dir_make_tmp ("funad-cgroup-XXXXXX", NULL);
  g_assert_nonnull (root);
  return root;
}

/* Pure cgroup v2: the limit of a parent cgroup holds for its children, a tighter one lower
 * down wins, and a container with its own namespace sees its cgroup at the mount's top. */
static void
test_v2 (void)
{
  char *root = new_root ();
  const char *mounts = "29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw\n";
  const char *self = "0::/machine/app.scope\n";
  g_assert_cmpfloat (funad_cpu_quota_find (mounts, self, root), ==, 0);
  write_file (root, "sys/fs/cgroup/machine/app.scope/cpu.max", "max 100000\n");
  write_file (root, "sys/fs/cgroup/machine/cpu.max", "250000 100000\n");
  g_assert_cmpfloat_with_epsilon (funad_cpu_quota_find (mounts, self, root), 2.5, 1e-12);
  write_file (root, "sys/fs/cgroup/machine/app.scope/cpu.max", "50000 100000\n");
  g_assert_cmpfloat_with_epsilon (funad_cpu_quota_find (mounts, self, root), 0.5, 1e-12);
  remove_tree (root);
  g_assert_cmpint (g_mkdir_with_parents (root, 0755), ==, 0);
  write_file (root, "sys/fs/cgroup/cpu.max", "400000 100000\n");
  g_assert_cmpfloat_with_epsilon (funad_cpu_quota_find (mounts, "0::/\n", root), 4.0, 1e-12);
  /* no mount table: nothing to read */
  g_assert_cmpfloat (funad_cpu_quota_find (NULL, "0::/\n", root), ==, 0);
  remove_tree (root);
  g_free (root);
}

/* A hybrid host like the one these tests were written on: v1 controllers each mounted apart,
 * v2 at unified/ without the cpu controller; only the cpu hierarchy's files count. */
static void
test_hybrid (void)
{
  char *root = new_root ();
  const char *mounts =
      "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
      "32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
      "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
      "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
  const char *self = "4:memory:/job\n2:cpuacct:/job\n1:cpu:/job\n0::/\n";
  write_file (root, "sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1\n");
  write_file (root, "sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n");
  write_file (root, "sys/fs/cgroup/memory/job/cpu.cfs_quota_us", "50000\n");
  write_file (root, "sys/fs/cgroup/memory/job/cpu.cfs_period_us", "100000\n");
  write_file (root, "sys/fs/cgroup/cpuacct/job/cpu.cfs_quota_us", "50000\n");
  write_file (root, "sys/fs/cgroup/cpuacct/job/cpu.cfs_period_us", "100000\n");
  g_assert_cmpfloat (funad_cpu_quota_find (mounts, self, root), ==, 0);
  write_file (root, "sys/fs/cgroup/cpu/job/cpu.cfs_quota_us", "100000\n");
  write_file (root, "sys/fs/cgroup/cpu/job/cpu.cfs_period_us", "100000\n");
  g_assert_cmpfloat_with_epsilon (funad_cpu_quota_find (mounts, self, root), 1.0, 1e-12);
  remove_tree (root);
  g_free (root);
}

/* Docker on cgroup v1 without a cgroup namespace: /proc lists the host's path, the mount
 * shows only the container's part (mountinfo's root). The container's limit is at the
 * mount's top; a tighter one in a child cgroup inside the container wins. */
static void
test_v1_container (void)
{
  char *root = new_root ();
  const char *mounts = "512 500 0:40 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid - cgroup "
                       "cgroup rw,cpu,cpuacct\n";
  write_file (root, "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "300000\n");
  write_file (root, "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  g_assert_cmpfloat_with_epsilon (
      funad_cpu_quota_find (mounts, "4:cpu,cpuacct:/docker/abc\n", root), 3.0, 1e-12);
  write_file (root, "sys/fs/cgroup/cpu,cpuacct/worker/cpu.cfs_quota_us", "100000\n");
  write_file (root, "sys/fs/cgroup/cpu,cpuacct/worker/cpu.cfs_period_us", "100000\n");
  g_assert_cmpfloat_with_epsilon (
      funad_cpu_quota_find (mounts, "4:cpu,cpuacct:/docker/abc/worker\n", root), 1.0, 1e-12);
  /* a path outside the mount's part: the process is at its top */
  g_assert_cmpfloat_with_epsilon (
      funad_cpu_quota_find (mounts, "4:cpu,cpuacct:/other\n", root), 3.0, 1e-12);
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
  g_test_add_func ("/cpu-quota/v2", test_v2);
  g_test_add_func ("/cpu-quota/hybrid", test_hybrid);
  g_test_add_func ("/cpu-quota/v1-container", test_v1_container);
  g_test_add_func ("/cpu-quota/available", test_available);
  return g_test_run ();
}
