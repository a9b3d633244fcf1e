/* knn.c — exact nearest neighbours through sgemm: |q - r|^2 = |q|^2 + |r|^2 - 2 q.r, in tiles
 * so that memory stays bounded whatever the bank size. */
#include <math.h>
#include <stdlib.h>
#include "funad-private.h"

#define QUERY_TILE 512
#define REF_TILE 4096

void
funad_squared_norms (const float *x, int n, int d, float *out)
{
  for (int i = 0; i < n; i++) {
    const float *row = x + (gsize) i * d;
    float s = 0.f;
    for (int j = 0; j < d; j++)
      s += row[j] * row[j];
    out[i] = s;
  }
}

/* Inserts (value, idx) into the ascending top-k list if it belongs there. */
static inline void
topk_insert (float *dist, int *index, int k, float value, int idx)
{
  if (value >= dist[k - 1])
    return;
  int p = k - 1;
  while (p > 0 && dist[p - 1] > value) {
    dist[p] = dist[p - 1];
    index[p] = index[p - 1];
    p--;
  }
  dist[p] = value;
  index[p] = idx;
}

void
funad_knn (const float *q, int nq, const float *r, int nr, int d, int k, const int *q_group,
           const int *r_group, int exclude_within, float *dist, int *index)
{
  float *rn = g_new (float, MAX (nr, 1));
  funad_squared_norms (r, nr, d, rn);
  funad_knn_normed (q, nq, r, rn, nr, d, k, q_group, r_group, exclude_within, dist, index);
  g_free (rn);
}

void
funad_knn_normed (const float *q, int nq, const float *r, const float *rn, int nr, int d, int k,
                  const int *q_group, const int *r_group, int exclude_within, float *dist,
                  int *index)
{
  float *qn = g_new (float, MAX (nq, 1));
  /* A tile no larger than the products need: a few queries are common (one frame's blocks). */
  float *dot = g_new (float, (gsize) MAX (1, MIN (nq, QUERY_TILE)) * MAX (1, MIN (nr, REF_TILE)));
  funad_squared_norms (q, nq, d, qn);
  for (gsize i = 0; i < (gsize) nq * k; i++) {
    dist[i] = INFINITY;
    index[i] = -1;
  }
  for (int q0 = 0; q0 < nq; q0 += QUERY_TILE) {
    int qm = MIN (QUERY_TILE, nq - q0);
    for (int r0 = 0; r0 < nr; r0 += REF_TILE) {
      int rm = MIN (REF_TILE, nr - r0);
      funad_gemm_nt (qm, rm, d, -2.f, q + (gsize) q0 * d, r + (gsize) r0 * d, 0.f, dot);
      for (int i = 0; i < qm; i++) {
        float *row = dot + (gsize) i * rm;
        float *di = dist + (gsize) (q0 + i) * k;
        int *ii = index + (gsize) (q0 + i) * k;
        int group = q_group ? q_group[q0 + i] : -1;
        float base = qn[q0 + i];
        const float *norms = rn + r0;
        /* The distances first, in a loop that vectorises; then the selection. Rounding can
         * make a distance slightly negative; clamp at zero. A NaN (from a non-finite
         * feature) is as far as can be, never a match. */
        for (int j = 0; j < rm; j++) {
          float v = base + norms[j] + row[j];
          row[j] = v > 0.f ? v : (v != v ? INFINITY : 0.f);
        }
        for (int j = 0; j < rm; j++) {
          if (q_group && abs (r_group[r0 + j] - group) <= exclude_within)
            continue;
          topk_insert (di, ii, k, row[j], r0 + j);
        }
      }
    }
  }
  g_free (dot);
  g_free (qn);
}

int
funad_mutual_pairs (const float *x, int n, int d, int *pair_i, int *pair_j)
{
  int *self = g_new (int, n);
  int *nearest = g_new (int, n);
  float *dist = g_new (float, n);
  for (int i = 0; i < n; i++)
    self[i] = i;
  funad_knn (x, n, x, n, d, 1, self, self, 0, dist, nearest);
  int count = 0;
  for (int i = 0; i < n; i++) {
    int j = nearest[i];
    if (j > i && nearest[j] == i) {
      pair_i[count] = i;
      pair_j[count] = j;
      count++;
    }
  }
  g_free (dist);
  g_free (nearest);
  g_free (self);
  return count;
}
