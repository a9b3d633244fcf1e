/* scorer.c — scores one frame: preprocess, backbone features, patch scorer, map. The same code
 * path serves funad-train (threshold), funad-eval and the element, so all agree on a frame. */
#include "funad-private.h"

#include <math.h>
#include <string.h>

struct _FunadScorer {
  FunadModel *model;
  float *image;      /* channels x input_size^2 */
  float *features;   /* grid^2 x dim */
  float *patch_scores; /* grid^2 */
  float *map, *tmp;  /* input_size^2 */
  float *looks, *shares; /* the appearance term's blocks: n_blocks x dim, n_blocks */
  FunadMlpCache cache;
  FunadWorkers *workers;   /* NULL: the calling thread does it all (OpenBLAS threads inside) */
  gint64 stage_us[FUNAD_N_STAGES]; /* the last frame's time in each stage, for benchmarks */
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
  /* Logits keep their order where the sigmoid rounds to 1 in float: a confident discriminator
   * otherwise ties most frames at a score of 1. */
  memcpy (scores, m->logit_scores ? cache->pre[FUNAD_MLP_LAYERS - 1]
                                  : cache->act[FUNAD_MLP_LAYERS - 1], P * sizeof (float));
  /* A non-finite feature (or an overflow inside the network) gives a NaN, or a sigmoid pinned
   * at 0 by an infinity; NaN is above no threshold. Such a patch counts as certainly
   * anomalous, as the memory bank's unreachable patch does. */
  int D = m->backbone.dim;
  for (int i = 0; i < P; i++) {
    gboolean finite = m->logit_scores ? isfinite (scores[i]) : !isnan (scores[i]);
    for (int j = 0; finite && j < D; j++)
      finite = isfinite (features[(gsize) i * D + j]);
    if (!finite)
      scores[i] = m->logit_scores ? FUNAD_SCORE_UNREACHABLE : 1.f;
  }
}

FunadScorer *
funad_scorer_new (FunadModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  FunadScorer *s = g_new0 (FunadScorer, 1);
  s->model = funad_model_ref (model);
  /* The bank's index is built here, where a model is loaded, not on the first frame. */
  funad_model_bank_index (model);
  gsize pixels = (gsize) model->input_size * model->input_size;
  s->image = g_new (float, funad_backbone_image_floats (&model->backbone));
  s->features = g_new (float, (gsize) model->grid * model->grid * model->backbone.dim);
  s->patch_scores = g_new (float, (gsize) model->grid * model->grid);
  s->map = g_new (float, pixels);
  s->tmp = g_new (float, pixels);
  const FunadAppearance *a = &model->appearance;
  if (a->n_frames) {
    s->looks = g_new (float, (gsize) a->n_blocks * a->dim);
    s->shares = g_new (float, a->n_blocks);
  }
  return s;
}

void
funad_scorer_free (FunadScorer *s)
{
  if (!s)
    return;
  funad_mlp_cache_clear (&s->cache);
  funad_workers_free (s->workers);
  g_free (s->image);
  g_free (s->features);
  g_free (s->patch_scores);
  g_free (s->map);
  g_free (s->tmp);
  g_free (s->looks);
  g_free (s->shares);
  funad_model_unref (s->model);
  g_free (s);
}

FunadModel *
funad_scorer_get_model (FunadScorer *s)
{
  g_return_val_if_fail (s != NULL, NULL);
  return s->model;
}

void
funad_scorer_set_threads (FunadScorer *s, int n_threads)
{
  g_return_if_fail (s != NULL);
  /* a typo's 1000 started 999 threads at once */
  g_return_if_fail (n_threads <= FUNAD_MAX_THREADS);
  funad_workers_free (s->workers);
  s->workers = NULL;
  if (n_threads < 1)
    return;
  /* Each thread's matrix products must stay in that thread: OpenBLAS's own pool would
   * otherwise serve every band at once on the same cores. */
  funad_set_threads (1);
  if (n_threads > 1)
    s->workers = funad_workers_new (n_threads);
}

#define MAX_AUTO_THREADS 8  /* a 28-row grid gives more bands little to share (measured on
                               * two cores only) */
int
funad_scorer_auto_threads (void)
{
  return CLAMP (funad_available_cores (), 1, MAX_AUTO_THREADS);
}

/* Part `part` of n: a band of grid rows of the features, then the same rows' patch scores. */
static void
score_band (gpointer data, int part, int n)
{
  FunadScorer *s = data;
  const FunadModel *m = s->model;
  int gy0 = m->grid * part / n, gy1 = m->grid * (part + 1) / n;
  funad_backbone_features_rows (&m->backbone, s->image, gy0, gy1, s->features);
}

static void
score_patches (gpointer data, int part, int n)
{
  FunadScorer *s = data;
  const FunadModel *m = s->model;
  int P = m->grid * m->grid, p0 = P * part / n, p1 = P * (part + 1) / n;
  funad_memory_bank_score (m, s->features + (gsize) p0 * m->backbone.dim, p1 - p0, -1, NULL, 0,
                           s->patch_scores + p0);
}

/* Part `part` of n: a share of the appearance term's blocks, each a search of the reference
 * frames' same block (about 21 MB read a frame at 838 frames, D = 128). */
static void
appearance_part (gpointer data, int part, int n)
{
  FunadScorer *s = data;
  const FunadAppearance *a = &s->model->appearance;
  funad_appearance_frame_shares (a, s->looks, a->n_blocks * part / n,
                                 a->n_blocks * (part + 1) / n, s->shares);
}

gboolean
funad_scorer_score (FunadScorer *s, const FunadImage *image, float *score, const float **map,
                    GError **error)
{
  g_return_val_if_fail (s != NULL && image != NULL, FALSE);
  const FunadModel *m = s->model;
  gint64 t0 = g_get_monotonic_time ();
  if (!funad_backbone_preprocess (&m->backbone, image, s->image, error))
    return FALSE;
  gint64 t1 = g_get_monotonic_time ();
  if (s->workers && funad_backbone_banded (&m->backbone)) {
    funad_workers_run (s->workers, score_band, s);
    funad_backbone_features_finish (&m->backbone, s->features);
  } else
    funad_backbone_features (&m->backbone, s->image, s->features, s->workers);
  gint64 t2 = g_get_monotonic_time ();
  if (s->workers && m->scorer == FUNAD_SCORER_MEMORY_BANK)
    funad_workers_run (s->workers, score_patches, s);
  else
    funad_model_patch_scores (m, s->features, m->grid * m->grid, &s->cache, s->patch_scores);
  funad_calibration_apply (m, s->patch_scores, 0, m->grid * m->grid);
  if (m->appearance.n_frames) {
    funad_appearance_frame_looks (&m->appearance, s->features, m->grid, s->looks);
    if (s->workers)
      funad_workers_run (s->workers, appearance_part, s);
    else
      appearance_part (s, 0, 1);
    funad_appearance_shift (s->patch_scores, m->grid * m->grid,
                            funad_appearance_frame_offset (&m->appearance, s->shares));
  }
  gint64 t3 = g_get_monotonic_time ();
  float best = funad_patch_scores_to_map (s->patch_scores, m->grid, m->input_size, s->map,
                                          s->tmp);
  gint64 t4 = g_get_monotonic_time ();
  s->stage_us[FUNAD_STAGE_PREPROCESS] = t1 - t0;
  s->stage_us[FUNAD_STAGE_BACKBONE] = t2 - t1;
  s->stage_us[FUNAD_STAGE_SCORER] = t3 - t2;
  s->stage_us[FUNAD_STAGE_MAP] = t4 - t3;
  if (score)
    *score = best;
  if (map)
    *map = s->map;
  return TRUE;
}

void
funad_scorer_stage_times (const FunadScorer *s, double ms[FUNAD_N_STAGES])
{
  for (int i = 0; i < FUNAD_N_STAGES; i++)
    ms[i] = s->stage_us[i] / 1000.0;
}

void
funad_model_frame_flops (const FunadModel *m, double *backbone, double *scorer)
{
  double P = (double) m->grid * m->grid, D = m->backbone.dim;
  *backbone = (double) funad_backbone_flops (&m->backbone);
  if (m->scorer == FUNAD_SCORER_MEMORY_BANK) {
    const FunadBankIndex *index = funad_model_bank_index (m);
    /* with an index: the patch-to-centre products and, on average, n_probe cells' rows */
    *scorer = index ? 2.0 * P * D * (index->n_cells + (double) index->n_probe * m->bank_rows
                                                          / index->n_cells)
                    : 2.0 * P * m->bank_rows * D;
  } else {
    const int *d = m->mlp.dims;
    double macs = 0;
    for (int l = 0; l < FUNAD_MLP_LAYERS; l++)
      macs += (double) d[l] * d[l + 1];
    *scorer = 2.0 * P * macs;
  }
  /* the appearance term: each block's look against the reference frames' */
  const FunadAppearance *a = &m->appearance;
  *scorer += 2.0 * a->n_blocks * a->n_frames * a->dim;
}
