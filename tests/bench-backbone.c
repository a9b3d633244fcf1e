/* bench-backbone.c — feature time per frame of one backbone (a benchmark, not a timed test):
 *
 *   build/tests/bench-backbone builtin|NAME:WEIGHTS.safetensors [FRAMES] [SIZE] [THREADS]
 *
 * Times preprocessing (a 640x480 RGB frame to SIZE x SIZE) plus the backbone's features, after
 * one warm-up frame, and prints milliseconds per frame and the backbone's GFLOP per frame.
 * The builtin backbone is first fitted on a few synthetic frames, and runs with THREADS
 * OpenBLAS threads; a pretrained one shares its layers among THREADS threads of our own, each
 * with one-thread sgemm, as the scorer does with n-threads > 1. */
#include <stdlib.h>
#include <string.h>
#include "funad-private.h"
#include "synthetic-frames.h"

int
main (int argc, char **argv)
{
  if (argc < 2) {
    g_printerr ("usage: %s builtin|NAME:WEIGHTS [FRAMES] [SIZE] [THREADS]\n", argv[0]);
    return 2;
  }
  int frames = argc > 2 ? atoi (argv[2]) : 20;
  int size = argc > 3 ? atoi (argv[3]) : 224;
  int threads = argc > 4 ? atoi (argv[4]) : 2;
  funad_set_threads (threads);
  FunadBackbone bb;
  GError *error = NULL;
  enum { W = 640, H = 480 };
  guint8 *rgb = g_new (guint8, W * H * 3);
  if (strcmp (argv[1], "builtin") == 0) {
    FunadTrainParams p = funad_train_default_params ();
    funad_backbone_init_builtin (&bb, size, p.n_scales, p.dict_size);
    enum { N = 8 };
    float *images = g_new (float, (gsize) N * size * size);
    for (int i = 0; i < N; i++) {
      synthetic_frame (rgb, W, H, 100 + i, FALSE, 4);
      FunadImage im = synthetic_image (rgb, W, H);
      funad_backbone_preprocess (&bb, &im, images + (gsize) i * size * size, NULL);
    }
    GRand *rng = g_rand_new_with_seed (1);
    funad_backbone_fit (&bb, images, N, 20000, rng);
    g_rand_free (rng);
    g_free (images);
  } else {
    char *name = g_strdup (argv[1]);
    char *colon = strchr (name, ':');
    if (!colon) {
      g_printerr ("%s: give NAME:WEIGHTS\n", argv[0]);
      return 2;
    }
    *colon = '\0';
    if (!funad_backbone_init_pretrained (&bb, name, colon + 1, size, 0, NULL, &error)) {
      g_printerr ("%s: %s\n", argv[0], error->message);
      return 1;
    }
    g_free (name);
  }
  FunadWorkers *workers = NULL;
  if (bb.net && threads > 1) {
    workers = funad_workers_new (threads);
    funad_set_threads (1);
  }
  synthetic_frame (rgb, W, H, 7, TRUE, 10);
  FunadImage im = synthetic_image (rgb, W, H);
  float *image = g_new (float, funad_backbone_image_floats (&bb));
  float *features = g_new (float, (gsize) bb.grid * bb.grid * bb.dim);
  funad_backbone_preprocess (&bb, &im, image, NULL);
  funad_backbone_features (&bb, image, features, workers);   /* warm-up */
  gint64 start = g_get_monotonic_time ();
  for (int i = 0; i < frames; i++) {
    funad_backbone_preprocess (&bb, &im, image, NULL);
    funad_backbone_features (&bb, image, features, workers);
  }
  double ms = (g_get_monotonic_time () - start) / 1e3 / frames;
  g_print ("%s: %.2f ms per %dx%d frame (preprocess + features, %d frames, %d threads), "
           "%.3f GFLOP, %d features per patch on a %dx%d grid\n", bb.name, ms, size, size,
           frames, threads, funad_backbone_flops (&bb) / 1e9, bb.dim, bb.grid, bb.grid);
  funad_workers_free (workers);
  g_free (features);
  g_free (image);
  g_free (rgb);
  funad_backbone_clear (&bb);
  return 0;
}
