/* appearance.c — how unlike the other training frames a frame looks, place by place.
 * The grid is cut into blocks of BLOCK_CELLS x BLOCK_CELLS cells (32 x 32 pixels at the
 * default size); a block's appearance is the mean of its cells' features, each dimension
 * standardised over every block of every frame. A block is compared with the same block of
 * the other frames (its FUNAD_APPEARANCE_RANK-th nearest, leaving out the frames within `window` in
 * order: consecutive video frames are near-copies and would vouch for each other), and the
 * frame's score is the mean of its blocks' distances. On the magnetic tiles this ranked the
 * contaminated training frames at AUROC 0.90 at contamination 0.1 with the nearest block,
 * where the memory bank's own leave-out score ranked them at 0.76, the whole frame as one
 * block at 0.80, and the largest block distance at 0.81: defective frames differ a little
 * almost everywhere, more than they differ a lot in one place. */
/* Why the third nearest: defective frames alike (the same defect seen twice, a recurring
 * kind) vouch for each other through the nearest. At contamination 0.2 the nearest ranked the
 * defective frames at AUROC 0.79, the second at 0.87, the third at 0.90 (0.1: 0.90, 0.94,
 * 0.95); the fifth fell back to 0.85, mixing in frames that are merely rare. */
#include <math.h>
#include <string.h>
#include "funad-private.h"

#define BLOCK_CELLS 4

int
funad_appearance_blocks (int grid)
{
  return MAX (1, grid / BLOCK_CELLS);
}

/* The block (of B x B) that grid cell c falls in; the last row and column of blocks take
 * the cells left over when grid is not a multiple of BLOCK_CELLS. */
static inline int
block_of (int c, int grid, int B)
{
  return MIN (c / grid / BLOCK_CELLS, B - 1) * B + MIN (c % grid / BLOCK_CELLS, B - 1);
}

void
funad_appearance_outlier_scores (const float *features, const int *frames, int n, int grid,
                                 int D, int window, float *scores)
{
  const int B = funad_appearance_blocks (grid), nb = B * B, P = grid * grid;
  /* look[(b * n + i) * D]: block b of frame i, so each block position is one matrix. */
  float *look = g_new0 (float, (gsize) nb * n * D);
  int *count = g_new0 (int, nb);
  for (int c = 0; c < P; c++)
    count[block_of (c, grid, B)]++;
  for (int i = 0; i < n; i++)
    for (int c = 0; c < P; c++) {
      int b = block_of (c, grid, B);
      float *a = look + ((gsize) b * n + i) * D;
      const float *f = features + ((gsize) (frames ? frames[i] : i) * P + c) * D;
      for (int j = 0; j < D; j++)
        a[j] += f[j] / count[b];
    }
  /* Standardise each dimension over all blocks; one that never varies carries no evidence
   * and is zeroed, not divided by ~0. */
  gsize rows = (gsize) nb * n;
  double *mean = g_new0 (double, D), *var = g_new0 (double, D);
  for (gsize r = 0; r < rows; r++)
    for (int j = 0; j < D; j++)
      mean[j] += look[r * D + j];
  for (int j = 0; j < D; j++)
    mean[j] /= rows;
  for (gsize r = 0; r < rows; r++)
    for (int j = 0; j < D; j++) {
      double d = look[r * D + j] - mean[j];
      var[j] += d * d;
    }
  for (int j = 0; j < D; j++) {
    double sd = sqrt (var[j] / rows);
    for (gsize r = 0; r < rows; r++) {
      float *v = look + r * D + j;
      *v = sd > 1e-12 ? (float) ((*v - mean[j]) / sd) : 0.f;
    }
  }
  const int K = FUNAD_APPEARANCE_RANK;
  int *group = g_new (int, n), *nn = g_new (int, (gsize) n * K);
  float *dist = g_new (float, (gsize) n * K);
  for (int i = 0; i < n; i++) {
    group[i] = i;
    scores[i] = 0.f;
  }
  for (int b = 0; b < nb; b++) {
    const float *m = look + (gsize) b * n * D;
    funad_knn (m, n, m, n, D, K, group, group, window, dist, nn);
    /* With fewer than K frames outside its window (small sets), the farthest of those there
     * are; with none, no evidence against it. */
    for (int i = 0; i < n; i++) {
      const float *d = dist + (gsize) i * K;
      int r = K - 1;
      while (r > 0 && !isfinite (d[r]))
        r--;
      scores[i] += (isfinite (d[r]) ? sqrtf (MAX (d[r], 0.f)) : 0.f) / nb;
    }
  }
  g_free (dist);
  g_free (nn);
  g_free (group);
  g_free (var);
  g_free (mean);
  g_free (count);
  g_free (look);
}
