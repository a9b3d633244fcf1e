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

#ifndef __GST_FUNAD_DETECT_H__
#define __GST_FUNAD_DETECT_H__

#include <stdio.h>

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideofilter.h>

#include "funad.h"

G_BEGIN_DECLS

/**
 * GstFunadDetectOverlay:
 * @GST_FUNAD_DETECT_OVERLAY_NONE: draw nothing (the frame passes through)
 * @GST_FUNAD_DETECT_OVERLAY_HEATMAP: blend a heat map of the anomaly map
 * @GST_FUNAD_DETECT_OVERLAY_CONTOUR: outline the regions above the threshold
 * @GST_FUNAD_DETECT_OVERLAY_BOTH: heat map and outline
 */
typedef enum
{
  GST_FUNAD_DETECT_OVERLAY_NONE = 0,
  GST_FUNAD_DETECT_OVERLAY_HEATMAP = 1,
  GST_FUNAD_DETECT_OVERLAY_CONTOUR = 2,
  GST_FUNAD_DETECT_OVERLAY_BOTH = 3,
} GstFunadDetectOverlay;

#define GST_TYPE_FUNAD_DETECT_OVERLAY (gst_funad_detect_overlay_get_type ())
GType gst_funad_detect_overlay_get_type (void);

/* values are those of FunadColormap */
#define GST_TYPE_FUNAD_DETECT_COLORMAP (gst_funad_detect_colormap_get_type ())
GType gst_funad_detect_colormap_get_type (void);

#define GST_TYPE_FUNAD_DETECT (gst_funad_detect_get_type ())
G_DECLARE_FINAL_TYPE (GstFunadDetect, gst_funad_detect, GST, FUNAD_DETECT,
    GstVideoFilter)

struct _GstFunadDetect
{
  GstVideoFilter parent;

  /* properties, protected by the object lock */
  gchar *model_location;
  gdouble threshold;            /* < 0: use the model's */
  GstFunadDetectOverlay overlay;
  FunadColormap colormap;
  gdouble alpha;
  gchar *results_location;
  guint inference_interval;
  guint n_threads;              /* the scorer's own threads; 0: one per core (see n-threads) */
  gboolean post_messages;
  guint message_interval;
  guint min_anomaly_frames;
  gboolean attach_meta;
  gboolean roi_meta;
  gint region[4];               /* x, y, width, height; width 0: whole frame */
  gchar *bad_region;            /* the last invalid region set, warned about
                                 * on the bus at each start; NULL if none */

  /* Loaded in start(), released in stop(). The scorer is only used by the
   * streaming thread; the pointers change under the object lock so a later
   * live model reload can swap them without tearing. */
  FunadModel *model;
  FunadScorer *scorer;
  /* set while started; a model loaded then waits in pending_scorer (under
   * the object lock) until the streaming thread takes it between frames */
  gboolean started;
  FunadScorer *pending_scorer;
  /* object lock: whether the model loaded last reads colour (its backbone
   * is pretrained), so the sink pad offers packed RGB formats only; and
   * whether it was warned about getting a format with no colour */
  gboolean colour_model;
  gboolean warned_no_colour;

  /* where the negotiated format keeps its colour bytes; Y'CbCr formats are
   * scored from their luma (copied to luma_copy when not contiguous) */
  FunadImage layout;
  gboolean yuv;
  gboolean copy_luma;
  guint8 *luma_copy;
  gsize luma_copy_size;

  /* results file, opened in start() and then written by the streaming
   * thread only; results_path is the name it was opened under */
  FILE *results;
  gchar *results_path;

  guint64 frame_count;

  /* streaming thread only: the last scored map (map_size x map_size) and
   * score, reused between scored frames when inference-interval > 1 */
  float *last_map;
  int last_map_size;
  float last_score;
  gboolean have_last;

  /* streaming thread only: anomaly event hysteresis. in_event says whether
   * a "begin" was posted without its "end"; run counts consecutive frames
   * that disagree with it, run_* describe the first of them. */
  gboolean in_event;
  guint run;
  gdouble run_peak, event_peak;
  guint64 run_frame;
  GstClockTime run_pts, last_end;
};

GST_ELEMENT_REGISTER_DECLARE (funaddetect);

G_END_DECLS

#endif /* __GST_FUNAD_DETECT_H__ */
