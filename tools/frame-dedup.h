/* frame-dedup.h — drops near-duplicate consecutive frames (a still camera, a paused line).
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each frame is reduced to a 32 x 32 grey thumbnail (box averages, which also average sensor
 * noise away); a frame whose thumbnail differs from the last kept frame's by less than
 * threshold grey levels (mean absolute difference, 0-255 scale) is a duplicate. Hundreds of
 * copies of one still view add nothing to what normal looks like but time, and would outvote
 * the rest of the footage in the model's statistics.
 */
#ifndef FRAME_DEDUP_H
#define FRAME_DEDUP_H

#include <glib.h>

#include "funad.h"

G_BEGIN_DECLS

#define FRAME_DEDUP_SIDE 32

typedef struct {
  double threshold;                              /* 0: keep every frame */
  gboolean have_last;
  float last[FRAME_DEDUP_SIDE * FRAME_DEDUP_SIDE];
} FrameDedup;

void frame_dedup_init (FrameDedup *dedup, double threshold);

/* TRUE when image nearly repeats the last frame kept; otherwise it becomes the last kept
 * frame. *difference (may be NULL) receives the mean absolute difference (0 for the first). */
gboolean frame_dedup_is_duplicate (FrameDedup *dedup, const FunadImage *image,
                                   double *difference);

G_END_DECLS

#endif /* FRAME_DEDUP_H */
