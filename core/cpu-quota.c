/* cpu-quota.c — how many cores this process may really use. A container limited to two CPUs
 * on a 64-core host sees 64 processors (g_get_num_processors and OpenBLAS follow the CPU
 * affinity, not the scheduler's quota): threads beyond the quota only get throttled, and a
 * frame waits for the slowest. The quota is the cgroup's: cpu.max (v2) or cpu.cfs_quota_us
 * over cpu.cfs_period_us (v1), the smallest along the process's cgroup path. */
#include "funad-private.h"

#include <math.h>
#include <stdlib.h>

/* cpu.max (cgroup v2): "QUOTA PERIOD" or "max PERIOD". 0 when there is no limit. */
double
funad_cpu_quota_parse_v2 (const char *cpu_max)
{
  if (!cpu_max)
    return 0;
  char *text = g_strstrip (g_strdup (cpu_max));
  char **f = g_strsplit_set (text, " \t", -1);
  double cores = 0;
  if (g_strv_length (f) == 2 && strcmp (f[0], "max") != 0) {
    char *end1, *end2;
    double quota = g_ascii_strtod (f[0], &end1), period = g_ascii_strtod (f[1], &end2);
    if (*end1 == '\0' && *end2 == '\0' && quota > 0 && period > 0)
      cores = quota / period;
  }
  g_strfreev (f);
  g_free (text);
  return cores;
}

/* cpu.cfs_quota_us and cpu.cfs_period_us (cgroup v1): a quota of -1 means no limit. */
double
funad_cpu_quota_parse_v1 (const char *quota_us, const char *period_us)
{
  if (!quota_us || !period_us)
    return 0;
  char *end1, *end2;
  double quota = g_ascii_strtod (quota_us, &end1), period = g_ascii_strtod (period_us, &end2);
  while (g_ascii_isspace (*end1))
    end1++;
  while (g_ascii_isspace (*end2))
    end2++;
  if (*end1 != '\0' || *end2 != '\0' || quota <= 0 || period <= 0)
    return 0;
  return quota / period;
}

static char *
read_small_file (const char *path)
{
  char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return text;
}

/* The quota of one cgroup directory, v2 or v1 files; 0 for none. */
static double
quota_in (const char *dir)
{
  char *path = g_build_filename (dir, "cpu.max", NULL);
  char *text = read_small_file (path);
  double cores = funad_cpu_quota_parse_v2 (text);
  g_free (text);
  g_free (path);
  if (cores > 0)
    return cores;
  char *qpath = g_build_filename (dir, "cpu.cfs_quota_us", NULL);
  char *ppath = g_build_filename (dir, "cpu.cfs_period_us", NULL);
  char *q = read_small_file (qpath), *p = read_small_file (ppath);
  cores = funad_cpu_quota_parse_v1 (q, p);
  g_free (q);
  g_free (p);
  g_free (qpath);
  g_free (ppath);
  return cores;
}

static double
smaller_limit (double a, double b)
{
  if (a <= 0)
    return b;
  if (b <= 0)
    return a;
  return MIN (a, b);
}

/* The smallest quota in mount + path and each directory above it, up to the mount itself. */
static double
quota_along (const char *mount, const char *cgroup_path)
{
  double cores = 0;
  char *rel = g_strdup (cgroup_path);
  for (;;) {
    char *dir = g_build_filename (mount, rel, NULL);
    cores = smaller_limit (cores, quota_in (dir));
    g_free (dir);
    char *slash = strrchr (rel, '/');
    if (!slash || (slash == rel && rel[1] == '\0'))
      break;
    if (slash == rel)
      slash[1] = '\0';
    else
      *slash = '\0';
  }
  g_free (rel);
  return cores;
}

double
funad_cpu_quota_at (const char *cgroup_root, const char *proc_self_cgroup)
{
  double cores = 0;
  char **lines = g_strsplit (proc_self_cgroup ? proc_self_cgroup : "", "\n", -1);
  for (int i = 0; lines[i]; i++) {
    /* "0::/path" (v2) or "4:cpu,cpuacct:/path" (v1) */
    char **f = g_strsplit (lines[i], ":", 3);
    if (g_strv_length (f) == 3 && f[2][0] == '/') {
      char **controllers = g_strsplit (f[1], ",", -1);
      gboolean v2 = f[1][0] == '\0', cpu = g_strv_contains ((const char *const *) controllers, "cpu");
      if (v2)
        cores = smaller_limit (cores, quota_along (cgroup_root, f[2]));
      if (cpu) {
        char *mount = g_build_filename (cgroup_root, f[1], NULL);
        char *mount_cpu = g_build_filename (cgroup_root, "cpu", NULL);
        cores = smaller_limit (cores, quota_along (mount, f[2]));
        cores = smaller_limit (cores, quota_along (mount_cpu, f[2]));
        g_free (mount);
        g_free (mount_cpu);
      }
      g_strfreev (controllers);
    }
    g_strfreev (f);
  }
  g_strfreev (lines);
  /* A container with its own cgroup namespace sees its cgroup at the mount's root, whatever
   * path /proc lists: the roots' own files count too. */
  cores = smaller_limit (cores, quota_in (cgroup_root));
  char *v1 = g_build_filename (cgroup_root, "cpu", NULL);
  cores = smaller_limit (cores, quota_in (v1));
  g_free (v1);
  return cores;
}

int
funad_available_cores (void)
{
  int processors = (int) g_get_num_processors ();
  char *self = read_small_file ("/proc/self/cgroup");
  double quota = funad_cpu_quota_at ("/sys/fs/cgroup", self);
  g_free (self);
  /* Rounded down, at least one: a thread more than the quota is throttled every period. */
  if (quota > 0)
    processors = MIN (processors, MAX (1, (int) floor (quota)));
  return MAX (processors, 1);
}
