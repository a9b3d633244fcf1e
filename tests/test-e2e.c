/* test-e2e.c — end-to-end: generated footage, funad-train, a real funaddetect pipeline,
 * funad-eval, and the tools' error paths.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The tools are found through $FUNAD_MAKE_DEMO, $FUNAD_TRAIN and $FUNAD_EVAL, the element
 * through GST_PLUGIN_PATH, the example scripts through $FUNAD_PIPELINES (tests/meson.build sets
 * them all). One footage set and one model are
 * made on first use and shared by the tests; FUNAD_E2E_KEEP=1 keeps the temporary folder.
 */
#include <errno.h>
#include <stdlib.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sys/stat.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include "funad.h"
#include "run-pipeline.h"

/* Small, fast training settings: the whole suite should run in about a minute on 2 cores. */
#define TRAIN_SIZE "128"
#define DEMO_FPS 15

static char *work_dir;     /* temporary folder of this run */
static char *demo_dir;     /* train.avi, test.avi, test-labels.csv */
static char *layout_dir;   /* the same test frames as PNG in the MVTec AD layout */
static char *model_path;   /* trained on demo_dir/train.avi */

/* ---- helpers -------------------------------------------------------------------------------- */

static const char *
tool (const char *env_name)
{
  const char *path = g_getenv (env_name);

  if (!path)
    g_error ("%s is not set (run the test through meson test)", env_name);
  return path;
}

/* Runs argv to completion; returns the exit status (-1 when killed by a signal). */
static int
run_tool (const char *const *argv, char **out, char **err)
{
  GError *error = NULL;
  int wait_status = 0;
  char *command = g_strjoinv (" ", (char **) argv);

  g_test_message ("running: %s", command);
  g_free (command);
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err,
                     &wait_status, &error))
    g_error ("could not run %s: %s", argv[0], error->message);
  if (WIFEXITED (wait_status))
    return WEXITSTATUS (wait_status);
  return -1;
}

static void
run_tool_ok (const char *const *argv)
{
  char *out = NULL, *err = NULL;
  int status = run_tool (argv, &out, &err);

  if (status != 0)
    g_error ("%s failed (status %d):\n%s%s", argv[0], status, out, err);
  g_free (out);
  g_free (err);
}

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK)) {
    GDir *dir = g_dir_open (path, 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name (dir))) {
      char *child = g_build_filename (path, name, NULL);
      remove_tree (child);
      g_free (child);
    }
    if (dir)
      g_dir_close (dir);
    g_rmdir (path);
  } else {
    g_unlink (path);
  }
}

static guint
count_files (const char *dir)
{
  GDir *handle = g_dir_open (dir, 0, NULL);
  guint n = 0;

  while (handle && g_dir_read_name (handle))
    n++;
  if (handle)
    g_dir_close (handle);
  return n;
}

/* Parses a tool's JSON output into an object the caller unrefs with the parser. */
static JsonObject *
parse_object (JsonParser *parser, const char *text)
{
  GError *error = NULL;

  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_node_get_object (json_parser_get_root (parser));
}

/* Runs funad-train with --json and returns its summary (parser owns it). */
static JsonObject *
train_json (const char *const *argv, JsonParser *parser)
{
  char *out = NULL, *err = NULL;
  int status = run_tool (argv, &out, &err);

  if (status != 0)
    g_error ("funad-train failed (status %d):\n%s%s", status, out, err);
  g_test_message ("summary: %s", out);
  JsonObject *o = parse_object (parser, out);
  g_free (out);
  g_free (err);
  return o;
}

/* First file (byte order) under dir with this suffix. */
static char *
first_file (const char *dir, const char *suffix)
{
  GDir *handle = g_dir_open (dir, 0, NULL);
  const char *name;
  char *best = NULL;

  g_assert_nonnull (handle);
  while ((name = g_dir_read_name (handle)))
    if (g_str_has_suffix (name, suffix) && (!best || strcmp (name, best) < 0)) {
      g_free (best);
      best = g_strdup (name);
    }
  g_dir_close (handle);
  g_assert_nonnull (best);
  char *path = g_build_filename (dir, best, NULL);
  g_free (best);
  return path;
}

static void
copy_file (const char *from, const char *to)
{
  char *data = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (from, &data, &len, NULL));
  g_assert_true (g_file_set_contents (to, data, len, NULL));
  g_free (data);
}

/* Width and height from a PNG's IHDR chunk. */
static void
png_size (const char *path, int *width, int *height)
{
  char *data = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_assert_cmpuint (len, >, 24);
  g_assert_cmpint (memcmp (data, "\x89PNG\r\n\x1a\n", 8), ==, 0);
  g_assert_cmpint (memcmp (data + 12, "IHDR", 4), ==, 0);
  const guint8 *u = (const guint8 *) data;
  *width = (u[16] << 24) | (u[17] << 16) | (u[18] << 8) | u[19];
  *height = (u[20] << 24) | (u[21] << 16) | (u[22] << 8) | u[23];
  g_free (data);
}

/* The footage and the model, made once. */
static void
ensure_demo_and_model (void)
{
  if (model_path)
    return;

  char *demo = g_build_filename (work_dir, "demo", NULL);
  char *layout = g_build_filename (work_dir, "layout", NULL);
  char *model = g_build_filename (work_dir, "model.safetensors", NULL);
  char *train_avi = g_build_filename (demo, "train.avi", NULL);
  const char *make_argv[] = { tool ("FUNAD_MAKE_DEMO"), "-q", "-o", demo, "--png-layout",
                              layout, "--seed", "1", NULL };
  /* A bank smaller than the training patches (40,960 at this size), so that the coreset runs
   * as it does at the default size. */
  const char *train_argv[] = { tool ("FUNAD_TRAIN"), "-q", "-o", model, "--size", TRAIN_SIZE,
                               "--seed", "1", "--threads", "2", "--bank-size", "8000",
                               train_avi, NULL };
  gint64 start = g_get_monotonic_time ();

  run_tool_ok (make_argv);
  g_test_message ("funad-make-demo: %.1f s", (g_get_monotonic_time () - start) / 1e6);
  start = g_get_monotonic_time ();
  run_tool_ok (train_argv);
  g_test_message ("funad-train: %.1f s", (g_get_monotonic_time () - start) / 1e6);
  g_assert_true (g_file_test (model, G_FILE_TEST_IS_REGULAR));

  demo_dir = demo;
  layout_dir = layout;
  model_path = model;
  g_free (train_avi);
}

/* test-labels.csv as an array of 0/1, indexed by frame. */
static GArray *
read_labels (void)
{
  char *path = g_build_filename (demo_dir, "test-labels.csv", NULL);
  char *text = NULL;
  GArray *labels = g_array_new (FALSE, TRUE, sizeof (guint8));

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  char **lines = g_strsplit (text, "\n", -1);

  g_assert_cmpstr (lines[0], ==, "frame,label");
  for (int i = 1; lines[i] && lines[i][0]; i++) {
    guint frame;
    guint label;

    g_assert_cmpint (sscanf (lines[i], "%u,%u", &frame, &label), ==, 2);
    g_assert_cmpuint (frame, ==, labels->len);  /* one line per frame, in order */
    g_assert_true (label == 0 || label == 1);
    guint8 value = label;
    g_array_append_val (labels, value);
  }
  g_strfreev (lines);
  g_free (text);
  g_free (path);
  return labels;
}

static void assert_fails_cleanly (const char *const *argv, const char *prog,
                                  const char *mentions, const char *must_not_exist);

/* ---- the pipeline --------------------------------------------------------------------------- */

typedef struct {
  double score;
  double threshold;
  gboolean anomaly;
  gboolean seen;
} FrameResult;

/* Runs filesrc ! decodebin ! videoconvert ! funaddetect ! fakesink over a file and returns
 * the per-frame results from the bus, indexed by frame. */
static GArray *
score_with_pipeline (const char *video, const char *results_path)
{
  char *description = g_strdup_printf (
      "filesrc location=\"%s\" ! decodebin ! videoconvert ! funaddetect model=\"%s\" "
      "results-location=\"%s\" ! fakesink", video, model_path, results_path);
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (description, &error);

  g_test_message ("pipeline: %s", description);
  g_free (description);
  g_assert_no_error (error);

  GArray *results = g_array_new (FALSE, TRUE, sizeof (FrameResult));
  GstBus *bus = gst_element_get_bus (pipeline);
  gboolean done = FALSE;

  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
                   GST_STATE_CHANGE_FAILURE);
  while (!done) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, 120 * GST_SECOND, GST_MESSAGE_ELEMENT |
                                                  GST_MESSAGE_ERROR | GST_MESSAGE_EOS);

    g_assert_nonnull (msg);  /* NULL: two minutes without a message, the pipeline hangs */
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      GError *gst_error = NULL;
      gst_message_parse_error (msg, &gst_error, NULL);
      g_error ("pipeline error: %s", gst_error->message);
    } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
      done = TRUE;
    } else {
      const GstStructure *s = gst_message_get_structure (msg);

      if (gst_structure_has_name (s, "funad")) {
        guint64 timestamp, frame;
        FrameResult result = { 0 };

        g_assert_true (gst_structure_get_uint64 (s, "timestamp", &timestamp));
        g_assert_true (gst_structure_get_uint64 (s, "frame", &frame));
        g_assert_true (gst_structure_get_double (s, "score", &result.score));
        g_assert_true (gst_structure_get_double (s, "threshold", &result.threshold));
        g_assert_true (gst_structure_get_boolean (s, "anomaly", &result.anomaly));
        g_assert_true (gst_structure_has_field (s, "stream-time"));
        g_assert_true (gst_structure_has_field (s, "running-time"));
        g_assert_true (gst_structure_has_field (s, "duration"));
        /* The frame counter and the timestamp agree on which frame this is. */
        g_assert_cmpuint (frame, ==, gst_util_uint64_scale_round (timestamp, DEMO_FPS, GST_SECOND));
        g_assert_true (isfinite (result.score));
        result.seen = TRUE;
        if (frame >= results->len)
          g_array_set_size (results, frame + 1);
        g_assert_false (g_array_index (results, FrameResult, frame).seen);
        g_array_index (results, FrameResult, frame) = result;
      }
    }
    gst_message_unref (msg);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  return results;
}

static GArray *video_results;   /* test.avi's frames as the element scored them, made once */

static GArray *
ensure_video_results (void)
{
  ensure_demo_and_model ();
  if (!video_results) {
    char *video = g_build_filename (demo_dir, "test.avi", NULL);
    char *results_path = g_build_filename (work_dir, "scores.jsonl", NULL);
    gint64 start = g_get_monotonic_time ();

    video_results = score_with_pipeline (video, results_path);
    g_test_message ("pipeline over %u frames: %.1f s", video_results->len,
                    (g_get_monotonic_time () - start) / 1e6);
    g_free (results_path);
    g_free (video);
  }
  return video_results;
}

static void
test_pipeline_ranks_defective_frames_higher (void)
{
  GArray *results = ensure_video_results ();
  char *results_path = g_build_filename (work_dir, "scores.jsonl", NULL);
  GArray *labels = read_labels ();
  GError *error = NULL;
  FunadModel *model = funad_model_load (model_path, &error);

  g_assert_no_error (error);

  /* Every frame scored once, against the model's own threshold. */
  g_assert_cmpuint (results->len, ==, labels->len);
  float *scores = g_new (float, results->len);
  guint n_defective = 0;

  for (guint i = 0; i < results->len; i++) {
    FrameResult *r = &g_array_index (results, FrameResult, i);

    g_assert_true (r->seen);
    g_assert_cmpfloat_with_epsilon (r->threshold, funad_model_threshold (model), 1e-6);
    g_assert_cmpint (r->anomaly, ==, r->score > r->threshold);
    scores[i] = (float) r->score;
    n_defective += g_array_index (labels, guint8, i);
  }
  g_assert_cmpuint (n_defective, >, 0);
  g_assert_cmpuint (n_defective, <, labels->len);

  double auroc = funad_auroc (scores, (const guint8 *) labels->data, labels->len);
  g_test_message ("frame AUROC on test.avi: %.4f (%u of %u frames defective)", auroc,
                  n_defective, labels->len);
  g_assert_cmpfloat (auroc, >, 0.8);

  /* The label-free threshold is usable as it is: most defective frames above it, few normal
   * ones. (Leave-out scores against the coreset alone once put it at 14.2 here, above half
   * of the defective frames: recall 0.48.) */
  guint flagged_defective = 0, flagged_normal = 0;
  for (guint i = 0; i < results->len; i++) {
    gboolean anomaly = g_array_index (results, FrameResult, i).anomaly;
    if (g_array_index (labels, guint8, i))
      flagged_defective += anomaly;
    else
      flagged_normal += anomaly;
  }
  g_test_message ("at the model's threshold %.3f: %u of %u defective frames flagged, %u of %u "
                  "normal ones", funad_model_threshold (model), flagged_defective, n_defective,
                  flagged_normal, labels->len - n_defective);
  g_assert_cmpfloat ((double) flagged_defective / n_defective, >=, 0.7);
  /* 0.15, not 0.1: on an AMD EPYC 8 of the 57 normal frames were flagged (recall 19 of 23),
   * where the machines this bound was set on flagged at most 5; a model's last bits, and so
   * its threshold, differ between CPUs. A threshold fallen towards the median flags half. */
  g_assert_cmpfloat ((double) flagged_normal / (labels->len - n_defective), <=, 0.15);

  /* The results file says the same as the bus, a line per frame. */
  char *text = NULL;
  g_assert_true (g_file_get_contents (results_path, &text, NULL, NULL));
  char **lines = g_strsplit (text, "\n", -1);
  guint n_lines = 0;
  JsonParser *parser = json_parser_new ();

  for (int i = 0; lines[i] && lines[i][0]; i++, n_lines++) {
    g_assert_true (json_parser_load_from_data (parser, lines[i], -1, NULL));
    JsonObject *o = json_node_get_object (json_parser_get_root (parser));
    gint64 frame = json_object_get_int_member (o, "frame");

    g_assert_cmpint (frame, >=, 0);
    g_assert_cmpint (frame, <, (gint64) results->len);
    g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "score"),
                                    g_array_index (results, FrameResult, frame).score,
                                    1e-5 * MAX (1.0, fabs (scores[frame])));
  }
  g_assert_cmpuint (n_lines, ==, results->len);

  g_object_unref (parser);
  g_strfreev (lines);
  g_free (text);
  funad_model_unref (model);
  g_free (scores);
  g_array_unref (labels);
  g_free (results_path);
}

/* ---- funad-eval ------------------------------------------------------------------------------ */

static guint
count_test_images (gboolean defective)
{
  char *test_dir = g_build_filename (layout_dir, "test", NULL);
  GDir *dir = g_dir_open (test_dir, 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir))) {
    if ((strcmp (name, "good") != 0) == defective) {
      char *class_dir = g_build_filename (test_dir, name, NULL);
      n += count_files (class_dir);
      g_free (class_dir);
    }
  }
  g_dir_close (dir);
  g_free (test_dir);
  return n;
}

static void
test_eval_reports_auroc_as_json (void)
{
  ensure_demo_and_model ();

  char *scores_path = g_build_filename (work_dir, "eval-scores.jsonl", NULL);
  const char *argv[] = { tool ("FUNAD_EVAL"), "--model", model_path, "--dataset", layout_dir,
                         "--json", "--scores", scores_path, "-q", NULL };
  char *out = NULL, *err = NULL;
  GError *error = NULL;

  g_assert_cmpint (run_tool (argv, &out, &err), ==, 0);
  g_test_message ("funad-eval: %s", out);

  JsonParser *parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  JsonObject *o = json_node_get_object (json_parser_get_root (parser));

  g_assert_nonnull (o);
  for (const char *const *key = (const char *const[]) { "image_auroc", "pixel_auroc", "n_normal",
                                                         "n_anomalous", "model", NULL };
       *key; key++)
    g_assert_true (json_object_has_member (o, *key));
  g_assert_cmpstr (json_object_get_string_member (o, "model"), ==, model_path);

  guint n_normal = count_test_images (FALSE), n_anomalous = count_test_images (TRUE);
  g_assert_cmpint (json_object_get_int_member (o, "n_normal"), ==, n_normal);
  g_assert_cmpint (json_object_get_int_member (o, "n_anomalous"), ==, n_anomalous);

  double image_auroc = json_object_get_double_member (o, "image_auroc");
  double pixel_auroc = json_object_get_double_member (o, "pixel_auroc");
  g_assert_cmpfloat (image_auroc, >=, 0.0);
  g_assert_cmpfloat (image_auroc, <=, 1.0);
  /* Exact masks: the map must find where the defects are. */
  g_assert_cmpfloat (pixel_auroc, >, 0.8);
  g_assert_cmpfloat (pixel_auroc, <=, 1.0);

  /* One score line per test image, labelled by its folder. */
  char *text = NULL;
  g_assert_true (g_file_get_contents (scores_path, &text, NULL, NULL));
  char **lines = g_strsplit (text, "\n", -1);
  guint n_lines = 0;

  for (int i = 0; lines[i] && lines[i][0]; i++, n_lines++) {
    g_assert_true (json_parser_load_from_data (parser, lines[i], -1, NULL));
    JsonObject *line = json_node_get_object (json_parser_get_root (parser));
    const char *path = json_object_get_string_member (line, "path");
    char *parent = g_path_get_dirname (path);
    char *class_name = g_path_get_basename (parent);

    g_assert_cmpint (json_object_get_int_member (line, "label"), ==,
                     strcmp (class_name, "good") != 0);
    g_assert_true (isfinite (json_object_get_double_member (line, "score")));
    g_free (class_name);
    g_free (parent);
  }
  g_assert_cmpuint (n_lines, ==, n_normal + n_anomalous);

  /* The image metrics, recomputed here from the score lines, say the same. (The parser read
   * the lines since: parse the report again.) */
  JsonParser *report_parser = json_parser_new ();
  o = parse_object (report_parser, out);
  float *scores = g_new (float, n_lines);
  guint8 *labels = g_new (guint8, n_lines);
  double threshold = json_object_get_double_member (o, "threshold");
  guint tp = 0, fp = 0, fn = 0;
  for (guint i = 0; i < n_lines; i++) {
    JsonParser *line_parser = json_parser_new ();
    JsonObject *line = parse_object (line_parser, lines[i]);
    scores[i] = json_object_get_double_member (line, "score");
    labels[i] = json_object_get_int_member (line, "label");
    tp += labels[i] && scores[i] > threshold;
    fp += !labels[i] && scores[i] > threshold;
    fn += labels[i] && !(scores[i] > threshold);
    g_object_unref (line_parser);
  }
  g_assert_cmpfloat_with_epsilon (image_auroc, funad_auroc (scores, labels, n_lines), 1e-9);
  /* F1-max: the best over every score as a threshold, and no threshold beats it. */
  double best = 0;
  for (guint k = 0; k < n_lines; k++) {
    guint t = 0, f = 0, m = 0;
    for (guint i = 0; i < n_lines; i++) {
      t += labels[i] && scores[i] >= scores[k];
      f += !labels[i] && scores[i] >= scores[k];
      m += labels[i] && scores[i] < scores[k];
    }
    best = MAX (best, 2.0 * t / (2 * t + f + m));
  }
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "f1_max"), best, 1e-9);
  JsonObject *at = json_object_get_object_member (o, "at_threshold");
  g_assert_nonnull (at);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (at, "recall"),
                                  (double) tp / (tp + fn), 1e-9);
  if (tp + fp > 0)
    g_assert_cmpfloat_with_epsilon (json_object_get_double_member (at, "precision"),
                                    (double) tp / (tp + fp), 1e-9);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (at, "f1"),
                                  2.0 * tp / (2 * tp + fp + fn), 1e-9);
  /* Pixel metrics: exact masks, the map finds the defects. */
  double aupro = json_object_get_double_member (o, "aupro");
  g_assert_cmpfloat (aupro, >, 0.5);
  g_assert_cmpfloat (aupro, <=, 1.0);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "aupro_max_fpr"), 0.3, 1e-12);
  g_assert_cmpint (json_object_get_int_member (o, "n_regions"), >=,
                   json_object_get_int_member (o, "n_masks"));
  /* Every defect type has its own numbers. */
  JsonObject *classes = json_object_get_object_member (o, "classes");
  GList *names = json_object_get_members (classes);
  guint n_types = 0;
  for (GList *c = names; c; c = c->next) {
    JsonObject *type = json_object_get_object_member (classes, c->data);
    if (strcmp (c->data, "good") == 0) {
      g_assert_true (json_object_has_member (type, "flagged_at_threshold"));
      continue;
    }
    n_types++;
    for (const char *const *key = (const char *const[]) { "image_auroc", "pixel_auroc", "aupro",
                                                           "recall_at_threshold", NULL };
         *key; key++)
      g_assert_true (json_object_has_member (type, *key));
  }
  g_assert_cmpuint (n_types, >=, 2);
  g_list_free (names);
  g_free (scores);
  g_free (labels);
  g_object_unref (report_parser);

  g_strfreev (lines);
  g_free (text);
  g_object_unref (parser);
  g_free (out);
  g_free (err);
  g_free (scores_path);
}

/* The plain layout (--normal, --anomalous with a folder per type, --masks) over the same files
 * gives the same numbers as the MVTec layout; --heatmaps writes one overlay per image at the
 * image's size. */
static void
test_eval_plain_layout_and_heatmaps (void)
{
  ensure_demo_and_model ();

  char *plain = g_build_filename (work_dir, "plain", NULL);
  char *normal = g_build_filename (plain, "normal", NULL);
  char *anomalous = g_build_filename (plain, "anomalous", NULL);
  char *masks = g_build_filename (plain, "masks", NULL);
  char *heatmaps = g_build_filename (work_dir, "heatmaps", NULL);
  char *test_dir = g_build_filename (layout_dir, "test", NULL);
  GDir *dir = g_dir_open (test_dir, 0, NULL);
  const char *name;

  g_assert_cmpint (g_mkdir_with_parents (anomalous, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (masks, 0755), ==, 0);
  while ((name = g_dir_read_name (dir))) {
    char *from = g_build_filename (test_dir, name, NULL);
    char *to = strcmp (name, "good") == 0 ? g_strdup (normal)
                                          : g_build_filename (anomalous, name, NULL);
    g_assert_cmpint (symlink (from, to), ==, 0);
    if (strcmp (name, "good") != 0) {
      char *gt = g_build_filename (layout_dir, "ground_truth", name, NULL);
      char *gt_to = g_build_filename (masks, name, NULL);
      g_assert_cmpint (symlink (gt, gt_to), ==, 0);
      g_free (gt);
      g_free (gt_to);
    }
    g_free (from);
    g_free (to);
  }
  g_dir_close (dir);

  const char *mvtec_argv[] = { tool ("FUNAD_EVAL"), "-q", "--json", "--model", model_path,
                               "--dataset", layout_dir, NULL };
  const char *plain_argv[] = { tool ("FUNAD_EVAL"), "-q", "--json", "--model", model_path,
                               "--normal", normal, "--anomalous", anomalous, "--masks", masks,
                               "--heatmaps", heatmaps, NULL };
  char *out_a = NULL, *out_b = NULL, *err = NULL;
  JsonParser *pa = json_parser_new (), *pb = json_parser_new ();

  g_assert_cmpint (run_tool (mvtec_argv, &out_a, &err), ==, 0);
  g_free (err);
  g_assert_cmpint (run_tool (plain_argv, &out_b, &err), ==, 0);
  g_free (err);
  JsonObject *a = parse_object (pa, out_a), *b = parse_object (pb, out_b);
  for (const char *const *key = (const char *const[]) { "image_auroc", "pixel_auroc", "aupro",
                                                         "f1_max", NULL };
       *key; key++)
    g_assert_cmpfloat_with_epsilon (json_object_get_double_member (a, *key),
                                    json_object_get_double_member (b, *key), 1e-12);
  g_assert_cmpint (json_object_get_int_member (a, "n_masks"), ==,
                   json_object_get_int_member (b, "n_masks"));

  /* One overlay per test image, named after it, at its size. */
  guint n_images = count_test_images (FALSE) + count_test_images (TRUE), n_pngs = 0;
  GDir *out_dir = g_dir_open (heatmaps, 0, NULL);
  g_assert_nonnull (out_dir);
  while ((name = g_dir_read_name (out_dir))) {
    char *sub = g_build_filename (heatmaps, name, NULL);
    n_pngs += count_files (sub);
    g_free (sub);
  }
  g_dir_close (out_dir);
  g_assert_cmpuint (n_pngs, ==, n_images);
  char *good_dir = g_build_filename (normal, NULL);
  char *source = first_file (good_dir, ".png");
  char *base = g_path_get_basename (source);
  char *overlay = g_build_filename (heatmaps, "good", base, NULL);
  int sw, sh, ow, oh;
  png_size (source, &sw, &sh);
  png_size (overlay, &ow, &oh);
  g_assert_cmpint (ow, ==, sw);
  g_assert_cmpint (oh, ==, sh);

  /* An output that cannot be written is refused before any scoring. */
  char *blocked = g_build_filename (work_dir, "a-plain-file", NULL);
  char *under = g_build_filename (blocked, "heatmaps", NULL);
  g_assert_true (g_file_set_contents (blocked, "x", 1, NULL));
  const char *bad[] = { tool ("FUNAD_EVAL"), "--model", model_path, "--dataset", layout_dir,
                        "--heatmaps", under, NULL };
  assert_fails_cleanly (bad, "funad-eval", under, NULL);

  g_free (under);
  g_free (blocked);
  g_free (overlay);
  g_free (base);
  g_free (source);
  g_free (good_dir);
  g_object_unref (pa);
  g_object_unref (pb);
  g_free (out_a);
  g_free (out_b);
  g_free (test_dir);
  g_free (heatmaps);
  g_free (masks);
  g_free (anomalous);
  g_free (normal);
  g_free (plain);
}

/* funad-eval and funaddetect give the same number for the same frame. */
/* funad-eval's scores of the PNG layout, a JSON line per image (made once). */
static char *
ensure_eval_scores (void)
{
  ensure_demo_and_model ();

  char *scores_path = g_build_filename (work_dir, "eval-scores.jsonl", NULL);

  if (!g_file_test (scores_path, G_FILE_TEST_EXISTS)) {
    const char *argv[] = { tool ("FUNAD_EVAL"), "--model", model_path, "--dataset", layout_dir,
                           "--scores", scores_path, "-q", NULL };
    run_tool_ok (argv);
  }
  return scores_path;
}

static void
test_eval_and_element_agree (void)
{
  char *scores_path = ensure_eval_scores ();
  char *text = NULL;

  g_assert_true (g_file_get_contents (scores_path, &text, NULL, NULL));
  char **lines = g_strsplit (text, "\n", -1);
  JsonParser *parser = json_parser_new ();

  guint n_lines = g_strv_length (lines);

  /* A few images of both kinds: every pipeline run costs a model load. */
  for (guint i = 0; i < n_lines && lines[i][0]; i += 9) {
    g_assert_true (json_parser_load_from_data (parser, lines[i], -1, NULL));
    JsonObject *line = json_node_get_object (json_parser_get_root (parser));
    const char *path = json_object_get_string_member (line, "path");
    double eval_score = json_object_get_double_member (line, "score");
    char *description = g_strdup_printf (
        "filesrc location=\"%s\" ! pngdec ! videoconvert ! video/x-raw,format=RGB ! "
        "funaddetect model=\"%s\" overlay=none ! fakesink", path, model_path);
    GError *error = NULL;
    GstElement *pipeline = gst_parse_launch (description, &error);

    g_assert_no_error (error);
    GstBus *bus = gst_element_get_bus (pipeline);
    double element_score = NAN;

    gst_element_set_state (pipeline, GST_STATE_PLAYING);
    for (;;) {
      GstMessage *msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND, GST_MESSAGE_ELEMENT |
                                                    GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
      g_assert_nonnull (msg);
      gboolean end = GST_MESSAGE_TYPE (msg) != GST_MESSAGE_ELEMENT;

      g_assert_cmpint (GST_MESSAGE_TYPE (msg), !=, GST_MESSAGE_ERROR);
      if (!end && gst_structure_has_name (gst_message_get_structure (msg), "funad"))
        gst_structure_get_double (gst_message_get_structure (msg), "score", &element_score);
      gst_message_unref (msg);
      if (end)
        break;
    }
    gst_element_set_state (pipeline, GST_STATE_NULL);
    gst_object_unref (bus);
    gst_object_unref (pipeline);
    g_free (description);

    g_test_message ("%s: funad-eval %.6f, funaddetect %.6f", path, eval_score, element_score);
    /* the same threads cut the frame the same way: the same float (README) */
    g_assert_cmpfloat (element_score, ==, eval_score);
  }
  g_object_unref (parser);
  g_strfreev (lines);
  g_free (text);
  g_free (scores_path);
}

/* funad-make-demo's PNG layout holds the test video's frames as a decoder reads them (it once
 * held them before JPEG encoding, so a model trained on the video saw the encoder's loss as a
 * difference and scored every layout image higher than the same video frame). */
static void
test_layout_holds_the_video_frames (void)
{
  GArray *results = ensure_video_results ();
  char *scores_path = ensure_eval_scores ();
  char *text = NULL;

  g_assert_true (g_file_get_contents (scores_path, &text, NULL, NULL));
  char **lines = g_strsplit (text, "\n", -1);
  JsonParser *parser = json_parser_new ();
  guint compared = 0;

  for (guint i = 0; lines[i] && lines[i][0]; i++) {
    g_assert_true (json_parser_load_from_data (parser, lines[i], -1, NULL));
    JsonObject *line = json_node_get_object (json_parser_get_root (parser));
    const char *path = json_object_get_string_member (line, "path");
    char *base = g_path_get_basename (path);
    guint frame;

    if (strstr (path, G_DIR_SEPARATOR_S "test" G_DIR_SEPARATOR_S) &&
        sscanf (base, "%u.png", &frame) == 1) {
      g_assert_cmpuint (frame, <, results->len);
      double video_score = g_array_index (results, FrameResult, frame).score;
      double image_score = json_object_get_double_member (line, "score");

      if (fabs (image_score - video_score) > 1e-4 * MAX (1.0, fabs (video_score)))
        g_error ("%s scores %.6f, frame %u of test.avi %.6f", path, image_score, frame,
                 video_score);
      compared++;
    }
    g_free (base);
  }
  g_assert_cmpuint (compared, >=, 20);
  g_object_unref (parser);
  g_strfreev (lines);
  g_free (text);
  g_free (scores_path);
}

/* ---- error paths ----------------------------------------------------------------------------- */

/* Runs a tool that must fail: non-zero status, one line on stderr starting with "PROG: error:"
 * and mentioning `mentions`, and no file at must_not_exist. */
static void
assert_fails_cleanly (const char *const *argv, const char *prog, const char *mentions,
                      const char *must_not_exist)
{
  char *out = NULL, *err = NULL;
  int status = run_tool (argv, &out, &err);
  char *prefix = g_strdup_printf ("%s: error: ", prog);

  g_test_message ("status %d, stderr: %s", status, err);
  g_assert_cmpint (status, >, 0);
  g_assert_true (g_str_has_prefix (err, prefix));
  g_assert_nonnull (strchr (err, '\n'));
  g_assert_cmpstr (strchr (err, '\n') + 1, ==, "");  /* exactly one line */
  if (mentions)
    g_assert_nonnull (strstr (err, mentions));
  if (must_not_exist)
    g_assert_false (g_file_test (must_not_exist, G_FILE_TEST_EXISTS));
  g_free (prefix);
  g_free (out);
  g_free (err);
}

static void
test_train_rejects_empty_folder (void)
{
  char *empty = g_build_filename (work_dir, "empty-folder", NULL);
  char *model = g_build_filename (work_dir, "never-written.model", NULL);
  const char *argv[] = { tool ("FUNAD_TRAIN"), "-o", model, empty, NULL };

  g_assert_cmpint (g_mkdir (empty, 0755), ==, 0);
  assert_fails_cleanly (argv, "funad-train", empty, model);
  g_free (model);
  g_free (empty);
}

static void
test_train_rejects_non_image_file (void)
{
  char *notes = g_build_filename (work_dir, "notes.txt", NULL);
  char *model = g_build_filename (work_dir, "never-written.model", NULL);
  const char *argv[] = { tool ("FUNAD_TRAIN"), "-o", model, notes, NULL };

  g_assert_true (g_file_set_contents (notes, "these are not pixels\n", -1, NULL));
  assert_fails_cleanly (argv, "funad-train", notes, model);
  g_free (model);
  g_free (notes);
}

static void
test_train_rejects_unwritable_output (void)
{
  ensure_demo_and_model ();

  char *model = g_build_filename (work_dir, "no-such-folder", "model.safetensors", NULL);
  char *train_avi = g_build_filename (demo_dir, "train.avi", NULL);
  const char *argv[] = { tool ("FUNAD_TRAIN"), "-o", model, train_avi, NULL };

  assert_fails_cleanly (argv, "funad-train", "no-such-folder", model);
  g_free (train_avi);
  g_free (model);
}

static void
test_train_reads_image_folder (void)
{
  ensure_demo_and_model ();

  char *folder = g_build_filename (layout_dir, "train", "good", NULL);
  char *model = g_build_filename (work_dir, "from-folder.model", NULL);
  const char *argv[] = { tool ("FUNAD_TRAIN"), "-q", "-o", model, "--size", "64",
                         "--threads", "2", "--max-frames", "40", folder, NULL };
  GError *error = NULL;

  run_tool_ok (argv);
  FunadModel *loaded = funad_model_load (model, &error);
  g_assert_no_error (error);
  g_assert_cmpint (funad_model_input_size (loaded), ==, 64);
  funad_model_unref (loaded);
  g_free (model);
  g_free (folder);
}

static void
test_eval_rejects_bad_input (void)
{
  ensure_demo_and_model ();

  char *missing_model = g_build_filename (work_dir, "missing.model", NULL);
  char *corrupt_model = g_build_filename (work_dir, "corrupt.model", NULL);
  char *missing_dir = g_build_filename (work_dir, "missing-dataset", NULL);
  const char *eval = tool ("FUNAD_EVAL");

  g_assert_true (g_file_set_contents (corrupt_model, "\x10\0\0\0\0\0\0\0{not json at all", 24,
                                      NULL));
  const char *no_model[] = { eval, "--model", missing_model, "--dataset", layout_dir, NULL };
  const char *bad_model[] = { eval, "--model", corrupt_model, "--dataset", layout_dir, NULL };
  const char *no_dataset[] = { eval, "--model", model_path, "--dataset", missing_dir, NULL };

  assert_fails_cleanly (no_model, "funad-eval", missing_model, NULL);
  assert_fails_cleanly (bad_model, "funad-eval", corrupt_model, NULL);
  assert_fails_cleanly (no_dataset, "funad-eval", missing_dir, NULL);
  g_free (missing_model);
  g_free (corrupt_model);
  g_free (missing_dir);
}

/* ---- funad-train inputs ---------------------------------------------------------------------- */

/* --pipeline: videotestsrc's snow changes every frame, so nothing is a duplicate; --duration
 * counts footage time (30 frames a second) and --max-frames frames kept. */
static void
test_train_captures_pipeline (void)
{
  char *model = g_build_filename (work_dir, "captured.model", NULL);
  const char *by_duration[] = { tool ("FUNAD_TRAIN"), "-q", "--json", "-o", model, "--size",
                                "64", "--threads", "2", "--pipeline",
                                "videotestsrc pattern=snow ! video/x-raw,framerate=30/1",
                                "--duration", "1", NULL };
  const char *by_count[] = { tool ("FUNAD_TRAIN"), "-q", "--json", "-o", model, "--size", "64",
                             "--threads", "2", "--pipeline", "videotestsrc pattern=snow",
                             "--max-frames", "12", "--every", "2", NULL };
  JsonParser *parser = json_parser_new ();
  GError *error = NULL;

  JsonObject *o = train_json (by_duration, parser);
  g_assert_cmpint (json_object_get_int_member (o, "frames_read"), ==, 30);
  g_assert_cmpint (json_object_get_int_member (o, "frames_used"), ==, 30);
  g_assert_cmpint (json_object_get_int_member (o, "duplicates_dropped"), ==, 0);

  o = train_json (by_count, parser);
  g_assert_cmpint (json_object_get_int_member (o, "frames_used"), ==, 12);
  /* stopped by --max-frames, not by a full trainer */
  g_assert_true (json_object_has_member (o, "stopped_reading_full"));
  g_assert_false (json_object_get_boolean_member (o, "stopped_reading_full"));
  /* --every 2: twice as many frames read as kept (the last one read stops the capture) */
  g_assert_cmpint (json_object_get_int_member (o, "frames_read"), >=, 23);
  g_assert_cmpint (json_object_get_int_member (o, "frames_read"), <=, 24);
  g_assert_true (json_object_has_member (o, "threshold_rule"));
  g_assert_true (json_object_has_member (o, "estimated_anomalous_fraction"));

  FunadModel *loaded = funad_model_load (model, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "threshold"),
                                  funad_model_threshold (loaded),
                                  1e-7 * fabs (funad_model_threshold (loaded)));
  funad_model_unref (loaded);

  const char *bad[] = { tool ("FUNAD_TRAIN"), "-o", model, "--pipeline", "nosuchsrc", NULL };
  assert_fails_cleanly (bad, "funad-train", "nosuchsrc", NULL);

  g_object_unref (parser);
  g_free (model);
}

/* A still camera: 40 copies of one view give one frame; --dedup 0 keeps them all. */
static void
test_train_drops_still_duplicates (void)
{
  ensure_demo_and_model ();

  char *good = g_build_filename (layout_dir, "test", "good", NULL);
  char *image = first_file (good, ".png");
  char *model = g_build_filename (work_dir, "dedup.model", NULL);
  const char *still = "videotestsrc pattern=smpte num-buffers=40";
  const char *dedup[] = { tool ("FUNAD_TRAIN"), "-q", "--json", "-o", model, "--size", "64",
                          "--threads", "2", "--pipeline", still, image, NULL };
  const char *keep[] = { tool ("FUNAD_TRAIN"), "-q", "--json", "-o", model, "--size", "64",
                         "--threads", "2", "--pipeline", still, "--dedup", "0", image, NULL };
  JsonParser *parser = json_parser_new ();

  JsonObject *o = train_json (dedup, parser);
  g_assert_cmpint (json_object_get_int_member (o, "frames_read"), ==, 41);
  g_assert_cmpint (json_object_get_int_member (o, "duplicates_dropped"), ==, 39);
  g_assert_cmpint (json_object_get_int_member (o, "frames_used"), ==, 2);

  o = train_json (keep, parser);
  g_assert_cmpint (json_object_get_int_member (o, "duplicates_dropped"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (o, "frames_used"), ==, 41);

  g_object_unref (parser);
  g_free (model);
  g_free (image);
  g_free (good);
}

/* Undecodable videos in a folder are skipped and counted; named directly, one-line error. */
static void
test_train_skips_corrupt_video (void)
{
  ensure_demo_and_model ();

  char *folder = g_build_filename (work_dir, "with-corrupt", NULL);
  char *good = g_build_filename (layout_dir, "test", "good", NULL);
  char *image = first_file (good, ".png");
  char *model = g_build_filename (work_dir, "corrupt-input.model", NULL);
  char *garbage = g_build_filename (folder, "garbage.avi", NULL);
  char *bad_header = g_build_filename (folder, "bad-header.avi", NULL);
  GRand *rand = g_rand_new_with_seed (2);
  GString *bytes = g_string_new_len ("RIFF\x10\0\0\0AVI LIST", 16);

  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  for (int i = 0; i < 3; i++) {
    char name[32];
    g_snprintf (name, sizeof name, "frame%d.png", i);
    char *to = g_build_filename (folder, name, NULL);
    copy_file (image, to);
    g_free (to);
  }
  while (bytes->len < 8000)
    g_string_append_c (bytes, (char) g_rand_int_range (rand, 0, 256));
  g_assert_true (g_file_set_contents (bad_header, bytes->str, bytes->len, NULL));
  g_assert_true (g_file_set_contents (garbage, bytes->str + 16, bytes->len - 16, NULL));

  const char *argv[] = { tool ("FUNAD_TRAIN"), "-q", "--json", "-o", model, "--size", "64",
                         "--threads", "2", "--dedup", "0", folder, NULL };
  JsonParser *parser = json_parser_new ();
  JsonObject *o = train_json (argv, parser);

  g_assert_cmpint (json_object_get_int_member (o, "files"), ==, 5);
  g_assert_cmpint (json_object_get_int_member (o, "files_skipped"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (o, "frames_used"), ==, 3);
  g_assert_true (g_file_test (model, G_FILE_TEST_IS_REGULAR));

  char *never = g_build_filename (work_dir, "never-from-garbage.model", NULL);
  const char *direct[] = { tool ("FUNAD_TRAIN"), "-o", never, garbage, NULL };
  assert_fails_cleanly (direct, "funad-train", garbage, never);

  g_free (never);
  g_object_unref (parser);
  g_string_free (bytes, TRUE);
  g_rand_free (rand);
  g_free (bad_header);
  g_free (garbage);
  g_free (model);
  g_free (image);
  g_free (good);
  g_free (folder);
}

/* A model path inside a regular file, or an existing model that cannot be replaced. */
/* An output that is a device, not a file (/dev/full: a "full disk" that accepts the open): the
 * trainer fails naming it and the device stays a device. */
static void
test_train_rejects_device_output (void)
{
  ensure_demo_and_model ();
  char *good = g_build_filename (layout_dir, "test", "good", NULL);
  char *image = first_file (good, ".png");
  const char *argv[] = { tool ("FUNAD_TRAIN"), "-q", "-o", "/dev/full", "--size", "64",
                         "--threads", "2", "--dedup", "0", image, image, image, NULL };
  assert_fails_cleanly (argv, "funad-train",
                        "cannot write model file '/dev/full': not a regular file", NULL);
  GStatBuf st;
  g_assert_cmpint (g_stat ("/dev/full", &st), ==, 0);
  g_assert_true (S_ISCHR (st.st_mode));
  g_free (image);
  g_free (good);
}

/* -o naming an input (a typo for the output name) is refused before anything is read, and the
 * input is left as it was. */
static void
test_train_refuses_to_overwrite_an_input (void)
{
  ensure_demo_and_model ();
  char *video = g_build_filename (work_dir, "shift1.avi", NULL);
  char *train_avi = g_build_filename (demo_dir, "train.avi", NULL);
  char *before = NULL, *after = NULL;
  gsize before_len = 0, after_len = 0;
  g_assert_true (g_file_get_contents (train_avi, &before, &before_len, NULL));
  g_assert_true (g_file_set_contents (video, before, before_len, NULL));
  const char *argv[] = { tool ("FUNAD_TRAIN"), "-q", "-o", video, "--size", "64", train_avi,
                         NULL };
  assert_fails_cleanly (argv, "funad-train", "exists and is not a funad model", NULL);
  g_assert_true (g_file_get_contents (video, &after, &after_len, NULL));
  g_assert_cmpmem (after, after_len, before, before_len);
  g_free (after);
  g_free (before);
  g_free (train_avi);
  g_free (video);
}

/* A pipe as an input would block the read for ever: refused by name. */
static void
test_train_rejects_fifo_input (void)
{
  ensure_demo_and_model ();
  char *fifo = g_build_filename (work_dir, "frames.fifo", NULL);
  char *model = g_build_filename (work_dir, "fifo.model", NULL);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  const char *argv[] = { tool ("FUNAD_TRAIN"), "-q", "-o", model, fifo, NULL };
  assert_fails_cleanly (argv, "funad-train", "not a regular file", model);
  g_unlink (fifo);
  g_free (model);
  g_free (fifo);
}

/* A file with sound but no picture is named as such, not as GStreamer's "Internal data
 * stream error". */
static void
test_train_names_audio_only_file (void)
{
  ensure_demo_and_model ();
  char *wav = g_build_filename (work_dir, "sound.wav", NULL);
  char *model = g_build_filename (work_dir, "sound.model", NULL);
  char *description = g_strdup_printf ("audiotestsrc num-buffers=20 ! audioconvert ! wavenc ! "
                                       "filesink location=\"%s\"", wav);
  run_pipeline_to_eos (description);
  const char *argv[] = { tool ("FUNAD_TRAIN"), "-q", "-o", model, wav, NULL };
  assert_fails_cleanly (argv, "funad-train", "no video stream", model);
  g_free (description);
  g_free (model);
  g_free (wav);
}

/* A copy cut short (half of a Matroska file: a clean end of stream after the first half of
 * its frames) trains on the frames it has and is counted as broken part-way, with the
 * length its header gives. */
static void
test_train_counts_truncated_video (void)
{
  char *mkv = g_build_filename (work_dir, "whole.mkv", NULL);
  char *half = g_build_filename (work_dir, "half.mkv", NULL);
  char *model = g_build_filename (work_dir, "half.model", NULL);
  char *description = g_strdup_printf ("videotestsrc num-buffers=60 pattern=smpte ! "
                                       "video/x-raw,width=96,height=64,framerate=15/1 ! jpegenc "
                                       "! matroskamux ! filesink location=\"%s\"", mkv);
  run_pipeline_to_eos (description);
  char *contents = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (mkv, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (half, contents, (gssize) len / 2, NULL));
  const char *argv[] = { tool ("FUNAD_TRAIN"), "-q", "--json", "-o", model, "--size", "64",
                         "--dedup", "0", half, NULL };
  char *out = NULL, *err = NULL;
  g_assert_cmpint (run_tool (argv, &out, &err), ==, 0);
  g_assert_nonnull (strstr (err, "the file looks truncated"));
  JsonParser *parser = json_parser_new ();
  JsonObject *summary = parse_object (parser, out);
  g_assert_cmpint (json_object_get_int_member (summary, "files_partly_decoded"), ==, 1);
  gint64 used = json_object_get_int_member (summary, "frames_used");
  g_assert_cmpint (used, >, 0);
  g_assert_cmpint (used, <, 60);
  g_object_unref (parser);
  g_free (out);
  g_free (err);

  /* the whole file is not flagged */
  const char *whole_argv[] = { tool ("FUNAD_TRAIN"), "-q", "-o", model, "--size", "64",
                               "--dedup", "0", mkv, NULL };
  g_assert_cmpint (run_tool (whole_argv, &out, &err), ==, 0);
  g_assert_null (strstr (err, "truncated"));
  g_free (out);
  g_free (err);
  g_free (contents);
  g_free (description);
  g_free (model);
  g_free (half);
  g_free (mkv);
}

/* Appends a PNG chunk (length, type, data, CRC-32 of type and data). */
static void
png_chunk (GByteArray *png, const char *type, const guint8 *data, guint32 len)
{
  guint8 be[4] = { len >> 24, len >> 16, len >> 8, len };
  g_byte_array_append (png, be, 4);
  gsize start = png->len;
  g_byte_array_append (png, (const guint8 *) type, 4);
  if (len)
    g_byte_array_append (png, data, len);
  guint32 crc = 0xffffffffu;
  for (gsize i = start; i < png->len; i++) {
    crc ^= png->data[i];
    for (int k = 0; k < 8; k++)
      crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  crc ^= 0xffffffffu;
  guint8 c[4] = { crc >> 24, crc >> 16, crc >> 8, crc };
  g_byte_array_append (png, c, 4);
}

/* A grey PNG whose header says 30000 x 30000 pixels (its pixel data cut short): converting
 * such a frame crashed videoconvert; now it is refused with a message naming its size. */
static void
test_train_rejects_giant_frame (void)
{
  ensure_demo_and_model ();
  char *path = g_build_filename (work_dir, "giant.png", NULL);
  char *model = g_build_filename (work_dir, "giant.model", NULL);
  GByteArray *png = g_byte_array_new ();
  const guint8 signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  const guint8 ihdr[13] = { 0, 0, 0x75, 0x30, 0, 0, 0x75, 0x30, 8, 0, 0, 0, 0 };
  const guint8 idat[] = { 0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01 };
  g_byte_array_append (png, signature, sizeof signature);
  png_chunk (png, "IHDR", ihdr, sizeof ihdr);
  png_chunk (png, "IDAT", idat, sizeof idat);
  png_chunk (png, "IEND", NULL, 0);
  g_assert_true (g_file_set_contents (path, (const char *) png->data, png->len, NULL));
  g_byte_array_unref (png);
  const char *argv[] = { tool ("FUNAD_TRAIN"), "-q", "-o", model, "--size", "64", path, NULL };
  assert_fails_cleanly (argv, "funad-train", "30000 x 30000 pixels are larger than supported",
                        model);
  g_free (model);
  g_free (path);
}

/* funad-eval never writes its outputs over its inputs: heat maps into the test folders would
 * replace the test images, scores over the model would destroy it. And it refuses to report
 * metrics without both normal and defective images. */
static void
test_eval_refuses_outputs_over_inputs (void)
{
  ensure_demo_and_model ();
  char *test_dir = g_build_filename (layout_dir, "test", NULL);
  char *good = g_build_filename (test_dir, "good", NULL);
  char *image = first_file (good, ".png");
  char *before = NULL, *after = NULL;
  gsize before_len = 0, after_len = 0;
  g_assert_true (g_file_get_contents (image, &before, &before_len, NULL));
  const char *heat_argv[] = { tool ("FUNAD_EVAL"), "-q", "--model", model_path, "--dataset",
                              layout_dir, "--heatmaps", test_dir, NULL };
  assert_fails_cleanly (heat_argv, "funad-eval", "written over or inside the input", NULL);
  g_assert_true (g_file_get_contents (image, &after, &after_len, NULL));
  g_assert_cmpmem (after, after_len, before, before_len);
  g_free (after);
  g_free (before);

  /* the training images share the test images' names; the dataset's own folder would get
   * the overlays' type folders beside test/ */
  char *train_dir = g_build_filename (layout_dir, "train", NULL);
  const char *train_argv[] = { tool ("FUNAD_EVAL"), "-q", "--model", model_path, "--dataset",
                               layout_dir, "--heatmaps", train_dir, NULL };
  assert_fails_cleanly (train_argv, "funad-eval", "written over or inside the input", NULL);
  const char *root_argv[] = { tool ("FUNAD_EVAL"), "-q", "--model", model_path, "--dataset",
                              layout_dir, "--heatmaps", layout_dir, NULL };
  assert_fails_cleanly (root_argv, "funad-eval", "is the dataset's own folder", NULL);
  char *strays = g_build_filename (layout_dir, "good", NULL);
  g_assert_false (g_file_test (strays, G_FILE_TEST_EXISTS));
  g_free (strays);
  g_free (train_dir);

  g_assert_true (g_file_get_contents (model_path, &before, &before_len, NULL));
  const char *scores_argv[] = { tool ("FUNAD_EVAL"), "-q", "--model", model_path, "--dataset",
                                layout_dir, "--scores", model_path, NULL };
  assert_fails_cleanly (scores_argv, "funad-eval", "written over or inside the input", NULL);
  g_assert_true (g_file_get_contents (model_path, &after, &after_len, NULL));
  g_assert_cmpmem (after, after_len, before, before_len);
  g_free (after);
  g_free (before);

  char *empty = g_build_filename (work_dir, "no-defects", NULL);
  g_assert_cmpint (g_mkdir_with_parents (empty, 0700), ==, 0);
  const char *one_side_argv[] = { tool ("FUNAD_EVAL"), "-q", "--model", model_path, "--normal",
                                  good, "--anomalous", empty, NULL };
  assert_fails_cleanly (one_side_argv, "funad-eval", "the metrics need both", NULL);
  g_free (empty);
  g_free (image);
  g_free (good);
  g_free (test_dir);
}

/* --anomalous pointed at a test/ folder that holds good/ as well as --normal: each normal
 * image counts once, as normal, and the metrics are those of the MVTec layout. */
static void
test_eval_normal_inside_anomalous (void)
{
  ensure_demo_and_model ();
  char *test_dir = g_build_filename (layout_dir, "test", NULL);
  char *good = g_build_filename (test_dir, "good", NULL);
  const char *mvtec_argv[] = { tool ("FUNAD_EVAL"), "-q", "--json", "--model", model_path,
                               "--dataset", layout_dir, NULL };
  const char *plain_argv[] = { tool ("FUNAD_EVAL"), "-q", "--json", "--model", model_path,
                               "--normal", good, "--anomalous", test_dir, NULL };
  char *out_a = NULL, *out_b = NULL, *err = NULL;
  JsonParser *pa = json_parser_new (), *pb = json_parser_new ();
  g_assert_cmpint (run_tool (mvtec_argv, &out_a, &err), ==, 0);
  g_free (err);
  g_assert_cmpint (run_tool (plain_argv, &out_b, &err), ==, 0);
  g_assert_nonnull (strstr (err, "counted as normal only"));
  g_free (err);
  JsonObject *a = parse_object (pa, out_a), *b = parse_object (pb, out_b);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (a, "image_auroc"),
                                  json_object_get_double_member (b, "image_auroc"), 1e-12);
  JsonObject *ga = json_object_get_object_member (json_object_get_object_member (a, "classes"),
                                                  "good");
  JsonObject *gb = json_object_get_object_member (json_object_get_object_member (b, "classes"),
                                                  "good");
  g_assert_cmpint (json_object_get_int_member (gb, "n"), ==, count_test_images (FALSE));
  g_assert_cmpint (json_object_get_int_member (gb, "n"), ==,
                   json_object_get_int_member (ga, "n"));
  /* both folders named, not the normal one as "the dataset" (text and JSON) */
  g_assert_cmpstr (json_object_get_string_member (a, "dataset"), ==, layout_dir);
  g_assert_false (json_object_has_member (b, "dataset"));
  g_assert_cmpstr (json_object_get_string_member (b, "normal"), ==, good);
  g_assert_cmpstr (json_object_get_string_member (b, "anomalous"), ==, test_dir);
  const char *text_argv[] = { tool ("FUNAD_EVAL"), "-q", "--model", model_path, "--normal", good,
                              "--anomalous", test_dir, NULL };
  char *text = NULL;
  g_assert_cmpint (run_tool (text_argv, &text, &err), ==, 0);
  char *header = g_strdup_printf ("test images:  %u normal in %s, ", count_test_images (FALSE),
                                  good);
  g_assert_nonnull (strstr (text, header));
  char *defective = g_strdup_printf (" defective in %s (", test_dir);
  g_assert_nonnull (strstr (text, defective));
  g_free (defective);
  g_free (header);
  g_free (text);
  g_free (err);
  g_object_unref (pa);
  g_object_unref (pb);
  g_free (out_a);
  g_free (out_b);
  g_free (good);
  g_free (test_dir);
}

/* Options that do nothing for the chosen scorer or backbone say so instead of being dropped
 * silently; funad-make-demo writes a PNG layout into a new folder only (into an old one, its
 * frames mixed with the leftovers of the earlier run). */
static void
test_ignored_options_warn (void)
{
  ensure_demo_and_model ();
  char *train_avi = g_build_filename (demo_dir, "train.avi", NULL);
  char *model = g_build_filename (work_dir, "ignored-options.model", NULL);
  const char *argv[] = { tool ("FUNAD_TRAIN"), "-q", "-o", model, "--size", "64",
                         "--max-frames", "20", "--epochs", "2", "--feature-dim", "64",
                         "--no-smoothness", train_avi, NULL };
  char *out = NULL, *err = NULL;
  g_assert_cmpint (run_tool (argv, &out, &err), ==, 0);
  g_assert_nonnull (strstr (err, "--epochs applies to --scorer funad only; ignored"));
  g_assert_nonnull (strstr (err, "--feature-dim applies to pretrained backbones only"));
  g_assert_nonnull (strstr (err, "--no-smoothness apply to --scorer funad only"));
  g_free (out);
  g_free (err);

  char *demo_again = g_build_filename (work_dir, "demo-again", NULL);
  const char *make_argv[] = { tool ("FUNAD_MAKE_DEMO"), "-q", "-o", demo_again, "--frames", "3",
                              "--test-frames", "3", "--png-layout", layout_dir, NULL };
  char *train_good = g_build_filename (layout_dir, "train", "good", NULL);
  guint before = count_files (train_good);
  assert_fails_cleanly (make_argv, "funad-make-demo", "exists and is not empty", NULL);
  g_assert_cmpuint (count_files (train_good), ==, before);
  g_free (train_good);
  g_free (demo_again);
  g_free (model);
  g_free (train_avi);
}

/* funad-make-demo on a full disk (its video a link to /dev/full): one line naming the cause,
 * with and without a PNG layout. Without one it used to hang: the encoder's queue filled
 * behind the failed file and the next push blocked for ever. */
static void
test_make_demo_full_disk (void)
{
  if (!g_file_test ("/dev/full", G_FILE_TEST_EXISTS)) {
    g_test_skip ("no /dev/full here");
    return;
  }
  for (int layout = 0; layout < 2; layout++) {
    char *dir = g_build_filename (work_dir, layout ? "full-disk-layout" : "full-disk", NULL);
    char *video = g_build_filename (dir, "train.avi", NULL);
    char *png = g_build_filename (dir, "mv", NULL);
    const char *argv[] = { tool ("FUNAD_MAKE_DEMO"), "-q", "-o", dir, "--frames", "40",
                           layout ? "--png-layout" : NULL, png, NULL };

    g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
    g_assert_cmpint (symlink ("/dev/full", video), ==, 0);
    assert_fails_cleanly (argv, "funad-make-demo", "train.avi", NULL);
    g_free (png);
    g_free (video);
    g_free (dir);
  }
}

/* A zero-byte input named directly is an error that says so. */
static void
test_train_rejects_empty_image (void)
{
  char *empty = g_build_filename (work_dir, "empty.png", NULL);
  char *model = g_build_filename (work_dir, "never-from-empty.model", NULL);
  const char *argv[] = { tool ("FUNAD_TRAIN"), "-o", model, empty, NULL };
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  assert_fails_cleanly (argv, "funad-train", "empty file", model);
  g_free (model);
  g_free (empty);
}

static void
test_train_rejects_output_under_file (void)
{
  char *file = g_build_filename (work_dir, "a-file", NULL);
  char *model = g_build_filename (file, "model.safetensors", NULL);
  char *input = g_build_filename (work_dir, "unused.png", NULL);
  const char *argv[] = { tool ("FUNAD_TRAIN"), "-o", model, input, NULL };

  g_assert_true (g_file_set_contents (file, "x", 1, NULL));
  g_assert_true (g_file_set_contents (input, "x", 1, NULL));
  assert_fails_cleanly (argv, "funad-train", model, NULL);
  g_free (input);
  g_free (model);
  g_free (file);
}

/* Waits for funad-train (pid) to exit, at most `seconds` after it was sent `after`; one still
 * running then is killed and the test fails (a hang never ends by itself). Returns its wait
 * status. */
static int
wait_for_exit (GPid pid, int seconds, const char *after)
{
  int wait_status = 0, reaped;
  gint64 deadline = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;

  while ((reaped = waitpid (pid, &wait_status, WNOHANG)) == 0 && g_get_monotonic_time () < deadline)
    g_usleep (20000);
  if (reaped == 0) {
    kill (pid, SIGKILL);
    waitpid (pid, &wait_status, 0);
    g_error ("funad-train did not end within %d s of %s", seconds, after);
  }
  return wait_status;
}

/* Reads the next line a child wrote to fd into `line` (without its newline). FALSE when the
 * output has ended and nothing was left to read. */
static gboolean
read_line (int fd, GString *line)
{
  gboolean any = FALSE;
  char c;

  g_string_truncate (line, 0);
  while (read (fd, &c, 1) == 1) {
    any = TRUE;
    if (c == '\n')
      break;
    g_string_append_c (line, c);
  }
  return any;
}

/* Everything a child writes to fd until it closes it. */
static char *
read_rest (int fd)
{
  GString *rest = g_string_new (NULL);
  char buf[4096];
  ssize_t got;

  while ((got = read (fd, buf, sizeof buf)) > 0)
    g_string_append_len (rest, buf, got);
  return g_string_free (rest, FALSE);
}

/* A signal while capturing from a live source that never ends, about a second in. Ctrl-C is
 * how such a capture ends: it trains on the frames captured and writes the model (exit 0).
 * SIGTERM (a service manager stopping it) stops: exit 143, no model. */
static void
interrupt_capture (int signum, int expected_status)
{
  gboolean expect_model = expected_status == 0;
  char *model = g_build_filename (work_dir, "interrupted-capture.model", NULL);
  const char *argv[] = { tool ("FUNAD_TRAIN"), "-o", model, "--size", "64", "--pipeline",
                         "videotestsrc is-live=true pattern=snow", NULL };
  GError *error = NULL;
  GString *line = g_string_new (NULL);
  GPid pid;
  int err_fd;

  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                           NULL, NULL, &pid, NULL, NULL, &err_fd, &error));
  g_assert_no_error (error);
  /* The first progress line: capture runs; then some frames. */
  read_line (err_fd, line);
  g_string_free (line, TRUE);
  g_usleep (G_USEC_PER_SEC);
  g_assert_cmpint (kill (pid, signum), ==, 0);

  /* After Ctrl-C it still trains on what it captured: under ASan on a busy two-core machine
   * training alone took 21 s of the 30 this once allowed. A hang never ends. */
  int wait_status = wait_for_exit (pid, 120, g_strsignal (signum));
  g_assert_true (WIFEXITED (wait_status));
  g_assert_cmpint (WEXITSTATUS (wait_status), ==, expected_status);
  if (expect_model) {
    FunadModel *loaded = funad_model_load (model, &error);
    g_assert_no_error (error);
    funad_model_unref (loaded);
    g_assert_cmpint (g_unlink (model), ==, 0);
  } else {
    g_assert_false (g_file_test (model, G_FILE_TEST_EXISTS));
  }
  close (err_fd);
  g_spawn_close_pid (pid);
  g_free (model);
}

static void
test_train_interrupt_during_capture (void)
{
  interrupt_capture (SIGINT, 0);
  interrupt_capture (SIGTERM, 143);
}

/* Starts funad-train (argv) on a capture that gives no frame, waits for `marker` to be written
 * (another branch of the pipeline: it runs) and half a second more, then sends SIGINT: it must
 * end within 3 s (a hang fails after 60), exit 130, write no model and say that no frame came
 * before the capture ended. */
static void
sigint_before_any_frame (const char *const *argv, const char *marker, const char *model)
{
  GError *error = NULL;
  int wait_status, err_fd;
  gint64 sent, deadline;
  GStatBuf st;
  GPid pid;

  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, NULL,
                                           G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, NULL,
                                           NULL, &err_fd, &error));
  g_assert_no_error (error);
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while ((g_stat (marker, &st) != 0 || st.st_size == 0) && g_get_monotonic_time () < deadline)
    g_usleep (20000);
  g_assert_cmpint (st.st_size, >, 0);
  g_usleep (G_USEC_PER_SEC / 2);
  g_assert_cmpint (kill (pid, SIGINT), ==, 0);
  sent = g_get_monotonic_time ();
  wait_status = wait_for_exit (pid, 60, "SIGINT");
  g_test_message ("exited %.2f s after SIGINT", (g_get_monotonic_time () - sent) / 1e6);
  g_assert_cmpint (g_get_monotonic_time () - sent, <, 3 * G_USEC_PER_SEC);
  g_assert_true (WIFEXITED (wait_status));
  g_assert_cmpint (WEXITSTATUS (wait_status), ==, 130);
  g_assert_false (g_file_test (model, G_FILE_TEST_EXISTS));
  char *said = read_rest (err_fd);
  g_test_message ("it said: %s", said);
  g_assert_nonnull (strstr (said, "capture ended; training on the frames captured"));
  g_assert_nonnull (strstr (said, "no frame came before the capture ended; no model written"));
  close (err_fd);
  g_spawn_close_pid (pid);
  g_free (said);
}

/* Ctrl-C during a capture whose source has gone silent: no frame and no EOS comes through (a
 * valve that drops everything, a camera that hung). The end of the capture waited out its
 * whole 5 s allowance for the EOS it sends to drain; it must end within 3 s. First after three
 * frames (a funnel passes EOS on only once its other, silent, input has one too): the capture
 * ends and the three are trained on, exit 0. Then before any frame (a tee's other branch writes
 * the file that says the pipeline runs; async=false: it does not wait for the silent appsink to
 * preroll): nothing to train on, exit 130. */
static void
test_train_interrupt_silent_capture (void)
{
  char *model = g_build_filename (work_dir, "silent-capture.model", NULL);
  char *marker = g_build_filename (work_dir, "silent-capture-started.raw", NULL);
  char *silent_from_start = g_strdup_printf ("videotestsrc is-live=true num-buffers=1 ! tee name=t "
                                             "! queue ! filesink sync=false async=false "
                                             "location=%s t. ! queue ! "
                                             "valve drop=true", marker);
  const char *after_frames[] = { tool ("FUNAD_TRAIN"), "-o", model, "--size", "64", "--threads",
                                 "2", "--pipeline", "videotestsrc is-live=true ! valve drop=true "
                                 "! f. videotestsrc is-live=true num-buffers=3 pattern=snow ! "
                                 "funnel name=f", NULL };
  const char *no_frame[] = { tool ("FUNAD_TRAIN"), "-o", model, "--size", "64", "--pipeline",
                             silent_from_start, NULL };
  GError *error = NULL;
  GString *line = g_string_new (NULL);
  gboolean capture_over = FALSE;
  int wait_status, err_fd;
  gint64 sent;
  GPid pid;

  /* three frames, then silence */
  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) after_frames, NULL,
                                           G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, NULL,
                                           NULL, &err_fd, &error));
  g_assert_no_error (error);
  /* the first progress line: a frame came, so the capture runs */
  read_line (err_fd, line);
  g_test_message ("first line: %s", line->str);
  g_assert_true (g_str_has_prefix (line->str, "funad-train: reading"));
  g_usleep (G_USEC_PER_SEC / 2);
  g_assert_cmpint (kill (pid, SIGINT), ==, 0);
  sent = g_get_monotonic_time ();
  /* reading ends (its 100% line) and training begins */
  while (!capture_over && read_line (err_fd, line)) {
    g_test_message ("then: %s", line->str);
    capture_over = g_str_has_prefix (line->str, "funad-train: reading") &&
                   strstr (line->str, "100%") != NULL;
  }
  g_assert_true (capture_over);
  g_test_message ("capture ended %.2f s after SIGINT", (g_get_monotonic_time () - sent) / 1e6);
  g_assert_cmpint (g_get_monotonic_time () - sent, <, 3 * G_USEC_PER_SEC);
  wait_status = wait_for_exit (pid, 120, "SIGINT");
  g_assert_true (WIFEXITED (wait_status));
  g_assert_cmpint (WEXITSTATUS (wait_status), ==, 0);
  FunadModel *loaded = funad_model_load (model, &error);
  g_assert_no_error (error);
  funad_model_unref (loaded);
  g_assert_cmpint (g_unlink (model), ==, 0);
  close (err_fd);
  g_spawn_close_pid (pid);

  /* silent from the start */
  sigint_before_any_frame (no_frame, marker, model);
  g_string_free (line, TRUE);
  g_free (silent_from_start);
  g_free (marker);
  g_free (model);
}

/* Ctrl-C while the source is stuck pushing into a branch other than funad's: a tee feeds a file
 * (the marker: the pipeline runs), a queue of one buffer before a sink that waits for the
 * pipeline to preroll, which the silent appsink branch never lets it do, so the source blocks
 * in its push, and funad's branch, which drops everything. The EOS that ends the capture waited
 * in the stuck source holding the state locks that going to NULL needs: funad-train never
 * ended (a third Ctrl-C killed it). It must end within 3 s: no frame came, exit 130. */
static void
test_train_interrupt_stuck_branch (void)
{
  char *model = g_build_filename (work_dir, "stuck-branch.model", NULL);
  char *marker = g_build_filename (work_dir, "stuck-branch-started.raw", NULL);
  char *stuck = g_build_filename (work_dir, "stuck-branch.raw", NULL);
  char *description = g_strdup_printf ("videotestsrc is-live=true ! tee name=t ! queue ! "
                                       "filesink sync=false async=false location=%s t. ! "
                                       "queue max-size-buffers=1 ! filesink location=%s t. ! "
                                       "queue ! valve drop=true", marker, stuck);
  const char *argv[] = { tool ("FUNAD_TRAIN"), "-o", model, "--size", "64", "--pipeline",
                         description, NULL };

  /* the half second before SIGINT lets the stuck branch's queue fill with its second buffer */
  sigint_before_any_frame (argv, marker, model);
  g_free (description);
  g_free (stuck);
  g_free (marker);
  g_free (model);
}

/* Ctrl-C once training proper has begun: exit 130, and the model already at the output path
 * is left exactly as it was. */
static void
test_train_interrupt_keeps_old_model (void)
{
  ensure_demo_and_model ();

  char *model = g_build_filename (work_dir, "kept.model", NULL);
  char *train_avi = g_build_filename (demo_dir, "train.avi", NULL);
  const char *argv[] = { tool ("FUNAD_TRAIN"), "-o", model, "--size", "64", "--threads", "2",
                         train_avi, NULL };
  GError *error = NULL;
  GPid pid;
  int err_fd;

  /* The previous model: a copy of the demo's (-o replaces only a funad model). */
  char *previous = NULL;
  gsize previous_len = 0;
  g_assert_true (g_file_get_contents (model_path, &previous, &previous_len, NULL));
  g_assert_true (g_file_set_contents (model, previous, previous_len, NULL));
  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                           NULL, NULL, &pid, NULL, NULL, &err_fd, &error));
  g_assert_no_error (error);

  /* Read progress lines until a training stage starts (reading is over). */
  GString *line = g_string_new (NULL);
  gboolean training = FALSE;
  while (!training && read_line (err_fd, line))
    training = g_str_has_prefix (line->str, "funad-train: backbone") ||
               g_str_has_prefix (line->str, "funad-train: features");
  g_assert_true (training);
  g_assert_cmpint (kill (pid, SIGINT), ==, 0);

  int wait_status = wait_for_exit (pid, 60, "SIGINT");
  g_assert_true (WIFEXITED (wait_status));
  g_assert_cmpint (WEXITSTATUS (wait_status), ==, 130);

  char *text = NULL;
  gsize text_len = 0;
  g_assert_true (g_file_get_contents (model, &text, &text_len, NULL));
  g_assert_cmpmem (text, text_len, previous, previous_len);
  g_free (previous);
  /* and no temporary file of the atomic write is left beside it */
  GDir *dir = g_dir_open (work_dir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (dir)))
    g_assert_false (g_str_has_prefix (name, "kept.model") && strcmp (name, "kept.model") != 0);
  g_dir_close (dir);

  g_free (text);
  close (err_fd);
  g_spawn_close_pid (pid);
  g_string_free (line, TRUE);
  g_free (train_avi);
  g_free (model);
}

/* ---- funad-inspect --------------------------------------------------------------------------- */

static void
test_inspect_reports_model (void)
{
  ensure_demo_and_model ();

  const char *json_argv[] = { tool ("FUNAD_INSPECT"), "--json", model_path, NULL };
  const char *text_argv[] = { tool ("FUNAD_INSPECT"), model_path, NULL };
  char *out = NULL, *err = NULL;
  GError *error = NULL;
  FunadModel *model = funad_model_load (model_path, &error);
  JsonParser *parser = json_parser_new ();

  g_assert_no_error (error);
  g_assert_cmpint (run_tool (json_argv, &out, &err), ==, 0);
  JsonObject *o = parse_object (parser, out);
  g_assert_cmpint (json_object_get_int_member (o, "format_version"), ==, FUNAD_FORMAT_VERSION);
  g_assert_cmpstr (json_object_get_string_member (o, "backbone"), ==, "builtin");
  g_assert_cmpint (json_object_get_int_member (o, "input_size"), ==, atoi (TRAIN_SIZE));
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "threshold"),
                                  funad_model_threshold (model), 1e-6);
  g_assert_true (json_object_has_member (o, "backbone_weights"));
  JsonObject *summary = json_object_get_object_member (o, "training_summary");
  g_assert_nonnull (summary);
  g_assert_cmpint (json_object_get_int_member (summary, "frames"), >, 0);
  g_assert_true (json_object_has_member (summary, "threshold_rule"));
  g_free (out);
  g_free (err);

  g_assert_cmpint (run_tool (text_argv, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "format_version    1"));
  g_assert_nonnull (strstr (out, "threshold_rule"));
  g_free (out);
  g_free (err);

  char *corrupt = g_build_filename (work_dir, "inspect-corrupt.model", NULL);
  g_assert_true (g_file_set_contents (corrupt, "\x10\0\0\0\0\0\0\0{not json at all", 24, NULL));
  const char *bad[] = { tool ("FUNAD_INSPECT"), corrupt, NULL };
  assert_fails_cleanly (bad, "funad-inspect", corrupt, NULL);

  g_free (corrupt);
  g_object_unref (parser);
  funad_model_unref (model);
}

/* Ctrl-C: training stops, no model is written, exit status 130. */
static void
test_train_interrupt_writes_nothing (void)
{
  ensure_demo_and_model ();

  char *model = g_build_filename (work_dir, "interrupted.model", NULL);
  char *train_avi = g_build_filename (demo_dir, "train.avi", NULL);
  const char *argv[64];
  int n = 0;

  argv[n++] = tool ("FUNAD_TRAIN");
  argv[n++] = "-o";
  argv[n++] = model;
  argv[n++] = "--size";
  argv[n++] = "64";
  argv[n++] = "--threads";
  argv[n++] = "2";
  /* The same video many times over, so decoding alone outlasts the interrupt by far. */
  while (n < 50)
    argv[n++] = train_avi;
  argv[n] = NULL;

  GError *error = NULL;
  GPid pid;
  int err_fd;

  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                           NULL, NULL, &pid, NULL, NULL, &err_fd, &error));
  g_assert_no_error (error);

  /* Its first progress line means the signal handlers are in place and decoding runs. */
  GString *first_line = g_string_new (NULL);

  read_line (err_fd, first_line);
  g_test_message ("first line: %s", first_line->str);
  g_assert_true (g_str_has_prefix (first_line->str, "funad-train: "));
  g_assert_cmpint (kill (pid, SIGINT), ==, 0);

  int wait_status = wait_for_exit (pid, 60, "SIGINT");
  g_assert_true (WIFEXITED (wait_status));
  g_assert_cmpint (WEXITSTATUS (wait_status), ==, 130);
  g_assert_false (g_file_test (model, G_FILE_TEST_EXISTS));

  /* The rest of what it said: the interruption, and no reading reported as finished. */
  char *rest = read_rest (err_fd);
  g_test_message ("after the first line: %s", rest);
  g_assert_nonnull (strstr (rest, "interrupted"));
  g_assert_null (strstr (rest, "100%"));
  /* not a terminal: no blank line before the message (the newline that ends a progress bar) */
  g_assert_false (g_str_has_prefix (rest, "\n"));
  g_assert_null (strstr (rest, "\n\n"));

  close (err_fd);
  g_spawn_close_pid (pid);
  g_free (rest);
  g_string_free (first_line, TRUE);
  g_free (train_avi);
  g_free (model);
}

/* GOption reads "inf" and "nan" as numbers; every number option of funad-train and
 * funad-make-demo refuses them by name (NaN used to be called "negative", inf to pass). */
static void
test_options_reject_non_finite_numbers (void)
{
  char *model = g_build_filename (work_dir, "never-written-non-finite.model", NULL);
  char *demo = g_build_filename (work_dir, "never-written-non-finite", NULL);
  const char *train_options[] = { "--duration", "--dedup", "--outlier-z", "--typical-z",
                                  "--appearance-z", "--appearance-weight",
                                  "--synthetic-fraction", "--synthetic-scale",
                                  "--pseudo-label-z", "--bank-floor", "--bank-floor-z" };
  const char *values[] = { "inf", "nan", "-inf" };

  for (guint i = 0; i < G_N_ELEMENTS (train_options); i++) {
    const char *argv[] = { tool ("FUNAD_TRAIN"), "-o", model, train_options[i],
                           values[i % G_N_ELEMENTS (values)], "unused.avi", NULL };
    char *expected = g_strdup_printf ("%s must be a finite number", train_options[i]);
    assert_fails_cleanly (argv, "funad-train", expected, model);
    g_free (expected);
  }
  const char *make_argv[] = { tool ("FUNAD_MAKE_DEMO"), "-o", demo, "--contamination", "nan",
                              NULL };
  assert_fails_cleanly (make_argv, "funad-make-demo", "--contamination must be a finite number",
                        demo);
  g_free (demo);
  g_free (model);
}

/* "" for a path (an unset shell variable, say): funad-train -o "" read and trained on every
 * frame and only then failed to write; the others printed ": folder not found". Now one line
 * naming the option, before anything is read. */
static void
test_options_reject_empty_paths (void)
{
  char *model = g_build_filename (work_dir, "never-written-empty-path.model", NULL);
  const char *train_output[] = { tool ("FUNAD_TRAIN"), "-o", "", "unused.avi", NULL };
  const char *train_input[] = { tool ("FUNAD_TRAIN"), "-o", model, "unused.avi", "", NULL };
  const char *eval_dataset[] = { tool ("FUNAD_EVAL"), "-m", "unused.model", "--dataset", "",
                                 NULL };
  const char *inspect[] = { tool ("FUNAD_INSPECT"), "", NULL };
  const char *make_demo[] = { tool ("FUNAD_MAKE_DEMO"), "-o", "", NULL };
  const char *weights[] = { tool ("FUNAD_TRAIN"), "-o", model, "--backbone", "mobilenetv2_100:",
                            "unused.avi", NULL };

  assert_fails_cleanly (train_output, "funad-train", "--output is an empty path", NULL);
  assert_fails_cleanly (train_input, "funad-train", "an input is an empty path", model);
  assert_fails_cleanly (eval_dataset, "funad-eval", "--dataset is an empty path", NULL);
  assert_fails_cleanly (inspect, "funad-inspect", "an input is an empty path", NULL);
  assert_fails_cleanly (make_demo, "funad-make-demo", "--output is an empty path", NULL);
  assert_fails_cleanly (weights, "funad-train", "WEIGHTS is an empty path", model);
  g_free (model);
}

/* A parameter funad-train's checks let through but core refuses was reported once per frame
 * ("skipped ... frame N: a training parameter is out of range", then "no usable frame"):
 * --bank-size 1 (core wants 2 to 4194304) and a --synthetic-scale that is 0 as a float. Now
 * one line at startup, before any frame is read. And one line only: no "ignored" warning
 * before it. --threads 1000 used to be taken, ten times slower than 2 on two cores. */
static void
test_train_rejects_out_of_range_params (void)
{
  char *model = g_build_filename (work_dir, "never-written-params.model", NULL);
  /* the last two: options the builtin memory bank ignores, out of range, used to warn
   * "ignored" and then fail on the same option */
  const char *cases[][2] = {
    { "--bank-size", "1" }, { "--bank-size", "4194305" }, { "--synthetic-scale", "1e-50" },
    { "--feature-dim", "2" }, { "--epochs", "-1" }, { "--threads", "65" },
    { "--threads", "-1" }, { "--bank-floor", "1e-50" }, { "--bank-floor", "101" },
    { "--bank-floor-z", "-1" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    const char *argv[] = { tool ("FUNAD_TRAIN"), "-q", "-o", model, "--size", "32",
                           "--pipeline", "videotestsrc num-buffers=3", cases[i][0], cases[i][1],
                           NULL };
    assert_fails_cleanly (argv, "funad-train", cases[i][0], model);
  }
  g_free (model);
}

/* ---- the example scripts in pipelines/ ------------------------------------------------------ */

/* Runs pipelines/SCRIPT ARGS... with extra environment settings (NAME=VALUE, NULL-terminated);
 * returns its exit status, its stderr in *err. */
static int
run_script (const char *script, const char *const *settings, const char *const *args, char **err)
{
  char **envp = g_get_environ ();
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);
  GError *error = NULL;
  int wait_status = 0;

  for (int i = 0; settings && settings[i]; i++) {
    char **pair = g_strsplit (settings[i], "=", 2);
    envp = g_environ_setenv (envp, pair[0], pair[1], TRUE);
    g_strfreev (pair);
  }
  g_ptr_array_add (argv, g_build_filename (tool ("FUNAD_PIPELINES"), script, NULL));
  for (int i = 0; args[i]; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL, NULL, err,
                     &wait_status, &error))
    g_error ("could not run %s: %s", script, error->message);
  g_test_message ("%s: status %d, stderr: %s", script, wait_status, *err);
  g_ptr_array_unref (argv);
  g_strfreev (envp);
  return WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : -1;
}

/* The script must stop with exit status 2 and one line naming `mentions`, having run nothing. */
static void
assert_script_refuses (const char *script, const char *const *settings, const char *const *args,
                       const char *mentions)
{
  char *err = NULL;
  char *prefix = g_strdup_printf ("%s: ", script);

  g_assert_cmpint (run_script (script, settings, args, &err), ==, 2);
  g_assert_true (g_str_has_prefix (err, prefix));
  g_assert_nonnull (strchr (err, '\n'));
  g_assert_cmpstr (strchr (err, '\n') + 1, ==, "");  /* exactly one line */
  g_assert_nonnull (strstr (err, mentions));
  g_free (prefix);
  g_free (err);
}

static void
assert_file_is (const char *path, const char *expected, gsize expected_len)
{
  char *data = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_assert_cmpmem (data, len, expected, expected_len);
  g_free (data);
}

/* json-log.sh and review-file.sh with INPUT and LOG/OUTPUT swapped used to delete or truncate
 * the recording (rm -f of the log, filesink's truncation) before the pipeline failed on the
 * missing input. Every case here must stop with exit 2 before a pipeline runs, the recording
 * and the notes byte-identical; FUNAD_PRINT_PIPELINE=1 shows which outputs are accepted
 * without running anything. */
static void
test_scripts_refuse_swapped_arguments (void)
{
  ensure_demo_and_model ();
  char *dir = g_build_filename (work_dir, "scripts", NULL);
  char *recording = g_build_filename (dir, "recording.avi", NULL);
  char *log = g_build_filename (dir, "out.jsonl", NULL);
  char *annotated = g_build_filename (dir, "annotated.avi", NULL);
  char *notes = g_build_filename (dir, "notes.txt", NULL);
  char *test_avi = g_build_filename (demo_dir, "test.avi", NULL);
  char *video = NULL;
  gsize video_len = 0;
  const char *notes_text = "not a log\n";
  const char *print[] = { "FUNAD_PRINT_PIPELINE=1", NULL };
  const char *force[] = { "FUNAD_PRINT_PIPELINE=1", "FORCE=1", NULL };
  char *err = NULL;

  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  g_assert_true (g_file_get_contents (test_avi, &video, &video_len, NULL));
  g_assert_true (g_file_set_contents (recording, video, video_len, NULL));
  g_assert_true (g_file_set_contents (notes, notes_text, -1, NULL));

  /* swapped, the output not written yet: the input is missing */
  const char *log_swapped[] = { log, model_path, recording, NULL };
  assert_script_refuses ("json-log.sh", NULL, log_swapped, "does not exist");
  const char *review_swapped[] = { annotated, model_path, recording, NULL };
  assert_script_refuses ("review-file.sh", NULL, review_swapped, "does not exist");
  assert_file_is (recording, video, video_len);

  /* swapped after an earlier run: the input exists, the recording is the output */
  g_assert_true (g_file_set_contents (log, "{\"frame\":0}\n", -1, NULL));
  g_assert_true (g_file_set_contents (annotated, video, video_len, NULL));
  assert_script_refuses ("json-log.sh", NULL, log_swapped, "something other than JSON lines");
  assert_script_refuses ("review-file.sh", NULL, review_swapped, "already exists");
  assert_file_is (recording, video, video_len);

  /* a file that is not a log named as the log */
  const char *onto_notes[] = { recording, model_path, notes, NULL };
  assert_script_refuses ("json-log.sh", NULL, onto_notes, "something other than JSON lines");
  assert_file_is (notes, notes_text, strlen (notes_text));

  /* a pretty-printed JSON report (funad-review's report.json) named as the log: it starts with
   * "{" but its first line is no JSON object, and the element would refuse it too */
  char *report = g_build_filename (dir, "report.json", NULL);
  const char *report_text = "{\n  \"frames\" : 3\n}\n";
  g_assert_true (g_file_set_contents (report, report_text, -1, NULL));
  const char *onto_report[] = { recording, model_path, report, NULL };
  assert_script_refuses ("json-log.sh", NULL, onto_report, "something other than JSON lines");
  assert_file_is (report, report_text, strlen (report_text));
  g_free (report);

  /* an empty file (a recording an earlier run truncated) or a folder as the input */
  char *empty = g_build_filename (dir, "empty.avi", NULL);
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  const char *from_empty[] = { empty, model_path, log, NULL };
  assert_script_refuses ("json-log.sh", NULL, from_empty, "is empty");
  const char *from_folder[] = { dir, model_path, log, NULL };
  assert_script_refuses ("json-log.sh", NULL, from_folder, "is a folder");
  g_free (empty);

  /* the model named as the log, the recording as the model */
  const char *onto_model[] = { recording, model_path, model_path, NULL };
  assert_script_refuses ("json-log.sh", NULL, onto_model, "is the same file as MODEL");
  const char *recording_as_model[] = { recording, recording, log, NULL };
  assert_script_refuses ("json-log.sh", NULL, recording_as_model, "is not a loadable funad model");

  /* accepted: an earlier log is replaced; an existing video only with FORCE=1 */
  const char *log_again[] = { recording, model_path, log, NULL };
  g_assert_cmpint (run_script ("json-log.sh", print, log_again, &err), ==, 0);
  g_free (err);
  const char *review_again[] = { recording, model_path, annotated, NULL };
  assert_script_refuses ("review-file.sh", print, review_again, "FORCE=1");
  g_assert_cmpint (run_script ("review-file.sh", force, review_again, &err), ==, 0);
  g_free (err);

  /* a run that fails (the input is no video) keeps the earlier copy whole, even with FORCE=1,
   * and leaves no temporary file beside it */
  const char *force_run[] = { "FORCE=1", NULL };
  const char *review_junk[] = { notes, model_path, annotated, NULL };
  g_assert_cmpint (run_script ("review-file.sh", force_run, review_junk, &err), !=, 0);
  g_free (err);
  assert_file_is (annotated, video, video_len);
  GDir *listing = g_dir_open (dir, 0, NULL);
  for (const char *name; (name = g_dir_read_name (listing));)
    g_assert_false (g_str_has_prefix (name, ".annotated.avi."));
  g_dir_close (listing);

  /* a setting the element would only warn about, going on with its default */
  const char *interval0[] = { "INTERVAL=0", NULL };
  assert_script_refuses ("json-log.sh", interval0, log_again, "INTERVAL '0'");

  /* OVERLAY and COLORMAP went to gst-launch-1.0 unchecked: a value that is not one of the
   * element's stopped it with "could not set property" and exit 1, review-file.sh's RESULTS
   * already removed. Refused up front, naming each of the element's values; each of them is
   * accepted, and so is an empty one (the default). */
  GstElement *element = gst_element_factory_make ("funaddetect", NULL);
  const struct {
    const char *setting, *property;
  } choices[] = { { "OVERLAY", "overlay" }, { "COLORMAP", "colormap" } };
  const char *review_onto_log[] = { recording, model_path, annotated, log, NULL };
  const char *camera_args[] = { model_path, "/dev/funad-no-such-camera", NULL };

  g_assert_nonnull (element);
  g_assert_true (g_file_set_contents (log, "{\"frame\":0}\n", -1, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (choices); i++) {
    GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (element),
                                                      choices[i].property);
    GEnumClass *values = G_PARAM_SPEC_ENUM (pspec)->enum_class;
    gboolean on_camera = g_str_equal (choices[i].setting, "OVERLAY");

    for (const char *const *bad = (const char *const[]) { "true", "1", "Heat map", "INFERNO",
                                                           "both ", NULL }; *bad; bad++) {
      char *setting = g_strdup_printf ("%s=%s", choices[i].setting, *bad);
      const char *bad_run[] = { setting, "FORCE=1", NULL };
      const char *bad_print[] = { setting, "FUNAD_PRINT_PIPELINE=1", NULL };
      char *mentions = g_strdup_printf ("%s '%s' must be one of", choices[i].setting, *bad);

      g_assert_cmpint (run_script ("review-file.sh", bad_run, review_onto_log, &err), ==, 2);
      g_assert_true (g_str_has_prefix (err, "review-file.sh: "));
      g_assert_cmpstr (strchr (err, '\n') + 1, ==, "");  /* one line */
      g_assert_nonnull (strstr (err, mentions));
      for (guint v = 0; v < values->n_values; v++)
        g_assert_nonnull (strstr (err, values->values[v].value_nick));
      g_free (err);
      if (on_camera)
        assert_script_refuses ("camera.sh", bad_print, camera_args, mentions);
      g_free (mentions);
      g_free (setting);
    }
    for (guint v = 0; v <= values->n_values; v++) {
      char *setting = g_strdup_printf ("%s=%s", choices[i].setting,
                                       v < values->n_values ? values->values[v].value_nick : "");
      const char *good[] = { setting, "FUNAD_PRINT_PIPELINE=1", "FORCE=1", NULL };

      g_assert_cmpint (run_script ("review-file.sh", good, review_onto_log, &err), ==, 0);
      g_free (err);
      if (on_camera) {
        g_assert_cmpint (run_script ("camera.sh", good, camera_args, &err), ==, 0);
        g_free (err);
      }
      g_free (setting);
    }
  }
  gst_object_unref (element);

  /* WIDTH, HEIGHT (camera.sh) and LATENCY (rtsp.sh) went to gst-launch-1.0 unchecked too */
  const struct {
    const char *script, *setting, *good;
  } numbers[] = {
    { "camera.sh", "WIDTH=wide", "WIDTH=320" },
    { "camera.sh", "HEIGHT=-1", "HEIGHT=240" },
    { "camera.sh", "WIDTH=0", NULL },
    { "rtsp.sh", "LATENCY=fast", "LATENCY=0" },
    { "rtsp.sh", "LATENCY=1.5", NULL },
  };
  char *rtsp_log = g_build_filename (dir, "rtsp.jsonl", NULL);
  const char *rtsp_args[] = { "rtsp://127.0.0.1:1/none", model_path, rtsp_log, NULL };

  for (guint i = 0; i < G_N_ELEMENTS (numbers); i++) {
    gboolean camera = g_str_equal (numbers[i].script, "camera.sh");
    const char **args = camera ? camera_args : rtsp_args;
    const char *bad[] = { numbers[i].setting, "FUNAD_PRINT_PIPELINE=1", NULL };
    char *name = g_strndup (numbers[i].setting, strcspn (numbers[i].setting, "="));
    char *mentions = g_strdup_printf ("%s '%s' must be a whole number", name,
                                      strchr (numbers[i].setting, '=') + 1);

    assert_script_refuses (numbers[i].script, bad, args, mentions);
    if (numbers[i].good) {
      const char *good[] = { numbers[i].good, "FUNAD_PRINT_PIPELINE=1", NULL };

      g_assert_cmpint (run_script (numbers[i].script, good, args, &err), ==, 0);
      g_free (err);
    }
    g_free (mentions);
    g_free (name);
  }
  /* a leading zero is refused as such, not as "not a whole number" */
  const char *zero[] = { "WIDTH=0320", "FUNAD_PRINT_PIPELINE=1", NULL };
  assert_script_refuses ("camera.sh", zero, camera_args,
                         "WIDTH '0320' must be written without leading zeros");
  g_assert_false (g_file_test (rtsp_log, G_FILE_TEST_EXISTS));
  g_free (rtsp_log);
  assert_file_is (log, "{\"frame\":0}\n", strlen ("{\"frame\":0}\n"));
  assert_file_is (annotated, video, video_len);

  assert_file_is (recording, video, video_len);
  g_free (video);
  g_free (test_avi);
  g_free (notes);
  g_free (annotated);
  g_free (log);
  g_free (recording);
  g_free (dir);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  GError *error = NULL;
  work_dir = g_dir_make_tmp ("funad-e2e-XXXXXX", &error);
  g_assert_no_error (error);

  /* The element must come from this build (GST_PLUGIN_PATH), not be missing. */
  GstElementFactory *factory = gst_element_factory_find ("funaddetect");
  if (!factory)
    g_error ("funaddetect not found: GST_PLUGIN_PATH=%s", g_getenv ("GST_PLUGIN_PATH"));
  gst_object_unref (factory);

  g_test_add_func ("/e2e/train/rejects-empty-folder", test_train_rejects_empty_folder);
  g_test_add_func ("/e2e/train/rejects-non-image-file", test_train_rejects_non_image_file);
  g_test_add_func ("/e2e/pipeline/ranks-defective-frames-higher",
                   test_pipeline_ranks_defective_frames_higher);
  g_test_add_func ("/e2e/eval/reports-auroc-as-json", test_eval_reports_auroc_as_json);
  g_test_add_func ("/e2e/eval/agrees-with-element", test_eval_and_element_agree);
  g_test_add_func ("/e2e/make-demo/layout-holds-the-video-frames",
                   test_layout_holds_the_video_frames);
  g_test_add_func ("/e2e/make-demo/full-disk", test_make_demo_full_disk);
  g_test_add_func ("/e2e/eval/plain-layout-and-heatmaps", test_eval_plain_layout_and_heatmaps);
  g_test_add_func ("/e2e/eval/rejects-bad-input", test_eval_rejects_bad_input);
  g_test_add_func ("/e2e/train/rejects-unwritable-output", test_train_rejects_unwritable_output);
  g_test_add_func ("/e2e/train/reads-image-folder", test_train_reads_image_folder);
  g_test_add_func ("/e2e/train/interrupt-writes-nothing", test_train_interrupt_writes_nothing);
  g_test_add_func ("/e2e/train/captures-pipeline", test_train_captures_pipeline);
  g_test_add_func ("/e2e/train/drops-still-duplicates", test_train_drops_still_duplicates);
  g_test_add_func ("/e2e/train/skips-corrupt-video", test_train_skips_corrupt_video);
  g_test_add_func ("/e2e/train/rejects-output-under-file", test_train_rejects_output_under_file);
  g_test_add_func ("/e2e/train/rejects-device-output", test_train_rejects_device_output);
  g_test_add_func ("/e2e/train/rejects-empty-image", test_train_rejects_empty_image);
  g_test_add_func ("/e2e/train/refuses-to-overwrite-an-input",
                   test_train_refuses_to_overwrite_an_input);
  g_test_add_func ("/e2e/train/rejects-fifo-input", test_train_rejects_fifo_input);
  g_test_add_func ("/e2e/train/rejects-giant-frame", test_train_rejects_giant_frame);
  g_test_add_func ("/e2e/train/names-audio-only-file", test_train_names_audio_only_file);
  g_test_add_func ("/e2e/eval/refuses-outputs-over-inputs", test_eval_refuses_outputs_over_inputs);
  g_test_add_func ("/e2e/eval/normal-inside-anomalous", test_eval_normal_inside_anomalous);
  g_test_add_func ("/e2e/train/ignored-options-warn", test_ignored_options_warn);
  g_test_add_func ("/e2e/train/counts-truncated-video", test_train_counts_truncated_video);
  g_test_add_func ("/e2e/train/interrupt-during-capture", test_train_interrupt_during_capture);
  g_test_add_func ("/e2e/train/interrupt-keeps-old-model", test_train_interrupt_keeps_old_model);
  g_test_add_func ("/e2e/train/interrupt-silent-capture", test_train_interrupt_silent_capture);
  g_test_add_func ("/e2e/train/interrupt-stuck-branch", test_train_interrupt_stuck_branch);
  g_test_add_func ("/e2e/inspect/reports-model", test_inspect_reports_model);
  g_test_add_func ("/e2e/train/rejects-out-of-range-params",
                   test_train_rejects_out_of_range_params);
  g_test_add_func ("/e2e/options/reject-non-finite-numbers",
                   test_options_reject_non_finite_numbers);
  g_test_add_func ("/e2e/options/reject-empty-paths", test_options_reject_empty_paths);
  g_test_add_func ("/e2e/scripts/refuse-swapped-arguments",
                   test_scripts_refuse_swapped_arguments);

  int rc = g_test_run ();

  if (g_strcmp0 (g_getenv ("FUNAD_E2E_KEEP"), "1") == 0)
    g_printerr ("kept %s\n", work_dir);
  else
    remove_tree (work_dir);
  g_free (work_dir);
  g_free (demo_dir);
  g_free (layout_dir);
  g_free (model_path);
  if (video_results)
    g_array_unref (video_results);
  return rc;
}
