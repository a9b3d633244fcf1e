/* funad-make-demo.c — makes synthetic conveyor footage to try funad on, with known labels.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Textured parts ride a conveyor belt past a fixed camera. Every part has its own procedural
 * texture (smoothed value noise, brushing, grain), drawn deterministically from the seed; the
 * lighting drifts a little and the sensor adds noise. Some parts carry a defect: a dark
 * scratch, a dark or bright spot, or a crack, covering a few percent of the part.
 *
 * The training video is contaminated on purpose (a fraction of its parts are defective, as in
 * real unlabeled footage); the test video shows defective parts regularly and comes with a
 * per-frame label file. --png-layout also writes the frames in the MVTec AD folder layout with
 * exact defect masks, for funad-eval.
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "cli-error.h"

/* Scene geometry, as fractions of the frame: parts are 30% x 34% of it, one enters every
 * 0.55 frame widths, and the belt moves 16% of the width per frame, so a part crosses the view
 * in about 8 frames and two are usually in sight. */
#define PART_WIDTH_FRACTION 0.30
#define PART_HEIGHT_FRACTION 0.34
#define PART_SPACING_FRACTION 0.55
#define BELT_SPEED_FRACTION 0.16
#define RAIL_FRACTION 0.09
/* The camera looks through an opening in the machine's housing: a static frame around the
 * belt. Parts slide in and out under its sides, so the image border never cuts a part. */
#define SIDE_COVER_FRACTION 0.07

/* A frame is labelled defective when at least this share of a defect's pixels is in view.
 * Frames with a smaller sliver in view are "ambiguous": labelled 0 in the CSV and left out of
 * the PNG layout, whose good images must have empty masks. */
#define VISIBLE_DEFECT_SHARE 0.2

typedef enum {
  DEFECT_NONE,
  DEFECT_SCRATCH,
  DEFECT_DARK_SPOT,
  DEFECT_BRIGHT_SPOT,
  DEFECT_CRACK,
  N_DEFECT_KINDS
} DefectKind;

static const char *const defect_names[N_DEFECT_KINDS] = {
  "good", "scratch", "dark_spot", "bright_spot", "crack"
};

typedef struct {
  int w, h;              /* size in pixels (even) */
  int cy;                /* centre row */
  float corner;          /* corner radius */
  float tint[3];
  float *lum;            /* w x h surface luminance in [0, 1], defect included */
  float *defect;         /* w x h defect coverage in [0, 1], NULL for a good part */
  DefectKind kind;
  int defect_pixels;     /* pixels with coverage >= 0.5 */
} Part;

typedef struct {
  const char *name;      /* "train" or "test": also selects the random stream */
  int width, height, n_frames;
  guint64 seed;
  int part_w, part_h, spacing, speed;
  int rail, window_left, window_right;   /* the opening: rows [rail, height - rail), columns
                                          * [window_left, window_right) */
  int n_parts;
  DefectKind *part_kind; /* n_parts: which parts are defective, and how */
  Part **parts;          /* n_parts, made when first in view, freed when gone */
  float *belt;           /* belt texture, belt_period x height, tiles horizontally */
  int belt_period;
  float light_phase;
} Scene;

/* ---- procedural texture ----------------------------------------------------------------- */

static GRand *
rand_for (guint64 seed, const char *stream, guint32 index)
{
  guint32 words[4] = { (guint32) seed, (guint32) (seed >> 32), g_str_hash (stream), index };
  return g_rand_new_with_seed_array (words, 4);
}

static float
smoothstep01 (float t)
{
  return t * t * (3.0f - 2.0f * t);
}

/* Adds amp * smooth value noise (random lattice values, smoothstep-interpolated) with lattice
 * spacing cell_x x cell_y to a w x h field. With wrap_x the lattice repeats every w pixels, so
 * the field tiles horizontally. */
static void
add_value_noise (float *field, int w, int h, float cell_x, float cell_y, float amp,
                 gboolean wrap_x, GRand *rng)
{
  int gw = wrap_x ? MAX (1, (int) lroundf (w / cell_x)) : (int) ceilf (w / cell_x) + 2;
  int gh = (int) ceilf (h / cell_y) + 2;
  float *lattice = g_new (float, (gsize) gw * gh);

  if (wrap_x)
    cell_x = (float) w / gw;
  for (int i = 0; i < gw * gh; i++)
    lattice[i] = (float) g_rand_double_range (rng, -1.0, 1.0);
  for (int y = 0; y < h; y++) {
    float fy = y / cell_y;
    int iy = (int) fy;
    float ty = smoothstep01 (fy - iy);
    const float *row0 = lattice + (gsize) iy * gw, *row1 = row0 + gw;

    for (int x = 0; x < w; x++) {
      float fx = x / cell_x;
      int ix = (int) fx;
      float tx = smoothstep01 (fx - ix);
      int x0 = wrap_x ? ix % gw : ix, x1 = wrap_x ? (ix + 1) % gw : ix + 1;
      float top = row0[x0] + (row0[x1] - row0[x0]) * tx;
      float bottom = row1[x0] + (row1[x1] - row1[x0]) * tx;

      field[(gsize) y * w + x] += amp * (top + (bottom - top) * ty);
    }
  }
  g_free (lattice);
}

static void
add_grain (float *field, gsize n, float amp, GRand *rng)
{
  for (gsize i = 0; i < n; i++)
    field[i] += amp * (float) (g_rand_double (rng) + g_rand_double (rng) - 1.0);
}

/* ---- defects ---------------------------------------------------------------------------- */

static float
distance_to_segment (float px, float py, float ax, float ay, float bx, float by)
{
  float dx = bx - ax, dy = by - ay;
  float len2 = dx * dx + dy * dy;
  float t = len2 > 0.0f ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0.0f;

  t = CLAMP (t, 0.0f, 1.0f);
  return hypotf (px - ax - t * dx, py - ay - t * dy);
}

/* Paints a stroke of the given width (anti-aliased) from (ax, ay) to (bx, by). */
static void
paint_stroke (float *cover, int w, int h, float ax, float ay, float bx, float by, float width)
{
  int x0 = MAX (0, (int) floorf (MIN (ax, bx) - width)), x1 = MIN (w - 1, (int) ceilf (MAX (ax, bx) + width));
  int y0 = MAX (0, (int) floorf (MIN (ay, by) - width)), y1 = MIN (h - 1, (int) ceilf (MAX (ay, by) + width));

  for (int y = y0; y <= y1; y++)
    for (int x = x0; x <= x1; x++) {
      float d = distance_to_segment (x + 0.5f, y + 0.5f, ax, ay, bx, by);
      float c = CLAMP (width * 0.5f + 0.5f - d, 0.0f, 1.0f);
      float *dst = &cover[(gsize) y * w + x];

      *dst = MAX (*dst, c);
    }
}

/* Draws the coverage of one defect of the given kind somewhere inside a w x h part, away from
 * its rim. Sizes are chosen so a defect covers roughly 4-10% of the part. */
static void
draw_defect (float *cover, int w, int h, DefectKind kind, GRand *rng)
{
  float margin = 0.2f * MIN (w, h);
  float cx = (float) g_rand_double_range (rng, margin, w - margin);
  float cy = (float) g_rand_double_range (rng, margin, h - margin);

  switch (kind) {
    case DEFECT_SCRATCH: {
      float length = (float) g_rand_double_range (rng, 0.55, 0.75) * w;
      float angle = (float) g_rand_double_range (rng, -0.7, 0.7);
      float width = (float) g_rand_double_range (rng, 0.06, 0.08) * h;
      float dx = 0.5f * length * cosf (angle), dy = 0.5f * length * sinf (angle);

      /* Keep the whole scratch on the part: centre it so both ends stay inside the margin. */
      cx = w * 0.5f + (float) g_rand_double_range (rng, -0.1, 0.1) * w;
      cy = CLAMP (cy, fabsf (dy) + margin * 0.5f, h - fabsf (dy) - margin * 0.5f);
      paint_stroke (cover, w, h, cx - dx, cy - dy, cx + dx, cy + dy, width);
      break;
    }
    case DEFECT_DARK_SPOT:
    case DEFECT_BRIGHT_SPOT: {
      float radius = (float) g_rand_double_range (rng, 0.13, 0.17) * MIN (w, h);
      float wobble = (float) g_rand_double_range (rng, 0.0, 2.0 * G_PI);

      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
          float dx = x + 0.5f - cx, dy = y + 0.5f - cy;
          /* A slightly irregular rim, so spots are blobs rather than perfect discs. */
          float r = radius * (1.0f + 0.15f * sinf (3.0f * atan2f (dy, dx) + wobble));
          float c = CLAMP ((r - hypotf (dx, dy)) / 1.5f + 0.5f, 0.0f, 1.0f);

          cover[(gsize) y * w + x] = MAX (cover[(gsize) y * w + x], c);
        }
      break;
    }
    case DEFECT_CRACK: {
      /* A jagged random walk with one branch. */
      float width = (float) g_rand_double_range (rng, 0.045, 0.06) * h;
      float heading = (float) g_rand_double_range (rng, 0.0, 2.0 * G_PI);
      float x = cx, y = cy, branch_x = cx, branch_y = cy, branch_heading = 0.0f;
      int segments = g_rand_int_range (rng, 8, 11);

      for (int s = 0; s < segments; s++) {
        float step = (float) g_rand_double_range (rng, 0.08, 0.12) * w;
        float nx, ny;

        heading += (float) g_rand_double_range (rng, -0.7, 0.7);
        nx = x + step * cosf (heading);
        ny = y + step * sinf (heading);
        /* Turn back inward at the margin rather than running off the part. */
        if (nx < margin || nx > w - margin || ny < margin || ny > h - margin) {
          heading += (float) G_PI;
          nx = CLAMP (x + step * cosf (heading), margin, w - margin);
          ny = CLAMP (y + step * sinf (heading), margin, h - margin);
        }
        paint_stroke (cover, w, h, x, y, nx, ny, width);
        if (s == segments / 2) {
          branch_x = nx;
          branch_y = ny;
          branch_heading = heading + (g_rand_boolean (rng) ? 0.9f : -0.9f);
        }
        x = nx;
        y = ny;
      }
      for (int s = 0; s < 3; s++) {
        float step = (float) g_rand_double_range (rng, 0.06, 0.09) * w;
        float nx = CLAMP (branch_x + step * cosf (branch_heading), margin, w - margin);
        float ny = CLAMP (branch_y + step * sinf (branch_heading), margin, h - margin);

        paint_stroke (cover, w, h, branch_x, branch_y, nx, ny, width * 0.8f);
        branch_x = nx;
        branch_y = ny;
        branch_heading += (float) g_rand_double_range (rng, -0.6, 0.6);
      }
      break;
    }
    default:
      break;
  }
}

/* The surface value a defect drives its pixels towards. */
static float
defect_target (DefectKind kind, float lum)
{
  switch (kind) {
    case DEFECT_SCRATCH:
      return lum * 0.35f;
    case DEFECT_DARK_SPOT:
      return lum * 0.30f;
    case DEFECT_BRIGHT_SPOT:
      return 0.97f;
    case DEFECT_CRACK:
      return lum * 0.20f;
    default:
      return lum;
  }
}

/* ---- parts and scene -------------------------------------------------------------------- */

static Part *
part_new (const Scene *scene, int index)
{
  GRand *rng = rand_for (scene->seed, scene->name, (guint32) index);
  Part *part = g_new0 (Part, 1);

  /* Parts vary a little in size, position across the belt and finish. */
  part->w = 2 * (int) lround (scene->part_w * g_rand_double_range (rng, 0.94, 1.06) / 2.0);
  part->h = 2 * (int) lround (scene->part_h * g_rand_double_range (rng, 0.94, 1.06) / 2.0);
  part->cy = scene->height / 2 + (int) lround (g_rand_double_range (rng, -0.05, 0.05) * scene->height);
  part->corner = 0.15f * MIN (part->w, part->h);
  part->tint[0] = 1.00f + (float) g_rand_double_range (rng, -0.02, 0.02);
  part->tint[1] = 0.95f + (float) g_rand_double_range (rng, -0.02, 0.02);
  part->tint[2] = 0.86f + (float) g_rand_double_range (rng, -0.03, 0.03);

  gsize n = (gsize) part->w * part->h;
  float base = 0.60f + (float) g_rand_double_range (rng, -0.04, 0.04);

  part->lum = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    part->lum[i] = base;
  add_value_noise (part->lum, part->w, part->h, 0.25f * part->w, 0.25f * part->w, 0.06f, FALSE, rng);
  add_value_noise (part->lum, part->w, part->h, 6.0f, 6.0f, 0.03f, FALSE, rng);
  /* Brushing: long along x, thin across. */
  add_value_noise (part->lum, part->w, part->h, 0.4f * part->w, 1.5f, 0.025f, FALSE, rng);
  add_grain (part->lum, n, 0.02f, rng);

  part->kind = scene->part_kind[index];
  if (part->kind != DEFECT_NONE) {
    part->defect = g_new0 (float, n);
    draw_defect (part->defect, part->w, part->h, part->kind, rng);
    for (gsize i = 0; i < n; i++) {
      float c = part->defect[i];

      part->lum[i] += (defect_target (part->kind, part->lum[i]) - part->lum[i]) * c;
      part->defect_pixels += c >= 0.5f;
    }
  }
  g_rand_free (rng);
  return part;
}

static void
part_free (Part *part)
{
  if (!part)
    return;
  g_free (part->lum);
  g_free (part->defect);
  g_free (part);
}

/* Centre column of part index in frame t; parts enter on the left and leave on the right. */
static int
part_centre_x (const Scene *scene, int index, int t)
{
  return scene->speed * t - index * scene->spacing + scene->width;
}

static void
scene_init (Scene *scene, const char *name, int width, int height, int n_frames, guint64 seed)
{
  memset (scene, 0, sizeof *scene);
  scene->name = name;
  scene->width = width;
  scene->height = height;
  scene->n_frames = n_frames;
  scene->seed = seed;
  scene->part_w = 2 * (int) lround (PART_WIDTH_FRACTION * width / 2.0);
  scene->part_h = 2 * (int) lround (PART_HEIGHT_FRACTION * height / 2.0);
  scene->spacing = (int) lround (PART_SPACING_FRACTION * width);
  scene->speed = MAX (1, (int) lround (BELT_SPEED_FRACTION * width));
  scene->rail = (int) lround (RAIL_FRACTION * height);
  scene->window_left = (int) lround (SIDE_COVER_FRACTION * width);
  scene->window_right = width - scene->window_left;

  /* Parts 0 .. n_parts-1 are those that have entered the view by the last frame. */
  scene->n_parts = (scene->speed * (n_frames - 1) + width + scene->part_w) / scene->spacing + 1;
  scene->part_kind = g_new0 (DefectKind, scene->n_parts);
  scene->parts = g_new0 (Part *, scene->n_parts);

  /* The belt is the same conveyor in training and test footage: its texture depends on the
   * seed only. Dark rubber, a little mottled, with fine grain. */
  GRand *rng = rand_for (seed, "belt", 0);

  scene->belt_period = 2 * width;
  scene->belt = g_new (float, (gsize) scene->belt_period * height);
  for (gsize i = 0; i < (gsize) scene->belt_period * height; i++)
    scene->belt[i] = 0.22f;
  add_value_noise (scene->belt, scene->belt_period, height, 12.0f, 12.0f, 0.03f, TRUE, rng);
  add_grain (scene->belt, (gsize) scene->belt_period * height, 0.015f, rng);
  g_rand_free (rng);

  rng = rand_for (seed, name, G_MAXUINT32);
  scene->light_phase = (float) g_rand_double_range (rng, 0.0, 2.0 * G_PI);
  g_rand_free (rng);
}

/* Contaminated training footage: round(rate * parts) defective parts at random positions,
 * with random kinds. */
static void
scene_contaminate (Scene *scene, double rate)
{
  GRand *rng = rand_for (scene->seed, "contamination", 0);
  int *order = g_new (int, scene->n_parts);
  int n_defective = (int) lround (rate * scene->n_parts);

  for (int i = 0; i < scene->n_parts; i++)
    order[i] = i;
  for (int i = scene->n_parts - 1; i > 0; i--) {
    int j = g_rand_int_range (rng, 0, i + 1), swap = order[i];

    order[i] = order[j];
    order[j] = swap;
  }
  for (int i = 0; i < n_defective; i++)
    scene->part_kind[order[i]] = (DefectKind) g_rand_int_range (rng, 1, N_DEFECT_KINDS);
  g_free (order);
  g_rand_free (rng);
}

/* Test footage: one part in every `every`, from a random start, cycling through the defect
 * kinds so each kind shows up. */
static void
scene_schedule_defects (Scene *scene, int every)
{
  GRand *rng = rand_for (scene->seed, "schedule", 0);
  int start = g_rand_int_range (rng, 0, every);
  int kind = g_rand_int_range (rng, 1, N_DEFECT_KINDS);

  for (int i = start; i < scene->n_parts; i += every) {
    scene->part_kind[i] = (DefectKind) kind;
    kind = kind % (N_DEFECT_KINDS - 1) + 1;
  }
  g_rand_free (rng);
}

static void
scene_clear (Scene *scene)
{
  for (int i = 0; i < scene->n_parts; i++)
    part_free (scene->parts[i]);
  g_free (scene->parts);
  g_free (scene->part_kind);
  g_free (scene->belt);
}

/* Signed distance from (px, py) to a rounded rectangle centred at the origin. */
static float
rounded_rect_distance (float px, float py, float half_w, float half_h, float corner)
{
  float qx = fabsf (px) - (half_w - corner), qy = fabsf (py) - (half_h - corner);
  float outside = hypotf (MAX (qx, 0.0f), MAX (qy, 0.0f));

  return outside + MIN (MAX (qx, qy), 0.0f) - corner;
}

typedef struct {
  guint8 *rgb;            /* width x height x 3 */
  guint8 *mask;           /* width x height: 255 where a defect is in view */
  DefectKind kind;        /* the defect with the most pixels in view, or DEFECT_NONE */
  gboolean defective;     /* some defect has VISIBLE_DEFECT_SHARE of its pixels in view */
  gboolean ambiguous;     /* some defect is in view, but less than that share */
} Frame;

/* Renders frame t of the scene. */
static void
scene_render (Scene *scene, int t, float *plane, Frame *frame)
{
  const int W = scene->width, H = scene->height;
  const gsize n = (gsize) W * H;
  float *r = plane, *g = plane + n, *b = plane + 2 * n;
  GRand *noise = rand_for (scene->seed, scene->name, 0x80000000u | (guint32) t);
  int belt_shift = (scene->speed * t) % scene->belt_period;
  int best_visible = 0;

  /* Background: the moving belt seen through the opening in the static housing. */
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      gsize i = (gsize) y * W + x;
      /* Distance into the housing from the opening's edge (negative inside the opening). */
      int into = MAX (MAX (scene->window_left - 1 - x, x - scene->window_right),
                      MAX (scene->rail - 1 - y, y - (H - scene->rail)));
      float v;

      if (into >= 0)
        v = into < 2 ? 0.25f : 0.44f + 0.08f * MIN (into, 20) / 20.0f;  /* a dark lip, then metal */
      else
        v = scene->belt[(gsize) y * scene->belt_period +
                        (x - belt_shift + scene->belt_period) % scene->belt_period];
      r[i] = v * 0.95f;
      g[i] = v * 0.98f;
      b[i] = v * 1.04f;
    }
  memset (frame->mask, 0, n);
  frame->kind = DEFECT_NONE;
  frame->defective = FALSE;
  frame->ambiguous = FALSE;

  for (int index = 0; index < scene->n_parts; index++) {
    int cx = part_centre_x (scene, index, t);

    if (cx + scene->part_w < 0) {
      break;  /* this part and all later ones have not entered yet */
    }
    if (cx - scene->part_w >= W) {
      g_clear_pointer (&scene->parts[index], part_free);  /* gone for good */
      continue;
    }
    if (!scene->parts[index])
      scene->parts[index] = part_new (scene, index);

    Part *part = scene->parts[index];
    float half_w = part->w * 0.5f, half_h = part->h * 0.5f;
    int left = cx - part->w / 2, top = part->cy - part->h / 2;
    int visible = 0;
    const int shadow = MAX (2, W / 80);

    for (int ly = -shadow; ly < part->h + 2 * shadow; ly++) {
      int y = top + ly;

      if (y < scene->rail || y >= H - scene->rail)
        continue;
      for (int lx = -shadow; lx < part->w + 2 * shadow; lx++) {
        int x = left + lx;

        if (x < scene->window_left || x >= scene->window_right)
          continue;
        gsize i = (gsize) y * W + x;
        float px = lx + 0.5f - half_w, py = ly + 0.5f - half_h;
        /* A soft shadow below and to the right, then the part itself. */
        float d_shadow = rounded_rect_distance (px - shadow, py - shadow, half_w, half_h,
                                                part->corner);
        float shade = 1.0f - 0.45f * CLAMP (0.5f - d_shadow / (2.0f * shadow), 0.0f, 1.0f);
        float d = rounded_rect_distance (px, py, half_w, half_h, part->corner);
        float cover = CLAMP (0.5f - d, 0.0f, 1.0f);

        r[i] *= shade;
        g[i] *= shade;
        b[i] *= shade;
        if (cover <= 0.0f || lx < 0 || ly < 0 || lx >= part->w || ly >= part->h)
          continue;

        gsize j = (gsize) ly * part->w + lx;
        /* A darker bevel along the rim makes the outline read as an edge. */
        float rim = 1.0f - 0.3f * CLAMP (1.0f + d / 4.0f, 0.0f, 1.0f);
        float v = part->lum[j] * rim;

        r[i] += (v * part->tint[0] - r[i]) * cover;
        g[i] += (v * part->tint[1] - g[i]) * cover;
        b[i] += (v * part->tint[2] - b[i]) * cover;
        if (part->defect && part->defect[j] >= 0.5f && cover >= 0.5f) {
          frame->mask[i] = 255;
          visible++;
        }
      }
    }
    if (visible > 0) {
      if (visible >= VISIBLE_DEFECT_SHARE * part->defect_pixels)
        frame->defective = TRUE;
      else
        frame->ambiguous = TRUE;
      if (visible > best_visible) {
        best_visible = visible;
        frame->kind = part->kind;
      }
    }
  }

  /* Lighting drifts slowly and flickers slightly; the lens vignettes; the sensor is noisy. */
  float gain = 1.0f + 0.025f * sinf (0.21f * t + scene->light_phase) +
               0.01f * (float) g_rand_double_range (noise, -1.0, 1.0);
  float half_diag2 = 0.25f * ((float) W * W + (float) H * H);

  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      gsize i = (gsize) y * W + x;
      float dx = x - 0.5f * W, dy = y - 0.5f * H;
      float light = gain * (1.0f - 0.15f * (dx * dx + dy * dy) / half_diag2);
      float values[3] = { r[i], g[i], b[i] };

      for (int c = 0; c < 3; c++) {
        float v = values[c] * light + 0.008f * (float) (g_rand_double (noise) +
                                                         g_rand_double (noise) - 1.0);
        frame->rgb[i * 3 + c] = (guint8) CLAMP (lroundf (v * 255.0f), 0, 255);
      }
    }
  g_rand_free (noise);
}

/* ---- output ----------------------------------------------------------------------------- */

typedef struct {
  GstElement *pipeline;
  GstAppSrc *src;
  GstAppSink *decoded;   /* with decode: each frame as a player reads it back from the file */
  GstVideoInfo info;
  int fps;
  const char *path;
} VideoWriter;

#define VIDEO_ENCODER "videoconvert ! jpegenc quality=92"

/* With `decode`, the encoded frames are also decoded back to RGB, so that the PNG layout holds
 * the pictures the video holds: trained on the video and tested on pictures that never went
 * through the encoder, a model would see the encoder's loss as a difference between them. */
static gboolean
video_writer_open (VideoWriter *writer, const char *path, int width, int height, int fps,
                   gboolean decode, GError **error)
{
  writer->pipeline = gst_parse_launch_full (
      decode ? "appsrc name=src format=time block=true max-bytes=4000000 ! " VIDEO_ENCODER
               " ! tee name=split ! queue ! avimux ! filesink name=sink "
               "split. ! queue ! jpegdec ! videoconvert ! video/x-raw,format=RGB ! "
               "appsink name=decoded sync=false"
             : "appsrc name=src format=time block=true max-bytes=4000000 ! " VIDEO_ENCODER
               " ! avimux ! filesink name=sink",
      NULL, GST_PARSE_FLAG_FATAL_ERRORS, error);
  if (!writer->pipeline)
    return FALSE;
  if (decode)
    writer->decoded = GST_APP_SINK (gst_bin_get_by_name (GST_BIN (writer->pipeline),
                                                         "decoded"));
  writer->path = path;
  writer->fps = fps;
  gst_video_info_set_format (&writer->info, GST_VIDEO_FORMAT_RGB, width, height);
  GST_VIDEO_INFO_FPS_N (&writer->info) = fps;
  GST_VIDEO_INFO_FPS_D (&writer->info) = 1;

  GstElement *src = gst_bin_get_by_name (GST_BIN (writer->pipeline), "src");
  GstElement *sink = gst_bin_get_by_name (GST_BIN (writer->pipeline), "sink");
  GstCaps *caps = gst_video_info_to_caps (&writer->info);

  g_object_set (sink, "location", path, NULL);
  gst_app_src_set_caps (GST_APP_SRC (src), caps);
  gst_caps_unref (caps);
  gst_object_unref (sink);
  writer->src = GST_APP_SRC (src);
  if (gst_element_set_state (writer->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
                 "%s: cannot start the encoder (is the folder writable?)", path);
    return FALSE;
  }
  return TRUE;
}

/* The pipeline's error, if it has posted one (a full disk, an encoder failure), as error.
 * Checked before every push: after an error the file is no longer written, the source's
 * queue fills, and a blocking push would wait for ever. */
static gboolean
video_writer_failed (VideoWriter *writer, GError **error)
{
  GstBus *bus = gst_element_get_bus (writer->pipeline);
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  gst_object_unref (bus);
  if (!msg)
    return FALSE;
  GError *gst_error = NULL;
  gst_message_parse_error (msg, &gst_error, NULL);
  g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED, "%s: %s", writer->path,
               gst_error->message);
  g_error_free (gst_error);
  gst_message_unref (msg);
  return TRUE;
}

static gboolean
video_writer_push (VideoWriter *writer, const guint8 *rgb, int t, GError **error)
{
  if (video_writer_failed (writer, error))
    return FALSE;

  int width = GST_VIDEO_INFO_WIDTH (&writer->info), height = GST_VIDEO_INFO_HEIGHT (&writer->info);
  int stride = GST_VIDEO_INFO_PLANE_STRIDE (&writer->info, 0);
  GstBuffer *buffer = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&writer->info), NULL);
  GstMapInfo map;

  gst_buffer_map (buffer, &map, GST_MAP_WRITE);
  for (int y = 0; y < height; y++)
    memcpy (map.data + (gsize) y * stride, rgb + (gsize) y * width * 3, (gsize) width * 3);
  gst_buffer_unmap (buffer, &map);
  GST_BUFFER_PTS (buffer) = gst_util_uint64_scale (t, GST_SECOND, writer->fps);
  GST_BUFFER_DURATION (buffer) = gst_util_uint64_scale (1, GST_SECOND, writer->fps);

  if (gst_app_src_push_buffer (writer->src, buffer) != GST_FLOW_OK) {
    g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                 "%s: the encoder stopped at frame %d", writer->path, t);
    return FALSE;
  }
  return TRUE;
}

/* The frame just pushed, as decoded from the encoder's output, into rgb (packed, width x 3 a
 * row). The writer must have been opened with decode. */
static gboolean
video_writer_pull_decoded (VideoWriter *writer, guint8 *rgb, int t, GError **error)
{
  int width = GST_VIDEO_INFO_WIDTH (&writer->info), height = GST_VIDEO_INFO_HEIGHT (&writer->info);
  GstSample *sample = gst_app_sink_try_pull_sample (writer->decoded, 60 * GST_SECOND);
  GstVideoInfo info;
  GstVideoFrame frame;

  if (!sample || !gst_video_info_from_caps (&info, gst_sample_get_caps (sample)) ||
      GST_VIDEO_INFO_WIDTH (&info) != width || GST_VIDEO_INFO_HEIGHT (&info) != height ||
      !gst_video_frame_map (&frame, &info, gst_sample_get_buffer (sample), GST_MAP_READ)) {
    if (!video_writer_failed (writer, error))  /* the pipeline's own reason, when it has one */
      g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE,
                   "%s: frame %d could not be decoded back from the encoder", writer->path, t);
    if (sample)
      gst_sample_unref (sample);
    return FALSE;
  }
  const guint8 *data = GST_VIDEO_FRAME_PLANE_DATA (&frame, 0);
  int stride = GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);
  for (int y = 0; y < height; y++)
    memcpy (rgb + (gsize) y * width * 3, data + (gsize) y * stride, (gsize) width * 3);
  gst_video_frame_unmap (&frame);
  gst_sample_unref (sample);
  return TRUE;
}

/* Ends the stream and waits (bounded) for the muxer to finish the file. */
static gboolean
video_writer_close (VideoWriter *writer, gboolean finish, GError **error)
{
  gboolean ok = TRUE;

  if (!writer->pipeline)
    return TRUE;
  if (finish) {
    GstBus *bus = gst_element_get_bus (writer->pipeline);
    GstMessage *msg;

    gst_app_src_end_of_stream (writer->src);
    msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    if (!msg || GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      GError *gst_error = NULL;

      if (msg)
        gst_message_parse_error (msg, &gst_error, NULL);
      g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED, "%s: %s", writer->path,
                   gst_error ? gst_error->message : "the encoder did not finish within 60 s");
      g_clear_error (&gst_error);
      ok = FALSE;
    }
    if (msg)
      gst_message_unref (msg);
    gst_object_unref (bus);
  }
  gst_element_set_state (writer->pipeline, GST_STATE_NULL);
  if (writer->decoded)
    gst_object_unref (writer->decoded);
  writer->decoded = NULL;
  gst_object_unref (writer->src);
  gst_object_unref (writer->pipeline);
  writer->pipeline = NULL;
  return ok;
}

/* Encodes a packed RGB or grey image as PNG with GStreamer (pngenc) and writes it. */
static gboolean
write_png (const char *path, const guint8 *pixels, int width, int height, gboolean grey,
           GError **error)
{
  GstVideoInfo info;

  gst_video_info_set_format (&info, grey ? GST_VIDEO_FORMAT_GRAY8 : GST_VIDEO_FORMAT_RGB,
                             width, height);
  GST_VIDEO_INFO_FPS_N (&info) = 1;
  GST_VIDEO_INFO_FPS_D (&info) = 1;

  GstBuffer *buffer = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  GstMapInfo map;
  int bpp = grey ? 1 : 3, stride = GST_VIDEO_INFO_PLANE_STRIDE (&info, 0);

  gst_buffer_map (buffer, &map, GST_MAP_WRITE);
  for (int y = 0; y < height; y++)
    memcpy (map.data + (gsize) y * stride, pixels + (gsize) y * width * bpp, (gsize) width * bpp);
  gst_buffer_unmap (buffer, &map);

  GstCaps *caps = gst_video_info_to_caps (&info);
  GstCaps *png_caps = gst_caps_new_empty_simple ("image/png");
  GstSample *sample = gst_sample_new (buffer, caps, NULL, NULL);
  GstSample *png = gst_video_convert_sample (sample, png_caps, 30 * GST_SECOND, error);
  gboolean ok = FALSE;

  if (png) {
    GstBuffer *encoded = gst_sample_get_buffer (png);

    gst_buffer_map (encoded, &map, GST_MAP_READ);
    ok = g_file_set_contents (path, (const char *) map.data, map.size, error);
    gst_buffer_unmap (encoded, &map);
    gst_sample_unref (png);
  } else if (error && *error) {
    g_prefix_error (error, "%s: ", path);
  } else {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_FAILED, "%s: PNG encoding failed", path);
  }
  gst_sample_unref (sample);
  gst_buffer_unref (buffer);
  gst_caps_unref (caps);
  gst_caps_unref (png_caps);
  return ok;
}

typedef struct {
  int n_defective_parts;
  int n_defective_frames;
  int n_ambiguous_frames;
} SequenceStats;

static gboolean
make_folder (const char *path, GError **error)
{
  if (g_mkdir_with_parents (path, 0755) != 0) {
    int saved = errno;

    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s: cannot create "
                 "folder: %s", path, g_strerror (saved));
    return FALSE;
  }
  return TRUE;
}

/* Renders a whole sequence into a video, optionally a label file and PNG layout folders. */
static gboolean
write_sequence (Scene *scene, const char *video_path, int fps, FILE *labels,
                const char *layout_dir, SequenceStats *stats, GError **error)
{
  VideoWriter writer = { 0 };
  gsize n = (gsize) scene->width * scene->height;
  float *plane = g_new (float, 3 * n);
  Frame frame = { g_new (guint8, 3 * n), g_new (guint8, n), DEFECT_NONE, FALSE, FALSE };
  gboolean ok = video_writer_open (&writer, video_path, scene->width, scene->height, fps,
                                   layout_dir != NULL, error);
  gboolean is_train = strcmp (scene->name, "train") == 0;

  memset (stats, 0, sizeof *stats);
  for (int i = 0; i < scene->n_parts; i++)
    stats->n_defective_parts += scene->part_kind[i] != DEFECT_NONE;

  for (int t = 0; ok && t < scene->n_frames; t++) {
    scene_render (scene, t, plane, &frame);
    stats->n_defective_frames += frame.defective;
    stats->n_ambiguous_frames += frame.ambiguous && !frame.defective;
    ok = video_writer_push (&writer, frame.rgb, t, error);
    if (ok && labels)
      fprintf (labels, "%d,%d\n", t, frame.defective ? 1 : 0);

    if (!ok || !layout_dir)
      continue;
    ok = video_writer_pull_decoded (&writer, frame.rgb, t, error);  /* the PNG: as decoded */
    if (!ok)
      continue;
    /* MVTec layout: training frames all go to train/good (contaminated, as the footage is);
     * test frames to test/good or test/<kind> with a mask; ambiguous frames nowhere. */
    char *name = g_strdup_printf ("%04d.png", t);
    char *path = NULL;

    if (is_train) {
      path = g_build_filename (layout_dir, "train", "good", name, NULL);
      ok = write_png (path, frame.rgb, scene->width, scene->height, FALSE, error);
    } else if (frame.defective) {
      char *mask_name = g_strdup_printf ("%04d_mask.png", t);
      char *mask_path = g_build_filename (layout_dir, "ground_truth", defect_names[frame.kind],
                                          mask_name, NULL);

      char *test = g_build_filename (layout_dir, "test", defect_names[frame.kind], NULL);
      char *truth = g_path_get_dirname (mask_path);

      /* a defect kind's folders exist only when it has a test frame */
      ok = make_folder (test, error) && make_folder (truth, error);
      path = g_build_filename (test, name, NULL);
      g_free (test);
      g_free (truth);
      ok = ok && write_png (path, frame.rgb, scene->width, scene->height, FALSE, error) &&
           write_png (mask_path, frame.mask, scene->width, scene->height, TRUE, error);
      g_free (mask_name);
      g_free (mask_path);
    } else if (!frame.ambiguous) {
      path = g_build_filename (layout_dir, "test", "good", name, NULL);
      ok = write_png (path, frame.rgb, scene->width, scene->height, FALSE, error);
    }
    g_free (path);
    g_free (name);
  }
  if (!video_writer_close (&writer, ok, ok ? error : NULL))
    ok = FALSE;
  g_free (plane);
  g_free (frame.rgb);
  g_free (frame.mask);
  return ok;
}

/* A new layout only: frames written into an earlier one would mix with its leftovers (a run
 * of fewer frames leaves the old ones beyond it). */
static gboolean
make_layout_folders (const char *layout_dir, GError **error)
{
  GDir *existing = g_dir_open (layout_dir, 0, NULL);
  gboolean empty = !existing || g_dir_read_name (existing) == NULL;

  if (existing)
    g_dir_close (existing);
  if (!empty) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST, "%s: exists and is not empty; give "
                 "--png-layout a new folder", layout_dir);
    return FALSE;
  }
  char *train = g_build_filename (layout_dir, "train", "good", NULL);
  char *good = g_build_filename (layout_dir, "test", "good", NULL);
  gboolean ok = make_folder (train, error) && make_folder (good, error);

  g_free (good);
  g_free (train);
  return ok;
}

int
main (int argc, char **argv)
{
  char *output = NULL, *layout_dir = NULL;
  int n_train = 160, n_test = 80, width = 320, height = 240, fps = 15;
  gint64 seed = 1;
  double contamination = 0.05;
  gboolean quiet = FALSE;
  GError *error = NULL;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Folder to write train.avi, test.avi "
      "and test-labels.csv into (created if missing)", "DIR" },
    { "frames", 0, 0, G_OPTION_ARG_INT, &n_train, "Training frames (default 160)", "N" },
    { "test-frames", 0, 0, G_OPTION_ARG_INT, &n_test, "Test frames (default 80)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed: same seed, same footage (default 1)",
      "S" },
    { "contamination", 0, 0, G_OPTION_ARG_DOUBLE, &contamination, "Share of defective parts in "
      "the training footage, 0 to 1 (default 0.05)", "R" },
    { "width", 0, 0, G_OPTION_ARG_INT, &width, "Frame width (default 320)", "W" },
    { "height", 0, 0, G_OPTION_ARG_INT, &height, "Frame height (default 240)", "H" },
    { "fps", 0, 0, G_OPTION_ARG_INT, &fps, "Frame rate (default 15)", "N" },
    { "png-layout", 0, 0, G_OPTION_ARG_FILENAME, &layout_dir, "Also write the frames as PNG in "
      "the MVTec AD layout (train/good, test/<kind>, ground_truth/<kind>/*_mask.png)", "DIR" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing but errors", NULL },
    { NULL }
  };
  GOptionContext *context = g_option_context_new ("- make synthetic conveyor footage for funad");

  /* Messages (GLib's and ours) in the user's character set. */
  setlocale (LC_ALL, "");
  g_set_prgname ("funad-make-demo");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, gst_init_get_option_group ());
  g_option_context_set_description (context,
      "Parts ride a conveyor past the camera; a few are defective (scratch, dark or bright spot,\n"
      "crack). train.avi is contaminated with defective parts on purpose; test.avi shows one\n"
      "in every few parts defective, and test-labels.csv says, per frame, whether at least\n"
      "20% of a defect is in view (1) or not (0).");
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    int rc = cli_fail (error->message);
    g_error_free (error);
    return rc;
  }
  g_option_context_free (context);
  if (cli_fail_bad_values (entries))
    return EXIT_FAILURE;

  if (!output)
    return cli_fail ("no output folder: use -o DIR");
  if (argc > 1)
    return cli_fail ("unexpected argument (all settings are options; see --help)");
  if (n_train < 1 || n_test < 1 || n_train > 100000 || n_test > 100000)
    return cli_fail ("--frames and --test-frames must be between 1 and 100000");
  if (width < 64 || height < 48 || width > 4096 || height > 4096)
    return cli_fail ("--width must be 64..4096 and --height 48..4096");
  if (fps < 1 || fps > 240)
    return cli_fail ("--fps must be between 1 and 240");
  if (!(contamination >= 0.0 && contamination <= 1.0))
    return cli_fail ("--contamination must be between 0 and 1");

  if (!make_folder (output, &error) || (layout_dir && !make_layout_folders (layout_dir, &error))) {
    int rc = cli_fail (error->message);
    g_error_free (error);
    return rc;
  }

  char *train_path = g_build_filename (output, "train.avi", NULL);
  char *test_path = g_build_filename (output, "test.avi", NULL);
  char *labels_path = g_build_filename (output, "test-labels.csv", NULL);
  Scene train, test;
  SequenceStats train_stats, test_stats;
  gboolean ok;
  FILE *labels = NULL;

  scene_init (&train, "train", width, height, n_train, (guint64) seed);
  scene_contaminate (&train, contamination);
  ok = write_sequence (&train, train_path, fps, NULL, layout_dir, &train_stats, &error);

  scene_init (&test, "test", width, height, n_test, (guint64) seed);
  /* About a quarter of test frames show a defect when one part in seven is defective. */
  scene_schedule_defects (&test, 7);
  if (ok) {
    labels = g_fopen (labels_path, "w");
    if (!labels) {
      int saved = errno;
      g_set_error (&error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s: %s", labels_path,
                   g_strerror (saved));
      ok = FALSE;
    }
  }
  if (ok) {
    fprintf (labels, "frame,label\n");
    ok = write_sequence (&test, test_path, fps, labels, layout_dir, &test_stats, &error);
    if (fclose (labels) != 0 && ok) {
      g_set_error (&error, G_FILE_ERROR, G_FILE_ERROR_IO, "%s: write failed", labels_path);
      ok = FALSE;
    }
  }

  int rc = 0;
  if (!ok) {
    rc = cli_fail (error->message);
    g_error_free (error);
  } else if (!quiet) {
    g_print ("funad-make-demo: wrote %s: %d frames, %d of %d parts defective (contamination)\n",
             train_path, n_train, train_stats.n_defective_parts, train.n_parts);
    g_print ("funad-make-demo: wrote %s: %d frames, %d show a defect, %d a sliver of one\n",
             test_path, n_test, test_stats.n_defective_frames, test_stats.n_ambiguous_frames);
    g_print ("funad-make-demo: wrote %s\n", labels_path);
    if (layout_dir)
      g_print ("funad-make-demo: wrote the PNG layout under %s\n", layout_dir);
  }
  scene_clear (&train);
  scene_clear (&test);
  g_free (train_path);
  g_free (test_path);
  g_free (labels_path);
  g_free (output);
  g_free (layout_dir);
  return rc;
}
