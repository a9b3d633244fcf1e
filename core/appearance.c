/* appearance.c — how unlike the training frames a frame looks, place by place.
 * The grid is cut into blocks of BLOCK_CELLS x BLOCK_CELLS cells (32 x 32 pixels at the
 * default size); a block's look is the mean of its cells' features, each dimension
 * standardised over every block of the frames compared. A block is compared with the same
 * block of the other frames (its FUNAD_APPEARANCE_RANK-th nearest, leaving out the frames
 * within `window` in order: consecutive video frames are near-copies and would vouch for each
 * other), and the frame's distance is the mean of its blocks' distances. On the magnetic
 * tiles this ranked the contaminated training frames at AUROC 0.90 at contamination 0.1 with
 * the nearest block, where the memory bank's own leave-out score ranked them at 0.76, the
 * whole frame as one block at 0.80, and the largest block distance at 0.81: defective frames
 * differ a little almost everywhere, more than they differ a lot in one place.
 * Two uses: the trainer leaves the training frames that look least like the others out of
 * the bank (funad_appearance_outlier_scores), and the frames it keeps become the reference
 * every scored frame is compared with (FunadAppearance): its robust z is added to every patch
 * score, so a frame unlike all of them scores higher everywhere. */
/* Why the third nearest: defective frames alike (the same defect seen twice, a recurring
 * kind) vouch for each other through the nearest. At contamination 0.2 the nearest ranked the
 * defective frames at AUROC 0.79, the second at 0.87, the third at 0.90 (0.1: 0.90, 0.94,
 * 0.95); the fifth fell back to 0.85, mixing in frames that are merely rare. */
#include <math.h>
#include <string.h>
#include "funad-private.h"

#define BLOCK_CELLS 4
#define MIN_REFERENCE_FRAMES 8  /* fewer kept frames give no stable spread: no term */

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

/* looks[(b * n + i) * D]: block b of frame i (frames[i] of `features`, or i), the mean of its
 * cells' features, so that each block position is one n x D matrix. */
static void
block_looks (const float *features, const int *frames, int n, int grid, int D, float *looks)
{
  const int B = funad_appearance_blocks (grid), nb = B * B, P = grid * grid;
  int *count = g_new0 (int, nb);
  for (int c = 0; c < P; c++)
    count[block_of (c, grid, B)]++;
  memset (looks, 0, sizeof (float) * nb * n * D);
  for (int i = 0; i < n; i++)
    for (int c = 0; c < P; c++) {
      int b = block_of (c, grid, B);
      float *a = looks + ((gsize) b * n + i) * D;
      const float *f = features + ((gsize) (frames ? frames[i] : i) * P + c) * D;
      for (int j = 0; j < D; j++)
        a[j] += f[j] / count[b];
    }
  g_free (count);
}

/* Each dimension's mean and standard deviation over `rows` looks. */
static void
fit_standardisation (const float *looks, gsize rows, int D, double *mean, double *sd)
{
  double *sq = g_new0 (double, D);
  for (int j = 0; j < D; j++)
    mean[j] = 0.0;
  for (gsize r = 0; r < rows; r++)
    for (int j = 0; j < D; j++)
      mean[j] += looks[r * D + j];
  for (int j = 0; j < D; j++)
    mean[j] /= MAX (rows, 1);
  for (gsize r = 0; r < rows; r++)
    for (int j = 0; j < D; j++) {
      double d = looks[r * D + j] - mean[j];
      sq[j] += d * d;
    }
  for (int j = 0; j < D; j++)
    sd[j] = sqrt (sq[j] / MAX (rows, 1));
  g_free (sq);
}

/* Standardises `rows` looks in place; a dimension that never varies carries no evidence and
 * is zeroed, not divided by ~0. */
static void
standardise (float *looks, gsize rows, int D, const double *mean, const double *sd)
{
  for (gsize r = 0; r < rows; r++)
    for (int j = 0; j < D; j++) {
      float *v = looks + r * D + j;
      *v = sd[j] > 1e-12 ? (float) ((*v - mean[j]) / sd[j]) : 0.f;
    }
}

/* One block's share of a frame's distance: the FUNAD_APPEARANCE_RANK-th nearest of the K
 * squared distances d (the farthest finite one when fewer references were left; none: 0), as
 * a distance over the nb blocks. */
static inline float
block_share (const float *d, int nb)
{
  int r = FUNAD_APPEARANCE_RANK - 1;
  while (r > 0 && !isfinite (d[r]))
    r--;
  return (isfinite (d[r]) ? sqrtf (MAX (d[r], 0.f)) : 0.f) / nb;
}

/* For nq query frames' looks (nb x nq x D), the mean over blocks of the distance to the
 * FUNAD_APPEARANCE_RANK-th nearest of the nr reference looks (nb x nr x D) at the same block,
 * skipping references whose frame is within window of the query's (q_frame, r_frame; NULL:
 * skip none). With fewer references left, the farthest of those there are; with none, 0. */
static void
look_distances (const float *q, int nq, const int *q_frame, const float *ref,
                const float *ref_norms, int nr, const int *r_frame, int nb, int D, int window,
                float *out)
{
  const int K = FUNAD_APPEARANCE_RANK;
  int *nn = g_new (int, (gsize) nq * K);
  float *dist = g_new (float, (gsize) nq * K);
  for (int i = 0; i < nq; i++)
    out[i] = 0.f;
  for (int b = 0; b < nb; b++) {
    const float *r = ref + (gsize) b * nr * D;
    if (ref_norms)
      funad_knn_normed (q + (gsize) b * nq * D, nq, r, ref_norms + (gsize) b * nr, nr, D, K,
                        q_frame, r_frame, window, dist, nn);
    else
      funad_knn (q + (gsize) b * nq * D, nq, r, nr, D, K, q_frame, r_frame, window, dist, nn);
    for (int i = 0; i < nq; i++)
      out[i] += block_share (dist + (gsize) i * K, nb);
  }
  g_free (dist);
  g_free (nn);
}

/* Frame numbers 0..n-1 where the caller gives none. */
static int *
frame_numbers (const int *frames, int n)
{
  int *out = g_new (int, MAX (n, 1));
  for (int i = 0; i < n; i++)
    out[i] = frames ? frames[i] : i;
  return out;
}

void
funad_appearance_outlier_scores (const float *features, const int *frames, int n, int grid,
                                 int D, int window, float *scores)
{
  const int B = funad_appearance_blocks (grid), nb = B * B;
  float *looks = g_new (float, (gsize) nb * n * D);
  double *mean = g_new (double, D), *sd = g_new (double, D);
  int *order = frame_numbers (NULL, n);
  block_looks (features, frames, n, grid, D, looks);
  fit_standardisation (looks, (gsize) nb * n, D, mean, sd);
  standardise (looks, (gsize) nb * n, D, mean, sd);
  look_distances (looks, n, order, looks, NULL, n, order, nb, D, window, scores);
  g_free (order);
  g_free (sd);
  g_free (mean);
  g_free (looks);
}

void
funad_appearance_clear (FunadAppearance *a)
{
  g_clear_pointer (&a->mean, g_free);
  g_clear_pointer (&a->std, g_free);
  g_clear_pointer (&a->looks, g_free);
  g_clear_pointer (&a->norms, g_free);
  a->n_frames = 0;
}

void
funad_appearance_alloc (FunadAppearance *a, int n_frames, int n_blocks, int D)
{
  funad_appearance_clear (a);
  a->n_frames = n_frames;
  a->n_blocks = n_blocks;
  a->dim = D;
  a->mean = g_new0 (float, D);
  a->std = g_new0 (float, D);
  a->looks = g_new0 (float, (gsize) n_blocks * n_frames * D);
}

gboolean
funad_appearance_fit (FunadAppearance *a, const float *features, const int *frames, int n,
                      int grid, int D, int window, float weight)
{
  const int nb = funad_appearance_blocks (grid);
  funad_appearance_clear (a);
  if (n < MIN_REFERENCE_FRAMES || !(weight > 0.f))
    return FALSE;
  funad_appearance_alloc (a, n, nb * nb, D);
  block_looks (features, frames, n, grid, D, a->looks);
  double *mean = g_new (double, D), *sd = g_new (double, D);
  fit_standardisation (a->looks, (gsize) a->n_blocks * n, D, mean, sd);
  /* Stored as floats, and used as stored, so that a scored frame is standardised exactly as
   * the reference was. */
  for (int j = 0; j < D; j++) {
    a->mean[j] = (float) mean[j];
    a->std[j] = sd[j] > 1e-12 ? (float) sd[j] : 0.f;
    mean[j] = a->mean[j];
    sd[j] = a->std[j];
  }
  standardise (a->looks, (gsize) a->n_blocks * n, D, mean, sd);
  g_free (sd);
  g_free (mean);
  /* The reference frames' own distances, each leaving out itself and its neighbours in
   * order, give the spread a new frame's distance is measured in. */
  float *own = g_new (float, n);
  int *number = frame_numbers (frames, n);
  look_distances (a->looks, n, number, a->looks, NULL, n, number, a->n_blocks, D, window,
                  own);
  double median, mad;
  funad_robust_cut (own, n, 0.0, &median, &mad);
  g_free (number);
  g_free (own);
  a->median = (float) median;
  a->scale = (float) (1.4826 * mad);
  a->weight = weight;
  if (!(a->scale > 0.f) || !isfinite (a->scale)) {
    funad_appearance_clear (a);
    return FALSE;
  }
  funad_appearance_ready (a);
  return TRUE;
}

void
funad_appearance_ready (FunadAppearance *a)
{
  g_free (a->norms);
  a->norms = g_new (float, (gsize) a->n_blocks * MAX (a->n_frames, 1));
  funad_squared_norms (a->looks, a->n_blocks * a->n_frames, a->dim, a->norms);
}

void
funad_appearance_offsets (const FunadAppearance *a, const float *features, const int *frames,
                          int n, int grid, const int *reference_frames, int window,
                          float *offsets)
{
  if (!a->n_frames) {
    memset (offsets, 0, sizeof (float) * n);
    return;
  }
  const int D = a->dim;
  float *looks = g_new (float, (gsize) a->n_blocks * n * D);
  double *mean = g_new (double, D), *sd = g_new (double, D);
  int *number = reference_frames ? frame_numbers (frames, n) : NULL;
  for (int j = 0; j < D; j++) {
    mean[j] = a->mean[j];
    sd[j] = a->std[j];
  }
  block_looks (features, frames, n, grid, D, looks);
  standardise (looks, (gsize) a->n_blocks * n, D, mean, sd);
  look_distances (looks, n, number, a->looks, a->norms, a->n_frames, reference_frames,
                  a->n_blocks, D, window, offsets);
  for (int i = 0; i < n; i++)
    offsets[i] = a->weight * (offsets[i] - a->median) / a->scale;
  g_free (number);
  g_free (sd);
  g_free (mean);
  g_free (looks);
}

void
funad_appearance_shift (float *patch_scores, int count, float offset)
{
  for (int i = 0; i < count; i++)
    if (patch_scores[i] < FUNAD_SCORE_UNREACHABLE)  /* an unreachable patch stays so */
      patch_scores[i] = CLAMP (patch_scores[i] + offset, -FUNAD_SCORE_UNREACHABLE,
                               FUNAD_SCORE_UNREACHABLE);
}

/* One scored frame, in three steps, so that a scorer can share the blocks among its threads;
 * together they give what funad_appearance_offsets gives for the frame alone, to the bit (the
 * same products, the shares summed in block order). */
void
funad_appearance_frame_looks (const FunadAppearance *a, const float *features, int grid,
                              float *looks)
{
  const int D = a->dim;
  double *mean = g_new (double, D), *sd = g_new (double, D);
  for (int j = 0; j < D; j++) {
    mean[j] = a->mean[j];
    sd[j] = a->std[j];
  }
  block_looks (features, NULL, 1, grid, D, looks);
  standardise (looks, a->n_blocks, D, mean, sd);
  g_free (sd);
  g_free (mean);
}

void
funad_appearance_frame_shares (const FunadAppearance *a, const float *looks, int b0, int b1,
                               float *shares)
{
  const int K = FUNAD_APPEARANCE_RANK, D = a->dim, nr = a->n_frames;
  float dist[FUNAD_APPEARANCE_RANK];
  int nn[FUNAD_APPEARANCE_RANK];
  for (int b = b0; b < b1; b++) {
    funad_knn_normed (looks + (gsize) b * D, 1, a->looks + (gsize) b * nr * D,
                      a->norms + (gsize) b * nr, nr, D, K, NULL, NULL, 0, dist, nn);
    shares[b] = block_share (dist, a->n_blocks);
  }
}

float
funad_appearance_frame_offset (const FunadAppearance *a, const float *shares)
{
  float distance = 0.f;
  for (int b = 0; b < a->n_blocks; b++)
    distance += shares[b];
  return a->weight * (distance - a->median) / a->scale;
}
