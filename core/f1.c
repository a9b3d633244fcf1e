/* f1.c — image-level detection at a threshold: precision, recall, F1, and the best F1.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * F1-max is an upper bound a labelled set allows (the threshold is picked with the labels);
 * precision and recall at the model's own threshold say what the label-free choice achieves.
 */
#include "funad.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
  float score;
  guint8 positive;
} Scored;

/* Descending scores, NaN first (it is flagged at every threshold, as it compares unordered). */
static int
compare_descending (const void *a, const void *b)
{
  float x = ((const Scored *) a)->score, y = ((const Scored *) b)->score;

  if (isnan (x) || isnan (y))
    return isnan (y) - isnan (x);
  return x > y ? -1 : x < y;
}

double
funad_f1_max (const float *scores, const guint8 *labels, gsize n, float *threshold)
{
  gsize n_pos = 0;

  for (gsize i = 0; i < n; i++)
    n_pos += labels[i] != 0;
  if (threshold)
    *threshold = NAN;
  if (n_pos == 0)
    return NAN;

  Scored *s = g_new (Scored, n);
  for (gsize i = 0; i < n; i++) {
    s[i].score = scores[i];
    s[i].positive = labels[i] != 0;
  }
  qsort (s, n, sizeof *s, compare_descending);

  /* Flag score >= t for each distinct t, all tied scores at once. */
  double best = -1.0;
  gsize tp = 0, fp = 0;

  for (gsize i = 0; i < n;) {
    gsize j = i;

    while (j < n && (s[j].score == s[i].score || (isnan (s[j].score) && isnan (s[i].score)))) {
      tp += s[j].positive;
      fp += !s[j].positive;
      j++;
    }
    double f1 = 2.0 * tp / (double) (2 * tp + fp + (n_pos - tp));
    if (f1 > best) {
      best = f1;
      if (threshold)
        *threshold = s[i].score;
    }
    i = j;
  }
  g_free (s);
  return best;
}

void
funad_detection_at (const float *scores, const guint8 *labels, gsize n, double threshold,
                    double *precision, double *recall, double *f1)
{
  gsize tp = 0, fp = 0, fn = 0;

  for (gsize i = 0; i < n; i++) {
    gboolean flagged = scores[i] > threshold;  /* as funaddetect: anomaly = score > threshold */

    if (labels[i])
      flagged ? tp++ : fn++;
    else
      fp += flagged;
  }
  if (precision)
    *precision = tp + fp > 0 ? (double) tp / (double) (tp + fp) : NAN;
  if (recall)
    *recall = tp + fn > 0 ? (double) tp / (double) (tp + fn) : NAN;
  if (f1)
    *f1 = tp + fn > 0 ? 2.0 * tp / (double) (2 * tp + fp + fn) : NAN;
}
