/* review-report.h — what funad-review found, and the files that show it to people and programs.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * funad-review fills a ReviewReport while it scores; this module turns it into DIR/index.html
 * (one self-contained page: inline SVG plot, base64 PNG pictures, no script, no network) and
 * DIR/report.json (the same findings for programs and tests).
 */
#ifndef REVIEW_REPORT_H
#define REVIEW_REPORT_H

#include <glib.h>

G_BEGIN_DECLS

/* One scored frame, kept for the plot: 12 bytes, so an hour at 30 fps is about 1.3 MB. */
typedef struct {
  guint32 frame;      /* frame number inside its file */
  float time;         /* seconds from the file's start */
  float score;
} ReviewFrame;

typedef struct {
  char *path;
  int width, height;         /* of its frames (0 when none was decoded) */
  guint64 n_decoded;         /* frames decoded */
  guint64 n_anomalous;       /* scored frames above the threshold */
  double duration;           /* seconds covered: last frame's time plus one frame */
  GArray *frames;            /* ReviewFrame of every scored frame, in order */
  char *error;               /* why decoding stopped early, or NULL */
} ReviewInput;

/* Consecutive anomalous frames of one input, short normal gaps bridged. */
typedef struct {
  int id;                    /* 1-based, in order of appearance across all inputs */
  guint input;               /* index into ReviewReport.inputs */
  guint64 start_frame, end_frame, peak_frame;
  double start_time, end_time, peak_time;  /* seconds; end is the last anomalous frame */
  float peak_score;
  guint n_anomalous;         /* anomalous frames inside it */
  GBytes *thumbnail;         /* PNG of the peak frame with its heat map, or NULL */
  int thumb_width, thumb_height;
} ReviewSegment;

typedef struct {
  guint input;
  guint64 frame;
  double time;
  float score;
  int segment;               /* id of the segment it lies in, 0 when below the threshold */
  GBytes *picture;           /* PNG of the full-size frame with its heat map */
  int width, height;
} ReviewTopFrame;

typedef struct {
  /* the model and the settings */
  char *model_path;
  char *model_scorer;        /* model metadata "scorer", may be NULL */
  char *training_summary;    /* model metadata "training_summary" (JSON), may be NULL */
  int input_size;
  double threshold;
  gboolean threshold_from_model;  /* FALSE: given with --threshold */
  double model_threshold;
  int every;
  double min_gap;
  int top;
  double top_spacing;
  int thumbnails;            /* most segments that get a picture */
  gboolean annotated;
  float heat_lo, heat_hi;    /* map values drawn transparent / hottest */
  char *command_line;
  char *generated_at;        /* ISO 8601 local time */
  double elapsed;            /* seconds the review took */
  gboolean interrupted;      /* Ctrl-C: the report covers what was scored until then */

  /* the findings */
  GPtrArray *inputs;         /* ReviewInput * */
  GPtrArray *segments;       /* ReviewSegment *, by id */
  GPtrArray *top_frames;     /* ReviewTopFrame *, highest score first */
} ReviewReport;

ReviewReport *review_report_new (void);
void review_report_free (ReviewReport *report);

/* Writes path atomically. */
gboolean review_report_write_html (const ReviewReport *report, const char *path,
                                   GError **error);
gboolean review_report_write_json (const ReviewReport *report, const char *path,
                                   GError **error);

/* Average time between scored frames of an input: how long one frame lasts on the plot and in
 * a segment's length. */
double review_input_frame_interval (const ReviewInput *input);

/* How the page names an input: its base name, or the path as given where another input has
 * the same base name (two cameras' test.avi). Free with g_free. */
char *review_input_label (const ReviewReport *report, const char *path);

/* "1:02:03.4" or "2:03.40": a time a person reads. */
char *review_format_time (double seconds);

G_END_DECLS

#endif /* REVIEW_REPORT_H */
