/* test-pretrained.c — the pretrained backbones against PyTorch, on the committed fixtures
 * (tools/make-backbone-fixtures.py: reduced-width trunks with random weights and BatchNorm
 * statistics, their stage outputs and patch features computed by torch in float64), their
 * refusal of bad weights, the model file's record of the weights, and — where the shared
 * ImageNet MobileNetV2 file is present — the real trunk. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include "funad-private.h"
#include "synthetic-frames.h"

#define TOLERANCE 1e-4   /* max |C - torch| / max |torch|, per stage */

static char *
fixture (const char *name)
{
  const char *dir = g_getenv ("FUNAD_FIXTURES");
  g_assert_nonnull (dir);
  return g_build_filename (dir, name, NULL);
}

/* A fixture tensor of any shape, as a new array; its element count in *n. */
static float *
read_tensor (FunadSafetensors *st, const char *name, gsize *n)
{
  int ndim;
  gint64 shape[FUNAD_SAFETENSORS_MAX_DIMS];
  GError *error = NULL;
  g_assert_true (funad_safetensors_shape (st, name, &ndim, shape, &error));
  g_assert_no_error (error);
  *n = 1;
  for (int i = 0; i < ndim; i++)
    *n *= (gsize) shape[i];
  float *out = g_new (float, *n);
  g_assert_true (funad_safetensors_read (st, name, ndim, shape, out, &error));
  return out;
}

static double
relative_error (const float *got, const float *want, gsize n)
{
  double diff = 0, scale = 0;
  for (gsize i = 0; i < n; i++) {
    g_assert_true (isfinite (got[i]));
    diff = MAX (diff, fabs ((double) got[i] - want[i]));
    scale = MAX (scale, fabs ((double) want[i]));
  }
  g_assert_cmpfloat (scale, >, 0);
  return diff / scale;
}

/* Stage outputs and patch features of the C forward pass match torch's, in the calling thread
 * alone and shared among 5 threads of our own (more parts than the last stage has rows, so a
 * part can be empty), as the scorer runs it with n-threads. */
static void
check_fixture_threads (const char *file, const char *arch, int n_threads)
{
  char *path = fixture (file);
  GError *error = NULL;
  FunadBackbone bb;
  g_assert_true (funad_backbone_init_pretrained (&bb, arch, path, 64, 0, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (bb.channels, ==, 3);
  g_assert_cmpint (bb.grid, ==, 8);
  FunadSafetensors *st = funad_safetensors_open (path, "fixture", &error);
  g_assert_no_error (error);
  gsize n;
  float *image = read_tensor (st, "fixture.input", &n);
  g_assert_cmpuint (n, ==, 3 * 64 * 64);

  /* The trunk on the normalised image. */
  float *x = g_new (float, n);
  for (gsize i = 0; i < n; i++) {
    int c = (int) (i / (64 * 64));
    x[i] = (image[i] / 255.f - bb.input_mean[c]) / bb.input_std[c];
  }
  float *stage[FUNAD_NET_MAX_STAGES];
  int sh[FUNAD_NET_MAX_STAGES], sw[FUNAD_NET_MAX_STAGES];
  FunadWorkers *workers = NULL;
  int blas_threads = funad_get_threads ();
  if (n_threads > 1) {
    workers = funad_workers_new (n_threads);
    funad_set_threads (1);
  }
  bb.net->forward (bb.net, x, 64, 64, stage, sh, sw, workers);
  for (int s = 0; s < bb.net->n_stages; s++) {
    char *name = g_strdup_printf ("fixture.stage%d", s);
    gsize want_n;
    float *want = read_tensor (st, name, &want_n);
    g_assert_cmpuint (want_n, ==, (gsize) bb.net->channels[s] * sh[s] * sw[s]);
    g_assert_cmpint (sh[s] * bb.net->stride[s], ==, 64);
    double err = relative_error (stage[s], want, want_n);
    g_print ("# %s %s, %d threads: %dx%dx%d, max relative error %.2e\n", arch, name,
             n_threads, bb.net->channels[s], sh[s], sw[s], err);
    g_assert_cmpfloat (err, <, TOLERANCE);
    g_free (want);
    g_free (name);
    g_free (stage[s]);
  }

  /* The patch features: local average, resize to the grid, concatenation. */
  gsize feat_n;
  float *want = read_tensor (st, "fixture.features", &feat_n);
  g_assert_cmpuint (feat_n, ==, (gsize) 64 * bb.dim);
  float *got = g_new (float, feat_n);
  funad_pretrained_patch_features (&bb, image, got, workers);
  double err = relative_error (got, want, feat_n);
  g_print ("# %s patch features, %d threads: 64x%d, max relative error %.2e\n", arch, n_threads,
           bb.dim, err);
  g_assert_cmpfloat (err, <, TOLERANCE);
  g_assert_cmpuint (funad_backbone_flops (&bb), >, 0);

  funad_workers_free (workers);
  funad_set_threads (blas_threads);
  g_free (got);
  g_free (want);
  g_free (x);
  g_free (image);
  funad_safetensors_free (st);
  funad_backbone_clear (&bb);
  g_free (path);
}

static void
check_fixture (const char *file, const char *arch)
{
  check_fixture_threads (file, arch, 1);
  check_fixture_threads (file, arch, 5);
}

static void
test_mobilenetv2 (void)
{
  check_fixture ("mobilenetv2-tiny.safetensors", "mobilenetv2_100");
}

static void
test_resnet18 (void)
{
  check_fixture ("resnet18-tiny.safetensors", "resnet18");
}

static void
test_resnet50 (void)
{
  check_fixture ("resnet50-tiny.safetensors", "resnet50");
}

static void
test_wide_resnet50_2 (void)
{
  check_fixture ("wide_resnet50_2-tiny.safetensors", "wide_resnet50_2");
}

static void
expect_refused (const char *arch, const char *path, const char *expect)
{
  FunadBackbone bb;
  GError *error = NULL;
  g_assert_false (funad_backbone_init_pretrained (&bb, arch, path, 64, 0, NULL, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  if (g_strcmp0 (arch, "resnet9") != 0)
    g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, expect));
  g_assert_null (strchr (error->message, '\n'));
  g_error_free (error);
}

/* Weights of another architecture, a truncated or altered file, an unknown name: refused with
 * one line naming the file, never a crash. */
static void
test_bad_weights (void)
{
  char *mnv2 = fixture ("mobilenetv2-tiny.safetensors");
  char *r18 = fixture ("resnet18-tiny.safetensors");
  char *r50 = fixture ("resnet50-tiny.safetensors");
  expect_refused ("resnet18", mnv2, "tensor 'conv1.weight' is missing");
  expect_refused ("mobilenetv2_100", r18, "is missing");
  /* resnet18's basic blocks read as bottlenecks: a 3x3 where a 1x1 is expected. */
  expect_refused ("resnet50", r18, "wrong shape");
  expect_refused ("resnet18", r50, "wrong shape");
  expect_refused ("resnet9", r18, "unknown pretrained backbone");
  expect_refused ("resnet18", "/nonexistent-dir/w.safetensors", "cannot read");
  /* A model file names its weights: a device there must not be read (it never ends). */
  expect_refused ("resnet18", "/dev/zero", "not a regular file");

  char *contents;
  gsize len;
  g_assert_true (g_file_get_contents (r18, &contents, &len, NULL));
  char *dir = g_dir_make_tmp ("funad-pretrained-XXXXXX", NULL);
  char *bad = g_build_filename (dir, "bad.safetensors", NULL);
  g_assert_true (g_file_set_contents (bad, contents, (gssize) len / 2, NULL));
  expect_refused ("resnet18", bad, "outside the file");
  /* A stem weight renamed away. */
  char *hit = g_strstr_len (contents + 8, 4096, "\"conv1.weight\"");
  g_assert_nonnull (hit);
  hit[1] = 'k';
  g_assert_true (g_file_set_contents (bad, contents, (gssize) len, NULL));
  expect_refused ("resnet18", bad, "conv1.weight");
  hit[1] = 'c';
  /* A NaN in the last tensor's data. */
  guint32 nan_bits = GUINT32_TO_LE (0x7fc00000);
  g_assert_true (g_file_set_contents (bad, contents, (gssize) len, NULL));
  memcpy (contents + len - 4, &nan_bits, 4);
  g_assert_true (g_file_set_contents (bad, contents, (gssize) len, NULL));
  /* The last tensor is a fixture tensor the loader never reads: still accepted. */
  FunadBackbone bb;
  GError *error = NULL;
  g_assert_true (funad_backbone_init_pretrained (&bb, "resnet18", bad, 64, 0, NULL, &error));
  funad_backbone_clear (&bb);
  g_unlink (bad);
  g_rmdir (dir);
  g_free (bad);
  g_free (dir);
  g_free (contents);
  g_free (mnv2);
  g_free (r18);
  g_free (r50);
}

/* A model trained on a pretrained backbone records its weights file and scores the same after a
 * round trip; a missing or different weights file is refused naming it; FUNAD_WEIGHTS_DIR finds
 * a moved one. */
static void
test_model_records_weights (void)
{
  char *src = fixture ("resnet18-tiny.safetensors");
  char *dir = g_dir_make_tmp ("funad-pretrained-XXXXXX", NULL);
  char *weights = g_build_filename (dir, "w.safetensors", NULL);
  char *model_path = g_build_filename (dir, "m.safetensors", NULL);
  char *contents;
  gsize len;
  GError *error = NULL;
  g_assert_true (g_file_get_contents (src, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (weights, contents, (gssize) len, NULL));

  FunadTrainParams p = funad_train_default_params ();
  p.input_size = 64;
  p.n_threads = 1;
  FunadTrainer *t = funad_trainer_new (&p);
  g_assert_false (funad_trainer_set_backbone (t, "resnet9", weights, &error));
  g_clear_error (&error);
  g_assert_true (funad_trainer_set_backbone (t, "resnet18", weights, &error));
  g_assert_no_error (error);
  guint8 rgb[80 * 60 * 3];
  for (int i = 0; i < 6; i++) {
    synthetic_frame (rgb, 80, 60, 10 + i, FALSE, 4);
    FunadImage im = synthetic_image (rgb, 80, 60);
    g_assert_true (funad_trainer_add_frame (t, &im, &error));
  }
  FunadModel *m = funad_trainer_run (t, NULL, NULL, &error);
  g_assert_no_error (error);
  funad_trainer_free (t);
  g_assert_true (funad_model_save (m, model_path, &error));
  FunadModel *back = funad_model_load (model_path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (funad_model_get_metadata (back, "backbone"), ==, "resnet18");
  g_assert_cmpstr (funad_model_get_metadata (back, "backbone_weights"), ==, weights);
  g_assert_cmpstr (funad_model_get_metadata (back, "channels"), ==, "3");
  g_assert_cmpint (strlen (funad_model_get_metadata (back, "backbone_weights_sha256")), ==, 64);
  synthetic_frame (rgb, 80, 60, 99, TRUE, 4);
  FunadImage im = synthetic_image (rgb, 80, 60);
  float a, b;
  FunadScorer *sa = funad_scorer_new (m), *sb = funad_scorer_new (back);
  g_assert_true (funad_scorer_score (sa, &im, &a, NULL, NULL));
  g_assert_true (funad_scorer_score (sb, &im, &b, NULL, NULL));
  g_assert_cmpfloat (a, ==, b);
  funad_scorer_free (sa);
  funad_scorer_free (sb);
  funad_model_unref (back);
  funad_model_unref (m);

  /* Different weights, same size: one changed byte in a weight. */
  contents[len - 1] ^= 0x01;
  g_assert_true (g_file_set_contents (weights, contents, (gssize) len, NULL));
  g_assert_null (funad_model_load (model_path, &error));
  g_assert_error (error, FUNAD_ERROR, FUNAD_ERROR_VERSION);
  g_assert_nonnull (strstr (error->message, weights));
  g_assert_nonnull (strstr (error->message, "SHA-256"));
  g_assert_null (strchr (error->message, '\n'));
  g_clear_error (&error);
  contents[len - 1] ^= 0x01;

  /* Another size. */
  g_assert_true (g_file_set_contents (weights, contents, (gssize) len - 4, NULL));
  g_assert_null (funad_model_load (model_path, &error));
  g_assert_nonnull (strstr (error->message, weights));
  g_assert_nonnull (strstr (error->message, "bytes"));
  g_clear_error (&error);

  /* Missing; then found again in FUNAD_WEIGHTS_DIR after a move. */
  g_unlink (weights);
  g_unsetenv ("FUNAD_WEIGHTS_DIR");
  g_assert_null (funad_model_load (model_path, &error));
  g_assert_error (error, FUNAD_ERROR, FUNAD_ERROR_IO);
  g_assert_nonnull (strstr (error->message, weights));
  g_assert_nonnull (strstr (error->message, "set FUNAD_WEIGHTS_DIR"));  /* the way out */
  g_assert_null (strchr (error->message, '\n'));
  g_clear_error (&error);
  char *moved_dir = g_build_filename (dir, "moved", NULL);
  char *moved = g_build_filename (moved_dir, "w.safetensors", NULL);
  g_assert_cmpint (g_mkdir (moved_dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (moved, contents, (gssize) len, NULL));
  g_setenv ("FUNAD_WEIGHTS_DIR", moved_dir, TRUE);
  back = funad_model_load (model_path, &error);
  g_assert_no_error (error);
  /* what a program (funad-inspect) reads is the file found, not the recorded one */
  g_assert_cmpstr (funad_model_get_metadata (back, "backbone_weights"), ==, moved);
  funad_model_unref (back);

  /* Other weights under the recorded name: FUNAD_WEIGHTS_DIR's file is taken (it was tried
   * only when the recorded file was gone); with none there, the recorded file's error. */
  contents[len - 1] ^= 0x01;
  g_assert_true (g_file_set_contents (weights, contents, (gssize) len, NULL));
  contents[len - 1] ^= 0x01;
  back = funad_model_load (model_path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (funad_model_get_metadata (back, "backbone_weights"), ==, moved);
  funad_model_unref (back);
  g_unlink (moved);
  g_assert_null (funad_model_load (model_path, &error));
  g_assert_error (error, FUNAD_ERROR, FUNAD_ERROR_VERSION);
  g_assert_nonnull (strstr (error->message, weights));
  g_assert_nonnull (strstr (error->message, "SHA-256"));
  g_clear_error (&error);
  g_unsetenv ("FUNAD_WEIGHTS_DIR");

  g_unlink (weights);
  g_rmdir (moved_dir);
  g_unlink (model_path);
  g_rmdir (dir);
  g_free (moved);
  g_free (moved_dir);
  g_free (contents);
  g_free (model_path);
  g_free (weights);
  g_free (dir);
  g_free (src);
}

/* Coloured discs of random sizes on grey: no period a shift could land on. */
static void
scattered_discs (guint8 *rgb, int w, int h, guint32 seed)
{
  GRand *rng = g_rand_new_with_seed (seed);
  memset (rgb, 128, (gsize) w * h * 3);
  for (int d = 0; d < 120; d++) {
    int cx = g_rand_int_range (rng, 0, w), cy = g_rand_int_range (rng, 0, h);
    int r = g_rand_int_range (rng, 3, 16);
    guint8 colour[3] = { (guint8) g_rand_int_range (rng, 0, 256),
                         (guint8) g_rand_int_range (rng, 0, 256),
                         (guint8) g_rand_int_range (rng, 0, 256) };
    for (int y = MAX (cy - r, 0); y < MIN (cy + r + 1, h); y++)
      for (int x = MAX (cx - r, 0); x < MIN (cx + r + 1, w); x++)
        if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r)
          memcpy (rgb + ((gsize) y * w + x) * 3, colour, 3);
  }
  g_rand_free (rng);
}

/* The colour input: R, G, B planes whatever the pixel layout; a grey frame gives three equal
 * planes; each plane is resampled exactly as the grey path resamples. */
static void
test_preprocess_rgb (void)
{
  enum { W = 37, H = 23, S = 16 };
  guint8 rgb[W * H * 3], bgrx[W * H * 4], red[W * H], grey[W * H];
  for (int i = 0; i < W * H; i++) {
    guint8 r = (guint8) (i * 13), g = (guint8) (i * 7), b = (guint8) (i * 3);
    rgb[3 * i] = r, rgb[3 * i + 1] = g, rgb[3 * i + 2] = b;
    bgrx[4 * i] = b, bgrx[4 * i + 1] = g, bgrx[4 * i + 2] = r, bgrx[4 * i + 3] = 255;
    red[i] = r;
    grey[i] = (guint8) (i * 5);
  }
  FunadImage a = { rgb, W, H, 3 * W, 3, 0, 1, 2 };
  FunadImage b = { bgrx, W, H, 4 * W, 4, 2, 1, 0 };
  FunadImage r = { red, W, H, W, 1, 0, 0, 0 };
  FunadImage g = { grey, W, H, W, 1, 0, 0, 0 };
  float pa[3 * S * S], pb[3 * S * S], pr[S * S], pg[3 * S * S];
  g_assert_true (funad_preprocess_rgb (&a, S, pa, NULL));
  g_assert_true (funad_preprocess_rgb (&b, S, pb, NULL));
  g_assert_cmpmem (pa, sizeof pa, pb, sizeof pb);
  g_assert_true (funad_preprocess (&r, S, pr, NULL));
  g_assert_cmpmem (pa, sizeof pr, pr, sizeof pr);
  g_assert_true (funad_preprocess_rgb (&g, S, pg, NULL));
  g_assert_cmpmem (pg, S * S * 4, pg + S * S, S * S * 4);
  g_assert_cmpmem (pg, S * S * 4, pg + 2 * S * S, S * S * 4);
  GError *error = NULL;
  FunadImage bad = { rgb, 0, H, 3 * W, 3, 0, 1, 2 };
  g_assert_false (funad_preprocess_rgb (&bad, S, pa, &error));
  g_assert_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT);
  g_clear_error (&error);
}

/* Stages wider than feature_dim are reduced by a PCA fitted at training, stored in the model:
 * the reduced features are decorrelated, ordered by variance, and survive a round trip. */
static void
test_pca_reduction (void)
{
  char *weights = fixture ("resnet50-tiny.safetensors");
  char *dir = g_dir_make_tmp ("funad-pretrained-XXXXXX", NULL);
  char *model_path = g_build_filename (dir, "m.safetensors", NULL);
  GError *error = NULL;
  FunadTrainParams p = funad_train_default_params ();
  p.input_size = 64;
  p.n_threads = 1;
  p.feature_dim = 16;   /* of 32 + 48 */
  FunadTrainer *t = funad_trainer_new (&p);
  g_assert_true (funad_trainer_set_backbone (t, "resnet50", weights, &error));
  guint8 rgb[80 * 60 * 3];
  for (int i = 0; i < 8; i++) {
    synthetic_frame (rgb, 80, 60, 30 + i, FALSE, 4);
    FunadImage im = synthetic_image (rgb, 80, 60);
    g_assert_true (funad_trainer_add_frame (t, &im, &error));
  }
  FunadModel *m = funad_trainer_run (t, NULL, NULL, &error);
  g_assert_no_error (error);
  funad_trainer_free (t);
  const FunadBackbone *bb = &m->backbone;
  g_assert_cmpint (bb->raw_dim, ==, 80);
  g_assert_cmpint (bb->dim, ==, 16);
  g_assert_nonnull (bb->projection);
  /* The projection's rows are orthonormal. */
  for (int a = 0; a < 16; a++)
    for (int b = 0; b < 16; b++) {
      double dot = 0;
      for (int j = 0; j < 80; j++)
        dot += bb->projection[a * 80 + j] * bb->projection[b * 80 + j];
      g_assert_cmpfloat (fabs (dot - (a == b)), <, 1e-3);
    }
  /* Variance of the unstandardised components descends (feat_std holds their spread). */
  g_assert_cmpfloat (bb->feat_std[0], >=, bb->feat_std[15]);
  g_assert_true (funad_model_save (m, model_path, &error));
  FunadModel *back = funad_model_load (model_path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (back->backbone.dim, ==, 16);
  g_assert_cmpmem (back->backbone.projection, 16 * 80 * 4, bb->projection, 16 * 80 * 4);
  synthetic_frame (rgb, 80, 60, 99, TRUE, 4);
  FunadImage im = synthetic_image (rgb, 80, 60);
  float a, b;
  FunadScorer *sa = funad_scorer_new (m), *sb = funad_scorer_new (back);
  g_assert_true (funad_scorer_score (sa, &im, &a, NULL, NULL));
  g_assert_true (funad_scorer_score (sb, &im, &b, NULL, NULL));
  g_assert_cmpfloat (a, ==, b);
  funad_scorer_free (sa);
  funad_scorer_free (sb);
  funad_model_unref (back);
  funad_model_unref (m);
  g_unlink (model_path);
  g_rmdir (dir);
  g_free (model_path);
  g_free (dir);
  g_free (weights);
}

/* The real ImageNet MobileNetV2 trunk (../shared/models): shapes, finite values, determinism,
 * and features that follow the image: a shifted frame's features are the shifted features. */
static void
test_real_mobilenetv2 (void)
{
  const char *dir = g_getenv ("FUNAD_SHARED_MODELS");
  char *path = dir ? g_build_filename (dir, "mobilenetv2_100-imagenet-trunk.safetensors", NULL)
                   : NULL;
  if (!path || !g_file_test (path, G_FILE_TEST_EXISTS)) {
    char *why = g_strdup_printf ("real weights not found (%s); see ../shared/models/README.md",
                                 path ? path : "FUNAD_SHARED_MODELS unset");
    g_test_skip (why);
    g_free (why);
    g_free (path);
    return;
  }
  enum { S = 224, G = 28, SHIFT = 32 };
  FunadBackbone bb;
  GError *error = NULL;
  g_assert_true (funad_backbone_init_pretrained (&bb, "mobilenetv2_100", path, S, 0, NULL,
                                                 &error));
  g_assert_no_error (error);
  g_assert_cmpint (bb.dim, ==, 32 + 64 + 96);
  g_assert_cmpfloat (bb.input_mean[0], ==, 0.5f);   /* its metadata asks for x / 127.5 - 1 */
  /* A wide textured frame; b is a shifted SHIFT px (4 cells) to the left. */
  enum { W = S + SHIFT };
  guint8 *rgb = g_new (guint8, W * S * 3);
  scattered_discs (rgb, W, S, 7);
  FunadImage wide = synthetic_image (rgb, W, S);
  FunadImage a = wide, b = wide;
  a.width = b.width = S;
  b.data = rgb + SHIFT * 3;
  float *ia = g_new (float, 3 * S * S), *ib = g_new (float, 3 * S * S);
  g_assert_true (funad_backbone_preprocess (&bb, &a, ia, NULL));
  g_assert_true (funad_backbone_preprocess (&bb, &b, ib, NULL));
  float *fa = g_new (float, G * G * bb.dim), *fa2 = g_new (float, G * G * bb.dim);
  float *fb = g_new (float, G * G * bb.dim);
  funad_backbone_features (&bb, ia, fa, NULL);
  funad_backbone_features (&bb, ia, fa2, NULL);
  funad_backbone_features (&bb, ib, fb, NULL);
  g_assert_cmpmem (fa, G * G * bb.dim * 4, fa2, G * G * bb.dim * 4);
  double aligned = 0, unaligned = 0, norm = 0;
  int n = 0;
  for (int y = 2; y < G - 2; y++)
    for (int x = 2; x < G - 2 - SHIFT / 8; x++) {
      const float *p = fa + (y * G + x + SHIFT / 8) * bb.dim;
      const float *q = fb + (y * G + x) * bb.dim;
      const float *r = fb + (y * G + x + SHIFT / 8) * bb.dim;
      for (int j = 0; j < bb.dim; j++) {
        g_assert_true (isfinite (p[j]));
        aligned += (p[j] - q[j]) * (p[j] - q[j]);
        unaligned += (p[j] - r[j]) * (p[j] - r[j]);
        norm += p[j] * p[j];
      }
      n++;
    }
  g_print ("# real mobilenetv2_100: %d features per patch, shifted-frame distance %.3g aligned, "
           "%.3g unaligned, %.3g feature norm (mean squared per patch)\n", bb.dim,
           aligned / n, unaligned / n, norm / n);
  g_assert_cmpfloat (norm, >, 0);
  g_assert_cmpfloat (aligned, <, 0.5 * unaligned);
  g_free (fa);
  g_free (fa2);
  g_free (fb);
  g_free (ia);
  g_free (ib);
  g_free (rgb);
  funad_backbone_clear (&bb);
  g_free (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pretrained/preprocess-rgb", test_preprocess_rgb);
  g_test_add_func ("/pretrained/mobilenetv2", test_mobilenetv2);
  g_test_add_func ("/pretrained/resnet18", test_resnet18);
  g_test_add_func ("/pretrained/resnet50", test_resnet50);
  g_test_add_func ("/pretrained/wide-resnet50-2", test_wide_resnet50_2);
  g_test_add_func ("/pretrained/bad-weights", test_bad_weights);
  g_test_add_func ("/pretrained/model-records-weights", test_model_records_weights);
  g_test_add_func ("/pretrained/pca-reduction", test_pca_reduction);
  g_test_add_func ("/pretrained/real-mobilenetv2", test_real_mobilenetv2);
  return g_test_run ();
}
