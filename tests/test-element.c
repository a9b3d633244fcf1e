/* gst-check tests for the funaddetect element
 * Copyright (C) 2026 funad contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 *
 * This library is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
 * Lesser General Public License for more details.
 *
 * You should have received a copy of the GNU Lesser General Public
 * License along with this library; if not, see <https://www.gnu.org/licenses/>.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <gst/base/gstbasesink.h>
#include <gst/base/gstbasetransform.h>
#include <gst/video/video.h>
#include <json-glib/json-glib.h>

#include "funad.h"
#include "gstfunadmeta.h"

/* A small model, trained once per run by the unchecked fixture. */
static gchar *tmp_dir;
static gchar *model_path;
static gchar *garbage_path;
static gdouble model_threshold;
/* a second model (other seed, input size 32) for the reload test */
static gchar *model2_path;
static gdouble model2_threshold;
/* a colour model: the committed tiny MobileNetV2 fixture as its backbone */
static gchar *colour_model_path;

#define FRAME_DURATION (GST_SECOND / 25)

/* values of the element's GstFunadDetectOverlay enum */
#define GST_FUNAD_OVERLAY_HEATMAP 1
#define GST_FUNAD_OVERLAY_CONTOUR 2
#define GST_FUNAD_OVERLAY_BOTH 3

static const gchar *formats[] = {
  "RGB", "BGR", "RGBx", "BGRx", "xRGB", "xBGR",
  "RGBA", "BGRA", "ARGB", "ABGR", "GRAY8", "I420", "NV12", "YUY2",
};

static gboolean
is_yuv (const gchar * format)
{
  return !strcmp (format, "I420") || !strcmp (format, "NV12") ||
      !strcmp (format, "YUY2");
}

/* pads of the level-style tests, linked to the element by gst-check */
static GstPad *mysrcpad, *mysinkpad;

static GstStaticPadTemplate sinktemplate = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw"));
static GstStaticPadTemplate srctemplate = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw"));

/* ---- fixture ------------------------------------------------------------ */

/* 64x64 RGB frames: diagonal stripes plus per-frame noise, the "normal"
 * texture the model learns. */
static void
fill_texture (guint8 * data, int w, int h, int stride, GRand * rand)
{
  int x, y;

  for (y = 0; y < h; y++) {
    for (x = 0; x < w; x++) {
      guint8 *p = data + y * stride + x * 3;
      int base = ((x + y) / 4) % 2 ? 150 : 90;

      p[0] = CLAMP (base + g_rand_int_range (rand, -20, 21), 0, 255);
      p[1] = CLAMP (base - 10 + g_rand_int_range (rand, -20, 21), 0, 255);
      p[2] = CLAMP (base + 10 + g_rand_int_range (rand, -20, 21), 0, 255);
    }
  }
}

/* A model whose backbone reads colour: the tiny MobileNetV2 of
 * tests/fixtures (random weights: enough to negotiate and score), its
 * weights copied beside the model, which names them. Trained by the test
 * that needs it, not by the fixture: training a pretrained trunk leaves its
 * worker threads parked in GLib's shared thread pool, and a test process
 * forked from the fixture's would count on threads it lacks (its streaming
 * threads would never start). */
static const gchar *
colour_model (void)
{
  FunadTrainParams params = funad_train_default_params ();
  GRand *rand;
  guint8 *pixels;
  FunadImage img = { NULL, 64, 64, 64 * 3, 3, 0, 1, 2 };
  const gchar *fixtures = g_getenv ("FUNAD_FIXTURES");
  gchar *src, *weights, *contents;
  FunadTrainer *trainer;
  FunadModel *model;
  GError *err = NULL;
  gsize len;
  int i;

  if (colour_model_path != NULL)
    return colour_model_path;
  fail_unless (fixtures != NULL, "FUNAD_FIXTURES is not set");
  rand = g_rand_new_with_seed (44);
  pixels = img.data = g_malloc (64 * 64 * 3);
  src = g_build_filename (fixtures, "mobilenetv2-tiny.safetensors", NULL);
  weights = g_build_filename (tmp_dir, "mobilenetv2-tiny.safetensors", NULL);
  fail_unless (g_file_get_contents (src, &contents, &len, &err));
  fail_unless (g_file_set_contents (weights, contents, (gssize) len, &err));
  g_free (contents);

  params.input_size = 64;
  params.epochs = 2;
  params.seed = 11;
  trainer = funad_trainer_new (&params);
  fail_unless (funad_trainer_set_backbone (trainer, "mobilenetv2_100",
          weights, &err));
  g_assert_no_error (err);
  for (i = 0; i < 8; i++) {
    fill_texture (pixels, 64, 64, 64 * 3, rand);
    fail_unless (funad_trainer_add_frame (trainer, &img, &err));
  }
  model = funad_trainer_run (trainer, NULL, NULL, &err);
  g_assert_no_error (err);
  fail_unless_equals_int (funad_model_channels (model), 3);
  colour_model_path = g_build_filename (tmp_dir, "colour.funad", NULL);
  fail_unless (funad_model_save (model, colour_model_path, &err));
  g_assert_no_error (err);
  funad_model_unref (model);
  funad_trainer_free (trainer);
  g_free (pixels);
  g_rand_free (rand);
  g_free (weights);
  g_free (src);
  return colour_model_path;
}

static void
make_model (void)
{
  static const gchar garbage[] =
      "\x13\x37 this is not a model \xff\xfe\x00\x01 garbage";
  FunadTrainParams params = funad_train_default_params ();
  FunadTrainer *trainer;
  FunadModel *model;
  GError *err = NULL;
  GRand *rand = g_rand_new_with_seed (42);
  guint8 *pixels = g_malloc (64 * 64 * 3);
  FunadImage img = { pixels, 64, 64, 64 * 3, 3, 0, 1, 2 };
  gint64 t0 = g_get_monotonic_time ();
  int i;

  tmp_dir = g_dir_make_tmp ("funad-element-XXXXXX", &err);
  g_assert_no_error (err);

  params.input_size = 64;
  params.epochs = 2;
  params.seed = 7;
  trainer = funad_trainer_new (&params);
  for (i = 0; i < 30; i++) {
    fill_texture (pixels, 64, 64, 64 * 3, rand);
    fail_unless (funad_trainer_add_frame (trainer, &img, &err));
    g_assert_no_error (err);
  }
  model = funad_trainer_run (trainer, NULL, NULL, &err);
  g_assert_no_error (err);
  fail_unless (model != NULL);

  model_path = g_build_filename (tmp_dir, "test.funad", NULL);
  fail_unless (funad_model_save (model, model_path, &err));
  g_assert_no_error (err);
  GST_INFO ("trained model in %.1f s, threshold %g",
      (g_get_monotonic_time () - t0) / 1e6, funad_model_threshold (model));
  funad_model_unref (model);

  /* the element reads the file, so expect the threshold the file gives */
  model = funad_model_load (model_path, &err);
  g_assert_no_error (err);
  model_threshold = funad_model_threshold (model);

  funad_model_unref (model);
  funad_trainer_free (trainer);
  g_rand_set_seed (rand, 43);
  params.input_size = 32;
  params.seed = 9;
  trainer = funad_trainer_new (&params);
  img.data = pixels;
  for (i = 0; i < 30; i++) {
    fill_texture (pixels, 64, 64, 64 * 3, rand);
    fail_unless (funad_trainer_add_frame (trainer, &img, &err));
  }
  model = funad_trainer_run (trainer, NULL, NULL, &err);
  g_assert_no_error (err);
  model2_path = g_build_filename (tmp_dir, "test2.funad", NULL);
  fail_unless (funad_model_save (model, model2_path, &err));
  g_assert_no_error (err);
  funad_model_unref (model);
  model = funad_model_load (model2_path, &err);
  g_assert_no_error (err);
  model2_threshold = funad_model_threshold (model);

  /* not a safetensors file: the loader must refuse it */
  garbage_path = g_build_filename (tmp_dir, "garbage.funad", NULL);
  fail_unless (g_file_set_contents (garbage_path, garbage, sizeof (garbage),
          &err));
  g_assert_no_error (err);

  funad_model_unref (model);
  funad_trainer_free (trainer);
  g_free (pixels);
  g_rand_free (rand);
}

static void
remove_model (void)
{
  GDir *dir = g_dir_open (tmp_dir, 0, NULL);
  const gchar *name;

  while (dir && (name = g_dir_read_name (dir))) {
    gchar *path = g_build_filename (tmp_dir, name, NULL);
    g_unlink (path);
    g_free (path);
  }
  if (dir)
    g_dir_close (dir);
  g_rmdir (tmp_dir);
  g_clear_pointer (&tmp_dir, g_free);
  g_clear_pointer (&model_path, g_free);
  g_clear_pointer (&garbage_path, g_free);
  g_clear_pointer (&model2_path, g_free);
  g_clear_pointer (&colour_model_path, g_free);
}

/* ---- helpers ------------------------------------------------------------ */

/* Runs a gst-launch description to EOS or ERROR; returns the final message
 * and stores the "funad" element messages (in order) in *funad_msgs. */
static GstMessage *
run_pipeline (const gchar * desc, GPtrArray * funad_msgs)
{
  GError *err = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &err);
  GstBus *bus;
  GstMessage *msg = NULL;

  g_assert_no_error (err);
  fail_unless (pipeline != NULL);
  bus = gst_element_get_bus (pipeline);

  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE, "pipeline refused to start: %s", desc);

  while ((msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
              GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT))) {
    if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_ELEMENT)
      break;
    if (gst_message_has_name (msg, "funad") && funad_msgs)
      g_ptr_array_add (funad_msgs, msg);
    else
      gst_message_unref (msg);
  }
  fail_unless (msg != NULL, "pipeline timed out: %s", desc);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  return msg;
}

/* takes ownership of msg */
static void
assert_eos (GstMessage * msg)
{
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = NULL;
    gchar *dbg = NULL;

    gst_message_parse_error (msg, &err, &dbg);
    fail ("pipeline error: %s (%s)", err->message, GST_STR_NULL (dbg));
  }
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_EOS);
  gst_message_unref (msg);
}

static guint64
get_uint64 (const GstStructure * s, const gchar * field)
{
  guint64 v = 0;

  fail_unless (gst_structure_has_field_typed (s, field, G_TYPE_UINT64),
      "field %s missing or not a guint64", field);
  fail_unless (gst_structure_get_uint64 (s, field, &v));
  return v;
}

static gdouble
get_double (const GstStructure * s, const gchar * field)
{
  gdouble v = 0;

  fail_unless (gst_structure_has_field_typed (s, field, G_TYPE_DOUBLE),
      "field %s missing or not a gdouble", field);
  fail_unless (gst_structure_get_double (s, field, &v));
  return v;
}

static gboolean
get_boolean (const GstStructure * s, const gchar * field)
{
  gboolean v = FALSE;

  fail_unless (gst_structure_has_field_typed (s, field, G_TYPE_BOOLEAN),
      "field %s missing or not a gboolean", field);
  fail_unless (gst_structure_get_boolean (s, field, &v));
  return v;
}

/* Checks every field of one "funad" message of frame @i of a 25 fps stream
 * whose segment starts at 0; returns the score. */
static gdouble
check_funad_message (GstMessage * msg, guint64 i, gdouble expected_threshold)
{
  const GstStructure *s = gst_message_get_structure (msg);
  GstClockTime pts = i * FRAME_DURATION;
  gdouble score, threshold;

  fail_unless (gst_structure_has_name (s, "funad"));
  fail_unless_equals_uint64 (get_uint64 (s, "frame"), i);
  fail_unless_equals_uint64 (get_uint64 (s, "timestamp"), pts);
  fail_unless_equals_uint64 (get_uint64 (s, "stream-time"), pts);
  fail_unless_equals_uint64 (get_uint64 (s, "running-time"), pts);
  fail_unless_equals_uint64 (get_uint64 (s, "duration"), FRAME_DURATION);
  score = get_double (s, "score");
  threshold = get_double (s, "threshold");
  fail_unless (isfinite (score) && score >= 0.0, "bad score %g", score);
  fail_unless_equals_float (threshold, expected_threshold);
  fail_unless_equals_int (get_boolean (s, "anomaly"), score > threshold);
  return score;
}

/* Sets the state to PLAYING, expects it to fail, and returns the text of the
 * ERROR message posted on the bus. */
static gchar *
expect_start_failure (const gchar * desc)
{
  GError *err = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &err);
  GstBus *bus;
  GstMessage *msg;
  gchar *text;

  g_assert_no_error (err);
  bus = gst_element_get_bus (pipeline);
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_PLAYING),
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no ERROR message for %s", desc);
  fail_unless (GST_IS_ELEMENT (GST_MESSAGE_SRC (msg)));
  fail_unless_equals_string (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), "d");
  gst_message_parse_error (msg, &err, NULL);
  text = g_strdup (err->message);
  GST_INFO ("error: %s", text);

  g_error_free (err);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  return text;
}

/* A level-style harness: the element with gst-check pads and a private bus. */
static GstElement *
setup_detect (GstBus ** bus)
{
  GstElement *detect = gst_check_setup_element ("funaddetect");

  mysrcpad = gst_check_setup_src_pad (detect, &srctemplate);
  mysinkpad = gst_check_setup_sink_pad (detect, &sinktemplate);
  gst_pad_set_active (mysrcpad, TRUE);
  gst_pad_set_active (mysinkpad, TRUE);
  *bus = gst_bus_new ();
  gst_element_set_bus (detect, *bus);
  g_object_set (detect, "model", model_path, NULL);
  return detect;
}

static void
cleanup_detect (GstElement * detect, GstBus * bus)
{
  gst_bus_set_flushing (bus, TRUE);
  gst_element_set_bus (detect, NULL);
  gst_object_unref (bus);
  gst_check_drop_buffers ();
  gst_pad_set_active (mysrcpad, FALSE);
  gst_pad_set_active (mysinkpad, FALSE);
  gst_check_teardown_src_pad (detect);
  gst_check_teardown_sink_pad (detect);
  gst_check_teardown_element (detect);
}

static void
push_start_events (GstElement * detect, GstCaps * caps,
    const GstSegment * segment)
{
  fail_unless (gst_pad_push_event (mysrcpad,
          gst_event_new_stream_start ("funad-test")));
  fail_unless (gst_pad_push_event (mysrcpad, gst_event_new_caps (caps)));
  fail_unless (gst_pad_push_event (mysrcpad, gst_event_new_segment (segment)));
}

static GstBuffer *
new_frame (const GstVideoInfo * info, guint8 fill, GRand * rand, guint64 i)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, info->size, NULL);
  GstMapInfo map;
  gsize k;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (k = 0; k < map.size; k++)
    map.data[k] = rand ? g_rand_int_range (rand, 0, 256) : fill;
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = i * FRAME_DURATION;
  GST_BUFFER_DURATION (buf) = FRAME_DURATION;
  return buf;
}

/* The next "funad" message on @bus, skipping other element messages
 * ("funad-event"); NULL when there is none. */
static GstMessage *
pop_funad (GstBus * bus)
{
  GstMessage *msg;

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    if (gst_message_has_name (msg, "funad"))
      return msg;
    gst_message_unref (msg);
  }
  return NULL;
}

/* ---- tests -------------------------------------------------------------- */

GST_START_TEST (test_element_metadata)
{
  GstElementFactory *factory = gst_element_factory_find ("funaddetect");
  GstElement *detect;
  GstPad *pad;
  GstCaps *caps;
  gchar *model, *results;
  gdouble threshold, alpha;
  gboolean overlay;
  guint i;

  fail_unless (factory != NULL, "funaddetect not found in GST_PLUGIN_PATH");
  fail_unless_equals_string (gst_element_factory_get_metadata (factory,
          GST_ELEMENT_METADATA_KLASS), "Filter/Analyzer/Video");
  fail_unless (strlen (gst_element_factory_get_metadata (factory,
              GST_ELEMENT_METADATA_DESCRIPTION)) > 80);

  detect = gst_element_factory_create (factory, NULL);
  g_object_get (detect, "model", &model, "threshold", &threshold,
      "overlay", &overlay, "alpha", &alpha, "results-location", &results,
      NULL);
  fail_unless (model == NULL);
  fail_unless_equals_float (threshold, -1.0);
  fail_unless (overlay);
  fail_unless_equals_float (alpha, 0.5);
  fail_unless (results == NULL);
  {
    gint colormap = -1;

    g_object_get (detect, "colormap", &colormap, NULL);
    fail_unless_equals_int (colormap, FUNAD_COLORMAP_INFERNO);
  }
  {
    guint inference_interval, message_interval, min_anomaly_frames;
    gboolean post_messages;

    g_object_get (detect, "inference-interval", &inference_interval,
        "message-interval", &message_interval, "min-anomaly-frames",
        &min_anomaly_frames, "post-messages", &post_messages, NULL);
    fail_unless_equals_int (inference_interval, 1);
    fail_unless_equals_int (message_interval, 1);
    fail_unless_equals_int (min_anomaly_frames, 1);
    fail_unless (post_messages);
  }

  /* every advertised format is accepted */
  pad = gst_element_get_static_pad (detect, "sink");
  caps = gst_pad_query_caps (pad, NULL);
  for (i = 0; i < G_N_ELEMENTS (formats); i++) {
    GstCaps *one = gst_caps_new_simple ("video/x-raw", "format",
        G_TYPE_STRING, formats[i], NULL);

    fail_unless (gst_caps_can_intersect (caps, one), "%s missing",
        formats[i]);
    gst_caps_unref (one);
  }
  gst_caps_unref (caps);
  gst_object_unref (pad);

  gst_object_unref (detect);
  gst_object_unref (factory);
}

GST_END_TEST;

GST_START_TEST (test_messages_per_frame)
{
  GPtrArray *msgs = g_ptr_array_new_with_free_func (
      (GDestroyNotify) gst_message_unref);
  gchar *desc;
  guint i;

  /* the model's threshold by default */
  desc = g_strdup_printf ("videotestsrc num-buffers=6 pattern=ball ! "
      "video/x-raw,format=RGB,width=160,height=120,framerate=25/1 ! "
      "funaddetect name=d model=\"%s\" ! fakesink", model_path);
  assert_eos (run_pipeline (desc, msgs));
  fail_unless_equals_int (msgs->len, 6);
  for (i = 0; i < msgs->len; i++)
    check_funad_message (g_ptr_array_index (msgs, i), i, model_threshold);
  g_free (desc);
  g_ptr_array_set_size (msgs, 0);

  /* the property's when set */
  desc = g_strdup_printf ("videotestsrc num-buffers=4 pattern=ball ! "
      "video/x-raw,format=RGB,width=160,height=120,framerate=25/1 ! "
      "funaddetect name=d model=\"%s\" threshold=0.25 ! fakesink",
      model_path);
  assert_eos (run_pipeline (desc, msgs));
  fail_unless_equals_int (msgs->len, 4);
  for (i = 0; i < msgs->len; i++)
    check_funad_message (g_ptr_array_index (msgs, i), i, 0.25);
  g_free (desc);
  g_ptr_array_set_size (msgs, 0);

  /* out of reach: no frame is anomalous */
  desc = g_strdup_printf ("videotestsrc num-buffers=2 pattern=ball ! "
      "video/x-raw,format=RGB,width=160,height=120,framerate=25/1 ! "
      "funaddetect name=d model=\"%s\" threshold=1e300 ! fakesink",
      model_path);
  assert_eos (run_pipeline (desc, msgs));
  fail_unless_equals_int (msgs->len, 2);
  for (i = 0; i < msgs->len; i++) {
    check_funad_message (g_ptr_array_index (msgs, i), i, 1e300);
    fail_if (get_boolean (gst_message_get_structure (g_ptr_array_index (msgs,
                    i)), "anomaly"));
  }
  g_free (desc);
  g_ptr_array_set_size (msgs, 0);

  /* threshold 0: every frame with a positive score is anomalous */
  desc = g_strdup_printf ("videotestsrc num-buffers=2 pattern=ball ! "
      "video/x-raw,format=RGB,width=160,height=120,framerate=25/1 ! "
      "funaddetect name=d model=\"%s\" threshold=0 ! fakesink", model_path);
  assert_eos (run_pipeline (desc, msgs));
  fail_unless_equals_int (msgs->len, 2);
  for (i = 0; i < msgs->len; i++) {
    const GstStructure *s = gst_message_get_structure (g_ptr_array_index (msgs,
            i));

    check_funad_message (g_ptr_array_index (msgs, i), i, 0.0);
    fail_unless (get_double (s, "score") <= 0.0 || get_boolean (s,
            "anomaly"));
  }
  g_free (desc);

  g_ptr_array_unref (msgs);
}

GST_END_TEST;

/* running-time and stream-time come from the segment, not the PTS */
GST_START_TEST (test_segment_times)
{
  GstBus *bus;
  GstElement *detect = setup_detect (&bus);
  GstVideoInfo info;
  GstCaps *caps;
  GstSegment segment;
  GstMessage *msg;
  guint64 i;

  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_BGRx, 64, 48);
  caps = gst_video_info_to_caps (&info);
  gst_segment_init (&segment, GST_FORMAT_TIME);
  segment.start = 100 * GST_MSECOND;
  segment.time = 2 * GST_SECOND;
  segment.base = 10 * GST_SECOND;

  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  push_start_events (detect, caps, &segment);

  for (i = 3; i < 6; i++) {
    GstClockTime pts = i * FRAME_DURATION;
    const GstStructure *s;

    fail_unless_equals_int (gst_pad_push (mysrcpad, new_frame (&info, 0x80,
                NULL, i)), GST_FLOW_OK);
    msg = pop_funad (bus);
    fail_unless (msg != NULL);
    s = gst_message_get_structure (msg);
    fail_unless (gst_structure_has_name (s, "funad"));
    fail_unless_equals_uint64 (get_uint64 (s, "frame"), i - 3);
    fail_unless_equals_uint64 (get_uint64 (s, "timestamp"), pts);
    fail_unless_equals_uint64 (get_uint64 (s, "running-time"),
        pts - 100 * GST_MSECOND + 10 * GST_SECOND);
    fail_unless_equals_uint64 (get_uint64 (s, "stream-time"),
        pts - 100 * GST_MSECOND + 2 * GST_SECOND);
    gst_message_unref (msg);
  }
  /* exactly one message per frame */
  fail_unless (pop_funad (bus) == NULL);
  fail_unless_equals_int (g_list_length (buffers), 3);

  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_caps_unref (caps);
  cleanup_detect (detect, bus);
}

GST_END_TEST;

/* Pushes one random RGB frame and returns whether the output bytes differ
 * from the input bytes. */
static gboolean
overlay_changes_pixels (gboolean overlay, gdouble threshold, gdouble alpha,
    gdouble * score)
{
  GstBus *bus;
  GstElement *detect = setup_detect (&bus);
  GRand *rand = g_rand_new_with_seed (3);
  GstVideoInfo info;
  GstCaps *caps;
  GstBuffer *in;
  GBytes *before;
  GstMapInfo map;
  GstMessage *msg;
  gconstpointer data;
  gsize size;
  gboolean changed;

  g_object_set (detect, "overlay", overlay, "threshold", threshold,
      "alpha", alpha, NULL);
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 80, 60);
  caps = gst_video_info_to_caps (&info);
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  gst_check_setup_events (mysrcpad, detect, caps, GST_FORMAT_TIME);

  in = new_frame (&info, 0, rand, 0);
  gst_buffer_map (in, &map, GST_MAP_READ);
  before = g_bytes_new (map.data, map.size);
  gst_buffer_unmap (in, &map);
  fail_unless_equals_int (gst_pad_push (mysrcpad, in), GST_FLOW_OK);

  fail_unless_equals_int (g_list_length (buffers), 1);
  gst_buffer_map (GST_BUFFER (buffers->data), &map, GST_MAP_READ);
  data = g_bytes_get_data (before, &size);
  fail_unless_equals_int (map.size, size);
  changed = memcmp (map.data, data, size) != 0;
  gst_buffer_unmap (GST_BUFFER (buffers->data), &map);

  msg = pop_funad (bus);
  fail_unless (msg != NULL && gst_message_has_name (msg, "funad"));
  fail_unless_equals_float (get_double (gst_message_get_structure (msg),
          "threshold"), threshold);
  if (score)
    *score = get_double (gst_message_get_structure (msg), "score");
  gst_message_unref (msg);

  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  g_bytes_unref (before);
  gst_caps_unref (caps);
  g_rand_free (rand);
  cleanup_detect (detect, bus);
  return changed;
}

GST_START_TEST (test_overlay_only_when_on)
{
  /* with so low a threshold the whole map is hot */
  gdouble score;

  fail_if (overlay_changes_pixels (FALSE, 0.0001, 0.5, &score),
      "overlay=false modified pixels");
  fail_unless (overlay_changes_pixels (TRUE, 0.0001, 0.5, NULL),
      "overlay=true left the frame unchanged");
  /* a fully transparent overlay draws nothing */
  fail_if (overlay_changes_pixels (TRUE, 0.0001, 0.0, NULL),
      "alpha=0 modified pixels");

  /* The colour ramp starts at 0.5 x threshold: above twice the frame score
   * (the map's maximum) nothing is drawn, at the frame score the hottest
   * places are. */
  fail_unless (score > 0.0, "score %g", score);
  fail_if (overlay_changes_pixels (TRUE, 2.02 * score, 0.5, NULL),
      "pixels drawn although the map stays below 0.5 x threshold");
  fail_unless (overlay_changes_pixels (TRUE, score, 0.5, NULL),
      "nothing drawn although the map reaches the threshold");
}

GST_END_TEST;

/* overlay can be switched while PLAYING; the next frame follows it */
GST_START_TEST (test_overlay_toggle_while_playing)
{
  GstBus *bus;
  GstElement *detect = setup_detect (&bus);
  GstVideoInfo info;
  GstCaps *caps;
  GList *l;
  guint64 i;

  g_object_set (detect, "threshold", 0.0, NULL);
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_GRAY8, 32, 32);
  caps = gst_video_info_to_caps (&info);
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  gst_check_setup_events (mysrcpad, detect, caps, GST_FORMAT_TIME);

  for (i = 0; i < 4; i++) {
    g_object_set (detect, "overlay", i % 2 == 0, NULL);
    fail_unless_equals_int (gst_pad_push (mysrcpad, new_frame (&info, 100,
                NULL, i)), GST_FLOW_OK);
  }
  fail_unless_equals_int (g_list_length (buffers), 4);
  for (l = buffers, i = 0; l; l = l->next, i++) {
    GstMapInfo map;
    gsize k, n_changed = 0;

    gst_buffer_map (GST_BUFFER (l->data), &map, GST_MAP_READ);
    for (k = 0; k < map.size; k++)
      n_changed += map.data[k] != 100;
    gst_buffer_unmap (GST_BUFFER (l->data), &map);
    if (i % 2 == 0)
      fail_unless (n_changed > 0, "frame %" G_GUINT64_FORMAT
          ": overlay on but not drawn", i);
    else
      fail_unless_equals_int (n_changed, 0);
  }

  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_caps_unref (caps);
  cleanup_detect (detect, bus);
}

GST_END_TEST;

/* The overlay writes the heat colour into the right bytes of every format:
 * R, G and B where the format keeps them, the x/alpha byte untouched. */
GST_START_TEST (test_overlay_byte_layout)
{
  /* At threshold 0 every map value above 0 is fully hot: colour (252, 255,
   * 164) at opacity alpha = 0.5 over grey 128 gives (190, 192, 146); on
   * GRAY8 its luma 244 gives 186. */
  static const guint8 hot[3] = { 190, 192, 146 };
  guint f;

  for (f = 0; f < G_N_ELEMENTS (formats); f++) {
    GstVideoFormat format = gst_video_format_from_string (formats[f]);
    const GstVideoFormatInfo *finfo = gst_video_format_get_info (format);
    GstBus *bus;
    GstElement *detect = setup_detect (&bus);
    GstVideoInfo info;
    GstCaps *caps;
    GstMapInfo map;
    GstMessage *msg;
    int pstride = GST_VIDEO_FORMAT_INFO_PSTRIDE (finfo, 0);
    int off[3] = { 0, 0, 0 }, x, y, n_hot = 0;

    if (is_yuv (formats[f])) {
      /* test_overlay_yuv_layout */
      cleanup_detect (detect, bus);
      continue;
    }
    GST_INFO ("format %s", formats[f]);
    /* byte positions written out by hand rather than taken from the same
     * GstVideoFormatInfo the element uses */
    if (!strcmp (formats[f], "RGB") || !strcmp (formats[f], "RGBx") ||
        !strcmp (formats[f], "RGBA")) {
      off[0] = 0, off[1] = 1, off[2] = 2;
    } else if (!strcmp (formats[f], "BGR") || !strcmp (formats[f], "BGRx") ||
        !strcmp (formats[f], "BGRA")) {
      off[0] = 2, off[1] = 1, off[2] = 0;
    } else if (!strcmp (formats[f], "xRGB") || !strcmp (formats[f], "ARGB")) {
      off[0] = 1, off[1] = 2, off[2] = 3;
    } else if (!strcmp (formats[f], "xBGR") || !strcmp (formats[f], "ABGR")) {
      off[0] = 3, off[1] = 2, off[2] = 1;
    }

    g_object_set (detect, "overlay", TRUE, "threshold", 0.0, "alpha", 0.5,
        NULL);
    gst_video_info_set_format (&info, format, 40, 30);
    caps = gst_video_info_to_caps (&info);
    fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
        GST_STATE_CHANGE_SUCCESS);
    gst_check_setup_events (mysrcpad, detect, caps, GST_FORMAT_TIME);
    fail_unless_equals_int (gst_pad_push (mysrcpad, new_frame (&info, 128,
                NULL, 0)), GST_FLOW_OK);
    fail_unless_equals_int (g_list_length (buffers), 1);

    gst_buffer_map (GST_BUFFER (buffers->data), &map, GST_MAP_READ);
    for (y = 0; y < info.height; y++) {
      for (x = 0; x < info.width; x++) {
        const guint8 *p = map.data + y * GST_VIDEO_INFO_PLANE_STRIDE (&info,
            0) + x * pstride;
        int c, k;

        if (pstride == 1) {
          if (p[0] != 128) {
            fail_unless (ABS (p[0] - 186) <= 1, "%s: grey %d", formats[f],
                p[0]);
            n_hot++;
          }
          continue;
        }
        /* padding / alpha byte */
        for (k = 0; k < pstride; k++)
          if (k != off[0] && k != off[1] && k != off[2])
            fail_unless_equals_int (p[k], 128);
        if (p[off[0]] == 128 && p[off[1]] == 128 && p[off[2]] == 128)
          continue;
        for (c = 0; c < 3; c++)
          fail_unless (ABS (p[off[c]] - hot[c]) <= 1,
              "%s: component %d is %d, expected %d", formats[f], c,
              p[off[c]], hot[c]);
        n_hot++;
      }
    }
    gst_buffer_unmap (GST_BUFFER (buffers->data), &map);
    /* a score map is positive nearly everywhere */
    fail_unless (n_hot > info.width * info.height / 2,
        "%s: only %d hot pixels", formats[f], n_hot);

    msg = pop_funad (bus);
    fail_unless (msg != NULL && gst_message_has_name (msg, "funad"));
    gst_message_unref (msg);

    fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
    gst_caps_unref (caps);
    cleanup_detect (detect, bus);
  }
}

GST_END_TEST;

/* Every format negotiates in a real pipeline and is scored; the RGB-family
 * formats carry the same picture, so their scores must agree (a swapped R/B
 * offset would show here). */
GST_START_TEST (test_all_formats)
{
  GPtrArray *msgs = g_ptr_array_new_with_free_func (
      (GDestroyNotify) gst_message_unref);
  gdouble rgb_score = -1.0, yuv_score = -1.0;
  guint f, i;

  for (f = 0; f < G_N_ELEMENTS (formats); f++) {
    gchar *desc = g_strdup_printf ("videotestsrc num-buffers=3 "
        "pattern=smpte ! video/x-raw,format=%s,width=64,height=48,"
        "framerate=25/1 ! funaddetect name=d model=\"%s\" ! fakesink",
        formats[f], model_path);
    gdouble score;

    GST_INFO ("format %s", formats[f]);
    g_ptr_array_set_size (msgs, 0);
    assert_eos (run_pipeline (desc, msgs));
    fail_unless_equals_int (msgs->len, 3);
    for (i = 0; i < msgs->len; i++)
      check_funad_message (g_ptr_array_index (msgs, i), i, model_threshold);

    score = get_double (gst_message_get_structure (g_ptr_array_index (msgs,
                0)), "score");
    GST_INFO ("%s: score %g", formats[f], score);
    if (is_yuv (formats[f])) {
      /* the same luma in each: only the chroma layout differs */
      if (yuv_score < 0)
        yuv_score = score;
      fail_unless (fabs (score - yuv_score) <= 1e-5 * MAX (1.0, yuv_score),
          "%s scores %g, I420 scores %g", formats[f], score, yuv_score);
    } else if (strcmp (formats[f], "GRAY8") != 0) {
      if (rgb_score < 0)
        rgb_score = score;
      fail_unless (fabs (score - rgb_score) <= 1e-5 * MAX (1.0, rgb_score),
          "%s scores %g, RGB scores %g", formats[f], score, rgb_score);
    }
    g_free (desc);
  }
  g_ptr_array_unref (msgs);
}

GST_END_TEST;

/* Pushes one frame of @format whose luma is @luma (w x h, row by row) and
 * whose other bytes are @fill; returns the score, and the output buffer in
 * *out when @out is not NULL. */
static gdouble
score_luma_frame (GstVideoFormat format, const guint8 * luma, int w, int h,
    guint8 fill, gdouble threshold, GstBuffer ** out)
{
  GstBus *bus;
  GstElement *detect = setup_detect (&bus);
  GstVideoInfo info;
  GstCaps *caps;
  GstBuffer *buf;
  GstVideoFrame frame;
  GstMessage *msg;
  gdouble score;
  int x, y;

  g_object_set (detect, "threshold", threshold, "alpha", 0.5, NULL);
  gst_video_info_set_format (&info, format, w, h);
  caps = gst_video_info_to_caps (&info);
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  gst_check_setup_events (mysrcpad, detect, caps, GST_FORMAT_TIME);

  buf = new_frame (&info, fill, NULL, 0);
  fail_unless (gst_video_frame_map (&frame, &info, buf, GST_MAP_WRITE));
  for (y = 0; y < h; y++)
    for (x = 0; x < w; x++)
      GST_VIDEO_FRAME_COMP_DATA (&frame, 0)[y * GST_VIDEO_FRAME_COMP_STRIDE
          (&frame, 0) + x * GST_VIDEO_FRAME_COMP_PSTRIDE (&frame, 0)] =
          luma[y * w + x];
  gst_video_frame_unmap (&frame);
  fail_unless_equals_int (gst_pad_push (mysrcpad, buf), GST_FLOW_OK);
  fail_unless_equals_int (g_list_length (buffers), 1);
  if (out)
    *out = gst_buffer_ref (GST_BUFFER (buffers->data));

  msg = pop_funad (bus);
  fail_unless (msg != NULL && gst_message_has_name (msg, "funad"));
  score = get_double (gst_message_get_structure (msg), "score");
  gst_message_unref (msg);

  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_caps_unref (caps);
  cleanup_detect (detect, bus);
  return score;
}

/* Y'CbCr frames are scored from their luma alone: the same luma as a GRAY8
 * frame gives the same score, whatever the chroma holds. */
GST_START_TEST (test_yuv_scores_luma)
{
  static const GstVideoFormat yuv[] = { GST_VIDEO_FORMAT_I420,
    GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_YUY2
  };
  GRand *rand = g_rand_new_with_seed (11);
  int w = 48, h = 36, k;
  guint8 *luma = g_malloc (w * h);
  gdouble grey, score;
  guint f;

  for (k = 0; k < w * h; k++)
    luma[k] = g_rand_int_range (rand, 0, 256);
  grey = score_luma_frame (GST_VIDEO_FORMAT_GRAY8, luma, w, h, 0, 1e300,
      NULL);
  for (f = 0; f < G_N_ELEMENTS (yuv); f++) {
    score = score_luma_frame (yuv[f], luma, w, h, 30 + 40 * f, 1e300, NULL);
    fail_unless (fabs (score - grey) <= 1e-6 * MAX (1.0, grey),
        "%s scores %g, GRAY8 %g", gst_video_format_to_string (yuv[f]), score,
        grey);
  }
  /* and the luma does matter */
  for (k = 0; k < w * h; k++)
    luma[k] = 128;
  score = score_luma_frame (GST_VIDEO_FORMAT_YUY2, luma, w, h, 0, 1e300,
      NULL);
  fail_if (fabs (score - grey) <= 1e-6 * MAX (1.0, grey));

  g_free (luma);
  g_rand_free (rand);
}

GST_END_TEST;

/* The heat colour is drawn into Y, Cb and Cr at their own subsampling:
 * inferno's hottest colour (252, 255, 164) is Y'CbCr (225, 88, 133) in
 * BT.601 limited range; at opacity 0.5 over 128 that gives (177, 108, 131). */
GST_START_TEST (test_overlay_yuv_layout)
{
  static const GstVideoFormat yuv[] = { GST_VIDEO_FORMAT_I420,
    GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_YUY2
  };
  int w = 40, h = 30, k;
  guint8 *luma = g_malloc (w * h);
  guint f;

  for (k = 0; k < w * h; k++)
    luma[k] = 128;
  for (f = 0; f < G_N_ELEMENTS (yuv); f++) {
    const gchar *name = gst_video_format_to_string (yuv[f]);
    GstBuffer *out;
    GstVideoInfo info;
    GstMapInfo map;
    int x, y, n_y = 0, n_u = 0, n_v = 0;

    score_luma_frame (yuv[f], luma, w, h, 128, 0.0, &out);
    gst_video_info_set_format (&info, yuv[f], w, h);
    gst_buffer_map (out, &map, GST_MAP_READ);
    /* byte positions by hand: I420 Y, U, V planes; NV12 Y plane then UV
     * pairs; YUY2 Y0 U Y1 V */
    for (y = 0; y < h; y++) {
      for (x = 0; x < w; x++) {
        const guint8 *py, *pu = NULL, *pv = NULL;

        if (yuv[f] == GST_VIDEO_FORMAT_YUY2) {
          const guint8 *row = map.data + y * info.stride[0];

          py = row + 2 * x;
          if (x % 2 == 0)
            pu = row + 2 * x + 1, pv = row + 2 * x + 3;
        } else {
          py = map.data + info.offset[0] + y * info.stride[0] + x;
          if (x % 2 == 0 && y % 2 == 0 && yuv[f] == GST_VIDEO_FORMAT_I420) {
            pu = map.data + info.offset[1] + (y / 2) * info.stride[1] + x / 2;
            pv = map.data + info.offset[2] + (y / 2) * info.stride[2] + x / 2;
          } else if (x % 2 == 0 && y % 2 == 0) {
            pu = map.data + info.offset[1] + (y / 2) * info.stride[1] + x;
            pv = pu + 1;
          }
        }
        if (*py != 128) {
          fail_unless (ABS (*py - 177) <= 1, "%s: Y %d", name, *py);
          n_y++;
        }
        if (pu && *pu != 128) {
          fail_unless (ABS (*pu - 108) <= 1, "%s: Cb %d", name, *pu);
          n_u++;
        }
        if (pv && *pv != 128) {
          fail_unless (ABS (*pv - 131) <= 1, "%s: Cr %d", name, *pv);
          n_v++;
        }
      }
    }
    gst_buffer_unmap (out, &map);
    gst_buffer_unref (out);
    GST_INFO ("%s: %d Y, %d Cb, %d Cr hot", name, n_y, n_u, n_v);
    fail_unless (n_y > w * h / 2, "%s: only %d hot luma samples", name, n_y);
    fail_unless (n_u > (w / 2) * (yuv[f] == GST_VIDEO_FORMAT_YUY2 ? h : h / 2)
        / 2, "%s: only %d hot Cb samples", name, n_u);
    fail_unless (n_v > n_u / 2, "%s: only %d hot Cr samples", name, n_v);
  }
  g_free (luma);
}

GST_END_TEST;

/* New caps mid-stream (size and format) are followed by the next frame. */
GST_START_TEST (test_caps_change)
{
  static const struct
  {
    GstVideoFormat format;
    int w, h;
  } steps[] = {
    {GST_VIDEO_FORMAT_RGB, 64, 48},
    {GST_VIDEO_FORMAT_RGB, 33, 17},
    {GST_VIDEO_FORMAT_I420, 50, 40},
    {GST_VIDEO_FORMAT_YUY2, 96, 20},
    {GST_VIDEO_FORMAT_BGRx, 20, 96},
  };
  GstBus *bus;
  GstElement *detect = setup_detect (&bus);
  GstSegment segment;
  guint64 frame = 0;
  guint i, k;

  g_object_set (detect, "threshold", 0.0, NULL);
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  fail_unless (gst_pad_push_event (mysrcpad,
          gst_event_new_stream_start ("funad-test")));
  for (i = 0; i < G_N_ELEMENTS (steps); i++) {
    GstVideoInfo info;
    GstCaps *caps;

    gst_video_info_set_format (&info, steps[i].format, steps[i].w,
        steps[i].h);
    caps = gst_video_info_to_caps (&info);
    fail_unless (gst_pad_push_event (mysrcpad, gst_event_new_caps (caps)));
    if (i == 0)
      fail_unless (gst_pad_push_event (mysrcpad,
              gst_event_new_segment (&segment)));
    for (k = 0; k < 2; k++, frame++) {
      GstMessage *msg;
      GstBuffer *out;

      fail_unless_equals_int (gst_pad_push (mysrcpad, new_frame (&info, 90,
                  NULL, frame)), GST_FLOW_OK);
      msg = pop_funad (bus);
      fail_unless (msg != NULL);
      fail_unless_equals_uint64 (get_uint64 (gst_message_get_structure (msg),
              "frame"), frame);
      gst_message_unref (msg);
      out = GST_BUFFER (g_list_last (buffers)->data);
      fail_unless_equals_int (gst_buffer_get_size (out), info.size);
    }
    gst_caps_unref (caps);
  }
  fail_unless_equals_int (g_list_length (buffers), frame);

  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  cleanup_detect (detect, bus);
}

GST_END_TEST;

/* Packed Y'CbCr (YUY2) is scored from a copy of its luma; that copy grows with
 * the frames. Growing it freed the last scored map too, which frames skipped
 * by inference-interval then reused (and stop freed again). The skipped
 * frames' meta must carry the scored frame's map intact. */
GST_START_TEST (test_growing_yuy2_keeps_reused_map)
{
  static const int sizes[][2] = { {32, 24}, {64, 48}, {96, 80}, {160, 120} };
  GstBus *bus;
  GstElement *detect = setup_detect (&bus);
  GstSegment segment;
  guint64 frame = 0;
  guint i, k;

  g_object_set (detect, "inference-interval", 2, "attach-meta", TRUE,
      "overlay", 1, NULL);
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  fail_unless (gst_pad_push_event (mysrcpad,
          gst_event_new_stream_start ("funad-test")));
  for (i = 0; i < G_N_ELEMENTS (sizes); i++) {
    GstVideoInfo info;
    GstCaps *caps;

    gst_video_info_set_format (&info, GST_VIDEO_FORMAT_YUY2, sizes[i][0],
        sizes[i][1]);
    caps = gst_video_info_to_caps (&info);
    fail_unless (gst_pad_push_event (mysrcpad, gst_event_new_caps (caps)));
    if (i == 0)
      fail_unless (gst_pad_push_event (mysrcpad,
              gst_event_new_segment (&segment)));
    for (k = 0; k < 3; k++, frame++) {
      GstMessage *msg;
      GstFunadMeta *meta;
      gfloat max = -G_MAXFLOAT;
      guint p;

      fail_unless_equals_int (gst_pad_push (mysrcpad, new_frame (&info,
                  60 + 40 * k, NULL, frame)), GST_FLOW_OK);
      msg = pop_funad (bus);
      fail_unless (msg != NULL);
      gst_message_unref (msg);
      meta = gst_buffer_get_funad_meta (GST_BUFFER (g_list_last
              (buffers)->data));
      fail_unless (meta != NULL && meta->map != NULL);
      for (p = 0; p < meta->map_width * meta->map_height; p++)
        max = MAX (max, meta->map[p]);
      /* scored or reused, the map is the one whose maximum is the score */
      fail_unless (fabs (max - meta->score) <= 1e-4 * MAX (1.0, fabs
              (meta->score)), "frame %" G_GUINT64_FORMAT ": map max %g, score"
          " %g", frame, max, meta->score);
    }
    gst_caps_unref (caps);
  }
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  cleanup_detect (detect, bus);
}

GST_END_TEST;

/* ---- colour models: RGB negotiated, warned when impossible ------------ */

static gboolean
is_rgb_format (const gchar * format)
{
  const GstVideoFormatInfo *finfo =
      gst_video_format_get_info (gst_video_format_from_string (format));

  return finfo != NULL && GST_VIDEO_FORMAT_INFO_IS_RGB (finfo);
}

/* The format on the sink pad of the element named "d" in @pipeline. */
static gchar *
sink_format (GstElement * pipeline)
{
  GstElement *d = gst_bin_get_by_name (GST_BIN (pipeline), "d");
  GstPad *pad = gst_element_get_static_pad (d, "sink");
  GstCaps *caps = gst_pad_get_current_caps (pad);
  gchar *format;

  fail_unless (caps != NULL, "nothing negotiated");
  format = g_strdup (gst_structure_get_string (gst_caps_get_structure (caps,
              0), "format"));
  gst_caps_unref (caps);
  gst_object_unref (pad);
  gst_object_unref (d);
  return format;
}

/* Runs @desc (its funaddetect named "d") to EOS; when @swap_to is set, sets
 * that model once the first frame was scored. Returns the format
 * negotiated last and, in *warnings, the warnings "d" posted (joined by
 * newlines). */
static gchar *
run_colour_pipeline (const gchar * desc, const gchar * swap_to,
    gchar ** warnings)
{
  GError *err = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &err);
  GstBus *bus = gst_element_get_bus (pipeline);
  GString *warned = g_string_new (NULL);
  GstMessage *msg;
  gchar *format = NULL;
  gboolean swapped = swap_to == NULL;

  g_assert_no_error (err);
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  while ((msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
              GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING |
              GST_MESSAGE_ELEMENT))) {
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS)
      break;
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      gst_message_parse_error (msg, &err, NULL);
      fail ("pipeline error: %s (%s)", err->message, desc);
    }
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING) {
      gst_message_parse_warning (msg, &err, NULL);
      g_string_append_printf (warned, "%s%s", warned->len ? "\n" : "",
          err->message);
      g_clear_error (&err);
    }
    if (!swapped && gst_message_has_name (msg, "funad")) {
      GstElement *d = gst_bin_get_by_name (GST_BIN (pipeline), "d");

      g_free (format);
      format = sink_format (pipeline);
      GST_INFO ("before the swap: %s", format);
      g_object_set (d, "model", swap_to, NULL);
      gst_object_unref (d);
      swapped = TRUE;
    }
    gst_message_unref (msg);
  }
  fail_unless (msg != NULL, "pipeline timed out: %s", desc);
  gst_message_unref (msg);
  fail_unless (swapped, "no frame was scored before EOS");
  g_free (format);
  format = sink_format (pipeline);
  GST_INFO ("negotiated %s; warnings: %s", format, warned->str);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  *warnings = g_string_free (warned, FALSE);
  return format;
}

/* A colour model makes a videoconvert before the element convert to RGB
 * (a decoder's I420 would be scored from its luma alone); a grey model
 * leaves the format alone. */
GST_START_TEST (test_colour_model_negotiates_rgb)
{
  const gchar *src = "videotestsrc num-buffers=3 ! "
      "video/x-raw,format=I420,width=64,height=48 ! videoconvert ! "
      "funaddetect name=d";
  gchar *desc, *format, *warnings;
  FunadModel *grey = funad_model_load (model_path, NULL);

  fail_unless_equals_int (funad_model_channels (grey), 1);
  funad_model_unref (grey);

  desc = g_strdup_printf ("%s model=\"%s\" ! fakesink", src,
      colour_model ());
  format = run_colour_pipeline (desc, NULL, &warnings);
  fail_unless (is_rgb_format (format), "a colour model got %s", format);
  fail_unless_equals_string (warnings, "");
  g_free (format);
  g_free (warnings);
  g_free (desc);

  /* and with the caps forced downstream the frames are scored, warned once */
  desc = g_strdup_printf ("%s model=\"%s\" ! video/x-raw,format=NV12 ! "
      "fakesink", src, colour_model ());
  format = run_colour_pipeline (desc, NULL, &warnings);
  fail_unless_equals_string (format, "NV12");
  fail_unless (strstr (warnings, "reads colour") != NULL &&
      strstr (warnings, "NV12") != NULL && strchr (warnings, '\n') == NULL,
      "not one warning: %s", warnings);
  g_free (format);
  g_free (warnings);
  g_free (desc);

  desc = g_strdup_printf ("%s model=\"%s\" ! fakesink", src, model_path);
  format = run_colour_pipeline (desc, NULL, &warnings);
  fail_unless_equals_string (format, "I420");
  fail_unless_equals_string (warnings, "");
  g_free (format);
  g_free (warnings);
  g_free (desc);
}

GST_END_TEST;

/* A model swapped while playing renegotiates: grey to colour brings RGB
 * from the videoconvert, colour to grey lets it go back to I420; with
 * GRAY8 fixed upstream the colour model is warned about, once. */
GST_START_TEST (test_colour_model_swap)
{
  const gchar *live = "videotestsrc is-live=true num-buffers=20 ! "
      "video/x-raw,format=%s,width=64,height=48,framerate=20/1 ! %s"
      "funaddetect name=d model=\"%s\" ! fakesink";
  gchar *desc, *format, *warnings;

  desc = g_strdup_printf (live, "I420", "videoconvert ! ", model_path);
  format = run_colour_pipeline (desc, colour_model (), &warnings);
  fail_unless (is_rgb_format (format), "swapped to colour, still %s",
      format);
  fail_unless_equals_string (warnings, "");
  g_free (format);
  g_free (warnings);
  g_free (desc);

  desc = g_strdup_printf (live, "I420", "videoconvert ! ", colour_model ());
  format = run_colour_pipeline (desc, model_path, &warnings);
  fail_unless_equals_string (format, "I420");
  fail_unless_equals_string (warnings, "");
  g_free (format);
  g_free (warnings);
  g_free (desc);

  desc = g_strdup_printf (live, "GRAY8", "", model_path);
  format = run_colour_pipeline (desc, colour_model (), &warnings);
  fail_unless_equals_string (format, "GRAY8");
  fail_unless (strstr (warnings, "reads colour") != NULL &&
      strstr (warnings, "GRAY8") != NULL && strchr (warnings, '\n') == NULL,
      "not one warning: %s", warnings);
  g_free (format);
  g_free (warnings);
  g_free (desc);
}

GST_END_TEST;

/* ---- frame sequences: inference-interval, messages, events ------------- */

/* Frame @i of a 64x64 RGB sequence: @c 'N' the trained texture, 'A' noise. */
static GstBuffer *
pattern_frame (const GstVideoInfo * info, gchar c, GRand * rand, guint64 i)
{
  GstBuffer *buf;
  GstMapInfo map;

  if (c == 'A')
    return new_frame (info, 0, rand, i);
  buf = new_frame (info, 0, NULL, i);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  fill_texture (map.data, 64, 64, GST_VIDEO_INFO_PLANE_STRIDE (info, 0), rand);
  gst_buffer_unmap (buf, &map);
  return buf;
}

/* Appends copies of the element messages waiting on @bus to @msgs, without
 * a source: the element may be gone when they are read. */
static void
drain_element_messages (GstBus * bus, GPtrArray * msgs)
{
  GstMessage *msg;

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    g_ptr_array_add (msgs, gst_message_new_element (NULL,
            gst_structure_copy (gst_message_get_structure (msg))));
    gst_message_unref (msg);
  }
}

/* Pushes 64x64 RGB frames, 'N' the trained texture and 'A' noise, then EOS,
 * through an element set up by @props (a NULL-terminated name/value list);
 * returns every element message posted, in order. */
static GPtrArray *
run_sequence (const gchar * pattern, const gchar * first_prop, ...)
{
  GPtrArray *msgs = g_ptr_array_new_with_free_func (
      (GDestroyNotify) gst_message_unref);
  GRand *rand = g_rand_new_with_seed (5);
  GstBus *bus;
  GstElement *detect = setup_detect (&bus);
  GstVideoInfo info;
  GstCaps *caps;
  va_list args;
  guint64 i;

  va_start (args, first_prop);
  if (first_prop)
    g_object_set_valist (G_OBJECT (detect), first_prop, args);
  va_end (args);
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 64, 64);
  caps = gst_video_info_to_caps (&info);
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  gst_check_setup_events (mysrcpad, detect, caps, GST_FORMAT_TIME);

  for (i = 0; pattern[i]; i++)
    fail_unless_equals_int (gst_pad_push (mysrcpad, pattern_frame (&info,
                pattern[i], rand, i)), GST_FLOW_OK);
  fail_unless (gst_pad_push_event (mysrcpad, gst_event_new_eos ()));
  drain_element_messages (bus, msgs);

  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_caps_unref (caps);
  g_rand_free (rand);
  cleanup_detect (detect, bus);
  return msgs;
}

/* A threshold between the scores of texture and noise frames. */
static gdouble
texture_noise_threshold (void)
{
  GPtrArray *msgs = run_sequence ("NNNNAAAA", "threshold", 1e300, NULL);
  gdouble max_n = 0.0, min_a = G_MAXDOUBLE;
  guint i;

  fail_unless_equals_int (msgs->len, 8);
  for (i = 0; i < 8; i++) {
    gdouble v = get_double (gst_message_get_structure (g_ptr_array_index (msgs,
                i)), "score");

    if (i < 4)
      max_n = MAX (max_n, v);
    else
      min_a = MIN (min_a, v);
  }
  GST_INFO ("texture scores up to %g, noise from %g", max_n, min_a);
  fail_unless (max_n < min_a, "noise (%g) does not outscore texture (%g)",
      min_a, max_n);
  g_ptr_array_unref (msgs);
  return (max_n + min_a) / 2;
}

/* The "funad" messages of @msgs as a string of '0' (normal) and '1'
 * (anomaly), and the "funad-event" ones as "b<frame>" / "e<frame>". */
static gchar *
describe_messages (GPtrArray * msgs, gchar ** events)
{
  GString *flags = g_string_new (NULL), *ev = g_string_new (NULL);
  guint i;

  for (i = 0; i < msgs->len; i++) {
    const GstStructure *s = gst_message_get_structure (g_ptr_array_index (msgs,
            i));

    if (gst_structure_has_name (s, "funad")) {
      g_string_append_c (flags, get_boolean (s, "anomaly") ? '1' : '0');
    } else {
      const gchar *type = gst_structure_get_string (s, "type");

      fail_unless (gst_structure_has_name (s, "funad-event"));
      fail_unless (!g_strcmp0 (type, "begin") || !g_strcmp0 (type, "end"));
      g_string_append_printf (ev, "%s%c%" G_GUINT64_FORMAT, ev->len ? " " : "",
          type[0], get_uint64 (s, "frame"));
    }
  }
  *events = g_string_free (ev, FALSE);
  return g_string_free (flags, FALSE);
}

/* Every "funad-event" of @msgs names a frame that has a "funad" message (a
 * program joins the two by `frame`); returns the last event's structure. */
static const GstStructure *
check_events_join (GPtrArray * msgs)
{
  GArray *frames = g_array_new (FALSE, FALSE, sizeof (guint64));
  const GstStructure *last = NULL;
  guint i, j;

  for (i = 0; i < msgs->len; i++) {
    const GstStructure *s = gst_message_get_structure (g_ptr_array_index (msgs,
            i));
    guint64 f;

    if (gst_structure_has_name (s, "funad")) {
      f = get_uint64 (s, "frame");
      g_array_append_val (frames, f);
    }
  }
  for (i = 0; i < msgs->len; i++) {
    const GstStructure *s = gst_message_get_structure (g_ptr_array_index (msgs,
            i));
    guint64 f;

    if (!gst_structure_has_name (s, "funad-event"))
      continue;
    f = get_uint64 (s, "frame");
    for (j = 0; j < frames->len && g_array_index (frames, guint64, j) != f;
        j++);
    fail_unless (j < frames->len, "event %s names frame %" G_GUINT64_FORMAT
        ", which has no \"funad\" message", gst_structure_get_string (s,
            "type"), f);
    last = s;
  }
  g_array_unref (frames);
  return last;
}

GST_START_TEST (test_anomaly_events)
{
  gdouble thr = texture_noise_threshold ();
  GPtrArray *msgs;
  gchar *flags, *events;
  guint i;

  /* min-anomaly-frames=1: every change is an event */
  msgs = run_sequence ("NNANAAANANNN", "threshold", thr, NULL);
  flags = describe_messages (msgs, &events);
  fail_unless_equals_string (flags, "001011101000");
  fail_unless_equals_string (events, "b2 e3 b4 e7 b8 e9");
  check_events_join (msgs);
  g_free (flags);
  g_free (events);
  g_ptr_array_unref (msgs);

  /* 2: single frames are ignored, an event is dated by its first frame */
  msgs = run_sequence ("NNANAAANANNN", "threshold", thr,
      "min-anomaly-frames", 2, NULL);
  flags = describe_messages (msgs, &events);
  fail_unless_equals_string (flags, "001011101000");
  fail_unless_equals_string (events, "b4 e9");
  check_events_join (msgs);
  /* every field of both, the peak being the highest score of frames 4-8 */
  {
    gdouble peak = 0.0;
    guint n_ev = 0;

    for (i = 0; i < msgs->len; i++) {
      const GstStructure *s =
          gst_message_get_structure (g_ptr_array_index (msgs, i));

      if (gst_structure_has_name (s, "funad")) {
        guint64 f = get_uint64 (s, "frame");

        if (f >= 4 && f <= 8)
          peak = MAX (peak, get_double (s, "score"));
        continue;
      }
      n_ev++;
      fail_unless_equals_uint64 (get_uint64 (s, "timestamp"),
          get_uint64 (s, "frame") * FRAME_DURATION);
      fail_unless_equals_uint64 (get_uint64 (s, "running-time"),
          get_uint64 (s, "frame") * FRAME_DURATION);
      fail_unless_equals_uint64 (get_uint64 (s, "stream-time"),
          get_uint64 (s, "frame") * FRAME_DURATION);
      if (n_ev == 2) {
        fail_unless_equals_float (get_double (s, "peak-score"), peak);
      } else {
        fail_unless (get_double (s, "peak-score") > thr);
      }
    }
    fail_unless_equals_int (n_ev, 2);
  }
  g_free (flags);
  g_free (events);
  g_ptr_array_unref (msgs);

  /* 3: too short a run never begins; one running into EOS ends there, at
   * the last frame (timed at its end) */
  msgs = run_sequence ("NAANAAA", "threshold", thr,
      "min-anomaly-frames", 3, NULL);
  flags = describe_messages (msgs, &events);
  fail_unless_equals_string (events, "b4 e6");
  {
    const GstStructure *end = check_events_join (msgs);

    fail_unless_equals_uint64 (get_uint64 (end, "timestamp"),
        7 * FRAME_DURATION);
    fail_unless_equals_uint64 (get_uint64 (end, "running-time"),
        7 * FRAME_DURATION);
  }
  g_free (flags);
  g_free (events);
  g_ptr_array_unref (msgs);
}

GST_END_TEST;

/* A flush (a seek) ends an anomaly in progress at the last frame before it,
 * timed at that frame's end in the segment it belonged to; the frame count
 * runs on across the flush. */
GST_START_TEST (test_anomaly_event_flush)
{
  const gchar *before = "NAA", *after = "NNA";
  gdouble thr = texture_noise_threshold ();
  GPtrArray *msgs = g_ptr_array_new_with_free_func (
      (GDestroyNotify) gst_message_unref);
  GRand *rand = g_rand_new_with_seed (5);
  GstBus *bus;
  GstElement *detect = setup_detect (&bus);
  GstVideoInfo info;
  GstCaps *caps;
  GstSegment segment;
  gchar *flags, *events;
  guint64 i;
  guint k;

  g_object_set (detect, "threshold", thr, NULL);
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 64, 64);
  caps = gst_video_info_to_caps (&info);
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  gst_check_setup_events (mysrcpad, detect, caps, GST_FORMAT_TIME);
  for (i = 0; before[i]; i++)
    fail_unless_equals_int (gst_pad_push (mysrcpad, pattern_frame (&info,
                before[i], rand, i)), GST_FLOW_OK);
  /* a flushing seek back to the start */
  fail_unless (gst_pad_push_event (mysrcpad, gst_event_new_flush_start ()));
  fail_unless (gst_pad_push_event (mysrcpad, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless (gst_pad_push_event (mysrcpad, gst_event_new_segment (&segment)));
  for (i = 0; after[i]; i++)
    fail_unless_equals_int (gst_pad_push (mysrcpad, pattern_frame (&info,
                after[i], rand, i)), GST_FLOW_OK);
  fail_unless (gst_pad_push_event (mysrcpad, gst_event_new_eos ()));
  drain_element_messages (bus, msgs);

  flags = describe_messages (msgs, &events);
  fail_unless_equals_string (flags, "011001");
  /* frame 2 the last before the flush, frame 5 the last before EOS */
  fail_unless_equals_string (events, "b1 e2 b5 e5");
  check_events_join (msgs);
  for (k = 0; k < msgs->len; k++) {
    const GstStructure *s = gst_message_get_structure (g_ptr_array_index (msgs,
            k));

    if (!gst_structure_has_name (s, "funad-event") ||
        g_strcmp0 (gst_structure_get_string (s, "type"), "end") != 0)
      continue;
    /* the end of frame 2 (pts 2) or of frame 5 (pts 2 after the flush) */
    fail_unless_equals_uint64 (get_uint64 (s, "timestamp"),
        3 * FRAME_DURATION);
    fail_unless_equals_uint64 (get_uint64 (s, "running-time"),
        3 * FRAME_DURATION);
  }
  g_free (flags);
  g_free (events);
  g_ptr_array_unref (msgs);

  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_caps_unref (caps);
  g_rand_free (rand);
  cleanup_detect (detect, bus);
}

GST_END_TEST;

/* Stopping without EOS (an application setting READY or NULL) ends an
 * anomaly in progress as EOS does: at the last frame, timed at its end. */
GST_START_TEST (test_anomaly_event_stop)
{
  const gchar *pattern = "NAA";
  gdouble thr = texture_noise_threshold ();
  GPtrArray *msgs = g_ptr_array_new_with_free_func (
      (GDestroyNotify) gst_message_unref);
  GRand *rand = g_rand_new_with_seed (5);
  GstBus *bus;
  GstElement *detect = setup_detect (&bus);
  GstVideoInfo info;
  GstCaps *caps;
  const GstStructure *end;
  gchar *flags, *events;
  guint64 i;

  g_object_set (detect, "threshold", thr, NULL);
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 64, 64);
  caps = gst_video_info_to_caps (&info);
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  gst_check_setup_events (mysrcpad, detect, caps, GST_FORMAT_TIME);
  for (i = 0; pattern[i]; i++)
    fail_unless_equals_int (gst_pad_push (mysrcpad, pattern_frame (&info,
                pattern[i], rand, i)), GST_FLOW_OK);
  /* no EOS: straight to READY */
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_READY),
      GST_STATE_CHANGE_SUCCESS);
  drain_element_messages (bus, msgs);

  flags = describe_messages (msgs, &events);
  fail_unless_equals_string (flags, "011");
  fail_unless_equals_string (events, "b1 e2");
  end = check_events_join (msgs);
  fail_unless_equals_uint64 (get_uint64 (end, "timestamp"),
      3 * FRAME_DURATION);
  fail_unless_equals_uint64 (get_uint64 (end, "running-time"),
      3 * FRAME_DURATION);
  g_free (flags);
  g_free (events);
  g_ptr_array_unref (msgs);

  /* the next start begins with no anomaly in progress: nothing more ends */
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT) == NULL);
  gst_caps_unref (caps);
  g_rand_free (rand);
  cleanup_detect (detect, bus);
}

GST_END_TEST;

GST_START_TEST (test_inference_interval)
{
  GPtrArray *msgs = run_sequence ("NAANAANA", "threshold", 1e300,
      "inference-interval", 3, NULL);
  gdouble last = -1.0;
  guint i;

  fail_unless_equals_int (msgs->len, 8);
  for (i = 0; i < 8; i++) {
    const GstStructure *s =
        gst_message_get_structure (g_ptr_array_index (msgs, i));
    gdouble score = get_double (s, "score");

    fail_unless_equals_uint64 (get_uint64 (s, "frame"), i);
    fail_unless_equals_int (get_boolean (s, "scored"), i % 3 == 0);
    /* frames 1, 2 (noise) reuse frame 0's (texture) score, and so on */
    if (i % 3 != 0) {
      fail_unless_equals_float (score, last);
    } else {
      fail_unless (score != last);
    }
    last = score;
  }
  g_ptr_array_unref (msgs);

  /* every frame is scored by default */
  msgs = run_sequence ("NAA", "threshold", 1e300, NULL);
  for (i = 0; i < 3; i++)
    fail_unless (get_boolean (gst_message_get_structure (g_ptr_array_index
                (msgs, i)), "scored"));
  g_ptr_array_unref (msgs);
}

GST_END_TEST;

/* The element's own threads score as one thread does; by default (0) there is one
 * per core, and OpenBLAS's own pool is made single-threaded (in a pipeline it ran at
 * half the frame rate). The process is this test's own (gst-check forks). */
extern void openblas_set_num_threads (int n);
extern int openblas_get_num_threads (void);

GST_START_TEST (test_n_threads)
{
  GPtrArray *one, *two, *automatic;
  guint n_threads, i;
  GstElement *detect = gst_element_factory_make ("funaddetect", NULL);

  g_object_get (detect, "n-threads", &n_threads, NULL);
  fail_unless_equals_int (n_threads, 0);
  gst_object_unref (detect);
  openblas_set_num_threads (2);
  automatic = run_sequence ("NAANA", "threshold", 1e300, NULL);
  fail_unless_equals_int (openblas_get_num_threads (), 1);
  one = run_sequence ("NAANA", "threshold", 1e300, "n-threads", 1, NULL);
  two = run_sequence ("NAANA", "threshold", 1e300, "n-threads", 2, NULL);
  fail_unless_equals_int (one->len, 5);
  fail_unless_equals_int (two->len, 5);
  fail_unless_equals_int (automatic->len, 5);
  for (i = 0; i < 5; i++) {
    gdouble a = get_double (gst_message_get_structure (g_ptr_array_index (one,
                i)), "score");
    gdouble b = get_double (gst_message_get_structure (g_ptr_array_index (two,
                i)), "score");
    gdouble c = get_double (gst_message_get_structure
        (g_ptr_array_index (automatic, i)), "score");

    fail_unless (fabs (a - b) <= 1e-4 * (1 + fabs (a)), "frame %u: %g vs %g",
        i, a, b);
    fail_unless (fabs (a - c) <= 1e-4 * (1 + fabs (a)), "frame %u: %g vs %g",
        i, a, c);
  }
  g_ptr_array_unref (one);
  g_ptr_array_unref (two);
  g_ptr_array_unref (automatic);
}

GST_END_TEST;

GST_START_TEST (test_message_interval)
{
  GPtrArray *msgs;
  gchar *flags, *events;
  guint i;

  msgs = run_sequence ("NNNNNNN", "threshold", 1e300, "message-interval", 3,
      NULL);
  fail_unless_equals_int (msgs->len, 3);
  for (i = 0; i < 3; i++)
    fail_unless_equals_uint64 (get_uint64 (gst_message_get_structure
            (g_ptr_array_index (msgs, i)), "frame"), 3 * i);
  g_ptr_array_unref (msgs);

  /* post-messages=false silences "funad" but not the events */
  msgs = run_sequence ("NNAAN", "threshold", texture_noise_threshold (),
      "post-messages", FALSE, NULL);
  flags = describe_messages (msgs, &events);
  fail_unless_equals_string (flags, "");
  fail_unless_equals_string (events, "b2 e4");
  g_free (flags);
  g_free (events);
  g_ptr_array_unref (msgs);
}

GST_END_TEST;

/* Setting "model" while PLAYING swaps the model between two frames, none
 * lost; a file that does not load keeps the current model and warns. */
GST_START_TEST (test_model_reload)
{
  GstBus *bus;
  GstElement *detect = setup_detect (&bus);
  gchar *missing = g_build_filename (tmp_dir, "missing.funad", NULL);
  const gchar *bad[] = { garbage_path, missing };
  GstVideoInfo info;
  GstCaps *caps;
  GstMessage *msg;
  guint64 i = 0;
  guint b;

  fail_unless (fabs (model2_threshold - model_threshold) > 1e-9,
      "both test models have threshold %g", model_threshold);
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_NV12, 64, 48);
  caps = gst_video_info_to_caps (&info);
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  gst_check_setup_events (mysrcpad, detect, caps, GST_FORMAT_TIME);
  /* reuse a map between frames too, so the swap must drop it */
  g_object_set (detect, "inference-interval", 2, NULL);

  for (; i < 9; i++) {
    gdouble expected = i < 3 ? model_threshold : model2_threshold;

    if (i == 3)
      g_object_set (detect, "model", model2_path, NULL);
    if (i == 5 || i == 7) {
      b = (i - 5) / 2;
      g_object_set (detect, "model", bad[b], NULL);
      msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
      fail_unless (msg != NULL, "no warning for %s", bad[b]);
      {
        GError *err = NULL;

        gst_message_parse_warning (msg, &err, NULL);
        GST_INFO ("warning: %s", err->message);
        fail_unless (strstr (err->message, bad[b]) != NULL,
            "warning \"%s\" does not name %s", err->message, bad[b]);
        g_error_free (err);
      }
      gst_message_unref (msg);
    }
    fail_unless_equals_int (gst_pad_push (mysrcpad, new_frame (&info, 60 + i,
                NULL, i)), GST_FLOW_OK);
    msg = pop_funad (bus);
    fail_unless (msg != NULL);
    fail_unless_equals_uint64 (get_uint64 (gst_message_get_structure (msg),
            "frame"), i);
    fail_unless_equals_float (get_double (gst_message_get_structure (msg),
            "threshold"), expected);
    /* the first frame of the new model is scored afresh */
    if (i == 3)
      fail_unless (get_boolean (gst_message_get_structure (msg), "scored"));
    gst_message_unref (msg);
  }
  fail_unless_equals_int (g_list_length (buffers), 9);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR) == NULL);

  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_caps_unref (caps);
  g_free (missing);
  cleanup_detect (detect, bus);
}

GST_END_TEST;

/* Pops the next WARNING from @bus, checks that its text contains @a and @b
 * (either may be NULL) and returns the text. */
static gchar *
pop_warning (GstBus * bus, const gchar * a, const gchar * b)
{
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  GError *err = NULL;
  gchar *text;

  fail_unless (msg != NULL, "no warning (expected one naming %s)",
      GST_STR_NULL (a));
  gst_message_parse_warning (msg, &err, NULL);
  text = g_strdup (err->message);
  GST_INFO ("warning: %s", text);
  fail_unless (a == NULL || strstr (text, a) != NULL, "warning \"%s\" lacks "
      "\"%s\"", text, a);
  fail_unless (b == NULL || strstr (text, b) != NULL, "warning \"%s\" lacks "
      "\"%s\"", text, b);
  g_error_free (err);
  gst_message_unref (msg);
  return text;
}

/* A live swap that fails leaves the model property at the model in use, so
 * the next start reloads that one instead of failing on the bad file. */
GST_START_TEST (test_model_reload_failure_keeps_property)
{
  GstBus *bus;
  GstElement *detect = setup_detect (&bus);
  gchar *missing = g_build_filename (tmp_dir, "nonexist.st", NULL);
  const gchar *bad[] = { missing, garbage_path, "" };
  GstVideoInfo info;
  GstCaps *caps;
  GstMessage *msg;
  gchar *str;
  guint b;

  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  /* a swap that works, then ones that do not */
  g_object_set (detect, "model", model2_path, NULL);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING) == NULL);
  for (b = 0; b < G_N_ELEMENTS (bad); b++) {
    g_object_set (detect, "model", bad[b], NULL);
    g_free (pop_warning (bus, "keeping the current model", NULL));
    g_object_get (detect, "model", &str, NULL);
    fail_unless_equals_string (str, model2_path);
    g_free (str);
  }

  /* a restart loads the working model */
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 64, 64);
  caps = gst_video_info_to_caps (&info);
  gst_check_setup_events (mysrcpad, detect, caps, GST_FORMAT_TIME);
  fail_unless_equals_int (gst_pad_push (mysrcpad, new_frame (&info, 90, NULL,
              0)), GST_FLOW_OK);
  msg = pop_funad (bus);
  fail_unless (msg != NULL);
  fail_unless_equals_float (get_double (gst_message_get_structure (msg),
          "threshold"), model2_threshold);
  gst_message_unref (msg);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR) == NULL);

  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_caps_unref (caps);
  g_free (missing);
  cleanup_detect (detect, bus);
}

GST_END_TEST;

/* An invalid region is reported on the bus once (at the start when set
 * before it, at once when set while running), not per frame, and the whole
 * frame is scored. */
GST_START_TEST (test_region_invalid_warns)
{
  /* numbers that wrap past G_MAXINT (4294967306 was read as 10) or end
   * in trailing text (a fifth number, a unit) are refused too */
  const gchar *bad[] = { "foo", "1,2,3", "10,10,0,0", "0,0,4294967306,10",
    "0,0,4294967296,5", "0,0,2147483648,5", "1,2,3,4,5", "1,2,3,4px",
    "-1,0,4,4", "1,,3,4"
  };
  GstBus *bus;
  GstElement *detect;
  GstVideoInfo info;
  GstCaps *caps;
  GstMessage *msg;
  gchar *str;
  guint b, i, n_funad = 0;

  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 64, 64);
  caps = gst_video_info_to_caps (&info);
  for (b = 0; b < G_N_ELEMENTS (bad); b++) {
    detect = setup_detect (&bus);
    /* a valid region first: the bad one replaces it with the whole frame */
    g_object_set (detect, "region", "0,0,8,8", NULL);
    g_object_set (detect, "region", bad[b], NULL);
    g_object_get (detect, "region", &str, NULL);
    fail_unless (str == NULL, "region reads \"%s\"", str);
    fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
        GST_STATE_CHANGE_SUCCESS);
    gst_check_setup_events (mysrcpad, detect, caps, GST_FORMAT_TIME);
    for (i = 0; i < 3; i++)
      fail_unless_equals_int (gst_pad_push (mysrcpad, new_frame (&info, 70,
                  NULL, i)), GST_FLOW_OK);
    g_free (pop_warning (bus, bad[b], "whole frame"));
    /* the frames are scored, with no more warnings */
    while ((msg = gst_bus_pop (bus))) {
      fail_if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING,
          "more than one warning for \"%s\"", bad[b]);
      n_funad += gst_message_has_name (msg, "funad");
      gst_message_unref (msg);
    }
    fail_unless_equals_int (n_funad, 3);
    n_funad = 0;

    /* set while playing: warned at once, a valid one is not */
    g_object_set (detect, "region", bad[(b + 1) % G_N_ELEMENTS (bad)], NULL);
    g_free (pop_warning (bus, bad[(b + 1) % G_N_ELEMENTS (bad)],
            "whole frame"));
    g_object_set (detect, "region", "1,2,3,4", NULL);
    fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING) == NULL);

    fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
    gst_check_drop_buffers ();
    cleanup_detect (detect, bus);
  }
  gst_caps_unref (caps);

  /* spaces around the numbers and the largest int are fine */
  detect = setup_detect (&bus);
  g_object_set (detect, "region", " 0, 0 ,2147483647,5 ", NULL);
  g_object_get (detect, "region", &str, NULL);
  fail_unless_equals_string (str, "0,0,2147483647,5");
  g_free (str);
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING) == NULL);
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  cleanup_detect (detect, bus);
}

GST_END_TEST;

/* results-location and n-threads are read at the start: changed while
 * running they warn that they wait for it. */
GST_START_TEST (test_start_only_properties_warn)
{
  GstBus *bus;
  GstElement *detect = setup_detect (&bus);
  guint n_threads;

  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  g_object_set (detect, "results-location", "/dev/null", NULL);
  g_free (pop_warning (bus, "results-location", "next start"));
  g_object_set (detect, "n-threads", 2, NULL);
  g_free (pop_warning (bus, "n-threads", "next start"));
  g_object_get (detect, "n-threads", &n_threads, NULL);
  fail_unless_equals_int (n_threads, 2);
  /* the same values again: nothing to say */
  g_object_set (detect, "results-location", "/dev/null", "n-threads", 2, NULL);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING) == NULL);

  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  /* stopped: no warning */
  g_object_set (detect, "results-location", NULL, "n-threads", 0, NULL);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING) == NULL);
  cleanup_detect (detect, bus);
}

GST_END_TEST;

/* Pushes one noise frame of @format (w x h) through an element set up by
 * the NULL-terminated property list; returns input and output bytes. */
static void
push_noise_frame (GstVideoFormat format, int w, int h, GBytes ** in,
    GBytes ** out, const gchar * first_prop, ...)
{
  GRand *rand = g_rand_new_with_seed (17);
  GstBus *bus;
  GstElement *detect = setup_detect (&bus);
  GstVideoInfo info;
  GstCaps *caps;
  GstBuffer *buf;
  GstMapInfo map;
  va_list args;

  va_start (args, first_prop);
  g_object_set_valist (G_OBJECT (detect), first_prop, args);
  va_end (args);
  gst_video_info_set_format (&info, format, w, h);
  caps = gst_video_info_to_caps (&info);
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  gst_check_setup_events (mysrcpad, detect, caps, GST_FORMAT_TIME);
  buf = new_frame (&info, 0, rand, 0);
  gst_buffer_map (buf, &map, GST_MAP_READ);
  *in = g_bytes_new (map.data, map.size);
  gst_buffer_unmap (buf, &map);
  fail_unless_equals_int (gst_pad_push (mysrcpad, buf), GST_FLOW_OK);
  fail_unless_equals_int (g_list_length (buffers), 1);
  gst_buffer_map (GST_BUFFER (buffers->data), &map, GST_MAP_READ);
  *out = g_bytes_new (map.data, map.size);
  gst_buffer_unmap (GST_BUFFER (buffers->data), &map);

  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_caps_unref (caps);
  g_rand_free (rand);
  cleanup_detect (detect, bus);
}

/* At threshold 0 a noise frame's map is above the threshold everywhere, so
 * the contour is the frame's own edge: exactly the 1-pixel border turns the
 * colour map's hottest colour, opaque, and nothing else changes. */
GST_START_TEST (test_overlay_contour)
{
  static const struct
  {
    GstVideoFormat format;
    FunadColormap colormap;
    guint8 expect[3];           /* per component, bytes in format order */
  } cases[] = {
    {GST_VIDEO_FORMAT_RGB, FUNAD_COLORMAP_INFERNO, {252, 255, 164}},
    {GST_VIDEO_FORMAT_BGRx, FUNAD_COLORMAP_VIRIDIS, {37, 231, 253}},
    {GST_VIDEO_FORMAT_GRAY8, FUNAD_COLORMAP_INFERNO, {244, 0, 0}},
  };
  int w = 40, h = 30;
  guint c;

  for (c = 0; c < G_N_ELEMENTS (cases); c++) {
    GBytes *in, *out;
    const guint8 *a, *b;
    int x, y, k, ps = cases[c].format == GST_VIDEO_FORMAT_RGB ? 3 :
        cases[c].format == GST_VIDEO_FORMAT_BGRx ? 4 : 1;
    int stride = GST_ROUND_UP_4 (w * ps);

    push_noise_frame (cases[c].format, w, h, &in, &out, "threshold", 0.0,
        "overlay", GST_FUNAD_OVERLAY_CONTOUR, "colormap", cases[c].colormap,
        NULL);
    a = g_bytes_get_data (in, NULL);
    b = g_bytes_get_data (out, NULL);
    for (y = 0; y < h; y++) {
      for (x = 0; x < w; x++) {
        gboolean edge = x == 0 || y == 0 || x == w - 1 || y == h - 1;

        for (k = 0; k < MIN (ps, 3); k++) {
          gsize i = (gsize) y * stride + x * ps + k;

          if (edge)
            fail_unless (ABS (b[i] - cases[c].expect[k]) <= 1,
                "case %u: (%d,%d)[%d] is %d, expected %d", c, x, y, k, b[i],
                cases[c].expect[k]);
          else
            fail_unless_equals_int (b[i], a[i]);
        }
        if (ps == 4)
          fail_unless_equals_int (b[y * stride + x * 4 + 3],
              a[y * stride + x * 4 + 3]);
      }
    }
    g_bytes_unref (in);
    g_bytes_unref (out);
  }
}

GST_END_TEST;

/* overlay=both draws the heat map and then the contour; the colour map
 * changes the heat colours; a threshold out of reach draws nothing. */
GST_START_TEST (test_overlay_both_and_colormap)
{
  int w = 40, h = 30, x, y, n_inside = 0;
  GBytes *in, *out, *in2, *out2;
  const guint8 *a, *b, *b2;

  push_noise_frame (GST_VIDEO_FORMAT_I420, w, h, &in, &out, "threshold", 0.0,
      "overlay", GST_FUNAD_OVERLAY_BOTH, NULL);
  a = g_bytes_get_data (in, NULL);
  b = g_bytes_get_data (out, NULL);
  for (y = 0; y < h; y++) {
    for (x = 0; x < w; x++) {
      if (x == 0 || y == 0 || x == w - 1 || y == h - 1) {
        /* inferno's hottest colour, Y' 225 */
        fail_unless (ABS (b[y * w + x] - 225) <= 1, "Y (%d,%d) %d", x, y,
            b[y * w + x]);
      } else {
        /* half-blended towards Y' 225 */
        fail_unless (ABS (b[y * w + x] - (a[y * w + x] + 225) / 2.0) <= 1.5,
            "Y (%d,%d) %d over %d", x, y, b[y * w + x], a[y * w + x]);
        n_inside++;
      }
    }
  }
  fail_unless (n_inside > 0);

  /* the same frame in viridis differs */
  push_noise_frame (GST_VIDEO_FORMAT_I420, w, h, &in2, &out2, "threshold",
      0.0, "overlay", GST_FUNAD_OVERLAY_HEATMAP, "colormap",
      FUNAD_COLORMAP_VIRIDIS, NULL);
  b2 = g_bytes_get_data (out2, NULL);
  fail_unless (memcmp (b, b2, g_bytes_get_size (out)) != 0);
  g_bytes_unref (in2);
  g_bytes_unref (out2);

  /* nothing above the threshold: neither heat nor outline */
  push_noise_frame (GST_VIDEO_FORMAT_I420, w, h, &in2, &out2, "threshold",
      1e300, "overlay", GST_FUNAD_OVERLAY_BOTH, NULL);
  fail_unless (g_bytes_equal (in2, out2));
  g_bytes_unref (in2);
  g_bytes_unref (out2);
  g_bytes_unref (in);
  g_bytes_unref (out);
}

GST_END_TEST;

/* the enum's nicks in launch lines */
GST_START_TEST (test_overlay_nicks)
{
  static const struct
  {
    const gchar *nick;
    gint value;
  } nicks[] = {
    {"none", 0}, {"heatmap", 1}, {"contour", 2}, {"both", 3},
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (nicks); i++) {
    GstElement *detect = gst_element_factory_make ("funaddetect", NULL);
    gint value = -1;

    gst_util_set_object_arg (G_OBJECT (detect), "overlay", nicks[i].nick);
    g_object_get (detect, "overlay", &value, NULL);
    fail_unless_equals_int (value, nicks[i].value);
    gst_object_unref (detect);
  }
}

GST_END_TEST;

/* Pushes one 64x64 RGB texture frame, with a noise square at (40, 8) of
 * side 16 when @patch, through an element set up by the NULL-terminated
 * property list; returns the output buffer and the "funad" message. */
static GstBuffer *
push_texture_frame (gboolean patch, GstMessage ** msg_out,
    gboolean * passthrough, const gchar * first_prop, ...)
{
  GRand *rand = g_rand_new_with_seed (23);
  GstBus *bus;
  GstElement *detect = setup_detect (&bus);
  GstVideoInfo info;
  GstCaps *caps;
  GstBuffer *buf, *out;
  GstMapInfo map;
  GstMessage *msg;
  va_list args;
  int x, y;

  va_start (args, first_prop);
  g_object_set_valist (G_OBJECT (detect), first_prop, args);
  va_end (args);
  if (passthrough)
    *passthrough =
        gst_base_transform_is_passthrough (GST_BASE_TRANSFORM (detect));
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 64, 64);
  caps = gst_video_info_to_caps (&info);
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  gst_check_setup_events (mysrcpad, detect, caps, GST_FORMAT_TIME);
  buf = new_frame (&info, 0, NULL, 0);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  fill_texture (map.data, 64, 64, info.stride[0], rand);
  for (y = 8; patch && y < 24; y++)
    for (x = 40 * 3; x < 56 * 3; x++)
      map.data[y * info.stride[0] + x] = g_rand_int_range (rand, 0, 256);
  gst_buffer_unmap (buf, &map);
  fail_unless_equals_int (gst_pad_push (mysrcpad, buf), GST_FLOW_OK);
  fail_unless_equals_int (g_list_length (buffers), 1);
  out = gst_buffer_ref (GST_BUFFER (buffers->data));
  msg = pop_funad (bus);
  fail_unless (msg != NULL);
  /* without a source: the element is gone when it is read */
  *msg_out = gst_message_new_element (NULL,
      gst_structure_copy (gst_message_get_structure (msg)));
  gst_message_unref (msg);

  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_caps_unref (caps);
  g_rand_free (rand);
  cleanup_detect (detect, bus);
  return out;
}

GST_START_TEST (test_funad_meta)
{
  GstMessage *msg;
  GstBuffer *out;
  GstFunadMeta *meta;
  gboolean passthrough;
  gfloat max = -1.0f;
  guint i;

  out = push_texture_frame (TRUE, &msg, &passthrough, "attach-meta", TRUE,
      "overlay", 0, NULL);
  fail_if (passthrough, "attach-meta needs a writable buffer");
  meta = gst_buffer_get_funad_meta (out);
  fail_unless (meta != NULL, "no GstFunadMeta");
  fail_unless_equals_float (meta->score, get_double (gst_message_get_structure
          (msg), "score"));
  fail_unless_equals_float (meta->threshold, model_threshold);
  fail_unless_equals_int (meta->anomaly, meta->score > meta->threshold);
  fail_unless_equals_int (meta->map_width, 64);
  fail_unless_equals_int (meta->map_height, 64);
  /* the geometry it was scored at, so that an application can tell a
   * buffer cropped downstream from the frame the map covers */
  fail_unless_equals_int (meta->frame_width, 64);
  fail_unless_equals_int (meta->frame_height, 64);
  fail_unless_equals_int (meta->region_x, 0);
  fail_unless_equals_int (meta->region_y, 0);
  fail_unless_equals_int (meta->region_width, 64);
  fail_unless_equals_int (meta->region_height, 64);
  fail_unless (meta->scored);
  for (i = 0; i < meta->map_width * meta->map_height; i++)
    max = MAX (max, meta->map[i]);
  /* the frame score is the map's maximum */
  fail_unless (fabs (max - meta->score) <= 1e-5 * MAX (1.0, meta->score),
      "map max %g, score %g", max, meta->score);
  /* copies carry it */
  {
    GstBuffer *copy = gst_buffer_copy (out);
    GstFunadMeta *m2 = gst_buffer_get_funad_meta (copy);

    fail_unless (m2 != NULL && m2->map != meta->map);
    fail_unless (memcmp (m2->map, meta->map, 64 * 64 * sizeof (gfloat)) == 0);
    fail_unless (m2->frame_width == 64 && m2->region_width == 64
        && m2->scored);
    gst_buffer_unref (copy);
  }
  gst_buffer_unref (out);
  gst_message_unref (msg);

  /* with a region, the meta says which part of the frame the map covers
   * (the part inside the frame) */
  out = push_texture_frame (TRUE, &msg, &passthrough, "attach-meta", TRUE,
      "overlay", 0, "region", "8,16,32,100", NULL);
  meta = gst_buffer_get_funad_meta (out);
  fail_unless (meta != NULL);
  fail_unless_equals_int (meta->frame_width, 64);
  fail_unless_equals_int (meta->region_x, 8);
  fail_unless_equals_int (meta->region_y, 16);
  fail_unless_equals_int (meta->region_width, 32);
  fail_unless_equals_int (meta->region_height, 48);
  gst_buffer_unref (out);
  gst_message_unref (msg);

  /* off by default; nothing drawn and nothing attached is passthrough */
  out = push_texture_frame (TRUE, &msg, &passthrough, "overlay", 0, NULL);
  fail_unless (passthrough);
  fail_unless (gst_buffer_get_funad_meta (out) == NULL);
  gst_buffer_unref (out);
  gst_message_unref (msg);
}

GST_END_TEST;

GST_START_TEST (test_roi_meta_and_boxes)
{
  GstMessage *msg;
  GstBuffer *out;
  gdouble s_normal, s_patch, thr;
  const GValue *boxes;
  gpointer state = NULL;
  GstMeta *meta;
  guint n_roi = 0, i;
  gboolean hit = FALSE, passthrough;

  out = push_texture_frame (FALSE, &msg, NULL, "threshold", 1e300, NULL);
  s_normal = get_double (gst_message_get_structure (msg), "score");
  /* none above the threshold: an empty list */
  boxes = gst_structure_get_value (gst_message_get_structure (msg), "boxes");
  fail_unless (boxes != NULL && GST_VALUE_HOLDS_LIST (boxes));
  fail_unless_equals_int (gst_value_list_get_size (boxes), 0);
  gst_buffer_unref (out);
  gst_message_unref (msg);
  out = push_texture_frame (TRUE, &msg, NULL, "threshold", 1e300, NULL);
  s_patch = get_double (gst_message_get_structure (msg), "score");
  gst_buffer_unref (out);
  gst_message_unref (msg);
  GST_INFO ("texture %g, with noise patch %g", s_normal, s_patch);
  fail_unless (s_patch > s_normal);
  thr = (s_normal + s_patch) / 2;

  out = push_texture_frame (TRUE, &msg, &passthrough, "threshold", thr,
      "roi-meta", TRUE, "overlay", 0, NULL);
  fail_if (passthrough);
  boxes = gst_structure_get_value (gst_message_get_structure (msg), "boxes");
  fail_unless (boxes != NULL && GST_VALUE_HOLDS_LIST (boxes));
  while ((meta = gst_buffer_iterate_meta_filtered (out, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
    GstStructure *param = gst_video_region_of_interest_meta_get_param (roi,
        "funad");
    const GstStructure *box;
    gdouble score;
    guint bx, by, bw, bh;

    fail_unless_equals_string (g_quark_to_string (roi->roi_type), "anomaly");
    fail_unless (param != NULL, "no \"funad\" parameter");
    score = get_double (param, "score");
    fail_unless (score > thr && score <= s_patch + 1e-6);
    fail_unless (roi->w > 0 && roi->h > 0 && roi->x + roi->w <= 64 &&
        roi->y + roi->h <= 64);
    /* the message lists the same boxes in the same order */
    fail_unless (n_roi < gst_value_list_get_size (boxes));
    box = gst_value_get_structure (gst_value_list_get_value (boxes, n_roi));
    fail_unless (gst_structure_get (box, "x", G_TYPE_UINT, &bx, "y",
            G_TYPE_UINT, &by, "width", G_TYPE_UINT, &bw, "height",
            G_TYPE_UINT, &bh, NULL));
    fail_unless_equals_int (bx, roi->x);
    fail_unless_equals_int (by, roi->y);
    fail_unless_equals_int (bw, roi->w);
    fail_unless_equals_int (bh, roi->h);
    fail_unless_equals_float (get_double (box, "score"), score);
    GST_INFO ("box %u,%u %ux%u score %g", roi->x, roi->y, roi->w, roi->h,
        score);
    /* the peak region covers the noise square's centre */
    if (fabs (score - s_patch) <= 1e-6 * MAX (1.0, s_patch))
      hit = roi->x <= 48 && 48 < roi->x + roi->w && roi->y <= 16 &&
          16 < roi->y + roi->h;
    n_roi++;
  }
  fail_unless (n_roi > 0, "no region above the threshold");
  fail_unless_equals_int (n_roi, gst_value_list_get_size (boxes));
  fail_unless (hit, "no box over the anomaly");
  /* the boxes leave the normal texture out: together well under the frame */
  for (i = 0, state = NULL; (meta = gst_buffer_iterate_meta_filtered (out,
              &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)); i++) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;

    fail_unless (roi->w * roi->h < 64 * 64 / 2, "box %ux%u", roi->w, roi->h);
  }
  gst_buffer_unref (out);
  gst_message_unref (msg);
}

GST_END_TEST;

/* pipelines/funad-read-meta.c, the example application, reads both metas */
GST_START_TEST (test_read_meta_example)
{
  const gchar *exe = g_getenv ("FUNAD_READ_META");
  gchar *argv[] = { (gchar *) exe, model_path, (gchar *) "4", NULL };
  gchar *out = NULL, *err_out = NULL, **lines;
  GError *err = NULL;
  gint status;
  guint i;

  fail_unless (exe != NULL, "FUNAD_READ_META not set");
  fail_unless (g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
          &out, &err_out, &status, &err));
  g_assert_no_error (err);
  fail_unless (g_spawn_check_wait_status (status, NULL), "exit %d: %s",
      status, err_out);
  lines = g_strsplit (out, "\n", -1);
  fail_unless_equals_int (g_strv_length (lines), 5);
  for (i = 0; i < 4; i++) {
    gchar *prefix = g_strdup_printf ("frame %u score ", i);

    fail_unless (g_str_has_prefix (lines[i], prefix), "line %s", lines[i]);
    fail_unless (strstr (lines[i], " scored 1 map 64x64 over 0,0 160x120 of "
            "160x120 boxes") != NULL, "line %s", lines[i]);
    g_free (prefix);
  }
  g_strfreev (lines);
  g_free (out);
  g_free (err_out);
}

GST_END_TEST;

/* A 128x64 RGB frame, the trained texture on the left half and noise on
 * the right, through an element with @region, @threshold and @overlay;
 * returns the output buffer and the "funad" message. */
static GstBuffer *
push_halves (const gchar * region, gdouble threshold, gint overlay,
    GstMessage ** msg_out)
{
  GRand *rand = g_rand_new_with_seed (29);
  GstBus *bus;
  GstElement *detect = setup_detect (&bus);
  GstVideoInfo info;
  GstCaps *caps;
  GstBuffer *buf, *out;
  GstMapInfo map;
  GstMessage *msg;
  int x, y;

  g_object_set (detect, "region", region, "threshold", threshold, "overlay",
      overlay, NULL);
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 128, 64);
  caps = gst_video_info_to_caps (&info);
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  gst_check_setup_events (mysrcpad, detect, caps, GST_FORMAT_TIME);
  buf = new_frame (&info, 0, NULL, 0);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  fill_texture (map.data, 64, 64, info.stride[0], rand);
  for (y = 0; y < 64; y++)
    for (x = 64 * 3; x < 128 * 3; x++)
      map.data[y * info.stride[0] + x] = g_rand_int_range (rand, 0, 256);
  gst_buffer_unmap (buf, &map);
  fail_unless_equals_int (gst_pad_push (mysrcpad, buf), GST_FLOW_OK);
  out = gst_buffer_ref (GST_BUFFER (buffers->data));
  msg = pop_funad (bus);
  fail_unless (msg != NULL);
  *msg_out = gst_message_new_element (NULL,
      gst_structure_copy (gst_message_get_structure (msg)));
  gst_message_unref (msg);

  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_caps_unref (caps);
  g_rand_free (rand);
  cleanup_detect (detect, bus);
  return out;
}

/* region: only the rectangle is scored, drawn and boxed */
GST_START_TEST (test_region)
{
  GstMessage *msg;
  GstBuffer *orig, *out;
  GstMapInfo a, b;
  GstElement *detect;
  gchar *str;
  gdouble s_left, s_right;
  const GValue *boxes;
  guint i;
  int x, y, n_changed = 0;

  detect = gst_element_factory_make ("funaddetect", NULL);
  g_object_get (detect, "region", &str, NULL);
  fail_unless (str == NULL);
  g_object_set (detect, "region", "3,4,50,60", NULL);
  g_object_get (detect, "region", &str, NULL);
  fail_unless_equals_string (str, "3,4,50,60");
  g_free (str);
  gst_object_unref (detect);

  /* the texture half alone is normal, the noise half is not */
  orig = push_halves ("0,0,64,64", 1e300, 0, &msg);
  s_left = get_double (gst_message_get_structure (msg), "score");
  gst_message_unref (msg);
  out = push_halves ("64,0,64,64", model_threshold, 1, &msg);
  s_right = get_double (gst_message_get_structure (msg), "score");
  GST_INFO ("texture half %g, noise half %g", s_left, s_right);
  fail_unless (s_left < model_threshold && s_right > model_threshold,
      "texture half %g, noise half %g, threshold %g", s_left, s_right,
      model_threshold);

  /* boxes lie in the region */
  boxes = gst_structure_get_value (gst_message_get_structure (msg), "boxes");
  fail_unless (gst_value_list_get_size (boxes) > 0);
  for (i = 0; i < gst_value_list_get_size (boxes); i++) {
    const GstStructure *box =
        gst_value_get_structure (gst_value_list_get_value (boxes, i));
    guint bx, by, bw, bh;

    fail_unless (gst_structure_get (box, "x", G_TYPE_UINT, &bx, "y",
            G_TYPE_UINT, &by, "width", G_TYPE_UINT, &bw, "height",
            G_TYPE_UINT, &bh, NULL));
    fail_unless (bx >= 64 && bx + bw <= 128 && by + bh <= 64,
        "box %u,%u %ux%u", bx, by, bw, bh);
  }
  gst_message_unref (msg);

  /* a region to the frame's edge, however far: clipped to the frame, the
   * same as the exact one (x + width overflowed an int and scored the whole
   * frame) */
  {
    GstBuffer *edge = push_halves ("64,0,2147483647,2147483647",
        model_threshold, 0, &msg);
    const GValue *edge_boxes = gst_structure_get_value
        (gst_message_get_structure (msg), "boxes");

    fail_unless_equals_float (get_double (gst_message_get_structure (msg),
            "score"), s_right);
    for (i = 0; i < gst_value_list_get_size (edge_boxes); i++) {
      guint bx;

      fail_unless (gst_structure_get_uint (gst_value_get_structure
              (gst_value_list_get_value (edge_boxes, i)), "x", &bx));
      fail_unless (bx >= 64, "box at x %u, outside the region", bx);
    }
    gst_message_unref (msg);
    gst_buffer_unref (edge);
  }

  /* the heat map is drawn inside the region only */
  gst_buffer_map (orig, &a, GST_MAP_READ);
  gst_buffer_map (out, &b, GST_MAP_READ);
  for (y = 0; y < 64; y++) {
    for (x = 0; x < 128; x++) {
      gboolean same = memcmp (a.data + y * 384 + x * 3,
          b.data + y * 384 + x * 3, 3) == 0;

      if (x < 64)
        fail_unless (same, "pixel (%d,%d) outside the region drawn", x, y);
      else
        n_changed += !same;
    }
  }
  fail_unless (n_changed > 0, "nothing drawn in the region");
  gst_buffer_unmap (orig, &a);
  gst_buffer_unmap (out, &b);
  gst_buffer_unref (orig);
  gst_buffer_unref (out);
}

GST_END_TEST;

/* Runs pipelines/@script with @args (NULL-terminated); with @print only
 * prints its pipeline. Returns stdout. */
static gchar *
run_script (const gchar * script, gboolean print, ...)
{
  const gchar *dir = g_getenv ("FUNAD_PIPELINES");
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);
  gchar **envp = g_get_environ ();
  gchar *out = NULL, *err_out = NULL;
  const gchar *arg;
  GError *err = NULL;
  va_list args;
  gint status;

  fail_unless (dir != NULL, "FUNAD_PIPELINES not set");
  g_ptr_array_add (argv, g_build_filename (dir, script, NULL));
  va_start (args, print);
  while ((arg = va_arg (args, const gchar *)))
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (args);
  g_ptr_array_add (argv, NULL);
  envp = g_environ_setenv (envp, "FUNAD_PRINT_PIPELINE", print ? "1" : "0",
      TRUE);
  /* a sanitizer build: gst-launch-1.0 needs the runtime its plugin was built
   * with; its own leaks (and the shell's) are not ours to report */
  if (g_getenv ("FUNAD_CHILD_PRELOAD")) {
    envp = g_environ_setenv (envp, "LD_PRELOAD",
        g_getenv ("FUNAD_CHILD_PRELOAD"), TRUE);
    envp = g_environ_setenv (envp, "ASAN_OPTIONS", "detect_leaks=0", TRUE);
  }

  fail_unless (g_spawn_sync (NULL, (gchar **) argv->pdata, envp,
          G_SPAWN_DEFAULT, NULL, NULL, &out, &err_out, &status, &err));
  g_assert_no_error (err);
  fail_unless (g_spawn_check_wait_status (status, NULL), "%s failed: %s%s",
      script, out, err_out);
  g_free (err_out);
  g_strfreev (envp);
  g_ptr_array_unref (argv);
  return out;
}

static guint
count_lines (const gchar * path)
{
  gchar *contents = NULL, **lines;
  guint n;

  fail_unless (g_file_get_contents (path, &contents, NULL, NULL), "no %s",
      path);
  lines = g_strsplit (contents, "\n", -1);
  n = g_strv_length (lines) - 1;
  g_strfreev (lines);
  g_free (contents);
  return n;
}

/* The scripts in pipelines/: those on files run for real; the camera and
 * RTSP ones, which need a device or a server, must at least parse. */
GST_START_TEST (test_pipeline_scripts)
{
  gchar *in = g_build_filename (tmp_dir, "in put.avi", NULL);
  gchar *out = g_build_filename (tmp_dir, "annotated.mkv", NULL);
  gchar *results = g_build_filename (tmp_dir, "annotated.jsonl", NULL);
  gchar *log = g_build_filename (tmp_dir, "log.jsonl", NULL);
  gchar *desc, *text;
  const gchar *live[][3] = {
    {"camera.sh", "v4l2src", "/dev/video0"},
    {"rtsp.sh", "rtspsrc", "rtsp://127.0.0.1:8554/cam"},
  };
  GError *err = NULL;
  GstElement *pipeline;
  guint i;

  desc = g_strdup_printf ("videotestsrc num-buffers=10 pattern=ball ! "
      "video/x-raw,width=160,height=120,framerate=25/1 ! jpegenc ! avimux ! "
      "filesink location=\"%s\"", in);
  assert_eos (run_pipeline (desc, NULL));
  g_free (desc);

  g_free (run_script ("review-file.sh", FALSE, in, model_path, out, NULL));
  fail_unless_equals_int (count_lines (results), 10);
  desc = g_strdup_printf ("filesrc location=\"%s\" ! matroskademux ! "
      "jpegdec ! fakesink", out);
  assert_eos (run_pipeline (desc, NULL));
  g_free (desc);

  g_free (run_script ("json-log.sh", FALSE, in, model_path, log, NULL));
  fail_unless_equals_int (count_lines (log), 10);

  for (i = 0; i < G_N_ELEMENTS (live); i++) {
    GstElementFactory *f = gst_element_factory_find (live[i][1]);

    if (f == NULL) {
      GST_WARNING ("%s missing, %s not parsed", live[i][1], live[i][0]);
      continue;
    }
    gst_object_unref (f);
    if (i == 0)
      text = run_script (live[i][0], TRUE, model_path, live[i][2], NULL);
    else
      text = run_script (live[i][0], TRUE, live[i][2], model_path, log, NULL);
    GST_INFO ("%s: %s", live[i][0], text);
    pipeline = gst_parse_launch (text, &err);
    g_assert_no_error (err);
    fail_unless (pipeline != NULL);
    gst_object_unref (pipeline);
    g_free (text);
  }

  g_unlink (in);
  g_unlink (out);
  g_unlink (results);
  g_unlink (log);
  g_free (in);
  g_free (out);
  g_free (results);
  g_free (log);
}

GST_END_TEST;

/* Model swaps racing with a streaming thread: every frame is scored exactly
 * once, by one model or the other, and both models get used. The source is
 * live (a frame every 10 ms) so that a busy machine cannot let the streaming
 * thread finish all frames before the first swap lands. */
GST_START_TEST (test_model_reload_while_streaming)
{
  gchar *desc = g_strdup_printf ("videotestsrc is-live=true num-buffers=150 "
      "pattern=ball ! video/x-raw,format=I420,width=96,height=72,"
      "framerate=100/1 ! funaddetect name=d model=\"%s\" ! fakesink",
      model_path);
  GstElement *pipeline = gst_parse_launch (desc, NULL);
  GstElement *detect = gst_bin_get_by_name (GST_BIN (pipeline), "d");
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;
  guint64 expected = 0;
  guint n_swaps = 0, seen1 = 0, seen2 = 0;
  gboolean done = FALSE;

  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  while (!done) {
    msg = gst_bus_timed_pop_filtered (bus, 2 * GST_MSECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT);
    if (msg == NULL) {
      g_object_set (detect, "model", n_swaps++ % 2 ? model_path :
          model2_path, NULL);
      continue;
    }
    switch (GST_MESSAGE_TYPE (msg)) {
      case GST_MESSAGE_ELEMENT:{
        const GstStructure *s = gst_message_get_structure (msg);
        gdouble t;

        if (!gst_structure_has_name (s, "funad"))
          break;
        fail_unless_equals_uint64 (get_uint64 (s, "frame"), expected);
        expected++;
        t = get_double (s, "threshold");
        seen1 += t == model_threshold;
        seen2 += t == model2_threshold;
        fail_unless (t == model_threshold || t == model2_threshold);
        /* swap again at once, while the streaming thread goes on */
        g_object_set (detect, "model", n_swaps++ % 2 ? model_path :
            model2_path, NULL);
        break;
      }
      case GST_MESSAGE_ERROR:
        fail ("error while swapping models");
        break;
      default:
        done = TRUE;
        break;
    }
    gst_message_unref (msg);
  }
  GST_INFO ("%u swaps, %u frames by model 1, %u by model 2", n_swaps, seen1,
      seen2);
  fail_unless_equals_uint64 (expected, 150);
  fail_unless (n_swaps >= 2 && seen1 > 0 && seen2 > 0);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (detect);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_free (desc);
}

GST_END_TEST;

static void
check_error_names (const gchar * text, const gchar * path,
    const gchar * must_contain)
{
  fail_unless (strstr (text, path) != NULL,
      "error \"%s\" does not name %s", text, path);
  if (must_contain)
    fail_unless (strstr (text, must_contain) != NULL,
        "error \"%s\" lacks \"%s\"", text, must_contain);
}

GST_START_TEST (test_missing_model)
{
  gchar *path = g_build_filename (tmp_dir, "no-such-model.funad", NULL);
  gchar *desc = g_strdup_printf ("videotestsrc ! funaddetect name=d "
      "model=\"%s\" ! fakesink", path);
  GError *err = NULL;
  gchar *text;

  fail_unless (funad_model_load (path, &err) == NULL);
  text = expect_start_failure (desc);
  check_error_names (text, path, err->message);

  g_error_free (err);
  g_free (text);
  g_free (desc);
  g_free (path);
}

GST_END_TEST;

GST_START_TEST (test_corrupt_model)
{
  gchar *desc = g_strdup_printf ("videotestsrc ! funaddetect name=d "
      "model=\"%s\" ! fakesink", garbage_path);
  GError *err = NULL;
  gchar *text;

  fail_unless (funad_model_load (garbage_path, &err) == NULL);
  text = expect_start_failure (desc);
  check_error_names (text, garbage_path, err->message);

  g_error_free (err);
  g_free (text);
  g_free (desc);
}

GST_END_TEST;

GST_START_TEST (test_no_model)
{
  gchar *text = expect_start_failure ("videotestsrc ! funaddetect name=d ! "
      "fakesink");

  fail_unless (strstr (text, "model") != NULL, "error: %s", text);
  g_free (text);
}

GST_END_TEST;

static JsonObject *
parse_line (JsonParser * parser, const gchar * line)
{
  GError *err = NULL;
  JsonNode *root;

  fail_unless (json_parser_load_from_data (parser, line, -1, &err),
      "bad JSON line \"%s\": %s", line, err ? err->message : "");
  root = json_parser_get_root (parser);
  fail_unless (JSON_NODE_HOLDS_OBJECT (root), "not an object: %s", line);
  return json_node_get_object (root);
}

GST_START_TEST (test_results_location)
{
  gchar *results = g_build_filename (tmp_dir, "results.jsonl", NULL);
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=5 pattern=ball ! "
      "video/x-raw,format=RGBx,width=96,height=72,framerate=25/1 ! "
      "funaddetect name=d model=\"%s\" results-location=\"%s\" ! fakesink",
      model_path, results);
  GPtrArray *msgs = g_ptr_array_new_with_free_func (
      (GDestroyNotify) gst_message_unref);
  JsonParser *parser = json_parser_new ();
  gchar *contents, **lines;
  guint i, run;

  g_unlink (results);
  for (run = 1; run <= 2; run++) {
    g_ptr_array_set_size (msgs, 0);
    assert_eos (run_pipeline (desc, msgs));
    fail_unless_equals_int (msgs->len, 5);

    fail_unless (g_file_get_contents (results, &contents, NULL, NULL));
    lines = g_strsplit (contents, "\n", -1);
    /* each run appends its 5 lines; the file ends with a newline */
    fail_unless_equals_int (g_strv_length (lines), 5 * run + 1);
    fail_unless_equals_string (lines[5 * run], "");

    for (i = 0; i < 5; i++) {
      const GstStructure *s =
          gst_message_get_structure (g_ptr_array_index (msgs, i));
      JsonObject *o = parse_line (parser, lines[5 * (run - 1) + i]);

      fail_unless_equals_int (json_object_get_size (o), 7);
      fail_unless_equals_int (json_object_get_boolean_member (o, "scored"),
          get_boolean (s, "scored"));
      fail_unless_equals_int64 (json_object_get_int_member (o, "frame"), i);
      fail_unless_equals_int64 (json_object_get_int_member (o, "pts"),
          i * FRAME_DURATION);
      fail_unless_equals_int64 (json_object_get_int_member (o,
              "running_time"), get_uint64 (s, "running-time"));
      fail_unless (fabs (json_object_get_double_member (o, "score") -
              get_double (s, "score")) <= 1e-6 * MAX (1.0, get_double (s,
                  "score")));
      fail_unless (fabs (json_object_get_double_member (o, "threshold") -
              model_threshold) <= 1e-6 * MAX (1.0, model_threshold));
      fail_unless_equals_int (json_object_get_boolean_member (o, "anomaly"),
          get_boolean (s, "anomaly"));
    }
    g_strfreev (lines);
    g_free (contents);
  }

  /* with inference-interval=2 every other line says it repeats the last
   * scored frame's score */
  g_free (desc);
  desc = g_strdup_printf ("videotestsrc num-buffers=4 pattern=ball ! "
      "video/x-raw,format=RGBx,width=96,height=72,framerate=25/1 ! "
      "funaddetect model=\"%s\" inference-interval=2 results-location=\"%s\" "
      "! fakesink", model_path, results);
  g_unlink (results);
  g_ptr_array_set_size (msgs, 0);
  assert_eos (run_pipeline (desc, msgs));
  fail_unless (g_file_get_contents (results, &contents, NULL, NULL));
  lines = g_strsplit (contents, "\n", -1);
  fail_unless_equals_int (g_strv_length (lines), 5);
  for (i = 0; i < 4; i++) {
    JsonObject *o = parse_line (parser, lines[i]);

    fail_unless_equals_int (json_object_get_boolean_member (o, "scored"),
        i % 2 == 0);
  }
  g_strfreev (lines);
  g_free (contents);

  g_object_unref (parser);
  g_ptr_array_unref (msgs);
  g_unlink (results);
  g_free (desc);
  g_free (results);
}

GST_END_TEST;

GST_START_TEST (test_results_location_unwritable)
{
  gchar *results = g_build_filename (tmp_dir, "no-such-dir", "r.jsonl", NULL);
  gchar *desc = g_strdup_printf ("videotestsrc ! funaddetect name=d "
      "model=\"%s\" results-location=\"%s\" ! fakesink", model_path, results);
  gchar *text = expect_start_failure (desc);

  check_error_names (text, results, NULL);
  g_free (text);
  g_free (desc);
  g_free (results);
}

GST_END_TEST;

/* results-location pointed by mistake at the model (or a video) is refused,
 * and the file is left as it was; an earlier results file is appended to. */
GST_START_TEST (test_results_location_not_json)
{
  gchar *copy = g_build_filename (tmp_dir, "model-copy.safetensors", NULL);
  gchar *contents, *after, *desc, *text;
  gsize len, after_len;

  fail_unless (g_file_get_contents (model_path, &contents, &len, NULL));
  fail_unless (g_file_set_contents (copy, contents, (gssize) len, NULL));
  desc = g_strdup_printf ("videotestsrc num-buffers=2 ! funaddetect name=d "
      "model=\"%s\" results-location=\"%s\" ! fakesink", model_path, copy);
  text = expect_start_failure (desc);
  check_error_names (text, copy, "not appending");
  fail_unless (g_file_get_contents (copy, &after, &after_len, NULL));
  fail_unless (after_len == len && memcmp (after, contents, len) == 0,
      "the file was changed");
  g_unlink (copy);
  g_free (text);
  g_free (desc);
  g_free (after);
  g_free (contents);

  /* a pretty-printed JSON report starts with '{' too, but its first line is
   * not a JSON object */
  contents = g_strdup ("{\n  \"auroc\": 0.9,\n  \"frames\": 10\n}\n");
  len = strlen (contents);
  fail_unless (g_file_set_contents (copy, contents, (gssize) len, NULL));
  desc = g_strdup_printf ("videotestsrc num-buffers=2 ! funaddetect name=d "
      "model=\"%s\" results-location=\"%s\" ! fakesink", model_path, copy);
  text = expect_start_failure (desc);
  check_error_names (text, copy, "not appending");
  fail_unless (g_file_get_contents (copy, &after, &after_len, NULL));
  fail_unless_equals_string (after, contents);
  g_unlink (copy);
  g_free (text);
  g_free (desc);
  g_free (after);
  g_free (contents);
  g_free (copy);
}

GST_END_TEST;

/* Runs two frames into a results file that holds @old: the old text stays
 * as it was, and the two new records are the file's last two lines, each a
 * line of its own. Returns the file's lines ("" after the last newline). */
static gchar **
append_two_records (const gchar * old)
{
  gchar *results = g_build_filename (tmp_dir, "appended.jsonl", NULL);
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=2 ! "
      "video/x-raw,width=64,height=48 ! funaddetect model=\"%s\" "
      "results-location=\"%s\" ! fakesink", model_path, results);
  JsonParser *parser = json_parser_new ();
  gchar *contents, **lines;
  guint i, n_lines;

  fail_unless (g_file_set_contents (results, old, -1, NULL));
  assert_eos (run_pipeline (desc, NULL));
  fail_unless (g_file_get_contents (results, &contents, NULL, NULL));
  fail_unless (g_str_has_prefix (contents, old), "the old text changed");
  lines = g_strsplit (contents, "\n", -1);
  n_lines = g_strv_length (lines);
  fail_unless (n_lines >= 3);
  fail_unless_equals_string (lines[n_lines - 1], "");
  for (i = 0; i < 2; i++)
    fail_unless_equals_int64 (json_object_get_int_member (parse_line (parser,
                lines[n_lines - 3 + i]), "frame"), i);
  g_free (contents);
  g_object_unref (parser);
  g_unlink (results);
  g_free (desc);
  g_free (results);
  return lines;
}

/* A results file left mid-line (an earlier run killed while writing) gets
 * its new records on lines of their own, not glued to the broken one. */
GST_START_TEST (test_results_location_partial_line)
{
  gchar **lines = append_two_records ("{\"frame\":0,\"pts\":0,"
      "\"running_time\":0,\"score\":1,\"threshold\":2,\"anomaly\":false,"
      "\"scored\":true}\n{\"frame\":1,\"pts");

  /* the old record, the broken line, two new records, "" after the last */
  fail_unless_equals_int (g_strv_length (lines), 5);
  fail_unless_equals_string (lines[1], "{\"frame\":1,\"pts");
  g_strfreev (lines);
}

GST_END_TEST;

/* A results file that starts with blank lines (`echo > results.jsonl`) is
 * appended to; its first line with text decides. A blank first line used to
 * fail a GLib assertion (the JSON parser's empty root) and be refused. */
GST_START_TEST (test_results_location_blank_first_line)
{
  static const gchar *olds[] = { "\n", " \n", "   ",
    "\n{\"frame\":0,\"score\":1}\n"
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (olds); i++)
    g_strfreev (append_two_records (olds[i]));
}

GST_END_TEST;

/* The smallest frame and a 16384x16384 one are scored, with the overlay
 * drawn, and the buffers keep their size. */
GST_START_TEST (test_extreme_frame_sizes)
{
  static const int sizes[][2] = { {1, 1}, {16384, 16384}, {16384, 1} };
  GstBus *bus;
  GstElement *detect = setup_detect (&bus);
  GstSegment segment;
  guint i;

  g_object_set (detect, "threshold", 0.0, NULL);
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  fail_unless (gst_pad_push_event (mysrcpad,
          gst_event_new_stream_start ("funad-test")));
  for (i = 0; i < G_N_ELEMENTS (sizes); i++) {
    GstVideoInfo info;
    GstMessage *msg;
    GstBuffer *out;
    gdouble score;

    gst_video_info_set_format (&info, GST_VIDEO_FORMAT_GRAY8, sizes[i][0],
        sizes[i][1]);
    fail_unless (gst_pad_push_event (mysrcpad,
            gst_event_new_caps (gst_video_info_to_caps (&info))));
    if (i == 0)
      fail_unless (gst_pad_push_event (mysrcpad,
              gst_event_new_segment (&segment)));
    fail_unless_equals_int (gst_pad_push (mysrcpad, new_frame (&info, 77,
                NULL, i)), GST_FLOW_OK);
    msg = pop_funad (bus);
    fail_unless (msg != NULL, "no message for %dx%d", sizes[i][0],
        sizes[i][1]);
    score = get_double (gst_message_get_structure (msg), "score");
    fail_unless (isfinite (score), "score %g for %dx%d", score, sizes[i][0],
        sizes[i][1]);
    gst_message_unref (msg);
    out = GST_BUFFER (g_list_last (buffers)->data);
    fail_unless_equals_int (gst_buffer_get_size (out), info.size);
    gst_check_drop_buffers ();
  }
  gst_element_set_state (detect, GST_STATE_NULL);
  cleanup_detect (detect, bus);
}

GST_END_TEST;

/* Runs a pipeline that must fail while streaming; returns the ERROR's text
 * and, in *debug, its debug string. */
static gchar *
expect_stream_error (const gchar * desc, gchar ** debug, gchar ** source)
{
  GstMessage *msg = run_pipeline (desc, NULL);
  GError *err = NULL;
  gchar *text;

  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_ERROR);
  gst_message_parse_error (msg, &err, debug);
  *source = g_strdup (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)));
  text = g_strdup (err->message);
  g_error_free (err);
  gst_message_unref (msg);
  return text;
}

/* Formats the element does not take: a pipeline that names them does not
 * link ("d can't handle caps ..."), and caps that arrive while streaming are
 * refused, the next buffer returning not-negotiated. Nothing crashes. */
GST_START_TEST (test_unsupported_caps)
{
  static const gchar *caps[] = {
    "video/x-raw,format=RGB16,width=64,height=48",
    "video/x-raw,format=GRAY16_LE,width=64,height=48",
    "video/x-bayer,format=rggb,width=64,height=48",
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (caps); i++) {
    gchar *desc = g_strdup_printf ("videotestsrc num-buffers=2 ! %s ! "
        "funaddetect name=d model=\"%s\" ! fakesink", caps[i], model_path);
    GError *err = NULL;
    GstElement *pipeline = gst_parse_launch (desc, &err);
    GstBus *bus;
    GstElement *detect;
    GstCaps *c = gst_caps_from_string (caps[i]);
    GstSegment segment;

    fail_unless (g_error_matches (err, GST_PARSE_ERROR, GST_PARSE_ERROR_LINK),
        "%s linked", caps[i]);
    fail_unless (strstr (err->message, "d can't handle caps") != NULL,
        "error: %s", err->message);
    g_clear_error (&err);
    if (pipeline)
      gst_object_unref (pipeline);

    detect = setup_detect (&bus);
    gst_segment_init (&segment, GST_FORMAT_TIME);
    fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
        GST_STATE_CHANGE_SUCCESS);
    fail_unless (gst_pad_push_event (mysrcpad,
            gst_event_new_stream_start ("funad-test")));
    /* a sticky event is stored either way; the refusal shows on the buffer */
    gst_pad_push_event (mysrcpad, gst_event_new_caps (c));
    gst_caps_unref (c);
    fail_unless (gst_pad_push_event (mysrcpad,
            gst_event_new_segment (&segment)));
    fail_unless_equals_int (gst_pad_push (mysrcpad,
            gst_buffer_new_allocate (NULL, 64 * 48 * 2, NULL)),
        GST_FLOW_NOT_NEGOTIATED);
    gst_element_set_state (detect, GST_STATE_NULL);
    cleanup_detect (detect, bus);
    g_free (desc);
  }
}

GST_END_TEST;

/* A results file on a full disk stops the pipeline with the reason. */
GST_START_TEST (test_results_location_full_disk)
{
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=5000 ! "
      "video/x-raw,width=64,height=48 ! funaddetect name=d model=\"%s\" "
      "results-location=/dev/full ! fakesink", model_path);
  gchar *debug = NULL, *source = NULL;
  gchar *text = expect_stream_error (desc, &debug, &source);

  fail_unless_equals_string (source, "d");
  fail_unless_equals_string (text,
      "Could not write to results file \"/dev/full\": No space left on device");
  g_free (text);
  g_free (debug);
  g_free (source);
  g_free (desc);
}

GST_END_TEST;

/* ---- processing latency ------------------------------------------------- */

/* what mysrcpad answers to a LATENCY query: a live upstream */
static GstClockTime upstream_min, upstream_max;
static gboolean upstream_answers;

static gboolean
upstream_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  if (GST_QUERY_TYPE (query) != GST_QUERY_LATENCY)
    return gst_pad_query_default (pad, parent, query);
  if (!upstream_answers)
    return FALSE;
  gst_query_set_latency (query, TRUE, upstream_min, upstream_max);
  return TRUE;
}

/* Queries the latency as the element's downstream sees it; checks that the
 * element added as much to the maximum as to the minimum (NONE staying
 * NONE) and returns what it added. */
static GstClockTime
query_added_latency (void)
{
  GstQuery *query = gst_query_new_latency ();
  GstClockTime min, max;
  gboolean live;

  fail_unless (gst_pad_peer_query (mysinkpad, query));
  gst_query_parse_latency (query, &live, &min, &max);
  gst_query_unref (query);
  fail_unless (live);
  fail_unless (min >= upstream_min, "min latency %" GST_TIME_FORMAT
      " below upstream's", GST_TIME_ARGS (min));
  if (GST_CLOCK_TIME_IS_VALID (upstream_max)) {
    fail_unless_equals_uint64 (max - upstream_max, min - upstream_min);
  } else {
    fail_unless_equals_uint64 (max, GST_CLOCK_TIME_NONE);
  }
  return min - upstream_min;
}

/* Pops the LATENCY messages waiting on @bus, all from @detect. */
static guint
pop_latency_messages (GstBus * bus, GstElement * detect)
{
  GstMessage *msg;
  guint n = 0;

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_LATENCY))) {
    fail_unless (GST_MESSAGE_SRC (msg) == GST_OBJECT (detect));
    gst_message_unref (msg);
    n++;
  }
  return n;
}

/* The element scores in the streaming thread: a LATENCY query through it
 * adds the time that takes, measured, and a LATENCY message says when that
 * measurement is first made. No timing is asserted beyond "at least a
 * fraction of the fastest push of a frame". */
GST_START_TEST (test_latency_query)
{
  GRand *rand = g_rand_new_with_seed (3);
  GstBus *bus;
  GstElement *detect = setup_detect (&bus);
  GstVideoInfo info;
  GstCaps *caps;
  GstQuery *query;
  GstClockTime added, fastest = GST_CLOCK_TIME_NONE;
  guint64 i;

  upstream_min = 10 * GST_MSECOND;
  upstream_max = GST_CLOCK_TIME_NONE;
  upstream_answers = TRUE;
  gst_pad_set_query_function (mysrcpad, upstream_query);
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 320, 240);
  caps = gst_video_info_to_caps (&info);
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  gst_check_setup_events (mysrcpad, detect, caps, GST_FORMAT_TIME);

  /* nothing measured yet: upstream's latency alone, nothing announced */
  fail_unless_equals_uint64 (query_added_latency (), 0);
  fail_unless_equals_int (pop_latency_messages (bus, detect), 0);

  for (i = 0; i < 5; i++) {
    GstBuffer *buf = new_frame (&info, 0, rand, i);
    GstClockTime start = gst_util_get_timestamp ();

    fail_unless_equals_int (gst_pad_push (mysrcpad, buf), GST_FLOW_OK);
    fastest = MIN (fastest, gst_util_get_timestamp () - start);
  }
  /* the first measurement was announced (later ones only if it grew or
   * shrank by a fifth) */
  fail_unless (pop_latency_messages (bus, detect) >= 1);
  added = query_added_latency ();
  GST_INFO ("fastest push %" GST_TIME_FORMAT ", latency added %"
      GST_TIME_FORMAT, GST_TIME_ARGS (fastest), GST_TIME_ARGS (added));
  fail_unless (added > 0);
  /* a push is the scoring plus a little */
  fail_unless (added >= fastest / 4, "latency added %" GST_TIME_FORMAT
      ", fastest push %" GST_TIME_FORMAT, GST_TIME_ARGS (added),
      GST_TIME_ARGS (fastest));

  /* a bounded maximum grows by as much as the minimum */
  upstream_max = GST_SECOND;
  query_added_latency ();

  /* when upstream cannot answer, the element cannot either */
  upstream_answers = FALSE;
  query = gst_query_new_latency ();
  fail_if (gst_pad_peer_query (mysinkpad, query));
  gst_query_unref (query);
  upstream_answers = TRUE;

  /* a restart measures afresh */
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_READY),
      GST_STATE_CHANGE_SUCCESS);
  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  fail_unless_equals_uint64 (query_added_latency (), 0);

  fail_unless_equals_int (gst_element_set_state (detect, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_caps_unref (caps);
  g_rand_free (rand);
  cleanup_detect (detect, bus);
}

GST_END_TEST;

/* In a live pipeline the application, told by the LATENCY message,
 * redistributes latency: the sink then waits for the source's latency, its
 * own processing deadline and the element's processing time. (The first
 * message comes with the first frame, before the sink has it and can answer
 * a latency query: the latency is configured when the sink has it.) */
GST_START_TEST (test_latency_pipeline)
{
  gchar *desc = g_strdup_printf ("videotestsrc name=src is-live=true "
      "num-buffers=250 ! video/x-raw,format=RGB,width=160,height=120,"
      "framerate=25/1 ! funaddetect name=d model=%s overlay=none "
      "post-messages=false ! fakesink name=sink sync=true", model_path);
  GError *err = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &err);
  GstElement *sink, *src;
  GstBus *bus;
  GstMessage *msg;
  GstQuery *query;
  GstClockTime src_min = 0, deadline, configured = 0;
  gboolean live, announced = FALSE;
  gint64 give_up = g_get_monotonic_time () + 60 * G_TIME_SPAN_SECOND;

  g_assert_no_error (err);
  bus = gst_element_get_bus (pipeline);
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_object_get (sink, "processing-deadline", &deadline, NULL);
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);

  while (g_get_monotonic_time () < give_up) {
    msg = gst_bus_timed_pop_filtered (bus, 50 * GST_MSECOND,
        GST_MESSAGE_LATENCY | GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    if (msg) {
      fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_LATENCY);
      /* the sink may post one too */
      if (!g_strcmp0 (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), "d"))
        announced = TRUE;
      gst_message_unref (msg);
      /* what gst-launch-1.0 does with it */
      gst_bin_recalculate_latency (GST_BIN (pipeline));
    }
    if (!announced)
      continue;
    query = gst_query_new_latency ();
    fail_unless (gst_element_query (src, query));
    gst_query_parse_latency (query, &live, &src_min, NULL);
    gst_query_unref (query);
    fail_unless (live);
    configured = gst_base_sink_get_latency (GST_BASE_SINK (sink));
    if (configured > src_min + deadline)
      break;
  }
  fail_unless (announced, "no LATENCY message");
  GST_INFO ("source latency %" GST_TIME_FORMAT ", sink deadline %"
      GST_TIME_FORMAT ", configured %" GST_TIME_FORMAT,
      GST_TIME_ARGS (src_min), GST_TIME_ARGS (deadline),
      GST_TIME_ARGS (configured));
  fail_unless (configured > src_min + deadline);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (src);
  gst_object_unref (sink);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_free (desc);
}

GST_END_TEST;

static Suite *
funaddetect_suite (void)
{
  Suite *s = suite_create ("funaddetect");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 240);
  tcase_add_unchecked_fixture (tc, make_model, remove_model);
  tcase_add_test (tc, test_element_metadata);
  tcase_add_test (tc, test_messages_per_frame);
  tcase_add_test (tc, test_segment_times);
  tcase_add_test (tc, test_overlay_only_when_on);
  tcase_add_test (tc, test_overlay_toggle_while_playing);
  tcase_add_test (tc, test_overlay_byte_layout);
  tcase_add_test (tc, test_all_formats);
  tcase_add_test (tc, test_yuv_scores_luma);
  tcase_add_test (tc, test_overlay_yuv_layout);
  tcase_add_test (tc, test_caps_change);
  tcase_add_test (tc, test_colour_model_negotiates_rgb);
  tcase_add_test (tc, test_colour_model_swap);
  tcase_add_test (tc, test_growing_yuy2_keeps_reused_map);
  tcase_add_test (tc, test_anomaly_events);
  tcase_add_test (tc, test_anomaly_event_flush);
  tcase_add_test (tc, test_anomaly_event_stop);
  tcase_add_test (tc, test_inference_interval);
  tcase_add_test (tc, test_message_interval);
  tcase_add_test (tc, test_n_threads);
  tcase_add_test (tc, test_model_reload);
  tcase_add_test (tc, test_model_reload_while_streaming);
  tcase_add_test (tc, test_model_reload_failure_keeps_property);
  tcase_add_test (tc, test_region_invalid_warns);
  tcase_add_test (tc, test_start_only_properties_warn);
  tcase_add_test (tc, test_overlay_contour);
  tcase_add_test (tc, test_overlay_both_and_colormap);
  tcase_add_test (tc, test_overlay_nicks);
  tcase_add_test (tc, test_funad_meta);
  tcase_add_test (tc, test_roi_meta_and_boxes);
  tcase_add_test (tc, test_read_meta_example);
  tcase_add_test (tc, test_region);
  tcase_add_test (tc, test_pipeline_scripts);
  tcase_add_test (tc, test_missing_model);
  tcase_add_test (tc, test_corrupt_model);
  tcase_add_test (tc, test_no_model);
  tcase_add_test (tc, test_results_location);
  tcase_add_test (tc, test_results_location_unwritable);
  tcase_add_test (tc, test_results_location_not_json);
  tcase_add_test (tc, test_results_location_partial_line);
  tcase_add_test (tc, test_results_location_blank_first_line);
  tcase_add_test (tc, test_extreme_frame_sizes);
  tcase_add_test (tc, test_unsupported_caps);
  tcase_add_test (tc, test_results_location_full_disk);
  tcase_add_test (tc, test_latency_query);
  tcase_add_test (tc, test_latency_pipeline);

  return s;
}

GST_CHECK_MAIN (funaddetect);
