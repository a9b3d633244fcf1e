/* scorer.c — scores one frame: preprocess, backbone features, patch scorer, map. The same code
 * path serves funad-train (threshold), funad-eval and the element, so all agree on a frame. */
#include "funad-private.h"

#include <string.h>

struct _FunadScorer {
  FunadModel *model;
  float *image;      /* channels x input_size^2 */
  float *features;   /* grid^2 x dim */
  float *patch_scores; /* grid^2 */
  float *map, *tmp;  /* input_size^2 */
  FunadMlpCache cache;
};

void
funad_model_patch_scores (const FunadModel *m, const float *features, int P,
                          FunadMlpCache *cache, float *scores)
{
  if (m->scorer == FUNAD_SCORER_MEMORY_BANK) {
    funad_memory_bank_score (m, features, P, -1, NULL, 0, scores);
    return;
  }
  funad_mlp_forward (&m->mlp, features, P, cache);
  memcpy (scores, cache->act[FUNAD_MLP_LAYERS - 1], P * sizeof (float));
}

FunadScorer *
funad_scorer_new (FunadModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  FunadScorer *s = g_new0 (FunadScorer, 1);
  s->model = funad_model_ref (model);
  gsize pixels = (gsize) model->input_size * model->input_size;
  s->image = g_new (float, funad_backbone_image_floats (&model->backbone));
  s->features = g_new (float, (gsize) model->grid * model->grid * model->backbone.dim);
  s->patch_scores = g_new (float, (gsize) model->grid * model->grid);
  s->map = g_new (float, pixels);
  s->tmp = g_new (float, pixels);
  return s;
}

void
funad_scorer_free (FunadScorer *s)
{
  if (!s)
    return;
  funad_mlp_cache_clear (&s->cache);
  g_free (s->image);
  g_free (s->features);
  g_free (s->patch_scores);
  g_free (s->map);
  g_free (s->tmp);
  funad_model_unref (s->model);
  g_free (s);
}

FunadModel *
funad_scorer_get_model (FunadScorer *s)
{
  return s->model;
}

gboolean
funad_scorer_score (FunadScorer *s, const FunadImage *image, float *score, const float **map,
                    GError **error)
{
  const FunadModel *m = s->model;
  if (!funad_backbone_preprocess (&m->backbone, image, s->image, error))
    return FALSE;
  funad_backbone_features (&m->backbone, s->image, s->features);
  funad_model_patch_scores (m, s->features, m->grid * m->grid, &s->cache, s->patch_scores);
  float best = funad_patch_scores_to_map (s->patch_scores, m->grid, m->input_size, s->map,
                                          s->tmp);
  if (score)
    *score = best;
  if (map)
    *map = s->map;
  return TRUE;
}
