/* fuzz-frame.c — libFuzzer target: frames of any size, row stride, pixel stride and channel
 * offsets, the way a caller (the element, a tool) hands them to libfunad. The pixel buffer is
 * allocated to exactly the bytes the layout claims, so AddressSanitizer sees any read past it.
 *
 * Input: w(2) h(2) layout(1) offsets(1) size(1) map-dims(1) lo(4) hi(4) alpha(1), then the map
 * floats, then pixel bytes (repeated to fill the frame). */
#include "funad-private.h"
#include "fuzz-target.h"
#include "../synthetic-frames.h"

#define HEAD 17

static FunadScorer *scorer;

/* A tiny model trained once, so the whole scoring path runs on each frame. */
static FunadScorer *
tiny_scorer (void)
{
  FunadTrainParams p = funad_train_default_params ();
  p.input_size = 32;
  p.dict_size = 8;
  p.fit_patches = 2000;
  p.n_threads = 1;
  FunadTrainer *t = funad_trainer_new (&p);
  guint8 rgb[40 * 40 * 3];
  for (int i = 0; i < 6; i++) {
    synthetic_frame (rgb, 40, 40, i, FALSE, 3);
    FunadImage im = synthetic_image (rgb, 40, 40);
    g_assert (funad_trainer_add_frame (t, &im, NULL));
  }
  FunadModel *m = funad_trainer_run (t, NULL, NULL, NULL);
  g_assert (m);
  funad_trainer_free (t);
  FunadScorer *s = funad_scorer_new (m);
  funad_model_unref (m);
  return s;
}

static float
float_at (const guint8 *p)
{
  float f;
  memcpy (&f, p, 4);
  return f;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  if (size < HEAD)
    return 0;
  if (!scorer)
    scorer = tiny_scorer ();
  static const int strides[4] = { 1, 3, 4, 2 };   /* 2 is not a layout libfunad takes */
  int w = 1 + (data[0] | data[1] << 8) % 512;
  int h = 1 + (data[2] | data[3] << 8) % 512;
  int ps = strides[data[4] & 3];
  int stride = w * ps + (data[4] >> 2) - 8;      /* a few bytes short of a row, too */
  int out_size = 8 * (1 + data[6] % 16);
  int map_w = 1 + (data[7] & 15), map_h = 1 + (data[7] >> 4);
  float lo = float_at (data + 8), hi = float_at (data + 12);
  float alpha = data[16] / 255.f;
  guint8 off = data[5];
  data += HEAD;
  size -= HEAD;

  float *map = g_new0 (float, map_w * map_h);
  gsize map_bytes = MIN (size, (gsize) map_w * map_h * 4);
  memcpy (map, data, map_bytes);
  data += map_bytes;
  size -= map_bytes;

  /* Exactly the bytes the layout addresses: stride * (h - 1) + one row of pixels. */
  gsize bytes = stride > 0 ? (gsize) stride * (h - 1) + (gsize) w * ps : 1;
  guint8 *px = g_malloc (bytes);
  for (gsize i = 0; i < bytes; i++)
    px[i] = size ? data[i % size] : (guint8) i;
  FunadImage im = { px, w, h, stride, ps, off & 3, (off >> 2) & 3, (off >> 4) & 3 };

  float *out = g_new (float, out_size * out_size);
  GError *error = NULL;
  gboolean usable = funad_preprocess (&im, out_size, out, &error);
  if (usable) {
    for (int i = 0; i < out_size * out_size; i++)
      g_assert (out[i] >= -0.01f && out[i] <= 255.01f);
    float score;
    const float *smap;
    g_assert (funad_scorer_score (scorer, &im, &score, &smap, NULL));
    funad_heatmap_blend_colormap (off >> 6 & 1, map, map_w, map_h, lo, hi, alpha, &im);
  } else {
    g_assert (error && error->domain == FUNAD_ERROR && error->code == FUNAD_ERROR_INPUT);
    g_error_free (error);
  }
  g_free (out);
  g_free (px);
  g_free (map);
  return 0;
}
