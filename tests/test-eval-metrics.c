/* test-eval-metrics.c — AUPRO, region labelling and F1 against brute-force definitions.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * (funad_auroc has its brute-force check in test-metrics.c.)
 */
#include "funad.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- region labelling ---------------------------------------------------------------------- */

/* Another algorithm: every mask pixel starts as its own label and takes the smallest label of
 * its 8 neighbours until nothing changes. */
static void
brute_force_regions (const guint8 *mask, int w, int h, guint32 *labels)
{
  gboolean changed = TRUE;

  for (int i = 0; i < w * h; i++)
    labels[i] = mask[i] ? (guint32) i + 1 : 0;
  while (changed) {
    changed = FALSE;
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        int i = y * w + x;
        if (!labels[i])
          continue;
        for (int dy = -1; dy <= 1; dy++)
          for (int dx = -1; dx <= 1; dx++) {
            int nx = x + dx, ny = y + dy;
            if (nx >= 0 && ny >= 0 && nx < w && ny < h && labels[ny * w + nx] &&
                labels[ny * w + nx] < labels[i]) {
              labels[i] = labels[ny * w + nx];
              changed = TRUE;
            }
          }
      }
  }
}

/* Random blobs: each pixel set with probability p, so regions of every shape appear. */
static void
random_mask (GRand *rand, guint8 *mask, int n, double p)
{
  for (int i = 0; i < n; i++)
    mask[i] = g_rand_double (rand) < p ? (guint8) g_rand_int_range (rand, 1, 256) : 0;
}

static void
test_regions_match_brute_force (void)
{
  GRand *rand = g_rand_new_with_seed (11);

  for (int trial = 0; trial < 100; trial++) {
    int w = g_rand_int_range (rand, 1, 30), h = g_rand_int_range (rand, 1, 30);
    guint8 *mask = g_new (guint8, w * h);
    guint32 *got = g_new (guint32, w * h), *want = g_new (guint32, w * h);
    guint32 first = (guint32) g_rand_int_range (rand, 1, 1000);

    random_mask (rand, mask, w * h, g_rand_double_range (rand, 0.0, 0.7));
    guint n = funad_label_regions (mask, w, h, got, first);
    brute_force_regions (mask, w, h, want);

    /* Same partition: two pixels share a label in one exactly when they do in the other. */
    guint distinct = 0;
    for (int i = 0; i < w * h; i++) {
      g_assert_cmpint (got[i] == 0, ==, want[i] == 0);
      if (!got[i])
        continue;
      g_assert_cmpuint (got[i], >=, first);
      g_assert_cmpuint (got[i], <, first + n);
      distinct += want[i] == (guint32) i + 1;  /* a region's smallest pixel keeps its label */
      for (int j = 0; j < i; j++)
        if (got[j])
          g_assert_cmpint (got[i] == got[j], ==, want[i] == want[j]);
    }
    g_assert_cmpuint (n, ==, distinct);
    g_free (mask);
    g_free (got);
    g_free (want);
  }
  g_rand_free (rand);
}

static void
test_regions_connect_diagonally (void)
{
  /* 1 0 0 1
   * 0 1 0 0
   * 0 0 0 1   two regions: the diagonal chain, the right column's lower pixel alone */
  const guint8 mask[] = { 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1 };
  guint32 regions[12];

  g_assert_cmpuint (funad_label_regions (mask, 4, 3, regions, 1), ==, 3);
  g_assert_cmpuint (regions[0], ==, regions[5]);
  g_assert_cmpuint (regions[3], !=, regions[11]);
  g_assert_cmpuint (regions[3], !=, regions[0]);
}

/* ---- AUPRO ---------------------------------------------------------------------------------- */

static int
compare_float_desc (const void *a, const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return x > y ? -1 : x < y;
}

/* The definition, point by point: for each distinct score t (highest first) count, by direct
 * loops, the normal pixels >= t and each region's pixels >= t; integrate the piecewise linear
 * curve from (0, 0) to max_fpr. O(distinct scores x pixels). */
static double
brute_force_aupro (const float *scores, const guint32 *regions, gsize n, double max_fpr)
{
  float *t = g_memdup2 (scores, n * sizeof *scores);
  guint32 max_id = 0;
  for (gsize i = 0; i < n; i++)
    max_id = MAX (max_id, regions[i]);
  double *size = g_new0 (double, max_id + 1), *hit = g_new0 (double, max_id + 1);
  double n_normal = 0;
  for (gsize i = 0; i < n; i++) {
    size[regions[i]] += 1;
    n_normal += regions[i] == 0;
  }
  int n_regions = 0;
  for (guint32 r = 1; r <= max_id; r++)
    n_regions += size[r] > 0;

  qsort (t, n, sizeof *t, compare_float_desc);
  double x0 = 0, y0 = 0, area = 0;
  for (gsize k = 0; k < n; k++) {
    if (k > 0 && t[k] == t[k - 1])
      continue;
    double fp = 0, pro = 0;
    memset (hit, 0, (max_id + 1) * sizeof *hit);
    for (gsize i = 0; i < n; i++)
      if (scores[i] >= t[k]) {
        if (regions[i])
          hit[regions[i]] += 1;
        else
          fp += 1;
      }
    for (guint32 r = 1; r <= max_id; r++)
      if (size[r] > 0)
        pro += hit[r] / size[r] / n_regions;
    double x = fp / n_normal;
    if (x >= max_fpr) {
      double y = y0 + (pro - y0) * (max_fpr - x0) / (x - x0);
      area += (max_fpr - x0) * (y0 + y) / 2;
      break;
    }
    area += (x - x0) * (y0 + pro) / 2;
    x0 = x;
    y0 = pro;
  }
  g_free (t);
  g_free (size);
  g_free (hit);
  return area / max_fpr;
}

static void
test_aupro_by_hand (void)
{
  /* One region of two pixels (0.9, 0.5) and four normal pixels (0.8, 0.3, 0.2, 0.1).
   * Curve: (0, .5) at 0.9, (.25, .5) at 0.8, (.25, 1) at 0.5, (.5, 1) at 0.3.
   * Area to FPR 0.5: .25 x .5 + .25 x 1 = .375; normalised: .75. */
  const float scores[] = { 0.9f, 0.5f, 0.8f, 0.3f, 0.2f, 0.1f };
  const guint32 regions[] = { 1, 1, 0, 0, 0, 0 };

  g_assert_cmpfloat_with_epsilon (funad_aupro (scores, regions, 6, 0.5), 0.75, 1e-12);
  /* Region pixels all above every normal pixel: perfect. */
  const float perfect[] = { 5, 4, 3, 2, 1, 0 };
  g_assert_cmpfloat_with_epsilon (funad_aupro (perfect, regions, 6, 0.3), 1.0, 1e-12);
  /* One score for everything: one jump from (0, 0) to (1, 1), so PRO = FPR: area 0.3^2 / 2. */
  const float flat[] = { 1, 1, 1, 1, 1, 1 };
  g_assert_cmpfloat_with_epsilon (funad_aupro (flat, regions, 6, 0.3), 0.15, 1e-12);
  /* No region, or no normal pixel: undefined. */
  const guint32 none[] = { 0, 0, 0, 0, 0, 0 }, all[] = { 1, 1, 1, 2, 2, 2 };
  g_assert_true (isnan (funad_aupro (scores, none, 6, 0.3)));
  g_assert_true (isnan (funad_aupro (scores, all, 6, 0.3)));
}

/* A small region weighs as much as a large one: the large region found, the small missed. */
static void
test_aupro_weighs_regions_equally (void)
{
  float scores[12];
  guint32 regions[12] = { 1, 1, 1, 1, 1, 1, 1, 1, 2, 0, 0, 0 };

  for (int i = 0; i < 8; i++)
    scores[i] = 10;   /* big region: above every normal pixel */
  scores[8] = 0;      /* small region: below every normal pixel */
  scores[9] = 5;
  scores[10] = 4;
  scores[11] = 3;
  /* PRO is 0.5 from FPR 0 up to 1 (where the small region joins): normalised area 0.5. */
  g_assert_cmpfloat_with_epsilon (funad_aupro (scores, regions, 12, 0.3), 0.5, 1e-12);
}

static void
test_aupro_matches_brute_force (void)
{
  GRand *rand = g_rand_new_with_seed (5);

  for (int trial = 0; trial < 60; trial++) {
    /* A few "images" of random size, each with its own mask, concatenated as funad-eval does. */
    int n_images = g_rand_int_range (rand, 1, 5);
    GArray *scores = g_array_new (FALSE, FALSE, sizeof (float));
    GArray *regions = g_array_new (FALSE, FALSE, sizeof (guint32));
    guint32 next_id = 1;
    int levels = trial % 2 ? 8 : 100000;  /* coarse levels: many ties */

    for (int k = 0; k < n_images; k++) {
      int w = g_rand_int_range (rand, 2, 24), h = g_rand_int_range (rand, 2, 24);
      guint8 *mask = g_new (guint8, w * h);
      guint old = scores->len;

      random_mask (rand, mask, w * h, k == 0 ? 0.0 : g_rand_double_range (rand, 0.0, 0.3));
      g_array_set_size (scores, old + w * h);
      g_array_set_size (regions, old + w * h);
      next_id += funad_label_regions (mask, w, h, &g_array_index (regions, guint32, old),
                                      next_id);
      for (int i = 0; i < w * h; i++) {
        /* Defect pixels score a little higher on average. */
        int level = g_rand_int_range (rand, 0, levels) + (mask[i] ? levels / 4 : 0);
        g_array_index (scores, float, old + i) = (float) level / levels - 0.5f;
      }
      g_free (mask);
    }
    double max_fpr = trial % 3 == 0 ? 1.0 : trial % 3 == 1 ? 0.3 : 0.05;
    double want = brute_force_aupro ((float *) scores->data, (guint32 *) regions->data,
                                     scores->len, max_fpr);
    double got = funad_aupro ((float *) scores->data, (guint32 *) regions->data, scores->len,
                              max_fpr);

    if (next_id == 1) {
      g_assert_true (isnan (got));
    } else {
      g_assert_true (got >= 0.0 && got <= 1.0 + 1e-12);
      g_assert_cmpfloat_with_epsilon (got, want, 1e-9);
    }
    g_array_unref (scores);
    g_array_unref (regions);
  }
  g_rand_free (rand);
}

/* ---- F1 ------------------------------------------------------------------------------------- */

static void
test_f1_max_matches_brute_force (void)
{
  GRand *rand = g_rand_new_with_seed (3);

  for (int trial = 0; trial < 200; trial++) {
    gsize n = g_rand_int_range (rand, 1, 80);
    float *scores = g_new (float, n);
    guint8 *labels = g_new (guint8, n);
    gsize n_pos = 0;

    for (gsize i = 0; i < n; i++) {
      labels[i] = g_rand_boolean (rand);
      scores[i] = (float) g_rand_int_range (rand, 0, trial % 2 ? 5 : 1000) + labels[i];
      n_pos += labels[i];
    }
    /* Every score as a threshold, flagging score >= t. */
    double want = -1;
    for (gsize k = 0; k < n; k++) {
      double tp = 0, fp = 0;
      for (gsize i = 0; i < n; i++)
        if (scores[i] >= scores[k]) {
          tp += labels[i];
          fp += !labels[i];
        }
      want = MAX (want, 2 * tp / (2 * tp + fp + (n_pos - tp)));
    }
    float threshold;
    double got = funad_f1_max (scores, labels, n, &threshold);

    if (n_pos == 0) {
      g_assert_true (isnan (got));
    } else {
      g_assert_cmpfloat_with_epsilon (got, want, 1e-12);
      /* The threshold reported reaches that F1. */
      double p, r, f1;
      funad_detection_at (scores, labels, n, nextafterf (threshold, -INFINITY), &p, &r, &f1);
      g_assert_cmpfloat_with_epsilon (f1, got, 1e-12);
    }
    g_free (scores);
    g_free (labels);
  }
  g_rand_free (rand);
}

static void
test_detection_at_threshold (void)
{
  /* Flagged: score > 2, so 3 (pos), 5 (neg), 4 (pos); missed: 2 (pos, not above), 1 (pos). */
  const float scores[] = { 3, 5, 4, 2, 1, 0 };
  const guint8 labels[] = { 1, 0, 1, 1, 1, 0 };
  double p, r, f1;

  funad_detection_at (scores, labels, 6, 2.0, &p, &r, &f1);
  g_assert_cmpfloat_with_epsilon (p, 2.0 / 3.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (r, 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (f1, 2.0 * 2 / (2 * 2 + 1 + 2), 1e-12);

  /* Nothing flagged: precision undefined, recall and F1 zero. */
  funad_detection_at (scores, labels, 6, 100.0, &p, &r, &f1);
  g_assert_true (isnan (p));
  g_assert_cmpfloat (r, ==, 0.0);
  g_assert_cmpfloat (f1, ==, 0.0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eval-metrics/regions/brute-force", test_regions_match_brute_force);
  g_test_add_func ("/eval-metrics/regions/diagonal", test_regions_connect_diagonally);
  g_test_add_func ("/eval-metrics/aupro/by-hand", test_aupro_by_hand);
  g_test_add_func ("/eval-metrics/aupro/regions-equal", test_aupro_weighs_regions_equally);
  g_test_add_func ("/eval-metrics/aupro/brute-force", test_aupro_matches_brute_force);
  g_test_add_func ("/eval-metrics/f1/brute-force", test_f1_max_matches_brute_force);
  g_test_add_func ("/eval-metrics/f1/at-threshold", test_detection_at_threshold);
  return g_test_run ();
}
