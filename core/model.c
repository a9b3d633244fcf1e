/* model.c — the model handle (immutable once built, shared by reference) and the anomaly map:
 * patch scores upsampled to the input size and blurred, as the reference does. */
#include <math.h>
#include <string.h>
#include "funad-private.h"

FunadModel *
funad_model_new_empty (void)
{
  FunadModel *model = g_new0 (FunadModel, 1);
  model->ref_count = 1;
  model->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return model;
}

FunadModel *
funad_model_ref (FunadModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_atomic_int_inc (&model->ref_count);
  return model;
}

void
funad_model_unref (FunadModel *model)
{
  if (!model || !g_atomic_int_dec_and_test (&model->ref_count))
    return;
  funad_backbone_clear (&model->backbone);
  funad_mlp_clear (&model->mlp);
  g_free (model->bank);
  g_free (model->bank_floor);
  g_free (model->cell_offset);
  g_free (model->cell_scale);
  funad_appearance_clear (&model->appearance);
  funad_bank_index_free (model->bank_index);
  g_hash_table_unref (model->metadata);
  g_free (model);
}

const FunadBankIndex *
funad_model_bank_index (const FunadModel *model)
{
  FunadModel *m = (FunadModel *) model;   /* a cache: the model stays the same model */
  if (g_once_init_enter (&m->bank_index_once)) {
    if (m->scorer == FUNAD_SCORER_MEMORY_BANK && m->bank)
      m->bank_index = funad_bank_index_new (m->bank, m->bank_floor, m->bank_rows,
                                            m->backbone.dim, funad_bank_index_default_probes ());
    g_once_init_leave (&m->bank_index_once, 1);
  }
  return m->bank_index;
}

void
funad_model_reset_bank_index (FunadModel *model)
{
  funad_bank_index_free (model->bank_index);
  model->bank_index = NULL;
  model->bank_index_once = 0;
}

int
funad_model_input_size (const FunadModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->input_size;
}

int
funad_model_grid_size (const FunadModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->grid;
}

int
funad_model_channels (const FunadModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->backbone.channels;
}

double
funad_model_threshold (const FunadModel *model)
{
  g_return_val_if_fail (model != NULL, NAN);
  return model->threshold;
}

const char *
funad_model_get_metadata (const FunadModel *model, const char *key)
{
  g_return_val_if_fail (model != NULL && key != NULL, NULL);
  return g_hash_table_lookup (model->metadata, key);
}

void
funad_model_set_metadata (FunadModel *model, const char *key, const char *value)
{
  g_hash_table_replace (model->metadata, g_strdup (key), g_strdup (value));
}

void
funad_map_resize (const float *src, int sw, int sh, float *dst, int dw, int dh)
{
  float sx = (float) sw / dw, sy = (float) sh / dh;
  int *x0 = g_new (int, dw);
  float *fx = g_new (float, dw);
  for (int x = 0; x < dw; x++) {
    float u = CLAMP ((x + 0.5f) * sx - 0.5f, 0.f, sw - 1.f);
    x0[x] = MIN ((int) u, MAX (sw - 2, 0));
    fx[x] = sw > 1 ? u - x0[x] : 0.f;
  }
  for (int y = 0; y < dh; y++) {
    float v = CLAMP ((y + 0.5f) * sy - 0.5f, 0.f, sh - 1.f);
    int y0 = MIN ((int) v, MAX (sh - 2, 0));
    float fy = sh > 1 ? v - y0 : 0.f;
    const float *r0 = src + (gsize) y0 * sw;
    const float *r1 = sh > 1 ? r0 + sw : r0;
    float *out = dst + (gsize) y * dw;
    for (int x = 0; x < dw; x++) {
      int a = x0[x], b = sw > 1 ? a + 1 : a;
      float top = r0[a] + fx[x] * (r0[b] - r0[a]);
      float bottom = r1[a] + fx[x] * (r1[b] - r1[a]);
      out[x] = top + fy * (bottom - top);
    }
  }
  g_free (fx);
  g_free (x0);
}

/* The reference blurs with sigma 4 at 224 px; keep the same blur relative to the frame. */
#ifndef BLUR_SIGMA_AT_224
#define BLUR_SIGMA_AT_224 4.f
#endif

float
funad_map_blur_sigma (int input_size)
{
  return BLUR_SIGMA_AT_224 * input_size / 224.f;
}

/* Separable Gaussian blur, edges replicated. */
static void
gaussian_blur (float *map, int size, float sigma, float *tmp)
{
  int radius = (int) ceilf (3.f * sigma);
  float *kernel = g_new (float, 2 * radius + 1);
  float sum = 0.f;
  for (int i = -radius; i <= radius; i++) {
    kernel[i + radius] = expf (-0.5f * i * i / (sigma * sigma));
    sum += kernel[i + radius];
  }
  for (int i = 0; i <= 2 * radius; i++)
    kernel[i] /= sum;
  for (int y = 0; y < size; y++) {
    const float *row = map + (gsize) y * size;
    for (int x = 0; x < size; x++) {
      float acc = 0.f;
      for (int i = -radius; i <= radius; i++)
        acc += kernel[i + radius] * row[CLAMP (x + i, 0, size - 1)];
      tmp[(gsize) y * size + x] = acc;
    }
  }
  for (int y = 0; y < size; y++)
    for (int x = 0; x < size; x++) {
      float acc = 0.f;
      for (int i = -radius; i <= radius; i++)
        acc += kernel[i + radius] * tmp[(gsize) CLAMP (y + i, 0, size - 1) * size + x];
      map[(gsize) y * size + x] = acc;
    }
  g_free (kernel);
}

float
funad_patch_scores_to_map (const float *patch_scores, int grid, int size, float *map, float *tmp)
{
  funad_map_resize (patch_scores, grid, grid, map, size, size);
  gaussian_blur (map, size, funad_map_blur_sigma (size), tmp);
  float best = -INFINITY;
  for (gsize i = 0; i < (gsize) size * size; i++)
    best = MAX (best, map[i]);
  return best;
}
