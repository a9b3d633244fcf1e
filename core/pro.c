/* pro.c — per-region overlap (PRO) of anomaly maps and its normalised area, AUPRO.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each 8-connected region of a ground-truth mask counts once, however large it is: at a
 * threshold t, PRO(t) is the mean over regions of the fraction of its pixels scoring >= t, and
 * FPR(t) the fraction of normal pixels (outside every region) scoring >= t. AUPRO is the area
 * under PRO over FPR from 0 to max_fpr, divided by max_fpr.
 *
 * PRO(t) is a sum of per-pixel weights 1 / (n_regions * |region|) over the region pixels at or
 * above t, so one sweep down the sorted scores gives every point of the curve: the normal
 * pixels (tens of millions) are radix sorted as 32-bit keys, the region pixels (few) sorted
 * with their region by qsort.
 */
#include "funad-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

guint
funad_label_regions (const guint8 *mask, int width, int height, guint32 *regions,
                     guint32 first_id)
{
  gsize n = (gsize) width * height;
  gsize *stack = NULL;
  guint count = 0;

  memset (regions, 0, n * sizeof *regions);
  for (gsize seed = 0; seed < n; seed++) {
    if (!mask[seed] || regions[seed])
      continue;
    if (!stack)
      stack = g_new (gsize, n);  /* each pixel is pushed at most once */

    guint32 id = first_id + count++;
    gsize top = 0;

    regions[seed] = id;
    stack[top++] = seed;
    while (top > 0) {
      gsize i = stack[--top];
      int x = (int) (i % width), y = (int) (i / width);

      for (int dy = -1; dy <= 1; dy++) {
        for (int dx = -1; dx <= 1; dx++) {
          int nx = x + dx, ny = y + dy;

          if (nx < 0 || ny < 0 || nx >= width || ny >= height)
            continue;
          gsize j = (gsize) ny * width + nx;
          if (mask[j] && !regions[j]) {
            regions[j] = id;
            stack[top++] = j;
          }
        }
      }
    }
  }
  g_free (stack);
  return count;
}

/* A region pixel: its score key above, its region below, so u64 order is score order. */
static int
compare_u64 (const void *a, const void *b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;

  return x < y ? -1 : x > y;
}

double
funad_aupro (const float *scores, const guint32 *regions, gsize n, double max_fpr)
{
  if (!(max_fpr > 0.0 && max_fpr <= 1.0))
    return NAN;

  guint32 max_id = 0;
  gsize n_region_px = 0;

  for (gsize i = 0; i < n; i++) {
    max_id = MAX (max_id, regions[i]);
    n_region_px += regions[i] != 0;
  }
  gsize n_normal = n - n_region_px;
  if (n_normal == 0 || n_region_px == 0)
    return NAN;

  gsize *size = g_new0 (gsize, (gsize) max_id + 1);
  for (gsize i = 0; i < n; i++)
    size[regions[i]]++;
  gsize n_regions = 0;
  for (guint32 r = 1; r <= max_id; r++)
    n_regions += size[r] > 0;
  double *weight = g_new (double, (gsize) max_id + 1);
  for (guint32 r = 1; r <= max_id; r++)
    weight[r] = size[r] ? 1.0 / ((double) n_regions * (double) size[r]) : 0.0;
  g_free (size);

  guint32 *normal = g_new (guint32, n_normal);
  guint64 *region_px = g_new (guint64, n_region_px);
  gsize a = 0, b = 0;

  for (gsize i = 0; i < n; i++) {
    if (regions[i])
      region_px[b++] = ((guint64) funad_float_sort_key (scores[i]) << 32) | regions[i];
    else
      normal[a++] = funad_float_sort_key (scores[i]);
  }
  {
    guint32 *tmp = g_new (guint32, n_normal);
    funad_radix_sort_keys (normal, tmp, n_normal);
    g_free (tmp);
  }
  qsort (region_px, n_region_px, sizeof *region_px, compare_u64);

  /* Down the thresholds, highest first: every distinct score is one point of the curve. */
  gsize in = n_normal, ir = n_region_px, normal_above = 0;
  double pro = 0.0, fpr_prev = 0.0, pro_prev = 0.0, area = 0.0;

  while (in > 0 || ir > 0) {
    guint32 key_n = in > 0 ? normal[in - 1] : 0, key_r = ir > 0 ? region_px[ir - 1] >> 32 : 0;
    guint32 key = (in > 0 && (ir == 0 || key_n >= key_r)) ? key_n : key_r;

    while (in > 0 && normal[in - 1] == key) {
      in--;
      normal_above++;
    }
    while (ir > 0 && (guint32) (region_px[ir - 1] >> 32) == key) {
      ir--;
      pro += weight[(guint32) region_px[ir]];
    }

    double fpr = (double) normal_above / (double) n_normal;
    if (fpr >= max_fpr) {
      /* The last segment is cut at max_fpr, PRO interpolated linearly along it. */
      double pro_at = pro_prev + (pro - pro_prev) * (max_fpr - fpr_prev) / (fpr - fpr_prev);
      area += (max_fpr - fpr_prev) * (pro_prev + pro_at) / 2.0;
      break;
    }
    area += (fpr - fpr_prev) * (pro_prev + pro) / 2.0;
    fpr_prev = fpr;
    pro_prev = pro;
  }

  g_free (normal);
  g_free (region_px);
  g_free (weight);
  return area / max_fpr;
}
