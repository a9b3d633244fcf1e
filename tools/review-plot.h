/* review-plot.h — the score-over-time plot of funad-review's report, as inline SVG.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef REVIEW_PLOT_H
#define REVIEW_PLOT_H

#include <glib.h>

#include "review-report.h"

G_BEGIN_DECLS

/* Appends an <svg> element to out: one row per input with its score over time, the threshold
 * line, its anomalous segments shaded (each a link to #seg-ID) and the top frames marked
 * (links to #top-RANK). Long inputs are reduced to one min/max pair per pixel column, so the
 * SVG stays small for hours of footage and no spike is lost. Uses the CSS classes the report's
 * style sheet defines (plot-*). */
void review_plot_svg (GString *out, const ReviewReport *report);

G_END_DECLS

#endif /* REVIEW_PLOT_H */
