/* irmb.c — the iteratively reconstructed memory bank's two choices, apart from the trainer's
 * loop so that they can be checked on small inputs: which images are candidate normals, and
 * which sampled patches are pseudo-anomalies. */
#include "funad-private.h"

#include <math.h>

void
funad_irmb_candidates (const float *scores, int n, gboolean robust, double z, gboolean *candidate)
{
  int n_cand = 0;
  float lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < n; i++)
    lo = MIN (lo, scores[i]), hi = MAX (hi, scores[i]);
  double cut = robust ? funad_robust_cut (scores, n, z, NULL, NULL) : 0.0;
  for (int i = 0; i < n; i++) {
    if (robust)
      candidate[i] = scores[i] <= cut;
    else
      candidate[i] = hi > lo ? (scores[i] - lo) / (hi - lo) < 0.5f : TRUE;
    n_cand += candidate[i];
  }
  /* A tiny candidate set (one outlier stretching the min-max) must never starve the bank:
   * fall back to the lower-scoring half of the images. */
  if (n_cand < funad_irmb_min_candidates (n)) {
    float median = (float) funad_quantile (scores, n, 0.5);
    for (int i = 0; i < n; i++)
      candidate[i] = scores[i] <= median;
  }
}

int
funad_irmb_min_candidates (int n)
{
  return MAX (2, n / 10);
}

void
funad_irmb_pseudo_labels (const float *dist, int frames, int per, float lo, float hi,
                          const gboolean *kept, float z, guint8 *label)
{
  if (!kept) {
    /* The reference's rule: the min-max-normalised distance above one half. */
    for (int i = 0; i < frames * per; i++) {
      float dn = isfinite (dist[i]) ? (dist[i] - lo) / (hi - lo) : 0.f;
      label[i] = dn > 0.5f;
    }
    return;
  }
  /* Gated: only in frames the teacher left out, and only where a patch stands out within its
   * own frame (a defect does; rare normal texture of a trusted frame is never labelled). */
  float *finite = g_new (float, MAX (per, 1));
  for (int b = 0; b < frames; b++) {
    const float *d = dist + (gsize) b * per;
    float cut = INFINITY;
    if (!kept[b]) {
      int m = 0;
      for (int j = 0; j < per; j++)
        if (isfinite (d[j]))
          finite[m++] = d[j];
      if (m > 0)
        cut = (float) funad_robust_cut (finite, m, z, NULL, NULL);
    }
    for (int j = 0; j < per; j++)
      label[(gsize) b * per + j] = isfinite (d[j]) && d[j] > cut;
  }
  g_free (finite);
}
