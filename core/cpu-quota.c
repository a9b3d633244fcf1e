/* cpu-quota.c — how many cores this process may really use. A container limited to two CPUs
 * on a 64-core host sees 64 processors (g_get_num_processors and OpenBLAS follow the CPU
 * affinity, not the scheduler's quota): threads beyond the quota only get throttled, and a
 * frame waits for the slowest. The quota is the cgroup's: cpu.max (v2) or cpu.cfs_quota_us
 * over cpu.cfs_period_us (v1), the smallest along the process's cgroup path, found through
 * /proc/self/mountinfo (where each hierarchy is mounted, and which part of it the mount
 * shows) and /proc/self/cgroup (the process's path in each). */
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

/* The smallest quota in dir + path and each directory above it, up to dir itself. */
static double
quota_along (const char *dir, const char *cgroup_path)
{
  double cores = 0;
  char *rel = g_strdup (cgroup_path);
  for (;;) {
    char *at = g_build_filename (dir, rel, NULL);
    cores = smaller_limit (cores, quota_in (at));
    g_free (at);
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

/* The process's cgroup path as seen inside a mount showing `root` of the hierarchy. A path
 * outside it (a container's mount shows only its own part, while /proc may list the host's
 * path) means the process sits at the mount's top. */
static const char *
path_in_mount (const char *path, const char *root)
{
  if (strcmp (root, "/") == 0)
    return path;
  gsize n = strlen (root);
  if (strncmp (path, root, n) == 0 && (path[n] == '/' || path[n] == '\0'))
    return path[n] ? path + n : "/";
  return "/";
}

static gboolean
lists (const char *comma_separated, const char *name)
{
  char **items = g_strsplit (comma_separated, ",", -1);
  gboolean found = g_strv_contains ((const char *const *) items, name);
  g_strfreev (items);
  return found;
}

double
funad_cpu_quota_find (const char *mountinfo, const char *proc_self_cgroup, const char *prefix)
{
  /* /proc/self/cgroup: "0::/path" (v2), "4:cpu,cpuacct:/path" (v1) */
  char *v2_path = NULL, *v1_path = NULL;
  char **lines = g_strsplit (proc_self_cgroup ? proc_self_cgroup : "", "\n", -1);
  for (int i = 0; lines[i]; i++) {
    char **f = g_strsplit (lines[i], ":", 3);
    if (g_strv_length (f) == 3 && f[2][0] == '/') {
      if (f[1][0] == '\0' && !v2_path)
        v2_path = g_strdup (f[2]);
      else if (lists (f[1], "cpu") && !v1_path)
        v1_path = g_strdup (f[2]);
    }
    g_strfreev (f);
  }
  g_strfreev (lines);

  /* /proc/self/mountinfo: "ID PARENT DEV ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE
   * SUPEROPTIONS" */
  double cores = 0;
  lines = g_strsplit (mountinfo ? mountinfo : "", "\n", -1);
  for (int i = 0; lines[i]; i++) {
    const char *dash = strstr (lines[i], " - ");
    if (!dash)
      continue;
    char *left = g_strndup (lines[i], dash - lines[i]);
    char **l = g_strsplit (left, " ", -1), **r = g_strsplit (dash + 3, " ", -1);
    if (g_strv_length (l) >= 5 && g_strv_length (r) >= 3) {
      const char *path = NULL;
      if (strcmp (r[0], "cgroup2") == 0)
        path = v2_path;
      else if (strcmp (r[0], "cgroup") == 0 && lists (r[2], "cpu"))
        path = v1_path;
      if (path) {
        char *dir = g_build_filename (prefix ? prefix : "/", l[4], NULL);
        cores = smaller_limit (cores, quota_along (dir, path_in_mount (path, l[3])));
        g_free (dir);
      }
    }
    g_strfreev (l);
    g_strfreev (r);
    g_free (left);
  }
  g_strfreev (lines);
  g_free (v2_path);
  g_free (v1_path);
  return cores;
}

int
funad_available_cores (void)
{
  int processors = (int) g_get_num_processors ();
  char *mountinfo = read_small_file ("/proc/self/mountinfo");
  char *self = read_small_file ("/proc/self/cgroup");
  double quota = funad_cpu_quota_find (mountinfo, self, NULL);
  g_free (mountinfo);
  g_free (self);
  /* Rounded down, at least one: a thread more than the quota is throttled every period, and
   * OpenBLAS's threads spin. */
  if (quota > 0)
    processors = MIN (processors, MAX (1, (int) floor (quota)));
  return MAX (processors, 1);
}
