/* png-encode.c — one RGB picture to PNG bytes, through GStreamer's pngenc.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "png-encode.h"

#include <string.h>

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "funad.h"

/* pngenc on a thumbnail takes milliseconds; this only guards against a wedged pipeline. */
#define ENCODE_TIMEOUT (30 * GST_SECOND)

/* A buffer laid out as GStreamer expects RGB of this size (rows padded to 4 bytes). */
static GstBuffer *
wrap_pixels (const guint8 *rgb, int stride, const GstVideoInfo *info)
{
  GstBuffer *buffer = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (info), NULL);
  GstMapInfo map;
  int row_bytes = 3 * GST_VIDEO_INFO_WIDTH (info);

  gst_buffer_map (buffer, &map, GST_MAP_WRITE);
  for (int y = 0; y < GST_VIDEO_INFO_HEIGHT (info); y++)
    memcpy (map.data + (gsize) y * GST_VIDEO_INFO_PLANE_STRIDE (info, 0),
            rgb + (gsize) y * stride, row_bytes);
  gst_buffer_unmap (buffer, &map);
  return buffer;
}

GBytes *
png_encode_rgb (const guint8 *rgb, int width, int height, int stride, GError **error)
{
  GError *parse_error = NULL;
  GstElement *pipeline = gst_parse_launch ("appsrc name=src format=time ! videoconvert ! "
                                           "pngenc snapshot=true ! appsink name=sink sync=false",
                                           &parse_error);

  if (!pipeline) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "cannot encode PNG (is "
                 "gstreamer1.0-plugins-good installed?): %s", parse_error->message);
    g_error_free (parse_error);
    return NULL;
  }
  g_clear_error (&parse_error);  /* a warning-level parse error leaves a usable pipeline */

  GstVideoInfo info;
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, width, height);
  GstCaps *caps = gst_video_info_to_caps (&info);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstBuffer *buffer = wrap_pixels (rgb, stride, &info);
  GBytes *png = NULL;

  gst_caps_set_simple (caps, "framerate", GST_TYPE_FRACTION, 1, 1, NULL);
  g_object_set (src, "caps", caps, NULL);
  gst_caps_unref (caps);
  GST_BUFFER_PTS (buffer) = 0;
  GST_BUFFER_DURATION (buffer) = GST_SECOND;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  gst_app_src_push_buffer (GST_APP_SRC (src), buffer);  /* takes the buffer */
  gst_app_src_end_of_stream (GST_APP_SRC (src));

  GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), ENCODE_TIMEOUT);
  if (sample) {
    GstBuffer *out = gst_sample_get_buffer (sample);
    GstMapInfo map;

    if (out && gst_buffer_map (out, &map, GST_MAP_READ)) {
      png = g_bytes_new (map.data, map.size);
      gst_buffer_unmap (out, &map);
    }
    gst_sample_unref (sample);
  }
  if (!png) {
    GstBus *bus = gst_element_get_bus (pipeline);
    GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    GError *gst_error = NULL;

    if (msg)
      gst_message_parse_error (msg, &gst_error, NULL);
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "PNG encoding of a %dx%d picture failed: %s",
                 width, height, gst_error ? gst_error->message : "no output");
    g_clear_error (&gst_error);
    if (msg)
      gst_message_unref (msg);
    gst_object_unref (bus);
  }

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (src);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  return png;
}
