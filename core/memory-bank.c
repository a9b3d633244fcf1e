/* memory-bank.c — the memory-bank scorer: a patch's score is its distance to the nearest of a
 * bounded set of training patches (PatchCore-style). Training footage is contaminated, so the
 * bank is cleaned without labels: a patch far from every other image's patches (robust z-score
 * of its leave-own-image-out distance above outlier_z) is an outlier of the training set and is
 * left out. The rest is reduced to the bank size by a greedy coreset (on a random projection,
 * as PatchCore does), with a per-image cap so a few images cannot fill the bank. */
#include <math.h>
#include <string.h>
#include "funad-private.h"

#define MIN_CANDIDATES 48       /* candidates drawn per image, at least */
#define PROJECTED_DIM 32        /* the coreset selects on features projected to this */
#define IMAGE_CAP 2             /* an image gives at most IMAGE_CAP x its fair share */
#define OUTLIER_REFERENCE 20000   /* candidates the outlier test compares against, at most */

int *
funad_memory_bank_build (FunadModel *m, const float *features, int n, int P, int bank_size,
                         float outlier_z, GRand *rng)
{
  int D = m->backbone.dim;
  funad_model_reset_bank_index (m);
  int quota = CLAMP (bank_size / n, 1, P);
  int per = MIN (MAX (2 * quota, MIN_CANDIDATES), P);
  int total = n * per;
  float *cand = g_new (float, (gsize) total * D);
  int *group = g_new (int, total), *perm = g_new (int, P);
  int *patches = g_new (int, per);
  for (int i = 0; i < n; i++) {
    funad_sample_indices (rng, P, per, patches, perm);
    for (int k = 0; k < per; k++) {
      memcpy (cand + ((gsize) i * per + k) * D, features + ((gsize) i * P + patches[k]) * D,
              D * sizeof (float));
      group[i * per + k] = i;
    }
  }
  g_free (patches);
  /* Leave-own-image-out distance of every candidate to a random reference subset of the
   * others (bounded, so the cost grows linearly with the bank), and a robust cut on it. */
  int n_ref = MIN (total, OUTLIER_REFERENCE);
  float *ref = g_new (float, (gsize) n_ref * D);
  int *ref_group = g_new (int, n_ref), *pick = g_new (int, n_ref);
  int *scratch = g_new (int, total);
  funad_sample_indices (rng, total, n_ref, pick, scratch);
  g_free (scratch);
  for (int k = 0; k < n_ref; k++) {
    memcpy (ref + (gsize) k * D, cand + (gsize) pick[k] * D, D * sizeof (float));
    ref_group[k] = group[pick[k]];
  }
  float *dist = g_new (float, total);
  int *nn = g_new (int, total);
  funad_knn (cand, total, ref, n_ref, D, 1, n > 1 ? group : NULL, n > 1 ? ref_group : NULL, 0,
             dist, nn);
  g_free (pick);
  g_free (ref_group);
  g_free (ref);
  float cut = outlier_z > 0.f ? (float) funad_robust_cut (dist, total, outlier_z, NULL, NULL)
                              : INFINITY;

  int kept = 0;
  for (int c = 0; c < total; c++)
    if (dist[c] <= cut) {
      if (kept != c) {
        memcpy (cand + (gsize) kept * D, cand + (gsize) c * D, D * sizeof (float));
        group[kept] = group[c];
      }
      kept++;
    }
  int *chosen = g_new (int, MAX (kept, 1));
  int rows;
  if (kept <= bank_size) {
    for (int i = 0; i < kept; i++)
      chosen[i] = i;
    rows = kept;
  } else {
    int pd = MIN (PROJECTED_DIM, D);
    float *proj = g_new (float, (gsize) D * pd), *low = g_new (float, (gsize) kept * pd);
    for (int i = 0; i < D * pd; i++)
      proj[i] = funad_gaussian (rng);
    funad_gemm_nn (kept, pd, D, 1.f, cand, proj, 0.f, low);
    rows = funad_coreset_select (low, kept, pd, bank_size, n > 1 ? group : NULL,
                                 IMAGE_CAP * quota, rng, chosen);
    g_free (low);
    g_free (proj);
  }
  g_free (m->bank);
  m->bank = g_new (float, (gsize) MAX (rows, 1) * D);
  int *bank_group = g_new (int, MAX (rows, 1));
  for (int i = 0; i < rows; i++) {
    memcpy (m->bank + (gsize) i * D, cand + (gsize) chosen[i] * D, D * sizeof (float));
    bank_group[i] = group[chosen[i]];
  }
  g_free (chosen);
  m->bank_rows = rows;
  g_free (nn);
  g_free (dist);
  g_free (perm);
  g_free (group);
  g_free (cand);
  return bank_group;
}

void
funad_memory_bank_score (const FunadModel *m, const float *features, int P, int group,
                         const int *bank_group, int exclude_within, float *scores)
{
  const FunadBankIndex *index = group < 0 ? funad_model_bank_index (m) : NULL;
  if (index) {
    funad_bank_index_search (index, features, P, scores);
    for (int i = 0; i < P; i++)
      scores[i] = isfinite (scores[i]) ? sqrtf (scores[i]) : FUNAD_SCORE_UNREACHABLE;
    return;
  }
  int *nn = g_new (int, P);
  int *own = NULL;
  if (group >= 0) {
    own = g_new (int, P);
    for (int i = 0; i < P; i++)
      own[i] = group;
  }
  funad_knn (features, P, m->bank, m->bank_rows, m->backbone.dim, 1, own,
             own ? bank_group : NULL, exclude_within, scores, nn);
  /* No neighbour (a non-finite feature, or every bank row left out) scores as far as a float
   * allows while staying finite, so the map's blur cannot turn it into NaN. */
  for (int i = 0; i < P; i++)
    scores[i] = isfinite (scores[i]) ? sqrtf (scores[i]) : FUNAD_SCORE_UNREACHABLE;
  g_free (own);
  g_free (nn);
}
