/* metrics.c — ranking metrics: the area under the ROC curve.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * AUROC is the Mann-Whitney statistic: the probability that a random positive scores above a
 * random negative, ties counted half. Each class's scores are turned into order-preserving
 * 32-bit keys and radix sorted (pixel AUROC runs over tens of millions of values, where a
 * comparison sort is several times slower); one merge of the two sorted lists then counts,
 * for every positive, the negatives below it and those tied with it, in exact integers.
 */
#include "funad-private.h"

#include <math.h>
#include <string.h>

/* Maps a float to a key whose unsigned order is the float order. -0.0 becomes +0.0 so the two
 * zeros tie; every NaN becomes one key above +inf, so NaNs tie with each other. */
guint32
funad_float_sort_key (float value)
{
  guint32 bits;

  if (isnan (value))
    return G_MAXUINT32;
  if (value == 0.0f)
    value = 0.0f;
  memcpy (&bits, &value, sizeof bits);
  /* Negative floats: flip all bits (larger magnitude sorts lower); positive: flip the sign. */
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

/* LSD radix sort of keys, 8 bits a pass, using tmp (same length) as scratch. Passes in which
 * every key shares the same byte are skipped. The sorted keys end up in keys. */
void
funad_radix_sort_keys (guint32 *keys, guint32 *tmp, gsize n)
{
  guint32 *src = keys, *dst = tmp;

  for (int shift = 0; shift < 32; shift += 8) {
    gsize count[256] = { 0 };
    gsize offset[256];
    gsize total = 0;
    gboolean one_bucket = FALSE;

    for (gsize i = 0; i < n; i++)
      count[(src[i] >> shift) & 0xff]++;
    for (int b = 0; b < 256; b++) {
      if (count[b] == n)
        one_bucket = TRUE;
      offset[b] = total;
      total += count[b];
    }
    if (one_bucket)
      continue;
    for (gsize i = 0; i < n; i++)
      dst[offset[(src[i] >> shift) & 0xff]++] = src[i];
    guint32 *swap = src;
    src = dst;
    dst = swap;
  }
  if (src != keys)
    memcpy (keys, src, n * sizeof *keys);
}

double
funad_auroc (const float *scores, const guint8 *labels, gsize n)
{
  gsize n_pos = 0, n_neg;

  for (gsize i = 0; i < n; i++)
    n_pos += labels[i] != 0;
  n_neg = n - n_pos;
  if (n_pos == 0 || n_neg == 0)
    return NAN;

  /* One buffer: positives' keys, negatives' keys, then the radix scratch. */
  guint32 *pos = g_new (guint32, n + MAX (n_pos, n_neg));
  guint32 *neg = pos + n_pos;
  guint32 *scratch = neg + n_neg;
  gsize ip = 0, in = 0;

  for (gsize i = 0; i < n; i++) {
    if (labels[i])
      pos[ip++] = funad_float_sort_key (scores[i]);
    else
      neg[in++] = funad_float_sort_key (scores[i]);
  }
  funad_radix_sort_keys (pos, scratch, n_pos);
  funad_radix_sort_keys (neg, scratch, n_neg);

  /* twice_wins = sum over positives of 2 * (negatives below) + (negatives tied): an integer,
   * at most 2 * n_pos * n_neg, which fits 64 bits for any n that fits in memory. */
  guint64 twice_wins = 0;
  gsize below = 0;

  for (gsize p = 0; p < n_pos;) {
    guint32 key = pos[p];
    gsize run = 0, tied = 0;

    while (p + run < n_pos && pos[p + run] == key)
      run++;
    while (below < n_neg && neg[below] < key)
      below++;
    while (below + tied < n_neg && neg[below + tied] == key)
      tied++;
    twice_wins += (guint64) run * (2 * (guint64) below + tied);
    p += run;
  }
  g_free (pos);

  return (double) twice_wins / (2.0 * (double) n_pos * (double) n_neg);
}
