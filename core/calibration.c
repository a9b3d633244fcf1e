/* calibration.c — per-position calibration of patch scores. A fixed camera sees some places
 * (the frame's border, a glinting edge) vary far more from frame to frame than others; their
 * raw distances then dominate every frame's maximum. So each grid cell's score becomes
 * (s - median_c) / max(MAD_c, median over cells of MAD_c), MADs scaled by 1.4826: a cell is
 * measured against its own typical score, and a cell that varies more than most is damped,
 * but a quiet cell is never amplified (that made noise in a static background outscore
 * defects on moving parts in the demo footage). Label-free: the reference is the training
 * frames, each scored leaving itself out. On the magnetic tiles, three in four normal frames
 * had their maximum within two cells of the border before (README). */
#include <math.h>
#include "funad-private.h"

#define MIN_FRAMES 16       /* fewer scored frames give no stable per-cell statistics */

gboolean
funad_calibration_fit (FunadModel *m, const float *patch_scores, int frames)
{
  int cells = m->grid * m->grid;
  g_clear_pointer (&m->cell_offset, g_free);
  g_clear_pointer (&m->cell_scale, g_free);
  if (frames < MIN_FRAMES)
    return FALSE;
  float *offset = g_new (float, cells), *scale = g_new (float, cells);
  float *column = g_new (float, frames);
  for (int c = 0; c < cells; c++) {
    int n = 0;
    for (int f = 0; f < frames; f++) {
      float v = patch_scores[(gsize) f * cells + c];
      if (isfinite (v) && v < FUNAD_SCORE_UNREACHABLE)
        column[n++] = v;
    }
    double median = 0.0, mad = 0.0;
    if (n > 0)
      funad_robust_cut (column, n, 0.0, &median, &mad);
    offset[c] = (float) median;
    scale[c] = (float) (1.4826 * mad);
  }
  g_free (column);
  float floor_ = (float) funad_quantile (scale, cells, 0.5);
  if (!(floor_ > 0.f) || !isfinite (floor_)) {
    /* Every frame scored alike: nothing to calibrate against. */
    g_free (offset);
    g_free (scale);
    return FALSE;
  }
  for (int c = 0; c < cells; c++)
    scale[c] = MAX (scale[c], floor_);
  m->cell_offset = offset;
  m->cell_scale = scale;
  return TRUE;
}

void
funad_calibration_apply (const FunadModel *m, float *patch_scores, int first, int count)
{
  if (!m->cell_scale)
    return;
  for (int i = 0; i < count; i++) {
    int c = first + i;
    float z = (patch_scores[i] - m->cell_offset[c]) / m->cell_scale[c];
    /* An unreachable patch stays unreachable: far above everything, and finite for the blur. */
    if (isnan (z) || !(patch_scores[i] < FUNAD_SCORE_UNREACHABLE))
      z = FUNAD_SCORE_UNREACHABLE;
    patch_scores[i] = CLAMP (z, -FUNAD_SCORE_UNREACHABLE, FUNAD_SCORE_UNREACHABLE);
  }
}
