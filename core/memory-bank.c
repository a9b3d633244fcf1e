/* memory-bank.c — the memory-bank scorer: a patch's score is its distance to the nearest of a
 * bounded set of training patches (PatchCore-style). Training footage is contaminated, so the
 * bank is cleaned without labels: a patch far from every other image's patches (robust z-score
 * of its leave-own-image-out distance above 3) is an outlier of the training set and is left
 * out. Per-image quotas keep a few images from filling the bank. */
#include <math.h>
#include <string.h>
#include "funad-private.h"

#define OVERSAMPLE 2
#define OUTLIER_REFERENCE 20000   /* candidates the outlier test compares against, at most */
#ifndef OUTLIER_Z
#define OUTLIER_Z 3.0
#endif

int *
funad_memory_bank_build (FunadModel *m, const float *features, int n, int P, int bank_size,
                         GRand *rng)
{
  int D = m->backbone.dim;
  int quota = CLAMP (bank_size / n, 1, P);
  int per = MIN (OVERSAMPLE * quota, P);
  int total = n * per;
  float *cand = g_new (float, (gsize) total * D);
  int *group = g_new (int, total), *perm = g_new (int, P);
  for (int i = 0; i < n; i++) {
    for (int p = 0; p < P; p++)
      perm[p] = p;
    for (int k = 0; k < per; k++) {
      int j = g_rand_int_range (rng, k, P);
      int tmp = perm[k];
      perm[k] = perm[j];
      perm[j] = tmp;
      memcpy (cand + ((gsize) i * per + k) * D, features + ((gsize) i * P + perm[k]) * D,
              D * sizeof (float));
      group[i * per + k] = i;
    }
  }
  /* Leave-own-image-out distance of every candidate to a random reference subset of the
   * others (bounded, so the cost grows linearly with the bank), and a robust cut on it. */
  int n_ref = MIN (total, OUTLIER_REFERENCE);
  float *ref = g_new (float, (gsize) n_ref * D);
  int *ref_group = g_new (int, n_ref), *pick = g_new (int, total);
  for (int i = 0; i < total; i++)
    pick[i] = i;
  for (int k = 0; k < n_ref; k++) {
    int j = g_rand_int_range (rng, k, total);
    int tmp = pick[k];
    pick[k] = pick[j];
    pick[j] = tmp;
    memcpy (ref + (gsize) k * D, cand + (gsize) pick[k] * D, D * sizeof (float));
    ref_group[k] = group[pick[k]];
  }
  float *dist = g_new (float, total), *dev = g_new (float, total);
  int *nn = g_new (int, total);
  funad_knn (cand, total, ref, n_ref, D, 1, n > 1 ? group : NULL, n > 1 ? ref_group : NULL,
             dist, nn);
  g_free (pick);
  g_free (ref_group);
  g_free (ref);
  double median = funad_quantile (dist, total, 0.5);
  for (int i = 0; i < total; i++)
    dev[i] = fabsf (dist[i] - (float) median);
  double mad = funad_quantile (dev, total, 0.5);
  float cut = (float) (median + OUTLIER_Z * 1.4826 * mad);

  g_free (m->bank);
  m->bank = g_new (float, (gsize) n * quota * D);
  int *bank_group = g_new (int, n * quota);
  int rows = 0;
  for (int i = 0; i < n; i++) {
    int taken = 0;
    for (int k = 0; k < per && taken < quota; k++) {
      int c = i * per + k;
      if (dist[c] > cut)
        continue;
      memcpy (m->bank + (gsize) rows * D, cand + (gsize) c * D, D * sizeof (float));
      bank_group[rows++] = i;
      taken++;
    }
  }
  m->bank_rows = rows;
  g_free (nn);
  g_free (dev);
  g_free (dist);
  g_free (perm);
  g_free (group);
  g_free (cand);
  return bank_group;
}

void
funad_memory_bank_score (const FunadModel *m, const float *features, int P, int group,
                         const int *bank_group, float *scores)
{
  int *nn = g_new (int, P);
  int *own = NULL;
  if (group >= 0) {
    own = g_new (int, P);
    for (int i = 0; i < P; i++)
      own[i] = group;
  }
  funad_knn (features, P, m->bank, m->bank_rows, m->backbone.dim, 1, own,
             own ? bank_group : NULL, scores, nn);
  for (int i = 0; i < P; i++)
    scores[i] = isfinite (scores[i]) ? sqrtf (scores[i]) : 0.f;
  g_free (own);
  g_free (nn);
}
