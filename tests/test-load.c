/* test-load.c — many streams in one process: eight funaddetect pipelines running at once, and
 * eight threads sharing one loaded FunadModel through the core API, each with its own
 * FunadScorer. Every stream must give the scores it gives alone. Built for ThreadSanitizer too
 * (tools/tsan-check.sh). */
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <math.h>
#include <string.h>
#include "funad.h"
#include "synthetic-frames.h"

#define N_STREAMS 8
#define FRAME_W 160
#define FRAME_H 120
#define N_FRAMES 40

static char *tmp_dir, *model_path;
static FunadModel *model;

/* A small model trained on synthetic frames of the streams' size. */
static void
make_model (void)
{
  FunadTrainParams p = funad_train_default_params ();
  p.input_size = 64;
  p.dict_size = 16;
  p.fit_patches = 4000;
  p.bank_size = 2000;
  FunadTrainer *t = funad_trainer_new (&p);
  guint8 *rgb = g_malloc (FRAME_W * FRAME_H * 3);
  for (int i = 0; i < 12; i++) {
    synthetic_frame (rgb, FRAME_W, FRAME_H, 100 + i, FALSE, 6);
    FunadImage im = synthetic_image (rgb, FRAME_W, FRAME_H);
    g_assert_true (funad_trainer_add_frame (t, &im, NULL));
  }
  g_free (rgb);
  GError *error = NULL;
  model = funad_trainer_run (t, NULL, NULL, &error);
  g_assert_no_error (error);
  funad_trainer_free (t);
  model_path = g_build_filename (tmp_dir, "load.safetensors", NULL);
  g_assert_true (funad_model_save (model, model_path, &error));
  g_assert_no_error (error);
}

/* ---- eight pipelines -------------------------------------------------------------------- */

typedef struct {
  GstElement *pipeline;
  GstBus *bus;
  GArray *scores;   /* double, one per frame */
  gboolean done;
} Stream;

static void
stream_start (Stream *s, int pattern)
{
  char *desc = g_strdup_printf (
      "videotestsrc num-buffers=%d pattern=%d ! video/x-raw,format=RGB,width=%d,height=%d,"
      "framerate=25/1 ! funaddetect model=\"%s\" overlay=both attach-meta=true roi-meta=true "
      "! fakesink sync=false", N_FRAMES, pattern, FRAME_W, FRAME_H, model_path);
  GError *error = NULL;
  s->pipeline = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  s->bus = gst_element_get_bus (s->pipeline);
  s->scores = g_array_new (FALSE, FALSE, sizeof (double));
  g_assert_cmpint (gst_element_set_state (s->pipeline, GST_STATE_PLAYING), !=,
                   GST_STATE_CHANGE_FAILURE);
  g_free (desc);
}

/* Takes what the stream's bus holds; TRUE once it reached EOS. */
static gboolean
stream_poll (Stream *s)
{
  GstMessage *msg;
  while (!s->done && (msg = gst_bus_pop (s->bus))) {
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      GError *error = NULL;
      gst_message_parse_error (msg, &error, NULL);
      g_error ("stream failed: %s", error->message);
    }
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS)
      s->done = TRUE;
    if (gst_message_has_name (msg, "funad")) {
      double score;
      g_assert_true (gst_structure_get_double (gst_message_get_structure (msg), "score",
                                               &score));
      g_assert_true (isfinite (score));
      g_array_append_val (s->scores, score);
    }
    gst_message_unref (msg);
  }
  return s->done;
}

static void
stream_stop (Stream *s)
{
  gst_element_set_state (s->pipeline, GST_STATE_NULL);
  gst_object_unref (s->bus);
  gst_object_unref (s->pipeline);
  g_array_unref (s->scores);
}

static void
test_eight_pipelines (void)
{
  /* Streams i and i + 4 show the same test pattern, so must score alike. */
  static const int patterns[4] = { 0 /* smpte */, 1 /* snow */, 18 /* ball */, 8 /* checkers */ };
  Stream streams[N_STREAMS] = { 0 };
  for (int i = 0; i < N_STREAMS; i++)
    stream_start (&streams[i], patterns[i % 4]);
  gint64 deadline = g_get_monotonic_time () + 300 * G_TIME_SPAN_SECOND;
  for (;;) {
    int done = 0;
    for (int i = 0; i < N_STREAMS; i++)
      done += stream_poll (&streams[i]);
    if (done == N_STREAMS)
      break;
    g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    g_usleep (2000);
  }
  for (int i = 0; i < N_STREAMS; i++) {
    g_assert_cmpuint (streams[i].scores->len, ==, N_FRAMES);
    if (i >= 4)
      g_assert_cmpmem (streams[i].scores->data, N_FRAMES * sizeof (double),
                       streams[i - 4].scores->data, N_FRAMES * sizeof (double));
  }
  for (int i = 0; i < N_STREAMS; i++)
    stream_stop (&streams[i]);
}

/* ---- eight threads, one model ----------------------------------------------------------- */

typedef struct {
  guint8 *frames;          /* N_FRAMES RGB frames */
  const float *expected;   /* their scores, scored alone */
  int first;               /* each thread starts at a different frame */
  int scorer_threads;      /* the scorer's own threads (funad_scorer_set_threads) */
  int mismatches;
} Worker;

static gpointer
worker_run (gpointer data)
{
  Worker *w = data;
  FunadScorer *scorer = funad_scorer_new (model);
  funad_scorer_set_threads (scorer, w->scorer_threads);
  for (int round = 0; round < 3; round++)
    for (int k = 0; k < N_FRAMES; k++) {
      int i = (w->first + k) % N_FRAMES;
      FunadImage im = synthetic_image (w->frames + (gsize) i * FRAME_W * FRAME_H * 3,
                                       FRAME_W, FRAME_H);
      float score;
      const float *map;
      g_assert_true (funad_scorer_score (scorer, &im, &score, &map, NULL));
      /* The same up to summation order: banded scorers sum in another order, and OpenBLAS
       * called from eight threads at once may split a product otherwise than when called
       * alone (an AMD EPYC, OpenBLAS 0.3.21: 672 of the 960 scores differed, by about 1e-7
       * relative). A score of another frame or of a torn buffer differs far more. */
      float e = w->expected[i];
      w->mismatches += fabsf (score - e) > 1e-4f * (1 + fabsf (e));
    }
  funad_scorer_free (scorer);
  return NULL;
}

static void
eight_threads_share_model (int scorer_threads)
{
  const gsize frame_bytes = FRAME_W * FRAME_H * 3;
  guint8 *frames = g_malloc (frame_bytes * N_FRAMES);
  float expected[N_FRAMES];
  FunadScorer *alone = funad_scorer_new (model);
  for (int i = 0; i < N_FRAMES; i++) {
    synthetic_frame (frames + i * frame_bytes, FRAME_W, FRAME_H, 500 + i, i % 5 == 0, 8);
    FunadImage im = synthetic_image (frames + i * frame_bytes, FRAME_W, FRAME_H);
    g_assert_true (funad_scorer_score (alone, &im, &expected[i], NULL, NULL));
  }
  funad_scorer_free (alone);

  Worker workers[N_STREAMS];
  GThread *threads[N_STREAMS];
  for (int t = 0; t < N_STREAMS; t++) {
    workers[t] = (Worker) { frames, expected, t * 5, scorer_threads, 0 };
    threads[t] = g_thread_new ("scorer", worker_run, &workers[t]);
  }
  for (int t = 0; t < N_STREAMS; t++) {
    g_thread_join (threads[t]);
    g_assert_cmpint (workers[t].mismatches, ==, 0);
  }
  g_free (frames);
}

static void
test_eight_threads_share_model (void)
{
  eight_threads_share_model (1);
}

/* The same with each scorer cutting its frames over two threads of its own: 16 threads. */
static void
test_eight_banded_scorers_share_model (void)
{
  eight_threads_share_model (2);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("funad-load-XXXXXX", NULL);
  make_model ();
  g_test_add_func ("/load/eight-threads-share-one-model", test_eight_threads_share_model);
  g_test_add_func ("/load/eight-banded-scorers-share-one-model",
                   test_eight_banded_scorers_share_model);
  g_test_add_func ("/load/eight-pipelines", test_eight_pipelines);
  int rc = g_test_run ();
  funad_model_unref (model);
  g_unlink (model_path);
  g_rmdir (tmp_dir);
  g_free (model_path);
  g_free (tmp_dir);
  return rc;
}
