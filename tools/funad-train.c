/* funad-train.c — learns a funad model from unlabeled (possibly contaminated) frames.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   funad-train -o MODEL [options] INPUT...
 *   funad-train -o MODEL --pipeline "v4l2src" --duration 600 [options]
 *
 * INPUTs are image files, videos, or folders of them (searched recursively); --pipeline
 * captures from any GStreamer source. Decoding and training run in a worker thread while the
 * main thread waits in a main loop for SIGINT and SIGTERM: Ctrl-C asks the trainer to stop,
 * nothing is written, and the exit status is 130 (SIGTERM: 143); a second one quits at once.
 * During a --pipeline capture, though, Ctrl-C is how a capture from a camera ends: it ends the
 * capture, and the frames captured are trained on (Ctrl-C again: stop, no model).
 * The model is written atomically by core.
 */
#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include "cli-error.h"
#include "frame-dedup.h"
#include "frame-source.h"
#include "funad.h"
#include "progress.h"
#include "trainer-feed.h"

#define EXIT_INTERRUPTED 130   /* 128 + SIGINT */
#define DEFAULT_DEDUP 1.0
#define UNSET_DOUBLE (-G_MAXDOUBLE)  /* an option not given (cli_fail_bad_values needs finite) */

typedef struct {
  /* settings, fixed before the worker starts */
  char **inputs;
  const char *pipeline;    /* capture description, or NULL */
  double duration;         /* capture for this many seconds (0: until it ends) */
  int every;               /* keep every Nth frame of each file or capture */
  guint64 max_frames;      /* stop decoding after this many frames (0: no limit) */

  FunadTrainer *trainer;
  GMainLoop *loop;
  Progress *progress;
  gint cancelled;          /* atomic: set by the signal handler */
  gint capturing;          /* atomic: a --pipeline capture is running */
  gint capture_ended;      /* atomic: Ctrl-C ended the capture (not an interruption) */
  gint stop_reading;       /* atomic: interrupted or capture ended: read no more frames */
  int signum;              /* the signal that cancelled: exit status 128 + signum */
  FrameDedup dedup;

  /* filled by the worker */
  FrameSourceStats stats;
  guint64 n_read;          /* frames decoded, before --every and de-duplication */
  guint64 n_duplicates;    /* near-duplicates dropped */
  guint64 n_rejected;      /* frames the trainer refused (unusable) */
  gboolean enough_frames;  /* --max-frames reached */
  gboolean trainer_full;   /* the trainer took all the frames it can at this size */
  FunadModel *model;
  GError *error;
  double decode_seconds, train_seconds;
} TrainJob;

/* ---- frames in ---------------------------------------------------------------------------- */

static gboolean
on_frame (const FunadImage *image, const FrameInfo *info, gpointer user_data, GError **error)
{
  TrainJob *job = user_data;

  if (g_atomic_int_get (&job->stop_reading))
    return FALSE;
  if (job->max_frames && (guint64) funad_trainer_n_frames (job->trainer) >= job->max_frames) {
    job->enough_frames = TRUE;
    return FALSE;
  }
  job->n_read++;
  progress_update (job->progress, "reading", job->max_frames ? (guint64)
                   funad_trainer_n_frames (job->trainer) : job->n_read, job->max_frames,
                   "frames");
  if (info->index % job->every != 0)
    return TRUE;
  if (frame_dedup_is_duplicate (&job->dedup, image, NULL)) {
    job->n_duplicates++;
    return TRUE;
  }
  switch (trainer_feed_frame (job->trainer, image, info, job->progress)) {
  case TRAINER_FEED_ADDED:
    break;
  case TRAINER_FEED_UNUSABLE:
    job->n_rejected++;
    break;
  case TRAINER_FEED_FULL:
    job->trainer_full = TRUE;
    return FALSE;
  }
  return TRUE;
}

/* Stops reading without an error: the user interrupted or ended the capture, --max-frames
 * was reached or the trainer is full. */
static gboolean
stopped_on_purpose (TrainJob *job, GError **input_error)
{
  if (g_atomic_int_get (&job->stop_reading) || job->enough_frames || job->trainer_full) {
    g_clear_error (input_error);
    return TRUE;
  }
  return FALSE;
}

/* Decodes every input into the trainer. An input that cannot be read or decoded at all is an
 * error (the user named it); a bad file inside a folder is only skipped. */
static gboolean
decode_inputs (TrainJob *job, GError **error)
{
  for (int i = 0; job->inputs && job->inputs[i]; i++) {
    const char *input = job->inputs[i];
    GError *input_error = NULL;

    if (!frame_source_foreach (input, FRAME_FORMAT_RGB, on_frame, job, &job->stats,
                               &input_error)) {
      if (stopped_on_purpose (job, &input_error))
        return TRUE;
      if (input_error) {
        g_propagate_error (error, input_error);
        return FALSE;
      }
    }
  }
  if (job->pipeline) {
    GError *capture_error = NULL;

    g_atomic_int_set (&job->capturing, 1);
    gboolean captured = frame_source_capture (job->pipeline, job->duration, FRAME_FORMAT_RGB,
                                              on_frame, job, &job->stop_reading, NULL,
                                              &capture_error);
    g_atomic_int_set (&job->capturing, 0);
    if (!captured && !stopped_on_purpose (job, &capture_error)) {
      g_propagate_error (error, capture_error);
      return FALSE;
    }
  }
  return TRUE;
}

/* ---- the worker ----------------------------------------------------------------------------- */

static void
on_progress (const char *stage, int done, int total, const char *detail, gpointer user_data)
{
  TrainJob *job = user_data;

  progress_update (job->progress, stage, done, total,
                   g_str_equal (stage, "features") || g_str_equal (stage, "threshold")
                       ? "frames" : "steps");
}

static gboolean
quit_loop (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static gpointer
train_worker (gpointer user_data)
{
  TrainJob *job = user_data;
  gint64 start = g_get_monotonic_time ();

  if (decode_inputs (job, &job->error)) {
    job->decode_seconds = (g_get_monotonic_time () - start) / 1e6;
    /* An interrupted read is not a finished one: no "100%" line after the interruption. */
    if (!g_atomic_int_get (&job->cancelled))
      progress_update (job->progress, "reading", job->n_read, job->n_read, "frames");
    if (g_atomic_int_get (&job->capture_ended) && job->n_read == 0) {
      /* Ended before a frame came: nothing to train on, so an interruption. */
      progress_break_line (job->progress);
      g_printerr ("funad-train: no frame came before the capture ended; no model written\n");
      g_atomic_int_set (&job->cancelled, 1);
    }
    if (g_atomic_int_get (&job->cancelled)) {
      /* nothing to do: main reports the interruption */
    } else if (funad_trainer_n_frames (job->trainer) == 0) {
      g_set_error (&job->error, FUNAD_ERROR, FUNAD_ERROR_INPUT,
                   "no usable frame in the inputs (%u files tried, %u could not be decoded, %"
                   G_GUINT64_FORMAT " frames unusable)", job->stats.n_files, job->stats.n_failed,
                   job->n_rejected);
    } else {
      start = g_get_monotonic_time ();
      job->model = funad_trainer_run (job->trainer, on_progress, job, &job->error);
      if (!job->model && job->n_duplicates > 0 &&
          g_error_matches (job->error, FUNAD_ERROR, FUNAD_ERROR_TRAIN))
        g_prefix_error (&job->error, "%" G_GUINT64_FORMAT " near-duplicate frames were dropped "
                        "(--dedup 0 keeps them): ", job->n_duplicates);
      job->train_seconds = (g_get_monotonic_time () - start) / 1e6;
    }
  }
  g_idle_add (quit_loop, job->loop);
  return NULL;
}

/* On a terminal the message starts on a new line (after the progress bar or the echoed ^C);
 * in a log, where every line is already ended, that would be a blank line. */
static const char *
line_break_on_tty (void)
{
  return isatty (STDERR_FILENO) ? "\n" : "";
}

static void
interrupt (TrainJob *job, int signum)
{
  if (signum == SIGINT && g_atomic_int_get (&job->capturing) &&
      !g_atomic_int_get (&job->capture_ended) && !g_atomic_int_get (&job->cancelled)) {
    /* Ctrl-C is how a capture from a camera ends: train on what came. SIGTERM still stops. */
    g_printerr ("%sfunad-train: capture ended; training on the frames captured (interrupt "
                "again to stop without a model)\n", line_break_on_tty ());
    job->signum = SIGINT;
    g_atomic_int_set (&job->capture_ended, 1);
    g_atomic_int_set (&job->stop_reading, 1);
    return;
  }
  if (g_atomic_int_get (&job->cancelled)) {
    /* A second Ctrl-C: the user does not want to wait for the current step to end. */
    g_printerr ("%sfunad-train: interrupted again; no model written\n", line_break_on_tty ());
    _exit (128 + signum);
  }
  g_printerr ("%sfunad-train: interrupted; stopping (no model will be written; interrupt "
              "again to quit at once)\n", line_break_on_tty ());
  job->signum = signum;
  g_atomic_int_set (&job->cancelled, 1);
  g_atomic_int_set (&job->stop_reading, 1);
  funad_trainer_cancel (job->trainer);
}

static gboolean
on_sigint (gpointer user_data)
{
  interrupt (user_data, SIGINT);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sigterm (gpointer user_data)
{
  interrupt (user_data, SIGTERM);
  return G_SOURCE_CONTINUE;
}

/* ---- checks before any work --------------------------------------------------------------- */

#define MODEL_HEADER_MAX (16 << 20)   /* bytes of safetensors header read, at most */

/* Whether path holds a funad model (a safetensors header with format "funad"). -o replaces
 * only such a file, so a typo naming an input video or image never overwrites it. */
static gboolean
is_model_file (const char *path)
{
  FILE *f = g_fopen (path, "rb");
  guint8 size[8];
  gboolean model = FALSE;

  if (!f)
    return FALSE;
  if (fread (size, 1, sizeof size, f) == sizeof size) {
    guint64 n = 0;
    for (int i = 7; i >= 0; i--)
      n = n << 8 | size[i];
    if (n > 0 && n <= MODEL_HEADER_MAX) {
      char *header = g_malloc (n + 1);
      if (fread (header, 1, n, f) == n) {
        header[n] = '\0';
        model = strstr (header, "\"format\":\"funad\"") != NULL;
      }
      g_free (header);
    }
  }
  fclose (f);
  return model;
}

/* Whether a file can really be created in dir (access() passes on read-only mounts and in
 * /proc): tried with a temporary file, removed at once, so a run of hours cannot end in a
 * model that cannot be written. */
static gboolean
can_create_in (const char *dir, GError **error)
{
  char *probe = g_build_filename (dir, ".funad-train-probe-XXXXXX", NULL);
  int fd = g_mkstemp (probe);
  gboolean ok = fd >= 0;

  if (ok) {
    close (fd);
    g_unlink (probe);
  } else {
    int saved = errno;
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "cannot write into %s: %s", dir,
                 g_strerror (saved));
  }
  g_free (probe);
  return ok;
}

/* Fails early, before minutes of training, when the model could not be saved. */
static gboolean
check_output_writable (const char *path, GError **error)
{
  char *dir = g_path_get_dirname (path);
  gboolean ok = FALSE;

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: is a folder, not a model file", path);
  else if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: folder %s does not exist", path, dir);
  else if (access (dir, W_OK) != 0)
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: cannot write into %s: %s", path, dir,
                 g_strerror (errno));
  else if (g_file_test (path, G_FILE_TEST_EXISTS) && access (path, W_OK) != 0)
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: cannot overwrite: %s", path,
                 g_strerror (errno));
  else if (g_file_test (path, G_FILE_TEST_EXISTS) && !g_file_test (path, G_FILE_TEST_IS_REGULAR))
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "cannot write model file '%s': not a "
                 "regular file", path);
  else if (!can_create_in (dir, error))
    g_prefix_error (error, "%s: ", path);
  else if (g_file_test (path, G_FILE_TEST_EXISTS) && !is_model_file (path))
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: exists and is not a funad model; not "
                 "overwriting it (remove it or choose another name)", path);
  else
    ok = TRUE;
  g_free (dir);
  return ok;
}

static gboolean
check_inputs_exist (char **inputs, GError **error)
{
  for (int i = 0; inputs && inputs[i]; i++) {
    if (access (inputs[i], R_OK) != 0) {
      g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: %s", inputs[i], g_strerror (errno));
      return FALSE;
    }
  }
  return TRUE;
}

/* ---- the summary ---------------------------------------------------------------------------- */

/* The trainer's own summary (threshold rule, estimated contamination, ...) from the model. */
static JsonObject *
training_summary (FunadModel *model, JsonParser *parser)
{
  const char *text = funad_model_get_metadata (model, "training_summary");

  if (!text || !json_parser_load_from_data (parser, text, -1, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;
  return json_node_get_object (json_parser_get_root (parser));
}

/* Frames that all score alike leave the threshold at their common score: every new frame a
 * little different would be flagged. Said even with --quiet and --json (on stderr). */
static void
warn_if_degenerate (FunadModel *model)
{
  JsonParser *parser = json_parser_new ();
  JsonObject *summary = training_summary (model, parser);

  if (summary && json_object_has_member (summary, "train_score_mad")
      && json_object_get_double_member (summary, "train_score_mad") == 0.0)
    g_printerr ("funad-train: warning: the training frames all scored alike, so the threshold "
                "is unreliable; train on more varied footage (or set the element's threshold)\n");
  g_object_unref (parser);
}

/* A list of training frames from the summary (`key`, its length under `count_key`): how many,
 * and the first few (--json and funad-inspect list them all). */
static void
print_frames (JsonObject *summary, const char *key, const char *count_key, const char *what)
{
  if (!summary || !json_object_has_member (summary, key))
    return;
  JsonArray *frames = json_object_get_array_member (summary, key);
  guint n = json_object_has_member (summary, count_key)
                ? (guint) json_object_get_int_member (summary, count_key)
                : json_array_get_length (frames);
  GString *line = g_string_new (NULL);
  g_string_printf (line, "  %s: %u frames", what, n);
  for (guint i = 0; i < MIN (json_array_get_length (frames), 10); i++)
    g_string_append_printf (line, "%s%" G_GINT64_FORMAT, i ? ", " : " (0-based, in input order: ",
                            json_array_get_int_element (frames, i));
  if (n > 0)
    g_string_append (line, n > 10 ? ", ...; all in --json)" : ")");
  g_printerr ("%s\n", line->str);
  g_string_free (line, TRUE);
}

static void
print_summary (TrainJob *job, const char *output, gboolean as_json, double seconds)
{
  JsonParser *parser = json_parser_new ();
  JsonObject *summary = training_summary (job->model, parser);
  const char *rule = summary && json_object_has_member (summary, "threshold_rule")
                         ? json_object_get_string_member (summary, "threshold_rule") : "unknown";
  double fraction = summary && json_object_has_member (summary, "estimated_anomalous_fraction")
                        ? json_object_get_double_member (summary, "estimated_anomalous_fraction")
                        : NAN;
  int used = funad_trainer_n_frames (job->trainer);

  if (as_json) {
    JsonBuilder *b = json_builder_new ();
    JsonGenerator *gen = json_generator_new ();

    json_builder_begin_object (b);
#define ADD_INT(k, v) (json_builder_set_member_name (b, k), json_builder_add_int_value (b, v))
#define ADD_DBL(k, v) (json_builder_set_member_name (b, k), json_builder_add_double_value (b, v))
    json_builder_set_member_name (b, "model");
    json_builder_add_string_value (b, output);
    ADD_INT ("frames_used", used);
    ADD_INT ("frames_read", job->n_read);
    ADD_INT ("duplicates_dropped", job->n_duplicates);
    ADD_INT ("frames_unusable", job->n_rejected);
    json_builder_set_member_name (b, "stopped_reading_full");
    json_builder_add_boolean_value (b, job->trainer_full);
    ADD_INT ("files", job->stats.n_files);
    ADD_INT ("files_skipped", job->stats.n_failed);
    ADD_INT ("files_partly_decoded", job->stats.n_partial);
    ADD_DBL ("decode_seconds", job->decode_seconds);
    ADD_DBL ("train_seconds", job->train_seconds);
    ADD_DBL ("seconds", seconds);
    ADD_DBL ("threshold", funad_model_threshold (job->model));
    json_builder_set_member_name (b, "threshold_rule");
    json_builder_add_string_value (b, rule);
    json_builder_set_member_name (b, "estimated_anomalous_fraction");
    if (isfinite (fraction))
      json_builder_add_double_value (b, fraction);
    else
      json_builder_add_null_value (b);
    json_builder_set_member_name (b, "training_summary");
    if (summary)
      json_builder_add_value (b, json_node_copy (json_parser_get_root (parser)));
    else
      json_builder_add_null_value (b);
#undef ADD_INT
#undef ADD_DBL
    json_builder_end_object (b);

    JsonNode *root = json_builder_get_root (b);
    json_generator_set_root (gen, root);
    char *text = json_generator_to_data (gen, NULL);
    g_print ("%s\n", text);
    g_free (text);
    json_node_unref (root);
    g_object_unref (gen);
    g_object_unref (b);
  } else {
    g_printerr ("funad-train: wrote %s in %.1f s (reading %.1f s, training %.1f s)\n", output,
                seconds, job->decode_seconds, job->train_seconds);
    g_printerr ("  frames:    %d used of %" G_GUINT64_FORMAT " read; %" G_GUINT64_FORMAT
                " near-duplicates dropped, %" G_GUINT64_FORMAT " unusable\n", used, job->n_read,
                job->n_duplicates, job->n_rejected);
    if (job->trainer_full)
      g_printerr ("  reading:   stopped at the trainer's limit (16 GB of frames at this --size); "
                  "the rest was not read (--every N spreads the frames over all the footage)\n");
    g_printerr ("  files:     %u read, %u skipped (could not be decoded), %u broke part-way\n",
                job->stats.n_files, job->stats.n_failed, job->stats.n_partial);
    g_printerr ("  threshold: %.6g (%s)\n", funad_model_threshold (job->model), rule);
    if (isfinite (fraction))
      g_printerr ("  training frames above it: %.1f%% (an estimate of the anomalous fraction)\n",
                  100.0 * fraction);
    print_frames (summary, "left_out_frames", "left_out_count",
                  "left out of the bank as atypical");
    print_frames (summary, "pseudo_anomaly_frames", "pseudo_anomaly_frame_count",
                  "FUN-AD learned its anomalies from");
    if (summary && json_object_has_member (summary, "appearance_frames")
        && json_object_get_int_member (summary, "appearance_frames") > 0)
      g_printerr ("  appearance: each frame compared with %" G_GINT64_FORMAT " trusted frames, "
                  "weight %g\n", json_object_get_int_member (summary, "appearance_frames"),
                  json_object_get_double_member (summary, "appearance_weight"));
  }
  g_object_unref (parser);
}

int
main (int argc, char **argv)
{
  FunadTrainParams params = funad_train_default_params ();
  /* Freed on every return, the early error exits included. */
  g_autofree char *output = NULL;
  g_autofree char *pipeline = NULL;
  g_autofree char *scorer = NULL;
  g_autofree char *backbone = NULL;
  g_auto (GStrv) inputs = NULL;
  gint64 seed = (gint64) params.seed, max_frames = 0;
  /* epochs and feature_dim start unset (G_MININT), to warn when given where they do nothing */
  int size = params.input_size, epochs = G_MININT, threads = params.n_threads, every = 1;
  int bank_size = params.bank_size, feature_dim = G_MININT;
  double outlier_z = params.outlier_z, typical_z = params.typical_z, duration = 0;
  double appearance_z = params.appearance_z, appearance_weight = params.appearance_weight;
  int appearance_rounds = params.appearance_rounds;
  /* bank_floor_z starts unset (a finite value no one types), to warn when given where it does
   * nothing */
  double bank_floor = params.bank_floor, bank_floor_z = UNSET_DOUBLE;
  double synthetic_fraction = params.synthetic_fraction, synthetic_scale = params.synthetic_scale;
  double pseudo_label_z = params.pseudo_label_z;
  double dedup = DEFAULT_DEDUP;
  int neighbourhood = params.neighbourhood;
  gboolean no_calibration = FALSE, no_teacher = FALSE;
  gboolean no_irmb = FALSE, no_synthetic = FALSE, no_smoothness = FALSE;
  gboolean quiet = FALSE, as_json = FALSE;
  GError *error = NULL;
  char *size_help = g_strdup_printf ("Side of the square frame the model sees, a multiple of 8 "
                                     "from 32 to 1024 (default %d)", params.input_size);
  char *epochs_help = g_strdup_printf ("FUN-AD: most training epochs; a label-free rule may "
                                       "stop sooner (default %d)", params.epochs);
  char *rounds_help = g_strdup_printf ("Memory bank: the frames --appearance-z keeps are "
                                       "compared again among themselves, against the first "
                                       "cut, up to N rounds in all, 1 to 10 (default %d)",
                                       params.appearance_rounds);
  char *synthetic_help = g_strdup_printf ("FUN-AD: share of the patches labelled normal that "
                                          "Gaussian noise makes synthetic anomalies, 0 to 1 "
                                          "(default %g)", params.synthetic_fraction);
  char *synthetic_scale_help = g_strdup_printf ("FUN-AD: their noise, in units of the batch's "
                                                "per-dimension sigma (default %g)",
                                                params.synthetic_scale);
  char *pseudo_label_help = g_strdup_printf ("FUN-AD: pseudo-anomalies only in the frames the "
                                             "teacher left out, their patches above robust z Z "
                                             "within the frame; 0: the reference's rule, every "
                                             "frame (default %g)", params.pseudo_label_z);
  char *seed_help = g_strdup_printf ("Random seed: same frames, seed and --threads give a "
                                     "byte-identical model (default %" G_GINT64_FORMAT ")",
                                     (gint64) params.seed);
  char *feature_dim_help = g_strdup_printf ("Pretrained backbones: features per patch at most; "
                                            "wider stages are reduced by a PCA fitted on the "
                                            "frames; 8 to 4096 (default %d)", params.feature_dim);
  char *bank_help = g_strdup_printf ("Memory bank: patches kept at most (default %d)",
                                     params.bank_size);
  char *outlier_help = g_strdup_printf ("Memory bank: drop training patches whose "
                                        "leave-own-image-out distance has a robust z-score "
                                        "above Z (default %g; 0 keeps all)", params.outlier_z);
  char *typical_help = g_strdup_printf ("Memory bank: leave out training frames whose own "
                                        "score against the others has a robust z-score above "
                                        "Z (default %g; 0: not used)", params.typical_z);
  char *appearance_help = g_strdup_printf ("Memory bank: leave out training frames whose "
                                           "appearance, block by block, against the others' "
                                           "has a robust z-score above Z (default %g; 0: not "
                                           "used)", params.appearance_z);
  char *appearance_weight_help = g_strdup_printf ("Add to every patch score of a frame W "
                                                  "times its appearance, block by block "
                                                  "against the frames the model trusts as "
                                                  "normal, as a robust z: a frame unlike all "
                                                  "of them scores higher everywhere; 0 to 100 "
                                                  "(default %g; 0: patch scores alone)",
                                                  params.appearance_weight);
  char *floor_help = g_strdup_printf ("Memory bank: keep the frames --appearance-z leaves "
                                      "out in the bank, but a patch there of a frame whose "
                                      "appearance z is above --bank-floor-z counts as at least F "
                                      "typical patch distances away per z above it, 0 to 100 "
                                      "(default %g; 0: those frames are left out of the bank)",
                                      params.bank_floor);
  char *floor_z_help = g_strdup_printf ("Memory bank: the appearance z where --bank-floor "
                                        "starts, 0 to 100 (default %g)", params.bank_floor_z);
  char *dedup_help = g_strdup_printf ("Drop a frame whose 32x32 grey thumbnail differs from "
                                      "the last kept frame's by less than T grey levels (mean "
                                      "absolute difference; default %g; 0 keeps all)",
                                      DEFAULT_DEDUP);
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Model file to write (required)",
      "MODEL" },
    { "pipeline", 0, 0, G_OPTION_ARG_STRING, &pipeline, "Also capture from a GStreamer "
      "pipeline description ending in a video pad, e.g. \"v4l2src\" (default: none)", "DESC" },
    { "duration", 0, 0, G_OPTION_ARG_DOUBLE, &duration, "Capture from --pipeline for S "
      "seconds of footage (default 0: until the stream ends or --max-frames)", "S" },
    { "max-frames", 0, 0, G_OPTION_ARG_INT64, &max_frames, "Stop reading once N frames are "
      "kept (default 0: all)", "N" },
    { "every", 0, 0, G_OPTION_ARG_INT, &every, "Use every Nth frame of each video or capture "
      "(default 1)", "N" },
    { "dedup", 0, 0, G_OPTION_ARG_DOUBLE, &dedup, dedup_help, "T" },
    { "size", 0, 0, G_OPTION_ARG_INT, &size, size_help, "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, seed_help, "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "Worker threads, 0 to 64 (default 0: all cores, at most a cgroup CPU quota's)", "N" },
    { "backbone", 0, 0, G_OPTION_ARG_STRING, &backbone, "builtin (default: learned from the "
      "frames) or a pretrained trunk and its timm-layout weights file, NAME:WEIGHTS.safetensors, "
      "NAME one of mobilenetv2_100, resnet18, resnet34, resnet50, wide_resnet50_2; the model "
      "records the file's path and checksum and needs that file to run", "NAME[:WEIGHTS]" },
    { "feature-dim", 0, 0, G_OPTION_ARG_INT, &feature_dim, feature_dim_help, "N" },
    { "scorer", 0, 0, G_OPTION_ARG_STRING, &scorer, "memory-bank or funad (default "
      "memory-bank: it measured better, see README)", "NAME" },
    { "bank-size", 0, 0, G_OPTION_ARG_INT, &bank_size, bank_help, "N" },
    { "neighbourhood", 0, 0, G_OPTION_ARG_INT, &neighbourhood, "Builtin backbone: average "
      "each patch's features over the grid cells within R cells of it, 0 to 4 (default 1; 0: "
      "the patch alone)", "R" },
    { "no-calibration", 0, 0, G_OPTION_ARG_NONE, &no_calibration, "Patch scores as they are "
      "(distances; FUN-AD: logits), not robust z-scores against the training frames' scores "
      "at the same place in the frame (default: calibrated)", NULL },
    { "outlier-z", 0, 0, G_OPTION_ARG_DOUBLE, &outlier_z, outlier_help, "Z" },
    { "typical-z", 0, 0, G_OPTION_ARG_DOUBLE, &typical_z, typical_help, "Z" },
    { "appearance-z", 0, 0, G_OPTION_ARG_DOUBLE, &appearance_z, appearance_help, "Z" },
    { "appearance-rounds", 0, 0, G_OPTION_ARG_INT, &appearance_rounds, rounds_help, "N" },
    { "appearance-weight", 0, 0, G_OPTION_ARG_DOUBLE, &appearance_weight,
      appearance_weight_help, "W" },
    { "bank-floor", 0, 0, G_OPTION_ARG_DOUBLE, &bank_floor, floor_help, "F" },
    { "bank-floor-z", 0, 0, G_OPTION_ARG_DOUBLE, &bank_floor_z, floor_z_help, "Z" },
    { "epochs", 0, 0, G_OPTION_ARG_INT, &epochs, epochs_help, "N" },
    { "no-teacher", 0, 0, G_OPTION_ARG_NONE, &no_teacher, "FUN-AD ablation: IRMB starts from all "
      "images and keeps min-max-normalised scores below 0.5, as the reference does (default: "
      "starts from the frames the memory bank's rule keeps, --appearance-z and --typical-z, "
      "and keeps a robust rule)", NULL },
    { "no-irmb", 0, 0, G_OPTION_ARG_NONE, &no_irmb, "FUN-AD ablation: memory bank from all "
      "images, not from confident normals (default: off)", NULL },
    { "no-synthetic", 0, 0, G_OPTION_ARG_NONE, &no_synthetic, "FUN-AD ablation: no synthetic "
      "anomalies (default: off)", NULL },
    { "no-smoothness", 0, 0, G_OPTION_ARG_NONE, &no_smoothness, "FUN-AD ablation: no mutual "
      "smoothness loss (default: off)", NULL },
    { "synthetic-fraction", 0, 0, G_OPTION_ARG_DOUBLE, &synthetic_fraction, synthetic_help, "F" },
    { "synthetic-scale", 0, 0, G_OPTION_ARG_DOUBLE, &synthetic_scale, synthetic_scale_help, "S" },
    { "pseudo-label-z", 0, 0, G_OPTION_ARG_DOUBLE, &pseudo_label_z, pseudo_label_help, "Z" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print the summary as one JSON object on "
      "stdout (default: text on stderr)", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print only warnings, errors and --json output",
      NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &inputs, NULL, "INPUT..." },
    { NULL }
  };
  GOptionContext *context = g_option_context_new ("- learn a funad model from unlabeled "
                                                  "frames");

  /* Messages (GLib's and ours) in the user's character set. */
  setlocale (LC_ALL, "");
  g_set_prgname ("funad-train");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, gst_init_get_option_group ());
  g_option_context_set_description (context,
      "Each INPUT is an image, a video (every frame is used) or a folder of images and videos\n"
      "(searched recursively); --pipeline captures from a camera or stream. The footage may\n"
      "contain some defective items: funad does not need labels. A file that cannot be decoded\n"
      "is skipped and counted (an INPUT named directly that gives no frame is an error).\n"
      "Progress goes to stderr (a bar on a terminal, a line every few seconds otherwise).\n"
      "Ctrl-C stops without writing a model (exit status 130; SIGTERM 143) within a second or\n"
      "so, a second Ctrl-C at once; the model file is written atomically, so an existing one\n"
      "is never half-overwritten. During a --pipeline capture Ctrl-C ends the capture instead,\n"
      "and the frames captured are trained on (Ctrl-C again: stop without a model).");
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    int rc = cli_fail (error->message);
    g_error_free (error);
    return rc;
  }
  g_option_context_free (context);
  g_free (size_help);
  g_free (epochs_help);
  g_free (synthetic_help);
  g_free (rounds_help);
  g_free (synthetic_scale_help);
  g_free (pseudo_label_help);
  g_free (seed_help);
  g_free (bank_help);
  g_free (feature_dim_help);
  g_free (outlier_help);
  g_free (typical_help);
  g_free (appearance_help);
  g_free (appearance_weight_help);
  g_free (floor_help);
  g_free (floor_z_help);
  g_free (dedup_help);
  if (cli_fail_bad_values (entries))
    return EXIT_FAILURE;

  if (!output)
    return cli_fail ("no model file given: use -o MODEL");
  if (backbone && g_str_has_suffix (backbone, ":"))  /* "" would name the current folder */
    return cli_fail ("--backbone NAME:WEIGHTS: WEIGHTS is an empty path");
  if ((!inputs || !inputs[0]) && !pipeline)
    return cli_fail ("no input given: name image files, videos or folders, or use --pipeline");
  if (size < 32 || size > 1024 || size % 8 != 0)
    return cli_fail ("--size must be a multiple of 8 between 32 and 1024");
  gboolean funad_scorer = scorer && g_str_equal (scorer, "funad");
  /* a value out of range is an error even where the option does nothing: checked before the
   * "ignored" warnings, so that it is the only message */
  if (epochs != G_MININT && epochs < 0)
    return cli_fail ("--epochs must not be negative");
  if (feature_dim != G_MININT && (feature_dim < 8 || feature_dim > 4096))
    return cli_fail ("--feature-dim must be between 8 and 4096");
  if (!(bank_floor == 0 || (bank_floor >= FLT_MIN && bank_floor <= 100)))
    return cli_fail ("--bank-floor must be 0 or between 1.2e-38 and 100");
  if (bank_floor_z != UNSET_DOUBLE && !(bank_floor_z >= 0 && bank_floor_z <= 100))
    return cli_fail ("--bank-floor-z must be between 0 and 100");
  if (bank_floor > 0 && (funad_scorer || appearance_z == 0))
    g_printerr ("funad-train: warning: --bank-floor applies to the memory bank with "
                "--appearance-z above 0 only; ignored\n");
  else if (bank_floor_z != UNSET_DOUBLE && bank_floor == 0)
    g_printerr ("funad-train: warning: --bank-floor-z applies with --bank-floor only; "
                "ignored\n");
  if (bank_floor_z == UNSET_DOUBLE)
    bank_floor_z = params.bank_floor_z;
  if (epochs != G_MININT && !funad_scorer)
    g_printerr ("funad-train: warning: --epochs applies to --scorer funad only; ignored\n");
  if ((no_teacher || no_irmb || no_synthetic || no_smoothness) && !funad_scorer)
    g_printerr ("funad-train: warning: --no-teacher, --no-irmb, --no-synthetic and "
                "--no-smoothness apply to --scorer funad only; ignored\n");
  if (feature_dim != G_MININT && (!backbone || g_str_has_prefix (backbone, "builtin")))
    g_printerr ("funad-train: warning: --feature-dim applies to pretrained backbones only; "
                "ignored\n");
  if (epochs == G_MININT)
    epochs = params.epochs;
  if (feature_dim == G_MININT)
    feature_dim = params.feature_dim;
  if (epochs == 0 && scorer && g_str_equal (scorer, "funad"))
    return cli_fail ("--epochs must be at least 1 with --scorer funad (0 would write an "
                     "untrained discriminator)");
  if (threads < 0 || threads > FUNAD_MAX_THREADS)
    return cli_fail ("--threads must be from 0 to 64 (the element's n-threads range)");
  if (neighbourhood < 0 || neighbourhood > 4)
    return cli_fail ("--neighbourhood must be between 0 and 4");
  if (backbone && g_str_has_prefix (backbone, "builtin:"))
    return cli_fail ("--backbone builtin takes no weights file (it is learned from the frames)");
  if (every < 1)
    return cli_fail ("--every must be at least 1");
  if (max_frames < 0)
    return cli_fail ("--max-frames must not be negative");
  if (!(duration >= 0))
    return cli_fail ("--duration must not be negative");
  if (duration > 0 && !pipeline)
    return cli_fail ("--duration applies to --pipeline only");
  if (!(dedup >= 0))
    return cli_fail ("--dedup must not be negative");
  /* the limits below are funad_train_params_check's (on the float it gets where it takes
   * one); the check of the parsed params further down is the safety net */
  if (bank_size < 2 || bank_size > (1 << 22))
    return cli_fail ("--bank-size must be between 2 and 4194304");
  if (!(outlier_z >= 0) || !(typical_z >= 0) || !(appearance_z >= 0))
    return cli_fail ("--outlier-z, --typical-z and --appearance-z must be numbers, 0 or more");
  if (!(appearance_weight >= 0 && appearance_weight <= 100))
    return cli_fail ("--appearance-weight must be between 0 and 100");
  if (appearance_rounds < 1 || appearance_rounds > 10)
    return cli_fail ("--appearance-rounds must be between 1 and 10");
  if (!(synthetic_fraction >= 0 && synthetic_fraction <= 1))
    return cli_fail ("--synthetic-fraction must be between 0 and 1");
  if (!(synthetic_scale >= FLT_MIN && synthetic_scale <= 100))
    return cli_fail ("--synthetic-scale must be above 0 (at least 1.2e-38) and at most 100");
  if (!(pseudo_label_z >= 0 && pseudo_label_z <= 100))
    return cli_fail ("--pseudo-label-z must be between 0 and 100");
  if (!check_output_writable (output, &error) || !check_inputs_exist (inputs, &error)) {
    int rc = cli_fail (error->message);
    g_error_free (error);
    return rc;
  }

  frame_source_init (NULL, NULL);

  params.seed = (guint64) seed;
  params.input_size = size;
  params.neighbourhood = neighbourhood;
  params.epochs = epochs;
  params.n_threads = threads;
  params.bank_size = bank_size;
  params.feature_dim = feature_dim;
  params.outlier_z = (float) outlier_z;
  params.calibrate = !no_calibration;
  params.typical_z = (float) typical_z;
  params.appearance_z = (float) appearance_z;
  params.appearance_rounds = appearance_rounds;
  params.appearance_weight = (float) appearance_weight;
  params.bank_floor = (float) bank_floor;
  params.bank_floor_z = (float) bank_floor_z;
  params.use_irmb = !no_irmb;
  params.use_teacher = !no_teacher;
  params.use_synthetic = !no_synthetic;
  params.use_smoothness = !no_smoothness;
  params.synthetic_fraction = (float) synthetic_fraction;
  params.synthetic_scale = (float) synthetic_scale;
  params.pseudo_label_z = (float) pseudo_label_z;
  if (scorer && g_str_equal (scorer, "funad"))
    params.scorer = FUNAD_SCORER_FUNAD;
  else if (scorer && g_str_equal (scorer, "memory-bank"))
    params.scorer = FUNAD_SCORER_MEMORY_BANK;
  else if (scorer)
    return cli_fail ("unknown --scorer: use memory-bank or funad");
  /* core's own check, once: a parameter the option checks let through would otherwise be
   * refused on every frame, each reported as a skipped frame */
  if (!funad_train_params_check (&params, &error))
    return cli_fail_error (error);

  TrainJob job = { 0 };
  job.inputs = inputs;
  job.pipeline = pipeline;
  job.duration = duration;
  job.every = every;
  job.max_frames = (guint64) max_frames;
  job.progress = progress_new ("funad-train", !quiet);
  frame_dedup_init (&job.dedup, dedup);
  job.trainer = funad_trainer_new (&params);
  if (backbone) {
    /* NAME:WEIGHTS; the path is made absolute, as the model records it for later runs. */
    char *colon = strchr (backbone, ':');
    g_autofree char *weights = colon ? g_canonicalize_filename (colon + 1, NULL) : NULL;
    if (colon)
      *colon = '\0';
    if (!funad_trainer_set_backbone (job.trainer, backbone, weights, &error)) {
      int rc = cli_fail (error->message);
      g_error_free (error);
      funad_trainer_free (job.trainer);
      progress_free (job.progress);
      return rc;
    }
  }
  job.loop = g_main_loop_new (NULL, FALSE);

  gint64 start = g_get_monotonic_time ();
  guint sigint = g_unix_signal_add (SIGINT, on_sigint, &job);
  guint sigterm = g_unix_signal_add (SIGTERM, on_sigterm, &job);
  GThread *worker = g_thread_new ("funad-train", train_worker, &job);

  g_main_loop_run (job.loop);
  g_thread_join (worker);
  progress_break_line (job.progress);

  int rc = EXIT_SUCCESS;

  /* The signal sources stay until the model is saved: GLib's handler only notes a signal,
   * where the default action would kill the process half-way through writing the temporary
   * file (the old model survived, the temporary file did not get cleaned up). A signal in
   * that moment is not acted on: the save is brief and ends with a whole model. */
  if (g_atomic_int_get (&job.cancelled) ||
      g_error_matches (job.error, FUNAD_ERROR, FUNAD_ERROR_CANCELLED)) {
    rc = job.signum ? 128 + job.signum : EXIT_INTERRUPTED;
  } else if (job.error) {
    rc = cli_fail (job.error->message);
  } else if (!funad_model_save (job.model, output, &error)) {
    rc = cli_fail (error->message);
    g_clear_error (&error);
  } else {
    warn_if_degenerate (job.model);
    if (as_json || !quiet)
      print_summary (&job, output, as_json, (g_get_monotonic_time () - start) / 1e6);
  }

  g_source_remove (sigint);
  g_source_remove (sigterm);
  if (job.model)
    funad_model_unref (job.model);
  g_clear_error (&job.error);
  progress_free (job.progress);
  funad_trainer_free (job.trainer);
  g_main_loop_unref (job.loop);
  return rc;
}
