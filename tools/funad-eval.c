/* funad-eval.c — measures a funad model on a labelled dataset.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   funad-eval --model MODEL --dataset DIR [--json] [--scores FILE] [--heatmaps OUT]
 *   funad-eval --model MODEL --normal DIR --anomalous DIR [--masks DIR] [...]
 *
 * MVTec AD layout: DIR/test/good holds normal images, every other DIR/test/<defect> defective
 * ones, DIR/ground_truth/<defect>/<stem>_mask.png (optional) their masks, non-zero where
 * defective. Plain layout: every image under --normal is normal, every image under
 * --anomalous defective (a sub-folder names its defect type), --masks holds <stem>_mask.png or
 * <stem>.png at the same relative place.
 *
 * Image metrics rank frame scores (maximum of the map). Pixel metrics compare maps, resized to
 * each mask, with the mask: normal images count as all-zero masks at their own size;
 * defective images without a mask are left out of them.
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include "cli-error.h"
#include "frame-source.h"
#include "funad.h"
#include "png-encode.h"
#include "progress.h"

/* AUPRO integrates PRO up to this false positive rate, as the MVTec AD benchmark does. */
#define AUPRO_MAX_FPR 0.3
/* Heat-map colours as funaddetect draws them: from half the threshold to 1.5 times it. */
#define HEATMAP_LO 0.5
#define HEATMAP_HI 1.5
#define HEATMAP_ALPHA 0.5

typedef struct {
  char *name;            /* defect type ("good" for normal images) */
  gboolean defective;
} TestClass;

typedef struct {
  char *path;
  char *mask_path;       /* may not exist; NULL for normal images */
  char *heatmap_name;    /* CLASS/STEM.png under --heatmaps */
  guint class_index;
  /* filled when scored */
  gboolean scored;
  float score;
  gsize pix_start, pix_len;  /* its pixels in the pixel arrays (len 0: not in pixel metrics) */
} TestImage;

typedef struct {
  FunadScorer *scorer;
  const char *heatmaps;  /* folder, or NULL */
  TestImage *image;      /* the one being scored */
  const guint8 *mask;    /* its mask pixels, or NULL */
  int mask_w, mask_h;
  gboolean zero_mask;    /* a normal image: an all-zero mask at its own size */
  GError *heatmap_error; /* the first heat map that could not be written */
  GArray *pixel_scores;  /* float, all images */
  GArray *pixel_regions; /* guint32: 0 normal pixel, else a defect region unique in the set */
  guint32 next_region;
} EvalRun;

typedef struct {
  guint8 *pixels;
  int width, height;
} Mask;

/* ---- decoding callbacks -------------------------------------------------------------------- */

static gboolean
on_mask_frame (const FunadImage *image, const FrameInfo *info, gpointer user_data,
               GError **error)
{
  Mask *mask = user_data;

  if (mask->pixels)
    return TRUE;  /* a mask file has one frame; ignore any more */
  mask->width = image->width;
  mask->height = image->height;
  mask->pixels = g_new (guint8, (gsize) image->width * image->height);
  for (int y = 0; y < image->height; y++)
    memcpy (mask->pixels + (gsize) y * image->width, image->data + (gsize) y * image->stride,
            image->width);
  return TRUE;
}

/* Appends the map, resized to w x h, and the mask's regions to the pixel arrays. */
static void
append_pixels (EvalRun *run, const float *map, int map_size, int w, int h, const guint8 *mask)
{
  gsize n = (gsize) w * h, old = run->pixel_scores->len;

  g_array_set_size (run->pixel_scores, old + n);
  g_array_set_size (run->pixel_regions, old + n);
  funad_map_resize (map, map_size, map_size, &g_array_index (run->pixel_scores, float, old), w, h);

  guint32 *regions = &g_array_index (run->pixel_regions, guint32, old);
  if (mask)
    run->next_region += funad_label_regions (mask, w, h, regions, run->next_region);
  else
    memset (regions, 0, n * sizeof *regions);
  run->image->pix_start = old;
  run->image->pix_len = n;
}

/* The image with its heat map blended over it, as a PNG under --heatmaps. */
static gboolean
write_heatmap (EvalRun *run, const FunadImage *image, const float *map, int map_size,
               GError **error)
{
  double threshold = funad_model_threshold (funad_scorer_get_model (run->scorer));
  int row = image->width * 3;
  guint8 *copy = g_new (guint8, (gsize) row * image->height);
  FunadImage overlay = { copy, image->width, image->height, row, 3, 0, 1, 2 };
  gboolean ok = FALSE;

  for (int y = 0; y < image->height; y++)
    memcpy (copy + (gsize) y * row, image->data + (gsize) y * image->stride, row);
  funad_heatmap_blend (map, map_size, map_size, HEATMAP_LO * threshold, HEATMAP_HI * threshold,
                       HEATMAP_ALPHA, &overlay);

  GBytes *png = png_encode_rgb (copy, image->width, image->height, row, error);
  if (png) {
    char *path = g_build_filename (run->heatmaps, run->image->heatmap_name, NULL);
    char *dir = g_path_get_dirname (path);

    if (g_mkdir_with_parents (dir, 0777) != 0)
      g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: cannot create folder: %s", dir,
                   g_strerror (errno));
    else
      ok = g_file_set_contents (path, g_bytes_get_data (png, NULL), g_bytes_get_size (png),
                                error);
    g_free (dir);
    g_free (path);
    g_bytes_unref (png);
  }
  g_free (copy);
  return ok;
}

static gboolean
on_image_frame (const FunadImage *image, const FrameInfo *info, gpointer user_data,
                GError **error)
{
  EvalRun *run = user_data;
  const float *map = NULL;

  if (run->image->scored)
    return TRUE;  /* an image file has one frame; ignore any more */
  if (!funad_scorer_score (run->scorer, image, &run->image->score, &map, error)) {
    g_prefix_error (error, "%s: ", info->path);
    return FALSE;
  }
  run->image->scored = TRUE;

  int map_size = funad_model_input_size (funad_scorer_get_model (run->scorer));

  if (run->zero_mask)
    append_pixels (run, map, map_size, image->width, image->height, NULL);
  else if (run->mask)
    append_pixels (run, map, map_size, run->mask_w, run->mask_h, run->mask);
  if (run->heatmaps && !run->heatmap_error)
    write_heatmap (run, image, map, map_size, &run->heatmap_error);
  return TRUE;
}

/* ---- dataset -------------------------------------------------------------------------------- */

static void
test_image_free (gpointer data)
{
  TestImage *t = data;

  g_free (t->path);
  g_free (t->mask_path);
  g_free (t->heatmap_name);
  g_free (t);
}

static void
test_class_free (gpointer data)
{
  TestClass *c = data;

  g_free (c->name);
  g_free (c);
}

static guint
class_index (GPtrArray *classes, const char *name, gboolean defective)
{
  for (guint i = 0; i < classes->len; i++)
    if (strcmp (((TestClass *) g_ptr_array_index (classes, i))->name, name) == 0)
      return i;
  TestClass *c = g_new0 (TestClass, 1);
  c->name = g_strdup (name);
  c->defective = defective;
  g_ptr_array_add (classes, c);
  return classes->len - 1;
}

static char *
stem_of (const char *path)
{
  char *base = g_path_get_basename (path);
  char *dot = strrchr (base, '.');

  if (dot)
    *dot = '\0';
  return base;
}

static void
add_image (GPtrArray *images, guint c, const char *class_name, const char *path, char *mask)
{
  TestImage *t = g_new0 (TestImage, 1);
  char *stem = stem_of (path);
  char *name = g_strconcat (stem, ".png", NULL);

  t->path = g_strdup (path);
  t->mask_path = mask;
  t->class_index = c;
  t->heatmap_name = g_build_filename (class_name, name, NULL);
  g_ptr_array_add (images, t);
  g_free (name);
  g_free (stem);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* MVTec AD: DIR/test/<class>/..., masks in DIR/ground_truth/<class>/<stem>_mask.png. */
static gboolean
list_mvtec (const char *dataset, GPtrArray *classes, GPtrArray *images, GError **error)
{
  char *test_dir = g_build_filename (dataset, "test", NULL);
  GError *local_error = NULL;
  GDir *dir = g_dir_open (test_dir, 0, &local_error);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  gboolean ok = TRUE;

  if (!dir) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: not an MVTec AD style dataset (no "
                 "test/ folder: %s)", dataset, local_error->message);
    g_error_free (local_error);
    g_free (test_dir);
    g_ptr_array_unref (names);
    return FALSE;
  }
  while ((name = g_dir_read_name (dir))) {
    char *path = g_build_filename (test_dir, name, NULL);
    if (name[0] != '.' && g_file_test (path, G_FILE_TEST_IS_DIR))
      g_ptr_array_add (names, g_strdup (name));
    g_free (path);
  }
  g_dir_close (dir);
  /* Byte order of names, so classes and images come out the same everywhere. */
  g_ptr_array_sort (names, compare_names);

  for (guint i = 0; i < names->len && ok; i++) {
    const char *class_name = g_ptr_array_index (names, i);
    char *class_dir = g_build_filename (test_dir, class_name, NULL);
    GPtrArray *paths = frame_source_list_images (class_dir, error);
    gboolean defective = strcmp (class_name, "good") != 0;
    guint c = class_index (classes, class_name, defective);

    ok = paths != NULL;
    for (guint k = 0; ok && k < paths->len; k++) {
      const char *path = g_ptr_array_index (paths, k);
      char *mask = NULL;

      if (defective) {
        char *stem = stem_of (path);
        char *mask_name = g_strconcat (stem, "_mask.png", NULL);
        mask = g_build_filename (dataset, "ground_truth", class_name, mask_name, NULL);
        g_free (mask_name);
        g_free (stem);
      }
      add_image (images, c, class_name, path, mask);
    }
    if (paths)
      g_ptr_array_unref (paths);
    g_free (class_dir);
  }
  g_ptr_array_unref (names);
  g_free (test_dir);
  return ok;
}

/* masks/<relative dir>/<stem>_mask.png, else .../<stem>.png; NULL when neither exists. */
static char *
plain_mask_path (const char *masks, const char *relative_dir, const char *path)
{
  char *stem = stem_of (path);
  const char *suffixes[] = { "_mask.png", ".png", NULL };
  char *found = NULL;

  for (int i = 0; suffixes[i] && !found; i++) {
    char *name = g_strconcat (stem, suffixes[i], NULL);
    char *candidate = g_build_filename (masks, relative_dir, name, NULL);

    if (g_file_test (candidate, G_FILE_TEST_IS_REGULAR))
      found = candidate;
    else
      g_free (candidate);
    g_free (name);
  }
  g_free (stem);
  return found;
}

static char *resolved_path (const char *path);

/* --normal DIR --anomalous DIR [--masks DIR]: a sub-folder of DIR names the defect type. An
 * image of --anomalous that is also one of --normal (--anomalous pointed at a test/ folder
 * holding good/) is left out of the defective ones: it is counted once, as normal. */
static gboolean
list_plain (const char *normal, const char *anomalous, const char *masks, GPtrArray *classes,
            GPtrArray *images, GError **error)
{
  GPtrArray *paths = frame_source_list_images (normal, error);

  if (!paths)
    return FALSE;
  guint good = class_index (classes, "good", FALSE);
  GHashTable *normal_images = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint k = 0; k < paths->len; k++) {
    add_image (images, good, "good", g_ptr_array_index (paths, k), NULL);
    g_hash_table_add (normal_images, resolved_path (g_ptr_array_index (paths, k)));
  }
  g_ptr_array_unref (paths);

  paths = frame_source_list_images (anomalous, error);
  if (!paths) {
    g_hash_table_unref (normal_images);
    return FALSE;
  }
  gsize prefix = strlen (anomalous);
  guint n_normal_again = 0;
  for (guint k = 0; k < paths->len; k++) {
    const char *path = g_ptr_array_index (paths, k);
    const char *relative = path + prefix;
    char *resolved = resolved_path (path);
    gboolean again = g_hash_table_contains (normal_images, resolved);

    g_free (resolved);
    if (again) {
      n_normal_again++;
      continue;
    }

    while (*relative == G_DIR_SEPARATOR)
      relative++;
    char *relative_dir = g_path_get_dirname (relative);
    char *first = g_strdup (relative_dir);
    char *sep = strchr (first, G_DIR_SEPARATOR);

    if (sep)
      *sep = '\0';
    const char *class_name = strcmp (first, ".") == 0 ? "anomalous" : first;
    guint c = class_index (classes, class_name, TRUE);

    add_image (images, c, class_name, path,
               masks ? plain_mask_path (masks, relative_dir, path) : NULL);
    g_free (first);
    g_free (relative_dir);
  }
  if (n_normal_again > 0)
    g_printerr ("funad-eval: warning: %u %s under %s %s also under %s: counted as normal "
                "only\n", n_normal_again, n_normal_again == 1 ? "image" : "images", anomalous,
                n_normal_again == 1 ? "is" : "are", normal);
  g_hash_table_unref (normal_images);
  g_ptr_array_unref (paths);
  return TRUE;
}

/* ---- metrics -------------------------------------------------------------------------------- */

typedef struct {
  guint n;
  double image_auroc, f1_max, pixel_auroc, aupro;
  float f1_max_threshold;
  double precision, recall, f1, flagged;  /* at the model's threshold */
} Metrics;

/* Every metric over the images whose class is in (keep == NULL: all images). */
static Metrics
measure (GPtrArray *images, const gboolean *keep, const float *pixel_scores,
         const guint32 *pixel_regions, GPtrArray *classes, double threshold,
         gboolean with_pixels)
{
  Metrics m = { 0 };
  float *scores = g_new (float, images->len);
  guint8 *labels = g_new (guint8, images->len);
  gsize n = 0, n_pix = 0, n_flagged = 0;

  for (guint i = 0; i < images->len; i++) {
    TestImage *t = g_ptr_array_index (images, i);
    if (!t->scored || (keep && !keep[t->class_index]))
      continue;
    scores[n] = t->score;
    labels[n++] = ((TestClass *) g_ptr_array_index (classes, t->class_index))->defective;
    n_pix += t->pix_len;
    n_flagged += t->score > threshold;
  }
  m.n = n;
  m.image_auroc = funad_auroc (scores, labels, n);
  m.f1_max = funad_f1_max (scores, labels, n, &m.f1_max_threshold);
  funad_detection_at (scores, labels, n, threshold, &m.precision, &m.recall, &m.f1);
  m.flagged = n > 0 ? (double) n_flagged / n : NAN;
  g_free (scores);
  g_free (labels);

  m.pixel_auroc = m.aupro = NAN;
  if (!with_pixels || n_pix == 0)
    return m;

  /* A subset's pixels are copied together; all of them are used in place. */
  const float *ps = pixel_scores;
  const guint32 *pr = pixel_regions;
  float *sub_scores = NULL;
  guint32 *sub_regions = NULL;
  if (keep) {
    gsize at = 0;
    sub_scores = g_new (float, n_pix);
    sub_regions = g_new (guint32, n_pix);
    for (guint i = 0; i < images->len; i++) {
      TestImage *t = g_ptr_array_index (images, i);
      if (!t->scored || !keep[t->class_index] || t->pix_len == 0)
        continue;
      memcpy (sub_scores + at, pixel_scores + t->pix_start, t->pix_len * sizeof (float));
      memcpy (sub_regions + at, pixel_regions + t->pix_start, t->pix_len * sizeof (guint32));
      at += t->pix_len;
    }
    ps = sub_scores;
    pr = sub_regions;
  }
  guint8 *pixel_labels = g_new (guint8, n_pix);
  for (gsize i = 0; i < n_pix; i++)
    pixel_labels[i] = pr[i] != 0;
  m.pixel_auroc = funad_auroc (ps, pixel_labels, n_pix);
  g_free (pixel_labels);
  m.aupro = funad_aupro (ps, pr, n_pix, AUPRO_MAX_FPR);
  g_free (sub_scores);
  g_free (sub_regions);
  return m;
}

/* ---- output --------------------------------------------------------------------------------- */

static void
add_number_or_null (JsonBuilder *builder, const char *key, double value)
{
  json_builder_set_member_name (builder, key);
  if (isfinite (value))
    json_builder_add_double_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

static void
add_int (JsonBuilder *builder, const char *key, gint64 value)
{
  json_builder_set_member_name (builder, key);
  json_builder_add_int_value (builder, value);
}

static char *
to_json (JsonBuilder *builder, gboolean pretty)
{
  JsonNode *root = json_builder_get_root (builder);
  JsonGenerator *generator = json_generator_new ();
  char *text;

  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, pretty);
  text = json_generator_to_data (generator, NULL);
  g_object_unref (generator);
  json_node_unref (root);
  return text;
}

static char *
score_line (const char *path, int label, float score)
{
  JsonBuilder *builder = json_builder_new ();
  char *text;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "path");
  json_builder_add_string_value (builder, path);
  add_int (builder, "label", label);
  json_builder_set_member_name (builder, "score");
  json_builder_add_double_value (builder, score);
  json_builder_end_object (builder);
  text = to_json (builder, FALSE);
  g_object_unref (builder);
  return text;
}

static const char *
fmt (double value, char *buffer, gsize size)
{
  if (isfinite (value))
    g_snprintf (buffer, size, "%.4f", value);
  else
    g_strlcpy (buffer, "n/a", size);
  return buffer;
}

/* Absolute path with symbolic links resolved as far as the path exists (an output folder may
 * not exist yet), for comparing outputs with inputs. */
static char *
resolved_path (const char *path)
{
  char *absolute = g_canonicalize_filename (path, NULL);
  char *real = realpath (absolute, NULL);
  char *result;

  if (real) {
    result = g_strdup (real);
    free (real);
  } else {
    char *dir = g_path_get_dirname (absolute);
    if (strcmp (dir, absolute) == 0) {
      result = g_strdup (absolute);
    } else {
      char *parent = resolved_path (dir), *base = g_path_get_basename (absolute);
      result = g_build_filename (parent, base, NULL);
      g_free (parent);
      g_free (base);
    }
    g_free (dir);
  }
  g_free (absolute);
  return result;
}

/* Whether path is folder or lies inside it. */
static gboolean
path_within (const char *path, const char *folder)
{
  char *p = resolved_path (path), *f = resolved_path (folder);
  gsize n = strlen (f);
  gboolean within = strncmp (p, f, n) == 0 && (p[n] == '\0' || p[n] == G_DIR_SEPARATOR
                                               || (n > 0 && f[n - 1] == G_DIR_SEPARATOR));
  g_free (f);
  g_free (p);
  return within;
}

/* Fails early, before minutes of scoring, when an output could not be written, or would be
 * written over the inputs: heat maps into the test folders would replace the images, scores
 * over the model would destroy it. inputs: the model, then the folders read (NULL ends). */
static gboolean
check_outputs (const char *scores_path, const char *heatmaps, const char *const *inputs,
               GError **error)
{
  for (int i = 0; inputs[i]; i++) {
    const char *out = heatmaps && path_within (heatmaps, inputs[i]) ? heatmaps
                      : scores_path && path_within (scores_path, inputs[i]) ? scores_path : NULL;
    if (out) {
      g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "%s: would be written over or inside "
                   "the input %s; write it elsewhere", out, inputs[i]);
      return FALSE;
    }
  }
  if (heatmaps) {
    if (g_mkdir_with_parents (heatmaps, 0777) != 0) {
      g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: cannot create folder: %s",
                   heatmaps, g_strerror (errno));
      return FALSE;
    }
    if (access (heatmaps, W_OK) != 0) {
      g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: cannot write into it: %s",
                   heatmaps, g_strerror (errno));
      return FALSE;
    }
  }
  if (scores_path) {
    char *dir = g_path_get_dirname (scores_path);
    gboolean ok = access (dir, W_OK) == 0;
    if (!ok)
      g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: cannot write into %s: %s",
                   scores_path, dir, g_strerror (errno));
    g_free (dir);
    return ok;
  }
  return TRUE;
}

static void
json_metrics (JsonBuilder *b, const Metrics *m, gboolean defective_only)
{
  add_number_or_null (b, "image_auroc", m->image_auroc);
  add_number_or_null (b, "pixel_auroc", m->pixel_auroc);
  add_number_or_null (b, "aupro", m->aupro);
  if (defective_only)
    return;
  add_number_or_null (b, "f1_max", m->f1_max);
  add_number_or_null (b, "f1_max_threshold", m->f1_max_threshold);
}

int
main (int argc, char **argv)
{
  char *model_path = NULL, *dataset = NULL, *scores_path = NULL, *heatmaps = NULL;
  char *normal = NULL, *anomalous = NULL, *masks = NULL;
  gboolean as_json = FALSE, quiet = FALSE;
  GError *error = NULL;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "Model file (from funad-train; "
      "required)", "MODEL" },
    { "dataset", 'd', 0, G_OPTION_ARG_FILENAME, &dataset, "Dataset folder in the MVTec AD "
      "layout", "DIR" },
    { "normal", 0, 0, G_OPTION_ARG_FILENAME, &normal, "Folder of normal test images (instead "
      "of --dataset)", "DIR" },
    { "anomalous", 0, 0, G_OPTION_ARG_FILENAME, &anomalous, "Folder of defective test images; "
      "a sub-folder names a defect type", "DIR" },
    { "masks", 0, 0, G_OPTION_ARG_FILENAME, &masks, "Masks of the --anomalous images: "
      "<stem>_mask.png or <stem>.png, same sub-folders (default: none, no pixel metrics)",
      "DIR" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print the results as one JSON object "
      "(default: text)", NULL },
    { "scores", 0, 0, G_OPTION_ARG_FILENAME, &scores_path, "Also write one JSON line per test "
      "image: path, label, score (default: none)", "FILE" },
    { "heatmaps", 0, 0, G_OPTION_ARG_FILENAME, &heatmaps, "Write each test image with its "
      "anomaly map overlaid as OUT/<defect type>/<stem>.png (default: none)", "OUT" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress on stderr", NULL },
    { NULL }
  };
  GOptionContext *context = g_option_context_new ("- measure a funad model on labelled "
                                                  "images");

  /* Messages (GLib's and ours) in the user's character set. */
  setlocale (LC_ALL, "");
  g_set_prgname ("funad-eval");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, gst_init_get_option_group ());
  g_option_context_set_description (context,
      "MVTec AD layout: DIR/test/good holds normal images, every other DIR/test/<defect>\n"
      "defective ones; DIR/ground_truth/<defect>/<stem>_mask.png (optional) marks defective\n"
      "pixels (non-zero). Metrics: image AUROC, F1-max, precision/recall/F1 at the model's own\n"
      "label-free threshold (flag score > threshold); where masks exist, pixel AUROC and AUPRO\n"
      "(per-region overlap integrated to a false positive rate of 0.3, divided by 0.3); each\n"
      "also per defect type (that type against all normal images).");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return cli_fail_error (error);
  g_option_context_free (context);
  if (cli_fail_bad_values (entries))
    return EXIT_FAILURE;

  if (!model_path)
    return cli_fail ("no model given: use --model MODEL");
  if (argc > 1)
    return cli_fail ("unexpected argument (use --dataset, or --normal and --anomalous; see --help)");
  if (dataset && (normal || anomalous || masks))
    return cli_fail ("use either --dataset or --normal/--anomalous, not both");
  if (!dataset && normal && !anomalous)
    return cli_fail ("--normal needs --anomalous DIR too (AUROC needs both kinds of image)");
  if (!dataset && anomalous && !normal)
    return cli_fail ("--anomalous needs --normal DIR too (AUROC needs both kinds of image)");
  if (!dataset && (!normal || !anomalous))
    return cli_fail ("no test images given: use --dataset DIR, or --normal DIR --anomalous DIR");
  const char *folders[] = { dataset, normal, anomalous, masks };
  for (int i = 0; i < 4; i++) {
    if (folders[i] && !g_file_test (folders[i], G_FILE_TEST_IS_DIR)) {
      char *message = g_strdup_printf ("%s: folder not found", folders[i]);
      int rc = cli_fail (message);
      g_free (message);
      return rc;
    }
  }
  /* The test folders: of an MVTec layout, test/ and ground_truth/ (the dataset's root may
   * hold the outputs). */
  char *test_dir = dataset ? g_build_filename (dataset, "test", NULL) : NULL;
  char *truth_dir = dataset ? g_build_filename (dataset, "ground_truth", NULL) : NULL;
  /* not read, but its images share the test images' names */
  char *train_dir = dataset ? g_build_filename (dataset, "train", NULL) : NULL;
  const char *inputs[8] = { model_path };
  int n_inputs = 1;
  const char *read[] = { test_dir, truth_dir, train_dir, normal, anomalous, masks };
  for (int i = 0; i < 6; i++)
    if (read[i])
      inputs[n_inputs++] = read[i];
  gboolean outputs_ok = check_outputs (scores_path, heatmaps, inputs, &error);
  g_free (test_dir);
  g_free (truth_dir);
  g_free (train_dir);
  if (outputs_ok && dataset && heatmaps) {
    char *a = resolved_path (dataset), *b = resolved_path (heatmaps);
    if (strcmp (a, b) == 0) {
      g_set_error (&error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "%s: is the dataset's own folder "
                   "(the heat maps' type folders would sit beside test/); write them elsewhere",
                   heatmaps);
      outputs_ok = FALSE;
    }
    g_free (a);
    g_free (b);
  }
  if (!outputs_ok)
    return cli_fail_error (error);

  FunadModel *model = funad_model_load (model_path, &error);
  if (!model)
    return cli_fail_error (error);

  frame_source_init (NULL, NULL);

  GPtrArray *classes = g_ptr_array_new_with_free_func (test_class_free);
  GPtrArray *images = g_ptr_array_new_with_free_func (test_image_free);
  gboolean listed = dataset ? list_mvtec (dataset, classes, images, &error)
                            : list_plain (normal, anomalous, masks, classes, images, &error);
  if (!listed) {
    g_ptr_array_unref (images);
    g_ptr_array_unref (classes);
    funad_model_unref (model);
    return cli_fail_error (error);
  }
  if (images->len == 0) {
    /* where the test images were looked for: with --normal/--anomalous, both folders */
    char *message = dataset ? g_strdup_printf ("%s: no test images", dataset)
                            : g_strdup_printf ("%s and %s: no test images", normal, anomalous);
    int rc = cli_fail (message);
    g_free (message);
    g_ptr_array_unref (images);
    g_ptr_array_unref (classes);
    funad_model_unref (model);
    return rc;
  }

  FILE *scores_file = NULL;
  if (scores_path && !(scores_file = g_fopen (scores_path, "w"))) {
    char *message = g_strdup_printf ("%s: cannot write: %s", scores_path, g_strerror (errno));
    int rc = cli_fail (message);
    g_free (message);
    g_ptr_array_unref (images);
    g_ptr_array_unref (classes);
    funad_model_unref (model);
    return rc;
  }

  EvalRun run = { 0 };
  run.scorer = funad_scorer_new (model);
  /* funaddetect's default threads: the same score for a frame, to the bit */
  funad_scorer_set_threads (run.scorer, funad_scorer_auto_threads ());
  run.heatmaps = heatmaps;
  run.pixel_scores = g_array_new (FALSE, FALSE, sizeof (float));
  run.pixel_regions = g_array_new (FALSE, FALSE, sizeof (guint32));
  run.next_region = 1;

  Progress *progress = progress_new ("funad-eval", !quiet);
  guint n_normal = 0, n_anomalous = 0, n_skipped = 0, n_with_mask = 0;
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; i < images->len && !run.heatmap_error; i++) {
    TestImage *t = g_ptr_array_index (images, i);
    gboolean defective = ((TestClass *) g_ptr_array_index (classes, t->class_index))->defective;
    Mask mask = { 0 };
    GError *image_error = NULL;

    if (t->mask_path && g_file_test (t->mask_path, G_FILE_TEST_EXISTS) &&
        !frame_source_decode_file (t->mask_path, FRAME_FORMAT_GRAY8, on_mask_frame, &mask,
                                   NULL, &image_error)) {
      progress_break_line (progress);
      g_printerr ("funad-eval: warning: %s (image left out of pixel metrics)\n",
                  image_error->message);
      g_clear_error (&image_error);
      g_clear_pointer (&mask.pixels, g_free);
    }

    run.image = t;
    run.zero_mask = !defective;
    run.mask = mask.pixels;
    run.mask_w = mask.width;
    run.mask_h = mask.height;
    if (frame_source_decode_file (t->path, FRAME_FORMAT_RGB, on_image_frame, &run, NULL,
                                  &image_error) && t->scored) {
      if (defective)
        n_anomalous++;
      else
        n_normal++;
      n_with_mask += mask.pixels != NULL;
      if (scores_file) {
        char *line = score_line (t->path, defective, t->score);
        fprintf (scores_file, "%s\n", line);
        g_free (line);
      }
    } else {
      t->scored = FALSE;
      progress_break_line (progress);
      g_printerr ("funad-eval: warning: skipped %s\n",
                  image_error ? image_error->message : t->path);
      g_clear_error (&image_error);
      n_skipped++;
    }
    g_free (mask.pixels);
    progress_update (progress, "scoring", i + 1, images->len, "images");
  }
  progress_free (progress);
  int rc = EXIT_SUCCESS;
  Metrics *per_class = NULL;
  /* AUROC, F1 and the rest compare normal with defective images: without both, every figure
   * would be meaningless. */
  if (!run.heatmap_error && (n_normal == 0 || n_anomalous == 0)) {
    char *message = g_strdup_printf ("no %s test image could be scored (%u normal, %u "
                                     "defective): the metrics need both",
                                     n_normal == 0 ? "normal" : "defective", n_normal,
                                     n_anomalous);
    rc = cli_fail (message);
    g_free (message);
    if (scores_file)
      fclose (scores_file);
    goto out;
  }

  gboolean write_failed = scores_file && fclose (scores_file) != 0;
  double seconds = (g_get_monotonic_time () - start) / 1e6;
  double threshold = funad_model_threshold (model);
  const float *pixel_scores = (const float *) run.pixel_scores->data;
  const guint32 *pixel_regions = (const guint32 *) run.pixel_regions->data;
  Metrics all = measure (images, NULL, pixel_scores, pixel_regions, classes, threshold,
                         n_with_mask > 0);
  /* the normal images flagged: the false positive rate at the threshold */
  guint n_normal_scored = 0, n_normal_flagged = 0;
  for (guint i = 0; i < images->len; i++) {
    TestImage *t = g_ptr_array_index (images, i);
    if (t->scored && !((TestClass *) g_ptr_array_index (classes, t->class_index))->defective) {
      n_normal_scored++;
      n_normal_flagged += t->score > threshold;
    }
  }
  double normal_flagged = n_normal_scored ? (double) n_normal_flagged / n_normal_scored : NAN;

  /* Per defect type: that type against all normal images. */
  per_class = g_new0 (Metrics, classes->len);
  gboolean *keep = g_new0 (gboolean, classes->len);
  for (guint c = 0; c < classes->len; c++) {
    for (guint k = 0; k < classes->len; k++)
      keep[k] = k == c || !((TestClass *) g_ptr_array_index (classes, k))->defective;
    per_class[c] = measure (images, keep, pixel_scores, pixel_regions, classes, threshold,
                            n_with_mask > 0);
  }
  g_free (keep);

  if (as_json) {
    JsonBuilder *b = json_builder_new ();

    json_builder_begin_object (b);
    json_builder_set_member_name (b, "model");
    json_builder_add_string_value (b, model_path);
    const char *folder_names[] = { "dataset", "normal", "anomalous", "masks" };
    const char *folder_values[] = { dataset, normal, anomalous, masks };
    for (guint f = 0; f < G_N_ELEMENTS (folder_names); f++) {
      if (!folder_values[f])
        continue;
      json_builder_set_member_name (b, folder_names[f]);
      json_builder_add_string_value (b, folder_values[f]);
    }
    json_metrics (b, &all, FALSE);
    add_number_or_null (b, "aupro_max_fpr", AUPRO_MAX_FPR);
    add_number_or_null (b, "threshold", threshold);
    json_builder_set_member_name (b, "at_threshold");
    json_builder_begin_object (b);
    add_number_or_null (b, "precision", all.precision);
    add_number_or_null (b, "recall", all.recall);
    add_number_or_null (b, "f1", all.f1);
    add_number_or_null (b, "flagged_fraction", all.flagged);
    json_builder_end_object (b);
    add_int (b, "n_normal", n_normal);
    add_int (b, "n_anomalous", n_anomalous);
    add_int (b, "n_masks", n_with_mask);
    add_int (b, "n_regions", run.next_region - 1);
    add_int (b, "n_pixels", run.pixel_scores->len);
    add_int (b, "n_skipped", n_skipped);
    json_builder_set_member_name (b, "seconds");
    json_builder_add_double_value (b, seconds);
    json_builder_set_member_name (b, "classes");
    json_builder_begin_object (b);
    for (guint c = 0; c < classes->len; c++) {
      TestClass *test_class = g_ptr_array_index (classes, c);
      guint count = 0;

      for (guint i = 0; i < images->len; i++) {
        TestImage *t = g_ptr_array_index (images, i);
        count += t->scored && t->class_index == c;
      }
      json_builder_set_member_name (b, test_class->name);
      json_builder_begin_object (b);
      add_int (b, "n", count);
      if (test_class->defective) {
        json_metrics (b, &per_class[c], TRUE);
        add_number_or_null (b, "recall_at_threshold", per_class[c].recall);
      } else {
        add_number_or_null (b, "flagged_at_threshold", normal_flagged);
      }
      json_builder_end_object (b);
    }
    json_builder_end_object (b);
    json_builder_end_object (b);

    char *text = to_json (b, TRUE);
    g_print ("%s\n", text);
    g_free (text);
    g_object_unref (b);
  } else {
    char x[32], y[32], z[32];

    g_print ("model:        %s\n", model_path);
    if (dataset)
      g_print ("test images:  %s (%u normal, %u defective, %u with masks, %u skipped)\n",
               dataset, n_normal, n_anomalous, n_with_mask, n_skipped);
    else
      g_print ("test images:  %u normal in %s, %u defective in %s (%u with masks, %u "
               "skipped)\n", n_normal, normal, n_anomalous, anomalous, n_with_mask, n_skipped);
    g_print ("image AUROC:  %s   F1-max %s (at score >= %g)\n", fmt (all.image_auroc, x, 32),
             fmt (all.f1_max, y, 32), all.f1_max_threshold);
    g_print ("pixel AUROC:  %s   AUPRO (FPR <= %.1f) %s   (%u pixels)\n",
             fmt (all.pixel_auroc, x, 32), AUPRO_MAX_FPR, fmt (all.aupro, y, 32),
             run.pixel_scores->len);
    g_print ("at the model's threshold %g: precision %s, recall %s, F1 %s, normal images "
             "flagged %s\n", threshold, fmt (all.precision, x, 32), fmt (all.recall, y, 32),
             fmt (all.f1, z, 32), fmt (normal_flagged, (char[32]) { 0 }, 32));
    for (guint c = 0; c < classes->len; c++) {
      TestClass *test_class = g_ptr_array_index (classes, c);
      Metrics *m = &per_class[c];

      if (test_class->defective)
        g_print ("  %-16s image AUROC %s, pixel AUROC %s, AUPRO %s, recall %s (%u %s with "
                 "the normal ones)\n", test_class->name, fmt (m->image_auroc, x, 32),
                 fmt (m->pixel_auroc, y, 32), fmt (m->aupro, z, 32),
                 fmt (m->recall, (char[32]) { 0 }, 32), m->n, m->n == 1 ? "image" : "images");
    }
  }

  if (run.heatmap_error) {
    rc = cli_fail (run.heatmap_error->message);
    g_clear_error (&run.heatmap_error);
  } else if (write_failed) {
    char *message = g_strdup_printf ("%s: write failed", scores_path);
    rc = cli_fail (message);
    g_free (message);
  }

out:
  g_free (per_class);
  g_array_unref (run.pixel_scores);
  g_array_unref (run.pixel_regions);
  funad_scorer_free (run.scorer);
  funad_model_unref (model);
  g_ptr_array_unref (images);
  g_ptr_array_unref (classes);
  g_free (model_path);
  g_free (dataset);
  g_free (normal);
  g_free (anomalous);
  g_free (masks);
  g_free (scores_path);
  g_free (heatmaps);
  return rc;
}
