/* memory-bank.c — the memory-bank scorer: a patch's score is its distance to the nearest of a
 * bounded set of training patches (PatchCore-style). Training footage is contaminated, so the
 * bank is cleaned without labels: a patch far from every other image's patches (robust z-score
 * of its leave-own-image-out distance above outlier_z) is an outlier of the training set and is
 * left out. The rest — every patch of every image — is reduced to the bank size by a greedy
 * coreset (on a random projection, as PatchCore does), with a per-image cap so a few images
 * cannot fill the bank. */
#include <math.h>
#include <string.h>
#include "funad-private.h"

#define PROJECTED_DIM 32        /* the coreset selects on features projected to this */
#define IMAGE_CAP 2             /* an image gives at most IMAGE_CAP x its fair share */
#define OUTLIER_REFERENCE 20000   /* candidates the outlier test compares against, at most */

/* Every patch of every image is a candidate: the coreset needs the rare normal texture of
 * each image to have its chance (on the magnetic tiles, drawing 2 x the image's share of
 * patches at random before the coreset gave image AUROC 0.75; every patch, 0.79; README). */
/* Image i's P feature rows: features holds every image, `images` (NULL: 0..n-1) picks them. */
static inline const float *
image_rows (const float *features, const int *images, int i, int P, int D)
{
  return features + (gsize) (images ? images[i] : i) * P * D;
}

int *
funad_memory_bank_build (FunadModel *m, const float *features, const int *images, int n, int P,
                         int bank_size, float outlier_z, GRand *rng, const gint *cancel)
{
  int D = m->backbone.dim;
  funad_model_reset_bank_index (m);
  int quota = CLAMP (bank_size / n, 1, P);
  gsize total = (gsize) n * P;
  int *kept = g_new (int, total), *group = g_new (int, total);
  int n_kept = 0;
  float cut = INFINITY;
  float *dist = NULL;
  if (outlier_z > 0.f) {
    /* Leave-own-image-out distance of every candidate to a random reference subset of the
     * others (bounded, so the cost grows linearly with the frames), and a robust cut on it. */
    int n_ref = (int) MIN (total, OUTLIER_REFERENCE);
    float *ref = g_new (float, (gsize) n_ref * D);
    int *ref_group = g_new (int, n_ref), *pick = g_new (int, n_ref);
    int *scratch = g_new (int, total), *own = g_new (int, P), *nn = g_new (int, P);
    funad_sample_indices (rng, (int) total, n_ref, pick, scratch);
    for (int k = 0; k < n_ref; k++) {
      memcpy (ref + (gsize) k * D, image_rows (features, images, pick[k] / P, P, D)
              + (gsize) (pick[k] % P) * D, D * sizeof (float));
      ref_group[k] = pick[k] / P;
    }
    /* Image by image, reading the rows in place (no copy of the chosen images' features). */
    dist = g_new (float, total);
    for (int i = 0; i < n; i++) {
      for (int c = 0; c < P; c++)
        own[c] = i;
      funad_knn (image_rows (features, images, i, P, D), P, ref, n_ref, D, 1,
                 n > 1 ? own : NULL, n > 1 ? ref_group : NULL, 0, dist + (gsize) i * P, nn);
    }
    cut = (float) funad_robust_cut (dist, total, outlier_z, NULL, NULL);
    g_free (nn);
    g_free (own);
    g_free (scratch);
    g_free (pick);
    g_free (ref_group);
    g_free (ref);
  }
  for (gsize c = 0; c < total; c++)
    if (!dist || dist[c] <= cut) {
      kept[n_kept] = (int) c;
      group[n_kept++] = (int) (c / P);
    }
  g_free (dist);

  int *chosen = g_new (int, MAX (n_kept, 1));
  int rows;
  if (n_kept <= bank_size) {
    for (int i = 0; i < n_kept; i++)
      chosen[i] = i;
    rows = n_kept;
  } else {
    int pd = MIN (PROJECTED_DIM, D);
    float *proj = g_new (float, (gsize) D * pd), *low = g_new (float, (gsize) n_kept * pd);
    for (int i = 0; i < D * pd; i++)
      proj[i] = funad_gaussian (rng);
    if ((gsize) n_kept == total) {
      for (int i = 0; i < n; i++)
        funad_gemm_nn (P, pd, D, 1.f, image_rows (features, images, i, P, D), proj, 0.f,
                       low + (gsize) i * P * pd);
    } else {
      for (int i = 0; i < n_kept; i++)
        funad_gemm_nn (1, pd, D, 1.f, image_rows (features, images, kept[i] / P, P, D)
                       + (gsize) (kept[i] % P) * D, proj, 0.f, low + (gsize) i * pd);
    }
    rows = funad_coreset_select (low, n_kept, pd, bank_size, n > 1 ? group : NULL,
                                 IMAGE_CAP * quota, rng, cancel, chosen);
    g_free (low);
    g_free (proj);
  }
  g_free (m->bank);
  g_clear_pointer (&m->bank_floor, g_free);
  m->bank = g_new (float, (gsize) MAX (rows, 1) * D);
  int *bank_group = g_new (int, MAX (rows, 1));
  for (int i = 0; i < rows; i++) {
    int c = kept[chosen[i]];
    memcpy (m->bank + (gsize) i * D, image_rows (features, images, c / P, P, D)
            + (gsize) (c % P) * D, D * sizeof (float));
    bank_group[i] = group[chosen[i]];
  }
  g_free (chosen);
  m->bank_rows = rows;
  g_free (group);
  g_free (kept);
  return bank_group;
}

void
funad_bank_row_norms (const float *rows, const float *floor, int n, int dim, float *out)
{
  funad_squared_norms (rows, n, dim, out);
  for (int i = 0; floor && i < n; i++)
    out[i] += floor[i] * floor[i];
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
  float *norms = g_new (float, MAX (m->bank_rows, 1));
  funad_bank_row_norms (m->bank, m->bank_floor, m->bank_rows, m->backbone.dim, norms);
  funad_knn_normed (features, P, m->bank, norms, m->bank_rows, m->backbone.dim, 1, own,
                    own ? bank_group : NULL, exclude_within, scores, nn);
  g_free (norms);
  /* No neighbour (a non-finite feature, or every bank row left out) scores as far as a float
   * allows while staying finite, so the map's blur cannot turn it into NaN. */
  for (int i = 0; i < P; i++)
    scores[i] = isfinite (scores[i]) ? sqrtf (scores[i]) : FUNAD_SCORE_UNREACHABLE;
  g_free (own);
  g_free (nn);
}
