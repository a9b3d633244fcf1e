/* funad-eval.c — measures a funad model on a labelled dataset in the MVTec AD layout.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   funad-eval --model MODEL --dataset DIR [--json] [--scores FILE]
 *
 * DIR/test/good holds normal images, every other DIR/test/<defect> defective ones, and
 * DIR/ground_truth/<defect>/<stem>_mask.png (optional) their defect masks, non-zero where
 * defective. Image AUROC ranks frame scores; pixel AUROC ranks anomaly-map values, each map
 * resized to its mask (good images count as all-zero masks at their own size; defective images
 * without a mask are left out of it).
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

#include "frame-source.h"
#include "funad.h"

typedef struct {
  char *name;            /* folder name under test/ */
  gboolean defective;    /* every class but "good" */
  GPtrArray *paths;
} TestClass;

typedef struct {
  FunadScorer *scorer;
  /* per image */
  float score;
  gboolean scored;
  const guint8 *mask;    /* mask pixels for this image, or NULL */
  int mask_w, mask_h;
  gboolean zero_mask;    /* a good image: an all-zero mask at the image's own size */
  /* all images */
  GArray *pixel_scores;  /* float */
  GArray *pixel_labels;  /* guint8 */
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

/* Appends the map, resized to the mask, and the mask's labels to the pixel arrays. */
static void
append_pixels (EvalRun *run, const float *map, int map_size, int w, int h, const guint8 *mask)
{
  gsize n = (gsize) w * h, old = run->pixel_scores->len;

  g_array_set_size (run->pixel_scores, old + n);
  g_array_set_size (run->pixel_labels, old + n);
  funad_map_resize (map, map_size, map_size, &g_array_index (run->pixel_scores, float, old), w, h);

  guint8 *labels = &g_array_index (run->pixel_labels, guint8, old);
  for (gsize i = 0; i < n; i++)
    labels[i] = mask ? mask[i] != 0 : 0;
}

static gboolean
on_image_frame (const FunadImage *image, const FrameInfo *info, gpointer user_data,
                GError **error)
{
  EvalRun *run = user_data;
  const float *map = NULL;

  if (run->scored)
    return TRUE;  /* an image file has one frame; ignore any more */
  if (!funad_scorer_score (run->scorer, image, &run->score, &map, error)) {
    g_prefix_error (error, "%s: ", info->path);
    return FALSE;
  }
  run->scored = TRUE;

  int map_size = funad_model_input_size (funad_scorer_get_model (run->scorer));

  if (run->zero_mask)
    append_pixels (run, map, map_size, image->width, image->height, NULL);
  else if (run->mask)
    append_pixels (run, map, map_size, run->mask_w, run->mask_h, run->mask);
  return TRUE;
}

/* ---- dataset -------------------------------------------------------------------------------- */

static void
test_class_free (gpointer data)
{
  TestClass *c = data;

  g_free (c->name);
  g_ptr_array_unref (c->paths);
  g_free (c);
}

static int
compare_classes (gconstpointer a, gconstpointer b)
{
  const TestClass *x = *(TestClass *const *) a, *y = *(TestClass *const *) b;

  return strcmp (x->name, y->name);
}

/* The classes under DIR/test, sorted by name, each with its sorted image paths. */
static GPtrArray *
list_test_classes (const char *dataset, GError **error)
{
  char *test_dir = g_build_filename (dataset, "test", NULL);
  GError *local_error = NULL;
  GDir *dir = g_dir_open (test_dir, 0, &local_error);
  const char *name;
  GPtrArray *classes = NULL;

  if (!dir) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: not an MVTec AD style dataset (no "
                 "test/ folder: %s)", dataset, local_error->message);
    g_error_free (local_error);
    g_free (test_dir);
    return NULL;
  }
  classes = g_ptr_array_new_with_free_func (test_class_free);
  while ((name = g_dir_read_name (dir))) {
    char *path = g_build_filename (test_dir, name, NULL);

    if (name[0] != '.' && g_file_test (path, G_FILE_TEST_IS_DIR)) {
      TestClass *c = g_new0 (TestClass, 1);

      c->name = g_strdup (name);
      c->defective = strcmp (name, "good") != 0;
      c->paths = frame_source_list_images (path, error);
      g_ptr_array_add (classes, c);
      if (!c->paths) {
        c->paths = g_ptr_array_new ();
        g_free (path);
        g_ptr_array_unref (classes);
        classes = NULL;
        break;
      }
    }
    g_free (path);
  }
  g_dir_close (dir);
  g_free (test_dir);
  if (classes)
    g_ptr_array_sort (classes, compare_classes);
  return classes;
}

/* DIR/ground_truth/<class>/<stem>_mask.png, where stem is the image name without extension. */
static char *
mask_path_for (const char *dataset, const char *class_name, const char *image_path)
{
  char *base = g_path_get_basename (image_path);
  char *dot = strrchr (base, '.');

  if (dot)
    *dot = '\0';
  char *mask_name = g_strconcat (base, "_mask.png", NULL);
  char *path = g_build_filename (dataset, "ground_truth", class_name, mask_name, NULL);

  g_free (mask_name);
  g_free (base);
  return path;
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
  json_builder_set_member_name (builder, "label");
  json_builder_add_int_value (builder, label);
  json_builder_set_member_name (builder, "score");
  json_builder_add_double_value (builder, score);
  json_builder_end_object (builder);
  text = to_json (builder, FALSE);
  g_object_unref (builder);
  return text;
}

static const char *
format_auroc (double value, char *buffer, gsize size)
{
  if (isfinite (value))
    g_snprintf (buffer, size, "%.4f", value);
  else
    g_strlcpy (buffer, "n/a", size);
  return buffer;
}

static int
fail (const char *message)
{
  g_printerr ("funad-eval: error: %s\n", message);
  return EXIT_FAILURE;
}

int
main (int argc, char **argv)
{
  char *model_path = NULL, *dataset = NULL, *scores_path = NULL;
  gboolean as_json = FALSE, quiet = FALSE;
  GError *error = NULL;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "Model file (from funad-train)",
      "MODEL" },
    { "dataset", 'd', 0, G_OPTION_ARG_FILENAME, &dataset, "Dataset folder in the MVTec AD layout",
      "DIR" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print the results as one JSON object", NULL },
    { "scores", 0, 0, G_OPTION_ARG_FILENAME, &scores_path, "Also write one JSON line per test "
      "image (path, label, score)", "FILE" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress on stderr", NULL },
    { NULL }
  };
  GOptionContext *context = g_option_context_new ("- measure a funad model on an MVTec AD style "
                                                  "dataset");

  /* Messages (GLib's and ours) in the user's character set. */
  setlocale (LC_ALL, "");
  g_set_prgname ("funad-eval");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, gst_init_get_option_group ());
  g_option_context_set_description (context,
      "DIR/test/good holds normal images; every other DIR/test/<defect> folder defective ones;\n"
      "DIR/ground_truth/<defect>/<stem>_mask.png (optional) marks defective pixels (non-zero).\n"
      "Prints image AUROC (frame score = maximum of the map) and, where masks exist, pixel AUROC.");
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    int rc = fail (error->message);
    g_error_free (error);
    return rc;
  }
  g_option_context_free (context);

  if (!model_path)
    return fail ("no model given: use --model MODEL");
  if (!dataset)
    return fail ("no dataset given: use --dataset DIR");
  if (argc > 1)
    return fail ("unexpected argument (use --model and --dataset; see --help)");
  if (!g_file_test (dataset, G_FILE_TEST_IS_DIR)) {
    char *message = g_strdup_printf ("%s: dataset folder not found", dataset);
    int rc = fail (message);
    g_free (message);
    return rc;
  }

  FunadModel *model = funad_model_load (model_path, &error);
  if (!model) {
    int rc = fail (error->message);
    g_error_free (error);
    return rc;
  }

  frame_source_init (NULL, NULL);

  GPtrArray *classes = list_test_classes (dataset, &error);
  if (!classes) {
    int rc = fail (error->message);
    g_error_free (error);
    funad_model_unref (model);
    return rc;
  }

  guint n_total = 0;
  for (guint c = 0; c < classes->len; c++)
    n_total += ((TestClass *) g_ptr_array_index (classes, c))->paths->len;
  if (n_total == 0) {
    char *message = g_strdup_printf ("%s: no test images under %s/test", dataset, dataset);
    int rc = fail (message);
    g_free (message);
    g_ptr_array_unref (classes);
    funad_model_unref (model);
    return rc;
  }

  FILE *scores_file = NULL;
  if (scores_path) {
    scores_file = g_fopen (scores_path, "w");
    if (!scores_file) {
      char *message = g_strdup_printf ("%s: cannot write: %s", scores_path, g_strerror (errno));
      int rc = fail (message);
      g_free (message);
      g_ptr_array_unref (classes);
      funad_model_unref (model);
      return rc;
    }
  }

  EvalRun run = { 0 };
  run.scorer = funad_scorer_new (model);
  run.pixel_scores = g_array_new (FALSE, FALSE, sizeof (float));
  run.pixel_labels = g_array_new (FALSE, FALSE, sizeof (guint8));

  GArray *image_scores = g_array_new (FALSE, FALSE, sizeof (float));
  GArray *image_labels = g_array_new (FALSE, FALSE, sizeof (guint8));
  GArray *image_class = g_array_new (FALSE, FALSE, sizeof (guint));
  guint n_normal = 0, n_anomalous = 0, n_skipped = 0, n_with_mask = 0, done = 0;
  gboolean on_tty = isatty (STDERR_FILENO);
  gint64 start = g_get_monotonic_time ();

  for (guint c = 0; c < classes->len; c++) {
    TestClass *test_class = g_ptr_array_index (classes, c);

    for (guint i = 0; i < test_class->paths->len; i++) {
      const char *path = g_ptr_array_index (test_class->paths, i);
      Mask mask = { 0 };
      GError *image_error = NULL;

      if (test_class->defective) {
        char *mask_path = mask_path_for (dataset, test_class->name, path);

        if (g_file_test (mask_path, G_FILE_TEST_EXISTS) &&
            !frame_source_decode_file (mask_path, FRAME_FORMAT_GRAY8, on_mask_frame, &mask,
                                       NULL, &image_error)) {
          g_printerr ("funad-eval: warning: %s (image left out of pixel AUROC)\n",
                      image_error->message);
          g_clear_error (&image_error);
          g_clear_pointer (&mask.pixels, g_free);
        }
        g_free (mask_path);
      }

      run.scored = FALSE;
      run.zero_mask = !test_class->defective;
      run.mask = mask.pixels;
      run.mask_w = mask.width;
      run.mask_h = mask.height;
      if (frame_source_decode_file (path, FRAME_FORMAT_RGB, on_image_frame, &run, NULL,
                                    &image_error) && run.scored) {
        guint8 label = test_class->defective ? 1 : 0;

        g_array_append_val (image_scores, run.score);
        g_array_append_val (image_labels, label);
        g_array_append_val (image_class, c);
        if (label)
          n_anomalous++;
        else
          n_normal++;
        n_with_mask += mask.pixels != NULL;
        if (scores_file) {
          char *line = score_line (path, label, run.score);
          fprintf (scores_file, "%s\n", line);
          g_free (line);
        }
      } else {
        g_printerr ("%sfunad-eval: warning: skipped %s\n", on_tty && !quiet ? "\n" : "",
                    image_error ? image_error->message : path);
        g_clear_error (&image_error);
        n_skipped++;
      }
      g_free (mask.pixels);

      done++;
      if (!quiet && (on_tty || done * 10 / n_total != (done - 1) * 10 / n_total))
        g_printerr (on_tty ? "\r\033[Kfunad-eval: scored %u/%u" : "funad-eval: scored %u/%u\n",
                    done, n_total);
    }
  }
  if (!quiet && on_tty)
    g_printerr ("\n");

  gboolean write_failed = scores_file && fclose (scores_file) != 0;
  double seconds = (g_get_monotonic_time () - start) / 1e6;
  double image_auroc = funad_auroc ((const float *) image_scores->data,
                                    (const guint8 *) image_labels->data, image_scores->len);
  double pixel_auroc = n_with_mask > 0
                           ? funad_auroc ((const float *) run.pixel_scores->data,
                                          (const guint8 *) run.pixel_labels->data,
                                          run.pixel_scores->len)
                           : NAN;

  /* Per defect class: that class against all good images. */
  GArray *class_auroc = g_array_sized_new (FALSE, TRUE, sizeof (double), classes->len);
  GArray *class_count = g_array_sized_new (FALSE, TRUE, sizeof (guint), classes->len);
  {
    float *scores = g_new (float, image_scores->len);
    guint8 *labels = g_new (guint8, image_scores->len);

    for (guint c = 0; c < classes->len; c++) {
      gsize n = 0;
      guint count = 0;

      for (guint i = 0; i < image_scores->len; i++) {
        guint image_c = g_array_index (image_class, guint, i);
        guint8 label = g_array_index (image_labels, guint8, i);

        if (image_c == c || !label) {
          scores[n] = g_array_index (image_scores, float, i);
          labels[n++] = label;
          count += image_c == c;
        }
      }
      double auroc = ((TestClass *) g_ptr_array_index (classes, c))->defective
                         ? funad_auroc (scores, labels, n) : NAN;
      g_array_append_val (class_auroc, auroc);
      g_array_append_val (class_count, count);
    }
    g_free (scores);
    g_free (labels);
  }

  if (as_json) {
    JsonBuilder *builder = json_builder_new ();

    json_builder_begin_object (builder);
    json_builder_set_member_name (builder, "model");
    json_builder_add_string_value (builder, model_path);
    json_builder_set_member_name (builder, "dataset");
    json_builder_add_string_value (builder, dataset);
    add_number_or_null (builder, "image_auroc", image_auroc);
    add_number_or_null (builder, "pixel_auroc", pixel_auroc);
    json_builder_set_member_name (builder, "n_normal");
    json_builder_add_int_value (builder, n_normal);
    json_builder_set_member_name (builder, "n_anomalous");
    json_builder_add_int_value (builder, n_anomalous);
    json_builder_set_member_name (builder, "n_masks");
    json_builder_add_int_value (builder, n_with_mask);
    json_builder_set_member_name (builder, "n_pixels");
    json_builder_add_int_value (builder, run.pixel_scores->len);
    json_builder_set_member_name (builder, "n_skipped");
    json_builder_add_int_value (builder, n_skipped);
    add_number_or_null (builder, "threshold", funad_model_threshold (model));
    json_builder_set_member_name (builder, "seconds");
    json_builder_add_double_value (builder, seconds);
    json_builder_set_member_name (builder, "classes");
    json_builder_begin_object (builder);
    for (guint c = 0; c < classes->len; c++) {
      TestClass *test_class = g_ptr_array_index (classes, c);

      json_builder_set_member_name (builder, test_class->name);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "n");
      json_builder_add_int_value (builder, g_array_index (class_count, guint, c));
      if (test_class->defective)
        add_number_or_null (builder, "image_auroc", g_array_index (class_auroc, double, c));
      json_builder_end_object (builder);
    }
    json_builder_end_object (builder);
    json_builder_end_object (builder);

    char *text = to_json (builder, TRUE);
    g_print ("%s\n", text);
    g_free (text);
    g_object_unref (builder);
  } else {
    char a[32], b[32];

    g_print ("model:       %s\n", model_path);
    g_print ("dataset:     %s (%u normal, %u defective, %u with masks, %u skipped)\n", dataset,
             n_normal, n_anomalous, n_with_mask, n_skipped);
    g_print ("image AUROC: %s\n", format_auroc (image_auroc, a, sizeof a));
    g_print ("pixel AUROC: %s (%u pixels)\n", format_auroc (pixel_auroc, b, sizeof b),
             run.pixel_scores->len);
    for (guint c = 0; c < classes->len; c++) {
      TestClass *test_class = g_ptr_array_index (classes, c);

      if (test_class->defective)
        g_print ("  %-18s image AUROC %s (%u images)\n", test_class->name,
                 format_auroc (g_array_index (class_auroc, double, c), a, sizeof a),
                 g_array_index (class_count, guint, c));
    }
  }

  int rc = EXIT_SUCCESS;
  if (write_failed) {
    char *message = g_strdup_printf ("%s: write failed", scores_path);
    rc = fail (message);
    g_free (message);
  } else if (n_normal + n_anomalous == 0) {
    rc = fail ("no test image could be decoded and scored");
  }

  g_array_unref (class_auroc);
  g_array_unref (class_count);
  g_array_unref (image_scores);
  g_array_unref (image_labels);
  g_array_unref (image_class);
  g_array_unref (run.pixel_scores);
  g_array_unref (run.pixel_labels);
  funad_scorer_free (run.scorer);
  funad_model_unref (model);
  g_ptr_array_unref (classes);
  g_free (model_path);
  g_free (dataset);
  g_free (scores_path);
  return rc;
}
