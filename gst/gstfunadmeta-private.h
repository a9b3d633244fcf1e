/* GStreamer funad plugin: GstFunadMeta, the plugin's side
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

#ifndef __GST_FUNAD_META_PRIVATE_H__
#define __GST_FUNAD_META_PRIVATE_H__

#include "gstfunadmeta.h"

G_BEGIN_DECLS

const GstMetaInfo *gst_funad_meta_get_info (void);

/* copies map; @region is x, y, width, height in the frame's pixels */
GstFunadMeta *gst_buffer_add_funad_meta (GstBuffer * buffer, gdouble score,
    gdouble threshold, gboolean anomaly, const gfloat * map, guint map_width,
    guint map_height, guint frame_width, guint frame_height,
    const guint region[4], gboolean scored);

G_END_DECLS

#endif
