/* trainer.c — builds a model from unlabeled, possibly contaminated frames: learns the builtin
 * backbone (or runs a pretrained one, funad_trainer_set_backbone()), then either builds the
 * memory-bank scorer (memory-bank.c; the default, as it measured better) or trains the FUN-AD
 * scorer with the loop below.
 *
 * The loop, per epoch (reduced-cost version of the reference, which rebuilds every step):
 *  1. IRMB: score every training image with the current scorer (image score = max patch
 *     logit), keep images at most one robust deviation above the median as candidate normals,
 *     take a random half; bank_per_image of their patches' adapted features form the memory
 *     bank. The first epoch, before any training, is taught by the memory bank's rule: its
 *     candidates are the images typical_images() keeps (by appearance, by default).
 *     --no-teacher does as the reference: every image the first epoch, then min-max-normalised
 *     probabilities below 0.5.
 *  2. Pseudo-labels for each step's sampled patches: squared distance in adapted space to the
 *     nearest bank patch of another image (leave-own-image-out, which also skips the patch
 *     itself). The bank's patches are re-adapted before every step, as the adaptor learns;
 *     distances are normalised by a rule over the whole training set — (d - q50) /
 *     (q99.9 - q50) of a fixed probe sample, re-measured every NORM_EVERY steps — instead of
 *     min-max over one batch, which labels a few dozen rare-but-normal patches anomalous in
 *     every batch (DESIGN.md); label 1 above 0.5. Taught (the default), only the frames the
 *     teacher left out give pseudo-anomalies: their patches above robust z pseudo_label_z of
 *     their own frame's distances (precision 4-9% -> 12-14%, recall 2-10% -> 12-14% on the
 *     magnetic tiles, README "FUN-AD").
 *  3. Label-1 patches with normalised distance in (0.5, 0.9) get Gaussian noise (per-dimension
 *     sigma of the batch) added to their input features: synthetic anomalies. Beyond the
 *     reference, a share (synthetic_fraction) of the label-0 patches get noise at a smaller
 *     scale (synthetic_scale) and label 1, as SimpleNet makes its anomalies.
 *  4. Loss: class-balanced BCE + smooth_weight x mutual smoothness over mutually nearest
 *     pairs of the batch in adapted space; Adam, its rate decayed along a cosine to 0 at
 *     the epoch limit.
 * Stopping, label-free: when the candidate set is stable (Jaccard >= 0.95) at two rebuilds in
 * a row, or at the epoch limit.
 * Patch scores: the bank's distances, or FUN-AD's logits (its sigmoid rounds to 1 in float for
 * most frames' maxima); either calibrated per cell (calibration.c) on the training frames.
 * Threshold, label-free, for either scorer: median + 3 x 1.4826 x MAD of the scores of the
 * training set's confident normals: the frames the bank was built from, or those FUN-AD's
 * teacher kept (its last IRMB's without a teacher) (memory bank: each leaving out its own
 * patches and those of the frames within n/20 of it, which in a video are near-copies, from the
 * bank and from the bank rows nearest a random sample of the other frames' patches; on at most
 * 256 evenly spaced frames). */
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include "funad-private.h"

#define STABLE_JACCARD 0.95
#ifndef STABLE_REBUILDS
#define STABLE_REBUILDS 2
#endif
#define MIN_SIZE 32
#define MAX_SIZE 1024

struct _FunadTrainer {
  FunadTrainParams params;
  GArray *images;    /* preprocessed frames, channels x input_size^2 floats each */
  gsize max_values;  /* floats images may hold: G_MAXUINT, a GArray's length being 32-bit */
  int n_images;
  FunadBackbone pretrained;  /* set by funad_trainer_set_backbone(); name NULL: builtin */
  gint cancelled;
};

FunadTrainParams
funad_train_default_params (void)
{
  FunadTrainParams p = {
    .scorer = FUNAD_SCORER_MEMORY_BANK,
    .bank_size = 40000,
    .outlier_z = 0.f,
    .typical_z = 0.f,
    .appearance_z = 1.5f,
    .appearance_rounds = 1,
    .bank_floor = 0.f,
    .bank_floor_z = 1.f,
    .appearance_weight = 0.5f,
    .input_size = 224,
    .seed = 0,
    .n_threads = 0,
    .dict_size = 64,
    .n_scales = 2,
    .neighbourhood = 1,
    .fit_patches = 100000,
    .feature_dim = 384,
    .hidden1 = 256,
    .hidden2 = 64,
    .epochs = 8,
    .batch_images = 8,
    .patches_per_image = 196,
    .bank_per_image = 64,
    .learning_rate = 1e-3f,
    .smooth_weight = 2.5f,
    .use_irmb = TRUE,
    .use_teacher = TRUE,
    .pseudo_label_z = 3.f,
    .calibrate = TRUE,
    .use_synthetic = TRUE,
    .synthetic_fraction = 0.1f,
    .synthetic_scale = 0.25f,
    .use_smoothness = TRUE,
  };
  return p;
}

FunadTrainer *
funad_trainer_new (const FunadTrainParams *params)
{
  FunadTrainer *t = g_new0 (FunadTrainer, 1);
  t->params = params ? *params : funad_train_default_params ();
  t->images = g_array_new (FALSE, FALSE, sizeof (float));
  t->max_values = G_MAXUINT;
  return t;
}

void
funad_trainer_set_max_values (FunadTrainer *t, gsize max_values)
{
  g_return_if_fail (t != NULL && max_values <= G_MAXUINT);
  t->max_values = max_values;
}

void
funad_trainer_free (FunadTrainer *t)
{
  if (!t)
    return;
  g_array_unref (t->images);
  if (t->pretrained.name)
    funad_backbone_clear (&t->pretrained);
  g_free (t);
}

gboolean
funad_train_params_check (const FunadTrainParams *p, GError **error)
{
  g_return_val_if_fail (p != NULL, FALSE);
  const char *bad = NULL;
  if (p->input_size < MIN_SIZE || p->input_size > MAX_SIZE || p->input_size % 8)
    bad = "input size must be a multiple of 8 between 32 and 1024";
  else if (p->n_scales < 1 || p->n_scales > FUNAD_MAX_SCALES)
    bad = "n_scales must be 1 to 3";
  else if (p->dict_size < 2 || p->dict_size > 1024)
    bad = "dict_size must be 2 to 1024";
  else if (p->neighbourhood < 0 || p->neighbourhood > FUNAD_MAX_NEIGHBOURHOOD)
    bad = "neighbourhood must be 0 to 4";
  else if (p->n_threads < 0 || p->n_threads > FUNAD_MAX_THREADS)
    bad = "n_threads must be 0 to 64";  /* more only contend */
  else if (p->feature_dim < 8 || p->feature_dim > 4096)
    bad = "feature_dim must be 8 to 4096";
  else if (p->hidden1 < 1 || p->hidden2 < 1 || p->hidden1 > 4096 || p->hidden2 > 4096
           || p->epochs < 0 || p->batch_images < 1
           || p->patches_per_image < 2 || p->bank_per_image < 1 || p->fit_patches < 1000
           || p->fit_patches < 2 * p->dict_size
           || !(p->learning_rate > 0.f) || p->smooth_weight < 0.f || p->bank_size < 2
           || p->bank_size > (1 << 22) || p->outlier_z < 0.f || p->typical_z < 0.f
           || p->appearance_z < 0.f || p->appearance_rounds < 1 || p->appearance_rounds > 10
           || !(p->bank_floor >= 0.f && p->bank_floor <= FUNAD_MAX_BANK_FLOOR)
           || !(p->bank_floor_z >= 0.f && p->bank_floor_z <= 100.f)
           || !(p->appearance_weight >= 0.f
                && p->appearance_weight <= FUNAD_MAX_APPEARANCE_WEIGHT)
           || !(p->synthetic_fraction >= 0.f && p->synthetic_fraction <= 1.f)
           || !(p->synthetic_scale > 0.f) || p->synthetic_scale > 100.f
           || !(p->pseudo_label_z >= 0.f && p->pseudo_label_z <= 100.f)
           || (p->scorer != FUNAD_SCORER_FUNAD && p->scorer != FUNAD_SCORER_MEMORY_BANK))
    bad = "a training parameter is out of range";
  if (bad)
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "%s", bad);
  return bad == NULL;
}

gboolean
funad_trainer_set_backbone (FunadTrainer *t, const char *name, const char *weights,
                            GError **error)
{
  g_return_val_if_fail (t != NULL, FALSE);
  if (t->n_images > 0) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "the backbone must be set before frames "
                 "are added");
    return FALSE;
  }
  if (t->pretrained.name)
    funad_backbone_clear (&t->pretrained);
  if (g_strcmp0 (name, "builtin") == 0)
    return TRUE;
  if (!funad_backbone_known (name)) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "unknown backbone '%s': builtin, "
                 "mobilenetv2_100, resnet18, resnet34, resnet50 or wide_resnet50_2",
                 name ? name : "");
    return FALSE;
  }
  if (!weights) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "backbone '%s' needs a weights file "
                 "(NAME:WEIGHTS.safetensors)", name ? name : "");
    return FALSE;
  }
  return funad_backbone_init_pretrained (&t->pretrained, name, weights, t->params.input_size, 0,
                                         NULL, error);
}

gboolean
funad_trainer_add_frame (FunadTrainer *t, const FunadImage *image, GError **error)
{
  g_return_val_if_fail (t != NULL && image != NULL, FALSE);
  if (!funad_train_params_check (&t->params, error))
    return FALSE;
  int channels = t->pretrained.name ? 3 : 1;
  gsize pixels = (gsize) channels * t->params.input_size * t->params.input_size;
  gsize old = t->images->len;
  /* GArray lengths are 32-bit: refuse a frame that would overflow it. */
  if (old + pixels > t->max_values) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_TRAIN,
                 "too many training frames at this size (%d kept); use fewer frames "
                 "(--max-frames, --every)", t->n_images);
    return FALSE;
  }
  g_array_set_size (t->images, old + pixels);
  float *out = &g_array_index (t->images, float, old);
  if (!(channels == 3 ? funad_preprocess_rgb (image, t->params.input_size, out, error)
                      : funad_preprocess (image, t->params.input_size, out, error))) {
    g_array_set_size (t->images, old);
    return FALSE;
  }
  t->n_images++;
  return TRUE;
}

int
funad_trainer_n_frames (const FunadTrainer *t)
{
  g_return_val_if_fail (t != NULL, 0);
  return t->n_images;
}

void
funad_trainer_cancel (FunadTrainer *t)
{
  g_return_if_fail (t != NULL);
  g_atomic_int_set (&t->cancelled, 1);
}

/* ---- helpers ------------------------------------------------------------------------------ */

typedef struct {
  FunadTrainer *t;
  FunadProgressFunc progress;
  gpointer user_data;
  GRand *rng;
  int n, P, D;           /* images, patches per image, feature dimension */
  float *features;       /* n x P x D, standardised */
  FunadModel *model;
  FunadMlp *mlp;
  gboolean *pseudo_frames; /* FUN-AD: the frames any patch was pseudo-labelled anomalous in */
  gboolean *teacher_frames; /* FUN-AD, taught: the frames the teacher trusted (NULL: all) */
  float *look_z;         /* each frame's appearance as a robust z (NULL: not measured, or it
                          * does not vary) */
  gboolean *bank_barred; /* frames kept out of the bank even with floors: those the own-score
                          * cut or a later appearance round left out (NULL: none) */
} Run;

static void
report (Run *r, const char *stage, int done, int total, const char *detail)
{
  if (r->progress)
    r->progress (stage, done, total, detail, r->user_data);
}

/* Whether funad_trainer_cancel() was called; with error non-NULL, also says so in it. */
static gboolean
cancelled (Run *r, GError **error)
{
  if (!g_atomic_int_get (&r->t->cancelled))
    return FALSE;
  g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_CANCELLED, "training cancelled");
  return TRUE;
}

static inline const float *
patch_row (Run *r, int image, int patch)
{
  return r->features + ((gsize) image * r->P + patch) * r->D;
}

#define SCORE_BATCH 16  /* images per forward pass: larger products run nearer sgemm's peak */

/* Image score (max patch score) of every training image under the current scorer. */
static void
score_images (Run *r, gboolean logits, float *scores)
{
  FunadMlpCache cache = { 0 };
  for (int i0 = 0; i0 < r->n; i0 += SCORE_BATCH) {
    int count = MIN (SCORE_BATCH, r->n - i0);
    funad_mlp_forward (r->mlp, patch_row (r, i0, 0), count * r->P, &cache);
    /* Logits keep their order where probabilities saturate at 1. */
    const float *out = logits ? cache.pre[FUNAD_MLP_LAYERS - 1] : cache.act[FUNAD_MLP_LAYERS - 1];
    for (int i = 0; i < count; i++) {
      float best = -INFINITY;
      for (int p = 0; p < r->P; p++)
        best = MAX (best, out[i * r->P + p]);
      scores[i0 + i] = best;
    }
  }
  funad_mlp_cache_clear (&cache);
}

/* Input feature rows of chosen patches, gathered. */
static float *
gather_rows (Run *r, const int *images, const int *patches, int count)
{
  float *x = g_new (float, (gsize) count * r->D);
  for (int i = 0; i < count; i++)
    memcpy (x + (gsize) i * r->D, patch_row (r, images[i], patches[i]), r->D * sizeof (float));
  return x;
}

/* The IRMB and its distance normalisation. The entries' input features are kept and the
 * adaptor re-run on them before every step, as the reference rebuilds the bank every step:
 * with the adaptor learning, a bank adapted at the start of an epoch went stale within it
 * (at contamination 0.1, 40% of the patches were labelled anomalous in the first epoch and
 * the labels ranked the defects at AUROC 0.64; adapted afresh, 0.7-1.7% and 0.70-0.75). */
typedef struct {
  float *x, *a;      /* bank x D input and adapted features */
  int *group;        /* image of each entry */
  int size;
  int n_candidates;
  float *probe_x, *probe_a;  /* n_probe x D: fixed sample of every image's patches */
  int *probe_group, n_probe;
  float *probe_dist;
  int *probe_nn;
  float lo, hi;      /* distance normalisation: (d - lo) / (hi - lo) */
} Bank;

static void
bank_clear (Bank *b)
{
  g_free (b->x);
  g_free (b->a);
  g_free (b->group);
  g_free (b->probe_x);
  g_free (b->probe_a);
  g_free (b->probe_group);
  g_free (b->probe_dist);
  g_free (b->probe_nn);
  memset (b, 0, sizeof *b);
}

#define NORM_PROBES 2048  /* patches whose distances fix the normalisation */
#define NORM_EVERY 4      /* steps between re-measurements of the normalisation */

/* Adapts the bank under the current adaptor; with `normalise`, also re-measures the
 * normalisation over the training set by a fixed rule, (d - q50) / (q99.9 - q50) of the probe
 * patches' leave-own-image-out distances, instead of min-max over one batch, which labels a
 * few dozen rare-but-normal patches anomalous in every batch (DESIGN.md). */
static void
bank_adapt (Run *r, Bank *bank, gboolean normalise)
{
  funad_mlp_adaptor (r->mlp, bank->x, bank->size, bank->a);
  if (!normalise)
    return;
  funad_mlp_adaptor (r->mlp, bank->probe_x, bank->n_probe, bank->probe_a);
  funad_knn (bank->probe_a, bank->n_probe, bank->a, bank->size, r->D, 1, bank->probe_group,
             bank->group, 0, bank->probe_dist, bank->probe_nn);
  int finite = 0;
  for (int i = 0; i < bank->n_probe; i++)
    if (isfinite (bank->probe_dist[i]))
      bank->probe_dist[finite++] = bank->probe_dist[i];
  bank->lo = finite ? (float) funad_quantile (bank->probe_dist, finite, 0.5) : 0.f;
  bank->hi = finite ? (float) funad_quantile (bank->probe_dist, finite, 0.999) : 0.f;
  if (!(bank->hi > bank->lo))
    bank->hi = bank->lo + 1e-6f;
}

#define TEACHER_Z 1.0   /* taught IRMB: candidates at most this robust z above the median */

/* IRMB's candidate normals from image scores (NULL: every image). The reference keeps images
 * whose min-max-normalised score is below 0.5; one outlier stretches that range, so the taught
 * loop (robust) keeps images at most TEACHER_Z robust deviations above the median instead
 * (core/irmb.c). */
static void
choose_candidates (Run *r, const float *scores, gboolean robust, gboolean *candidate)
{
  if (scores) {
    funad_irmb_candidates (scores, r->n, robust, TEACHER_Z, candidate);
    return;
  }
  for (int i = 0; i < r->n; i++)
    candidate[i] = TRUE;
}

/* IRMB: a random half of the candidate images into the bank. */
static void
rebuild_bank (Run *r, const gboolean *candidate, Bank *bank)
{
  const FunadTrainParams *p = &r->t->params;
  int n_cand = 0;
  for (int i = 0; i < r->n; i++)
    n_cand += candidate[i] ? 1 : 0;
  int *order = g_new (int, MAX (n_cand, 1)), *scratch = g_new (int, r->P);
  for (int i = 0, k = 0; i < r->n; i++)
    if (candidate[i])
      order[k++] = i;
  /* A random half of the candidates, at least two images so leave-one-out has company. */
  int chosen = MIN (n_cand, MAX (2, (n_cand + 1) / 2));
  int *pick = g_new (int, MAX (n_cand, 1));
  int *cand_scratch = g_new (int, MAX (n_cand, 1));
  funad_sample_indices (r->rng, n_cand, chosen, pick, cand_scratch);
  int per = MIN (p->bank_per_image, r->P);
  int total = chosen * per;
  int *img = g_new (int, total), *patch = g_new (int, total);
  for (int c = 0; c < chosen; c++) {
    int image = order[pick[c]];
    funad_sample_indices (r->rng, r->P, per, patch + c * per, scratch);
    for (int j = 0; j < per; j++)
      img[c * per + j] = image;
  }
  bank_clear (bank);
  bank->x = gather_rows (r, img, patch, total);
  bank->a = g_new (float, (gsize) total * r->D);
  bank->group = img;
  bank->size = total;
  bank->n_candidates = n_cand;

  /* The normalisation's probe: patches drawn from every image in turn. */
  int probes = NORM_PROBES;
  int *pimg = g_new (int, probes), *ppatch = g_new (int, probes);
  for (int i = 0; i < probes; i++) {
    pimg[i] = (int) ((gint64) i * r->n / probes);
    ppatch[i] = g_rand_int_range (r->rng, 0, r->P);
  }
  bank->probe_x = gather_rows (r, pimg, ppatch, probes);
  bank->probe_a = g_new (float, (gsize) probes * r->D);
  bank->probe_group = pimg;
  bank->n_probe = probes;
  bank->probe_dist = g_new (float, probes);
  bank->probe_nn = g_new (int, probes);
  g_free (ppatch);
  g_free (patch);
  g_free (cand_scratch);
  g_free (pick);
  g_free (scratch);
  g_free (order);
}

typedef struct {
  double loss_bce, loss_smooth;
  int positives, synthetic, pairs, rows;
} StepStats;

/* One optimisation step on the images batch[0..nb). trusted: the frames the teacher kept, when
 * pseudo-anomalies are gated by it (pseudo_label_z); NULL: the reference's rule. */
static void
train_step (Run *r, const int *batch, int nb, const Bank *bank, const gboolean *trusted,
            FunadAdam *adam, FunadMlpCache *cache, float *grad, StepStats *stats)
{
  const FunadTrainParams *p = &r->t->params;
  int per = MIN (p->patches_per_image, r->P), n = nb * per, D = r->D;
  int *img = g_new (int, n), *patch = g_new (int, n), *scratch = g_new (int, r->P);
  for (int b = 0; b < nb; b++) {
    funad_sample_indices (r->rng, r->P, per, patch + b * per, scratch);
    for (int j = 0; j < per; j++)
      img[b * per + j] = batch[b];
  }
  float *x = g_new (float, (gsize) n * D);
  for (int i = 0; i < n; i++)
    memcpy (x + (gsize) i * D, patch_row (r, img[i], patch[i]), D * sizeof (float));

  /* Pseudo-labels from the distance to the bank in adapted space. */
  funad_mlp_forward (r->mlp, x, n, cache);
  float *dist = g_new (float, n);
  int *nn = g_new (int, n);
  funad_knn (cache->act[0], n, bank->a, bank->size, D, 1, img, bank->group, 0, dist, nn);
  /* Mutually nearest pairs of the clean batch, as the reference finds them (on the adapted
   * features before any synthetic noise goes in), so that a synthetic anomaly never enters a
   * pair: in a pair with its normal neighbour it was pulled towards a normal score, against
   * its own BCE (12% of the pairs did so when the pairs came from the noised batch). */
  gboolean smooth = p->use_smoothness && p->smooth_weight > 0.f;
  int *pi = NULL, *pj = NULL, pairs = 0;
  float *x_clean = NULL;
  if (smooth) {
    pi = g_new (int, n);
    pj = g_new (int, n);
    pairs = funad_mutual_pairs (cache->act[0], n, D, pi, pj);
    x_clean = g_memdup2 (x, (gsize) n * D * sizeof (float));
  }
  guint8 *label = g_new0 (guint8, n);
  float *sigma = g_new0 (float, D);
  if (p->use_synthetic) {
    for (int j = 0; j < D; j++) {
      double s = 0, s2 = 0;
      for (int i = 0; i < n; i++) {
        float v = x[(gsize) i * D + j];
        s += v;
        s2 += (double) v * v;
      }
      double mean = s / n;
      sigma[j] = (float) sqrt (MAX (s2 / n - mean * mean, 0.0));
    }
  }
  gboolean *kept = NULL;
  if (trusted) {
    kept = g_new (gboolean, nb);
    for (int b = 0; b < nb; b++)
      kept[b] = trusted[batch[b]];
  }
  funad_irmb_pseudo_labels (dist, nb, per, bank->lo, bank->hi, kept, p->pseudo_label_z, label);
  g_free (kept);
  for (int i = 0; i < n; i++) {
    float dn = isfinite (dist[i]) ? (dist[i] - bank->lo) / (bank->hi - bank->lo) : 0.f;
    stats->positives += label[i];
    if (label[i])
      r->pseudo_frames[img[i]] = TRUE;
    /* Synthetic anomalies: the reference's, patches of the ambiguous band at the batch's sigma;
     * and a share of the patches labelled normal at a smaller scale, which teaches the
     * discriminator what lies just off the normal patches: without them, defects unlike any
     * pseudo-label met in training got arbitrary scores (README, "FUN-AD"). */
    float scale = 0.f;
    if (p->use_synthetic && label[i] && dn > 0.5f && dn < 0.9f)
      scale = 1.f;
    else if (p->use_synthetic && !label[i] && p->synthetic_fraction > 0.f
             && g_rand_double (r->rng) < p->synthetic_fraction) {
      scale = p->synthetic_scale;
      label[i] = 1;
    }
    if (scale > 0.f) {
      float *row = x + (gsize) i * D;
      for (int j = 0; j < D; j++)
        row[j] += scale * sigma[j] * funad_gaussian (r->rng);
      stats->synthetic++;
    }
  }

  funad_mlp_forward (r->mlp, x, n, cache);
  float *dlogit = g_new0 (float, n);
  const float *logit = cache->pre[FUNAD_MLP_LAYERS - 1];
  stats->loss_bce += funad_balanced_bce (logit, label, n, dlogit);
  memset (grad, 0, r->mlp->n_params * sizeof (float));
  funad_mlp_backward (r->mlp, x, cache, dlogit, grad);
  if (smooth) {
    /* The smoothness on the clean batch's scores, as the reference's second forward pass
     * does (the BCE alone sees the noised copy); its gradient adds to the BCE's. */
    funad_mlp_forward (r->mlp, x_clean, n, cache);
    memset (dlogit, 0, n * sizeof (float));
    stats->loss_smooth += funad_mutual_smoothness (cache->pre[FUNAD_MLP_LAYERS - 1], pi, pj,
                                                   pairs, p->smooth_weight, dlogit);
    stats->pairs += pairs;
    funad_mlp_backward (r->mlp, x_clean, cache, dlogit, grad);
  }
  g_free (x_clean);
  g_free (pi);
  g_free (pj);
  funad_adam_step (adam, r->mlp->params, grad);
  stats->rows += n;

  g_free (dlogit);
  g_free (sigma);
  g_free (label);
  g_free (nn);
  g_free (dist);
  g_free (x);
  g_free (scratch);
  g_free (patch);
  g_free (img);
}

/* The learning rate of step `step` of at most `steps`: cosine decay from `rate` to 0. At a
 * constant rate Adam ended wherever its last steps left it, and the trainer's seed moved
 * image AUROC by 0.1 (README, "FUN-AD"). */
static float
cosine_rate (float rate, int step, int steps)
{
  double t = (double) step / MAX (steps, 1);
  return (float) (rate * 0.5 * (1.0 + cos (G_PI * t)));
}

static double
jaccard (const gboolean *a, const gboolean *b, int n)
{
  int both = 0, either = 0;
  for (int i = 0; i < n; i++) {
    both += a[i] && b[i];
    either += a[i] || b[i];
  }
  return either ? (double) both / either : 1.0;
}

/* ---- the run ------------------------------------------------------------------------------ */

static gboolean
learn_backbone (Run *r, FunadModel *m, GError **error)
{
  const FunadTrainParams *p = &r->t->params;
  const float *images = (const float *) r->t->images->data;
  gsize pixels = funad_backbone_image_floats (&m->backbone);
  report (r, "backbone", 0, 1, m->backbone.net ? "pretrained" : "whitening and dictionary");
  funad_backbone_fit (&m->backbone, images, r->n, p->fit_patches, r->rng);
  report (r, "backbone", 1, 1, NULL);
  /* A pretrained trunk shares each layer among our own threads, each with one-thread sgemm,
   * as the scorer does: OpenBLAS's threads alone would leave the layers' other work (im2col,
   * activations, pooling) to one core. */
  int blas_threads = funad_get_threads ();
  FunadWorkers *workers = NULL;
  if (m->backbone.net && blas_threads > 1) {
    workers = funad_workers_new (blas_threads);
    funad_set_threads (1);
  }
  gboolean ok = TRUE;
  for (int i = 0; i < r->n && ok; i++) {
    ok = !cancelled (r, error);
    if (ok) {
      funad_backbone_features (&m->backbone, images + i * pixels,
                               r->features + (gsize) i * r->P * r->D, workers);
      report (r, "features", i + 1, r->n, NULL);
    }
  }
  if (workers) {
    funad_workers_free (workers);
    funad_set_threads (blas_threads);
  }
  if (!ok)
    return FALSE;
  /* Standardise every dimension with the training statistics. */
  gsize rows = (gsize) r->n * r->P;
  for (int j = 0; j < r->D; j++) {
    double s = 0, s2 = 0;
    for (gsize i = 0; i < rows; i++) {
      double v = r->features[i * r->D + j];
      s += v;
      s2 += v * v;
    }
    double mean = s / rows, var = MAX (s2 / rows - mean * mean, 0.0);
    m->backbone.feat_mean[j] = (float) mean;
    m->backbone.feat_std[j] = (float) sqrt (var + 1e-6);
  }
  for (gsize i = 0; i < rows; i++)
    for (int j = 0; j < r->D; j++) {
      float *v = &r->features[i * r->D + j];
      *v = (*v - m->backbone.feat_mean[j]) / m->backbone.feat_std[j];
    }
  return TRUE;
}

#define THRESHOLD_FRAMES 256
#define LOO_WINDOW_DIVISOR 20  /* leave out frames within n/20 of the one scored */

/* Frame scores from frames x P patch scores (rewritten in place): the per-cell calibration
 * fitted on them first when `fit`, then applied, each frame's appearance offset added (may be
 * NULL: none), then each frame's map maximum. */
static void
calibrated_frame_scores (FunadModel *m, float *patch, int frames, int P, gboolean fit,
                         const float *offsets, float *scores)
{
  gsize pixels = (gsize) m->input_size * m->input_size;
  float *map = g_new (float, pixels), *tmp = g_new (float, pixels);
  if (fit)
    funad_calibration_fit (m, patch, frames);
  for (int f = 0; f < frames; f++) {
    float *row = patch + (gsize) f * P;
    funad_calibration_apply (m, row, 0, P);
    if (offsets)
      funad_appearance_shift (row, P, offsets[f]);
    scores[f] = funad_patch_scores_to_map (row, m->grid, m->input_size, map, tmp);
  }
  g_free (tmp);
  g_free (map);
}

#define REFERENCE_PATCHES 20000  /* the leave-out scores' reference sample (below), at most */

/* A random sample of up to REFERENCE_PATCHES patches of the frames the bank was built from
 * (those not `atypical`): their rows and frames. Returns the count. */
static int
reference_sample (Run *r, const gboolean *atypical, float **rows, int **frames)
{
  int *frame_of = g_new (int, MAX (r->n, 1)), n_in = 0;
  for (int i = 0; i < r->n; i++)
    if (!atypical[i])
      frame_of[n_in++] = i;
  int total = n_in * r->P, count = MIN (total, REFERENCE_PATCHES);
  int *pick = g_new (int, MAX (count, 1)), *scratch = g_new (int, MAX (total, 1));
  funad_sample_indices (r->rng, total, count, pick, scratch);
  *rows = g_new (float, (gsize) MAX (count, 1) * r->D);
  *frames = g_new (int, MAX (count, 1));
  for (int c = 0; c < count; c++) {
    int f = frame_of[pick[c] / r->P];
    memcpy (*rows + (gsize) c * r->D, patch_row (r, f, pick[c] % r->P), r->D * sizeof (float));
    (*frames)[c] = f;
  }
  g_free (scratch);
  g_free (pick);
  g_free (frame_of);
  return count;
}

/* Replaces each of the count sampled rows by the bank row nearest it (floors counted, as the
 * element counts them), and writes the norms to search them with (funad_bank_row_norms': the
 * row's floor counted). The element meets the bank, not
 * the training patches: the sample may give back what a left-out window's bank rows covered
 * for the other frames, never closer cover than the bank gives a new frame. (Raw patches did:
 * with --bank-size 2000 on 300 demo frames the threshold stayed where 40,000 rows put it, and
 * 42 of 44 normal test frames were flagged.) A row with no neighbour (a
 * non-finite feature) stays as it is. */
static void
sample_as_bank_rows (const FunadModel *m, float *rows, int count, float *row_norms)
{
  int D = m->backbone.dim;
  float *distance = g_new (float, MAX (count, 1));
  float *bank_norms = g_new (float, MAX (m->bank_rows, 1));
  int *nearest = g_new (int, MAX (count, 1));
  funad_bank_row_norms (m->bank, m->bank_floor, m->bank_rows, D, bank_norms);
  funad_knn_normed (rows, count, m->bank, bank_norms, m->bank_rows, D, 1, NULL, NULL, 0,
                    distance, nearest);
  funad_squared_norms (rows, count, D, row_norms);
  for (int c = 0; c < count; c++)
    if (nearest[c] >= 0) {
      memcpy (rows + (gsize) c * D, m->bank + (gsize) nearest[c] * D, D * sizeof (float));
      row_norms[c] = bank_norms[nearest[c]];
    }
  g_free (bank_norms);
  g_free (nearest);
  g_free (distance);
}

/* Frame scores of training images, by the same map path the element uses. A memory bank
 * holds the images' own patches, so each image is scored leave-own-image-out, on at most
 * THRESHOLD_FRAMES evenly spaced images to bound the cost; those patch scores also fit the
 * per-cell calibration (calibration.c) unless it is switched off, and the frame scores are
 * then of calibrated maps. Returns the count scored.
 *
 * Leaving frames out of a coreset is not leaving them out of the training set: the coreset
 * keeps one or a few rows of what many frames share (a static background under one lighting),
 * and when those rows' frames are left out, every frame near them looks new. On the demo
 * conveyor that gave runs of 17 frames scoring 5-7 where a new normal frame scores 2-4, and a
 * threshold far above most defects (README). So a frame's patches are also matched against a
 * random sample of the bank's frames' patches, outside the same window: what many frames share
 * stays covered from elsewhere, while what only the left-out frames show (a part seen only
 * there) stays uncovered, as it is for a new frame. */
static int
score_training_frames (Run *r, FunadModel *m, const int *bank_group, const gboolean *atypical,
                       const int *appearance_frames, float *scores)
{
  FunadMlpCache cache = { 0 };
  gboolean bank = m->scorer == FUNAD_SCORER_MEMORY_BANK;
  int count = bank ? MIN (r->n, THRESHOLD_FRAMES) : r->n;
  float *patch = g_new (float, (gsize) count * r->P);
  /* Consecutive video frames are near-copies: a frame scored against its neighbours would look
   * more normal than any new frame. So the frames nearest in order are left out too. */
  int window = r->n / LOO_WINDOW_DIVISOR;
  float *reference = NULL, *reference_norms = NULL, *distance = NULL;
  int *reference_frame = NULL, *own = NULL, *nearest = NULL, n_reference = 0;
  if (bank) {
    n_reference = reference_sample (r, atypical, &reference, &reference_frame);
    reference_norms = g_new (float, MAX (n_reference, 1));
    sample_as_bank_rows (m, reference, n_reference, reference_norms);
    distance = g_new (float, r->P);
    own = g_new (int, r->P);
    nearest = g_new (int, r->P);
  }
  int *scored = g_new (int, MAX (count, 1));
  for (int c = 0; c < count; c++)
    scored[c] = (int) ((gint64) c * r->n / count);
  for (int c = 0; c < count && !cancelled (r, NULL); c++) {
    int i = scored[c];
    float *row = patch + (gsize) c * r->P;
    if (bank) {
      funad_memory_bank_score (m, patch_row (r, i, 0), r->P, i, bank_group, window, row);
      for (int j = 0; j < r->P; j++)
        own[j] = i;
      funad_knn_normed (patch_row (r, i, 0), r->P, reference, reference_norms, n_reference,
                        r->D, 1, own, reference_frame, window, distance, nearest);
      for (int j = 0; j < r->P; j++)
        if (isfinite (distance[j]))
          row[j] = MIN (row[j], sqrtf (distance[j]));
    } else {
      funad_model_patch_scores (m, patch_row (r, i, 0), r->P, &cache, row);
    }
    report (r, "threshold", c + 1, count, NULL);
  }
  /* Each frame's appearance offset, leaving out the reference frames near it as above. */
  float *offsets = g_new (float, MAX (count, 1));
  funad_appearance_offsets (&m->appearance, r->features, scored, count, m->grid,
                            appearance_frames, window, offsets);
  if (cancelled (r, NULL))  /* the caller stops; no half-filled scores used */
    memset (scores, 0, sizeof (float) * count);
  else
    calibrated_frame_scores (m, patch, count, r->P, r->t->params.calibrate, offsets, scores);
  g_free (scored);
  g_free (offsets);
  funad_mlp_cache_clear (&cache);
  g_free (nearest);
  g_free (own);
  g_free (distance);
  g_free (reference_frame);
  g_free (reference_norms);
  g_free (reference);
  g_free (patch);
  return count;
}

/* The appearance term's reference: the frames the bank was built from or FUN-AD's teacher kept
 * (the training set's confident normals; a defective frame left in would vouch for a test frame
 * like it), at most FUNAD_APPEARANCE_MAX_FRAMES of them, evenly spaced in order. Returns their
 * numbers (NULL: no term). On the magnetic tiles this frame score alone ranked the test images
 * at AUROC 0.932 / 0.933 / 0.904 at contamination 0 / 0.1 / 0.2, where the bank's map maximum
 * ranked them at 0.892 / 0.889 / 0.831 (seed 0; README). */
static int *
fit_appearance (Run *r, FunadModel *m, const gboolean *atypical)
{
  int n_typical = 0;
  for (int i = 0; i < r->n; i++)
    n_typical += !atypical[i];
  int n = MIN (n_typical, FUNAD_APPEARANCE_MAX_FRAMES), k = 0, c = 0;
  int *frames = g_new (int, MAX (n, 1));
  for (int i = 0; i < r->n && c < n; i++)
    if (!atypical[i] && k++ == (int) ((gint64) c * n_typical / n))
      frames[c++] = i;
  report (r, "appearance", 0, 1, NULL);
  if (!funad_appearance_fit (&m->appearance, r->features, frames, n, m->grid, r->D,
                             r->n / LOO_WINDOW_DIVISOR, r->t->params.appearance_weight))
    g_clear_pointer (&frames, g_free);
  report (r, "appearance", 1, 1, NULL);
  return frames;
}

/* The threshold: median + 3 x 1.4826 x MAD of the scores of the scored frames (frame i = c x
 * n / count, as score_training_frames picks them) that are the training set's confident
 * normals (not atypical: fit_appearance's frames); the frames left out as atypical would pull
 * it up with the very defects it should flag. (On the magnetic tiles, seed 0, memory
 * bank: F1 at the threshold 0.630 / 0.616 / 0.548 -> 0.690 / 0.690 / 0.675 at contamination
 * 0 / 0.1 / 0.2, normal test images flagged 3.2 / 4.2 / 1.1% -> 4.7 / 6.8 / 3.2%; FUN-AD at
 * 0.1: 0.078 -> 0.130; README.) All frames when none or too few remain. */
static double
threshold_of_typical_frames (Run *r, const float *scores, int count, const gboolean *atypical,
                             double *median, double *mad)
{
  float *typical = g_new (float, MAX (count, 1));
  int n_typical = 0;
  for (int c = 0; c < count; c++)
    if (!atypical[(gint64) c * r->n / count])
      typical[n_typical++] = scores[c];
  double cut = n_typical >= 2 ? funad_robust_cut (typical, n_typical, 3.0, median, mad)
                              : funad_robust_cut (scores, count, 3.0, median, mad);
  g_free (typical);
  return cut;
}

#define MAX_LISTED 256   /* left-out frames listed in the summary, at most */

static char *
summary_json (const FunadTrainParams *p, int n, int epochs_run, const char *stop_reason,
              int bank_size, int n_candidates, double flagged, double median, double mad,
              const int *left_out, int n_left_out, const gboolean *pseudo_frames,
              int appearance_frames, int bank_frames, int floored_frames,
              double typical_distance)
{
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
#define ADD_INT(k, v) (json_builder_set_member_name (b, k), json_builder_add_int_value (b, v))
#define ADD_DBL(k, v) (json_builder_set_member_name (b, k), json_builder_add_double_value (b, v))
#define ADD_STR(k, v) (json_builder_set_member_name (b, k), json_builder_add_string_value (b, v))
  ADD_STR ("scorer", p->scorer == FUNAD_SCORER_FUNAD ? "funad" : "memory-bank");
  ADD_INT ("frames", n);
  ADD_INT ("seed", (gint64) p->seed);
  ADD_INT ("epochs_run", epochs_run);
  if (p->scorer == FUNAD_SCORER_FUNAD)
    ADD_INT ("epochs_max", p->epochs);
  ADD_STR ("stopped", stop_reason);
  ADD_INT ("bank_size", bank_size);
  ADD_INT ("candidate_normals", n_candidates);
  if (p->scorer == FUNAD_SCORER_MEMORY_BANK)
    ADD_INT ("bank_frames", bank_frames);  /* the frames the bank was built from */
  if (left_out) {
    /* Which training frames the bank left out as atypical (0-based, in input order). */
    ADD_INT ("left_out_count", n_left_out);
    json_builder_set_member_name (b, "left_out_frames");
    json_builder_begin_array (b);
    for (int i = 0; i < MIN (n_left_out, MAX_LISTED); i++)
      json_builder_add_int_value (b, left_out[i]);
    json_builder_end_array (b);
  }
  if (pseudo_frames) {
    /* The frames FUN-AD learned its anomalies from (synthetic ones aside), in input order. */
    int count = 0;
    for (int i = 0; i < n; i++)
      count += pseudo_frames[i];
    ADD_INT ("pseudo_anomaly_frame_count", count);
    json_builder_set_member_name (b, "pseudo_anomaly_frames");
    json_builder_begin_array (b);
    for (int i = 0, listed = 0; i < n && listed < MAX_LISTED; i++)
      if (pseudo_frames[i]) {
        json_builder_add_int_value (b, i);
        listed++;
      }
    json_builder_end_array (b);
  }
  ADD_STR ("threshold_rule", p->scorer == FUNAD_SCORER_FUNAD
           ? "median + 3 * 1.4826 * MAD of the scores (patch logits) of the training frames "
             "the teacher kept (without a teacher: those the last IRMB was built from)"
           : "median + 3 * 1.4826 * MAD of the scores of the training frames the bank was built "
             "from (each leaving out the frames within n/20 from the bank and from the bank rows "
             "nearest a sample of up to " G_STRINGIFY (REFERENCE_PATCHES) " training patches)");
  ADD_DBL ("train_score_median", median);
  ADD_DBL ("train_score_mad", mad);
  ADD_DBL ("estimated_anomalous_fraction", flagged);
  ADD_INT ("bank_limit", p->bank_size);
  ADD_DBL ("outlier_z", p->outlier_z);
  ADD_STR ("calibration", !p->calibrate ? "none"
           : p->scorer == FUNAD_SCORER_MEMORY_BANK
           ? "per-cell robust z of leave-own-image-out patch scores"
           : "per-cell robust z of the training frames' patch logits");
  ADD_DBL ("typical_z", p->typical_z);
  ADD_DBL ("appearance_z", p->appearance_z);
  ADD_INT ("appearance_rounds", p->appearance_rounds);
  ADD_DBL ("appearance_weight", p->appearance_weight);
  /* How many frames the appearance term compares with (0: no term). */
  ADD_INT ("appearance_frames", appearance_frames);
  if (p->scorer == FUNAD_SCORER_MEMORY_BANK && (p->typical_z > 0.f || p->appearance_z > 0.f))
    ADD_STR ("typical_rule", "left out: bank score above median + typical_z * 1.4826 * MAD, "
             "or appearance (third nearest frame, block by block) above median + appearance_z "
             "* 1.4826 * MAD, of the training frames' (a z of 0: that score not used); with "
             "bank floors, those the first appearance cut left out stay in the bank, and bank "
             "rows of frames whose appearance z is above bank_floor_z are floored");
  if (p->scorer == FUNAD_SCORER_MEMORY_BANK) {
    ADD_DBL ("bank_floor", p->bank_floor);
    ADD_DBL ("bank_floor_z", p->bank_floor_z);
    /* How many frames' bank rows have a floor, and its unit (0: no floors). */
    ADD_INT ("floored_frames", floored_frames);
    ADD_DBL ("typical_distance", typical_distance);
  }
  /* FUN-AD's own settings only where they acted: a memory bank's summary listed them too, and
   * read as if it had been trained with them. */
  if (p->scorer == FUNAD_SCORER_FUNAD) {
    ADD_INT ("irmb", p->use_irmb);
    ADD_INT ("teacher", p->use_teacher);
    ADD_DBL ("pseudo_label_z", p->pseudo_label_z);
    ADD_INT ("synthetic", p->use_synthetic);
    ADD_DBL ("synthetic_fraction", p->synthetic_fraction);
    ADD_DBL ("synthetic_scale", p->synthetic_scale);
    ADD_INT ("smoothness", p->use_smoothness);
  }
#undef ADD_INT
#undef ADD_DBL
#undef ADD_STR
  json_builder_end_object (b);
  JsonGenerator *gen = json_generator_new ();
  JsonNode *root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  char *s = json_generator_to_data (gen, NULL);
  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (b);
  return s;
}

/* Every training image's score against a provisional bank of a quarter of the size, each
 * leaving out itself and its neighbours in order, calibrated per cell on these same scores
 * (unless calibration is off) so that a frame's odd border does not make it look atypical.
 * The model's bank and calibration are only borrowed for this. */
static void
bank_image_scores (Run *r, FunadModel *m, const char *stage, float *scores)
{
  const FunadTrainParams *p = &r->t->params;
  int *group = funad_memory_bank_build (m, r->features, NULL, r->n, r->P,
                                        MAX (p->bank_size / 4, 2), 0.f, r->rng,
                                        &r->t->cancelled);
  int window = r->n / LOO_WINDOW_DIVISOR;
  float *patch = g_new (float, (gsize) r->n * r->P);
  for (int i = 0; i < r->n && !cancelled (r, NULL); i++) {
    funad_memory_bank_score (m, patch_row (r, i, 0), r->P, i, group, window,
                             patch + (gsize) i * r->P);
    report (r, stage, i + 1, r->n, NULL);
  }
  if (cancelled (r, NULL))  /* the caller stops; no half-filled scores used */
    memset (scores, 0, sizeof (float) * r->n);
  else
    calibrated_frame_scores (m, patch, r->n, r->P, p->calibrate, NULL, scores);
  g_free (patch);
  g_free (group);
  g_clear_pointer (&m->bank, g_free);
  g_clear_pointer (&m->bank_floor, g_free);
  g_clear_pointer (&m->cell_offset, g_free);
  g_clear_pointer (&m->cell_scale, g_free);
  m->bank_rows = 0;
  funad_model_reset_bank_index (m);
}

/* The model's bank built from the n frames listed; returns the frame each row came from. */
static int *
bank_of_frames (Run *r, FunadModel *m, const int *frames, int n)
{
  const FunadTrainParams *p = &r->t->params;
  int *group = funad_memory_bank_build (m, r->features, frames, n, r->P, p->bank_size,
                                        p->outlier_z, r->rng, &r->t->cancelled);
  for (int j = 0; j < m->bank_rows; j++)
    group[j] = frames[group[j]];
  return group;
}

#define FLOOR_SAMPLE_FRAMES 24  /* frames whose leave-out distances set the floors' unit */

/* The bank's floors (FunadTrainParams.bank_floor): a row of a frame whose appearance z is
 * above floor_z scores at least bank_floor x (z - floor_z) typical distances, the typical
 * distance being the median leave-out distance to the bank of the patches of a few evenly
 * spaced frames below floor_z. So a frame that looks a little unusual (on the magnetic tiles,
 * mostly normal at r = 0) still vouches for what it shows, nearly as closely as any, and one
 * that looks very unusual (mostly defective) hardly: leaving them all out of the bank cost the
 * rare normal ones' look-alikes. Writes the typical distance; returns how many frames have a
 * floor, or -1 (no floor set) when the typical distance is 0. */
static int
set_bank_floors (Run *r, FunadModel *m, const int *bank_group, double *typical_distance)
{
  const FunadTrainParams *p = &r->t->params;
  /* At least half the frames are below floor_z: z is a robust z about their median. */
  int n_below = 0, window = r->n / LOO_WINDOW_DIVISOR;
  for (int i = 0; i < r->n; i++)
    n_below += r->look_z[i] <= p->bank_floor_z;
  int want = MIN (n_below, FLOOR_SAMPLE_FRAMES), got = 0;
  float *distance = g_new (float, (gsize) MAX (want, 1) * r->P);
  for (int i = 0, k = 0; i < r->n && got < want; i++)
    if (r->look_z[i] <= p->bank_floor_z && k++ == (int) ((gint64) got * n_below / want))
      funad_memory_bank_score (m, patch_row (r, i, 0), r->P, i, bank_group, window,
                               distance + (gsize) got++ * r->P);
  gsize n_finite = 0;
  for (gsize c = 0; c < (gsize) got * r->P; c++)
    if (distance[c] < FUNAD_SCORE_UNREACHABLE)
      distance[n_finite++] = distance[c];
  double unit = n_finite ? funad_quantile (distance, n_finite, 0.5) : 0.0;
  g_free (distance);
  *typical_distance = unit;
  /* Most typical patches matched exactly (a still scene): a floor in units of 0 would let the
   * frames the cut left out vouch for anything they show, so the caller leaves them out. */
  if (!(unit > 0.0))
    return -1;
  gboolean *floored = g_new0 (gboolean, r->n);
  m->bank_floor = g_new0 (float, MAX (m->bank_rows, 1));
  for (int j = 0; j < m->bank_rows; j++) {
    double above = r->look_z[bank_group[j]] - p->bank_floor_z;
    if (above > 0.0) {
      m->bank_floor[j] = (float) (p->bank_floor * unit * above);
      floored[bank_group[j]] = TRUE;
    }
  }
  int count = 0;
  for (int i = 0; i < r->n; i++)
    count += floored[i];
  g_free (floored);
  if (count == 0)  /* a model like one built without floors */
    g_clear_pointer (&m->bank_floor, g_free);
  funad_model_reset_bank_index (m);
  return count;
}

/* The images the training set itself marks as typical, in the spirit of FUN-AD's IRMB (a bank
 * of confident normals), label-free: an image is typical when neither its memory-bank score
 * is above median + typical_z x 1.4826 x MAD of the training images' nor its appearance,
 * block by block (appearance.c), above median + appearance_z x 1.4826 x MAD (a z of 0: that
 * score is not used). The two see different defects (a small dark hole; a surface gone a
 * little rough all over) and agree only loosely, so either can leave an image out.
 * Appearance that does not vary at all (MAD 0: a still scene) is no evidence, so it then
 * leaves nothing out. */
static int
typical_images (Run *r, FunadModel *m, int *kept)
{
  const FunadTrainParams *p = &r->t->params;
  float *scores = NULL, *look = NULL;
  double cut = INFINITY, look_cut = INFINITY;
  if (p->typical_z > 0.f) {
    scores = g_new (float, r->n);
    bank_image_scores (r, m, "typical", scores);
    cut = funad_robust_cut (scores, r->n, p->typical_z, NULL, NULL);
  }
  if (p->appearance_z > 0.f) {
    look = g_new (float, r->n);
    funad_appearance_outlier_scores (r->features, NULL, r->n, m->grid, r->D,
                                     r->n / LOO_WINDOW_DIVISOR, look);
    double look_median, look_mad;
    look_cut = funad_robust_cut (look, r->n, p->appearance_z, &look_median, &look_mad);
    if (!(look_mad > 0.0)) {
      look_cut = INFINITY;
    } else {
      g_free (r->look_z);
      r->look_z = g_new (float, r->n);
      for (int i = 0; i < r->n; i++)
        r->look_z[i] = (float) ((look[i] - look_median) / (1.4826 * look_mad));
    }
  }
  g_free (r->bank_barred);
  r->bank_barred = g_new0 (gboolean, r->n);
  for (int i = 0; scores && i < r->n; i++)
    r->bank_barred[i] = !(scores[i] <= cut);
  int n_kept = 0;
  for (int i = 0; i < r->n; i++)
    if (!r->bank_barred[i] && (!look || look[i] <= look_cut))
      kept[n_kept++] = i;
  /* Further rounds: alike atypical frames vouch for each other, so once a round has left
   * most of them out, the rest are compared again among the frames kept, against the first
   * round's cut (the kept frames spread less, and a cut of their own would eat into the
   * normal frames every round). */
  for (int round = 1; look && isfinite (look_cut) && round < p->appearance_rounds; round++) {
    float *again = g_new (float, n_kept);
    funad_appearance_outlier_scores (r->features, kept, n_kept, m->grid, r->D,
                                     n_kept / LOO_WINDOW_DIVISOR, again);
    int still = 0;
    for (int k = 0; k < n_kept; k++) {
      if (again[k] <= look_cut)
        kept[still++] = kept[k];
      else  /* found against the kept frames alone, which the floors' z does not see */
        r->bank_barred[kept[k]] = TRUE;
    }
    g_free (again);
    if (still == n_kept || still < 2)
      break;
    n_kept = still;
  }
  g_free (look);
  g_free (scores);
  return n_kept;
}

/* The FUN-AD loop (see the top of this file). */
static gboolean
train_funad (Run *r, int *epochs_run, const char **stop_reason, int *bank_rows,
             int *n_candidates, int *left_out, int *n_left_out, GError **error)
{
  const FunadTrainParams *p = &r->t->params;
  FunadModel *m = r->model;
  funad_mlp_init (&m->mlp, m->backbone.dim, p->hidden1, p->hidden2);
  funad_mlp_randomize (&m->mlp, r->rng);

  FunadAdam adam;
  funad_adam_init (&adam, m->mlp.n_params, p->learning_rate);
  float *grad = g_new (float, m->mlp.n_params);
  FunadMlpCache cache = { 0 };
  Bank bank = { 0 };
  gboolean *cand = g_new0 (gboolean, r->n), *prev = g_new0 (gboolean, r->n), *trusted = NULL;
  int *order = g_new (int, r->n), *scratch = g_new (int, r->n);
  float *image_scores = g_new (float, r->n);
  int stable = 0;
  gboolean ok = FALSE;
  *stop_reason = "epoch limit";
  int steps_per_epoch = (r->n + p->batch_images - 1) / p->batch_images;

  for (int epoch = 0; epoch < p->epochs; epoch++) {
    if (cancelled (r, error))
      goto out;
    gboolean taught = p->use_irmb && p->use_teacher && epoch == 0;
    if (taught && (p->typical_z > 0.f || p->appearance_z > 0.f)) {
      /* Taught: the first candidates are the images the memory bank's rule finds typical
       * (typical_images(): by appearance, by default); too few of them never starve the
       * bank: then every image. */
      int *kept = g_new (int, r->n);
      int n_kept = typical_images (r, m, kept);
      for (int i = 0; i < r->n; i++)
        cand[i] = n_kept < funad_irmb_min_candidates (r->n);
      for (int k = 0; k < n_kept; k++)
        cand[kept[k]] = TRUE;
      g_free (kept);
    } else {
      const float *scores = NULL;
      if (p->use_irmb && epoch > 0) {
        score_images (r, p->use_teacher, image_scores);
        scores = image_scores;
      } else if (taught) {
        /* With that rule off: those a provisional memory bank scores lowest, each leaving
         * out itself and its neighbours. */
        bank_image_scores (r, m, "teacher", image_scores);
        scores = image_scores;
      }
      choose_candidates (r, scores, p->use_teacher, cand);
    }
    if (taught) {
      /* The teacher's frames stay the gate of pseudo-anomalies for the whole run, and are the
       * model's confident normals at the end: the discriminator's own later choice finds far
       * fewer of the defective frames (README, "FUN-AD"). Nothing left out: the reference's
       * rule. */
      int left = 0;
      for (int i = 0; i < r->n; i++)
        left += !cand[i];
      if (left > 0)
        r->teacher_frames = g_memdup2 (cand, r->n * sizeof (gboolean));
      if (p->pseudo_label_z > 0.f)
        trusted = r->teacher_frames;
    }
    rebuild_bank (r, cand, &bank);
    if (epoch > 1) {
      stable = jaccard (cand, prev, r->n) >= STABLE_JACCARD ? stable + 1 : 0;
      if (stable >= STABLE_REBUILDS) {
        *stop_reason = "candidate normals stable";
        break;
      }
    }
    memcpy (prev, cand, r->n * sizeof (gboolean));
    funad_sample_indices (r->rng, r->n, r->n, order, scratch);
    StepStats stats = { 0 };
    for (int s = 0; s < steps_per_epoch; s++) {
      if (cancelled (r, error))
        goto out;
      int first = s * p->batch_images;
      int nb = MIN (p->batch_images, r->n - first);
      adam.lr = cosine_rate (p->learning_rate, epoch * steps_per_epoch + s,
                             p->epochs * steps_per_epoch);
      bank_adapt (r, &bank, s % NORM_EVERY == 0);
      train_step (r, order + first, nb, &bank, trusted, &adam, &cache, grad, &stats);
      char *detail = g_strdup_printf ("epoch %d/%d, bce %.4f, smooth %.4f, anomalous %.2f%%, "
                                      "bank %d from %d candidates", epoch + 1, p->epochs,
                                      stats.loss_bce / (s + 1), stats.loss_smooth / (s + 1),
                                      100.0 * stats.positives / MAX (stats.rows, 1), bank.size,
                                      bank.n_candidates);
      report (r, "train", epoch * steps_per_epoch + s + 1, p->epochs * steps_per_epoch, detail);
      g_free (detail);
    }
    (*epochs_run)++;
  }
  *bank_rows = bank.size;
  *n_candidates = bank.n_candidates;
  /* The frames the last IRMB rebuild did not trust as normal, for the summary (and, without a
   * teacher, the threshold). */
  *n_left_out = 0;
  for (int i = 0; p->use_irmb && i < r->n; i++)
    if (!cand[i])
      left_out[(*n_left_out)++] = i;
  ok = TRUE;

out:
  g_free (image_scores);
  g_free (scratch);
  g_free (order);
  g_free (prev);
  g_free (cand);
  bank_clear (&bank);
  funad_mlp_cache_clear (&cache);
  g_free (grad);
  funad_adam_clear (&adam);
  return ok;
}

static FunadModel *
run_once (FunadTrainer *t, FunadProgressFunc progress, gpointer user_data, GError **error)
{
  const FunadTrainParams *p = &t->params;
  if (!funad_train_params_check (p, error))
    return NULL;
  if (t->n_images < 2) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_TRAIN,
                 "need at least 2 usable frames to train, got %d", t->n_images);
    return NULL;
  }
  /* 0 keeps OpenBLAS's own count, which follows the CPU affinity only: lowered to a cgroup's
   * CPU quota (a container's), where more threads would only be throttled. */
  int threads = p->n_threads;
  if (threads == 0) {
    int cores = funad_available_cores ();
    if (funad_get_threads () > cores)
      threads = cores;
  }
  funad_set_threads (threads);
  guint32 seed[2] = { (guint32) p->seed, (guint32) (p->seed >> 32) };
  FunadModel *m = funad_model_new_empty ();
  m->input_size = p->input_size;
  m->grid = p->input_size / 8;
  if (!t->pretrained.name) {
    funad_backbone_init_builtin (&m->backbone, p->input_size, p->n_scales, p->dict_size);
    m->backbone.builtin.neighbourhood = p->neighbourhood;
  } else if (!funad_backbone_init_pretrained (&m->backbone, t->pretrained.name,
                                              t->pretrained.weights_path, p->input_size,
                                              t->pretrained.weights_size,
                                              t->pretrained.weights_sha256, error)) {
    /* The weights file changed between set_backbone and run. */
    funad_model_unref (m);
    return NULL;
  } else {
    funad_backbone_set_max_dim (&m->backbone, p->feature_dim);
  }
  m->scorer = p->scorer;
  m->logit_scores = p->scorer == FUNAD_SCORER_FUNAD;

  Run r = { t, progress, user_data, g_rand_new_with_seed_array (seed, 2), t->n_images,
            m->grid * m->grid, m->backbone.dim, NULL, m, &m->mlp, NULL, NULL, NULL, NULL };
  r.features = g_new (float, (gsize) r.n * r.P * r.D);
  const char *stop_reason = "no training (memory bank)";
  int epochs_run = 0, bank_rows = 0, n_candidates = r.n;
  int *bank_group = NULL, *left_out = NULL, n_left_out = 0, floored_frames = 0;
  int bank_frames = 0;
  double typical_distance = 0.0;
  FunadModel *result = NULL;
  if (!learn_backbone (&r, m, error))
    goto out;
  if (p->scorer == FUNAD_SCORER_MEMORY_BANK) {
    report (&r, "bank", 0, 1, NULL);
    if (p->typical_z > 0.f || p->appearance_z > 0.f) {
      int *kept = g_new (int, r.n);
      int n_kept = typical_images (&r, m, kept);
      if (cancelled (&r, error)) {
        g_free (kept);
        goto out;
      }
      /* With floors, the frames the first appearance cut left out stay in the bank, those
       * above bank_floor_z floored; without a unit for the floors, they are left out. */
      if (p->bank_floor > 0.f && r.look_z) {
        int *in_bank = g_new (int, r.n);
        bank_frames = 0;
        for (int i = 0; i < r.n; i++)
          if (!r.bank_barred[i])
            in_bank[bank_frames++] = i;
        bank_group = bank_of_frames (&r, m, in_bank, bank_frames);
        g_free (in_bank);
        if (!cancelled (&r, NULL)) {
          floored_frames = set_bank_floors (&r, m, bank_group, &typical_distance);
          if (floored_frames < 0)
            g_clear_pointer (&bank_group, g_free);
        }
        floored_frames = MAX (floored_frames, 0);
      }
      if (!bank_group) {
        bank_frames = n_kept;
        bank_group = bank_of_frames (&r, m, kept, n_kept);
      }
      /* The frames trusted as normal (the threshold's and the appearance term's); with floors
       * those between bank_floor_z and appearance_z are among them, floored. */
      n_candidates = n_kept;
      left_out = g_new (int, MAX (r.n - n_kept, 1));
      for (int i = 0, k = 0; i < r.n; i++) {
        if (k < n_kept && kept[k] == i)
          k++;
        else
          left_out[n_left_out++] = i;
      }
      g_free (kept);
    } else {
      bank_group = funad_memory_bank_build (m, r.features, NULL, r.n, r.P, p->bank_size,
                                            p->outlier_z, r.rng, &t->cancelled);
      bank_frames = r.n;
      left_out = g_new (int, 1);  /* none: listed as such */
    }
    if (cancelled (&r, error))
      goto out;
    bank_rows = m->bank_rows;
    report (&r, "bank", 1, 1, NULL);
  } else {
    left_out = g_new (int, r.n);
    r.pseudo_frames = g_new0 (gboolean, r.n);
    if (!train_funad (&r, &epochs_run, &stop_reason, &bank_rows, &n_candidates, left_out,
                      &n_left_out, error))
      goto out;
  }

  /* The frames left out of the bank: atypical, by the training set itself. FUN-AD's are those
   * its teacher left out, where it had one, else those its last IRMB did: the discriminator's
   * own choice keeps far more defective frames (magnetic tiles, r = 0.1: 47 of the 76 against
   * the teacher's 10), and the appearance term then compares test frames with them (README). */
  gboolean *atypical = g_new0 (gboolean, r.n);
  for (int k = 0; k < n_left_out; k++)
    atypical[left_out[k]] = TRUE;
  if (r.teacher_frames)
    for (int i = 0; i < r.n; i++)
      atypical[i] = !r.teacher_frames[i];
  int *appearance_frames = fit_appearance (&r, m, atypical);
  float *scores = g_new (float, r.n);
  int scored = score_training_frames (&r, m, bank_group, atypical, appearance_frames, scores);
  g_free (appearance_frames);
  if (cancelled (&r, error)) {
    g_free (scores);
    g_free (atypical);
    goto out;
  }
  double median, mad;
  m->threshold = threshold_of_typical_frames (&r, scores, scored, atypical, &median, &mad);
  g_free (atypical);
  int flagged = 0;
  for (int i = 0; i < scored; i++)
    flagged += scores[i] > m->threshold;
  char *summary = summary_json (p, r.n, epochs_run, stop_reason, bank_rows, n_candidates,
                                (double) flagged / scored, median, mad, left_out, n_left_out,
                                r.pseudo_frames, m->appearance.n_frames, bank_frames,
                                floored_frames, typical_distance);
  funad_model_set_metadata (m, "training_summary", summary);
  g_free (summary);
  g_free (scores);
  result = funad_model_ref (m);

out:
  g_free (left_out);
  g_free (bank_group);
  g_free (r.pseudo_frames);
  g_free (r.teacher_frames);
  g_free (r.look_z);
  g_free (r.bank_barred);
  g_free (r.features);
  g_rand_free (r.rng);
  funad_model_unref (m);
  return result;
}

FunadModel *
funad_trainer_run (FunadTrainer *t, FunadProgressFunc progress, gpointer user_data,
                   GError **error)
{
  g_return_val_if_fail (t != NULL, NULL);
  FunadModel *model = run_once (t, progress, user_data, error);
  /* A cancel is for this run (or, made before it, for this one too: one racing the start is
   * not lost); the next run starts afresh. It stayed set, and every later run on the
   * trainer failed at once: a user's "try again" had to add every frame anew. */
  g_atomic_int_set (&t->cancelled, 0);
  return model;
}
