/* test-calibration.c — per-cell calibration of patch scores (a noisy border is damped, a quiet
 * cell is never amplified, degenerate training gives none) and its place in the model file;
 * the builtin's neighbourhood mean against a brute-force reference. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include "funad-private.h"
#include "synthetic-frames.h"

enum { G = 8, CELLS = G * G, FRAMES = 40 };   /* border: 28 of 64 cells, a minority */

static gboolean
on_border (int c)
{
  int y = c / G, x = c % G;
  return y == 0 || x == 0 || y == G - 1 || x == G - 1;
}

/* Training patch scores: interior cells near 5 with spread 0.5, border cells near 6 with
 * spread 2, as a frame edge that differs from tile to tile. */
static float *
training_scores (void)
{
  GRand *rng = g_rand_new_with_seed (7);
  float *s = g_new (float, FRAMES * CELLS);
  for (int f = 0; f < FRAMES; f++)
    for (int c = 0; c < CELLS; c++)
      s[f * CELLS + c] = on_border (c) ? 6.f + 2.f * funad_gaussian (rng)
                                       : 5.f + 0.5f * funad_gaussian (rng);
  g_rand_free (rng);
  return s;
}

static FunadModel *
empty_model (void)
{
  FunadModel *m = funad_model_new_empty ();
  m->grid = G;
  return m;
}

static void
test_damps_noisy_cells (void)
{
  FunadModel *m = empty_model ();
  float *s = training_scores ();
  g_assert_true (funad_calibration_fit (m, s, FRAMES));
  float interior = 0.f, border = 0.f;
  for (int c = 0; c < CELLS; c++) {
    if (on_border (c))
      border = MAX (border, m->cell_scale[c]);
    else
      interior = MAX (interior, m->cell_scale[c]);
    g_assert_cmpfloat (fabsf (m->cell_offset[c] - (on_border (c) ? 6.f : 5.f)), <, 1.5f);
  }
  g_assert_cmpfloat (border, >, 2.f * interior);
  /* A border cell at 10 is an ordinary border; an interior cell at 8 is a defect. Raw, the
   * border wins the frame's maximum; calibrated, the defect does. */
  float frame[CELLS];
  for (int c = 0; c < CELLS; c++)
    frame[c] = on_border (c) ? 6.f : 5.f;
  frame[0] = 10.f;
  frame[2 * G + 2] = 8.f;
  g_assert_cmpfloat (frame[0], >, frame[2 * G + 2]);
  funad_calibration_apply (m, frame, 0, CELLS);
  g_assert_cmpfloat (frame[2 * G + 2], >, frame[0]);
  g_free (s);
  funad_model_unref (m);
}

/* The scale never falls below the median cell's: a cell that hardly varied in training (a
 * static background) does not turn its small noise into large scores. */
static void
test_quiet_cells_not_amplified (void)
{
  FunadModel *m = empty_model ();
  float *s = training_scores ();
  for (int f = 0; f < FRAMES; f++)
    s[f * CELLS + 2 * G + 3] = 5.f + 0.001f * (f % 3);
  g_assert_true (funad_calibration_fit (m, s, FRAMES));
  /* The quiet cell sits at the floor, the lowest scale, which is the typical cell's (the
   * interior spread is 0.5). */
  float lowest = INFINITY;
  for (int c = 0; c < CELLS; c++)
    lowest = MIN (lowest, m->cell_scale[c]);
  g_assert_cmpfloat (m->cell_scale[2 * G + 3], ==, lowest);
  g_assert_cmpfloat (lowest, >, 0.3f);
  g_free (s);
  funad_model_unref (m);
}

/* Too few frames, or frames that never vary: no calibration, and applying it changes nothing.
 * An unreachable patch stays the frame's maximum and finite. */
static void
test_degenerate (void)
{
  FunadModel *m = empty_model ();
  float *s = training_scores ();
  g_assert_false (funad_calibration_fit (m, s, 3));
  g_assert_null (m->cell_scale);
  for (int i = 0; i < FRAMES * CELLS; i++)
    s[i] = 4.f;
  g_assert_false (funad_calibration_fit (m, s, FRAMES));
  g_assert_null (m->cell_offset);
  float frame[CELLS];
  for (int c = 0; c < CELLS; c++)
    frame[c] = (float) c;
  funad_calibration_apply (m, frame, 0, CELLS);
  for (int c = 0; c < CELLS; c++)
    g_assert_cmpfloat (frame[c], ==, (float) c);
  g_free (s);

  s = training_scores ();
  g_assert_true (funad_calibration_fit (m, s, FRAMES));
  for (int c = 0; c < CELLS; c++)
    frame[c] = 7.f;
  frame[5] = FUNAD_SCORE_UNREACHABLE;
  frame[6] = NAN;
  funad_calibration_apply (m, frame, 0, CELLS);
  for (int c = 0; c < CELLS; c++) {
    g_assert_true (isfinite (frame[c]));
    g_assert_cmpfloat (frame[c], <=, frame[5]);
  }
  g_assert_cmpfloat (frame[6], ==, FUNAD_SCORE_UNREACHABLE);
  g_free (s);
  funad_model_unref (m);
}

static FunadModel *
trained_model (void)
{
  FunadTrainParams p = funad_train_default_params ();
  p.input_size = 32;
  p.dict_size = 8;
  p.fit_patches = 4000;
  return synthetic_trained_model (&p, 24);
}

/* A trained model carries its calibration and neighbourhood through the file, scores the same
 * after loading, and a file whose calibration is broken is refused, naming the tensor. */
static void
test_model_file (void)
{
  FunadModel *m = trained_model ();
  g_assert_nonnull (m->cell_scale);
  g_assert_cmpint (m->backbone.builtin.neighbourhood, ==, 1);
  char *dir = g_dir_make_tmp ("funad-cal-XXXXXX", NULL);
  char *path = g_build_filename (dir, "m.safetensors", NULL);
  GError *error = NULL;
  g_assert_true (funad_model_save (m, path, &error));
  FunadModel *back = funad_model_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (funad_model_get_metadata (back, "calibration"), ==, "cell-robust-z");
  g_assert_cmpint (back->backbone.builtin.neighbourhood, ==, 1);
  g_assert_cmpmem (back->cell_offset, 16 * 4, m->cell_offset, 16 * 4);
  g_assert_cmpmem (back->cell_scale, 16 * 4, m->cell_scale, 16 * 4);
  assert_same_frame_score (m, back);
  funad_model_unref (back);

  m->cell_scale[3] = 0.f;
  g_assert_true (funad_model_save (m, path, NULL));
  g_assert_null (funad_model_load (path, &error));
  g_assert_error (error, FUNAD_ERROR, FUNAD_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "scorer.cell_scale"));
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);

  g_unlink (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
  funad_model_unref (m);
}

/* The neighbourhood mean equals a brute-force mean over the cells within r, and encoding in
 * bands then aggregating equals encoding the whole frame. */
static void
test_neighbourhood_mean (void)
{
  FunadBuiltin bb;
  funad_builtin_init (&bb, 40, 1, 4);
  const int g = bb.grid, D = bb.dim;
  GRand *rng = g_rand_new_with_seed (3);
  float *f = g_new (float, g * g * D), *ref = g_new (float, g * g * D);
  for (int r = 1; r <= 2; r++) {
    for (int i = 0; i < g * g * D; i++)
      f[i] = funad_gaussian (rng);
    for (int y = 0; y < g; y++)
      for (int x = 0; x < g; x++)
        for (int j = 0; j < D; j++) {
          double acc = 0;
          int n = 0;
          for (int yy = y - r; yy <= y + r; yy++)
            for (int xx = x - r; xx <= x + r; xx++)
              if (yy >= 0 && yy < g && xx >= 0 && xx < g) {
                acc += f[(yy * g + xx) * D + j];
                n++;
              }
          ref[(y * g + x) * D + j] = (float) (acc / n);
        }
    bb.neighbourhood = r;
    funad_builtin_aggregate (&bb, f);
    for (int i = 0; i < g * g * D; i++)
      g_assert_cmpfloat (fabsf (f[i] - ref[i]), <, 1e-5f);
  }
  g_rand_free (rng);
  g_free (ref);
  g_free (f);
  funad_builtin_clear (&bb);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/calibration/damps-noisy-cells", test_damps_noisy_cells);
  g_test_add_func ("/calibration/quiet-cells-not-amplified", test_quiet_cells_not_amplified);
  g_test_add_func ("/calibration/degenerate", test_degenerate);
  g_test_add_func ("/calibration/model-file", test_model_file);
  g_test_add_func ("/builtin/neighbourhood-mean", test_neighbourhood_mean);
  return g_test_run ();
}
