/* funad-soak.c — pushes many frames through funaddetect (every feature on: overlay, metas, bus
 * messages, a results file) and prints the process's resident memory as it goes, so a leak
 * shows as a curve that keeps rising after warm-up. Exits 1 when the growth after warm-up
 * exceeds --max-growth-kb. tools/soak.sh runs the long version; the test suite a short one.
 *
 *   funad-soak [--frames N] [--every K] [--warmup W] [--max-growth-kb B] [--model FILE]
 */
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <stdio.h>
#include <unistd.h>
#include "funad.h"
#include "synthetic-frames.h"

#define FRAME_W 160
#define FRAME_H 120

static int every = 1000, warmup;
static gint64 rss_at_warmup = -1, rss_peak_after;
static gint64 t_start;

static gint64
rss_kb (void)
{
  char *statm = NULL;
  long pages = 0, resident = 0;
  if (g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL))
    sscanf (statm, "%ld %ld", &pages, &resident);
  g_free (statm);
  return (gint64) resident * (sysconf (_SC_PAGESIZE) / 1024);
}

/* Counts the frames that reached the sink; samples memory every `every` frames. */
static GstPadProbeReturn
on_frame (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  guint64 *n = data;
  ++*n;
  if (*n % (guint64) every == 0) {
    gint64 rss = rss_kb ();
    if ((int) *n == warmup)
      rss_at_warmup = rss;
    else if ((int) *n > warmup)
      rss_peak_after = MAX (rss_peak_after, rss);
    double secs = (g_get_monotonic_time () - t_start) / 1e6;
    printf ("frames %8" G_GUINT64_FORMAT "  rss_kb %8" G_GINT64_FORMAT "  %6.1f s\n", *n, rss,
            secs);
    fflush (stdout);
  }
  return GST_PAD_PROBE_OK;
}

/* Per-frame messages are dropped as they are posted, as an application that reads them in its
 * streaming thread would (a handler that drops a message owns it, so unrefs it). */
static GstBusSyncReply
drop_element_messages (GstBus *bus, GstMessage *msg, gpointer data)
{
  if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_ELEMENT)
    return GST_BUS_PASS;
  gst_message_unref (msg);
  return GST_BUS_DROP;
}

static char *
train_model (const char *dir)
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
    g_assert (funad_trainer_add_frame (t, &im, NULL));
  }
  g_free (rgb);
  GError *error = NULL;
  FunadModel *m = funad_trainer_run (t, NULL, NULL, &error);
  if (!m)
    g_error ("funad-soak: %s", error->message);
  funad_trainer_free (t);
  char *path = g_build_filename (dir, "soak.safetensors", NULL);
  if (!funad_model_save (m, path, &error))
    g_error ("funad-soak: %s", error->message);
  funad_model_unref (m);
  return path;
}

int
main (int argc, char **argv)
{
  int frames = 100000, max_growth_kb = 0;
  char *model = NULL;
  GOptionEntry entries[] = {
    { "frames", 0, 0, G_OPTION_ARG_INT, &frames, "frames to push [100000]", "N" },
    { "every", 0, 0, G_OPTION_ARG_INT, &every, "print memory every K frames [1000]", "K" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &warmup, "frames of warm-up [frames/10]", "W" },
    { "max-growth-kb", 0, 0, G_OPTION_ARG_INT, &max_growth_kb,
      "fail when resident memory grows more after warm-up [0: report only]", "B" },
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model, "model [a small one trained here]", "FILE" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- resident memory of a long funaddetect run");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    fprintf (stderr, "funad-soak: %s\n", error->message);
    return 2;
  }
  g_option_context_free (ctx);
  if (warmup <= 0)
    warmup = frames / 10;
  warmup = MAX (every, warmup / every * every);
  if (frames <= warmup || every <= 0) {
    fprintf (stderr, "funad-soak: --frames must exceed the warm-up, --every be positive\n");
    return 2;
  }
  char *dir = g_dir_make_tmp ("funad-soak-XXXXXX", NULL);
  if (!model)
    model = train_model (dir);

  /* snow: every frame differs, so every frame is really scored */
  char *desc = g_strdup_printf (
      "videotestsrc num-buffers=%d pattern=snow ! video/x-raw,format=RGB,width=%d,height=%d,"
      "framerate=25/1 ! funaddetect name=d model=\"%s\" overlay=both attach-meta=true "
      "roi-meta=true results-location=/dev/null ! fakesink name=sink sync=false",
      frames, FRAME_W, FRAME_H, model);
  GstElement *pipeline = gst_parse_launch (desc, &error);
  if (!pipeline)
    g_error ("funad-soak: %s", error->message);
  GstBus *bus = gst_element_get_bus (pipeline);
  gst_bus_set_sync_handler (bus, drop_element_messages, NULL, NULL);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstPad *pad = gst_element_get_static_pad (sink, "sink");
  guint64 n = 0;
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_frame, &n, NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);

  printf ("funad-soak: %d frames of %dx%d, warm-up %d, rss_kb at start %" G_GINT64_FORMAT "\n",
          frames, FRAME_W, FRAME_H, warmup, rss_kb ());
  t_start = g_get_monotonic_time ();
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
                                                GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  int rc = 0;
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    gst_message_parse_error (msg, &error, NULL);
    fprintf (stderr, "funad-soak: pipeline failed: %s\n", error->message);
    rc = 1;
  }
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);

  gint64 growth = rss_peak_after - rss_at_warmup;
  double secs = (g_get_monotonic_time () - t_start) / 1e6;
  printf ("funad-soak: %" G_GUINT64_FORMAT " frames in %.1f s (%.0f/s); rss_kb at warm-up %"
          G_GINT64_FORMAT ", highest after %" G_GINT64_FORMAT ", growth %" G_GINT64_FORMAT
          " kB\n", n, secs, n / secs, rss_at_warmup, rss_peak_after, growth);
  if (rc == 0 && n != (guint64) frames) {
    fprintf (stderr, "funad-soak: %" G_GUINT64_FORMAT " of %d frames arrived\n", n, frames);
    rc = 1;
  }
  if (rc == 0 && max_growth_kb > 0 && growth > max_growth_kb) {
    fprintf (stderr, "funad-soak: resident memory grew %" G_GINT64_FORMAT " kB after warm-up "
             "(bound %d kB)\n", growth, max_growth_kb);
    rc = 1;
  }
  char *trained = g_build_filename (dir, "soak.safetensors", NULL);
  g_unlink (trained);
  g_rmdir (dir);
  g_free (trained);
  g_free (desc);
  g_free (model);
  g_free (dir);
  gst_deinit ();
  return rc;
}
