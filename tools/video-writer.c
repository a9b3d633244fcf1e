/* video-writer.c — RGB frames to a Motion-JPEG AVI file, through GStreamer.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "video-writer.h"

#include <string.h>

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

/* Finishing waits for the muxer; a wedged pipeline must not hang the tool. */
#define CLOSE_TIMEOUT (60 * GST_SECOND)

struct _VideoWriter {
  char *path;
  GstElement *pipeline;
  GstElement *src;
  GstVideoInfo info;
  GstClockTime duration;  /* of one frame, from the nominal rate */
};

/* The first error the pipeline posted, as a GError naming the file; FALSE when none. */
static gboolean
take_bus_error (VideoWriter *writer, GError **error)
{
  GstBus *bus = gst_element_get_bus (writer->pipeline);
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  gboolean failed = msg != NULL;

  if (msg) {
    GError *gst_error = NULL;

    gst_message_parse_error (msg, &gst_error, NULL);
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: writing video failed: %s",
                 writer->path, gst_error->message);
    g_error_free (gst_error);
    gst_message_unref (msg);
  }
  gst_object_unref (bus);
  return failed;
}

static void
writer_free (VideoWriter *writer)
{
  gst_element_set_state (writer->pipeline, GST_STATE_NULL);
  gst_object_unref (writer->src);
  gst_object_unref (writer->pipeline);
  g_free (writer->path);
  g_free (writer);
}

#define MIN_SIDE 16   /* jpegenc refuses smaller frames */

VideoWriter *
video_writer_open (const char *path, int width, int height, int fps_n, int fps_d,
                   GError **error)
{
  if (width < MIN_SIDE || height < MIN_SIDE) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "%s: frames of %d x %d pixels are too "
                 "small for the video (%d x %d at least); not written", path, width, height,
                 MIN_SIDE, MIN_SIDE);
    return NULL;
  }

  GstElement *pipeline = gst_pipeline_new ("video-writer");
  GstElement *src = gst_element_factory_make ("appsrc", NULL);
  GstElement *convert = gst_element_factory_make ("videoconvert", NULL);
  GstElement *encode = gst_element_factory_make ("jpegenc", NULL);
  GstElement *mux = gst_element_factory_make ("avimux", NULL);
  GstElement *sink = gst_element_factory_make ("filesink", NULL);

  if (!src || !convert || !encode || !mux || !sink) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: GStreamer elements appsrc, "
                 "videoconvert, jpegenc, avimux or filesink are missing (install "
                 "gstreamer1.0-plugins-good)", path);
    g_clear_object (&src);
    g_clear_object (&convert);
    g_clear_object (&encode);
    g_clear_object (&mux);
    g_clear_object (&sink);
    gst_object_unref (pipeline);
    return NULL;
  }

  VideoWriter *writer = g_new0 (VideoWriter, 1);
  writer->path = g_strdup (path);
  writer->pipeline = pipeline;
  writer->src = gst_object_ref (src);
  gst_video_info_set_format (&writer->info, GST_VIDEO_FORMAT_RGB, width, height);
  GST_VIDEO_INFO_FPS_N (&writer->info) = fps_n;
  GST_VIDEO_INFO_FPS_D (&writer->info) = fps_d;
  writer->duration = gst_util_uint64_scale_int (GST_SECOND, fps_d, fps_n);

  GstCaps *caps = gst_video_info_to_caps (&writer->info);
  /* block with a small queue: a fast decoder cannot pile up frames ahead of the encoder */
  g_object_set (src, "caps", caps, "format", GST_FORMAT_TIME, "block", TRUE,
                "max-bytes", (guint64) 4 * GST_VIDEO_INFO_SIZE (&writer->info), NULL);
  gst_caps_unref (caps);
  g_object_set (encode, "quality", 90, NULL);
  g_object_set (sink, "location", path, NULL);
  gst_bin_add_many (GST_BIN (pipeline), src, convert, encode, mux, sink, NULL);
  if (!gst_element_link_many (src, convert, encode, mux, sink, NULL)) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: cannot link the video writer", path);
    writer_free (writer);
    return NULL;
  }
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    if (!take_bus_error (writer, error))
      g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: cannot start writing", path);
    writer_free (writer);
    return NULL;
  }
  return writer;
}

gboolean
video_writer_push (VideoWriter *writer, const FunadImage *image, guint64 pts, GError **error)
{
  const GstVideoInfo *info = &writer->info;

  g_return_val_if_fail (image->pixel_stride == 3, FALSE);
  /* A video may change its frame size part-way; one file holds one size. */
  if (image->width != GST_VIDEO_INFO_WIDTH (info) || image->height != GST_VIDEO_INFO_HEIGHT (info)) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "frame size changed from %d x %d to "
                 "%d x %d part-way; the annotated video stops there", GST_VIDEO_INFO_WIDTH (info),
                 GST_VIDEO_INFO_HEIGHT (info), image->width, image->height);
    return FALSE;
  }
  if (take_bus_error (writer, error))
    return FALSE;

  GstBuffer *buffer = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (info), NULL);
  GstMapInfo map;

  gst_buffer_map (buffer, &map, GST_MAP_WRITE);
  for (int y = 0; y < image->height; y++)
    memcpy (map.data + (gsize) y * GST_VIDEO_INFO_PLANE_STRIDE (info, 0),
            image->data + (gsize) y * image->stride, 3 * (gsize) image->width);
  gst_buffer_unmap (buffer, &map);
  GST_BUFFER_PTS (buffer) = pts;
  GST_BUFFER_DURATION (buffer) = writer->duration;

  if (gst_app_src_push_buffer (GST_APP_SRC (writer->src), buffer) != GST_FLOW_OK) {
    if (!take_bus_error (writer, error))
      g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: the video writer stopped",
                   writer->path);
    return FALSE;
  }
  return TRUE;
}

gboolean
video_writer_close (VideoWriter *writer, GError **error)
{
  gboolean ok = TRUE;

  gst_app_src_end_of_stream (GST_APP_SRC (writer->src));

  GstBus *bus = gst_element_get_bus (writer->pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, CLOSE_TIMEOUT,
                                                GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (!msg) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: the video writer did not finish",
                 writer->path);
    ok = FALSE;
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *gst_error = NULL;

    gst_message_parse_error (msg, &gst_error, NULL);
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: writing video failed: %s",
                 writer->path, gst_error->message);
    g_error_free (gst_error);
    ok = FALSE;
  }
  if (msg)
    gst_message_unref (msg);
  gst_object_unref (bus);
  writer_free (writer);
  return ok;
}
