/* png-encode.h — one RGB picture to PNG bytes, through GStreamer's pngenc.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * For the pictures the tools write (funad-review embeds them in its report). GStreamer is
 * already what the tools decode with, so PNG needs no library of its own. gst_init() must have
 * run.
 */
#ifndef PNG_ENCODE_H
#define PNG_ENCODE_H

#include <glib.h>

G_BEGIN_DECLS

/* Encodes width x height packed RGB pixels (rows stride bytes apart). Returns the PNG file's
 * bytes, or NULL and an error. */
GBytes *png_encode_rgb (const guint8 *rgb, int width, int height, int stride, GError **error);

G_END_DECLS

#endif /* PNG_ENCODE_H */
