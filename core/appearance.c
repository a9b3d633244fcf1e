/* appearance.c — how unlike every other training frame a frame looks as a whole.
 * A frame's appearance is the mean of its patch features, each dimension standardised over
 * the frames; its outlier score is the distance to the nearest other frame's appearance,
 * leaving out the frames within `window` of it in order (consecutive video frames are
 * near-copies and would vouch for each other). On the magnetic tiles, defective frames also
 * differ as a whole (another surface finish, another light): this score ranked the
 * contaminated training frames at AUROC 0.80, where the memory bank's own leave-out score
 * ranked them at 0.76, and the two agree only loosely (correlation 0.40). */
#include <math.h>
#include <string.h>
#include "funad-private.h"

void
funad_appearance_outlier_scores (const float *features, int n, int P, int D, int window,
                                 float *scores)
{
  float *look = g_new0 (float, (gsize) n * D);
  double *mean = g_new0 (double, D), *var = g_new0 (double, D);
  for (int i = 0; i < n; i++) {
    float *a = look + (gsize) i * D;
    const float *f = features + (gsize) i * P * D;
    for (int p = 0; p < P; p++)
      for (int j = 0; j < D; j++)
        a[j] += f[(gsize) p * D + j];
    for (int j = 0; j < D; j++) {
      a[j] /= P;
      mean[j] += a[j];
    }
  }
  for (int j = 0; j < D; j++)
    mean[j] /= n;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < D; j++) {
      double d = look[(gsize) i * D + j] - mean[j];
      var[j] += d * d;
    }
  /* A dimension that never varies carries no evidence: it is zeroed, not divided by ~0. */
  for (int j = 0; j < D; j++) {
    double sd = sqrt (var[j] / n);
    for (int i = 0; i < n; i++) {
      float *v = look + (gsize) i * D + j;
      *v = sd > 1e-12 ? (float) ((*v - mean[j]) / sd) : 0.f;
    }
  }
  int *group = g_new (int, n), *nn = g_new (int, n);
  for (int i = 0; i < n; i++)
    group[i] = i;
  funad_knn (look, n, look, n, D, 1, group, group, window, scores, nn);
  /* A frame with no frame outside its window (tiny sets) has no evidence against it. */
  for (int i = 0; i < n; i++)
    scores[i] = isfinite (scores[i]) ? sqrtf (MAX (scores[i], 0.f)) : 0.f;
  g_free (nn);
  g_free (group);
  g_free (var);
  g_free (mean);
  g_free (look);
}
