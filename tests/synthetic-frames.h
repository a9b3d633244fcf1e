/* synthetic-frames.h — textured test frames made on the fly, with an optional dark defect.
 * Shared by the core tests; deterministic from the seed. */
#ifndef SYNTHETIC_FRAMES_H
#define SYNTHETIC_FRAMES_H

#include <math.h>
#include "funad.h"

/* Fills an RGB frame (w x h, stride 3w) with a striped grain texture; a defect, when asked,
 * is a dark blob of radius r at a random place. */
static inline void
synthetic_frame (guint8 *rgb, int w, int h, guint32 seed, gboolean defect, int r)
{
  GRand *rng = g_rand_new_with_seed (seed);
  double phase = g_rand_double_range (rng, 0, 6.28), phase2 = g_rand_double_range (rng, 0, 6.28);
  int cx = g_rand_int_range (rng, r + 2, w - r - 2), cy = g_rand_int_range (rng, r + 2, h - r - 2);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      double v = 128 + 40 * sin (x * 0.45 + phase) + 20 * sin (y * 0.21 + x * 0.1 + phase2) +
        g_rand_double_range (rng, -12, 12);
      if (defect) {
        double dd = ((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (double) (r * r);
        if (dd < 1)
          v = 20 + 10 * dd;
      }
      guint8 b = (guint8) CLAMP (v, 0, 255);
      guint8 *p = rgb + ((gsize) y * w + x) * 3;
      p[0] = b;
      p[1] = b;
      p[2] = (guint8) CLAMP (v * 0.9, 0, 255);
    }
  g_rand_free (rng);
}

static inline FunadImage
synthetic_image (guint8 *rgb, int w, int h)
{
  FunadImage im = { rgb, w, h, 3 * w, 3, 0, 1, 2 };
  return im;
}

/* A model trained with params p on n defect-free 40 x 40 synthetic frames (seeds 0..n-1). */
static inline FunadModel *
synthetic_trained_model (const FunadTrainParams *p, int n)
{
  FunadTrainer *t = funad_trainer_new (p);
  guint8 rgb[40 * 40 * 3];
  for (int i = 0; i < n; i++) {
    synthetic_frame (rgb, 40, 40, i, FALSE, 3);
    FunadImage im = synthetic_image (rgb, 40, 40);
    g_assert_true (funad_trainer_add_frame (t, &im, NULL));
  }
  GError *error = NULL;
  FunadModel *m = funad_trainer_run (t, NULL, NULL, &error);
  g_assert_no_error (error);
  funad_trainer_free (t);
  return m;
}

/* The smallest useful model of either kind: 32 px, 8 centroids, 6 frames. */
static inline FunadModel *
synthetic_tiny_model (FunadScorerKind kind)
{
  FunadTrainParams p = funad_train_default_params ();
  p.scorer = kind;
  p.input_size = 32;
  p.dict_size = 8;
  p.hidden1 = 8;
  p.hidden2 = 4;
  p.epochs = 1;
  p.fit_patches = 2000;
  return synthetic_trained_model (&p, 6);
}

/* Scores one synthetic frame through both models and asserts the two scores are identical
 * (a model and its saved-and-loaded copy must agree bit for bit). */
static inline void
assert_same_frame_score (FunadModel *a, FunadModel *b)
{
  guint8 rgb[50 * 30 * 3];
  synthetic_frame (rgb, 50, 30, 99, TRUE, 4);
  FunadImage im = synthetic_image (rgb, 50, 30);
  FunadScorer *sa = funad_scorer_new (a), *sb = funad_scorer_new (b);
  float va, vb;
  g_assert_true (funad_scorer_score (sa, &im, &va, NULL, NULL));
  g_assert_true (funad_scorer_score (sb, &im, &vb, NULL, NULL));
  g_assert_cmpfloat (va, ==, vb);
  funad_scorer_free (sa);
  funad_scorer_free (sb);
}

#endif
