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

#include <string.h>

#include "gstfunadmeta-private.h"

static gboolean
gst_funad_meta_init (GstMeta * meta, gpointer params, GstBuffer * buffer)
{
  GstFunadMeta *m = (GstFunadMeta *) meta;

  m->score = m->threshold = 0.0;
  m->anomaly = FALSE;
  m->map_width = m->map_height = 0;
  m->map = NULL;
  m->frame_width = m->frame_height = 0;
  m->region_x = m->region_y = m->region_width = m->region_height = 0;
  m->scored = FALSE;
  return TRUE;
}

static void
gst_funad_meta_free (GstMeta * meta, GstBuffer * buffer)
{
  g_free (((GstFunadMeta *) meta)->map);
}

static gboolean
gst_funad_meta_transform (GstBuffer * dest, GstMeta * meta,
    GstBuffer * buffer, GQuark type, gpointer data)
{
  GstFunadMeta *m = (GstFunadMeta *) meta;

  /* The map covers the whole frame: copies keep it, and so do scaled or
   * converted frames (it is resampled to whatever size it is drawn at). */
  if (GST_META_TRANSFORM_IS_COPY (type)) {
    GstMetaTransformCopy *copy = data;

    if (copy->region)
      return FALSE;
  }
  {
    guint region[4] = { m->region_x, m->region_y, m->region_width,
      m->region_height
    };

    return gst_buffer_add_funad_meta (dest, m->score, m->threshold,
        m->anomaly, m->map, m->map_width, m->map_height, m->frame_width,
        m->frame_height, region, m->scored) != NULL;
  }
}

const GstMetaInfo *
gst_funad_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;

  if (g_once_init_enter ((GstMetaInfo **) & info)) {
    const GstMetaInfo *mi = gst_meta_register (GST_FUNAD_META_API_TYPE,
        "GstFunadMeta", sizeof (GstFunadMeta), gst_funad_meta_init,
        gst_funad_meta_free, gst_funad_meta_transform);

    g_once_init_leave ((GstMetaInfo **) & info, (GstMetaInfo *) mi);
  }
  return info;
}

GstFunadMeta *
gst_buffer_add_funad_meta (GstBuffer * buffer, gdouble score,
    gdouble threshold, gboolean anomaly, const gfloat * map, guint map_width,
    guint map_height, guint frame_width, guint frame_height,
    const guint region[4], gboolean scored)
{
  GstFunadMeta *m;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  m = (GstFunadMeta *) gst_buffer_add_meta (buffer, gst_funad_meta_get_info (),
      NULL);
  m->score = score;
  m->threshold = threshold;
  m->anomaly = anomaly;
  m->frame_width = frame_width;
  m->frame_height = frame_height;
  m->region_x = region[0];
  m->region_y = region[1];
  m->region_width = region[2];
  m->region_height = region[3];
  m->scored = scored;
  if (map != NULL && map_width > 0 && map_height > 0) {
    m->map_width = map_width;
    m->map_height = map_height;
    m->map = g_memdup2 (map, sizeof (gfloat) * map_width * map_height);
  }
  return m;
}
