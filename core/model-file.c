/* model-file.c — the model file: safetensors (8-byte little-endian header length, a JSON
 * header, raw little-endian F32 tensors), readable by Python's `safetensors` package.
 * __metadata__ carries the format version, backbone, sizes, threshold and a training summary.
 * The loader (the parsing is safetensors.c's) checks every length, offset, dtype and shape
 * before use; the writer writes a temporary file and renames it, so a crash never leaves a
 * half-written model. */
#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "funad-private.h"

#define MAX_DIMS FUNAD_SAFETENSORS_MAX_DIMS
#define MAX_SIDE 1024             /* input sizes the trainer makes */
#define MAX_HIDDEN 4096
/* The one calibration this build knows (calibration.c), as the metadata names it. */
#define CELL_CALIBRATION "cell-robust-z"
/* Bank rows scored at sqrt(d^2 + floor^2) (funad_bank_row_norms). */
#define BANK_FLOOR "per-row-offset"
#define MAX_SCORER_FLOATS (64u << 20)  /* grid^2 x dim of one frame's features, at most */
#define MAX_METADATA_MAGNITUDE 1e15  /* a number in the metadata beyond this is corrupt, as a
                                      * tensor value is (safetensors.c) */

typedef struct {
  char *name;
  int ndim;
  gint64 shape[MAX_DIMS];
  float *data;      /* points into the model */
} TensorSpec;

static void
spec_add (GArray *specs, char *name, float *data, int ndim, gint64 d0, gint64 d1)
{
  TensorSpec t = { name, ndim, { d0, d1, 0, 0 }, data };
  g_array_append_val (specs, t);
}

static void
spec_clear (gpointer p)
{
  g_free (((TensorSpec *) p)->name);
}

static gsize
spec_count (const TensorSpec *t)
{
  gsize n = 1;
  for (int i = 0; i < t->ndim; i++)
    n *= (gsize) t->shape[i];
  return n;
}

/* Every tensor of a model, with its name and shape: the one list both load and save use. */
static GArray *
model_tensors (FunadModel *m)
{
  GArray *specs = g_array_new (FALSE, FALSE, sizeof (TensorSpec));
  g_array_set_clear_func (specs, spec_clear);
  FunadBackbone *bb = &m->backbone;
  const FunadBuiltin *bi = &bb->builtin;
  const int P = FUNAD_BUILTIN_PDIM;
  for (int s = 0; !bb->net && s < bi->n_scales; s++) {
    spec_add (specs, g_strdup_printf ("backbone.scale%d.zca_mean", s), bi->zca_mean[s], 1, P, 0);
    spec_add (specs, g_strdup_printf ("backbone.scale%d.zca", s), bi->zca[s], 2, P, P);
    spec_add (specs, g_strdup_printf ("backbone.scale%d.centroids", s), bi->centroids[s], 2,
              bi->dict_size, P);
  }
  if (bb->projection) {
    spec_add (specs, g_strdup ("backbone.pca_mean"), bb->pca_mean, 1, bb->raw_dim, 0);
    spec_add (specs, g_strdup ("backbone.projection"), bb->projection, 2, bb->dim, bb->raw_dim);
  }
  spec_add (specs, g_strdup ("backbone.feat_mean"), bb->feat_mean, 1, bb->dim, 0);
  spec_add (specs, g_strdup ("backbone.feat_std"), bb->feat_std, 1, bb->dim, 0);
  if (m->cell_scale) {
    spec_add (specs, g_strdup ("scorer.cell_offset"), m->cell_offset, 1, m->grid * m->grid, 0);
    spec_add (specs, g_strdup ("scorer.cell_scale"), m->cell_scale, 1, m->grid * m->grid, 0);
  }
  const FunadAppearance *a = &m->appearance;
  if (a->n_frames) {
    spec_add (specs, g_strdup ("scorer.appearance_mean"), a->mean, 1, a->dim, 0);
    spec_add (specs, g_strdup ("scorer.appearance_std"), a->std, 1, a->dim, 0);
    spec_add (specs, g_strdup ("scorer.appearance_looks"), a->looks, 2,
              (gint64) a->n_blocks * a->n_frames, a->dim);
  }
  if (m->scorer == FUNAD_SCORER_MEMORY_BANK) {
    spec_add (specs, g_strdup ("scorer.bank"), m->bank, 2, m->bank_rows, bb->dim);
    if (m->bank_floor)
      spec_add (specs, g_strdup ("scorer.bank_floor"), m->bank_floor, 1, m->bank_rows, 0);
    return specs;
  }
  for (int l = 0; l < FUNAD_MLP_LAYERS; l++) {
    int in = m->mlp.dims[l], out = m->mlp.dims[l + 1];
    spec_add (specs, g_strdup_printf ("scorer.layer%d.weight", l), m->mlp.w[l], 2, out, in);
    spec_add (specs, g_strdup_printf ("scorer.layer%d.bias", l), m->mlp.b[l], 1, out, 0);
  }
  return specs;
}

/* ---- save ---------------------------------------------------------------------------------- */

static void
metadata_int (GHashTable *meta, const char *key, int value)
{
  g_hash_table_replace (meta, g_strdup (key), g_strdup_printf ("%d", value));
}

static void
metadata_float (GHashTable *meta, const char *key, float value)
{
  g_hash_table_replace (meta, g_strdup (key), g_strdup_printf ("%.9g", value));
}

static gboolean
write_all (int fd, const void *data, gsize len)
{
  const guint8 *p = data;
  while (len > 0) {
    ssize_t w = write (fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return FALSE;
    p += w;
    len -= (gsize) w;
  }
  return TRUE;
}

gboolean
funad_model_save (const FunadModel *model, const char *path, GError **error)
{
  g_return_val_if_fail (model != NULL && path != NULL, FALSE);
  /* The model is shared read-only: the file's metadata is the model's plus what the
   * structure itself says, gathered in a table of our own. */
  FunadModel *m = (FunadModel *) model;
  GHashTable *meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init (&iter, m->metadata);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_replace (meta, g_strdup (key), g_strdup (value));
  g_hash_table_replace (meta, g_strdup ("format"), g_strdup ("funad"));
  const FunadBackbone *bb = &m->backbone;
  g_hash_table_replace (meta, g_strdup ("backbone"), g_strdup (bb->name));
  metadata_int (meta, "channels", bb->channels);
  g_hash_table_replace (meta, g_strdup ("scorer"),
                        g_strdup (m->scorer == FUNAD_SCORER_FUNAD ? "funad" : "memory-bank"));
  g_hash_table_replace (meta, g_strdup ("threshold"), g_strdup_printf ("%.9g", m->threshold));
  metadata_int (meta, "format_version", FUNAD_FORMAT_VERSION);
  metadata_int (meta, "input_size", m->input_size);
  metadata_int (meta, "grid", m->grid);
  if (!bb->net) {
    metadata_int (meta, "n_scales", bb->builtin.n_scales);
    metadata_int (meta, "dict_size", bb->builtin.dict_size);
    if (bb->builtin.neighbourhood)
      metadata_int (meta, "neighbourhood", bb->builtin.neighbourhood);
    else
      g_hash_table_remove (meta, "neighbourhood");
  } else {
    /* What the model needs beside itself: the weights file, named and fingerprinted. */
    g_hash_table_replace (meta, g_strdup ("backbone_weights"), g_strdup (bb->weights_path));
    g_hash_table_replace (meta, g_strdup ("backbone_weights_size"),
                          g_strdup_printf ("%" G_GINT64_FORMAT, bb->weights_size));
    g_hash_table_replace (meta, g_strdup ("backbone_weights_sha256"),
                          g_strdup (bb->weights_sha256));
    g_hash_table_replace (meta, g_strdup ("input_mean"), g_strdup_printf ("%.9g,%.9g,%.9g",
                          bb->input_mean[0], bb->input_mean[1], bb->input_mean[2]));
    g_hash_table_replace (meta, g_strdup ("input_std"), g_strdup_printf ("%.9g,%.9g,%.9g",
                          bb->input_std[0], bb->input_std[1], bb->input_std[2]));
    metadata_int (meta, "feature_dim", bb->dim);
  }
  if (m->scorer == FUNAD_SCORER_FUNAD) {
    metadata_int (meta, "hidden1", m->mlp.dims[2]);
    metadata_int (meta, "hidden2", m->mlp.dims[3]);
    if (m->logit_scores)
      g_hash_table_replace (meta, g_strdup ("patch_scores"), g_strdup ("logit"));
    else
      g_hash_table_remove (meta, "patch_scores");
  } else {
    metadata_int (meta, "bank_rows", m->bank_rows);
  }
  if (m->bank_floor)
    g_hash_table_replace (meta, g_strdup ("bank_floor"), g_strdup (BANK_FLOOR));
  else
    g_hash_table_remove (meta, "bank_floor");
  if (m->cell_scale)
    g_hash_table_replace (meta, g_strdup ("calibration"), g_strdup (CELL_CALIBRATION));
  else
    g_hash_table_remove (meta, "calibration");
  if (m->appearance.n_frames) {
    metadata_int (meta, "appearance_frames", m->appearance.n_frames);
    metadata_float (meta, "appearance_median", m->appearance.median);
    metadata_float (meta, "appearance_scale", m->appearance.scale);
    metadata_float (meta, "appearance_weight", m->appearance.weight);
  } else {
    g_hash_table_remove (meta, "appearance_frames");
    g_hash_table_remove (meta, "appearance_median");
    g_hash_table_remove (meta, "appearance_scale");
    g_hash_table_remove (meta, "appearance_weight");
  }

  GArray *specs = model_tensors (m);
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "__metadata__");
  json_builder_begin_object (b);
  GList *keys = g_list_sort (g_hash_table_get_keys (meta), (GCompareFunc) strcmp);
  for (GList *k = keys; k; k = k->next) {
    json_builder_set_member_name (b, k->data);
    json_builder_add_string_value (b, g_hash_table_lookup (meta, k->data));
  }
  g_list_free (keys);
  g_hash_table_unref (meta);
  json_builder_end_object (b);
  gsize offset = 0;
  for (guint i = 0; i < specs->len; i++) {
    TensorSpec *t = &g_array_index (specs, TensorSpec, i);
    gsize bytes = spec_count (t) * sizeof (float);
    json_builder_set_member_name (b, t->name);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "dtype");
    json_builder_add_string_value (b, "F32");
    json_builder_set_member_name (b, "shape");
    json_builder_begin_array (b);
    for (int d = 0; d < t->ndim; d++)
      json_builder_add_int_value (b, t->shape[d]);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "data_offsets");
    json_builder_begin_array (b);
    json_builder_add_int_value (b, (gint64) offset);
    json_builder_add_int_value (b, (gint64) (offset + bytes));
    json_builder_end_array (b);
    json_builder_end_object (b);
    offset += bytes;
  }
  json_builder_end_object (b);
  JsonGenerator *gen = json_generator_new ();
  JsonNode *root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  gsize header_len;
  char *header = json_generator_to_data (gen, &header_len);
  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (b);
  /* Pad the header with spaces so the tensor data starts 8-byte aligned. */
  gsize padded = (header_len + 7) & ~(gsize) 7;
  header = g_realloc (header, padded);
  memset (header + header_len, ' ', padded - header_len);

  char *tmp = g_strdup_printf ("%s.XXXXXX", path);
  gboolean ok = FALSE;
  /* The rename below replaces whatever path names: a device (/dev/full) or a folder must not
   * be swapped for a model file. */
  GStatBuf st;
  if (g_stat (path, &st) == 0 && !S_ISREG (st.st_mode)) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO,
                 "cannot write model file '%s': not a regular file", path);
    goto out;
  }
  int fd = g_mkstemp (tmp);
  if (fd < 0) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "cannot write model file '%s': %s", path,
                 g_strerror (errno));
    goto out;
  }
  /* mkstemp creates the file 0600; a model gets the mode any new file would (0666 & ~umask). */
  mode_t mask = umask (0);
  umask (mask);
  if (fchmod (fd, 0666 & ~mask) != 0)
    g_debug ("could not set the mode of %s: %s", tmp, g_strerror (errno));
  guint8 len_le[8];
  for (int i = 0; i < 8; i++)
    len_le[i] = (guint8) ((guint64) padded >> (8 * i));
  gboolean written = write_all (fd, len_le, 8) && write_all (fd, header, padded);
  for (guint i = 0; written && i < specs->len; i++) {
    TensorSpec *t = &g_array_index (specs, TensorSpec, i);
    gsize n = spec_count (t);
    guint32 *le = g_new (guint32, n);
    for (gsize j = 0; j < n; j++) {
      guint32 bits;
      memcpy (&bits, &t->data[j], 4);
      le[j] = GUINT32_TO_LE (bits);
    }
    written = write_all (fd, le, n * 4);
    g_free (le);
  }
  int saved_errno = errno;
  if (written && fsync (fd) != 0)
    written = FALSE, saved_errno = errno;
  if (close (fd) != 0 && written)
    written = FALSE, saved_errno = errno;
  if (!written) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "cannot write model file '%s': %s", path,
                 g_strerror (saved_errno ? saved_errno : EIO));
    g_unlink (tmp);
    goto out;
  }
  if (g_rename (tmp, path) != 0) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "cannot write model file '%s': %s", path,
                 g_strerror (errno));
    g_unlink (tmp);
    goto out;
  }
  ok = TRUE;
out:
  g_free (tmp);
  g_free (header);
  g_array_unref (specs);
  return ok;
}

/* ---- load ---------------------------------------------------------------------------------- */

#define FAIL(code, ...) \
  G_STMT_START { \
    char *why_ = g_strdup_printf (__VA_ARGS__); \
    g_set_error (error, FUNAD_ERROR, code, "model file '%s': %s", path, why_); \
    g_free (why_); \
    goto fail; \
  } G_STMT_END

static gboolean
parse_int (const char *s, int lo, int hi, int *out)
{
  if (!s)
    return FALSE;
  char *end;
  gint64 v = g_ascii_strtoll (s, &end, 10);
  if (end == s || *end || v < lo || v > hi)
    return FALSE;
  *out = (int) v;
  return TRUE;
}

/* One finite float. */
static gboolean
parse_float (const char *s, float *out)
{
  if (!s)
    return FALSE;
  char *end;
  double v = g_ascii_strtod (s, &end);
  *out = (float) v;
  /* bounded as a tensor's values are: 1e308 is finite as a double, infinite as a float */
  return end != s && !*end && fabs (v) <= MAX_METADATA_MAGNITUDE;
}

/* Three comma-separated floats (the input normalisation). */
static gboolean
parse_floats3 (const char *s, float *out)
{
  if (!s)
    return FALSE;
  char **parts = g_strsplit (s, ",", -1);
  gboolean ok = g_strv_length (parts) == 3;
  for (int i = 0; ok && i < 3; i++)
    ok = parse_float (parts[i], &out[i]);
  g_strfreev (parts);
  return ok;
}

FunadModel *
funad_model_load (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  FunadModel *m = NULL;
  GArray *specs = NULL;
  GHashTable *file_meta = NULL;
  FunadSafetensors *st = funad_safetensors_open (path, "model file", error);
  if (!st) {
    funad_error_one_line (error);
    return NULL;
  }
  gboolean present;
  file_meta = funad_safetensors_metadata (st, &present, error);
  if (!file_meta)
    goto fail;
  if (!present)
    FAIL (FUNAD_ERROR_CORRUPT, "no __metadata__; not a funad model");

  m = funad_model_new_empty ();
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init (&iter, file_meta);
  while (g_hash_table_iter_next (&iter, &key, &value))
    funad_model_set_metadata (m, key, value);

  const char *format = funad_model_get_metadata (m, "format");
  if (g_strcmp0 (format, "funad") != 0)
    FAIL (FUNAD_ERROR_CORRUPT, "not a funad model (metadata 'format' is %s)",
          format ? format : "missing");
  int version = 0;
  if (!parse_int (funad_model_get_metadata (m, "format_version"), 0, G_MAXINT, &version)
      || version != FUNAD_FORMAT_VERSION)
    FAIL (FUNAD_ERROR_VERSION, "format version %s; this build reads version %d",
          funad_model_get_metadata (m, "format_version") ?: "missing", FUNAD_FORMAT_VERSION);
  const char *backbone = funad_model_get_metadata (m, "backbone");
  if (!funad_backbone_known (backbone))
    FAIL (FUNAD_ERROR_VERSION, "backbone '%s' is not supported by this build",
          backbone ? backbone : "(missing)");
  gboolean builtin = strcmp (backbone, "builtin") == 0;
  const char *scorer = funad_model_get_metadata (m, "scorer");
  if (g_strcmp0 (scorer, "funad") == 0)
    m->scorer = FUNAD_SCORER_FUNAD;
  else if (g_strcmp0 (scorer, "memory-bank") == 0)
    m->scorer = FUNAD_SCORER_MEMORY_BANK;
  else
    FAIL (FUNAD_ERROR_VERSION, "scorer '%s' is not supported by this build",
          scorer ? scorer : "(missing)");
  int size, grid, scales = 0, dict = 0, dim = 0, h1 = 1, h2 = 1, rows = 0;
  gboolean funad = m->scorer == FUNAD_SCORER_FUNAD;
  if (!parse_int (funad_model_get_metadata (m, "input_size"), 32, MAX_SIDE, &size) || size % 8
      || !parse_int (funad_model_get_metadata (m, "grid"), 4, MAX_SIDE / 8, &grid)
      || grid * 8 != size
      || (builtin && !parse_int (funad_model_get_metadata (m, "n_scales"), 1, FUNAD_MAX_SCALES,
                                 &scales))
      || (builtin && !parse_int (funad_model_get_metadata (m, "dict_size"), 2, 1024, &dict))
      || (!builtin && !parse_int (funad_model_get_metadata (m, "feature_dim"), 1, 8192, &dim))
      || (funad && !parse_int (funad_model_get_metadata (m, "hidden1"), 1, MAX_HIDDEN, &h1))
      || (funad && !parse_int (funad_model_get_metadata (m, "hidden2"), 1, MAX_HIDDEN, &h2))
      || (!funad && !parse_int (funad_model_get_metadata (m, "bank_rows"), 1, 1 << 22, &rows)))
    FAIL (FUNAD_ERROR_CORRUPT, "metadata sizes are missing or out of range");
  if (builtin)
    dim = scales * dict;
  /* Bound what a scorer of this model would allocate, before anything is allocated. */
  if ((guint64) grid * grid * dim > MAX_SCORER_FLOATS)
    FAIL (FUNAD_ERROR_CORRUPT, "grid %d with %d features per patch is larger than supported",
          grid, dim);
  const char *thr = funad_model_get_metadata (m, "threshold");
  char *end = NULL;
  m->threshold = thr ? g_ascii_strtod (thr, &end) : NAN;
  if (!thr || end == thr || *end || !(fabs (m->threshold) <= MAX_METADATA_MAGNITUDE))
    FAIL (FUNAD_ERROR_CORRUPT, "metadata 'threshold' is missing, not a number or beyond %g",
          MAX_METADATA_MAGNITUDE);

  m->input_size = size;
  m->grid = grid;
  if (builtin) {
    /* Models from before the neighbourhood mean say nothing: the patch alone. */
    int neighbourhood = 0;
    const char *nb = funad_model_get_metadata (m, "neighbourhood");
    if (nb && !parse_int (nb, 0, FUNAD_MAX_NEIGHBOURHOOD, &neighbourhood))
      FAIL (FUNAD_ERROR_CORRUPT, "metadata 'neighbourhood' is out of range");
    funad_backbone_init_builtin (&m->backbone, size, scales, dict);
    m->backbone.builtin.neighbourhood = neighbourhood;
  } else {
    const char *weights = funad_model_get_metadata (m, "backbone_weights");
    const char *sha = funad_model_get_metadata (m, "backbone_weights_sha256");
    const char *wsize = funad_model_get_metadata (m, "backbone_weights_size");
    gint64 weights_size = wsize ? g_ascii_strtoll (wsize, &end, 10) : 0;
    float mean[3], std[3];
    if (!weights || !sha || strlen (sha) != 64 || !wsize || end == wsize || *end
        || weights_size < 8)
      FAIL (FUNAD_ERROR_CORRUPT, "metadata 'backbone_weights', '_size' or '_sha256' is missing "
            "or malformed");
    if (!parse_floats3 (funad_model_get_metadata (m, "input_mean"), mean)
        || !parse_floats3 (funad_model_get_metadata (m, "input_std"), std)
        || !(std[0] > 0.f && std[1] > 0.f && std[2] > 0.f))
      FAIL (FUNAD_ERROR_CORRUPT, "metadata 'input_mean' or 'input_std' is missing or malformed");
    GError *why = NULL;
    if (!funad_backbone_init_pretrained (&m->backbone, backbone, weights, size, weights_size, sha,
                                         &why)) {
      g_set_error (error, FUNAD_ERROR, why->code, "model file '%s': backbone %s: %s", path,
                   backbone, why->message);
      g_error_free (why);
      goto fail;
    }
    /* The weights file the model now runs on (moved: the one found in $FUNAD_WEIGHTS_DIR),
     * so that what a program reads and a model saved again name that file. */
    funad_model_set_metadata (m, "backbone_weights", m->backbone.weights_path);
    funad_backbone_set_max_dim (&m->backbone, dim);
    if (m->backbone.dim != dim)
      FAIL (FUNAD_ERROR_CORRUPT, "backbone %s gives %d features per patch, the model says %d",
            backbone, m->backbone.raw_dim, dim);
    memcpy (m->backbone.input_mean, mean, sizeof mean);
    memcpy (m->backbone.input_std, std, sizeof std);
  }
  if (funad) {
    funad_mlp_init (&m->mlp, m->backbone.dim, h1, h2);
  } else {
    /* The bank's size is checked against the data before it is allocated. */
    if ((guint64) rows * m->backbone.dim * 4 > funad_safetensors_size (st))
      FAIL (FUNAD_ERROR_CORRUPT, "metadata 'bank_rows' is larger than the file");
    m->bank_rows = rows;
    m->bank = g_new (float, (gsize) rows * m->backbone.dim);
    /* Models from before the floors say nothing: every row trusted alike. */
    const char *floor = funad_model_get_metadata (m, "bank_floor");
    if (floor && strcmp (floor, BANK_FLOOR) != 0)
      FAIL (FUNAD_ERROR_VERSION, "bank floor '%s' is not supported by this build", floor);
    if (floor)
      m->bank_floor = g_new (float, rows);
  }

  /* FUN-AD files before patch_scores held sigmoid scores, and thresholds to match. */
  const char *patch_scores = funad_model_get_metadata (m, "patch_scores");
  if (funad && patch_scores && strcmp (patch_scores, "logit") != 0)
    FAIL (FUNAD_ERROR_VERSION, "patch scores '%s' are not supported by this build", patch_scores);
  m->logit_scores = funad && patch_scores;
  const char *calibration = funad_model_get_metadata (m, "calibration");
  if (calibration && strcmp (calibration, CELL_CALIBRATION) != 0)
    FAIL (FUNAD_ERROR_VERSION, "calibration '%s' is not supported by this build", calibration);
  if (calibration) {
    m->cell_offset = g_new (float, (gsize) grid * grid);
    m->cell_scale = g_new (float, (gsize) grid * grid);
  }

  /* Models from before the appearance term say nothing: patch scores alone. */
  const char *app_frames = funad_model_get_metadata (m, "appearance_frames");
  if (app_frames) {
    int n_frames;
    float median, scale, weight;
    if (!parse_int (app_frames, 1, FUNAD_APPEARANCE_MAX_FRAMES, &n_frames)
        || !parse_float (funad_model_get_metadata (m, "appearance_median"), &median)
        || !parse_float (funad_model_get_metadata (m, "appearance_scale"), &scale)
        || !parse_float (funad_model_get_metadata (m, "appearance_weight"), &weight)
        || !(scale > 0.f) || weight < 0.f || weight > FUNAD_MAX_APPEARANCE_WEIGHT)
      FAIL (FUNAD_ERROR_CORRUPT, "metadata 'appearance_frames', '_median', '_scale' or "
            "'_weight' is missing or out of range");
    int blocks = funad_appearance_blocks (grid);
    if ((guint64) n_frames * blocks * blocks * m->backbone.dim * 4 > funad_safetensors_size (st))
      FAIL (FUNAD_ERROR_CORRUPT, "metadata 'appearance_frames' is larger than the file");
    funad_appearance_alloc (&m->appearance, n_frames, blocks * blocks, m->backbone.dim);
    m->appearance.median = median;
    m->appearance.scale = scale;
    m->appearance.weight = weight;
  }

  specs = model_tensors (m);
  if (funad_safetensors_n_tensors (st) != specs->len)
    FAIL (FUNAD_ERROR_CORRUPT, "holds %u tensors where %u are expected",
          funad_safetensors_n_tensors (st), specs->len);
  for (guint i = 0; i < specs->len; i++) {
    TensorSpec *t = &g_array_index (specs, TensorSpec, i);
    if (!funad_safetensors_read (st, t->name, t->ndim, t->shape, t->data, error))
      goto fail;
  }
  for (int j = 0; j < m->backbone.dim; j++)
    if (!(m->backbone.feat_std[j] > 0.f))
      FAIL (FUNAD_ERROR_CORRUPT, "tensor 'backbone.feat_std' holds a non-positive value");
  for (int c = 0; m->cell_scale && c < grid * grid; c++)
    if (!(m->cell_scale[c] > 0.f) || !isfinite (m->cell_scale[c])
        || !isfinite (m->cell_offset[c]))
      FAIL (FUNAD_ERROR_CORRUPT, "tensor 'scorer.cell_scale' or 'scorer.cell_offset' holds a "
            "non-positive or non-finite value");
  for (int j = 0; m->bank_floor && j < m->bank_rows; j++)
    if (!(m->bank_floor[j] >= 0.f))  /* the reader refused non-finite values already */
      FAIL (FUNAD_ERROR_CORRUPT, "tensor 'scorer.bank_floor' holds a negative value");
  for (int j = 0; m->appearance.n_frames && j < m->appearance.dim; j++)
    if (!(m->appearance.std[j] >= 0.f))
      FAIL (FUNAD_ERROR_CORRUPT, "tensor 'scorer.appearance_std' holds a negative value");
  if (m->appearance.n_frames)
    funad_appearance_ready (&m->appearance);
  g_array_unref (specs);
  g_hash_table_unref (file_meta);
  funad_safetensors_free (st);
  return m;

fail:
  funad_error_one_line (error);
  if (specs)
    g_array_unref (specs);
  if (file_meta)
    g_hash_table_unref (file_meta);
  funad_model_unref (m);
  funad_safetensors_free (st);
  return NULL;
}
