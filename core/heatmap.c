/* funad — heat-map colouring and blending
 * Copyright (C) 2026 funad contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 *
 * This library is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
 * Lesser General Public License for more details.
 *
 * You should have received a copy of the GNU Lesser General Public
 * License along with this library; if not, see <https://www.gnu.org/licenses/>.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <math.h>

#include "funad.h"

/* The "inferno" colour map (perceptually uniform, readable in grey), given by
 * eleven anchors at h = 0, 0.1, ..., 1 and interpolated linearly between them. */
#define N_ANCHORS 11
static const guint8 inferno_anchors[N_ANCHORS][3] = {
  {0, 0, 4},
  {22, 11, 57},
  {66, 10, 104},
  {106, 23, 110},
  {147, 38, 103},
  {188, 55, 84},
  {221, 81, 58},
  {243, 120, 25},
  {252, 165, 10},
  {246, 215, 70},
  {252, 255, 164},
};

/* The "viridis" colour map (perceptually uniform, colour-blind friendly),
 * anchored the same way. */
static const guint8 viridis_anchors[N_ANCHORS][3] = {
  {68, 1, 84},
  {72, 36, 117},
  {65, 68, 135},
  {53, 95, 141},
  {42, 120, 142},
  {33, 145, 140},
  {34, 168, 132},
  {68, 191, 112},
  {122, 209, 81},
  {189, 223, 38},
  {253, 231, 37},
};

/* Levels of the per-call colour table; heat is quantised to this many steps. */
#define LUT_SIZE 256

void
funad_colormap_color (FunadColormap colormap, float h, guint8 rgb[3])
{
  const guint8 (*anchors)[3] = colormap == FUNAD_COLORMAP_VIRIDIS ?
      viridis_anchors : inferno_anchors;
  float pos, t;
  int i, c;

  /* NaN and out-of-range heat clamp to the ends of the map. */
  if (!(h > 0.0f))
    h = 0.0f;
  if (h > 1.0f)
    h = 1.0f;

  pos = h * (N_ANCHORS - 1);
  i = (int) pos;
  if (i >= N_ANCHORS - 1)
    i = N_ANCHORS - 2;
  t = pos - i;

  for (c = 0; c < 3; c++) {
    float v = anchors[i][c] + t * (anchors[i + 1][c] - anchors[i][c]);
    rgb[c] = (guint8) CLAMP (lrintf (v), 0, 255);
  }
}

void
funad_heatmap_color (float h, guint8 rgb[3])
{
  funad_colormap_color (FUNAD_COLORMAP_INFERNO, h, rgb);
}

/* Source coordinate and weight for destination index d of n, sampling a map
 * axis of m cells with pixel centres aligned (as funad_map_resize() does). */
static void
axis_sample (int d, int n, int m, int *i0, int *i1, float *w1)
{
  float s = ((float) d + 0.5f) * (float) m / (float) n - 0.5f;
  int i;

  if (s <= 0.0f) {
    *i0 = *i1 = 0;
    *w1 = 0.0f;
    return;
  }
  if (s >= (float) (m - 1)) {
    *i0 = *i1 = m - 1;
    *w1 = 0.0f;
    return;
  }
  i = (int) s;
  *i0 = i;
  *i1 = i + 1;
  *w1 = s - (float) i;
}

void
funad_heatmap_blend (const float *map, int map_w, int map_h, float lo,
    float hi, float alpha, FunadImage * image)
{
  funad_heatmap_blend_colormap (FUNAD_COLORMAP_INFERNO, map, map_w, map_h, lo,
      hi, alpha, image);
}

void
funad_heatmap_blend_colormap (FunadColormap colormap, const float *map,
    int map_w, int map_h, float lo, float hi, float alpha, FunadImage * image)
{
  guint8 lut[LUT_SIZE][3];
  guint8 lut_grey[LUT_SIZE];
  int *x0, *x1;
  float *xw;
  float inv_range;
  gboolean step;
  int x, y, k;

  g_return_if_fail (map != NULL && map_w > 0 && map_h > 0);
  g_return_if_fail (image != NULL && image->data != NULL);
  /* the layouts funad_scorer_score() takes; any other reads and writes outside the pixel (an
   * offset past the pixel stride) or the row (a row stride shorter than the pixels) */
  g_return_if_fail (image->pixel_stride == 1 || image->pixel_stride == 3 ||
                    image->pixel_stride == 4);
  g_return_if_fail (image->width <= 0 ||
                    image->stride >= (gint64) image->width * image->pixel_stride);
  g_return_if_fail (image->pixel_stride == 1 ||
                    (image->r_offset >= 0 && image->r_offset < image->pixel_stride &&
                     image->g_offset >= 0 && image->g_offset < image->pixel_stride &&
                     image->b_offset >= 0 && image->b_offset < image->pixel_stride));

  if (image->width <= 0 || image->height <= 0)
    return;
  if (!(alpha > 0.0f))
    return;
  if (alpha > 1.0f)
    alpha = 1.0f;

  /* hi <= lo has no ramp: anything above lo is fully hot. */
  step = !(hi > lo);
  inv_range = step ? 0.0f : 1.0f / (hi - lo);

  for (k = 0; k < LUT_SIZE; k++) {
    funad_colormap_color (colormap, (float) k / (LUT_SIZE - 1), lut[k]);
    /* Rec. 601 luma, the usual weighting for 8-bit grey. */
    lut_grey[k] = (guint8) CLAMP (lrintf (0.299f * lut[k][0] +
            0.587f * lut[k][1] + 0.114f * lut[k][2]), 0, 255);
  }

  x0 = g_new (int, image->width);
  x1 = g_new (int, image->width);
  xw = g_new (float, image->width);
  for (x = 0; x < image->width; x++)
    axis_sample (x, image->width, map_w, &x0[x], &x1[x], &xw[x]);

  for (y = 0; y < image->height; y++) {
    const float *r0, *r1;
    guint8 *row = image->data + (gsize) y * image->stride;
    int y0, y1;
    float yw;

    axis_sample (y, image->height, map_h, &y0, &y1, &yw);
    r0 = map + (gsize) y0 * map_w;
    r1 = map + (gsize) y1 * map_w;

    for (x = 0; x < image->width; x++) {
      guint8 *px = row + (gsize) x * image->pixel_stride;
      float top, bottom, v, h, a;
      int idx;

      top = r0[x0[x]] + xw[x] * (r0[x1[x]] - r0[x0[x]]);
      bottom = r1[x0[x]] + xw[x] * (r1[x1[x]] - r1[x0[x]]);
      v = top + yw * (bottom - top);

      if (step)
        h = v > lo ? 1.0f : 0.0f;
      else
        h = (v - lo) * inv_range;
      /* Cold (and NaN) pixels stay exactly as they were. */
      if (!(h > 0.0f))
        continue;
      if (h > 1.0f)
        h = 1.0f;

      a = alpha * (0.35f + 0.65f * h);
      idx = (int) lrintf (h * (LUT_SIZE - 1));

      if (image->pixel_stride == 1) {
        px[0] = (guint8) lrintf (px[0] + a * (lut_grey[idx] - px[0]));
      } else {
        guint8 *pr = px + image->r_offset;
        guint8 *pg = px + image->g_offset;
        guint8 *pb = px + image->b_offset;

        *pr = (guint8) lrintf (*pr + a * (lut[idx][0] - *pr));
        *pg = (guint8) lrintf (*pg + a * (lut[idx][1] - *pg));
        *pb = (guint8) lrintf (*pb + a * (lut[idx][2] - *pb));
      }
    }
  }

  g_free (x0);
  g_free (x1);
  g_free (xw);
}
