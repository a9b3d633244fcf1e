/* backbone.c — one interface over the backbones, so preprocessing, training, scoring and the
 * model file never ask which one they have:
 *  - builtin: learned from the training frames (backbone-builtin.c), grey input;
 *  - pretrained trunks from timm-layout safetensors files (backbone-mobilenetv2.c,
 *    backbone-resnet.c), RGB input. Their stride-8 and stride-16 stage maps are each averaged
 *    over 3x3 neighbourhoods (PatchCore's local aggregation), bilinearly resized to the
 *    stride-8 grid and concatenated; the model file records which weights file (path, size,
 *    SHA-256) they came from, never the weights themselves. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include "funad-private.h"

/* Where a moved weights file may be found: a folder holding a file of the recorded name. */
#define WEIGHTS_DIR_ENV "FUNAD_WEIGHTS_DIR"
/* The largest weights file read (wide_resnet50_2's is 270 MB). */
#define MAX_WEIGHTS_BYTES ((gint64) 2 << 30)

static const float imagenet_mean[3] = { 0.485f, 0.456f, 0.406f };
static const float imagenet_std[3] = { 0.229f, 0.224f, 0.225f };

gboolean
funad_backbone_known (const char *name)
{
  return g_strcmp0 (name, "builtin") == 0 || g_strcmp0 (name, "mobilenetv2_100") == 0
         || (name && funad_resnet_known (name));
}

void
funad_backbone_init_builtin (FunadBackbone *bb, int input_size, int n_scales, int dict_size)
{
  memset (bb, 0, sizeof *bb);
  bb->name = g_strdup ("builtin");
  bb->input_size = input_size;
  bb->grid = input_size / 8;
  bb->channels = 1;
  funad_builtin_init (&bb->builtin, input_size, n_scales, dict_size);
  bb->dim = bb->builtin.dim;
  bb->feat_mean = bb->builtin.feat_mean;
  bb->feat_std = bb->builtin.feat_std;
}

/* The normalisation the weights were trained with: the shared ImageNet MobileNetV2 file says
 * "[-1,1]" in its metadata "input" (Keras's x / 127.5 - 1); timm's own files use ImageNet's
 * mean and std. */
static void
input_normalisation (GHashTable *meta, float *mean, float *std)
{
  const char *input = meta ? g_hash_table_lookup (meta, "input") : NULL;
  gboolean symmetric = input && (strstr (input, "[-1,1]") || strstr (input, "[-1, 1]"));
  for (int c = 0; c < 3; c++) {
    mean[c] = symmetric ? 0.5f : imagenet_mean[c];
    std[c] = symmetric ? 0.5f : imagenet_std[c];
  }
}

/* The weights file at path and its SHA-256 (*sha256), checked against what the model recorded
 * (expect_size > 0 and expect_sha256, when known): NULL with error set when it is not that
 * file. The path may come from an untrusted model file: only a regular file of a sane size
 * (and, when known, the expected size) is read, never a device or a fifo. */
static FunadSafetensors *
open_weights (const char *path, gint64 expect_size, const char *expect_sha256, char **sha256,
              GError **error)
{
  GStatBuf sb;
  if (g_stat (path, &sb) == 0 && (!S_ISREG (sb.st_mode) || sb.st_size > MAX_WEIGHTS_BYTES)) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_VERSION, "weights file '%s': %s", path,
                 !S_ISREG (sb.st_mode) ? "not a regular file" : "larger than any supported "
                 "network");
    return NULL;
  }
  if (g_stat (path, &sb) == 0 && expect_size > 0 && sb.st_size != expect_size) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_VERSION, "weights file '%s': %" G_GINT64_FORMAT
                 " bytes where the model was trained with a file of %" G_GINT64_FORMAT " bytes; "
                 "not the same weights", path, (gint64) sb.st_size, expect_size);
    return NULL;
  }
  FunadSafetensors *st = funad_safetensors_open (path, "weights file", error);
  if (!st)
    return NULL;
  if (expect_size > 0 && (gint64) funad_safetensors_size (st) != expect_size) {
    /* Changed between the stat and the read. */
    funad_safetensors_fail (st, error, FUNAD_ERROR_VERSION, "changed while being read");
    funad_safetensors_free (st);
    return NULL;
  }
  *sha256 = funad_safetensors_sha256 (st);
  if (expect_sha256 && g_ascii_strcasecmp (*sha256, expect_sha256) != 0) {
    funad_safetensors_fail (st, error, FUNAD_ERROR_VERSION, "SHA-256 %s where the model was "
                            "trained with %s; not the same weights", *sha256, expect_sha256);
    g_clear_pointer (sha256, g_free);
    funad_safetensors_free (st);
    return NULL;
  }
  return st;
}

gboolean
funad_backbone_init_pretrained (FunadBackbone *bb, const char *name, const char *weights,
                                int input_size, gint64 expect_size, const char *expect_sha256,
                                GError **error)
{
  memset (bb, 0, sizeof *bb);
  if (!funad_backbone_known (name) || g_strcmp0 (name, "builtin") == 0) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_VERSION, "unknown pretrained backbone '%s' "
                 "(known: mobilenetv2_100, resnet18, resnet34, resnet50, wide_resnet50_2)",
                 name ? name : "");
    funad_error_one_line (error);
    return FALSE;
  }
  char *path = g_strdup (weights);
  GHashTable *meta = NULL;
  gboolean ok = FALSE;
  GError *recorded_error = NULL;
  char *sha256 = NULL;
  FunadSafetensors *st = open_weights (path, expect_size, expect_sha256, &sha256,
                                       &recorded_error);
  /* A model names the file it was trained with. Where that file is gone, or is other weights
   * now, a file of the same name in $FUNAD_WEIGHTS_DIR is tried: the user's word for where
   * they are. Its error is the one told, unless it has no such file and the recorded one
   * exists. */
  const char *dir = g_getenv (WEIGHTS_DIR_ENV);
  if (!st && expect_sha256 && dir && *dir) {
    char *base = g_path_get_basename (weights);
    char *moved = g_build_filename (dir, base, NULL);
    g_free (base);
    GStatBuf a, b;
    gboolean recorded_exists = g_stat (path, &a) == 0, moved_exists = g_stat (moved, &b) == 0;
    gboolean same_file = recorded_exists && moved_exists && a.st_dev == b.st_dev
                         && a.st_ino == b.st_ino;  /* the variable names the recorded folder */
    if ((moved_exists && !same_file) || !recorded_exists) {
      g_clear_error (&recorded_error);
      g_free (path);
      path = moved;
      st = open_weights (path, expect_size, expect_sha256, &sha256, &recorded_error);
    } else {
      g_free (moved);
    }
  } else if (!st && expect_sha256 && !g_file_test (path, G_FILE_TEST_EXISTS)) {
    char *hint = g_strdup_printf ("%s (moved? set " WEIGHTS_DIR_ENV " to the folder that "
                                  "holds it now)", recorded_error->message);
    g_free (recorded_error->message);
    recorded_error->message = hint;
  }
  if (!st) {
    g_propagate_error (error, recorded_error);
    goto out;
  }
  bb->weights_sha256 = sha256;
  gboolean present;
  meta = funad_safetensors_metadata (st, &present, error);
  if (!meta)
    goto out;
  bb->net = strcmp (name, "mobilenetv2_100") == 0 ? funad_mobilenetv2_load (st, error)
                                                   : funad_resnet_load (st, name, error);
  if (!bb->net)
    goto out;
  bb->name = g_strdup (name);
  bb->weights_path = g_strdup (path);  /* where it was found: $FUNAD_WEIGHTS_DIR's, if moved */
  bb->weights_size = (gint64) funad_safetensors_size (st);
  bb->input_size = input_size;
  bb->grid = input_size / 8;
  bb->channels = 3;
  input_normalisation (meta, bb->input_mean, bb->input_std);
  for (int s = 0; s < bb->net->n_stages; s++)
    bb->raw_dim += bb->net->channels[s];
  funad_backbone_set_max_dim (bb, bb->raw_dim);
  ok = TRUE;
out:
  if (meta)
    g_hash_table_unref (meta);
  funad_safetensors_free (st);
  g_free (path);
  if (!ok) {
    funad_backbone_clear (bb);
    funad_error_one_line (error);
  }
  return ok;
}

void
funad_backbone_set_max_dim (FunadBackbone *bb, int max_dim)
{
  if (!bb->net)
    return;
  g_free (bb->feat_mean);
  g_free (bb->feat_std);
  g_clear_pointer (&bb->pca_mean, g_free);
  g_clear_pointer (&bb->projection, g_free);
  bb->dim = MIN (bb->raw_dim, max_dim);
  if (bb->dim < bb->raw_dim) {
    bb->pca_mean = g_new0 (float, bb->raw_dim);
    bb->projection = g_new0 (float, (gsize) bb->dim * bb->raw_dim);
    for (int j = 0; j < bb->dim; j++)
      bb->projection[(gsize) j * bb->raw_dim + j] = 1.f;
  }
  bb->feat_mean = g_new0 (float, bb->dim);
  bb->feat_std = g_new (float, bb->dim);
  for (int j = 0; j < bb->dim; j++)
    bb->feat_std[j] = 1.f;
}

void
funad_backbone_clear (FunadBackbone *bb)
{
  if (bb->net) {
    bb->net->free (bb->net);
    g_free (bb->feat_mean);
    g_free (bb->feat_std);
    g_free (bb->pca_mean);
    g_free (bb->projection);
  } else {
    funad_builtin_clear (&bb->builtin);
  }
  g_free (bb->name);
  g_free (bb->weights_path);
  g_free (bb->weights_sha256);
  memset (bb, 0, sizeof *bb);
}

gsize
funad_backbone_image_floats (const FunadBackbone *bb)
{
  return (gsize) bb->channels * bb->input_size * bb->input_size;
}

gboolean
funad_backbone_preprocess (const FunadBackbone *bb, const FunadImage *image, float *out,
                           GError **error)
{
  return bb->channels == 3 ? funad_preprocess_rgb (image, bb->input_size, out, error)
                           : funad_preprocess (image, bb->input_size, out, error);
}

#define PCA_IMAGES 64   /* the PCA is fitted on at most this many evenly spaced frames */

/* The PCA of the raw patch features: mean and the dim leading eigenvectors of their
 * covariance, from up to n_patches patches of up to PCA_IMAGES frames. */
static void
fit_pca (FunadBackbone *bb, const float *images, int n, int n_patches, GRand *rng)
{
  const int R = bb->raw_dim, cells = bb->grid * bb->grid;
  int n_images = MIN (n, PCA_IMAGES);
  int per_image = CLAMP (n_patches / n_images, 1, cells);
  gsize rows = (gsize) n_images * per_image;
  float *raw = g_new (float, (gsize) cells * R);
  float *x = g_new (float, rows * R);
  for (int k = 0; k < n_images; k++) {
    int i = (int) ((gint64) k * n / n_images);
    funad_pretrained_patch_features (bb, images + (gsize) i * funad_backbone_image_floats (bb),
                                     raw, NULL);
    for (int p = 0; p < per_image; p++) {
      int c = per_image == cells ? p : g_rand_int_range (rng, 0, cells);
      memcpy (x + ((gsize) k * per_image + p) * R, raw + (gsize) c * R, R * sizeof (float));
    }
  }
  double *mean = g_new0 (double, R);
  for (gsize r = 0; r < rows; r++)
    for (int j = 0; j < R; j++)
      mean[j] += x[r * R + j];
  for (int j = 0; j < R; j++) {
    bb->pca_mean[j] = (float) (mean[j] / rows);
    for (gsize r = 0; r < rows; r++)
      x[r * R + j] -= bb->pca_mean[j];
  }
  float *cov = g_new (float, (gsize) R * R), *eval = g_new (float, R);
  funad_gemm_tn (R, R, (int) rows, 1.f / MAX (rows - 1, 1), x, x, 0.f, cov);
  if (!funad_sym_eigen (cov, R, eval))
    g_warning ("eigen-decomposition failed; the feature reduction may be poor");
  /* Eigenvalues ascend: the leading directions are the last rows. */
  for (int j = 0; j < bb->dim; j++)
    memcpy (bb->projection + (gsize) j * R, cov + (gsize) (R - 1 - j) * R, R * sizeof (float));
  g_free (eval);
  g_free (cov);
  g_free (mean);
  g_free (x);
  g_free (raw);
}

void
funad_backbone_fit (FunadBackbone *bb, const float *images, int n, int n_patches, GRand *rng)
{
  if (!bb->net)
    funad_builtin_fit (&bb->builtin, images, n, n_patches, rng);
  else if (bb->projection)
    fit_pca (bb, images, n, n_patches, rng);
}

/* 3x3 mean of each pixel's neighbours inside the map (borders average fewer). */
static void
local_average (const float *in, int h, int w, float *out)
{
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      float acc = 0.f;
      int n = 0;
      for (int dy = -1; dy <= 1; dy++) {
        int yy = y + dy;
        if (yy < 0 || yy >= h)
          continue;
        for (int dx = -1; dx <= 1; dx++) {
          int xx = x + dx;
          if (xx >= 0 && xx < w)
            acc += in[yy * w + xx], n++;
        }
      }
      out[y * w + x] = acc / n;
    }
}

/* Each stage's channels c0..c1-1 of part `part`: averaged, resized, packed into the rows. */
typedef struct {
  const FunadBackbone *bb;
  float **stage;
  const int *sh, *sw;
  float *out;
} PackJob;

static void
pack_part (gpointer data, int part, int n_parts)
{
  const PackJob *j = data;
  const FunadNet *net = j->bb->net;
  int grid = j->bb->grid;
  gsize cells = (gsize) grid * grid;
  float *plane = g_new (float, cells);
  int offset = 0;
  for (int s = 0; s < net->n_stages; s++) {
    gsize n = (gsize) j->sh[s] * j->sw[s];
    float *avg = g_new (float, n);
    int c0 = net->channels[s] * part / n_parts, c1 = net->channels[s] * (part + 1) / n_parts;
    for (int c = c0; c < c1; c++) {
      local_average (j->stage[s] + c * n, j->sh[s], j->sw[s], avg);
      funad_map_resize (avg, j->sw[s], j->sh[s], plane, grid, grid);
      for (gsize i = 0; i < cells; i++)
        j->out[i * j->bb->raw_dim + offset + c] = plane[i];
    }
    offset += net->channels[s];
    g_free (avg);
  }
  g_free (plane);
}

void
funad_pretrained_patch_features (const FunadBackbone *bb, const float *image, float *out,
                                 FunadWorkers *workers)
{
  const FunadNet *net = bb->net;
  int size = bb->input_size;
  gsize pixels = (gsize) size * size;
  float *x = g_new (float, 3 * pixels);
  for (int c = 0; c < 3; c++) {
    float scale = 1.f / (255.f * bb->input_std[c]), shift = bb->input_mean[c] / bb->input_std[c];
    for (gsize i = 0; i < pixels; i++)
      x[c * pixels + i] = image[c * pixels + i] * scale - shift;
  }
  float *stage[FUNAD_NET_MAX_STAGES] = { 0 };
  int sh[FUNAD_NET_MAX_STAGES], sw[FUNAD_NET_MAX_STAGES];
  net->forward (net, x, size, size, stage, sh, sw, workers);
  g_free (x);
  PackJob job = { bb, stage, sh, sw, out };
  funad_workers_run (workers, pack_part, &job);
  for (int s = 0; s < net->n_stages; s++)
    g_free (stage[s]);
}

/* Rows r0..r1-1 of the reduced, standardised features from the raw ones. */
typedef struct {
  const FunadBackbone *bb;
  float *raw, *out;
  int rows;
} ReduceJob;

static void
reduce_part (gpointer data, int part, int n_parts)
{
  const ReduceJob *j = data;
  const FunadBackbone *bb = j->bb;
  int r0 = j->rows * part / n_parts, r1 = j->rows * (part + 1) / n_parts;
  if (r1 == r0)
    return;
  if (bb->projection) {
    for (int r = r0; r < r1; r++)
      for (int k = 0; k < bb->raw_dim; k++)
        j->raw[(gsize) r * bb->raw_dim + k] -= bb->pca_mean[k];
    funad_gemm_nt (r1 - r0, bb->dim, bb->raw_dim, 1.f, j->raw + (gsize) r0 * bb->raw_dim,
                   bb->projection, 0.f, j->out + (gsize) r0 * bb->dim);
  }
  for (int r = r0; r < r1; r++) {
    float *f = j->out + (gsize) r * bb->dim;
    for (int k = 0; k < bb->dim; k++)
      f[k] = (f[k] - bb->feat_mean[k]) / bb->feat_std[k];
  }
}

void
funad_backbone_features (const FunadBackbone *bb, const float *image, float *out,
                         FunadWorkers *workers)
{
  if (!bb->net) {
    funad_builtin_features (&bb->builtin, image, out);
    return;
  }
  int cells = bb->grid * bb->grid;
  float *raw = bb->projection ? g_new (float, (gsize) cells * bb->raw_dim) : NULL;
  funad_pretrained_patch_features (bb, image, raw ? raw : out, workers);
  ReduceJob job = { bb, raw, out, cells };
  funad_workers_run (workers, reduce_part, &job);
  g_free (raw);
}

gboolean
funad_backbone_banded (const FunadBackbone *bb)
{
  return bb->net == NULL;
}

void
funad_backbone_features_rows (const FunadBackbone *bb, const float *image, int gy0, int gy1,
                              float *out)
{
  g_return_if_fail (funad_backbone_banded (bb));
  funad_builtin_features_rows (&bb->builtin, image, gy0, gy1, out);
}

void
funad_backbone_features_finish (const FunadBackbone *bb, float *out)
{
  if (!bb->net)
    funad_builtin_aggregate (&bb->builtin, out);
}

gsize
funad_backbone_flops (const FunadBackbone *bb)
{
  if (!bb->net)
    return funad_builtin_flops (&bb->builtin);
  return bb->net->flops (bb->net, bb->input_size, bb->input_size);
}
