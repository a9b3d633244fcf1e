/* funad-review.c — reviews recorded footage: scores every frame and writes a report a person
 * opens in a browser and understands at a glance.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   funad-review --model MODEL [options] VIDEO... -o DIR
 *
 * Writes into DIR (created at the first scored frame), each file under NAME.part until all
 * are written, then renamed together, so an earlier report stays whole if this one fails:
 *   index.html   one self-contained page (no script, no network; opens from disk): the anomaly
 *                score over time, one row per video, with the threshold line and the anomalous
 *                segments shaded; a table of the segments (start, end, length, peak score and a
 *                picture of the peak frame with its heat map); the --top most anomalous frames
 *                at full size with their heat maps; the model and settings used.
 *   scores.csv   one row per scored frame: file,frame,time,score,anomaly (time in seconds from
 *                the file's start, anomaly 1 when score > threshold).
 *   report.json  the same findings for programs: inputs, segments, top frames, settings.
 *   NAME-annotated.avi   with --annotated: each video's scored frames with the heat map drawn
 *                over them (Motion-JPEG), NAME being the video's file name without extension.
 *
 * A segment is a run of anomalous frames (score above the threshold) of one video; a stretch
 * of normal frames lasting at most --min-gap seconds (from its first normal frame to the next
 * anomalous one) does not end it, so one defect that flickers around the threshold stays one
 * segment. The top frames are the highest-scoring frames at least --top-spacing seconds apart,
 * so they show different moments rather than neighbours of one peak.
 *
 * Memory stays bounded whatever the length: only a score per frame (12 bytes) is kept, plus
 * pictures of the current top frames and of the --thumbnails highest segments. Progress goes to
 * stderr. Ctrl-C stops decoding and still writes the report of what was scored (exit status
 * 130); a second Ctrl-C ends at once. A video that stops decoding part way is reported in the
 * page and on stderr, the others are still reviewed, and the exit status is 1.
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/gst.h>

#include "cli-error.h"
#include "frame-source.h"
#include "funad.h"
#include "png-encode.h"
#include "review-report.h"
#include "video-writer.h"

#define EXIT_INTERRUPTED 130
#define THUMB_WIDTH 200        /* segment pictures in the table */
#define HEAT_ALPHA 0.5f        /* the funaddetect element's default overlay opacity */
#define ASSUMED_FPS 25.0       /* for frames without timestamps */

static volatile sig_atomic_t interrupted;
/* whether on_interrupt's message starts on a new line: on a terminal, after the progress line or
 * the echoed ^C; in a log that would be a blank line (set before the handler is installed) */
static int stderr_on_tty;

/* A frame kept for a picture: packed RGB (stride 3 * width) and its anomaly map. */
typedef struct {
  guint8 *rgb;
  int width, height;
  float *map;
} Snapshot;

/* A current candidate for the top frames. */
typedef struct {
  guint input;
  guint64 frame;
  double time;
  float score;
  int segment;
  Snapshot *snapshot;  /* full size */
} TopCandidate;

typedef struct {
  /* settings */
  double threshold;
  int every;
  double min_gap;
  int top;
  double top_spacing;
  int max_thumbnails;
  gboolean annotated;
  gboolean quiet;
  gboolean progress_on_tty;
  const char *out_dir;
  char **inputs;             /* every input, so that no output is written over one */

  FunadScorer *scorer;
  int map_size;
  ReviewReport *report;
  FILE *csv;

  /* the input being decoded */
  guint input_index;
  guint n_inputs;
  ReviewInput *input;
  ReviewSegment *open;       /* segment still growing, or NULL */
  Snapshot *open_peak;       /* its peak frame at thumbnail size */
  double normal_since;       /* first normal frame after open's last anomalous one, or NAN */
  gboolean warned_no_pts;
  double last_time;
  double last_duration;      /* the last frame's own duration in s, NaN when unknown */

  GPtrArray *top_candidates; /* TopCandidate *, unordered */
  GPtrArray *thumbnailed;    /* ReviewSegment * holding a picture, at most max_thumbnails */

  /* --annotated */
  VideoWriter *writer;
  Snapshot *writer_first;    /* the first frame, held until the second gives the frame rate */
  guint64 writer_first_pts;
  GHashTable *used_names;    /* annotated file names already taken */
  GPtrArray *annotated_begun; /* their paths: each written as PATH.part until the report is */
  char *writer_path;
  guint8 *scratch;           /* a frame's worth, to draw the overlay into */
  gsize scratch_size;

  GError *error;             /* the first fatal error (cannot write a file, ...) */
  gint64 last_progress;
  gint64 input_start;
} Review;

/* ---- pictures ------------------------------------------------------------------------------- */

static Snapshot *
snapshot_new (int width, int height, int map_size)
{
  Snapshot *s = g_new0 (Snapshot, 1);

  s->width = width;
  s->height = height;
  s->rgb = g_malloc ((gsize) width * height * 3);
  s->map = g_new (float, (gsize) map_size * map_size);
  return s;
}

static void
snapshot_free (Snapshot *s)
{
  if (!s)
    return;
  g_free (s->rgb);
  g_free (s->map);
  g_free (s);
}

/* Copies image into s (same size, or smaller: then by averaging boxes of pixels) and the map. */
static void
snapshot_take (Snapshot *s, const FunadImage *image, const float *map, int map_size)
{
  memcpy (s->map, map, sizeof (float) * map_size * map_size);
  for (int y = 0; y < s->height; y++) {
    int y0 = (int) ((gint64) y * image->height / s->height);
    int y1 = MAX (y0 + 1, (int) ((gint64) (y + 1) * image->height / s->height));
    guint8 *out = s->rgb + (gsize) y * s->width * 3;

    for (int x = 0; x < s->width; x++) {
      int x0 = (int) ((gint64) x * image->width / s->width);
      int x1 = MAX (x0 + 1, (int) ((gint64) (x + 1) * image->width / s->width));
      guint sum[3] = { 0, 0, 0 };

      for (int yy = y0; yy < y1; yy++) {
        const guint8 *p = image->data + (gsize) yy * image->stride +
                          (gsize) x0 * image->pixel_stride;
        for (int xx = x0; xx < x1; xx++, p += image->pixel_stride) {
          sum[0] += p[image->r_offset];
          sum[1] += p[image->g_offset];
          sum[2] += p[image->b_offset];
        }
      }
      guint n = (guint) ((y1 - y0) * (x1 - x0));
      for (int c = 0; c < 3; c++)
        out[3 * x + c] = (guint8) ((sum[c] + n / 2) / n);
    }
  }
}

static FunadImage
snapshot_image (Snapshot *s)
{
  FunadImage image = { s->rgb, s->width, s->height, s->width * 3, 3, 0, 1, 2 };
  return image;
}

/* Draws the heat map over the snapshot (once: it changes the pixels) and encodes it. */
static GBytes *
snapshot_encode (Review *review, Snapshot *s, GError **error)
{
  FunadImage image = snapshot_image (s);

  funad_heatmap_blend (s->map, review->map_size, review->map_size, review->report->heat_lo,
                       review->report->heat_hi, HEAT_ALPHA, &image);
  return png_encode_rgb (s->rgb, s->width, s->height, s->width * 3, error);
}

/* ---- segments ------------------------------------------------------------------------------- */

/* Keeps a picture only for the max_thumbnails highest segments: memory and page size stay
 * bounded however many segments an hour of footage has. */
static void
close_segment (Review *review)
{
  ReviewSegment *s = review->open;

  if (!s)
    return;
  review->open = NULL;
  if (review->max_thumbnails <= 0)
    return;

  guint lowest = 0;
  for (guint i = 1; i < review->thumbnailed->len; i++)
    if (((ReviewSegment *) g_ptr_array_index (review->thumbnailed, i))->peak_score <
        ((ReviewSegment *) g_ptr_array_index (review->thumbnailed, lowest))->peak_score)
      lowest = i;
  gboolean full = review->thumbnailed->len >= (guint) review->max_thumbnails;
  if (full && s->peak_score <=
      ((ReviewSegment *) g_ptr_array_index (review->thumbnailed, lowest))->peak_score)
    return;

  GError *error = NULL;
  s->thumbnail = snapshot_encode (review, review->open_peak, &error);
  if (!s->thumbnail) {
    if (!review->error)
      g_propagate_error (&review->error, error);
    else
      g_clear_error (&error);
    return;
  }
  s->thumb_width = review->open_peak->width;
  s->thumb_height = review->open_peak->height;
  if (full) {
    ReviewSegment *dropped = g_ptr_array_index (review->thumbnailed, lowest);
    g_clear_pointer (&dropped->thumbnail, g_bytes_unref);
    g_ptr_array_remove_index_fast (review->thumbnailed, lowest);
  }
  g_ptr_array_add (review->thumbnailed, s);
}

static void
update_segments (Review *review, const FunadImage *image, const float *map, guint64 frame,
                 double time, float score)
{
  gboolean anomalous = score > review->threshold;

  if (!anomalous) {
    if (review->open && isnan (review->normal_since))
      review->normal_since = time;
    if (review->open && time - review->normal_since > review->min_gap)
      close_segment (review);
    return;
  }

  if (review->open && !isnan (review->normal_since) &&
      time - review->normal_since > review->min_gap)
    close_segment (review);
  review->normal_since = NAN;

  ReviewSegment *s = review->open;
  if (!s) {
    s = g_new0 (ReviewSegment, 1);
    s->id = review->report->segments->len + 1;
    s->input = review->input_index;
    s->start_frame = frame;
    s->start_time = time;
    s->peak_score = -INFINITY;
    g_ptr_array_add (review->report->segments, s);
    review->open = s;
  }
  s->end_frame = frame;
  s->end_time = time;
  s->n_anomalous++;
  if (score > s->peak_score) {
    s->peak_score = score;
    s->peak_frame = frame;
    s->peak_time = time;
    if (review->max_thumbnails > 0)
      snapshot_take (review->open_peak, image, map, review->map_size);
  }
}

/* ---- top frames ----------------------------------------------------------------------------- */

static void
candidate_free (gpointer data)
{
  TopCandidate *c = data;
  snapshot_free (c->snapshot);
  g_free (c);
}

/* Keeps the `top` highest frames at least top_spacing apart: a new frame replaces the
 * candidates near it when it beats all of them, else the lowest candidate when the list is
 * full. Only a new candidate costs a copy of the frame. */
static void
update_top (Review *review, const FunadImage *image, const float *map, guint64 frame,
            double time, float score)
{
  GPtrArray *top = review->top_candidates;
  guint lowest = 0;
  gboolean near_any = FALSE;

  if (review->top <= 0)
    return;
  for (guint i = 0; i < top->len; i++) {
    TopCandidate *c = g_ptr_array_index (top, i);

    if (c->input == review->input_index && fabs (c->time - time) < review->top_spacing) {
      if (c->score >= score)
        return;  /* a better frame close by already represents this moment */
      near_any = TRUE;
    }
    if (c->score < ((TopCandidate *) g_ptr_array_index (top, lowest))->score)
      lowest = i;
  }
  if (near_any) {
    for (guint i = top->len; i-- > 0;) {
      TopCandidate *c = g_ptr_array_index (top, i);
      if (c->input == review->input_index && fabs (c->time - time) < review->top_spacing)
        g_ptr_array_remove_index_fast (top, i);
    }
  } else if (top->len >= (guint) review->top) {
    if (score <= ((TopCandidate *) g_ptr_array_index (top, lowest))->score)
      return;
    g_ptr_array_remove_index_fast (top, lowest);
  }

  TopCandidate *c = g_new0 (TopCandidate, 1);
  c->input = review->input_index;
  c->frame = frame;
  c->time = time;
  c->score = score;
  c->segment = score > review->threshold && review->open ? review->open->id : 0;
  c->snapshot = snapshot_new (image->width, image->height, review->map_size);
  snapshot_take (c->snapshot, image, map, review->map_size);
  g_ptr_array_add (top, c);
}

static int
compare_candidates (gconstpointer a, gconstpointer b)
{
  const TopCandidate *x = *(TopCandidate *const *) a, *y = *(TopCandidate *const *) b;
  return (x->score < y->score) - (x->score > y->score);
}

/* The candidates become the report's top frames, highest first, pictures encoded. */
static gboolean
finish_top (Review *review, GError **error)
{
  g_ptr_array_sort (review->top_candidates, compare_candidates);
  for (guint i = 0; i < review->top_candidates->len; i++) {
    TopCandidate *c = g_ptr_array_index (review->top_candidates, i);
    GBytes *png = snapshot_encode (review, c->snapshot, error);

    if (!png)
      return FALSE;
    ReviewTopFrame *t = g_new0 (ReviewTopFrame, 1);
    t->input = c->input;
    t->frame = c->frame;
    t->time = c->time;
    t->score = c->score;
    t->segment = c->segment;
    t->picture = png;
    t->width = c->snapshot->width;
    t->height = c->snapshot->height;
    g_ptr_array_add (review->report->top_frames, t);
  }
  return TRUE;
}

/* TRUE when both paths name one existing file (links and other names included). */
static gboolean
same_file (const char *a, const char *b)
{
  GStatBuf sa, sb;

  return g_stat (a, &sa) == 0 && g_stat (b, &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

/* ---- annotated video ------------------------------------------------------------------------ */

/* TRUE when writing output (first as OUTPUT.part, then renamed) would replace input. */
static gboolean
writes_over (const char *output, const char *input)
{
  char *part = g_strconcat (output, ".part", NULL);
  gboolean over = same_file (output, input) || same_file (part, input);

  g_free (part);
  return over;
}

/* TRUE when writing path would replace one of the inputs. */
static gboolean
is_an_input (Review *review, const char *path)
{
  for (int i = 0; review->inputs[i]; i++)
    if (writes_over (path, review->inputs[i]))
      return TRUE;
  return FALSE;
}

/* DIR/NAME-annotated.avi, NAME unique among this run's outputs and never an input's name:
 * reviewing X.mp4 beside last run's X-annotated.avi must not overwrite that recording. */
static char *
annotated_path (Review *review, const char *input)
{
  char *base = g_path_get_basename (input);
  char *dot = strrchr (base, '.');

  if (dot && dot != base)
    *dot = '\0';
  char *name = g_strdup_printf ("%s-annotated.avi", base);
  char *path = g_build_filename (review->out_dir, name, NULL);
  for (int n = 2; g_hash_table_contains (review->used_names, name) || is_an_input (review, path);
       n++) {
    g_free (name);
    g_free (path);
    name = g_strdup_printf ("%s-%d-annotated.avi", base, n);
    path = g_build_filename (review->out_dir, name, NULL);
  }
  g_hash_table_add (review->used_names, name);
  g_free (base);
  return path;
}

/* Opens the writer at the rate the first two frames' timestamps give. */
static gboolean
writer_start (Review *review, guint64 next_pts, GError **error)
{
  Snapshot *first = review->writer_first;
  int fps_n = (int) ASSUMED_FPS, fps_d = 1;

  if (next_pts != GST_CLOCK_TIME_NONE && review->writer_first_pts != GST_CLOCK_TIME_NONE &&
      next_pts > review->writer_first_pts)
    gst_util_double_to_fraction (1e9 / (double) (next_pts - review->writer_first_pts), &fps_n,
                                 &fps_d);
  if (fps_n <= 0 || fps_d <= 0) {  /* frames too far apart for a fraction */
    fps_n = (int) ASSUMED_FPS;
    fps_d = 1;
  }
  char *part = g_strconcat (review->writer_path, ".part", NULL);
  review->writer = video_writer_open (part, first->width, first->height, fps_n, fps_d, error);
  g_free (part);
  gboolean ok = review->writer != NULL;
  if (ok) {
    g_ptr_array_add (review->annotated_begun, g_strdup (review->writer_path));
    FunadImage image = snapshot_image (first);
    guint64 pts = review->writer_first_pts == GST_CLOCK_TIME_NONE ? 0 : review->writer_first_pts;
    ok = video_writer_push (review->writer, &image, pts, error);
  }
  /* held for this input only, written or not: never the next input's first frame */
  g_clear_pointer (&review->writer_first, snapshot_free);
  return ok;
}

static gboolean
write_annotated (Review *review, const FunadImage *image, const float *map, guint64 pts,
                 GError **error)
{
  gsize size = (gsize) image->width * image->height * 3;

  if (review->scratch_size < size) {
    g_free (review->scratch);
    review->scratch = g_malloc (size);
    review->scratch_size = size;
  }
  FunadImage copy = { review->scratch, image->width, image->height, image->width * 3, 3, 0, 1, 2 };
  for (int y = 0; y < image->height; y++) {
    const guint8 *in = image->data + (gsize) y * image->stride;
    guint8 *out = copy.data + (gsize) y * copy.stride;
    for (int x = 0; x < image->width; x++, in += image->pixel_stride, out += 3) {
      out[0] = in[image->r_offset];
      out[1] = in[image->g_offset];
      out[2] = in[image->b_offset];
    }
  }
  funad_heatmap_blend (map, review->map_size, review->map_size, review->report->heat_lo,
                       review->report->heat_hi, HEAT_ALPHA, &copy);

  if (review->writer)
    return video_writer_push (review->writer, &copy, pts, error);
  if (!review->writer_first) {
    review->writer_first = snapshot_new (image->width, image->height, 1);
    memcpy (review->writer_first->rgb, copy.data, size);
    review->writer_first_pts = pts;
    return TRUE;
  }
  return writer_start (review, pts, error) && video_writer_push (review->writer, &copy, pts,
                                                                   error);
}

static gboolean
finish_annotated (Review *review, GError **error)
{
  gboolean ok = TRUE;

  if (review->writer_first)  /* a single scored frame */
    ok = writer_start (review, GST_CLOCK_TIME_NONE, error);
  if (review->writer) {
    if (ok)
      ok = video_writer_close (review->writer, error);
    else
      video_writer_close (review->writer, NULL);
    review->writer = NULL;
  }
  g_clear_pointer (&review->writer_first, snapshot_free);
  g_clear_pointer (&review->writer_path, g_free);
  return ok;
}

/* ---- progress ------------------------------------------------------------------------------- */

/* On a terminal one line rewritten twice a second; in a log, a line every ten seconds. */
static void
report_progress (Review *review, gboolean force)
{
  gint64 now = g_get_monotonic_time ();
  gint64 interval = review->progress_on_tty ? G_USEC_PER_SEC / 2 : 10 * G_USEC_PER_SEC;

  if (review->quiet || (!force && now - review->last_progress < interval))
    return;
  review->last_progress = now;

  ReviewInput *input = review->input;
  double seconds = (now - review->input_start) / 1e6;
  char *position = review_format_time (review->last_time);
  guint n_segments = 0;
  for (guint i = 0; i < review->report->segments->len; i++)
    n_segments += ((ReviewSegment *) g_ptr_array_index (review->report->segments, i))->input ==
                  review->input_index;

  g_printerr ("%sfunad-review: [%u/%u] %s at %s: %u frame%s scored, %u segment%s, %.0f "
              "frames/s%s", review->progress_on_tty ? "\r\033[K" : "", review->input_index + 1,
              review->n_inputs, input->path, position, input->frames->len,
              input->frames->len == 1 ? "" : "s", n_segments, n_segments == 1 ? "" : "s",
              seconds > 0 ? input->n_decoded / seconds : 0.0,
              review->progress_on_tty ? "" : "\n");
  g_free (position);
}

/* ---- scoring -------------------------------------------------------------------------------- */

static FILE *open_output (const char *dir, GError **error);

static void
on_interrupt (int signum)
{
  static const char said[] = "\nfunad-review: interrupted; writing the report of what was "
                             "scored (interrupt again to quit without it)\n";
  interrupted = 1;
  signal (signum, SIG_DFL);  /* a second Ctrl-C ends at once */
  /* async-signal-safe; if it fails, the report is written all the same */
  const char *text = stderr_on_tty ? said : said + 1;
  ssize_t unused = write (STDERR_FILENO, text, said + sizeof said - 1 - text);
  (void) unused;
}

static void
write_csv_row (Review *review, guint64 frame, double time, float score)
{
  const char *path = review->input->path;

  /* RFC 4180 quoting, for file names with commas or quotes */
  if (strpbrk (path, ",\"\r\n")) {
    fputc ('"', review->csv);
    for (const char *p = path; *p; p++) {
      if (*p == '"')
        fputc ('"', review->csv);
      fputc (*p, review->csv);
    }
    fputc ('"', review->csv);
  } else {
    fputs (path, review->csv);
  }
  fprintf (review->csv, ",%" G_GUINT64_FORMAT ",%.4f,%.9g,%d\n", frame, time, score,
           score > review->threshold);
}

static gboolean
on_frame (const FunadImage *image, const FrameInfo *info, gpointer user_data, GError **error)
{
  Review *review = user_data;
  ReviewInput *input = review->input;

  if (interrupted || review->error)
    return FALSE;
  input->n_decoded++;
  if (input->width == 0) {
    input->width = image->width;
    input->height = image->height;
    int thumb_w = MIN (THUMB_WIDTH, image->width);
    int thumb_h = MAX (1, (int) ((gint64) image->height * thumb_w / image->width));
    review->open_peak = snapshot_new (thumb_w, thumb_h, review->map_size);
  }
  if (info->index % review->every != 0)
    return TRUE;
  if (image->width != input->width || image->height != input->height) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "%s: frame %" G_GUINT64_FORMAT
                 " is %dx%d where the video began at %dx%d", info->path, info->index,
                 image->width, image->height, input->width, input->height);
    return FALSE;
  }
  float score;
  const float *map;
  if (!funad_scorer_score (review->scorer, image, &score, &map, error)) {
    g_prefix_error (error, "%s: frame %" G_GUINT64_FORMAT ": ", info->path, info->index);
    return FALSE;
  }
  /* DIR and scores.csv only with the first frame scored: a run that scores nothing leaves no
   * empty folder behind. Failing here is the run's error, not this input's. */
  if (!review->csv && !(review->csv = open_output (review->out_dir, &review->error)))
    return FALSE;

  double time;
  if (info->pts != G_MAXUINT64) {
    time = info->pts / 1e9;
  } else {
    if (!review->warned_no_pts && !review->quiet)
      g_printerr ("funad-review: warning: %s has no timestamps; assuming %g frames per "
                  "second\n", info->path, ASSUMED_FPS);
    review->warned_no_pts = TRUE;
    time = info->index / ASSUMED_FPS;
  }
  review->last_time = time;
  review->last_duration = info->duration != G_MAXUINT64 ? info->duration / 1e9 : NAN;

  ReviewFrame row = { (guint32) info->index, (float) time, score };
  g_array_append_val (input->frames, row);
  input->n_anomalous += score > review->threshold;
  write_csv_row (review, info->index, time, score);

  update_segments (review, image, map, info->index, time, score);
  update_top (review, image, map, info->index, time, score);
  if (review->annotated &&
      !write_annotated (review, image, map, info->pts == G_MAXUINT64 ? (guint64) (time * 1e9) :
                        info->pts, &review->error))
    return FALSE;
  if (review->error)
    return FALSE;
  report_progress (review, FALSE);
  return TRUE;
}

/* Scores one video into the report. A decoding failure is recorded with the input (the other
 * inputs are still reviewed); FALSE means a fatal error, in review->error. */
static gboolean
review_input (Review *review, const char *path)
{
  ReviewInput *input = g_new0 (ReviewInput, 1);
  GError *error = NULL;

  input->path = g_strdup (path);
  input->frames = g_array_new (FALSE, FALSE, sizeof (ReviewFrame));
  review->input = input;
  review->input_index = review->report->inputs->len;
  g_ptr_array_add (review->report->inputs, input);
  review->open = NULL;
  review->normal_since = NAN;
  review->last_time = 0;
  review->last_duration = NAN;
  review->input_start = g_get_monotonic_time ();
  review->last_progress = 0;
  if (review->annotated)
    review->writer_path = annotated_path (review, path);

  if (!frame_source_decode_file (path, FRAME_FORMAT_RGB, on_frame, review, NULL, &error) &&
      error && !review->error)
    input->error = g_strdup (error->message);
  g_clear_error (&error);

  close_segment (review);
  g_clear_pointer (&review->open_peak, snapshot_free);
  if (review->annotated) {
    GError *write_error = NULL;

    /* This input's failure, not the run's: the report of every input is still written. */
    if (!finish_annotated (review, &write_error) && !input->error)
      input->error = g_strdup (write_error ? write_error->message
                                           : "the annotated video could not be written");
    g_clear_error (&write_error);
  }

  /* the time the video covers: its last frame's time plus one frame */
  GArray *frames = input->frames;
  if (frames->len > 0) {
    double last = g_array_index (frames, ReviewFrame, frames->len - 1).time;
    /* one frame: its own duration where the stream gives one */
    double step = frames->len > 1 ? (last - g_array_index (frames, ReviewFrame, 0).time) /
                                    (frames->len - 1)
                  : isfinite (review->last_duration) ? review->last_duration : 1.0 / ASSUMED_FPS;
    input->duration = last + MAX (step, 0.0);
  }

  /* A file that failed before a frame was scored has no progress to show; main names it
   * (warn_unscored_inputs). */
  if (!review->quiet && !(frames->len == 0 && (input->error || review->error))) {
    if (review->progress_on_tty)
      g_printerr ("\r\033[K");
    report_progress (review, TRUE);
    if (review->progress_on_tty)
      g_printerr ("\n");
  }
  return review->error == NULL;
}

/* Names, as warnings, the inputs that failed before a frame of theirs was scored (they printed
 * no progress line), but for `told`, the one the run's closing error names. */
static void
warn_unscored_inputs (const ReviewReport *report, const char *told)
{
  for (guint i = 0; i < report->inputs->len; i++) {
    ReviewInput *input = g_ptr_array_index (report->inputs, i);
    if (input->frames->len == 0 && input->error && input->error != told)
      g_printerr ("funad-review: warning: %s\n", input->error);
  }
}

/* ---- checks before any work ----------------------------------------------------------------- */

static gboolean
check_inputs (char **inputs, const char *out_dir, GError **error)
{
  static const char *const report_files[] = { "index.html", "report.json", "scores.csv", NULL };

  for (int i = 0; inputs[i]; i++) {
    if (g_file_test (inputs[i], G_FILE_TEST_IS_DIR)) {
      g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "%s: is a folder; name video files",
                   inputs[i]);
      return FALSE;
    }
    if (access (inputs[i], R_OK) != 0) {
      g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: %s", inputs[i], g_strerror (errno));
      return FALSE;
    }
    /* One file named twice would be scored twice: every segment and top frame doubled. */
    for (int j = 0; j < i; j++)
      if (same_file (inputs[i], inputs[j])) {
        g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "%s: the same file as %s, given "
                     "twice", inputs[i], inputs[j]);
        return FALSE;
      }
    /* the report's own files are replaced at the end: never over an input */
    for (int k = 0; report_files[k]; k++) {
      char *report_file = g_build_filename (out_dir, report_files[k], NULL);

      if (writes_over (report_file, inputs[i])) {
        g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "%s: the report would be written "
                     "over this input (%s); choose another -o folder", inputs[i], report_file);
        g_free (report_file);
        return FALSE;
      }
      g_free (report_file);
    }
  }
  return TRUE;
}

/* DIR is made only when a frame is scored (open_output); a folder that could not be made or
 * written fails here, before any decoding, and nothing is created. */
static gboolean
check_output (const char *dir, GError **error)
{
  if (g_file_test (dir, G_FILE_TEST_EXISTS) && !g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: exists and is not a folder", dir);
    return FALSE;
  }
  /* DIR itself, or the nearest existing folder above it that it would be made in */
  char *existing = g_strdup (dir);
  while (!g_file_test (existing, G_FILE_TEST_EXISTS)) {
    char *parent = g_path_get_dirname (existing);
    gboolean top = strcmp (parent, existing) == 0;

    g_free (existing);
    existing = parent;
    if (top)
      break;
  }
  int saved = 0;
  if (!g_file_test (existing, G_FILE_TEST_IS_DIR))
    saved = ENOTDIR;
  else if (access (existing, W_OK | X_OK) != 0)
    saved = errno;
  if (saved)
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, strcmp (existing, dir) == 0 ?
                 "%s: cannot write: %s" : "%s: cannot create folder: %s", dir,
                 g_strerror (saved));
  g_free (existing);
  return saved == 0;
}

/* Creates DIR and opens DIR/scores.csv, at the first frame to score. */
static FILE *
open_output (const char *dir, GError **error)
{
  if (g_file_test (dir, G_FILE_TEST_EXISTS) && !g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: exists and is not a folder", dir);
    return NULL;
  }
  if (g_mkdir_with_parents (dir, 0777) != 0) {
    int saved = errno;
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: cannot create folder: %s", dir,
                 g_strerror (saved));
    return NULL;
  }
  /* Under a temporary name until the report is written: an earlier report in DIR stays whole
   * (its scores.csv with it) until this one replaces it. */
  char *path = g_build_filename (dir, "scores.csv.part", NULL);
  FILE *csv = g_fopen (path, "w");

  if (!csv) {
    int saved = errno;
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: cannot write: %s", path,
                 g_strerror (saved));
  } else {
    fputs ("file,frame,time,score,anomaly\n", csv);
  }
  g_free (path);
  return csv;
}

static char *
quoted_command_line (int argc, char **argv)
{
  GString *line = g_string_new (NULL);

  for (int i = 0; i < argc; i++) {
    gboolean plain = argv[i][0] && strspn (argv[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
                                           "QRSTUVWXYZ0123456789-_./=:,+@%") == strlen (argv[i]);
    char *quoted = plain ? g_strdup (argv[i]) : g_shell_quote (argv[i]);

    g_string_append_printf (line, "%s%s", i ? " " : "", quoted);
    g_free (quoted);
  }
  return g_string_free (line, FALSE);
}

/* --threshold, parsed here so that "nan" is refused rather than taken for "not given" (NaN
 * is how the model's own threshold is asked for). */
static double threshold_option = NAN;

static gboolean
parse_threshold (const char *name, const char *value, gpointer data, GError **error)
{
  char *end = NULL;
  double v = g_ascii_strtod (value, &end);
  if (end == value || *end || !isfinite (v)) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--threshold must be a finite "
                 "number, not '%s'", value);
    return FALSE;
  }
  threshold_option = v;
  return TRUE;
}

int
main (int argc, char **argv)
{
  char *model_path = NULL, *out_dir = NULL;
  char **inputs = NULL;
  double threshold = NAN, min_gap = 0.25, top_spacing = 1.0;
  int every = 1, top = 8, thumbnails = 100;
  gboolean annotated = FALSE, quiet = FALSE;
  GError *error = NULL;
  gint64 start = g_get_monotonic_time ();
  char *command_line = quoted_command_line (argc, argv);
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "Model file (from funad-train)",
      "MODEL" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out_dir, "Folder to write the report into "
      "(created if missing)", "DIR" },
    { "threshold", 0, 0, G_OPTION_ARG_CALLBACK, parse_threshold, "Anomaly threshold (default: the "
      "model's own, chosen without labels at training time)", "X" },
    { "every", 0, 0, G_OPTION_ARG_INT, &every, "Score every Nth frame of each video "
      "(default 1: all)", "N" },
    { "min-gap", 0, 0, G_OPTION_ARG_DOUBLE, &min_gap, "Normal stretches of at most this many "
      "seconds do not split an anomalous segment (default 0.25)", "SECONDS" },
    { "top", 0, 0, G_OPTION_ARG_INT, &top, "Show the K most anomalous frames at full size "
      "(default 8)", "K" },
    { "top-spacing", 0, 0, G_OPTION_ARG_DOUBLE, &top_spacing, "Top frames are at least this "
      "far apart in time (default 1)", "SECONDS" },
    { "thumbnails", 0, 0, G_OPTION_ARG_INT, &thumbnails, "Pictures for the N highest segments "
      "only, to bound memory and page size (default 100)", "N" },
    { "annotated", 0, 0, G_OPTION_ARG_NONE, &annotated, "Also write DIR/NAME-annotated.avi: "
      "each video's scored frames with the heat map", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing but errors", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &inputs, NULL, "VIDEO..." },
    { NULL }
  };
  GOptionContext *context = g_option_context_new ("- score recorded footage and write a "
                                                  "report to open in a browser");

  /* Messages in the user's character set, numbers in files always with a decimal point. */
  setlocale (LC_ALL, "");
  setlocale (LC_NUMERIC, "C");
  g_set_prgname ("funad-review");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, gst_init_get_option_group ());
  g_option_context_set_description (context,
      "Writes into DIR: index.html (open it in any browser; self-contained, works offline):\n"
      "the anomaly score over time per video with the threshold and the anomalous segments,\n"
      "a table of the segments with a picture of each, the most anomalous frames at full\n"
      "size with their heat maps, and the model and settings used; scores.csv (file, frame,\n"
      "time, score, anomaly per scored frame); report.json (the segments and top frames).\n"
      "\n"
      "A segment is a run of frames scoring above the threshold; normal stretches up to\n"
      "--min-gap seconds long inside it do not split it. Memory stays bounded for hours of\n"
      "footage. Ctrl-C stops and writes the report of what was scored (exit status 130).\n"
      "\n"
      "Example: funad-review --model line3.safetensors -o review/ shift1.mp4 shift2.mp4");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return cli_fail_error (error);
  g_option_context_free (context);
  if (cli_fail_bad_values (entries))
    return EXIT_FAILURE;

  if (!model_path)
    return cli_fail ("no model given: use --model MODEL");
  if (!out_dir)
    return cli_fail ("no output folder given: use -o DIR");
  if (!inputs || !inputs[0])
    return cli_fail ("no video given: name one or more video files");
  if (every < 1)
    return cli_fail ("--every must be at least 1");
  if (top < 0 || thumbnails < 0)
    return cli_fail ("--top and --thumbnails must not be negative");
  if (!(min_gap >= 0) || !(top_spacing >= 0))
    return cli_fail ("--min-gap and --top-spacing must not be negative");
  threshold = threshold_option;

  /* From here on Ctrl-C ends with a report of what was scored; before any scoring, with
   * nothing written at all (an earlier report in DIR left as it was). */
  stderr_on_tty = isatty (STDERR_FILENO);
  signal (SIGINT, on_interrupt);
  signal (SIGTERM, on_interrupt);
  FunadModel *model = funad_model_load (model_path, &error);
  if (!model)
    return cli_fail_error (error);
  if (!check_inputs (inputs, out_dir, &error)) {
    funad_model_unref (model);
    return cli_fail_error (error);
  }
  if (interrupted) {
    funad_model_unref (model);
    g_printerr ("funad-review: interrupted before scoring; nothing written\n");
    return EXIT_INTERRUPTED;
  }
  if (!check_output (out_dir, &error)) {
    funad_model_unref (model);
    return cli_fail_error (error);
  }

  frame_source_init (NULL, NULL);

  ReviewReport *report = review_report_new ();
  report->model_path = g_strdup (model_path);
  report->model_scorer = g_strdup (funad_model_get_metadata (model, "scorer"));
  report->training_summary = g_strdup (funad_model_get_metadata (model, "training_summary"));
  report->input_size = funad_model_input_size (model);
  report->model_threshold = funad_model_threshold (model);
  report->threshold_from_model = isnan (threshold);
  report->threshold = report->threshold_from_model ? report->model_threshold : threshold;
  /* the element's colour ramp: transparent at half the threshold, hottest at 1.5 times */
  report->heat_lo = (float) (0.5 * report->threshold);
  report->heat_hi = (float) (1.5 * report->threshold);
  report->every = every;
  report->min_gap = min_gap;
  report->top = top;
  report->top_spacing = top_spacing;
  report->thumbnails = thumbnails;
  report->annotated = annotated;
  report->command_line = command_line;

  Review review = { 0 };
  review.threshold = report->threshold;
  review.every = every;
  review.min_gap = min_gap;
  review.top = top;
  review.top_spacing = top_spacing;
  review.max_thumbnails = thumbnails;
  review.annotated = annotated;
  review.quiet = quiet;
  review.progress_on_tty = isatty (STDERR_FILENO);
  review.out_dir = out_dir;
  review.inputs = inputs;
  review.n_inputs = g_strv_length (inputs);
  review.scorer = funad_scorer_new (model);
  /* funaddetect's default threads: the same score for a frame, to the bit */
  funad_scorer_set_threads (review.scorer, funad_scorer_auto_threads ());
  review.map_size = funad_model_input_size (model);
  review.report = report;
  review.top_candidates = g_ptr_array_new_with_free_func (candidate_free);
  review.thumbnailed = g_ptr_array_new ();
  review.used_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  review.annotated_begun = g_ptr_array_new_with_free_func (g_free);

  for (int i = 0; inputs[i] && !interrupted; i++)
    if (!review_input (&review, inputs[i]))
      break;
  signal (SIGINT, SIG_DFL);
  signal (SIGTERM, SIG_DFL);
  report->interrupted = interrupted != 0;

  /* Even after an interruption or a broken video the report shows what was scored; but when
   * nothing was (every input undecodable), an earlier report in DIR is worth more than an
   * empty one, so nothing is written. */
  guint64 scored = 0;
  const char *broken = NULL;
  for (guint i = 0; i < report->inputs->len; i++) {
    ReviewInput *input = g_ptr_array_index (report->inputs, i);
    scored += input->frames->len;
    if (input->error && !broken)
      broken = input->error;
  }
  /* The closing line names the first broken input in two cases: this error, or (below) a
   * report written without an interruption. */
  gboolean error_names_broken = FALSE;
  if (scored == 0 && !review.error && interrupted) {
    g_set_error (&review.error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "interrupted before any frame "
                 "was scored; nothing written");
  } else if (scored == 0 && !review.error) {
    g_set_error (&review.error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "%s; no frame scored, nothing "
                 "written", broken ? broken : "no frame in the inputs");
    error_names_broken = TRUE;
  }
  int rc = EXIT_SUCCESS;
  char *html_path = g_build_filename (out_dir, "index.html", NULL);
  char *json_path = g_build_filename (out_dir, "report.json", NULL);
  char *csv_path = g_build_filename (out_dir, "scores.csv", NULL);
  char *csv_part = g_strconcat (csv_path, ".part", NULL);
  char *json_part = g_strconcat (json_path, ".part", NULL);
  char *html_part = g_strconcat (html_path, ".part", NULL);
  GDateTime *now = g_date_time_new_now_local ();

  report->generated_at = g_date_time_format (now, "%Y-%m-%d %H:%M:%S");
  g_date_time_unref (now);
  /* no scores.csv opened means no frame scored: review.error is set and nothing is written */
  gboolean csv_opened = review.csv != NULL;
  if (csv_opened && fclose (review.csv) != 0 && !review.error)
    g_set_error (&review.error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: cannot write: %s", csv_part,
                 g_strerror (errno));
  if (!review.error)
    finish_top (&review, &review.error);
  report->elapsed = (g_get_monotonic_time () - start) / 1e6;
  /* Every file under a temporary name first (the annotated videos as they were decoded), then
   * all renamed together, the page last: a failure before (a full disk) leaves an earlier
   * report's files as they were, together. */
  if (!review.error && review_report_write_json (report, json_part, &review.error))
    review_report_write_html (report, html_part, &review.error);
  GPtrArray *finals = g_ptr_array_new ();  /* paths owned elsewhere */
  for (guint i = 0; i < review.annotated_begun->len; i++)
    g_ptr_array_add (finals, g_ptr_array_index (review.annotated_begun, i));
  if (csv_opened) {
    g_ptr_array_add (finals, csv_path);
    g_ptr_array_add (finals, json_path);
    g_ptr_array_add (finals, html_path);
  }
  for (guint i = 0; i < finals->len; i++) {
    const char *final = g_ptr_array_index (finals, i);
    char *part = g_strconcat (final, ".part", NULL);
    if (review.error)
      g_unlink (part);
    else if (g_rename (part, final) != 0)
      g_set_error (&review.error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: cannot rename to %s: %s",
                   part, final, g_strerror (errno));
    g_free (part);
  }
  g_ptr_array_unref (finals);

  if (!quiet)
    warn_unscored_inputs (report, (review.error ? error_names_broken : !interrupted) ? broken
                                                                                      : NULL);
  if (review.error && interrupted && scored == 0) {
    if (!quiet)
      g_printerr ("funad-review: %s\n", review.error->message);
    rc = EXIT_INTERRUPTED;
  } else if (review.error) {
    rc = cli_fail (review.error->message);
  } else {
    if (!quiet)
      g_printerr ("funad-review: wrote %s: %u anomalous segment%s in %u video%s (%"
                  G_GUINT64_FORMAT " frame%s scored, %.1f s)\n", html_path,
                  report->segments->len, report->segments->len == 1 ? "" : "s",
                  report->inputs->len, report->inputs->len == 1 ? "" : "s", scored,
                  scored == 1 ? "" : "s", report->elapsed);
    if (interrupted) {
      if (!quiet)
        g_printerr ("funad-review: interrupted; the report covers the frames scored so far\n");
      rc = EXIT_INTERRUPTED;
    } else if (broken) {
      rc = cli_fail (broken);
    }
  }

  g_clear_error (&review.error);
  g_free (html_path);
  g_free (json_path);
  g_free (csv_path);
  g_free (csv_part);
  g_free (json_part);
  g_free (html_part);
  g_free (review.scratch);
  g_hash_table_unref (review.used_names);
  g_ptr_array_unref (review.annotated_begun);
  g_ptr_array_unref (review.thumbnailed);
  g_ptr_array_unref (review.top_candidates);
  funad_scorer_free (review.scorer);
  funad_model_unref (model);
  review_report_free (report);
  g_strfreev (inputs);
  g_free (model_path);
  g_free (out_dir);
  return rc;
}
