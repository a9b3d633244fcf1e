/* test-review.c — funad-review on generated footage with known defective segments.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Footage from $FUNAD_MAKE_DEMO (test-labels.csv says which frames show a defect), a small
 * model from $FUNAD_TRAIN, then $FUNAD_REVIEW with the model's own label-free threshold. The
 * report must agree with its own scores.csv, find the labelled defects, embed its pictures,
 * reference nothing outside itself, and render in headless Chromium (skipped when
 * /usr/bin/chromium is missing; $FUNAD_REVIEW_SCREENSHOT is tools/review-screenshot.sh).
 * FUNAD_REVIEW_KEEP=1 keeps the temporary folder.
 */
#include <math.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include "funad.h"
#include "run-pipeline.h"
#include "review-plot.h"
#include "review-report.h"

/* 16 s of footage: about ten defective parts pass, 1.6 s apart. */
#define DEMO_FPS 15
#define TEST_FRAMES "240"
#define MIN_GAP 0.25  /* funad-review's default --min-gap */

static char *work_dir;
static char *test_avi;
static char *model_path;
static char *report_dir;    /* the full review of test.avi */

/* ---- helpers -------------------------------------------------------------------------------- */

static const char *
tool (const char *env_name)
{
  const char *path = g_getenv (env_name);

  if (!path)
    g_error ("%s is not set (run the test through meson test)", env_name);
  return path;
}

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
  return WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : -1;
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

/* Not inlined: GCC 12 then mistakes the returned text for a pointer to a local variable. */
static G_GNUC_NO_INLINE char *
read_text (const char *dir, const char *name)
{
  char *path = g_build_filename (dir, name, NULL);
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    g_error ("cannot read %s", path);
  g_free (path);
  return text;
}

static guint
count_occurrences (const char *text, const char *needle)
{
  guint n = 0;

  for (const char *p = strstr (text, needle); p; p = strstr (p + 1, needle))
    n++;
  return n;
}

static JsonObject *
load_report (const char *dir, JsonParser *parser)
{
  char *text = read_text (dir, "report.json");
  GError *error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  g_free (text);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_node_get_object (json_parser_get_root (parser));
}

/* Frames a video decodes to, through a real GStreamer pipeline. */
static void
count_handoff (GstElement *sink, GstBuffer *buffer, GstPad *pad, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static guint
count_video_frames (const char *path)
{
  char *description = g_strdup_printf ("filesrc location=\"%s\" ! decodebin ! videoconvert ! "
                                       "fakesink name=sink signal-handoffs=true sync=false",
                                       path);
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (description, &error);
  guint n = 0;

  g_assert_no_error (error);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_signal_connect (sink, "handoff", G_CALLBACK (count_handoff), &n);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);

  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 120 * GST_SECOND,
                                                GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  g_free (description);
  return n;
}

/* The footage, the model and the full review, made once and shared by the tests. */
static void
ensure_review (void)
{
  if (report_dir)
    return;

  char *demo = g_build_filename (work_dir, "demo", NULL);
  char *train_avi = g_build_filename (demo, "train.avi", NULL);
  char *model = g_build_filename (work_dir, "model.safetensors", NULL);
  char *out = g_build_filename (work_dir, "review", NULL);
  char *video = g_build_filename (demo, "test.avi", NULL);
  const char *make_argv[] = { tool ("FUNAD_MAKE_DEMO"), "-q", "-o", demo, "--seed", "3",
                              "--test-frames", TEST_FRAMES, NULL };
  /* the end-to-end test's fast settings */
  const char *train_argv[] = { tool ("FUNAD_TRAIN"), "-q", "-o", model, "--size", "128",
                               "--seed", "1", "--threads", "2", train_avi,
                               NULL };
  const char *review_argv[] = { tool ("FUNAD_REVIEW"), "-q", "--annotated", "--model", model,
                                "-o", out, video, NULL };
  gint64 start = g_get_monotonic_time ();

  run_tool_ok (make_argv);
  run_tool_ok (train_argv);
  g_test_message ("footage and model: %.1f s", (g_get_monotonic_time () - start) / 1e6);

  start = g_get_monotonic_time ();
  char *stdout_text = NULL, *stderr_text = NULL;
  int status = run_tool (review_argv, &stdout_text, &stderr_text);
  g_test_message ("funad-review: %.1f s", (g_get_monotonic_time () - start) / 1e6);
  if (status != 0)
    g_error ("funad-review failed (status %d): %s", status, stderr_text);
  g_assert_cmpstr (stderr_text, ==, "");  /* -q: nothing but errors */

  test_avi = video;
  model_path = model;
  report_dir = out;
  g_free (stdout_text);
  g_free (stderr_text);
  g_free (train_avi);
  g_free (demo);
}

/* test-labels.csv as runs of labelled-defective frames: pairs of first, last frame. */
static GArray *
read_labels (void)
{
  char *dir = g_path_get_dirname (test_avi);
  char *text = read_text (dir, "test-labels.csv");
  char **lines = g_strsplit (text, "\n", -1);
  GArray *labels = g_array_new (FALSE, TRUE, sizeof (guint8));

  g_assert_cmpstr (lines[0], ==, "frame,label");
  for (int i = 1; lines[i] && lines[i][0]; i++) {
    guint frame, label;
    g_assert_cmpint (sscanf (lines[i], "%u,%u", &frame, &label), ==, 2);
    g_assert_cmpuint (frame, ==, labels->len);
    guint8 value = label;
    g_array_append_val (labels, value);
  }
  g_strfreev (lines);
  g_free (text);
  g_free (dir);
  return labels;
}

typedef struct {
  guint first, last;
} Run;

static GArray *
labelled_runs (GArray *labels)
{
  GArray *runs = g_array_new (FALSE, FALSE, sizeof (Run));

  for (guint i = 0; i < labels->len; i++) {
    if (!g_array_index (labels, guint8, i))
      continue;
    if (i > 0 && g_array_index (labels, guint8, i - 1))
      g_array_index (runs, Run, runs->len - 1).last = i;
    else
      g_array_append_val (runs, ((Run) { i, i }));
  }
  return runs;
}

typedef struct {
  guint frame;
  double time, score;
  gboolean anomaly;
} CsvRow;

/* scores.csv, checked line by line against the documented columns. */
static GArray *
read_scores (const char *dir, const char *expected_file)
{
  char *text = read_text (dir, "scores.csv");
  char **lines = g_strsplit (text, "\n", -1);
  GArray *rows = g_array_new (FALSE, FALSE, sizeof (CsvRow));

  g_assert_cmpstr (lines[0], ==, "file,frame,time,score,anomaly");
  for (int i = 1; lines[i] && lines[i][0]; i++) {
    char **fields = g_strsplit (lines[i], ",", -1);
    CsvRow row;

    g_assert_cmpuint (g_strv_length (fields), ==, 5);
    if (expected_file)
      g_assert_cmpstr (fields[0], ==, expected_file);
    row.frame = (guint) g_ascii_strtoull (fields[1], NULL, 10);
    row.time = g_ascii_strtod (fields[2], NULL);
    row.score = g_ascii_strtod (fields[3], NULL);
    row.anomaly = g_str_equal (fields[4], "1");
    g_assert_true (g_str_equal (fields[4], "0") || row.anomaly);
    g_assert_true (isfinite (row.score));
    g_array_append_val (rows, row);
    g_strfreev (fields);
  }
  g_strfreev (lines);
  g_free (text);
  return rows;
}

typedef struct {
  guint start, end, peak;
} Segment;

/* The segments the documented rule gives on scores.csv: runs of anomalous frames, a normal
 * stretch of at most min_gap seconds (first normal frame to next anomalous one) bridged. */
static GArray *
segments_from_scores (GArray *rows, double min_gap)
{
  GArray *segments = g_array_new (FALSE, FALSE, sizeof (Segment));
  gboolean open = FALSE;
  double normal_since = NAN, peak_score = 0;

  for (guint i = 0; i < rows->len; i++) {
    CsvRow *r = &g_array_index (rows, CsvRow, i);

    if (!r->anomaly) {
      if (open && isnan (normal_since))
        normal_since = r->time;
      if (open && r->time - normal_since > min_gap)
        open = FALSE;
      continue;
    }
    if (open && !isnan (normal_since) && r->time - normal_since > min_gap)
      open = FALSE;
    normal_since = NAN;
    if (!open) {
      g_array_append_val (segments, ((Segment) { r->frame, r->frame, r->frame }));
      peak_score = r->score;
      open = TRUE;
    }
    Segment *s = &g_array_index (segments, Segment, segments->len - 1);
    s->end = r->frame;
    if (r->score > peak_score) {
      peak_score = r->score;
      s->peak = r->frame;
    }
  }
  return segments;
}

static gboolean
in_runs (GArray *runs, guint frame)
{
  for (guint i = 0; i < runs->len; i++)
    if (frame >= g_array_index (runs, Run, i).first && frame <= g_array_index (runs, Run, i).last)
      return TRUE;
  return FALSE;
}

static int
compare_by_peak_score (gconstpointer a, gconstpointer b)
{
  double x = json_object_get_double_member (*(JsonObject *const *) a, "peak_score");
  double y = json_object_get_double_member (*(JsonObject *const *) b, "peak_score");
  return (x < y) - (x > y);
}

/* Width and height from a PNG's IHDR chunk, after checking the signature. */
static void
png_size (const guint8 *data, gsize size, guint *width, guint *height)
{
  static const guint8 signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

  g_assert_cmpuint (size, >, 24);
  g_assert_cmpmem (data, 8, signature, 8);
  g_assert_cmpmem (data + 12, 4, "IHDR", 4);
  *width = GUINT32_FROM_BE (*(const guint32 *) (data + 16));
  *height = GUINT32_FROM_BE (*(const guint32 *) (data + 20));
}

/* ---- the full review ------------------------------------------------------------------------ */

/* scores.csv: one row per frame, in order, with the frame's time and the model's threshold. */
static void
test_scores_csv_has_every_frame (void)
{
  ensure_review ();

  GArray *labels = read_labels ();
  GArray *rows = read_scores (report_dir, test_avi);
  GError *error = NULL;
  FunadModel *model = funad_model_load (model_path, &error);

  g_assert_no_error (error);
  double threshold = funad_model_threshold (model);
  g_assert_cmpuint (rows->len, ==, labels->len);
  for (guint i = 0; i < rows->len; i++) {
    CsvRow *r = &g_array_index (rows, CsvRow, i);
    g_assert_cmpuint (r->frame, ==, i);
    g_assert_cmpfloat_with_epsilon (r->time, (double) i / DEMO_FPS, 1e-3);
    g_assert_cmpint (r->anomaly, ==, r->score > threshold);
  }
  funad_model_unref (model);
  g_array_unref (rows);
  g_array_unref (labels);
}

/* The segments in report.json are the documented rule applied to scores.csv, and they find
 * the labelled defects: every defective run is covered, the strongest segments are defects and
 * so are the top frames. */
static void
test_segments_match_labelled_defects (void)
{
  ensure_review ();

  GArray *labels = read_labels ();
  GArray *runs = labelled_runs (labels);
  GArray *rows = read_scores (report_dir, NULL);
  GArray *expected = segments_from_scores (rows, MIN_GAP);
  JsonParser *parser = json_parser_new ();
  JsonObject *report = load_report (report_dir, parser);
  GError *error = NULL;
  FunadModel *model = funad_model_load (model_path, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (report, "threshold_source"), ==, "model");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (report, "threshold"),
                                  funad_model_threshold (model), 1e-6);
  g_assert_false (json_object_get_boolean_member (report, "interrupted"));
  g_assert_cmpuint (runs->len, >=, 5);  /* footage with several defects, or this proves little */

  /* the report's segments, exactly as the rule gives them on its own scores */
  JsonArray *segments = json_object_get_array_member (report, "segments");
  g_assert_cmpuint (json_array_get_length (segments), ==, expected->len);
  for (guint i = 0; i < expected->len; i++) {
    JsonObject *s = json_array_get_object_element (segments, i);
    Segment *e = &g_array_index (expected, Segment, i);

    g_assert_cmpint (json_object_get_int_member (s, "id"), ==, i + 1);
    g_assert_cmpstr (json_object_get_string_member (s, "file"), ==, test_avi);
    g_assert_cmpint (json_object_get_int_member (s, "start_frame"), ==, e->start);
    g_assert_cmpint (json_object_get_int_member (s, "end_frame"), ==, e->end);
    g_assert_cmpint (json_object_get_int_member (s, "peak_frame"), ==, e->peak);
    g_assert_cmpfloat_with_epsilon (json_object_get_double_member (s, "start_time"),
                                    (double) e->start / DEMO_FPS, 1e-3);
    g_assert_cmpfloat_with_epsilon (json_object_get_double_member (s, "end_time"),
                                    (double) e->end / DEMO_FPS, 1e-3);
  }

  /* every labelled defect lies (at least partly) in a reported segment */
  guint found = 0;
  for (guint r = 0; r < runs->len; r++) {
    Run *run = &g_array_index (runs, Run, r);
    for (guint i = 0; i < expected->len; i++) {
      Segment *e = &g_array_index (expected, Segment, i);
      if (e->start <= run->last && e->end >= run->first) {
        found++;
        break;
      }
    }
  }

  /* ranked by peak score, the strongest segments peak on a labelled defect */
  GPtrArray *ranked = g_ptr_array_new ();
  for (guint i = 0; i < json_array_get_length (segments); i++)
    g_ptr_array_add (ranked, json_array_get_object_element (segments, i));
  g_ptr_array_sort (ranked, compare_by_peak_score);
  guint strongest = MIN (runs->len, ranked->len), strongest_true = 0, all_true = 0;
  for (guint i = 0; i < ranked->len; i++) {
    gboolean hit = in_runs (runs, json_object_get_int_member (g_ptr_array_index (ranked, i),
                                                              "peak_frame"));
    all_true += hit;
    if (i < strongest)
      strongest_true += hit;
  }

  /* the top frames: highest first, spaced apart, mostly on defects */
  JsonArray *top = json_object_get_array_member (report, "top_frames");
  guint n_top = json_array_get_length (top), top_true = 0;
  g_assert_cmpuint (n_top, ==, 8);
  for (guint i = 0; i < n_top; i++) {
    JsonObject *t = json_array_get_object_element (top, i);
    gint64 frame = json_object_get_int_member (t, "frame");

    g_assert_cmpint (json_object_get_int_member (t, "rank"), ==, i + 1);
    g_assert_cmpfloat_with_epsilon (json_object_get_double_member (t, "score"),
                                    g_array_index (rows, CsvRow, frame).score, 1e-5);
    if (i > 0)
      g_assert_cmpfloat (json_object_get_double_member (t, "score"), <=,
                         json_object_get_double_member (json_array_get_object_element (top,
                                                        i - 1), "score"));
    for (guint j = 0; j < i; j++)
      g_assert_cmpfloat (fabs (json_object_get_double_member (t, "time") -
                               json_object_get_double_member (json_array_get_object_element (
                                 top, j), "time")), >=, 1.0 - 1e-6);
    top_true += labels->len > (guint) frame && g_array_index (labels, guint8, frame);
  }

  g_test_message ("%u labelled defects, %u found; %u segments, %u peaking on a defect; the %u "
                  "strongest: %u; top frames on a defect: %u of %u", runs->len, found,
                  ranked->len, all_true, strongest, strongest_true, top_true, n_top);
  /* The model's own threshold is label-free and conservative: most defects, not every one. */
  g_assert_cmpuint (5 * found, >=, 4 * runs->len);          /* at least 80% */
  g_assert_cmpuint (5 * strongest_true, >=, 4 * strongest);  /* at least 80% */
  g_assert_cmpuint (4 * top_true, >=, 3 * n_top);            /* at least 75% */

  g_ptr_array_unref (ranked);
  funad_model_unref (model);
  g_object_unref (parser);
  g_array_unref (expected);
  g_array_unref (rows);
  g_array_unref (runs);
  g_array_unref (labels);
}

/* index.html: the plot, a table row per segment, embedded PNG pictures (the top frames at
 * full size), and nothing fetched from anywhere. */
static void
test_html_is_self_contained (void)
{
  ensure_review ();

  char *html = read_text (report_dir, "index.html");
  JsonParser *parser = json_parser_new ();
  JsonObject *report = load_report (report_dir, parser);
  guint n_segments = json_array_get_length (json_object_get_array_member (report, "segments"));
  guint n_top = json_array_get_length (json_object_get_array_member (report, "top_frames"));

  g_assert_true (g_str_has_prefix (html, "<!DOCTYPE html>"));
  g_assert_nonnull (strstr (html, "</html>"));
  g_assert_cmpuint (count_occurrences (html, "<svg"), ==, 1);
  g_assert_cmpuint (count_occurrences (html, "<polyline class=\"plot-score\""), ==, 1);
  g_assert_cmpuint (count_occurrences (html, "class=\"plot-threshold\""), ==, 1);
  g_assert_cmpuint (count_occurrences (html, "<rect class=\"plot-segment\""), ==, n_segments);
  g_assert_cmpuint (count_occurrences (html, "<tr id=\"seg-"), ==, n_segments);
  g_assert_cmpuint (count_occurrences (html, "<figure id=\"top-"), ==, n_top);
  /* a picture per segment (fewer than --thumbnails of them) and per top frame */
  g_assert_cmpuint (count_occurrences (html, "src=\"data:image/png;base64,"), ==,
                    n_segments + n_top);
  g_assert_null (strstr (html, "http://"));
  g_assert_null (strstr (html, "https://"));
  g_assert_null (strstr (html, "<script"));
  g_assert_null (strstr (html, "<link"));
  g_assert_null (strstr (html, "url(http"));

  /* the first top frame's picture is a real PNG at the video's full size */
  const char *img = strstr (html, "<img class=\"full\"");
  g_assert_nonnull (img);
  const char *data = strstr (img, "base64,") + strlen ("base64,");
  char *encoded = g_strndup (data, strchr (data, '"') - data);
  gsize size;
  guchar *png = g_base64_decode (encoded, &size);
  guint width, height;
  png_size (png, size, &width, &height);
  g_assert_cmpuint (width, ==, 320);
  g_assert_cmpuint (height, ==, 240);

  g_free (png);
  g_free (encoded);
  g_object_unref (parser);
  g_free (html);
}

/* --annotated: a video of every scored frame beside the report. */
static void
test_annotated_video_has_every_frame (void)
{
  ensure_review ();

  char *path = g_build_filename (report_dir, "test-annotated.avi", NULL);
  GArray *labels = read_labels ();

  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpuint (count_video_frames (path), ==, labels->len);
  g_array_unref (labels);
  g_free (path);
}

/* The page renders in headless Chromium: the screenshot shows the score line and the shaded
 * segments, so the SVG drew, offline. */
static void
test_html_renders_in_chromium (void)
{
  if (!g_file_test ("/usr/bin/chromium", G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip ("/usr/bin/chromium is not installed (Debian: apt-get install chromium)");
    return;
  }
  ensure_review ();

  char *shot = g_build_filename (work_dir, "screenshot.png", NULL);
  const char *argv[] = { "/bin/sh", tool ("FUNAD_REVIEW_SCREENSHOT"), report_dir, shot,
                         "1280x1000", NULL };
  run_tool_ok (argv);

  char *description = g_strdup_printf ("filesrc location=\"%s\" ! pngdec ! videoconvert ! "
                                       "video/x-raw,format=RGB ! fakesink name=sink "
                                       "enable-last-sample=true", shot);
  GstElement *pipeline = play_until_eos (description);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstSample *sample = NULL;
  g_object_get (sink, "last-sample", &sample, NULL);
  g_assert_nonnull (sample);
  GstStructure *caps = gst_caps_get_structure (gst_sample_get_caps (sample), 0);
  int width = 0, height = 0;
  gst_structure_get_int (caps, "width", &width);
  gst_structure_get_int (caps, "height", &height);
  g_assert_cmpint (width, ==, 1280);
  g_assert_cmpint (height, ==, 1000);

  GstMapInfo map;
  GstBuffer *buffer = gst_sample_get_buffer (sample);
  guint shaded = 0, blue = 0;
  int stride = GST_ROUND_UP_4 (width * 3);
  g_assert_true (gst_buffer_map (buffer, &map, GST_MAP_READ));
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      const guint8 *p = map.data + (gsize) y * stride + 3 * x;
      /* segment bands: #c62828 at 16% over the plot's #fbfcfe; nothing else has this colour */
      shaded += abs (p[0] - 242) < 8 && abs (p[1] - 218) < 8 && abs (p[2] - 220) < 8;
      blue += p[2] > 140 && p[0] < 90 && p[1] < 130;  /* the score line, #1f5fbf */
    }
  gst_buffer_unmap (buffer, &map);
  g_test_message ("screenshot %s: %u pixels of segment bands, %u of score line", shot, shaded,
                  blue);
  g_assert_cmpuint (shaded, >, 5000);
  g_assert_cmpuint (blue, >, 300);

  gst_sample_unref (sample);
  gst_object_unref (sink);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  g_free (description);
  g_free (shot);
}

/* ---- the plot of a long recording -------------------------------------------------------- */

/* An hour at 30 fps: the SVG keeps one min/max pair per pixel column, stays small, and still
 * shows a single-frame spike at its full height. */
static void
test_plot_of_an_hour_keeps_peaks (void)
{
  ReviewReport *report = review_report_new ();
  ReviewInput *input = g_new0 (ReviewInput, 1);
  const guint n = 3600 * 30, spike = 77777;

  input->path = g_strdup ("hour.mp4");
  input->frames = g_array_sized_new (FALSE, FALSE, sizeof (ReviewFrame), n);
  for (guint i = 0; i < n; i++) {
    ReviewFrame f = { i, i / 30.0f, 1.0f + 0.5f * sinf (i * 0.01f) };
    if (i == spike)
      f.score = 10.0f;
    g_array_append_val (input->frames, f);
  }
  input->duration = n / 30.0;
  g_ptr_array_add (report->inputs, input);
  report->threshold = 4.0;

  GString *svg = g_string_new (NULL);
  review_plot_svg (svg, report);
  g_test_message ("SVG of %u frames: %" G_GSIZE_FORMAT " bytes", n, svg->len);
  g_assert_cmpuint (svg->len, <, 200 * 1024);

  /* the score line: at most two points per column of the 1200-unit-wide plot */
  const char *line = strstr (svg->str, "<polyline class=\"plot-score\"");
  g_assert_nonnull (line);
  const char *points = strstr (line, "points=\"") + strlen ("points=\"");
  char *list = g_strndup (points, strchr (points, '"') - points);
  char **pairs = g_strsplit (g_strstrip (list), " ", -1);
  guint n_points = g_strv_length (pairs);
  double top = G_MAXDOUBLE, spike_x = 0;

  g_assert_cmpuint (n_points, >, 1000);
  g_assert_cmpuint (n_points, <=, 2 * 1200);
  for (guint i = 0; i < n_points; i++) {
    double x = g_ascii_strtod (pairs[i], NULL), y = g_ascii_strtod (strchr (pairs[i], ',') + 1,
                                                                    NULL);
    if (y < top) {
      top = y;
      spike_x = x;
    }
  }
  /* the highest point is the spike, where the time axis puts frame 77777 */
  double plot_left = 64, plot_width = 1200 - 64 - 24;
  g_assert_cmpfloat (fabs (spike_x - (plot_left + plot_width * spike / n)), <, 1.5);

  /* and stands far above everything else (scores up to 1.5), as in the data */
  double rest_top = G_MAXDOUBLE;
  for (guint i = 0; i < n_points; i++) {
    double x = g_ascii_strtod (pairs[i], NULL), y = g_ascii_strtod (strchr (pairs[i], ',') + 1,
                                                                    NULL);
    if (fabs (x - spike_x) > 2)
      rest_top = MIN (rest_top, y);
  }
  g_assert_cmpfloat (rest_top - top, >, 0.5 * 150);  /* half the plot's height */

  g_strfreev (pairs);
  g_free (list);
  g_string_free (svg, TRUE);
  review_report_free (report);
}

/* ---- options -------------------------------------------------------------------------------- */

/* Three inputs (one twice, one with a name full of HTML), every 8th frame, a threshold by
 * hand above every score: a plot row per input, no segment, names escaped, and an annotated
 * video per input even when their names collide. */
static void
test_every_threshold_and_three_inputs (void)
{
  ensure_review ();

  char *odd = g_build_filename (work_dir, "odd <b>name & more.avi", NULL);
  char *other_dir = g_build_filename (work_dir, "other", NULL);
  char *other = g_build_filename (other_dir, "test.avi", NULL);  /* same name, another file */
  char *out = g_build_filename (work_dir, "review-every", NULL);
  const char *argv[] = { tool ("FUNAD_REVIEW"), "-q", "--annotated", "--every", "8",
                         "--threshold", "1e9", "--top", "3", "--model", model_path, "-o", out,
                         test_avi, other, odd, NULL };
  char *video = NULL;
  gsize video_len = 0;

  g_assert_true (g_file_get_contents (test_avi, &video, &video_len, NULL));
  g_assert_cmpint (g_mkdir_with_parents (other_dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (other, video, video_len, NULL));
  g_assert_true (g_file_set_contents (odd, video, video_len, NULL));
  g_free (video);
  run_tool_ok (argv);

  GArray *rows = read_scores (out, NULL);
  g_assert_cmpuint (rows->len, ==, 3 * 240 / 8);
  for (guint i = 0; i < rows->len; i++) {
    g_assert_cmpuint (g_array_index (rows, CsvRow, i).frame, ==, (i % 30) * 8);
    g_assert_false (g_array_index (rows, CsvRow, i).anomaly);
  }

  JsonParser *parser = json_parser_new ();
  JsonObject *report = load_report (out, parser);
  g_assert_cmpstr (json_object_get_string_member (report, "threshold_source"), ==, "option");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (report, "inputs")), ==,
                    3);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (report, "segments")),
                    ==, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (report, "top_frames")),
                    ==, 3);

  char *html = read_text (out, "index.html");
  g_assert_cmpuint (count_occurrences (html, "class=\"plot-file\""), ==, 3);
  g_assert_nonnull (strstr (html, "No frame scored above the threshold."));
  g_assert_nonnull (strstr (html, "odd &lt;b&gt;name &amp; more.avi"));
  g_assert_null (strstr (html, "<b>name"));
  /* two inputs named test.avi are told apart by their paths */
  char *label = g_strdup_printf (">%s</span>", other);
  g_assert_nonnull (strstr (html, label));
  g_free (label);

  char *first = g_build_filename (out, "test-annotated.avi", NULL);
  char *second = g_build_filename (out, "test-2-annotated.avi", NULL);
  char *third = g_build_filename (out, "odd <b>name & more-annotated.avi", NULL);
  g_assert_cmpuint (count_video_frames (first), ==, 30);
  g_assert_cmpuint (count_video_frames (second), ==, 30);
  g_assert_true (g_file_test (third, G_FILE_TEST_IS_REGULAR));

  g_free (first);
  g_free (second);
  g_free (third);
  g_free (html);
  g_object_unref (parser);
  g_array_unref (rows);
  g_free (out);
  g_free (other);
  g_free (other_dir);
  g_free (odd);
}

/* An AVI of `frames` 160 x 120 test-pattern frames at 15 fps. */
static void
write_test_clip (const char *path, int frames)
{
  char *description = g_strdup_printf ("videotestsrc num-buffers=%d ! video/x-raw,width=160,"
                                       "height=120,framerate=15/1 ! videoconvert ! jpegenc ! "
                                       "avimux ! filesink location=\"%s\"", frames, path);
  run_pipeline_to_eos (description);
  g_free (description);
}

/* A video of one frame covers that frame's own duration (15 fps: 1/15 s), not an assumed
 * 25 fps. */
static void
test_one_frame_video_duration (void)
{
  ensure_review ();

  char *video = g_build_filename (work_dir, "one-frame.avi", NULL);
  char *out = g_build_filename (work_dir, "review-one-frame", NULL);
  write_test_clip (video, 1);

  const char *argv[] = { tool ("FUNAD_REVIEW"), "-q", "--model", model_path, "-o", out, video,
                         NULL };
  run_tool_ok (argv);
  JsonParser *parser = json_parser_new ();
  JsonObject *report = load_report (out, parser);
  JsonObject *input = json_array_get_object_element (
      json_object_get_array_member (report, "inputs"), 0);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (input, "duration"), 1.0 / 15,
                                  1e-3);
  g_object_unref (parser);
  g_free (out);
  g_free (video);
}

/* Frames too small for the annotated video (8 x 8): that input's error, named, and the report
 * of the run still written. The next input's annotated video is its own (the tiny frame,
 * held for the writer that failed to open, became the next input's first frame, whose
 * writer then failed too). */
static void
test_annotated_too_small_keeps_report (void)
{
  ensure_review ();

  char *image = g_build_filename (work_dir, "tiny.png", NULL);
  char *next = g_build_filename (work_dir, "after-tiny.png", NULL);
  char *out = g_build_filename (work_dir, "review-tiny", NULL);
  char *description = g_strdup_printf ("videotestsrc num-buffers=1 ! video/x-raw,width=8,"
                                       "height=8 ! videoconvert ! pngenc ! filesink "
                                       "location=\"%s\"", image);
  run_pipeline_to_eos (description);
  g_free (description);
  description = g_strdup_printf ("videotestsrc num-buffers=1 ! video/x-raw,width=64,"
                                 "height=48 ! videoconvert ! pngenc ! filesink "
                                 "location=\"%s\"", next);
  run_pipeline_to_eos (description);

  const char *argv[] = { tool ("FUNAD_REVIEW"), "-q", "--annotated", "--model", model_path,
                         "-o", out, image, next, NULL };
  char *stdout_text = NULL, *stderr_text = NULL;
  int status = run_tool (argv, &stdout_text, &stderr_text);
  g_test_message ("status %d, stderr: %s", status, stderr_text);
  g_assert_cmpint (status, ==, 1);
  g_assert_nonnull (strstr (stderr_text, "too small for the video"));
  g_assert_null (strstr (stderr_text, "(null)"));
  char *html = g_build_filename (out, "index.html", NULL);
  char *json = g_build_filename (out, "report.json", NULL);
  g_assert_true (g_file_test (html, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (json, G_FILE_TEST_IS_REGULAR));
  JsonParser *parser = json_parser_new ();
  JsonArray *inputs = json_object_get_array_member (load_report (out, parser), "inputs");
  g_assert_cmpuint (json_array_get_length (inputs), ==, 2);
  JsonObject *second = json_array_get_object_element (inputs, 1);
  g_assert_true (json_object_get_null_member (second, "error"));
  char *video = g_build_filename (out, "after-tiny-annotated.avi", NULL);
  g_assert_true (g_file_test (video, G_FILE_TEST_IS_REGULAR));
  g_free (video);
  g_object_unref (parser);

  g_free (json);
  g_free (html);
  g_free (stdout_text);
  g_free (stderr_text);
  g_free (description);
  g_free (out);
  g_free (next);
  g_free (image);
}

/* ---- error paths ---------------------------------------------------------------------------- */

/* Non-zero status, exactly one line "funad-review: error: ..." mentioning `mentions`. */
static void
assert_fails_cleanly (const char *const *argv, const char *mentions)
{
  char *out = NULL, *err = NULL;
  int status = run_tool (argv, &out, &err);

  g_test_message ("status %d, stderr: %s", status, err);
  g_assert_cmpint (status, >, 0);
  g_assert_true (g_str_has_prefix (err, "funad-review: error: "));
  g_assert_nonnull (strchr (err, '\n'));
  g_assert_cmpstr (strchr (err, '\n') + 1, ==, "");
  g_assert_nonnull (strstr (err, mentions));
  g_free (out);
  g_free (err);
}

/* An annotated video is never written over an input: reviewing clip.avi beside a recording
 * named clip-annotated.avi (last run's output, say) replaced that recording, silently. The
 * report's own files are refused as inputs, before anything is written. */
static void
test_outputs_never_overwrite_inputs (void)
{
  ensure_review ();

  char *out = g_build_filename (work_dir, "review-over-inputs", NULL);
  char *clip = g_build_filename (work_dir, "clip.avi", NULL);
  char *recording = g_build_filename (out, "clip-annotated.avi", NULL);
  char *renamed = g_build_filename (out, "clip-2-annotated.avi", NULL);
  char *scores = g_build_filename (out, "scores.csv", NULL);
  char *before = NULL, *after = NULL;
  gsize before_len = 0, after_len = 0;

  write_test_clip (clip, 3);
  g_assert_cmpint (g_mkdir_with_parents (out, 0755), ==, 0);
  g_assert_true (g_file_set_contents (recording, "a recording, not ours to replace", -1, NULL));
  g_assert_true (g_file_get_contents (recording, &before, &before_len, NULL));

  const char *argv[] = { tool ("FUNAD_REVIEW"), "-q", "--annotated", "--model", model_path,
                         "-o", out, clip, recording, NULL };
  char *stdout_text = NULL, *stderr_text = NULL;
  /* the "recording" does not decode: status 1, its error in the report, and it is untouched */
  g_assert_cmpint (run_tool (argv, &stdout_text, &stderr_text), ==, 1);
  g_assert_true (g_file_get_contents (recording, &after, &after_len, NULL));
  g_assert_cmpmem (before, before_len, after, after_len);
  g_assert_cmpuint (count_video_frames (renamed), ==, 3);

  g_assert_true (g_file_set_contents (scores, "frame,time,score\n", -1, NULL));
  const char *over_report[] = { tool ("FUNAD_REVIEW"), "--model", model_path, "-o", out, clip,
                                scores, NULL };
  assert_fails_cleanly (over_report, "the report would be written over this input");

  g_free (stdout_text);
  g_free (stderr_text);
  g_free (before);
  g_free (after);
  g_free (scores);
  g_free (renamed);
  g_free (recording);
  g_free (clip);
  g_free (out);
}

/* GOption reads "inf" and "nan" as numbers: --min-gap inf used to be written into report.json
 * as inf.0 (not JSON) and NaN was refused as "negative". Checked before the model is read. */
static void
test_rejects_non_finite_numbers (void)
{
  const char *review = tool ("FUNAD_REVIEW");
  char *out = g_build_filename (work_dir, "never-written-non-finite", NULL);
  const char *cases[][2] = {
    { "--min-gap", "inf" }, { "--min-gap", "nan" }, { "--top-spacing", "-inf" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    const char *argv[] = { review, "--model", "unused.model", "-o", out, cases[i][0],
                           cases[i][1], "unused.avi", NULL };
    char *expected = g_strdup_printf ("%s must be a finite number", cases[i][0]);
    assert_fails_cleanly (argv, expected);
    g_free (expected);
  }
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_free (out);
}

static void
test_rejects_bad_model_and_output (void)
{
  ensure_review ();

  const char *review = tool ("FUNAD_REVIEW");
  char *missing_model = g_build_filename (work_dir, "missing.model", NULL);
  char *corrupt_model = g_build_filename (work_dir, "corrupt.model", NULL);
  char *missing_video = g_build_filename (work_dir, "missing.avi", NULL);
  char *a_file = g_build_filename (work_dir, "a-file", NULL);
  char *under_file = g_build_filename (a_file, "out", NULL);
  char *out = g_build_filename (work_dir, "never-written", NULL);

  g_assert_true (g_file_set_contents (corrupt_model, "\x10\0\0\0\0\0\0\0{not json at all", 24,
                                      NULL));
  g_assert_true (g_file_set_contents (a_file, "a file, not a folder\n", -1, NULL));

  const char *no_model[] = { review, "--model", missing_model, "-o", out, test_avi, NULL };
  const char *bad_model[] = { review, "--model", corrupt_model, "-o", out, test_avi, NULL };
  const char *no_video[] = { review, "--model", model_path, "-o", out, missing_video, NULL };
  const char *file_as_dir[] = { review, "--model", model_path, "-o", a_file, test_avi, NULL };
  const char *unwritable[] = { review, "--model", model_path, "-o", under_file, test_avi, NULL };

  assert_fails_cleanly (no_model, missing_model);
  assert_fails_cleanly (bad_model, corrupt_model);
  assert_fails_cleanly (no_video, missing_video);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));  /* checked before writing anything */
  assert_fails_cleanly (file_as_dir, a_file);
  assert_fails_cleanly (unwritable, under_file);
  const char *twice[] = { review, "--model", model_path, "-o", out, test_avi, test_avi, NULL };
  assert_fails_cleanly (twice, "given twice");
  const char *empty_output[] = { review, "--model", model_path, "-o", "", test_avi, NULL };
  assert_fails_cleanly (empty_output, "--output is an empty path");
  const char *empty_input[] = { review, "--model", model_path, "-o", out, "", NULL };
  assert_fails_cleanly (empty_input, "an input is an empty path");
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  /* NaN must not pass for "no threshold given" (the model's) */
  const char *nan_threshold[] = { review, "--model", model_path, "--threshold", "nan", "-o", out,
                                  test_avi, NULL };
  assert_fails_cleanly (nan_threshold, "--threshold must be a finite number");
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));

  g_free (missing_model);
  g_free (corrupt_model);
  g_free (missing_video);
  g_free (a_file);
  g_free (under_file);
  g_free (out);
}

/* A file that is not a video: an error line naming it, status 1, and a report saying so for
 * the inputs that did decode. */
static void
test_broken_input_is_reported (void)
{
  ensure_review ();

  char *notes = g_build_filename (work_dir, "notes.avi", NULL);
  char *out = g_build_filename (work_dir, "review-broken", NULL);
  const char *argv[] = { tool ("FUNAD_REVIEW"), "-q", "--every", "16", "--model", model_path,
                         "-o", out, notes, test_avi, NULL };

  g_assert_true (g_file_set_contents (notes, "these are not pixels\n", -1, NULL));
  assert_fails_cleanly (argv, notes);

  JsonParser *parser = json_parser_new ();
  JsonObject *report = load_report (out, parser);
  JsonArray *inputs = json_object_get_array_member (report, "inputs");
  g_assert_cmpuint (json_array_get_length (inputs), ==, 2);
  g_assert_false (json_object_get_null_member (json_array_get_object_element (inputs, 0),
                                               "error"));
  g_assert_true (json_object_get_null_member (json_array_get_object_element (inputs, 1),
                                              "error"));
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (inputs, 1),
                                               "frames_scored"), ==, 15);
  g_object_unref (parser);
  g_free (out);
  g_free (notes);
}

/* When nothing at all decodes, the earlier report in DIR stays as it was (an empty report
 * replaced a good one before). */
static void
test_nothing_scored_keeps_report (void)
{
  ensure_review ();

  char *notes = g_build_filename (work_dir, "only-notes.avi", NULL);
  char *out = g_build_filename (work_dir, "review-kept", NULL);
  char *html = g_build_filename (out, "index.html", NULL);
  char *csv = g_build_filename (out, "scores.csv", NULL);
  const char *good[] = { tool ("FUNAD_REVIEW"), "-q", "--every", "16", "--model", model_path,
                         "-o", out, test_avi, NULL };
  const char *bad[] = { tool ("FUNAD_REVIEW"), "-q", "--model", model_path, "-o", out, notes,
                        NULL };
  char *before_html, *before_csv, *after_html, *after_csv;
  gsize l1, l2, l3, l4;

  run_tool_ok (good);
  g_assert_true (g_file_get_contents (html, &before_html, &l1, NULL));
  g_assert_true (g_file_get_contents (csv, &before_csv, &l2, NULL));
  g_assert_true (g_file_set_contents (notes, "these are not pixels\n", -1, NULL));
  assert_fails_cleanly (bad, "nothing written");
  g_assert_true (g_file_get_contents (html, &after_html, &l3, NULL));
  g_assert_true (g_file_get_contents (csv, &after_csv, &l4, NULL));
  g_assert_cmpmem (after_html, l3, before_html, l1);
  g_assert_cmpmem (after_csv, l4, before_csv, l2);
  g_free (after_csv);
  g_free (after_html);
  g_free (before_csv);
  g_free (before_html);
  g_free (csv);
  g_free (html);
  g_free (out);
  g_free (notes);
}

/* The page cannot be written (its temporary name is taken by a folder, as a full disk would
 * fail it): the run fails, and the earlier report's page, scores, JSON and annotated video
 * are all as they were, no temporary file left. scores.csv used to be renamed into place
 * before the page was written, report.json and the video written over: a report of two runs. */
static void
test_failed_page_keeps_report (void)
{
  ensure_review ();

  char *out = g_build_filename (work_dir, "review-page-fails", NULL);
  char *blocker = g_build_filename (out, "index.html.part", NULL);
  char *video = g_path_get_basename (test_avi);
  *strrchr (video, '.') = '\0';
  char *annotated = g_strdup_printf ("%s-annotated.avi", video);
  const char *names[] = { "index.html", "scores.csv", "report.json", annotated };
  const char *first[] = { tool ("FUNAD_REVIEW"), "-q", "--annotated", "--every", "16",
                          "--model", model_path, "-o", out, test_avi, NULL };
  const char *again[] = { tool ("FUNAD_REVIEW"), "-q", "--annotated", "--every", "8",
                          "--model", model_path, "-o", out, test_avi, NULL };
  char *before[G_N_ELEMENTS (names)];
  gsize before_len[G_N_ELEMENTS (names)];

  run_tool_ok (first);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    char *path = g_build_filename (out, names[i], NULL);
    g_assert_true (g_file_get_contents (path, &before[i], &before_len[i], NULL));
    g_free (path);
  }
  g_assert_cmpint (g_mkdir (blocker, 0755), ==, 0);
  assert_fails_cleanly (again, "index.html.part");
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    char *path = g_build_filename (out, names[i], NULL);
    char *part = g_strconcat (path, ".part", NULL);
    char *after;
    gsize after_len;
    g_assert_true (g_file_get_contents (path, &after, &after_len, NULL));
    g_assert_cmpmem (after, after_len, before[i], before_len[i]);
    if (i != 0)  /* index.html.part is the blocking folder */
      g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
    g_free (after);
    g_free (before[i]);
    g_free (part);
    g_free (path);
  }
  g_rmdir (blocker);
  g_free (annotated);
  g_free (video);
  g_free (blocker);
  g_free (out);
}

/* A single file that is not a video: the one error line alone (no "0 frames scored" line for a
 * file that gave no frame), status 1, and no empty folder left behind. Among good videos, a
 * second such file is named in a warning (the run's error line names only the first). */
static void
test_undecodable_input_writes_nothing (void)
{
  ensure_review ();

  char *labels = g_build_filename (work_dir, "labels.csv", NULL);
  char *more = g_build_filename (work_dir, "more-labels.csv", NULL);
  char *out = g_build_filename (work_dir, "review-undecodable", NULL);
  const char *single[] = { tool ("FUNAD_REVIEW"), "--model", model_path, "-o", out, labels,
                           NULL };
  const char *mixed[] = { tool ("FUNAD_REVIEW"), "--every", "16", "--model", model_path, "-o",
                          out, test_avi, labels, more, NULL };
  char *std_out = NULL, *err = NULL;

  g_assert_true (g_file_set_contents (labels, "frame,defect\n0,0\n1,1\n", -1, NULL));
  g_assert_true (g_file_set_contents (more, "frame,defect\n0,1\n", -1, NULL));
  g_assert_cmpint (run_tool (single, &std_out, &err), ==, 1);
  g_test_message ("stderr: %s", err);
  g_assert_true (g_str_has_prefix (err, "funad-review: error: "));
  g_assert_nonnull (strstr (err, labels));
  g_assert_nonnull (strstr (err, "nothing written"));
  g_assert_cmpuint (count_occurrences (err, "\n"), ==, 1);
  g_assert_true (g_str_has_suffix (err, "\n"));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_clear_pointer (&std_out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run_tool (mixed, &std_out, &err), ==, 1);
  g_test_message ("stderr: %s", err);
  g_assert_null (strstr (err, "0 frames scored"));
  char *warning = g_strdup_printf ("funad-review: warning: %s: ", more);
  char *last_line = g_strdup_printf ("funad-review: error: %s: ", labels);
  g_assert_nonnull (strstr (err, warning));
  g_assert_nonnull (strstr (err, last_line));
  g_assert_cmpstr (strchr (strstr (err, last_line), '\n'), ==, "\n");  /* the last line */
  g_assert_true (g_file_test (out, G_FILE_TEST_IS_DIR));  /* test.avi's report */

  g_free (last_line);
  g_free (warning);
  g_free (std_out);
  g_free (err);
  g_free (out);
  g_free (more);
  g_free (labels);
}

/* Ctrl-C: decoding stops, the report of what was scored is still written, status 130. */
static void
test_interrupt_writes_partial_report (void)
{
  ensure_review ();

  char *out = g_build_filename (work_dir, "review-interrupted", NULL);
  const char *argv[16];
  int n = 0;

  argv[n++] = tool ("FUNAD_REVIEW");
  argv[n++] = "--model";
  argv[n++] = model_path;
  argv[n++] = "-o";
  argv[n++] = out;
  /* first a file that gives no frame: the closing line is not its error, so it is warned of */
  char *broken = g_build_filename (work_dir, "interrupted-labels.csv", NULL);
  g_assert_true (g_file_set_contents (broken, "frame,defect\n0,0\n", -1, NULL));
  argv[n++] = broken;
  /* copies of the same video (one file named twice is refused), so scoring outlasts the
   * interrupt */
  char *video = NULL, *copies[7];
  gsize video_len = 0;
  g_assert_true (g_file_get_contents (test_avi, &video, &video_len, NULL));
  for (int i = 0; i < 7; i++) {
    char *name = g_strdup_printf ("interrupted-%d.avi", i);
    copies[i] = g_build_filename (work_dir, name, NULL);
    g_assert_true (g_file_set_contents (copies[i], video, video_len, NULL));
    argv[n++] = copies[i];
    g_free (name);
  }
  g_free (video);
  argv[n] = NULL;

  GError *error = NULL;
  GPid pid;
  int err_fd;
  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                           NULL, NULL, &pid, NULL, NULL, &err_fd, &error));
  g_assert_no_error (error);

  /* the first progress line comes after the first frame is scored */
  GString *line = g_string_new (NULL);
  char c;
  while (read (err_fd, &c, 1) == 1 && c != '\n')
    g_string_append_c (line, c);
  g_test_message ("first line: %s", line->str);
  g_assert_true (g_str_has_prefix (line->str, "funad-review: [2/8]"));
  g_assert_cmpint (kill (pid, SIGINT), ==, 0);

  int wait_status = 0, reaped = 0;
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while ((reaped = waitpid (pid, &wait_status, WNOHANG)) == 0 && g_get_monotonic_time () < deadline)
    g_usleep (20000);
  if (reaped == 0) {
    kill (pid, SIGKILL);
    waitpid (pid, &wait_status, 0);
    g_error ("funad-review did not stop within 60 s of SIGINT");
  }
  g_assert_true (WIFEXITED (wait_status));
  g_assert_cmpint (WEXITSTATUS (wait_status), ==, 130);

  JsonParser *parser = json_parser_new ();
  JsonObject *report = load_report (out, parser);
  g_assert_true (json_object_get_boolean_member (report, "interrupted"));
  guint n_inputs = json_array_get_length (json_object_get_array_member (report, "inputs"));
  g_assert_cmpuint (n_inputs, >=, 2);
  g_assert_cmpuint (n_inputs, <, 8);
  char *html = read_text (out, "index.html");
  g_assert_nonnull (strstr (html, "The review was interrupted"));
  /* scores.csv is in place (written under a temporary name until the report was) */
  char *csv = read_text (out, "scores.csv");
  g_assert_true (g_str_has_prefix (csv, "file,frame,time,score,anomaly\n"));
  char *part = g_build_filename (out, "scores.csv.part", NULL);
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
  /* the interrupt was acknowledged at once, saying what happens */
  char rest[4096];
  ssize_t got = read (err_fd, rest, sizeof rest - 1);
  rest[MAX (got, 0)] = '\0';
  g_assert_nonnull (strstr (rest, "interrupted; writing the report"));
  char *warning = g_strdup_printf ("funad-review: warning: %s: ", broken);
  g_assert_nonnull (strstr (rest, warning));
  g_free (warning);
  /* not a terminal: no blank line before it */
  g_assert_cmpint (rest[0], !=, '\n');
  g_assert_null (strstr (rest, "\n\n"));
  g_free (part);
  g_free (csv);

  g_free (html);
  g_object_unref (parser);
  close (err_fd);
  g_spawn_close_pid (pid);
  g_string_free (line, TRUE);
  for (int i = 0; i < 7; i++)
    g_free (copies[i]);
  g_free (broken);
  g_free (out);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  GError *error = NULL;
  work_dir = g_dir_make_tmp ("funad-review-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/review/scores-csv-has-every-frame", test_scores_csv_has_every_frame);
  g_test_add_func ("/review/segments-match-labelled-defects",
                   test_segments_match_labelled_defects);
  g_test_add_func ("/review/html-is-self-contained", test_html_is_self_contained);
  g_test_add_func ("/review/annotated-video-has-every-frame",
                   test_annotated_video_has_every_frame);
  g_test_add_func ("/review/html-renders-in-chromium", test_html_renders_in_chromium);
  g_test_add_func ("/review/plot-of-an-hour-keeps-peaks", test_plot_of_an_hour_keeps_peaks);
  g_test_add_func ("/review/every-threshold-and-three-inputs",
                   test_every_threshold_and_three_inputs);
  g_test_add_func ("/review/one-frame-video-duration", test_one_frame_video_duration);
  g_test_add_func ("/review/annotated-too-small-keeps-report",
                   test_annotated_too_small_keeps_report);
  g_test_add_func ("/review/rejects-bad-model-and-output", test_rejects_bad_model_and_output);
  g_test_add_func ("/review/outputs-never-overwrite-inputs",
                   test_outputs_never_overwrite_inputs);
  g_test_add_func ("/review/rejects-non-finite-numbers", test_rejects_non_finite_numbers);
  g_test_add_func ("/review/broken-input-is-reported", test_broken_input_is_reported);
  g_test_add_func ("/review/nothing-scored-keeps-report", test_nothing_scored_keeps_report);
  g_test_add_func ("/review/failed-page-keeps-report", test_failed_page_keeps_report);
  g_test_add_func ("/review/undecodable-input-writes-nothing",
                   test_undecodable_input_writes_nothing);
  g_test_add_func ("/review/interrupt-writes-partial-report",
                   test_interrupt_writes_partial_report);

  int rc = g_test_run ();

  if (g_strcmp0 (g_getenv ("FUNAD_REVIEW_KEEP"), "1") == 0)
    g_printerr ("kept %s\n", work_dir);
  else
    remove_tree (work_dir);
  g_free (work_dir);
  g_free (test_avi);
  g_free (model_path);
  g_free (report_dir);
  return rc;
}
