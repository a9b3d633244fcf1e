/* review-plot.c — the score-over-time plot of funad-review's report, as inline SVG.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Numbers are printed with the C locale's decimal point: funad-review sets LC_NUMERIC to "C".
 */
#include "review-plot.h"

#include <math.h>
#include <string.h>

/* Geometry in SVG user units; the SVG scales to the page width. */
#define PLOT_WIDTH 1200
#define MARGIN_LEFT 64
#define MARGIN_RIGHT 24
#define ROW_TITLE 46     /* file name, then the top-frame markers, above each row */
#define ROW_PLOT 150     /* the plot area */
#define ROW_AXIS 30      /* time labels below it */
#define ROW_HEIGHT (ROW_TITLE + ROW_PLOT + ROW_AXIS)

typedef struct {
  double x0, x1;      /* time range shown, seconds */
  double y0, y1;      /* score range shown */
  double left, top;   /* plot area origin */
  double width, height;
} Frame;

static double
to_x (const Frame *f, double t)
{
  return f->left + (t - f->x0) / (f->x1 - f->x0) * f->width;
}

static double
to_y (const Frame *f, double v)
{
  return f->top + (1.0 - (v - f->y0) / (f->y1 - f->y0)) * f->height;
}

/* A round step (1, 2 or 5 times a power of ten) giving about n intervals over span. */
static double
nice_step (double span, int n)
{
  double raw = span / n, magnitude = pow (10.0, floor (log10 (raw)));
  double r = raw / magnitude;

  return magnitude * (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10);
}

/* A step a clock reader finds natural: seconds, minutes or hours in round amounts. */
static double
time_step (double span, int n)
{
  static const double steps[] = { 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900,
                                  1800, 3600, 7200, 10800, 21600, 43200, 86400 };
  double raw = span / n;

  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    if (steps[i] >= raw)
      return steps[i];
  return nice_step (span, n);
}

static void
append_polyline (GString *out, const Frame *f, const ReviewInput *input, const char *cls,
                 const char *clip)
{
  GArray *frames = input->frames;
  int columns = (int) f->width;

  g_string_append_printf (out, "<polyline class=\"%s\"%s%s%s points=\"", cls,
                          clip ? " clip-path=\"url(#" : "", clip ? clip : "", clip ? ")\"" : "");
  if ((int) frames->len <= 2 * columns) {
    for (guint i = 0; i < frames->len; i++) {
      const ReviewFrame *r = &g_array_index (frames, ReviewFrame, i);
      g_string_append_printf (out, "%.1f,%.1f ", to_x (f, r->time), to_y (f, r->score));
    }
  } else {
    /* One min/max pair per pixel column: the line becomes a band and keeps every peak. */
    guint i = 0;

    for (int c = 0; c < columns && i < frames->len; c++) {
      double t_end = f->x0 + (c + 1) * (f->x1 - f->x0) / columns;
      float lo = INFINITY, hi = -INFINITY;
      guint lo_i = i, hi_i = i;

      for (; i < frames->len && g_array_index (frames, ReviewFrame, i).time < t_end; i++) {
        float s = g_array_index (frames, ReviewFrame, i).score;
        if (s < lo) { lo = s; lo_i = i; }
        if (s > hi) { hi = s; hi_i = i; }
      }
      if (lo > hi)
        continue;
      double x = f->left + c + 0.5;
      /* in time order, so the band joins its neighbours without crossings */
      float first = lo_i < hi_i ? lo : hi, second = lo_i < hi_i ? hi : lo;
      g_string_append_printf (out, "%.1f,%.1f %.1f,%.1f ", x, to_y (f, first), x,
                              to_y (f, second));
    }
  }
  g_string_append (out, "\"/>\n");
}

static void
append_row (GString *out, const ReviewReport *report, guint index, double y_lo, double y_hi)
{
  const ReviewInput *input = g_ptr_array_index (report->inputs, index);
  double row_top = index * ROW_HEIGHT;
  Frame f = { 0.0, MAX (input->duration, 1e-3), y_lo, y_hi, MARGIN_LEFT, row_top + ROW_TITLE,
              PLOT_WIDTH - MARGIN_LEFT - MARGIN_RIGHT, ROW_PLOT };
  char *base = review_input_label (report, input->path);
  char *name = g_markup_escape_text (base, -1);
  char *full = g_markup_escape_text (input->path, -1);
  char *length = review_format_time (input->duration);
  guint n_segments = 0;

  for (guint i = 0; i < report->segments->len; i++)
    n_segments += ((ReviewSegment *) g_ptr_array_index (report->segments, i))->input == index;

  /* title: file name, then what it holds */
  g_string_append_printf (out, "<text class=\"plot-file\" x=\"%d\" y=\"%.1f\"><title>%s</title>"
                          "%s<tspan class=\"plot-note\" dx=\"12\">%s · %u frames scored · "
                          "%u segment%s%s</tspan></text>\n", MARGIN_LEFT, row_top + 17, full, name,
                          length, input->frames->len, n_segments, n_segments == 1 ? "" : "s",
                          input->error ? " · decoding stopped early" : "");

  g_string_append_printf (out, "<rect class=\"plot-area\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                          "height=\"%.1f\"/>\n", f.left, f.top, f.width, f.height);

  /* score grid and labels */
  double y_step = nice_step (y_hi - y_lo, 4);
  for (double v = ceil (y_lo / y_step) * y_step; v <= y_hi + 1e-9; v += y_step) {
    double y = to_y (&f, v);
    g_string_append_printf (out, "<line class=\"plot-grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                            "y2=\"%.1f\"/><text class=\"plot-label\" x=\"%.1f\" y=\"%.1f\" "
                            "text-anchor=\"end\">%g</text>\n", f.left, y, f.left + f.width, y,
                            f.left - 6, y + 4, fabs (v) < 1e-9 * y_step ? 0.0 : v);
  }

  /* time grid and labels */
  double t_step = time_step (f.x1 - f.x0, 10);
  for (double t = 0; t <= f.x1 + 1e-9; t += t_step) {
    double x = to_x (&f, t);
    char *label = review_format_time (t);
    if (t_step >= 1 && g_str_has_suffix (label, ".0"))
      label[strlen (label) - 2] = '\0';  /* whole seconds: no tenths */
    g_string_append_printf (out, "<line class=\"plot-grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                            "y2=\"%.1f\"/><text class=\"plot-label\" x=\"%.1f\" y=\"%.1f\" "
                            "text-anchor=\"middle\">%s</text>\n", x, f.top, x, f.top + f.height,
                            x, f.top + f.height + 18, label);
    g_free (label);
  }

  /* anomalous segments, behind the line */
  double dt = review_input_frame_interval (input);
  for (guint i = 0; i < report->segments->len; i++) {
    const ReviewSegment *s = g_ptr_array_index (report->segments, i);
    if (s->input != index)
      continue;
    double x0 = to_x (&f, s->start_time), x1 = to_x (&f, MIN (s->end_time + dt, f.x1));
    char *start = review_format_time (s->start_time), *end = review_format_time (s->end_time);
    g_string_append_printf (out, "<a href=\"#seg-%d\"><rect class=\"plot-segment\" x=\"%.1f\" "
                            "y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>Segment %d: %s to "
                            "%s, peak score %.4g</title></rect></a>\n", s->id, x0, f.top,
                            MAX (x1 - x0, 2.0), f.height, s->id, start, end, s->peak_score);
    g_free (start);
    g_free (end);
  }

  /* the score: blue, redrawn red where it is above the threshold */
  double thr_y = to_y (&f, report->threshold);
  char *clip = g_strdup_printf ("above-%u", index);
  g_string_append_printf (out, "<clipPath id=\"%s\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                          "height=\"%.1f\"/></clipPath>\n", clip, f.left, f.top, f.width,
                          MAX (thr_y - f.top, 0.0));
  append_polyline (out, &f, input, "plot-score", NULL);
  append_polyline (out, &f, input, "plot-score-high", clip);
  g_free (clip);

  g_string_append_printf (out, "<line class=\"plot-threshold\" x1=\"%.1f\" y1=\"%.1f\" "
                          "x2=\"%.1f\" y2=\"%.1f\"/><text class=\"plot-threshold-label\" "
                          "x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">threshold %.4g</text>\n",
                          f.left, thr_y, f.left + f.width, thr_y, f.left + f.width - 4,
                          thr_y - 4, report->threshold);

  /* top frames: numbered markers along the top edge */
  for (guint i = 0; i < report->top_frames->len; i++) {
    const ReviewTopFrame *t = g_ptr_array_index (report->top_frames, i);
    if (t->input != index)
      continue;
    double x = to_x (&f, t->time);
    g_string_append_printf (out, "<a href=\"#top-%u\"><g class=\"plot-top\"><title>Top frame "
                            "%u: frame %" G_GUINT64_FORMAT ", score %.4g</title><path d=\"M%.1f "
                            "%.1f l-6 -10 h12 z\"/><text x=\"%.1f\" y=\"%.1f\" "
                            "text-anchor=\"middle\">%u</text></g></a>\n", i + 1, i + 1, t->frame,
                            t->score, x, f.top, x, f.top - 12, i + 1);
  }

  g_free (length);
  g_free (full);
  g_free (name);
  g_free (base);
}

void
review_plot_svg (GString *out, const ReviewReport *report)
{
  /* One score scale for all rows, so rows compare at a glance; the threshold always shows. */
  double lo = 0.0, hi = report->threshold * 1.25;

  for (guint i = 0; i < report->inputs->len; i++) {
    GArray *frames = ((ReviewInput *) g_ptr_array_index (report->inputs, i))->frames;
    for (guint j = 0; j < frames->len; j++) {
      float s = g_array_index (frames, ReviewFrame, j).score;
      lo = MIN (lo, s);
      hi = MAX (hi, s);
    }
  }
  if (!(hi > lo))
    hi = lo + 1.0;
  double step = nice_step (hi - lo, 4);
  hi = ceil (hi * 1.02 / step) * step;
  lo = floor (lo / step) * step;

  /* inline SVG in HTML needs no xmlns, and the page stays free of any URL */
  guint rows = MAX (report->inputs->len, 1);
  g_string_append_printf (out, "<svg class=\"plot\" viewBox=\"0 0 %d %u\" role=\"img\" "
                          "aria-label=\"Anomaly score over time\">\n", PLOT_WIDTH,
                          rows * ROW_HEIGHT);
  for (guint i = 0; i < report->inputs->len; i++)
    append_row (out, report, i, lo, hi);
  g_string_append (out, "</svg>\n");
}
