/* test-metrics.c — funad_auroc() against independent counts.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "funad.h"

#include <math.h>

/* The definition itself: every (positive, negative) pair, ties counted half. O(n^2). */
static double
brute_force_auroc (const float *scores, const guint8 *labels, gsize n)
{
  double wins = 0.0, pairs = 0.0;

  for (gsize i = 0; i < n; i++) {
    if (!labels[i])
      continue;
    for (gsize j = 0; j < n; j++) {
      if (labels[j])
        continue;
      pairs += 1.0;
      if (scores[i] > scores[j])
        wins += 1.0;
      else if (scores[i] == scores[j])
        wins += 0.5;
    }
  }
  return pairs > 0.0 ? wins / pairs : NAN;
}

static void
test_random_with_ties (void)
{
  GRand *rand = g_rand_new_with_seed (7);

  for (int trial = 0; trial < 200; trial++) {
    gsize n = g_rand_int_range (rand, 2, 600);
    /* Few distinct levels on some trials so that ties are frequent, many on others. */
    int levels = (trial % 3 == 0) ? 4 : (trial % 3 == 1) ? 50 : 1000000;
    double positive_rate = g_rand_double_range (rand, 0.05, 0.95);
    float *scores = g_new (float, n);
    guint8 *labels = g_new (guint8, n);

    for (gsize i = 0; i < n; i++) {
      labels[i] = g_rand_double (rand) < positive_rate;
      /* Positives a little higher on average; negative values exercise the sign handling. */
      int level = g_rand_int_range (rand, 0, levels) + (labels[i] ? levels / 8 : 0);
      scores[i] = (float) (level - levels / 2) / (float) levels;
      if (labels[i] && trial % 5 == 0)
        labels[i] = 1 + g_rand_int_range (rand, 0, 255);  /* any non-zero label is positive */
    }
    double expected = brute_force_auroc (scores, labels, n);
    double got = funad_auroc (scores, labels, n);

    if (isnan (expected))
      g_assert_true (isnan (got));
    else
      g_assert_cmpfloat_with_epsilon (got, expected, 1e-12);
    g_free (scores);
    g_free (labels);
  }
  g_rand_free (rand);
}

static void
test_perfect_and_inverse (void)
{
  float scores[] = { 0.1f, 0.2f, 0.3f, 0.7f, 0.8f, 0.9f };
  guint8 perfect[] = { 0, 0, 0, 1, 1, 1 };
  guint8 inverse[] = { 1, 1, 1, 0, 0, 0 };

  g_assert_cmpfloat (funad_auroc (scores, perfect, 6), ==, 1.0);
  g_assert_cmpfloat (funad_auroc (scores, inverse, 6), ==, 0.0);
}

static void
test_all_tied_is_half (void)
{
  float scores[] = { 3.0f, 3.0f, 3.0f, 3.0f, 3.0f };
  guint8 labels[] = { 0, 1, 0, 1, 1 };

  g_assert_cmpfloat (funad_auroc (scores, labels, 5), ==, 0.5);
}

static void
test_empty_class_is_nan (void)
{
  float scores[] = { 0.1f, 0.5f, 0.9f };
  guint8 all_negative[] = { 0, 0, 0 };
  guint8 all_positive[] = { 1, 1, 1 };

  g_assert_true (isnan (funad_auroc (scores, all_negative, 3)));
  g_assert_true (isnan (funad_auroc (scores, all_positive, 3)));
  g_assert_true (isnan (funad_auroc (scores, all_negative, 0)));
}

static void
test_signed_zero_and_infinities (void)
{
  /* -0.0 and +0.0 are equal scores; infinities order like any other value. */
  float zeros[] = { -0.0f, 0.0f };
  guint8 zero_labels[] = { 1, 0 };
  float extremes[] = { -INFINITY, -1e30f, -1e-30f, 1e-30f, 1e30f, INFINITY };
  guint8 extreme_labels[] = { 0, 0, 1, 0, 1, 1 };

  g_assert_cmpfloat (funad_auroc (zeros, zero_labels, 2), ==, 0.5);
  g_assert_cmpfloat_with_epsilon (funad_auroc (extremes, extreme_labels, 6),
                                  brute_force_auroc (extremes, extreme_labels, 6), 1e-12);
}

/* Pixel-sized input: tens of millions of scores on 1000 levels, checked against a histogram
 * count (exact for quantised scores) — also shows the sort is not quadratic. */
static void
test_large_against_histogram (void)
{
  const gsize n = 30000000;
  const int levels = 1000;
  float *scores = g_new (float, n);
  guint8 *labels = g_new (guint8, n);
  guint64 *pos_count = g_new0 (guint64, levels), *neg_count = g_new0 (guint64, levels);
  GRand *rand = g_rand_new_with_seed (11);

  for (gsize i = 0; i < n; i++) {
    labels[i] = g_rand_int_range (rand, 0, 100) < 3;  /* 3% defective pixels */
    int level = g_rand_int_range (rand, 0, levels - 200) + (labels[i] ? 200 : 0);
    scores[i] = (float) level * 0.001f;
    (labels[i] ? pos_count : neg_count)[level]++;
  }

  double wins = 0.0, n_pos = 0.0, n_neg = 0.0, neg_below = 0.0;

  for (int l = 0; l < levels; l++) {
    wins += (double) pos_count[l] * (neg_below + 0.5 * (double) neg_count[l]);
    neg_below += (double) neg_count[l];
    n_pos += (double) pos_count[l];
    n_neg += (double) neg_count[l];
  }
  double expected = wins / (n_pos * n_neg);
  gint64 start = g_get_monotonic_time ();
  double got = funad_auroc (scores, labels, n);
  double seconds = (g_get_monotonic_time () - start) / 1e6;

  g_test_message ("funad_auroc over %" G_GSIZE_FORMAT " scores: %.3f s", n, seconds);
  g_assert_cmpfloat_with_epsilon (got, expected, 1e-9);

  g_rand_free (rand);
  g_free (pos_count);
  g_free (neg_count);
  g_free (scores);
  g_free (labels);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/auroc/random-with-ties", test_random_with_ties);
  g_test_add_func ("/metrics/auroc/perfect-and-inverse", test_perfect_and_inverse);
  g_test_add_func ("/metrics/auroc/all-tied", test_all_tied_is_half);
  g_test_add_func ("/metrics/auroc/empty-class", test_empty_class_is_nan);
  g_test_add_func ("/metrics/auroc/signed-zero-and-infinities", test_signed_zero_and_infinities);
  g_test_add_func ("/metrics/auroc/large", test_large_against_histogram);
  return g_test_run ();
}
