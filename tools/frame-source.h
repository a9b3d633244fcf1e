/* frame-source.h — decoded frames from image files, videos and folders, through GStreamer.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every input goes through filesrc ! decodebin ! videoconvert ! appsink, so any format the
 * installed GStreamer plugins read works. An image file is one frame, a video is every frame,
 * a folder is every image file below it (recursively) in byte-wise sorted path order.
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
} FrameInfo;

/* Receives one frame; image and info are only valid during the call. Return FALSE to stop
 * decoding (for example on cancellation); set *error as well to make it a failure. */
typedef gboolean (*FrameFunc) (const FunadImage *image, const FrameInfo *info,
                               gpointer user_data, GError **error);

/* What frame_source_foreach() saw. */
typedef struct {
  guint n_files;        /* files it tried to decode */
  guint n_failed;       /* files inside a folder that could not be decoded (skipped) */
  guint64 n_frames;     /* frames handed to the callback */
} FrameSourceStats;

/* gst_init(), plus letting decodebin use gdkpixbufdec (rank none by default) so BMP, TIFF and
 * other formats without a dedicated decoder work. Call once, before anything below. */
void frame_source_init (int *argc, char ***argv);

/* TRUE when path's extension names a still image format (png, jpg, jpeg, bmp, tif, ...). */
gboolean frame_source_is_image_path (const char *path);

/* All image files under dir, recursively, sorted byte-wise by path. Hidden entries are skipped.
 * Returns NULL and an error when dir cannot be read; an empty array when it holds no image. */
GPtrArray *frame_source_list_images (const char *dir, GError **error);

/* Decodes every frame of one file (an image is one frame). Fails, with a message naming the
 * file, when it cannot be decoded or holds no video; returns FALSE too when func stops. */
gboolean frame_source_decode_file (const char *path, FrameFormat format, FrameFunc func,
                                   gpointer user_data, guint64 *n_frames, GError **error);

/* Decodes one input: a file, or a folder of images. In a folder, a file that cannot be decoded
 * is reported on stderr, counted in stats->n_failed and skipped; a file given directly that
 * cannot be decoded is an error. stats is accumulated into (not reset), may be NULL. */
gboolean frame_source_foreach (const char *input, FrameFormat format, FrameFunc func,
                               gpointer user_data, FrameSourceStats *stats, GError **error);

G_END_DECLS

#endif /* FRAME_SOURCE_H */
