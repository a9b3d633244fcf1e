/* GStreamer funad plugin: GstFunadMeta, the score and anomaly map of a frame
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

/* This header is all an application needs to read the meta that
 * funaddetect attaches with attach-meta=true: it does not link against the
 * plugin. Include it, let the plugin load (make the pipeline), and call
 * gst_buffer_get_funad_meta() on a buffer downstream of funaddetect, e.g.
 * in a pad probe or an appsink. See pipelines/funad-read-meta.c. */

#ifndef __GST_FUNAD_META_H__
#define __GST_FUNAD_META_H__

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_FUNAD_META_API_NAME "GstFunadMetaAPI"

/**
 * GstFunadMeta:
 * @meta: parent
 * @score: the frame's anomaly score (maximum of the map)
 * @threshold: the threshold in effect for the frame
 * @anomaly: whether @score > @threshold
 * @map_width: width of @map
 * @map_height: height of @map
 * @map: the anomaly map, @map_width x @map_height floats row by row,
 *   covering the inspected region of the frame; owned by the meta
 * @frame_width: width of the frame funaddetect scored, in pixels
 * @frame_height: height of that frame
 * @region_x: left edge of the region @map covers, in that frame's pixels
 * @region_y: top edge of that region
 * @region_width: width of that region (the whole frame unless the
 *   element's region property says otherwise)
 * @region_height: height of that region
 * @scored: TRUE when this frame was scored; FALSE when inference-interval
 *   skipped it and the values are those of the last scored frame
 *
 * The meta is copied as it is by elements downstream: a buffer that is no
 * longer @frame_width x @frame_height (a crop, say) still carries the
 * geometry it was scored at, so compare before you draw the map on it; a
 * plain rescale keeps the map's proportions.
 */
typedef struct
{
  GstMeta meta;

  gdouble score;
  gdouble threshold;
  gboolean anomaly;
  guint map_width;
  guint map_height;
  gfloat *map;
  /* added after the fields above, which keep their offsets */
  guint frame_width;
  guint frame_height;
  guint region_x;
  guint region_y;
  guint region_width;
  guint region_height;
  gboolean scored;
} GstFunadMeta;

/* The API type, registered by whichever of plugin and application asks
 * first (the same name gives the same type). */
static inline GType
gst_funad_meta_api_get_type (void)
{
  static GType type = 0;

  if (g_once_init_enter (&type)) {
    static const gchar *tags[] = { NULL };
    GType t = g_type_from_name (GST_FUNAD_META_API_NAME);

    if (t == 0)
      t = gst_meta_api_type_register (GST_FUNAD_META_API_NAME, tags);
    g_once_init_leave (&type, t);
  }
  return type;
}

#define GST_FUNAD_META_API_TYPE (gst_funad_meta_api_get_type ())

#define gst_buffer_get_funad_meta(b) \
    ((GstFunadMeta *) gst_buffer_get_meta ((b), GST_FUNAD_META_API_TYPE))

G_END_DECLS

#endif /* __GST_FUNAD_META_H__ */
