/* frame-dedup.c — drops near-duplicate consecutive frames.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "frame-dedup.h"

#include <math.h>
#include <string.h>

void
frame_dedup_init (FrameDedup *dedup, double threshold)
{
  memset (dedup, 0, sizeof *dedup);
  dedup->threshold = threshold;
}

/* Box-average grey thumbnail; every source pixel falls in exactly one cell. */
static void
thumbnail (const FunadImage *image, float *out)
{
  const int side = FRAME_DEDUP_SIDE;
  double sum[FRAME_DEDUP_SIDE * FRAME_DEDUP_SIDE] = { 0 };
  guint count[FRAME_DEDUP_SIDE * FRAME_DEDUP_SIDE] = { 0 };

  for (int y = 0; y < image->height; y++) {
    const guint8 *row = image->data + (gsize) y * image->stride;
    int cy = (int) ((gint64) y * side / image->height);

    for (int x = 0; x < image->width; x++) {
      const guint8 *px = row + (gsize) x * image->pixel_stride;
      int cell = cy * side + (int) ((gint64) x * side / image->width);
      /* Rec. 601 luma; grey frames have all offsets 0, so this is the grey value. */
      sum[cell] += 0.299 * px[image->r_offset] + 0.587 * px[image->g_offset] +
                   0.114 * px[image->b_offset];
      count[cell]++;
    }
  }
  /* Frames smaller than 32 px on a side leave some cells empty: repeat a neighbour. */
  for (int i = 0; i < side * side; i++)
    out[i] = count[i] ? (float) (sum[i] / count[i]) : (i > 0 ? out[i - 1] : 0.0f);
}

gboolean
frame_dedup_is_duplicate (FrameDedup *dedup, const FunadImage *image, double *difference)
{
  float thumb[FRAME_DEDUP_SIDE * FRAME_DEDUP_SIDE];
  double diff = 0.0;

  if (difference)
    *difference = 0.0;
  if (dedup->threshold <= 0.0)
    return FALSE;
  thumbnail (image, thumb);
  if (dedup->have_last) {
    for (int i = 0; i < FRAME_DEDUP_SIDE * FRAME_DEDUP_SIDE; i++)
      diff += fabsf (thumb[i] - dedup->last[i]);
    diff /= FRAME_DEDUP_SIDE * FRAME_DEDUP_SIDE;
    if (difference)
      *difference = diff;
    if (diff < dedup->threshold)
      return TRUE;
  }
  memcpy (dedup->last, thumb, sizeof thumb);
  dedup->have_last = TRUE;
  return FALSE;
}
