/* frame-source.h — decoded frames from image files, videos and folders, through GStreamer.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every input goes through filesrc ! decodebin ! videoconvert ! appsink, so any format the
 * installed GStreamer plugins read works. An image file is one frame, a video is every frame,
 * a folder is every image and video file below it (recursively) in byte-wise sorted path
 * order. A pipeline description (a camera, a stream) is captured through appsink too.
 */
#ifndef FRAME_SOURCE_H
#define FRAME_SOURCE_H

#include <glib.h>

#include "funad.h"

G_BEGIN_DECLS

typedef enum {
  FRAME_FORMAT_RGB,   /* packed RGB, pixel_stride 3 */
  FRAME_FORMAT_GRAY8  /* 8-bit grey, pixel_stride 1 (for masks) */
} FrameFormat;

/* Where a frame came from. */
typedef struct {
  const char *path;     /* the decoded file */
  guint64 index;        /* 0-based frame number inside that file */
  guint64 pts;          /* presentation timestamp in ns, or G_MAXUINT64 when unknown */
  guint64 duration;     /* how long the frame lasts in ns, or G_MAXUINT64 when unknown */
} FrameInfo;

/* Receives one frame; image and info are only valid during the call. Return FALSE to stop
 * decoding (for example on cancellation); set *error as well to make it a failure. */
typedef gboolean (*FrameFunc) (const FunadImage *image, const FrameInfo *info,
                               gpointer user_data, GError **error);

/* What frame_source_foreach() saw. */
typedef struct {
  guint n_files;        /* files it tried to decode */
  guint n_failed;       /* files inside a folder that could not be decoded (skipped) */
  guint n_partial;      /* files whose decoding broke part-way (frames before it kept) */
  guint64 n_frames;     /* frames handed to the callback */
} FrameSourceStats;

/* gst_init(), plus letting decodebin use gdkpixbufdec (rank none by default) so BMP, TIFF and
 * other formats without a dedicated decoder work. Call once, before anything below. */
void frame_source_init (int *argc, char ***argv);

/* TRUE when path's extension names a still image format (png, jpg, jpeg, bmp, tif, ...). */
gboolean frame_source_is_image_path (const char *path);

/* TRUE when path's extension names a video container (avi, mp4, mkv, mov, webm, ...). */
gboolean frame_source_is_video_path (const char *path);

/* All image files under dir, recursively, sorted byte-wise by path. Hidden entries are skipped;
 * symbolic links are followed. A file that a path without links reaches is listed under that
 * path (hard links each under their own); one that only links reach is listed once, under the
 * name a depth-first walk (entries in byte order) meets first. Returns NULL and an error when
 * dir cannot be read; an empty array when it holds no image. */
GPtrArray *frame_source_list_images (const char *dir, GError **error);

/* All image and video files under dir, as frame_source_list_images() lists images. */
GPtrArray *frame_source_list_media (const char *dir, GError **error);

/* Decodes every frame of one file (an image is one frame). Fails, with a message naming the
 * file, when it cannot be decoded or holds no video; returns FALSE too when func stops. */
gboolean frame_source_decode_file (const char *path, FrameFormat format, FrameFunc func,
                                   gpointer user_data, guint64 *n_frames, GError **error);

/* Decodes one input: a file, or a folder of images and videos. A file that breaks part-way is
 * reported on stderr, its frames before the break kept and counted in stats->n_partial; in a
 * folder, a file that gives no frame is reported, counted in stats->n_failed and skipped; a
 * file given directly that gives no frame is an error. stats is accumulated into (not reset),
 * may be NULL. */
gboolean frame_source_foreach (const char *input, FrameFormat format, FrameFunc func,
                               gpointer user_data, FrameSourceStats *stats, GError **error);

/* Captures from a GStreamer pipeline description ("v4l2src", "rtspsrc location=... !
 * decodebin", ...), to which "! videoconvert ! video/x-raw,format=... ! appsink" is appended.
 * Stops at the end of the stream, when func returns FALSE, when *stop (atomic; may be NULL)
 * becomes non-zero, checked every 50 ms whether frames come or not, or, when max_seconds > 0,
 * once the frames' timestamps span max_seconds (wall-clock time if they carry none); then it
 * sends EOS and waits for the pipeline to drain, at most 5 s and no longer than a quarter of a
 * second without a frame (a silent source, or one whose EOS an element drops, ends at once
 * rather than after the 5 s); a source still stuck pushing into another branch by then is
 * flushed, which frees a source blocked in a push (one blocked elsewhere, in an element that
 * ignores the flush, would still hold the capture up). Returns TRUE when it ended by
 * itself or by max_seconds; FALSE when func or *stop stopped it or it failed (error set: bad
 * description, no frame for 30 s, a pipeline error). */
gboolean frame_source_capture (const char *description, double max_seconds, FrameFormat format,
                               FrameFunc func, gpointer user_data, const gint *stop,
                               guint64 *n_frames, GError **error);

G_END_DECLS

#endif /* FRAME_SOURCE_H */
