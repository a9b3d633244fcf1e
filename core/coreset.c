/* coreset.c — greedy k-center coreset (as PatchCore selects its memory bank): repeatedly take
 * the candidate farthest from everything taken so far, so a small bank still covers the whole
 * feature distribution. A per-group cap keeps any one image from filling the bank. */
#include <cblas.h>
#include <math.h>
#include <string.h>
#include "funad-private.h"

int
funad_coreset_select (const float *x, int n, int d, int k, const int *group, int group_cap,
                      GRand *rng, int *selected)
{
  if (n == 0 || k <= 0)
    return 0;
  float *norm = g_new (float, n), *mind = g_new (float, n), *dot = g_new (float, n);
  int n_groups = 0;
  for (int i = 0; i < n; i++) {
    const float *row = x + (gsize) i * d;
    float s = 0.f;
    for (int j = 0; j < d; j++)
      s += row[j] * row[j];
    norm[i] = s;
    mind[i] = INFINITY;
    if (group)
      n_groups = MAX (n_groups, group[i] + 1);
  }
  int *taken_per_group = g_new0 (int, MAX (n_groups, 1));
  int count = 0, next = g_rand_int_range (rng, 0, n);
  while (count < k && next >= 0) {
    selected[count++] = next;
    if (group)
      taken_per_group[group[next]]++;
    mind[next] = -1.f;   /* taken */
    const float *c = x + (gsize) next * d;
    cblas_sgemv (CblasRowMajor, CblasNoTrans, n, d, 1.f, x, d, c, 1, 0.f, dot, 1);
    float cn = norm[next];
    next = -1;
    float best = -1.f;
    for (int i = 0; i < n; i++) {
      if (mind[i] < 0.f)
        continue;
      float dist = MAX (norm[i] + cn - 2.f * dot[i], 0.f);
      if (dist < mind[i])
        mind[i] = dist;
      if (group && taken_per_group[group[i]] >= group_cap)
        continue;
      if (mind[i] > best) {
        best = mind[i];
        next = i;
      }
    }
  }
  g_free (taken_per_group);
  g_free (dot);
  g_free (mind);
  g_free (norm);
  return count;
}
