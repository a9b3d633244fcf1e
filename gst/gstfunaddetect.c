/* GStreamer funad plugin: the funaddetect element
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

/**
 * SECTION:element-funaddetect
 * @title: funaddetect
 *
 * Scores every frame of raw video against a model of what "normal" looks
 * like, learned without labels by `funad-train` (the FUN-AD method). Each
 * frame gets a score (the maximum of an anomaly map over the frame); frames
 * scoring above the threshold are anomalous. The element works in place:
 * #GstFunadDetect:overlay draws a coloured heat map of the anomaly map over
 * the frame (heatmap), the outlines of the regions above the threshold
 * (contour) or both; with none the pixels pass through untouched.
 *
 * A model with a grey backbone (builtin) reads every format as grey: packed
 * RGB from its colour, GRAY8 as it is, the Y'CbCr formats I420, NV12 and
 * YUY2 from their luma plane. A model with a colour backbone (pretrained)
 * reads RGB, as funad-train fed it: while one is loaded, the sink pad offers
 * a negotiation that can have one only the packed RGB formats, so that a
 * videoconvert before the element converts; caps that exclude RGB (a
 * capsfilter fixing GRAY8, say) are still taken and scored from their
 * brightness alone, with a warning posted once. Changing the model between
 * the two kinds while playing asks upstream to negotiate again. On Y'CbCr the
 * heat colours are converted to BT.601 and blended into the luma and the
 * chroma at the chroma's subsampling. Caps may change mid-stream (size or
 * format); the next frame follows them.
 *
 * The heat map's colour ramp runs from 0.5 × threshold (transparent) to
 * 1.5 × threshold (hottest colour, drawn at the full #GstFunadDetect:alpha):
 * regions near the threshold show faintly, clear anomalies show strongly.
 *
 * ## QoS
 *
 * QoS is off: an analyzer reports on every frame, and dropping late frames
 * would leave them unscored with no message. To save CPU on a live source
 * use #GstFunadDetect:inference-interval (frames in between are passed on
 * with the last score and map) or drop frames upstream (videorate, a leaky
 * queue).
 *
 * ## Latency
 *
 * Each frame is scored in the streaming thread before it is pushed on, so it
 * leaves the element later than it came. The element measures this: a
 * LATENCY query through it returns upstream's latency plus the time one
 * scored frame takes (a maximum over the recent ones, fading slowly; 0
 * before the first frame), and it posts a LATENCY message when it has a
 * first measurement and whenever that changes by more than a fifth, so a
 * live pipeline redistributes its latency and a synchronised sink does not
 * find the frames late. The measurement starts afresh at each start. In a
 * live pipeline put a queue after the element: a synchronised sink holds
 * each frame until its time, and without a queue the element waits with it.
 *
 * ## Messages
 *
 * For every frame (scored or not, see `scored`) the element posts an element
 * message named `funad` on the bus. The structure contains:
 *
 * * #guint64 `timestamp`: the PTS of the buffer, or
 *   GST_CLOCK_TIME_NONE if it has none.
 * * #guint64 `stream-time`: the stream time of the buffer, from the segment
 *   (GST_CLOCK_TIME_NONE if unknown). Applications use this to seek.
 * * #guint64 `running-time`: the running time of the buffer, from the segment
 *   (GST_CLOCK_TIME_NONE if unknown). Applications use this to synchronise
 *   with the pipeline clock.
 * * #guint64 `duration`: the duration of the buffer, or GST_CLOCK_TIME_NONE.
 * * #guint64 `frame`: the number of the frame among those this element saw
 *   (scored or not) since it last went from READY to PAUSED, counting from 0.
 * * #gdouble `score`: the frame's anomaly score (maximum of the anomaly map).
 * * #gdouble `threshold`: the threshold in effect: the
 *   #GstFunadDetect:threshold property, or the model's own threshold when the
 *   property is negative.
 * * #gboolean `anomaly`: whether `score` > `threshold`.
 * * #gboolean `scored`: whether this frame was scored; FALSE when
 *   #GstFunadDetect:inference-interval made it reuse the last score and map.
 * * #GstValueList `boxes`: one #GstStructure `box` per 8-connected region of
 *   the anomaly map above the threshold, with #guint `x`, `y`, `width`,
 *   `height` (frame pixels) and #gdouble `score` (the region's peak); empty
 *   when the frame is normal.
 *
 * #GstFunadDetect:post-messages turns these messages off and
 * #GstFunadDetect:message-interval thins them to every Nth frame.
 *
 * With #GstFunadDetect:roi-meta on, the same boxes are attached to the
 * buffer as #GstVideoRegionOfInterestMeta of type "anomaly", each with a
 * parameter structure `funad` holding the `score`. With
 * #GstFunadDetect:attach-meta on, a GstFunadMeta (gstfunadmeta.h) carries
 * the score, threshold, anomaly flag and a copy of the anomaly map (on a
 * frame #GstFunadDetect:inference-interval skipped: the last scored frame's,
 * as the `scored` field of the message says).
 *
 * When frames turn anomalous and back the element posts `funad-event`
 * element messages (regardless of #GstFunadDetect:post-messages). An anomaly
 * begins once #GstFunadDetect:min-anomaly-frames consecutive frames are
 * anomalous and ends once as many consecutive frames are normal; EOS,
 * flushes and stopping (the element going to READY or NULL without EOS) end
 * one in progress. The structure contains:
 *
 * * #gchararray `type`: "begin" or "end".
 * * #guint64 `timestamp`, `stream-time`, `running-time`: of the first frame
 *   of the run that began or ended the anomaly (when EOS, a flush or a stop
 *   ends it with no such run: the end of the last frame before it, its
 *   timestamp plus its duration).
 * * #guint64 `frame`: the number of that frame (when EOS, a flush or a stop
 *   ends the anomaly with no such run: of the last frame before it, an
 *   anomalous one), as in the `funad` messages and the results file.
 * * #gdouble `peak-score`: the highest score of the anomaly so far.
 *
 * When #GstFunadDetect:results-location is set, the same facts are appended
 * to that file, one JSON object per line:
 * `{"frame":N,"pts":ns,"running_time":ns,"score":S,"threshold":T,"anomaly":B,"scored":B}`
 * (unknown times are written as `null`). A non-empty file whose first line is
 * not a complete JSON object (the model, the input video or a pretty-printed
 * JSON report, named by mistake) is refused at the start, untouched. When the
 * file does not end with a newline (an earlier run stopped mid-line) the first
 * record starts a new line.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -m filesrc location=line.mp4 ! decodebin ! videoconvert ! \
 *     funaddetect model=line.safetensors ! videoconvert ! autovideosink
 * ]| Shows the video with the heat map drawn over it and prints the `funad`
 * messages.
 * |[
 * gst-launch-1.0 filesrc location=line.mp4 ! decodebin ! videoconvert ! \
 *     funaddetect model=line.safetensors overlay=none results-location=scores.jsonl ! \
 *     fakesink
 * ]| Scores a recording as fast as possible and writes one JSON line per frame.
 */

#include <errno.h>
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "gstfunaddetect.h"
#include "gstfunadmeta-private.h"

GST_DEBUG_CATEGORY_STATIC (gst_funad_detect_debug);
#define GST_CAT_DEFAULT gst_funad_detect_debug

#define DEFAULT_MODEL NULL
#define DEFAULT_THRESHOLD -1.0
#define DEFAULT_OVERLAY GST_FUNAD_DETECT_OVERLAY_HEATMAP
#define DEFAULT_COLORMAP FUNAD_COLORMAP_INFERNO
#define DEFAULT_ALPHA 0.5
#define DEFAULT_RESULTS_LOCATION NULL
#define DEFAULT_INFERENCE_INTERVAL 1
#define DEFAULT_N_THREADS 0
#define DEFAULT_POST_MESSAGES TRUE
#define DEFAULT_MESSAGE_INTERVAL 1
#define DEFAULT_MIN_ANOMALY_FRAMES 1
#define DEFAULT_ATTACH_META FALSE
#define DEFAULT_ROI_META FALSE

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_THRESHOLD,
  PROP_OVERLAY,
  PROP_ALPHA,
  PROP_RESULTS_LOCATION,
  PROP_INFERENCE_INTERVAL,
  PROP_POST_MESSAGES,
  PROP_MESSAGE_INTERVAL,
  PROP_MIN_ANOMALY_FRAMES,
  PROP_COLORMAP,
  PROP_ATTACH_META,
  PROP_ROI_META,
  PROP_REGION,
  PROP_N_THREADS,
};

GType
gst_funad_detect_overlay_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_FUNAD_DETECT_OVERLAY_NONE, "Draw nothing", "none"},
    {GST_FUNAD_DETECT_OVERLAY_HEATMAP, "Heat map", "heatmap"},
    {GST_FUNAD_DETECT_OVERLAY_CONTOUR,
        "Outline of the regions above the threshold", "contour"},
    {GST_FUNAD_DETECT_OVERLAY_BOTH, "Heat map and outline", "both"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstFunadDetectOverlay", values);

    g_once_init_leave (&type, t);
  }
  return type;
}

GType
gst_funad_detect_colormap_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {FUNAD_COLORMAP_INFERNO, "Inferno (black, purple, orange, yellow)",
        "inferno"},
    {FUNAD_COLORMAP_VIRIDIS, "Viridis (purple, teal, green, yellow)",
        "viridis"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstFunadDetectColormap", values);

    g_once_init_leave (&type, t);
  }
  return type;
}

/* 8-bit packed formats whose colour bytes a FunadImage can describe, and
 * 8-bit Y'CbCr formats, scored from their luma */
#define FUNAD_DETECT_RGB_FORMATS \
    "RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR"
#define FUNAD_DETECT_FORMATS \
    "{ " FUNAD_DETECT_RGB_FORMATS ", GRAY8, I420, NV12, YUY2 }"

/* what a model with a colour backbone is offered when upstream can send it */
static GstStaticCaps rgb_caps =
GST_STATIC_CAPS ("video/x-raw, format=(string){ " FUNAD_DETECT_RGB_FORMATS
    " }");

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (FUNAD_DETECT_FORMATS)));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (FUNAD_DETECT_FORMATS)));

/* Processing latency (see gst_funad_detect_query()) and the anomaly events'
 * last frame; kept here, beside the instance structure of the header. */
typedef struct
{
  /* object lock: latency queries come from any thread. latency: a decaying
   * maximum of the time to process one scored frame, NONE until one was;
   * reported: the latency last announced or answered, NONE if none yet */
  GstClockTime latency;
  GstClockTime reported;
  /* streaming thread only: the number of the last frame processed */
  guint64 last_frame;
} GstFunadDetectPrivate;

/* The estimate loses 1/LATENCY_DECAY of itself per scored frame, so an
 * outlier (the first frame warming up, a busy moment) fades in a few
 * seconds. It is announced when it differs from the latency last reported
 * by more than 1/LATENCY_CHANGE of the smaller of the two and by more than
 * LATENCY_MIN_CHANGE when it grows (frames would be late), and when it has
 * shrunk to less than 1/LATENCY_SHRINK of it (frames would wait longer than
 * they need to; in a pipeline with no queue after the element that wait
 * also stalls the scoring). Shrinking needs the larger change so that a
 * busy machine's ups and downs do not make the pipeline recompute its
 * latency every few seconds. */
#define LATENCY_DECAY 32
#define LATENCY_CHANGE 5
#define LATENCY_SHRINK 2
#define LATENCY_MIN_CHANGE GST_MSECOND

#define gst_funad_detect_parent_class parent_class
G_DEFINE_TYPE_WITH_PRIVATE (GstFunadDetect, gst_funad_detect,
    GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (funaddetect, "funaddetect", GST_RANK_NONE,
    GST_TYPE_FUNAD_DETECT);

static void gst_funad_detect_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_funad_detect_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static void gst_funad_detect_finalize (GObject * object);
static gboolean gst_funad_detect_start (GstBaseTransform * trans);
static gboolean gst_funad_detect_stop (GstBaseTransform * trans);
static gboolean gst_funad_detect_set_info (GstVideoFilter * filter,
    GstCaps * incaps, GstVideoInfo * in_info, GstCaps * outcaps,
    GstVideoInfo * out_info);
static gboolean gst_funad_detect_sink_event (GstBaseTransform * trans,
    GstEvent * event);
static gboolean gst_funad_detect_query (GstBaseTransform * trans,
    GstPadDirection direction, GstQuery * query);
static GstFlowReturn gst_funad_detect_transform_frame_ip (GstVideoFilter *
    filter, GstVideoFrame * frame);
static void finish_anomaly_event (GstFunadDetect * self);

static void
gst_funad_detect_class_init (GstFunadDetectClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_funad_detect_debug, "funaddetect", 0,
      "funad anomaly detector");

  gobject_class->set_property = gst_funad_detect_set_property;
  gobject_class->get_property = gst_funad_detect_get_property;
  gobject_class->finalize = gst_funad_detect_finalize;

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Model file written by funad-train (required; read when the element "
          "goes from READY to PAUSED). Set while PAUSED or PLAYING, the new "
          "file is loaded at once and replaces the model between two frames; "
          "if it cannot be loaded the current model stays, the property "
          "reads back its path again and a warning is posted. Default: NULL",
          DEFAULT_MODEL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_double ("threshold", "Threshold",
          "Frame score above which a frame is anomalous; a value from -1 up to "
          "(not including) 0 means the model's own threshold. Range: -1 to max "
          "double, default: -1 (the model's)",
          -1.0, G_MAXDOUBLE, DEFAULT_THRESHOLD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_OVERLAY,
      g_param_spec_enum ("overlay", "Overlay",
          "What to draw over the video: none (the pixels are not touched), "
          "heatmap (a heat map of the anomaly map), contour (the outline of "
          "the regions above the threshold) or both (it was a boolean before: "
          "use none for false, heatmap for true). Default: heatmap",
          GST_TYPE_FUNAD_DETECT_OVERLAY, DEFAULT_OVERLAY,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_COLORMAP,
      g_param_spec_enum ("colormap", "Colour map",
          "Colour map of the heat map and of the contour (its hottest colour); "
          "both are perceptually uniform. Default: inferno",
          GST_TYPE_FUNAD_DETECT_COLORMAP, DEFAULT_COLORMAP,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_ALPHA,
      g_param_spec_double ("alpha", "Alpha",
          "Opacity of the hottest heat-map colour (cooler ones are fainter). "
          "Range: 0 to 1, default: 0.5",
          0.0, 1.0, DEFAULT_ALPHA,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_RESULTS_LOCATION,
      g_param_spec_string ("results-location", "Results location",
          "File to append one JSON line per frame to "
          "({\"frame\",\"pts\",\"running_time\",\"score\",\"threshold\","
          "\"anomaly\",\"scored\"}); NULL writes no file; a file that holds "
          "something else (the model, a video) is refused. Opened at the start: set while "
          "PAUSED or PLAYING it takes effect at the next start (a warning "
          "says so). Default: NULL",
          DEFAULT_RESULTS_LOCATION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class, PROP_INFERENCE_INTERVAL,
      g_param_spec_uint ("inference-interval", "Inference interval",
          "Score every Nth frame only (frames 0, N, 2N, ...); the frames "
          "between reuse the last score and anomaly map, to save CPU. "
          "Range: 1 to max uint, default: 1 (every frame)",
          1, G_MAXUINT, DEFAULT_INFERENCE_INTERVAL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_N_THREADS,
      g_param_spec_uint ("n-threads", "Threads",
          "Threads that score each frame: the frame is cut into N bands "
          "scored at once by the element's own threads (a pretrained "
          "backbone shares each of its layers among them), and OpenBLAS is "
          "made single-threaded for the whole process (its own thread pool, "
          "spinning beside the pipeline's threads, ran at half the frame "
          "rate). 0: one per core, at most 8 and at most a cgroup CPU "
          "quota's cores (a container's limit). In a process running several "
          "funaddetect elements give each one its share of the cores. "
          "Takes effect when a model is loaded: set while PAUSED or PLAYING, "
          "at the next start or model change (a warning says so). "
          "Range: 0 to 64, default: 0 (one per core, at most 8)",
          0, FUNAD_MAX_THREADS, DEFAULT_N_THREADS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
          "Post the per-frame \"funad\" element message (the \"funad-event\" "
          "messages are posted regardless). Default: true",
          DEFAULT_POST_MESSAGES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_MESSAGE_INTERVAL,
      g_param_spec_uint ("message-interval", "Message interval",
          "Post the \"funad\" message for every Nth frame only (frames 0, N, "
          "2N, ...). Range: 1 to max uint, default: 1 (every frame)",
          1, G_MAXUINT, DEFAULT_MESSAGE_INTERVAL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_MIN_ANOMALY_FRAMES,
      g_param_spec_uint ("min-anomaly-frames", "Minimum anomaly frames",
          "Hysteresis of the \"funad-event\" messages: an anomaly begins after "
          "this many consecutive anomalous frames and ends after this many "
          "consecutive normal ones. Range: 1 to max uint, default: 1",
          1, G_MAXUINT, DEFAULT_MIN_ANOMALY_FRAMES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_ATTACH_META,
      g_param_spec_boolean ("attach-meta", "Attach meta",
          "Attach a GstFunadMeta (score, threshold, anomaly flag, a copy of the "
          "anomaly map, the frame size and region it covers, and whether the "
          "frame was scored; see gstfunadmeta.h) to every frame. Default: false",
          DEFAULT_ATTACH_META,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_ROI_META,
      g_param_spec_boolean ("roi-meta", "ROI meta",
          "Attach a GstVideoRegionOfInterestMeta (type \"anomaly\") per "
          "connected region of the anomaly map above the threshold, with a "
          "\"funad\" parameter structure holding the region's peak \"score\". "
          "Default: false",
          DEFAULT_ROI_META,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_REGION,
      g_param_spec_string ("region", "Region",
          "Inspect only this rectangle of the frame, \"x,y,width,height\" in "
          "pixels (clipped to the frame); the score, map, overlay and boxes "
          "cover it alone. NULL or \"\" (or a rectangle outside the frame): "
          "the whole frame. An invalid value (not four whole numbers, x, y "
          ">= 0, width, height > 0, each at most 2147483647) scores the whole "
          "frame and posts a warning (at once if started, else at the start). "
          "Default: NULL",
          NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_set_static_metadata (element_class,
      "FUN-AD anomaly detector", "Filter/Analyzer/Video",
      "Scores each video frame for visual anomalies with a model learned "
      "without labels (FUN-AD), posts a \"funad\" element message per frame "
      "with the score, threshold and anomaly flag, optionally appends them to "
      "a JSON-lines file, and can blend a heat map of where the anomaly is "
      "over the frame", "funad contributors");

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_funad_detect_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_funad_detect_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_funad_detect_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_funad_detect_query);
  /* Set explicitly: passthrough (overlay off) must still see every frame. */
  trans_class->transform_ip_on_passthrough = TRUE;

  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_funad_detect_set_info);
  filter_class->transform_frame_ip =
      GST_DEBUG_FUNCPTR (gst_funad_detect_transform_frame_ip);
}

static void
gst_funad_detect_init (GstFunadDetect * self)
{
  GstFunadDetectPrivate *priv = gst_funad_detect_get_instance_private (self);

  priv->latency = priv->reported = GST_CLOCK_TIME_NONE;
  self->model_location = g_strdup (DEFAULT_MODEL);
  self->threshold = DEFAULT_THRESHOLD;
  self->overlay = DEFAULT_OVERLAY;
  self->colormap = DEFAULT_COLORMAP;
  self->alpha = DEFAULT_ALPHA;
  self->results_location = g_strdup (DEFAULT_RESULTS_LOCATION);
  self->inference_interval = DEFAULT_INFERENCE_INTERVAL;
  self->n_threads = DEFAULT_N_THREADS;
  self->post_messages = DEFAULT_POST_MESSAGES;
  self->message_interval = DEFAULT_MESSAGE_INTERVAL;
  self->min_anomaly_frames = DEFAULT_MIN_ANOMALY_FRAMES;
  self->attach_meta = DEFAULT_ATTACH_META;
  self->roi_meta = DEFAULT_ROI_META;

  /* An analyzer reports on every frame: QoS frame dropping would silently
   * leave frames unscored. A live pipeline can drop upstream instead. */
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), FALSE);
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self),
      DEFAULT_OVERLAY == GST_FUNAD_DETECT_OVERLAY_NONE);
}

static void
gst_funad_detect_finalize (GObject * object)
{
  GstFunadDetect *self = GST_FUNAD_DETECT (object);

  g_free (self->model_location);
  g_free (self->results_location);
  g_free (self->results_path);
  g_free (self->bad_region);
  g_free (self->luma_copy);
  g_free (self->last_map);
  /* stop() normally released these; be safe if it never ran */
  g_clear_pointer (&self->pending_scorer, funad_scorer_free);
  g_clear_pointer (&self->scorer, funad_scorer_free);
  g_clear_pointer (&self->model, funad_model_unref);
  if (self->results)
    fclose (self->results);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

/* Passthrough (frames mapped read-only, buffers never copied) when nothing
 * is drawn or attached. gst_base_transform_set_passthrough() takes the
 * object lock itself, so it is called outside ours. */
static void
update_passthrough (GstFunadDetect * self)
{
  gboolean passthrough;

  GST_OBJECT_LOCK (self);
  passthrough = self->overlay == GST_FUNAD_DETECT_OVERLAY_NONE &&
      !self->attach_meta && !self->roi_meta;
  GST_OBJECT_UNLOCK (self);
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), passthrough);
}

/* A colour model scoring a format with no colour would see brightness
 * alone (three equal planes): say so on the bus, once per model. */
static void
warn_no_colour (GstFunadDetect * self, const gchar * format)
{
  gboolean warn;

  GST_OBJECT_LOCK (self);
  warn = self->colour_model && !self->warned_no_colour;
  self->warned_no_colour |= warn;
  GST_OBJECT_UNLOCK (self);
  if (warn)
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("The model reads colour, but %s frames are scored from their "
            "brightness alone: let an RGB format reach funaddetect (a "
            "videoconvert right before it, no caps that exclude RGB).",
            format), (NULL));
}

/* Whether @caps (fixed) are a packed RGB format. */
static gboolean
caps_are_rgb (GstCaps * caps)
{
  GstCaps *rgb = gst_static_caps_get (&rgb_caps);
  gboolean is_rgb = gst_caps_can_intersect (caps, rgb);

  gst_caps_unref (rgb);
  return is_rgb;
}

/* Narrows the caps the sink pad offers to their packed RGB part, when they
 * have one: a colour model reads RGB, and a videoconvert upstream otherwise
 * picks the format nearest its input (I420 from a decoder), of which only
 * the luma would be scored. Takes @caps, returns the caps to offer. */
static GstCaps *
prefer_rgb (GstCaps * caps)
{
  GstCaps *rgb = gst_static_caps_get (&rgb_caps);
  GstCaps *only = gst_caps_intersect_full (caps, rgb, GST_CAPS_INTERSECT_FIRST);

  gst_caps_unref (rgb);
  if (gst_caps_is_empty (only)) {
    /* caps fixed to another format: taken, set_info() warns */
    gst_caps_unref (only);
    return caps;
  }
  gst_caps_unref (caps);
  return only;
}

/* A colour model replaced a grey one while the frames arrive in a format
 * with no colour: the renegotiation asked for brings RGB only if upstream
 * and downstream both allow it. If they do not, the caps stay as they are,
 * set_info() is not called again, and the warning must come from here. */
static void
check_colour_reachable (GstFunadDetect * self)
{
  GstPad *sinkpad = GST_BASE_TRANSFORM_SINK_PAD (self);
  GstCaps *current = gst_pad_get_current_caps (sinkpad);
  GstCaps *rgb, *ours, *theirs = NULL;

  if (current == NULL || caps_are_rgb (current)) {
    gst_clear_caps (&current);
    return;
  }
  rgb = gst_static_caps_get (&rgb_caps);
  ours = gst_pad_query_caps (sinkpad, rgb);
  if (!gst_caps_is_empty (ours))
    theirs = gst_pad_peer_query_caps (sinkpad, ours);
  if (theirs == NULL || gst_caps_is_empty (theirs)) {
    GstVideoInfo info;

    warn_no_colour (self, gst_video_info_from_caps (&info, current) ?
        GST_VIDEO_INFO_NAME (&info) : "these");
  }
  gst_clear_caps (&theirs);
  gst_caps_unref (ours);
  gst_caps_unref (rgb);
  gst_caps_unref (current);
}

/* The n-threads property's value as a thread count: 0 is one per core, at most 8, as
 * funad-eval and funad-review score (the same count: the same score to the bit). */
static int
scoring_threads (guint n_threads)
{
  return n_threads > 0 ? (int) n_threads : funad_scorer_auto_threads ();
}

/* Loads @location while streaming: in the calling thread, with no lock held
 * (loading takes a while), then hands the scorer to the streaming thread. A
 * file that does not load leaves the current model in place: returns FALSE. */
static gboolean
reload_model (GstFunadDetect * self, const gchar * location)
{
  FunadModel *model;
  FunadScorer *scorer, *old = NULL;
  GError *err = NULL;
  guint n_threads;
  gboolean colour, recolour = FALSE;

  if (location == NULL || location[0] == '\0') {
    GST_ELEMENT_WARNING (self, RESOURCE, NOT_FOUND,
        ("No model file given; keeping the current model."), (NULL));
    return FALSE;
  }
  model = funad_model_load (location, &err);
  if (model == NULL) {
    GST_ELEMENT_WARNING (self, RESOURCE, OPEN_READ,
        ("Could not load model file \"%s\", keeping the current model: %s",
            location, err->message), (NULL));
    g_clear_error (&err);
    return FALSE;
  }
  scorer = funad_scorer_new (model);
  funad_model_unref (model);
  GST_OBJECT_LOCK (self);
  n_threads = self->n_threads;
  GST_OBJECT_UNLOCK (self);
  funad_scorer_set_threads (scorer, scoring_threads (n_threads));

  colour = funad_model_channels (funad_scorer_get_model (scorer)) == 3;
  GST_OBJECT_LOCK (self);
  if (self->started) {
    old = self->pending_scorer;
    self->pending_scorer = scorer;
    recolour = self->colour_model != colour;
    self->colour_model = colour;
    self->warned_no_colour = FALSE;
  } else {
    /* stopped meanwhile: the next start loads model_location anyway */
    old = scorer;
  }
  GST_OBJECT_UNLOCK (self);
  if (old)
    funad_scorer_free (old);
  if (recolour) {
    /* the formats on offer changed: upstream (a videoconvert) picks again */
    gst_base_transform_reconfigure_sink (GST_BASE_TRANSFORM (self));
    if (colour)
      check_colour_reachable (self);
  }
  GST_INFO_OBJECT (self, "loaded model %s, to be used from the next frame",
      location);
  return TRUE;
}

/* An invalid region scores the whole frame; say so on the bus, where an
 * application sees it (a g_warning only reaches stderr). */
static void
post_bad_region (GstFunadDetect * self, const gchar * region)
{
  GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
      ("Invalid region \"%s\" (expected \"x,y,width,height\": four whole "
          "numbers up to %d, x, y >= 0 and width, height > 0); scoring the "
          "whole frame.", region, G_MAXINT), (NULL));
}

/* Parses "x,y,width,height" strictly: exactly four decimal numbers (spaces
 * around them allowed), each in range. A number past G_MAXINT or trailing
 * text is refused, never wrapped or ignored, so the region scored is the
 * region the user wrote. */
static gboolean
parse_region (const gchar * str, gint r[4])
{
  gchar **parts = g_strsplit (str, ",", -1);
  gboolean ok = g_strv_length (parts) == 4;
  guint i;

  for (i = 0; ok && i < 4; i++) {
    gint64 v;

    /* x and y from 0, width and height from 1 */
    ok = g_ascii_string_to_signed (g_strstrip (parts[i]), 10, i < 2 ? 0 : 1,
        G_MAXINT, &v, NULL);
    r[i] = (gint) v;
  }
  g_strfreev (parts);
  return ok;
}

/* Properties read only at the start: changed while started, they would
 * read back a value not in use, so warn that it waits for the next start. */
static void
post_applies_at_start (GstFunadDetect * self, const gchar * property,
    const gchar * when)
{
  GST_ELEMENT_WARNING (self, CORE, STATE_CHANGE,
      ("\"%s\" was changed while running; it takes effect %s.", property,
          when), (NULL));
}

static void
gst_funad_detect_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstFunadDetect *self = GST_FUNAD_DETECT (object);

  switch (prop_id) {
    case PROP_MODEL:{
      const gchar *location = g_value_get_string (value);
      gchar *old;
      gboolean started;

      GST_OBJECT_LOCK (self);
      old = self->model_location;
      self->model_location = g_strdup (location);
      started = self->started;
      GST_OBJECT_UNLOCK (self);
      if (started && !reload_model (self, location)) {
        /* the property names the model in use, so that a restart reloads
         * it rather than failing on the bad file (unless set again since) */
        GST_OBJECT_LOCK (self);
        if (g_strcmp0 (self->model_location, location) == 0) {
          g_free (self->model_location);
          self->model_location = g_steal_pointer (&old);
        }
        GST_OBJECT_UNLOCK (self);
      }
      g_free (old);
      break;
    }
    case PROP_THRESHOLD:
      GST_OBJECT_LOCK (self);
      self->threshold = g_value_get_double (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_OVERLAY:{
      GST_OBJECT_LOCK (self);
      self->overlay = g_value_get_enum (value);
      GST_OBJECT_UNLOCK (self);
      update_passthrough (self);
      break;
    }
    case PROP_ATTACH_META:
      GST_OBJECT_LOCK (self);
      self->attach_meta = g_value_get_boolean (value);
      GST_OBJECT_UNLOCK (self);
      update_passthrough (self);
      break;
    case PROP_REGION:{
      const gchar *str = g_value_get_string (value);
      gint r[4] = { 0, 0, 0, 0 };
      gboolean bad, started;

      bad = str != NULL && str[0] != '\0' && !parse_region (str, r);
      if (bad) {
        /* the whole frame, as the warning says */
        memset (r, 0, sizeof (r));
        GST_WARNING_OBJECT (self, "invalid region \"%s\"", str);
      }
      GST_OBJECT_LOCK (self);
      memcpy (self->region, r, sizeof (r));
      /* kept for start(): in NULL there may be no bus to post on yet */
      g_free (self->bad_region);
      self->bad_region = bad ? g_strdup (str) : NULL;
      started = self->started;
      GST_OBJECT_UNLOCK (self);
      if (bad && started)
        post_bad_region (self, str);
      break;
    }
    case PROP_ROI_META:
      GST_OBJECT_LOCK (self);
      self->roi_meta = g_value_get_boolean (value);
      GST_OBJECT_UNLOCK (self);
      update_passthrough (self);
      break;
    case PROP_COLORMAP:
      GST_OBJECT_LOCK (self);
      self->colormap = g_value_get_enum (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_ALPHA:
      GST_OBJECT_LOCK (self);
      self->alpha = g_value_get_double (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_RESULTS_LOCATION:{
      gboolean warn;

      GST_OBJECT_LOCK (self);
      warn = self->started && g_strcmp0 (self->results_location,
          g_value_get_string (value)) != 0;
      g_free (self->results_location);
      self->results_location = g_value_dup_string (value);
      GST_OBJECT_UNLOCK (self);
      /* the file is opened in start() */
      if (warn)
        post_applies_at_start (self, "results-location", "at the next start");
      break;
    }
    case PROP_INFERENCE_INTERVAL:
      GST_OBJECT_LOCK (self);
      self->inference_interval = g_value_get_uint (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_N_THREADS:{
      gboolean warn;

      GST_OBJECT_LOCK (self);
      warn = self->started && self->n_threads != g_value_get_uint (value);
      self->n_threads = g_value_get_uint (value);
      GST_OBJECT_UNLOCK (self);
      /* the scorer's threads are set when a model is loaded */
      if (warn)
        post_applies_at_start (self, "n-threads",
            "when a model is next loaded (the next start or model change)");
      break;
    }
    case PROP_POST_MESSAGES:
      GST_OBJECT_LOCK (self);
      self->post_messages = g_value_get_boolean (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MESSAGE_INTERVAL:
      GST_OBJECT_LOCK (self);
      self->message_interval = g_value_get_uint (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MIN_ANOMALY_FRAMES:
      GST_OBJECT_LOCK (self);
      self->min_anomaly_frames = g_value_get_uint (value);
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_funad_detect_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstFunadDetect *self = GST_FUNAD_DETECT (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, self->model_location);
      break;
    case PROP_THRESHOLD:
      g_value_set_double (value, self->threshold);
      break;
    case PROP_OVERLAY:
      g_value_set_enum (value, self->overlay);
      break;
    case PROP_COLORMAP:
      g_value_set_enum (value, self->colormap);
      break;
    case PROP_ATTACH_META:
      g_value_set_boolean (value, self->attach_meta);
      break;
    case PROP_ROI_META:
      g_value_set_boolean (value, self->roi_meta);
      break;
    case PROP_REGION:
      if (self->region[2] > 0)
        g_value_take_string (value, g_strdup_printf ("%d,%d,%d,%d",
                self->region[0], self->region[1], self->region[2],
                self->region[3]));
      else
        g_value_set_string (value, NULL);
      break;
    case PROP_ALPHA:
      g_value_set_double (value, self->alpha);
      break;
    case PROP_RESULTS_LOCATION:
      g_value_set_string (value, self->results_location);
      break;
    case PROP_INFERENCE_INTERVAL:
      g_value_set_uint (value, self->inference_interval);
      break;
    case PROP_N_THREADS:
      g_value_set_uint (value, self->n_threads);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean (value, self->post_messages);
      break;
    case PROP_MESSAGE_INTERVAL:
      g_value_set_uint (value, self->message_interval);
      break;
    case PROP_MIN_ANOMALY_FRAMES:
      g_value_set_uint (value, self->min_anomaly_frames);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* Forgets the reused map and any anomaly event in progress. */
static void
reset_stream_state (GstFunadDetect * self)
{
  self->have_last = FALSE;
  self->in_event = FALSE;
  self->run = 0;
  self->event_peak = 0.0;
  self->last_end = GST_CLOCK_TIME_NONE;
}

/* A results line is a few hundred bytes: a longer first line is not one. */
#define RESULTS_FIRST_LINE_MAX 65536

/* Whether @head (@len bytes, NUL-terminated) holds blank lines only, or its
 * first line with text holds one complete JSON object. */
static gboolean
first_line_is_json_object (const gchar * head, gsize len)
{
  gsize start = 0;
  const gchar *nl;
  JsonParser *parser;
  JsonNode *root;
  gboolean ok;

  /* blank lines first (`echo > results.jsonl` makes one) hold nothing: the
   * first line with text is the one that says what the file is */
  while (start < len && g_ascii_isspace (head[start]))
    start++;
  if (start == len)
    return len < RESULTS_FIRST_LINE_MAX;
  nl = memchr (head + start, '\n', len - start);
  if (nl == NULL && len == RESULTS_FIRST_LINE_MAX)
    return FALSE;
  parser = json_parser_new ();
  /* an empty parse leaves no root: never asked for its type */
  ok = json_parser_load_from_data (parser, head + start,
      (gssize) ((nl != NULL ? nl : head + len) - (head + start)), NULL) &&
      (root = json_parser_get_root (parser)) != NULL &&
      JSON_NODE_HOLDS_OBJECT (root);
  g_object_unref (parser);
  return ok;
}

/* Whether results may be appended to path: it is missing, empty, or its
 * first line is a complete JSON object, as a results file of an earlier run
 * starts. Pointing results-location by mistake at the model, the input video
 * or a pretty-printed JSON report (its first line a lone "{") must not
 * append text to them. *newline_first says the file does not end with a
 * newline (an earlier run stopped mid-line): the next record must not be
 * glued to that line. */
static gboolean
results_file_appendable (const gchar * path, gboolean * newline_first)
{
  GStatBuf st;
  FILE *f;
  gchar *head;
  gsize len;
  gboolean ok;

  *newline_first = FALSE;
  /* only a regular file is read: opening a FIFO to read would wait for a writer */
  if (g_stat (path, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size == 0)
    return TRUE;                /* missing, empty or special: opening it says what fails */
  f = g_fopen (path, "rb");
  if (f == NULL)
    return TRUE;
  head = g_malloc (RESULTS_FIRST_LINE_MAX + 1);
  len = fread (head, 1, RESULTS_FIRST_LINE_MAX, f);
  head[len] = '\0';
  ok = len == 0 || first_line_is_json_object (head, len);
  if (ok && len > 0 && fseek (f, -1, SEEK_END) == 0)
    *newline_first = fgetc (f) != '\n';
  fclose (f);
  g_free (head);
  return ok;
}

static gboolean
gst_funad_detect_start (GstBaseTransform * trans)
{
  GstFunadDetect *self = GST_FUNAD_DETECT (trans);
  GstFunadDetectPrivate *priv = gst_funad_detect_get_instance_private (self);
  gchar *model_location, *results_location, *bad_region;
  FunadModel *model;
  FunadScorer *scorer;
  FILE *results = NULL;
  GError *err = NULL;
  guint n_threads;
  gboolean newline_first = FALSE;

  GST_OBJECT_LOCK (self);
  model_location = g_strdup (self->model_location);
  results_location = g_strdup (self->results_location);
  n_threads = self->n_threads;
  GST_OBJECT_UNLOCK (self);

  if (model_location == NULL || model_location[0] == '\0') {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("No model file given: set the \"model\" property to a file written "
            "by funad-train."), (NULL));
    goto fail;
  }

  model = funad_model_load (model_location, &err);
  if (model == NULL) {
    /* core's messages already name the file; don't say it twice */
    if (strstr (err->message, model_location) != NULL)
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
          ("Could not load the model: %s", err->message), (NULL));
    else
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
          ("Could not load model file \"%s\": %s", model_location,
              err->message), (NULL));
    g_clear_error (&err);
    goto fail;
  }
  scorer = funad_scorer_new (model);
  funad_scorer_set_threads (scorer, scoring_threads (n_threads));

  if (results_location != NULL && results_location[0] != '\0'
      && !results_file_appendable (results_location, &newline_first)) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
        ("Results file \"%s\" already holds something other than JSON lines "
            "(the model, a video?); not appending to it", results_location),
        (NULL));
    funad_scorer_free (scorer);
    funad_model_unref (model);
    goto fail;
  }
  if (results_location != NULL && results_location[0] != '\0') {
    results = g_fopen (results_location, "a");
    if (results == NULL) {
      int errsv = errno;

      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
          ("Could not open results file \"%s\" for appending: %s",
              results_location, g_strerror (errsv)), (NULL));
      funad_scorer_free (scorer);
      funad_model_unref (model);
      goto fail;
    }
    /* a write error shows at the first record's flush */
    if (newline_first)
      fputc ('\n', results);
  }

  GST_INFO_OBJECT (self, "loaded model %s (input %d, threshold %g)",
      model_location, funad_model_input_size (model),
      funad_model_threshold (model));

  GST_OBJECT_LOCK (self);
  self->model = model;
  self->scorer = scorer;
  self->results = results;
  g_free (self->results_path);
  self->results_path = g_steal_pointer (&results_location);
  self->frame_count = 0;
  self->started = TRUE;
  self->colour_model = funad_model_channels (model) == 3;
  self->warned_no_colour = FALSE;
  /* measured afresh: the model, the machine's load may have changed */
  priv->latency = priv->reported = GST_CLOCK_TIME_NONE;
  bad_region = g_strdup (self->bad_region);
  GST_OBJECT_UNLOCK (self);
  reset_stream_state (self);

  /* once per start, not per frame */
  if (bad_region)
    post_bad_region (self, bad_region);
  g_free (bad_region);
  g_free (model_location);
  return TRUE;

fail:
  g_free (model_location);
  g_free (results_location);
  return FALSE;
}

static gboolean
gst_funad_detect_stop (GstBaseTransform * trans)
{
  GstFunadDetect *self = GST_FUNAD_DETECT (trans);
  GstFunadDetectPrivate *priv = gst_funad_detect_get_instance_private (self);
  FunadScorer *scorer, *pending;
  FunadModel *model;
  FILE *results;

  /* Stopping without EOS (an application setting READY or NULL) ends an
   * anomaly in progress as EOS does, so that every "begin" has its "end".
   * The streaming thread is out of the element by now. */
  finish_anomaly_event (self);

  GST_OBJECT_LOCK (self);
  self->started = FALSE;
  /* no model: every format on offer again */
  self->colour_model = FALSE;
  priv->latency = priv->reported = GST_CLOCK_TIME_NONE;
  pending = g_steal_pointer (&self->pending_scorer);
  scorer = g_steal_pointer (&self->scorer);
  model = g_steal_pointer (&self->model);
  results = g_steal_pointer (&self->results);
  g_clear_pointer (&self->results_path, g_free);
  GST_OBJECT_UNLOCK (self);

  if (pending)
    funad_scorer_free (pending);
  if (scorer)
    funad_scorer_free (scorer);
  if (model)
    funad_model_unref (model);
  if (results && fclose (results) != 0)
    GST_WARNING_OBJECT (self, "closing the results file failed: %s",
        g_strerror (errno));

  return TRUE;
}

static gboolean
gst_funad_detect_set_info (GstVideoFilter * filter, GstCaps * incaps,
    GstVideoInfo * in_info, GstCaps * outcaps, GstVideoInfo * out_info)
{
  GstFunadDetect *self = GST_FUNAD_DETECT (filter);
  const GstVideoFormatInfo *finfo = in_info->finfo;
  FunadImage layout = { 0, };

  if (GST_VIDEO_FORMAT_INFO_DEPTH (finfo, 0) != 8)
    goto unsupported;

  if (GST_VIDEO_FORMAT_INFO_IS_YUV (finfo)) {
    /* scored from the luma alone, as a grey image; YUY2's luma is copied out
     * first since core reads grey with a pixel stride of 1 only */
    layout.pixel_stride = 1;
    self->yuv = TRUE;
    self->copy_luma = GST_VIDEO_FORMAT_INFO_PSTRIDE (finfo, GST_VIDEO_COMP_Y)
        != 1;
  } else if (GST_VIDEO_FORMAT_INFO_N_PLANES (finfo) != 1) {
    goto unsupported;
  } else if (GST_VIDEO_FORMAT_INFO_IS_GRAY (finfo)) {
    layout.pixel_stride = 1;
    self->yuv = self->copy_luma = FALSE;
  } else if (GST_VIDEO_FORMAT_INFO_IS_RGB (finfo)) {
    /* packed RGB: all three components live in plane 0 */
    layout.pixel_stride = GST_VIDEO_FORMAT_INFO_PSTRIDE (finfo, 0);
    layout.r_offset = GST_VIDEO_FORMAT_INFO_POFFSET (finfo, GST_VIDEO_COMP_R);
    layout.g_offset = GST_VIDEO_FORMAT_INFO_POFFSET (finfo, GST_VIDEO_COMP_G);
    layout.b_offset = GST_VIDEO_FORMAT_INFO_POFFSET (finfo, GST_VIDEO_COMP_B);
    self->yuv = self->copy_luma = FALSE;
  } else {
    goto unsupported;
  }
  layout.width = GST_VIDEO_INFO_WIDTH (in_info);
  layout.height = GST_VIDEO_INFO_HEIGHT (in_info);

  GST_DEBUG_OBJECT (self, "%s: pixel stride %d, offsets r %d g %d b %d",
      GST_VIDEO_FORMAT_INFO_NAME (finfo), layout.pixel_stride,
      layout.r_offset, layout.g_offset, layout.b_offset);

  /* the sink pad offered RGB alone if upstream could send it: these caps
   * were forced (a capsfilter, a downstream that takes nothing else) */
  if (layout.pixel_stride == 1)
    warn_no_colour (self, GST_VIDEO_FORMAT_INFO_NAME (finfo));
  self->layout = layout;
  return TRUE;

unsupported:
  GST_ERROR_OBJECT (self, "unsupported format %s",
      GST_VIDEO_FORMAT_INFO_NAME (finfo));
  return FALSE;
}

/* Running or stream time of @ts in the current segment, NONE if unknown. */
static guint64
segment_time (GstBaseTransform * trans, GstClockTime ts, gboolean running)
{
  if (!GST_CLOCK_TIME_IS_VALID (ts) || trans->segment.format != GST_FORMAT_TIME)
    return GST_CLOCK_TIME_NONE;
  if (running)
    return gst_segment_to_running_time (&trans->segment, GST_FORMAT_TIME, ts);
  return gst_segment_to_stream_time (&trans->segment, GST_FORMAT_TIME, ts);
}

/* JSON for a time in ns: a number, or null when unknown. */
static const gchar *
json_time (gchar * buf, gsize len, guint64 t)
{
  if (!GST_CLOCK_TIME_IS_VALID (t))
    return "null";
  g_snprintf (buf, len, "%" G_GUINT64_FORMAT, t);
  return buf;
}

/* JSON for a double, locale-independent; null for NaN/inf (not JSON). */
static const gchar *
json_double (gchar * buf, gsize len, gdouble v)
{
  if (!isfinite (v))
    return "null";
  return g_ascii_formatd (buf, len, "%.9g", v);
}

static gboolean
write_result (GstFunadDetect * self, guint64 frame, guint64 pts,
    guint64 running_time, gdouble score, gdouble threshold, gboolean anomaly,
    gboolean scored)
{
  gchar pts_s[32], rt_s[32], score_s[G_ASCII_DTOSTR_BUF_SIZE],
      thr_s[G_ASCII_DTOSTR_BUF_SIZE];
  int n;

  n = fprintf (self->results,
      "{\"frame\":%" G_GUINT64_FORMAT ",\"pts\":%s,\"running_time\":%s,"
      "\"score\":%s,\"threshold\":%s,\"anomaly\":%s,\"scored\":%s}\n", frame,
      json_time (pts_s, sizeof (pts_s), pts),
      json_time (rt_s, sizeof (rt_s), running_time),
      json_double (score_s, sizeof (score_s), score),
      json_double (thr_s, sizeof (thr_s), threshold),
      anomaly ? "true" : "false", scored ? "true" : "false");
  /* flushed per line: readers can follow the file, a crash loses nothing */
  return n > 0 && fflush (self->results) == 0;
}

/* Fills @image with the frame's pixels as core reads them: packed RGB or
 * grey in place, Y'CbCr as its luma plane (copied out for YUY2). */
typedef struct
{
  int x, y, w, h;
} Rect;

/* Where @rect (in frame pixels) of component @comp starts, and its size in
 * that component's samples (chroma is subsampled). */
static guint8 *
comp_rect (GstVideoFrame * frame, int comp, const Rect * rect, int *w, int *h)
{
  const GstVideoFormatInfo *finfo = frame->info.finfo;
  int ws = GST_VIDEO_FORMAT_INFO_W_SUB (finfo, comp);
  int hs = GST_VIDEO_FORMAT_INFO_H_SUB (finfo, comp);
  int x0 = rect->x >> ws, y0 = rect->y >> hs;

  *w = MAX (1, GST_VIDEO_SUB_SCALE (ws, rect->x + rect->w) - x0);
  *h = MAX (1, GST_VIDEO_SUB_SCALE (hs, rect->y + rect->h) - y0);
  return GST_VIDEO_FRAME_COMP_DATA (frame, comp) +
      (gsize) y0 * GST_VIDEO_FRAME_COMP_STRIDE (frame, comp) +
      (gsize) x0 * GST_VIDEO_FRAME_COMP_PSTRIDE (frame, comp);
}

static void
frame_to_image (GstFunadDetect * self, GstVideoFrame * frame,
    const Rect * rect, FunadImage * image)
{
  *image = self->layout;
  image->width = rect->w;
  image->height = rect->h;
  if (!self->yuv) {
    image->stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
    image->data = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (frame, 0) +
        (gsize) rect->y * image->stride + (gsize) rect->x *
        image->pixel_stride;
  } else if (!self->copy_luma) {
    image->data = comp_rect (frame, GST_VIDEO_COMP_Y, rect, &image->width,
        &image->height);
    image->stride = GST_VIDEO_FRAME_COMP_STRIDE (frame, GST_VIDEO_COMP_Y);
  } else {
    const guint8 *src = comp_rect (frame, GST_VIDEO_COMP_Y, rect,
        &image->width, &image->height);
    int sstride = GST_VIDEO_FRAME_COMP_STRIDE (frame, GST_VIDEO_COMP_Y);
    int pstride = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, GST_VIDEO_COMP_Y);
    gsize size = (gsize) image->width * image->height;
    int x, y;

    if (self->luma_copy_size < size) {
      g_free (self->luma_copy);
      self->luma_copy = g_malloc (size);
      self->luma_copy_size = size;
    }
    for (y = 0; y < image->height; y++) {
      const guint8 *row = src + (gsize) y * sstride;
      guint8 *dst = self->luma_copy + (gsize) y * image->width;

      for (x = 0; x < image->width; x++)
        dst[x] = row[(gsize) x * pstride];
    }
    image->data = self->luma_copy;
    image->stride = image->width;
  }
}

/* Blends one 8-bit component of a frame towards @lut[heat] with the same
 * ramp and opacity as funad_heatmap_blend(), the map resampled to the
 * component's own size (so chroma follows its subsampling). */
static void
blend_component (GstVideoFrame * frame, int comp, const Rect * rect,
    const float *map, int map_size, float lo, float hi, float alpha,
    const guint8 lut[256])
{
  int w, h;
  guint8 *data = comp_rect (frame, comp, rect, &w, &h);
  int stride = GST_VIDEO_FRAME_COMP_STRIDE (frame, comp);
  int pstride = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, comp);
  gboolean step = !(hi > lo);
  float inv_range = step ? 0.0f : 1.0f / (hi - lo);
  float *m = g_new (float, (gsize) w * h);
  int x, y;

  funad_map_resize (map, map_size, map_size, m, w, h);
  for (y = 0; y < h; y++) {
    guint8 *row = data + (gsize) y * stride;
    const float *mrow = m + (gsize) y * w;

    for (x = 0; x < w; x++) {
      guint8 *p = row + (gsize) x * pstride;
      float v = mrow[x], heat, a;

      heat = step ? (v > lo ? 1.0f : 0.0f) : (v - lo) * inv_range;
      if (!(heat > 0.0f))
        continue;
      heat = MIN (heat, 1.0f);
      a = alpha * (0.35f + 0.65f * heat);
      *p = (guint8) CLAMP (lrintf (*p + a * (lut[(int) lrintf (heat * 255)]
                  - *p)), 0, 255);
    }
  }
  g_free (m);
}

/* BT.601, limited range */
static void
rgb_to_ycbcr (const guint8 rgb[3], guint8 * y, guint8 * cb, guint8 * cr)
{
  float r = rgb[0], g = rgb[1], b = rgb[2];

  *y = CLAMP (lrintf (16 + (65.481f * r + 128.553f * g + 24.966f * b) / 255),
      0, 255);
  *cb = CLAMP (lrintf (128 + (-37.797f * r - 74.203f * g + 112.0f * b) /
          255), 0, 255);
  *cr = CLAMP (lrintf (128 + (112.0f * r - 93.786f * g - 18.214f * b) /
          255), 0, 255);
}

/* Sets the pixels of one component on the outline of the regions where the
 * map (resampled to the component's size) exceeds @threshold: inside, with a
 * pixel @width away outside. */
static void
contour_component (GstVideoFrame * frame, int comp, const Rect * rect,
    const float *map, int map_size, float threshold, int width, guint8 value)
{
  int w, h;
  guint8 *data = comp_rect (frame, comp, rect, &w, &h);
  int stride = GST_VIDEO_FRAME_COMP_STRIDE (frame, comp);
  int pstride = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, comp);
  float *m = g_new (float, (gsize) w * h);
  int x, y;

#define INSIDE(xx, yy) ((xx) >= 0 && (xx) < w && (yy) >= 0 && (yy) < h && \
    m[(gsize) (yy) * w + (xx)] > threshold)
  funad_map_resize (map, map_size, map_size, m, w, h);
  for (y = 0; y < h; y++) {
    for (x = 0; x < w; x++) {
      /* the frame's edge closes a region that touches it */
      if (INSIDE (x, y) && (!INSIDE (x - width, y) || !INSIDE (x + width, y)
              || !INSIDE (x, y - width) || !INSIDE (x, y + width)))
        data[(gsize) y * stride + (gsize) x * pstride] = value;
    }
  }
#undef INSIDE
  g_free (m);
}

/* The outline in the colour map's hottest colour, opaque, in every
 * component of the frame at its own subsampling. */
static void
draw_contour (GstFunadDetect * self, GstVideoFrame * frame, const Rect * rect,
    FunadColormap colormap, const float *map, int map_size, float threshold)
{
  const GstVideoFormatInfo *finfo = frame->info.finfo;
  int width = MAX (1, MIN (rect->w, rect->h) / 240);
  guint8 rgb[3], yuv[3];
  int c;

  funad_colormap_color (colormap, 1.0f, rgb);
  rgb_to_ycbcr (rgb, &yuv[0], &yuv[1], &yuv[2]);
  if (GST_VIDEO_FORMAT_INFO_IS_GRAY (finfo)) {
    /* BT.601 luma, full range as funad_heatmap_blend() uses on grey */
    contour_component (frame, 0, rect, map, map_size, threshold, width,
        CLAMP (lrintf (0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2]),
            0, 255));
    return;
  }
  for (c = 0; c < 3; c++) {
    /* chroma samples span 2 luma pixels: a 1-pixel line stays 1 sample */
    int cw = MAX (1, width >> (c ? GST_VIDEO_FORMAT_INFO_W_SUB (finfo, c) :
            0));

    contour_component (frame, c, rect, map, map_size, threshold, cw,
        self->yuv ? yuv[c] : rgb[c]);
  }
}

/* The heat map over a Y'CbCr frame: the colour map converted to BT.601
 * (limited range) and blended into Y, Cb and Cr at their own resolution. */
static void
blend_heatmap_yuv (GstVideoFrame * frame, const Rect * rect,
    FunadColormap colormap, const float *map, int map_size, float lo, float hi, float alpha)
{
  guint8 lut_y[256], lut_u[256], lut_v[256];
  int k;

  if (!(alpha > 0.0f))
    return;
  for (k = 0; k < 256; k++) {
    guint8 rgb[3];

    funad_colormap_color (colormap, k / 255.0f, rgb);
    rgb_to_ycbcr (rgb, &lut_y[k], &lut_u[k], &lut_v[k]);
  }
  blend_component (frame, GST_VIDEO_COMP_Y, rect, map, map_size, lo, hi, alpha,
      lut_y);
  blend_component (frame, GST_VIDEO_COMP_U, rect, map, map_size, lo, hi, alpha,
      lut_u);
  blend_component (frame, GST_VIDEO_COMP_V, rect, map, map_size, lo, hi, alpha,
      lut_v);
}

typedef struct
{
  guint x, y, width, height;    /* in frame pixels */
  gdouble score;                /* the region's peak */
} FunadBox;

/* Bounding boxes, in frame pixels, of the 8-connected regions of the map
 * above @threshold. */
static GArray *
find_boxes (const float *map, int map_size, gdouble threshold,
    const Rect * rect)
{
  int frame_w = rect->w, frame_h = rect->h;
  gsize n = (gsize) map_size * map_size, i;
  guint8 *mask = g_malloc (n);
  guint32 *regions = g_new (guint32, n);
  GArray *boxes = g_array_new (FALSE, FALSE, sizeof (FunadBox));
  int *bb;
  guint n_regions, r;

  for (i = 0; i < n; i++)
    mask[i] = map[i] > threshold;
  n_regions = funad_label_regions (mask, map_size, map_size, regions, 1);
  if (n_regions == 0)
    goto done;

  /* per region: min x, min y, max x, max y, in map cells */
  bb = g_new (int, 4 * n_regions);
  g_array_set_size (boxes, n_regions);
  for (r = 0; r < n_regions; r++) {
    bb[4 * r] = bb[4 * r + 1] = map_size;
    bb[4 * r + 2] = bb[4 * r + 3] = -1;
    g_array_index (boxes, FunadBox, r).score = -G_MAXDOUBLE;
  }
  for (i = 0; i < n; i++) {
    int x = i % map_size, y = i / map_size, *b;
    FunadBox *box;

    if (regions[i] == 0)
      continue;
    r = regions[i] - 1;
    b = bb + 4 * r;
    box = &g_array_index (boxes, FunadBox, r);
    b[0] = MIN (b[0], x);
    b[1] = MIN (b[1], y);
    b[2] = MAX (b[2], x);
    b[3] = MAX (b[3], y);
    box->score = MAX (box->score, map[i]);
  }
  for (r = 0; r < n_regions; r++) {
    FunadBox *box = &g_array_index (boxes, FunadBox, r);
    int *b = bb + 4 * r;
    /* the cells' extent in the frame, rounded outwards */
    guint x0 = (guint) ((gint64) b[0] * frame_w / map_size);
    guint y0 = (guint) ((gint64) b[1] * frame_h / map_size);
    guint x1 = (guint) (((gint64) (b[2] + 1) * frame_w + map_size - 1) /
        map_size);
    guint y1 = (guint) (((gint64) (b[3] + 1) * frame_h + map_size - 1) /
        map_size);

    box->x = rect->x + x0;
    box->y = rect->y + y0;
    box->width = MAX (x1, x0 + 1) - x0;
    box->height = MAX (y1, y0 + 1) - y0;
  }
  g_free (bb);

done:
  g_free (mask);
  g_free (regions);
  return boxes;
}

static void
post_anomaly_event (GstFunadDetect * self, const gchar * type,
    guint64 frame_no, GstClockTime pts, gdouble peak)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  GstStructure *s;

  GST_DEBUG_OBJECT (self, "anomaly %s at frame %" G_GUINT64_FORMAT
      " (peak %g)", type, frame_no, peak);
  s = gst_structure_new ("funad-event",
      "type", G_TYPE_STRING, type,
      "timestamp", G_TYPE_UINT64, (guint64) pts,
      "stream-time", G_TYPE_UINT64, segment_time (trans, pts, FALSE),
      "running-time", G_TYPE_UINT64, segment_time (trans, pts, TRUE),
      "frame", G_TYPE_UINT64, frame_no,
      "peak-score", G_TYPE_DOUBLE, peak, NULL);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

/* Hysteresis: the state flips once @min_frames consecutive frames disagree
 * with it; the event is dated by the first of them. */
static void
update_anomaly_event (GstFunadDetect * self, guint64 frame_no,
    GstClockTime pts, gdouble score, gboolean anomaly, guint min_frames)
{
  if (anomaly == self->in_event) {
    self->run = 0;
    if (anomaly)
      self->event_peak = MAX (self->event_peak, score);
    return;
  }
  if (self->run == 0) {
    self->run_frame = frame_no;
    self->run_pts = pts;
    self->run_peak = score;
  }
  self->run++;
  if (anomaly)
    self->run_peak = MAX (self->run_peak, score);
  if (self->run < min_frames)
    return;

  self->run = 0;
  self->in_event = anomaly;
  if (anomaly) {
    self->event_peak = self->run_peak;
    post_anomaly_event (self, "begin", self->run_frame, self->run_pts,
        self->event_peak);
  } else {
    post_anomaly_event (self, "end", self->run_frame, self->run_pts,
        self->event_peak);
  }
}

/* At EOS, a flush or a stop an event in progress ends: where its normal run
 * began, or else at the last frame (an anomalous one), timed at that frame's
 * end. */
static void
finish_anomaly_event (GstFunadDetect * self)
{
  GstFunadDetectPrivate *priv = gst_funad_detect_get_instance_private (self);

  if (self->in_event) {
    if (self->run > 0)
      post_anomaly_event (self, "end", self->run_frame, self->run_pts,
          self->event_peak);
    else
      post_anomaly_event (self, "end", priv->last_frame, self->last_end,
          self->event_peak);
  }
  reset_stream_state (self);
}

/* The element scores each frame in the streaming thread before pushing it,
 * so every frame leaves it later than it came: a processing latency that a
 * live pipeline must add to its own, else a synchronised sink finds the
 * frames late. Answers upstream's latency plus the measured time of one
 * scored frame (0 before any). A CAPS query on the sink pad, with a colour
 * model loaded, is narrowed to RGB (prefer_rgb()). */
static gboolean
gst_funad_detect_query (GstBaseTransform * trans, GstPadDirection direction,
    GstQuery * query)
{
  GstFunadDetect *self = GST_FUNAD_DETECT (trans);
  GstFunadDetectPrivate *priv = gst_funad_detect_get_instance_private (self);
  GstClockTime min, max, ours;
  gboolean live, colour;

  if (direction == GST_PAD_SINK && GST_QUERY_TYPE (query) == GST_QUERY_CAPS) {
    GstCaps *caps, *filter;

    if (!GST_BASE_TRANSFORM_CLASS (parent_class)->query (trans, direction,
            query))
      return FALSE;
    GST_OBJECT_LOCK (self);
    colour = self->colour_model;
    GST_OBJECT_UNLOCK (self);
    /* Negotiation asks with a filter (the formats upstream can make): there
     * RGB is preferred. A query with none (a link check) gets every format,
     * so that a capsfilter fixing GRAY8 upstream still links. */
    gst_query_parse_caps (query, &filter);
    gst_query_parse_caps_result (query, &caps);
    if (colour && filter != NULL && caps != NULL) {
      caps = prefer_rgb (gst_caps_ref (caps));
      GST_DEBUG_OBJECT (self, "colour model: offering %" GST_PTR_FORMAT, caps);
      gst_query_set_caps_result (query, caps);
      gst_caps_unref (caps);
    }
    return TRUE;
  }
  if (direction != GST_PAD_SRC || GST_QUERY_TYPE (query) != GST_QUERY_LATENCY)
    return GST_BASE_TRANSFORM_CLASS (parent_class)->query (trans, direction,
        query);

  /* upstream's answer first */
  if (!GST_BASE_TRANSFORM_CLASS (parent_class)->query (trans, direction, query))
    return FALSE;
  gst_query_parse_latency (query, &live, &min, &max);
  GST_OBJECT_LOCK (self);
  ours = priv->latency;
  if (GST_CLOCK_TIME_IS_VALID (ours))
    priv->reported = ours;
  else
    ours = 0;
  GST_OBJECT_UNLOCK (self);
  GST_DEBUG_OBJECT (self, "upstream latency: live %d, min %" GST_TIME_FORMAT
      ", max %" GST_TIME_FORMAT "; ours %" GST_TIME_FORMAT, live,
      GST_TIME_ARGS (min), GST_TIME_ARGS (max), GST_TIME_ARGS (ours));
  if (GST_CLOCK_TIME_IS_VALID (min))
    min += ours;
  if (GST_CLOCK_TIME_IS_VALID (max))
    max += ours;
  gst_query_set_latency (query, live, min, max);
  return TRUE;
}

/* Folds the time one scored frame took into the latency estimate; when that
 * is the first measurement or differs noticeably from the latency last
 * reported, posts a LATENCY message so that the pipeline queries it again. */
static void
update_latency (GstFunadDetect * self, GstClockTime elapsed)
{
  GstFunadDetectPrivate *priv = gst_funad_detect_get_instance_private (self);
  GstClockTime est, reported;
  gboolean post;

  GST_OBJECT_LOCK (self);
  est = priv->latency;
  est = GST_CLOCK_TIME_IS_VALID (est) ?
      MAX (elapsed, est - est / LATENCY_DECAY) : elapsed;
  priv->latency = est;
  reported = priv->reported;
  post = !GST_CLOCK_TIME_IS_VALID (reported) ||
      (est > reported + reported / LATENCY_CHANGE &&
      est > reported + LATENCY_MIN_CHANGE) ||
      (reported > LATENCY_SHRINK * est && reported > est + LATENCY_MIN_CHANGE);
  if (post)
    priv->reported = est;
  GST_OBJECT_UNLOCK (self);

  if (post) {
    GST_INFO_OBJECT (self, "processing latency now %" GST_TIME_FORMAT
        " (was %" GST_TIME_FORMAT ")", GST_TIME_ARGS (est),
        GST_TIME_ARGS (reported));
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_latency (GST_OBJECT (self)));
  }
}

static gboolean
gst_funad_detect_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstFunadDetect *self = GST_FUNAD_DETECT (trans);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_EOS:
    case GST_EVENT_FLUSH_STOP:
      /* both are serialized: the streaming thread's state is ours here */
      finish_anomaly_event (self);
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

/* Scores, draws and reports one frame; *scored_out says whether it was
 * scored (rather than reusing the last score, see inference-interval). */
static GstFlowReturn
process_frame (GstVideoFilter * filter, GstVideoFrame * frame,
    gboolean * scored_out)
{
  GstFunadDetect *self = GST_FUNAD_DETECT (filter);
  GstFunadDetectPrivate *priv = gst_funad_detect_get_instance_private (self);
  GstBaseTransform *trans = GST_BASE_TRANSFORM (filter);
  GstBuffer *buf = frame->buffer;
  FunadScorer *scorer, *old_scorer = NULL;
  FunadModel *old_model = NULL;
  FunadImage image;
  GError *err = NULL;
  const float *map = NULL;
  float score;
  gdouble threshold, alpha;
  GstFunadDetectOverlay overlay;
  FunadColormap colormap;
  gboolean anomaly, post, scored, attach_meta, roi_meta;
  GArray *boxes = NULL;
  Rect rect;
  int region[4];
  GstClockTime pts, duration;
  guint64 stream_time, running_time, frame_no;
  guint inference_interval, min_anomaly_frames;
  int input_size;

  GST_OBJECT_LOCK (self);
  /* a model loaded meanwhile takes over here, between two frames */
  if (G_UNLIKELY (self->pending_scorer != NULL)) {
    old_scorer = self->scorer;
    old_model = self->model;
    self->scorer = g_steal_pointer (&self->pending_scorer);
    self->model = funad_model_ref (funad_scorer_get_model (self->scorer));
  }
  scorer = self->scorer;
  overlay = self->overlay;
  colormap = self->colormap;
  alpha = self->alpha;
  threshold = self->threshold;
  inference_interval = self->inference_interval;
  min_anomaly_frames = self->min_anomaly_frames;
  attach_meta = self->attach_meta;
  roi_meta = self->roi_meta;
  memcpy (region, self->region, sizeof (region));
  frame_no = self->frame_count++;
  post = self->post_messages && frame_no % self->message_interval == 0;
  GST_OBJECT_UNLOCK (self);

  if (G_UNLIKELY (old_scorer != NULL)) {
    /* only this thread ever used it */
    funad_scorer_free (old_scorer);
    if (old_model)
      funad_model_unref (old_model);
    self->have_last = FALSE;
  }

  if (G_UNLIKELY (scorer == NULL)) {
    GST_ELEMENT_ERROR (self, CORE, FAILED, ("No model is loaded."), (NULL));
    return GST_FLOW_ERROR;
  }
  if (threshold < 0.0)
    threshold = funad_model_threshold (funad_scorer_get_model (scorer));
  input_size = funad_model_input_size (funad_scorer_get_model (scorer));
  /* The frame was mapped read-only in passthrough: draw only if writable, so
   * an overlay toggle racing with this frame never writes into it. */
  if (!(frame->map[0].flags & GST_MAP_WRITE))
    overlay = GST_FUNAD_DETECT_OVERLAY_NONE;

  rect.x = rect.y = 0;
  rect.w = GST_VIDEO_FRAME_WIDTH (frame);
  rect.h = GST_VIDEO_FRAME_HEIGHT (frame);
  if (region[2] > 0 && region[3] > 0) {
    /* the region's part inside the frame; none left: the whole frame */
    /* in 64 bits: x + w may exceed G_MAXINT (a region "to the edge") */
    int x1 = (int) MIN ((gint64) region[0] + region[2], rect.w);
    int y1 = (int) MIN ((gint64) region[1] + region[3], rect.h);

    if (region[0] < x1 && region[1] < y1) {
      rect.x = region[0];
      rect.y = region[1];
      rect.w = x1 - rect.x;
      rect.h = y1 - rect.y;
    }
  }
  frame_to_image (self, frame, &rect, &image);

  scored = !self->have_last || self->last_map_size != input_size ||
      frame_no % inference_interval == 0;
  if (scored) {
    if (!funad_scorer_score (scorer, &image, &score, &map, &err)) {
      GST_ELEMENT_ERROR (self, STREAM, FAILED,
          ("Could not score frame %" G_GUINT64_FORMAT ": %s", frame_no,
              err->message), (NULL));
      g_clear_error (&err);
      return GST_FLOW_ERROR;
    }
    /* the scorer's map lives until its next call: keep a copy to reuse */
    self->have_last = inference_interval > 1;
    if (self->have_last) {
      if (self->last_map_size != input_size) {
        g_free (self->last_map);
        self->last_map = g_new (float, (gsize) input_size * input_size);
        self->last_map_size = input_size;
      }
      memcpy (self->last_map, map, sizeof (float) * input_size * input_size);
      self->last_score = score;
    }
  } else {
    score = self->last_score;
    map = self->last_map;
  }
  *scored_out = scored;
  anomaly = score > threshold;

  if ((overlay & GST_FUNAD_DETECT_OVERLAY_HEATMAP) && self->yuv)
    blend_heatmap_yuv (frame, &rect, colormap, map, input_size, 0.5 * threshold,
        1.5 * threshold, alpha);
  else if (overlay & GST_FUNAD_DETECT_OVERLAY_HEATMAP)
    funad_heatmap_blend_colormap (colormap, map, input_size, input_size,
        0.5 * threshold, 1.5 * threshold, alpha, &image);
  if (overlay & GST_FUNAD_DETECT_OVERLAY_CONTOUR)
    draw_contour (self, frame, &rect, colormap, map, input_size, threshold);

  pts = GST_BUFFER_PTS (buf);
  duration = GST_BUFFER_DURATION (buf);
  stream_time = segment_time (trans, pts, FALSE);
  running_time = segment_time (trans, pts, TRUE);
  self->last_end = GST_CLOCK_TIME_IS_VALID (pts) &&
      GST_CLOCK_TIME_IS_VALID (duration) ? pts + duration : pts;
  priv->last_frame = frame_no;

  GST_LOG_OBJECT (self, "frame %" G_GUINT64_FORMAT " pts %" GST_TIME_FORMAT
      " score %g threshold %g%s", frame_no, GST_TIME_ARGS (pts), score,
      threshold, scored ? "" : " (reused)");

  /* metas need a writable buffer: in passthrough (a property change racing
   * with this frame) there is none */
  if (!gst_buffer_is_writable (buf))
    attach_meta = roi_meta = FALSE;
  if (attach_meta) {
    guint covered[4] = { rect.x, rect.y, rect.w, rect.h };

    gst_buffer_add_funad_meta (buf, score, threshold, anomaly, map,
        input_size, input_size, GST_VIDEO_FRAME_WIDTH (frame),
        GST_VIDEO_FRAME_HEIGHT (frame), covered, scored);
  }
  if (post || roi_meta)
    boxes = find_boxes (map, input_size, threshold, &rect);
  if (roi_meta) {
    guint i;

    for (i = 0; i < boxes->len; i++) {
      FunadBox *b = &g_array_index (boxes, FunadBox, i);
      GstVideoRegionOfInterestMeta *roi =
          gst_buffer_add_video_region_of_interest_meta (buf, "anomaly", b->x,
          b->y, b->width, b->height);

      gst_video_region_of_interest_meta_add_param (roi,
          gst_structure_new ("funad", "score", G_TYPE_DOUBLE, b->score,
              NULL));
    }
  }

  if (post) {
    GValue list = G_VALUE_INIT;
    guint i;
    GstStructure *s;

    gst_value_list_init (&list, boxes->len);
    for (i = 0; i < boxes->len; i++) {
      FunadBox *b = &g_array_index (boxes, FunadBox, i);
      GValue v = G_VALUE_INIT;

      g_value_init (&v, GST_TYPE_STRUCTURE);
      g_value_take_boxed (&v, gst_structure_new ("box",
              "x", G_TYPE_UINT, b->x, "y", G_TYPE_UINT, b->y,
              "width", G_TYPE_UINT, b->width,
              "height", G_TYPE_UINT, b->height,
              "score", G_TYPE_DOUBLE, b->score, NULL));
      gst_value_list_append_and_take_value (&list, &v);
    }
    s = gst_structure_new ("funad",
        "timestamp", G_TYPE_UINT64, (guint64) pts,
        "stream-time", G_TYPE_UINT64, stream_time,
        "running-time", G_TYPE_UINT64, running_time,
        "duration", G_TYPE_UINT64, (guint64) duration,
        "frame", G_TYPE_UINT64, frame_no,
        "score", G_TYPE_DOUBLE, (gdouble) score,
        "threshold", G_TYPE_DOUBLE, threshold,
        "anomaly", G_TYPE_BOOLEAN, anomaly,
        "scored", G_TYPE_BOOLEAN, scored, NULL);
    gst_structure_take_value (s, "boxes", &list);
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self), s));
  }
  if (boxes)
    g_array_unref (boxes);
  update_anomaly_event (self, frame_no, pts, score, anomaly,
      min_anomaly_frames);

  if (self->results != NULL && !write_result (self, frame_no, pts,
          running_time, score, threshold, anomaly, scored)) {
    int errsv = errno;

    GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
        ("Could not write to results file \"%s\": %s", self->results_path,
            g_strerror (errsv)), (NULL));
    return GST_FLOW_ERROR;
  }

  return GST_FLOW_OK;
}

static GstFlowReturn
gst_funad_detect_transform_frame_ip (GstVideoFilter * filter,
    GstVideoFrame * frame)
{
  GstClockTime start = gst_util_get_timestamp ();
  gboolean scored = FALSE;
  GstFlowReturn ret = process_frame (filter, frame, &scored);

  /* the latency a frame adds is the scored frames' (the others are cheap) */
  if (ret == GST_FLOW_OK && scored)
    update_latency (GST_FUNAD_DETECT (filter),
        gst_util_get_timestamp () - start);
  return ret;
}
