/* test-backbone.c — preprocessing (any size and layout to the model's grey input) and the
 * builtin backbone's learned features. */
#include <math.h>
#include <string.h>
#include "funad-private.h"
#include "synthetic-frames.h"

static void
test_preprocess_constant_and_layouts (void)
{
  enum { W = 37, H = 23 };
  guint8 rgb[W * H * 3], bgrx[W * H * 4], grey[W * H];
  for (int i = 0; i < W * H; i++) {
    guint8 r = (guint8) (i * 13), g = (guint8) (i * 7), b = (guint8) (i * 3);
    rgb[3 * i] = r, rgb[3 * i + 1] = g, rgb[3 * i + 2] = b;
    bgrx[4 * i] = b, bgrx[4 * i + 1] = g, bgrx[4 * i + 2] = r, bgrx[4 * i + 3] = 255;
    grey[i] = 90;
  }
  FunadImage a = { rgb, W, H, 3 * W, 3, 0, 1, 2 };
  FunadImage b = { bgrx, W, H, 4 * W, 4, 2, 1, 0 };
  FunadImage c = { grey, W, H, W, 1, 0, 0, 0 };
  float oa[16 * 16], ob[16 * 16], oc[64 * 64];
  g_assert_true (funad_preprocess (&a, 16, oa, NULL));
  g_assert_true (funad_preprocess (&b, 16, ob, NULL));
  g_assert_cmpmem (oa, sizeof oa, ob, sizeof ob);
  /* Upscaling and downscaling a constant frame keep it constant. */
  g_assert_true (funad_preprocess (&c, 64, oc, NULL));
  for (int i = 0; i < 64 * 64; i++)
    g_assert_cmpfloat_with_epsilon (oc[i], 90.f, 1e-3);
  g_assert_true (funad_preprocess (&c, 16, oa, NULL));
  for (int i = 0; i < 16 * 16; i++)
    g_assert_cmpfloat_with_epsilon (oa[i], 90.f, 1e-3);
}

/* Halving a one-pixel checkerboard averages it: area resampling, no aliasing. */
static void
test_preprocess_area_average (void)
{
  enum { S = 64 };
  guint8 px[S * S];
  for (int y = 0; y < S; y++)
    for (int x = 0; x < S; x++)
      px[y * S + x] = (x + y) % 2 ? 200 : 0;
  FunadImage im = { px, S, S, S, 1, 0, 0, 0 };
  float out[32 * 32];
  g_assert_true (funad_preprocess (&im, 32, out, NULL));
  for (int i = 0; i < 32 * 32; i++)
    g_assert_cmpfloat_with_epsilon (out[i], 100.f, 1e-3);
  /* A 1x1 frame works; an absurd one fails with a message. */
  guint8 one = 42;
  FunadImage tiny = { &one, 1, 1, 1, 1, 0, 0, 0 };
  g_assert_true (funad_preprocess (&tiny, 32, out, NULL));
  g_assert_cmpfloat_with_epsilon (out[0], 42.f, 1e-4);
  FunadImage bad = { px, 0, 5, 5, 1, 0, 0, 0 };
  GError *error = NULL;
  g_assert_false (funad_preprocess (&bad, 32, out, &error));
  g_assert_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT);
  g_clear_error (&error);
  FunadImage bad_stride = { px, S, S, S - 1, 1, 0, 0, 0 };
  g_assert_false (funad_preprocess (&bad_stride, 32, out, &error));
  g_assert_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT);
  g_clear_error (&error);
}

/* Features: right shape, finite, whitening decorrelates, and a defect changes the features of
 * its own cells far more than those elsewhere. */
static void
test_builtin_features (void)
{
  enum { S = 64, N = 8 };
  GRand *rng = g_rand_new_with_seed (2);
  float *images = g_new (float, N * S * S);
  guint8 rgb[S * S * 3];
  for (int i = 0; i < N; i++) {
    synthetic_frame (rgb, S, S, 100 + i, FALSE, 4);
    FunadImage im = synthetic_image (rgb, S, S);
    g_assert_true (funad_preprocess (&im, S, images + i * S * S, NULL));
  }
  FunadBuiltin bb;
  funad_builtin_init (&bb, S, 2, 16);
  funad_builtin_fit (&bb, images, N, 5000, rng);
  g_assert_cmpint (bb.dim, ==, 32);
  g_assert_cmpint (bb.grid, ==, 8);
  float *f = g_new (float, 64 * 32), *g = g_new (float, 64 * 32);
  funad_builtin_features (&bb, images, f);
  for (int i = 0; i < 64 * 32; i++)
    g_assert_true (isfinite (f[i]));
  /* Same image with a dark blob in the middle (cells 3..4 of 8). */
  float *img = g_memdup2 (images, S * S * sizeof (float));
  for (int y = 28; y < 36; y++)
    for (int x = 28; x < 36; x++)
      img[y * S + x] = 10.f;
  funad_builtin_features (&bb, img, g);
  double inside = 0, outside = 0;
  int n_in = 0, n_out = 0;
  for (int c = 0; c < 64; c++) {
    int cy = c / 8, cx = c % 8;
    double d = 0;
    for (int j = 0; j < 32; j++)
      d += (f[c * 32 + j] - g[c * 32 + j]) * (f[c * 32 + j] - g[c * 32 + j]);
    if (cy >= 3 && cy <= 4 && cx >= 3 && cx <= 4)
      inside += d, n_in++;
    else if (cy <= 1 || cy >= 6 || cx <= 1 || cx >= 6)
      outside += d, n_out++;
  }
  g_assert_cmpfloat (outside / n_out, <, 1e-6);
  g_assert_cmpfloat (inside / n_in, >, 1e-3);
  g_assert_cmpuint (funad_builtin_flops (&bb), >, 0);
  g_free (img);
  g_free (f);
  g_free (g);
  funad_builtin_clear (&bb);
  g_free (images);
  g_rand_free (rng);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/preprocess/layouts", test_preprocess_constant_and_layouts);
  g_test_add_func ("/preprocess/area", test_preprocess_area_average);
  g_test_add_func ("/backbone/features", test_builtin_features);
  return g_test_run ();
}
