/* video-writer.h — RGB frames to a Motion-JPEG AVI file, through GStreamer.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * appsrc ! videoconvert ! jpegenc ! avimux ! filesink: every player reads it and the elements
 * are in gstreamer1.0-plugins-good, which the tools need anyway. funad-review writes the
 * annotated copy of each input with it. gst_init() must have run.
 */
#ifndef VIDEO_WRITER_H
#define VIDEO_WRITER_H

#include <glib.h>

#include "funad.h"

G_BEGIN_DECLS

typedef struct _VideoWriter VideoWriter;

/* Starts writing path; frames must all be width x height. fps_n/fps_d is the nominal rate
 * written into the file's header; each frame keeps its own timestamp. */
VideoWriter *video_writer_open (const char *path, int width, int height, int fps_n, int fps_d,
                                GError **error);

/* Queues one packed-RGB frame (pixel_stride 3, R at offset 0) shown at pts nanoseconds from
 * the file's start. Blocks while the encoder is a few frames behind, so memory stays bounded. */
gboolean video_writer_push (VideoWriter *writer, const FunadImage *image, guint64 pts,
                            GError **error);

/* Finishes the file (waits for the muxer to write its index) and frees the writer. Returns
 * FALSE and an error when anything went wrong since it was opened. */
gboolean video_writer_close (VideoWriter *writer, GError **error);

G_END_DECLS

#endif /* VIDEO_WRITER_H */
