/* funad-train.c — learns a funad model from unlabeled (possibly contaminated) frames.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   funad-train -o MODEL [options] INPUT...
 *
 * INPUTs are image files, videos, or folders of images (searched recursively). Decoding and
 * training run in a worker thread while the main thread waits in a main loop for SIGINT and
 * SIGTERM: Ctrl-C asks the trainer to stop, nothing is written, and the exit status is 130.
 */
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <gst/gst.h>

#include "frame-source.h"
#include "funad.h"

#define EXIT_INTERRUPTED 130

typedef struct {
  /* settings, fixed before the worker starts */
  char **inputs;
  int every;               /* keep every Nth frame of each file */
  guint64 max_frames;      /* stop decoding after this many frames (0: no limit) */
  gboolean quiet;
  gboolean progress_on_tty;

  FunadTrainer *trainer;
  GMainLoop *loop;
  gint cancelled;          /* atomic: set by the signal handler */

  /* filled by the worker */
  FrameSourceStats stats;
  guint64 n_rejected;      /* frames the trainer refused (unusable) */
  gboolean enough_frames;
  FunadModel *model;
  GError *error;
  double decode_seconds, train_seconds;
  char *last_stage;
  int last_percent;
} TrainJob;

/* ---- frames in ---------------------------------------------------------------------------- */

static gboolean
on_frame (const FunadImage *image, const FrameInfo *info, gpointer user_data, GError **error)
{
  TrainJob *job = user_data;

  if (g_atomic_int_get (&job->cancelled))
    return FALSE;
  if (job->max_frames && (guint64) funad_trainer_n_frames (job->trainer) >= job->max_frames) {
    job->enough_frames = TRUE;
    return FALSE;
  }
  if (info->index % job->every != 0)
    return TRUE;
  if (!funad_trainer_add_frame (job->trainer, image, error)) {
    g_prefix_error (error, "%s: frame %" G_GUINT64_FORMAT ": ", info->path, info->index);
    job->n_rejected++;
    return FALSE;
  }
  return TRUE;
}

/* Decodes every input into the trainer. An input that cannot be read or decoded at all is an
 * error (the user named it); a bad file inside a folder is only skipped. */
static gboolean
decode_inputs (TrainJob *job, GError **error)
{
  for (int i = 0; job->inputs[i]; i++) {
    const char *input = job->inputs[i];
    int before = funad_trainer_n_frames (job->trainer);
    GError *input_error = NULL;

    if (!frame_source_foreach (input, FRAME_FORMAT_RGB, on_frame, job, &job->stats,
                               &input_error)) {
      if (g_atomic_int_get (&job->cancelled) || job->enough_frames) {
        g_clear_error (&input_error);
        return TRUE;
      }
      if (input_error) {
        g_propagate_error (error, input_error);
        return FALSE;
      }
    }
    if (!job->quiet)
      g_printerr ("funad-train: %s: %d frames\n", input,
                  funad_trainer_n_frames (job->trainer) - before);
  }
  return TRUE;
}

/* ---- progress ----------------------------------------------------------------------------- */

/* On a terminal one line is rewritten in place; in a log, a line per stage and per 10%. */
static void
on_progress (const char *stage, int done, int total, const char *detail, gpointer user_data)
{
  TrainJob *job = user_data;
  int percent = total > 0 ? (int) (100LL * done / total) : 100;
  gboolean new_stage = g_strcmp0 (stage, job->last_stage) != 0;

  if (job->quiet)
    return;
  if (job->progress_on_tty) {
    g_printerr ("\r\033[Kfunad-train: %s %d/%d%s%s", stage, done, total, detail ? " " : "",
                detail ? detail : "");
    if (done >= total)
      g_printerr ("\n");
  } else if (new_stage || percent / 10 != job->last_percent / 10 || done >= total) {
    g_printerr ("funad-train: %s %d/%d%s%s\n", stage, done, total, detail ? " " : "",
                detail ? detail : "");
  }
  if (new_stage) {
    g_free (job->last_stage);
    job->last_stage = g_strdup (stage);
  }
  job->last_percent = percent;
}

/* ---- the worker ----------------------------------------------------------------------------- */

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
    if (g_atomic_int_get (&job->cancelled)) {
      /* nothing to do: main reports the interruption */
    } else if (funad_trainer_n_frames (job->trainer) == 0) {
      g_set_error (&job->error, FUNAD_ERROR, FUNAD_ERROR_INPUT,
                   "no usable frame in the inputs (%u files tried, %u could not be decoded)",
                   job->stats.n_files, job->stats.n_failed);
    } else {
      start = g_get_monotonic_time ();
      job->model = funad_trainer_run (job->trainer, on_progress, job, &job->error);
      job->train_seconds = (g_get_monotonic_time () - start) / 1e6;
    }
  }
  g_idle_add (quit_loop, job->loop);
  return NULL;
}

static gboolean
on_interrupt (gpointer user_data)
{
  TrainJob *job = user_data;

  if (g_atomic_int_get (&job->cancelled)) {
    /* A second Ctrl-C: the user does not want to wait for the current step to end. */
    g_printerr ("\nfunad-train: interrupted again; no model written\n");
    _exit (EXIT_INTERRUPTED);
  }
  g_printerr ("\nfunad-train: interrupted; stopping (no model will be written)\n");
  g_atomic_int_set (&job->cancelled, 1);
  funad_trainer_cancel (job->trainer);
  return G_SOURCE_CONTINUE;
}

/* ---- checks before any work --------------------------------------------------------------- */

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
  else
    ok = TRUE;
  g_free (dir);
  return ok;
}

static gboolean
check_inputs_exist (char **inputs, GError **error)
{
  for (int i = 0; inputs[i]; i++) {
    if (access (inputs[i], R_OK) != 0) {
      g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: %s", inputs[i], g_strerror (errno));
      return FALSE;
    }
  }
  return TRUE;
}

static int
fail (const char *message)
{
  g_printerr ("funad-train: error: %s\n", message);
  return EXIT_FAILURE;
}

int
main (int argc, char **argv)
{
  FunadTrainParams params = funad_train_default_params ();
  char *output = NULL;
  char **inputs = NULL;
  gint64 seed = (gint64) params.seed, max_frames = 0;
  int size = params.input_size, epochs = params.epochs, threads = params.n_threads, every = 1;
  int bank_size = params.bank_size;
  double outlier_z = params.outlier_z;
  char *scorer = NULL;
  gboolean no_irmb = FALSE, no_synthetic = FALSE, no_smoothness = FALSE;
  gboolean quiet = FALSE;
  GError *error = NULL;
  char *size_help = g_strdup_printf ("Side of the square frame the model sees, a multiple of 8 "
                                     "(default %d)", params.input_size);
  char *epochs_help = g_strdup_printf ("Most training epochs; a label-free rule may stop sooner "
                                       "(default %d)", params.epochs);
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Model file to write", "MODEL" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed: same frames and seed, same model",
      "N" },
    { "size", 0, 0, G_OPTION_ARG_INT, &size, size_help, "N" },
    { "epochs", 0, 0, G_OPTION_ARG_INT, &epochs, epochs_help, "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "Worker threads (default 0: all cores)", "N" },
    { "every", 0, 0, G_OPTION_ARG_INT, &every, "Use every Nth frame of each video (default 1)",
      "N" },
    { "max-frames", 0, 0, G_OPTION_ARG_INT64, &max_frames, "Stop reading after N frames "
      "(default 0: all)", "N" },
    { "scorer", 0, 0, G_OPTION_ARG_STRING, &scorer, "memory-bank or funad (default "
      "memory-bank: it measured better, see README)", "NAME" },
    { "bank-size", 0, 0, G_OPTION_ARG_INT, &bank_size, "Memory-bank patches at most", "N" },
    { "outlier-z", 0, 0, G_OPTION_ARG_DOUBLE, &outlier_z, "Memory bank: drop training patches "
      "whose leave-own-image-out distance has a robust z-score above Z (0: keep all)", "Z" },
    { "no-irmb", 0, 0, G_OPTION_ARG_NONE, &no_irmb, "FUN-AD ablation: memory bank from all "
      "images, not from confident normals", NULL },
    { "no-synthetic", 0, 0, G_OPTION_ARG_NONE, &no_synthetic, "FUN-AD ablation: no synthetic "
      "anomalies", NULL },
    { "no-smoothness", 0, 0, G_OPTION_ARG_NONE, &no_smoothness, "FUN-AD ablation: no mutual "
      "smoothness loss", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing but errors", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &inputs, NULL, "INPUT..." },
    { NULL }
  };
  GOptionContext *context = g_option_context_new ("INPUT... - learn a funad model from "
                                                  "unlabeled frames");

  /* Messages (GLib's and ours) in the user's character set. */
  setlocale (LC_ALL, "");
  g_set_prgname ("funad-train");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, gst_init_get_option_group ());
  g_option_context_set_description (context,
      "Each INPUT is an image, a video (every frame is used) or a folder of images (searched\n"
      "recursively). The footage may contain some defective items: funad does not need labels.\n"
      "Ctrl-C stops training without writing a model (exit status 130).");
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    int rc = fail (error->message);
    g_error_free (error);
    return rc;
  }
  g_option_context_free (context);
  g_free (size_help);
  g_free (epochs_help);

  if (!output)
    return fail ("no model file given: use -o MODEL");
  if (!inputs || !inputs[0])
    return fail ("no input given: name image files, videos or folders of images");
  if (size < 32 || size > 1024 || size % 8 != 0)
    return fail ("--size must be a multiple of 8 between 32 and 1024");
  if (epochs < 0)
    return fail ("--epochs must not be negative");
  if (threads < 0)
    return fail ("--threads must not be negative");
  if (every < 1)
    return fail ("--every must be at least 1");
  if (max_frames < 0)
    return fail ("--max-frames must not be negative");
  if (!check_output_writable (output, &error) || !check_inputs_exist (inputs, &error)) {
    int rc = fail (error->message);
    g_error_free (error);
    return rc;
  }

  frame_source_init (NULL, NULL);

  params.seed = (guint64) seed;
  params.input_size = size;
  params.epochs = epochs;
  params.n_threads = threads;
  params.bank_size = bank_size;
  params.outlier_z = (float) outlier_z;
  params.use_irmb = !no_irmb;
  params.use_synthetic = !no_synthetic;
  params.use_smoothness = !no_smoothness;
  if (scorer && g_str_equal (scorer, "funad"))
    params.scorer = FUNAD_SCORER_FUNAD;
  else if (scorer && g_str_equal (scorer, "memory-bank"))
    params.scorer = FUNAD_SCORER_MEMORY_BANK;
  else if (scorer)
    return fail ("unknown --scorer: use memory-bank or funad");

  TrainJob job = { 0 };
  job.inputs = inputs;
  job.every = every;
  job.max_frames = (guint64) max_frames;
  job.quiet = quiet;
  job.progress_on_tty = isatty (STDERR_FILENO);
  job.last_percent = -1;
  job.trainer = funad_trainer_new (&params);
  job.loop = g_main_loop_new (NULL, FALSE);

  guint sigint = g_unix_signal_add (SIGINT, on_interrupt, &job);
  guint sigterm = g_unix_signal_add (SIGTERM, on_interrupt, &job);
  GThread *worker = g_thread_new ("funad-train", train_worker, &job);

  g_main_loop_run (job.loop);
  g_thread_join (worker);
  g_source_remove (sigint);
  g_source_remove (sigterm);

  int rc = EXIT_SUCCESS;

  if (g_atomic_int_get (&job.cancelled) ||
      g_error_matches (job.error, FUNAD_ERROR, FUNAD_ERROR_CANCELLED)) {
    rc = EXIT_INTERRUPTED;
  } else if (job.error) {
    rc = fail (job.error->message);
  } else if (!funad_model_save (job.model, output, &error)) {
    rc = fail (error->message);
    g_clear_error (&error);
  } else if (!quiet) {
    g_printerr ("funad-train: wrote %s: %d frames (decoding %.1f s, training %.1f s), "
                "threshold %.4g\n", output, funad_trainer_n_frames (job.trainer),
                job.decode_seconds, job.train_seconds, funad_model_threshold (job.model));
    if (job.stats.n_failed > 0)
      g_printerr ("funad-train: %u files could not be decoded and were skipped\n",
                  job.stats.n_failed);
  }

  if (job.model)
    funad_model_unref (job.model);
  g_clear_error (&job.error);
  g_free (job.last_stage);
  funad_trainer_free (job.trainer);
  g_main_loop_unref (job.loop);
  g_strfreev (inputs);
  g_free (output);
  return rc;
}
