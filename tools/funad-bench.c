/* funad-bench — prints where a frame's time goes, against what the machine can do.
 *
 *   funad-bench peak                 sgemm GFLOP/s on this machine (the ceiling)
 *   funad-bench core MODEL           the core alone: ms per stage, GFLOP/s, fps, peak RSS
 *   funad-bench element MODEL        funaddetect in a real pipeline: fps, peak RSS
 *
 * Frames are 640x480 RGB unless --width/--height say otherwise. Run each in its own process
 * (tools/bench.sh does) so that the peak RSS printed is that configuration's own. */
#include <gst/gst.h>
#include <cblas.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli-error.h"
#include "funad-private.h"

static int opt_frames = 200, opt_width = 640, opt_height = 480;
static gboolean opt_overlay = FALSE;
static int opt_threads = 0;    /* as n-threads: 0 is the element's default, one per core */

static double
now_s (void)
{
  return g_get_monotonic_time () / 1e6;
}

static double
peak_rss_mb (void)
{
  struct rusage usage;
  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;   /* Linux reports kilobytes */
}

/* Best of a few large square sgemms: the most GEMM throughput this process can get. */
static double
sgemm_peak_gflops (void)
{
  const int n = 1536;
  float *a = g_new (float, (gsize) n * n), *b = g_new (float, (gsize) n * n);
  float *c = g_new (float, (gsize) n * n);
  for (gsize i = 0; i < (gsize) n * n; i++) {
    a[i] = (float) (i % 17) / 17.f;
    b[i] = (float) (i % 13) / 13.f;
  }
  double best = 0;
  for (int rep = 0; rep < 6; rep++) {
    double t = now_s ();
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a, n, b, n, 0.f, c, n);
    t = now_s () - t;
    best = MAX (best, 2.0 * n * n * n / t / 1e9);
  }
  g_free (a);
  g_free (b);
  g_free (c);
  return best;
}

/* A deterministic textured frame: smooth shading plus noise, as a camera would give. */
static guint8 *
make_frame (int width, int height)
{
  guint8 *data = g_new (guint8, (gsize) width * height * 3);
  GRand *rng = g_rand_new_with_seed (1);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      for (int c = 0; c < 3; c++) {
        int v = 80 + (x * 60) / width + (y * 40) / height + c * 10 + g_rand_int_range (rng, 0, 24);
        data[((gsize) y * width + x) * 3 + c] = (guint8) CLAMP (v, 0, 255);
      }
  g_rand_free (rng);
  return data;
}

static int
bench_core (const char *model_path)
{
  GError *error = NULL;
  double t_load = now_s ();
  FunadModel *model = funad_model_load (model_path, &error);
  if (!model)
    return cli_fail_error (error);
  t_load = now_s () - t_load;
  double t_index = now_s ();
  const FunadBankIndex *index = funad_model_bank_index (model);
  t_index = now_s () - t_index;
  double peak = sgemm_peak_gflops ();
  guint8 *pixels = make_frame (opt_width, opt_height);
  FunadImage image = { pixels, opt_width, opt_height, opt_width * 3, 3, 0, 1, 2 };
  FunadScorer *scorer = funad_scorer_new (model);
  /* as the element's n-threads: 0 (or none given) is its default, one per core */
  int threads = opt_threads > 0 ? opt_threads : funad_scorer_auto_threads ();
  funad_scorer_set_threads (scorer, threads);
  int size = funad_model_input_size (model);
  double sum[FUNAD_N_STAGES] = { 0 }, overlay_ms = 0;
  const float *map = NULL;
  float score;
  for (int i = 0; i < 5; i++)   /* warm-up: caches, page faults, BLAS threads */
    funad_scorer_score (scorer, &image, &score, &map, NULL);
  double start = now_s ();
  for (int i = 0; i < opt_frames; i++) {
    if (!funad_scorer_score (scorer, &image, &score, &map, &error))
      return cli_fail_error (error);
    double ms[FUNAD_N_STAGES];
    funad_scorer_stage_times (scorer, ms);
    for (int s = 0; s < FUNAD_N_STAGES; s++)
      sum[s] += ms[s];
    if (opt_overlay) {
      double t = now_s ();
      funad_heatmap_blend (map, size, size, 0.f, (float) funad_model_threshold (model) * 2.f,
                           0.5f, &image);
      overlay_ms += (now_s () - t) * 1e3;
    }
  }
  double total_ms = (now_s () - start) * 1e3 / opt_frames;
  double bb_flop, sc_flop;
  funad_model_frame_flops (model, &bb_flop, &sc_flop);
  double ms[FUNAD_N_STAGES];
  for (int s = 0; s < FUNAD_N_STAGES; s++)
    ms[s] = sum[s] / opt_frames;
  printf ("core    input %d  %dx%d  threads %d  overlay %-3s  %.1f fps  %.2f ms/frame: preprocess %.2f  "
          "backbone %.2f  scorer %.2f  map %.2f  overlay %.2f\n",
          size, opt_width, opt_height, threads, opt_overlay ? "on" : "off", 1e3 / total_ms, total_ms,
          ms[FUNAD_STAGE_PREPROCESS], ms[FUNAD_STAGE_BACKBONE], ms[FUNAD_STAGE_SCORER],
          ms[FUNAD_STAGE_MAP], overlay_ms / opt_frames);
  printf ("        GFLOP/frame: backbone %.3f  scorer %.3f;  GFLOP/s: backbone %.1f  scorer %.1f  "
          "(sgemm peak %.1f: %.0f%% and %.0f%%);  peak RSS %.0f MB\n",
          bb_flop / 1e9, sc_flop / 1e9, bb_flop / ms[FUNAD_STAGE_BACKBONE] / 1e6,
          sc_flop / ms[FUNAD_STAGE_SCORER] / 1e6, peak,
          100 * bb_flop / ms[FUNAD_STAGE_BACKBONE] / 1e6 / peak,
          100 * sc_flop / ms[FUNAD_STAGE_SCORER] / 1e6 / peak, peak_rss_mb ());
  if (index)
    printf ("        load %.0f ms, bank index %.0f ms (%d cells, %d probed per patch)\n",
            t_load * 1e3, t_index * 1e3, index->n_cells, index->n_probe);
  else
    printf ("        load %.0f ms, exact search (no bank index)\n", t_load * 1e3);
  funad_scorer_free (scorer);
  funad_model_unref (model);
  g_free (pixels);
  return 0;
}

/* Runs a pipeline to the end; returns seconds from PLAYING to EOS (the first frame, scored
 * during preroll, is not timed), or -1 with a message. */
static double
run_pipeline (const char *description)
{
  GError *error = NULL;
  /* Fatal errors: a missing element fails here, not later as "Internal data stream error". */
  GstElement *pipeline = gst_parse_launch_full (description, NULL, GST_PARSE_FLAG_FATAL_ERRORS,
                                                &error);
  if (!pipeline) {
    gboolean no_element = g_error_matches (error, GST_PARSE_ERROR,
                                           GST_PARSE_ERROR_NO_SUCH_ELEMENT);
    g_printerr ("funad-bench: error: %s%s\n", error->message,
                no_element ? " (is GST_PLUGIN_PATH set to the build's gst/ folder?)" : "");
    g_error_free (error);
    return -1;
  }
  GstBus *bus = gst_element_get_bus (pipeline);
  double seconds = -1;
  gst_element_set_state (pipeline, GST_STATE_PAUSED);
  if (gst_element_get_state (pipeline, NULL, NULL, GST_CLOCK_TIME_NONE) !=
      GST_STATE_CHANGE_FAILURE) {
    double start = now_s ();
    gst_element_set_state (pipeline, GST_STATE_PLAYING);
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
                                                  GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
      seconds = now_s () - start;
    } else {
      gst_message_parse_error (msg, &error, NULL);
      g_printerr ("funad-bench: error: %s\n", error->message);
      g_clear_error (&error);
    }
    gst_message_unref (msg);
  } else {
    GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    if (msg) {
      gst_message_parse_error (msg, &error, NULL);
      g_printerr ("funad-bench: error: %s\n", error->message);
      g_clear_error (&error);
      gst_message_unref (msg);
    }
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  return seconds;
}

static int
bench_element (const char *model_path)
{
  char threads[32];
  g_snprintf (threads, sizeof threads, "n-threads=%d", opt_threads);
  char *description = g_strdup_printf (
      "videotestsrc num-buffers=%d pattern=ball ! video/x-raw,format=RGB,width=%d,height=%d ! "
      "funaddetect model=\"%s\" overlay=%s post-messages=false %s ! fakesink sync=false",
      opt_frames + 1, opt_width, opt_height, model_path, opt_overlay ? "heatmap" : "none",
      threads);
  double seconds = run_pipeline (description);
  g_free (description);
  if (seconds < 0)
    return 1;
  printf ("element %dx%d  %s  overlay %-3s  %.1f fps  %.2f ms/frame  peak RSS %.0f MB\n",
          opt_width, opt_height, threads, opt_overlay ? "on" : "off", opt_frames / seconds,
          seconds * 1e3 / opt_frames, peak_rss_mb ());
  return 0;
}

int
main (int argc, char **argv)
{
  GOptionEntry entries[] = {
    { "frames", 'n', 0, G_OPTION_ARG_INT, &opt_frames, "Frames to time (default 200)", "N" },
    { "width", 0, 0, G_OPTION_ARG_INT, &opt_width, "Frame width (default 640)", "W" },
    { "height", 0, 0, G_OPTION_ARG_INT, &opt_height, "Frame height (default 480)", "H" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &opt_threads,
      "Threads per frame, as the element's n-threads (default 0: one per core, at most 8, the element's default)", "N" },
    { "overlay", 0, 0, G_OPTION_ARG_NONE, &opt_overlay, "Blend the heat map into each frame",
      NULL },
    { NULL }
  };
  setlocale (LC_ALL, "");
  g_set_prgname ("funad-bench");
  GOptionContext *context = g_option_context_new ("peak | core MODEL | element MODEL");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, gst_init_get_option_group ());
  GError *error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return cli_fail_error (error);
  g_option_context_free (context);
  if (opt_frames < 1 || opt_width < 1 || opt_height < 1)
    return cli_fail ("--frames, --width and --height must be positive");
  if (opt_threads < 0 || opt_threads > FUNAD_MAX_THREADS)
    return cli_fail ("--threads must be from 0 to 64 (the element's n-threads range)");
  if (argc == 2 && strcmp (argv[1], "peak") == 0) {
    printf ("sgemm peak %.1f GFLOP/s\n", sgemm_peak_gflops ());
    return 0;
  }
  if (argc == 3 && strcmp (argv[1], "core") == 0)
    return bench_core (argv[2]);
  if (argc == 3 && strcmp (argv[1], "element") == 0)
    return bench_element (argv[2]);
  return cli_fail ("usage: funad-bench peak | core MODEL | element MODEL (see --help)");
}
