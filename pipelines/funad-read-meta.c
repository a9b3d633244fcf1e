/* funad-read-meta — how an application reads what funaddetect attaches to
 * each frame: the GstFunadMeta (score and anomaly map) and the
 * GstVideoRegionOfInterestMeta boxes.
 *
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
 *
 * usage: funad-read-meta MODEL [FRAMES]
 * Built as build/tests/funad-read-meta; run with GST_PLUGIN_PATH=build/gst.
 * Prints one line per frame:
 *   frame N score S threshold T anomaly 0|1 map WxH boxes [x,y WxH score S]...
 * Exits 1 if a frame arrives without the meta or the pipeline fails.
 */

#include <gst/gst.h>
#include <gst/video/video.h>

#include "gstfunadmeta.h"

static guint64 n_frames;
static gboolean missing_meta;

static GstPadProbeReturn
on_buffer (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstFunadMeta *meta = gst_buffer_get_funad_meta (buf);
  gpointer state = NULL;
  GstMeta *m;

  if (meta == NULL) {
    g_printerr ("frame %" G_GUINT64_FORMAT " has no GstFunadMeta\n", n_frames);
    missing_meta = TRUE;
    return GST_PAD_PROBE_OK;
  }
  /* meta->map holds map_width x map_height floats covering the region
   * (region_x, region_y, region_width x region_height) of a frame of
   * frame_width x frame_height pixels: the whole frame unless the element's
   * region property is set */
  g_print ("frame %" G_GUINT64_FORMAT " score %g threshold %g anomaly %d "
      "scored %d map %ux%u over %u,%u %ux%u of %ux%u boxes", n_frames++,
      meta->score, meta->threshold, meta->anomaly, meta->scored,
      meta->map_width, meta->map_height, meta->region_x, meta->region_y,
      meta->region_width, meta->region_height, meta->frame_width,
      meta->frame_height);

  while ((m = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) m;
    GstStructure *param = gst_video_region_of_interest_meta_get_param (roi,
        "funad");
    gdouble score = 0.0;

    if (param)
      gst_structure_get_double (param, "score", &score);
    g_print (" [%u,%u %ux%u score %g]", roi->x, roi->y, roi->w, roi->h,
        score);
  }
  g_print ("\n");
  return GST_PAD_PROBE_OK;
}

int
main (int argc, char **argv)
{
  GstElement *pipeline, *sink;
  GstPad *pad;
  GstBus *bus;
  GstMessage *msg;
  GError *err = NULL;
  gchar *desc;
  int ret = 0;

  gst_init (&argc, &argv);
  if (argc < 2) {
    g_printerr ("usage: %s MODEL [FRAMES]\n", argv[0]);
    return 2;
  }
  desc = g_strdup_printf ("videotestsrc num-buffers=%s pattern=ball ! "
      "video/x-raw,width=160,height=120 ! "
      "funaddetect model=\"%s\" attach-meta=true roi-meta=true overlay=none ! "
      "fakesink name=sink", argc > 2 ? argv[2] : "10", argv[1]);
  pipeline = gst_parse_launch (desc, &err);
  g_free (desc);
  /* A missing element (the plugin not found) comes back as a pipeline *and* an error:
   * without this check it would surface later as "Internal data stream error". */
  if (err != NULL) {
    g_printerr ("%s\n", err->message);
    g_clear_error (&err);
    if (pipeline)
      gst_object_unref (pipeline);
    return 1;
  }

  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, NULL, NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  bus = gst_element_get_bus (pipeline);
  msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    gst_message_parse_error (msg, &err, NULL);
    g_printerr ("error: %s\n", err->message);
    g_clear_error (&err);
    ret = 1;
  }
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  return ret != 0 || missing_meta || n_frames == 0;
}
