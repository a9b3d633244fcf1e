/* test-appearance.c — frames unlike the others stand out, as a whole or in one block;
 * copies vouch for each other only beyond the neighbour rank and outside the window; still
 * scenes and small sets give finite scores. */
#include <math.h>
#include <string.h>
#include "funad-private.h"

enum { N = 60, G = 8, P = G * G, D = 8 };  /* an 8 x 8 grid: 2 x 2 blocks */

/* N frames of P x D gaussian features; frames in `shifted` get +shift on every feature. */
static float *
frames (guint32 seed, const int *shifted, int n_shifted, float shift)
{
  GRand *rng = g_rand_new_with_seed (seed);
  float *f = g_new (float, (gsize) N * P * D);
  for (int i = 0; i < N * P * D; i++)
    f[i] = funad_gaussian (rng);
  for (int s = 0; s < n_shifted; s++)
    for (int i = 0; i < P * D; i++)
      f[(gsize) shifted[s] * P * D + i] += shift;
  g_rand_free (rng);
  return f;
}

/* z 5, not the trainer's cut: third-nearest distances among plain gaussian frames are tight
 * (MAD about 5% of the median), so chance frames reach z 3; planted ones sit above z 30. */
static gboolean
flagged (const float *scores, int i)
{
  return scores[i] > funad_robust_cut (scores, N, 5.0, NULL, NULL);
}

static void
test_planted_outliers (void)
{
  const int planted[] = { 10, 40 };
  float *f = frames (1, planted, 2, 1.f);
  float scores[N];
  funad_appearance_outlier_scores (f, NULL, N, G, D, 0, scores);
  int n_flagged = 0;
  for (int i = 0; i < N; i++) {
    gboolean is_planted = i == 10 || i == 40;
    g_assert_true (isfinite (scores[i]));
    g_assert_cmpint (flagged (scores, i), ==, is_planted);
    n_flagged += flagged (scores, i);
  }
  g_assert_cmpint (n_flagged, ==, 2);
  g_free (f);
}

/* A frame odd in one block only (its top-left 4 x 4 cells) stands out too. */
static void
test_one_block (void)
{
  g_assert_cmpint (funad_appearance_blocks (G), ==, 2);
  float *f = frames (4, NULL, 0, 0.f);
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++)
      for (int j = 0; j < D; j++)
        f[((gsize) 33 * P + y * G + x) * D + j] += 2.f;
  float scores[N];
  funad_appearance_outlier_scores (f, NULL, N, G, D, 0, scores);
  g_assert_true (flagged (scores, 33));
  float second = 0.f;
  for (int i = 0; i < N; i++)
    if (i != 33)
      second = MAX (second, scores[i]);
  g_assert_cmpfloat (scores[33], >, 1.5f * second);
  g_free (f);
}

/* Copies of one odd frame vouch for each other only when there are more of them than the
 * neighbour rank (a defect seen twice still stands out), and copies within the window (a
 * video lingering on a defect) never do. */
static void
test_copies (void)
{
  const int R = FUNAD_APPEARANCE_RANK;
  g_assert_cmpint (R, ==, 3);
  const int three[] = { 10, 30, 50 }, four[] = { 10, 25, 40, 55 }, run[] = { 20, 21, 22, 23 };
  const int *sets[] = { three, four, run };
  const int sizes[] = { 3, 4, 4 }, windows[] = { 0, 0, 3 };
  const gboolean stand_out[] = { TRUE, FALSE, TRUE };
  for (int t = 0; t < 3; t++) {
    float *f = frames (2, sets[t], sizes[t], 1.f);
    for (int c = 1; c < sizes[t]; c++)
      memcpy (f + (gsize) sets[t][c] * P * D, f + (gsize) sets[t][0] * P * D,
              P * D * sizeof (float));
    float scores[N];
    funad_appearance_outlier_scores (f, NULL, N, G, D, windows[t], scores);
    for (int c = 0; c < sizes[t]; c++) {
      g_assert_cmpint (flagged (scores, sets[t][c]), ==, stand_out[t]);
      if (!stand_out[t])
        g_assert_cmpfloat (scores[sets[t][c]], <, 1e-3);
    }
    /* The same run of copies with no window: each has three copies beside it. */
    if (windows[t] > 0) {
      funad_appearance_outlier_scores (f, NULL, N, G, D, 0, scores);
      g_assert_false (flagged (scores, sets[t][0]));
    }
    g_free (f);
  }
}

/* Scoring a subset of the frames (the trainer's later rounds) is scoring a copy of just those
 * frames; and four copies of an odd frame that vouch for each other among all frames stand
 * out once two of them are gone. */
static void
test_subset (void)
{
  const int four[] = { 10, 25, 40, 55 };
  float *f = frames (2, four, 4, 1.f);
  for (int c = 1; c < 4; c++)
    memcpy (f + (gsize) four[c] * P * D, f + (gsize) four[0] * P * D, P * D * sizeof (float));
  int subset[N], n = 0;
  for (int i = 0; i < N; i++)
    if (i != 10 && i != 25)
      subset[n++] = i;
  float *copy = g_new (float, (gsize) n * P * D);
  for (int k = 0; k < n; k++)
    memcpy (copy + (gsize) k * P * D, f + (gsize) subset[k] * P * D, P * D * sizeof (float));
  float by_index[N], by_copy[N];
  funad_appearance_outlier_scores (f, subset, n, G, D, 2, by_index);
  funad_appearance_outlier_scores (copy, NULL, n, G, D, 2, by_copy);
  g_assert_cmpmem (by_index, n * sizeof (float), by_copy, n * sizeof (float));
  for (int k = 0; k < n; k++)
    g_assert_cmpint (by_index[k] > funad_robust_cut (by_index, n, 5.0, NULL, NULL), ==,
                     subset[k] == 40 || subset[k] == 55);
  g_free (copy);
  g_free (f);
}

/* Identical frames, or no frame outside the window: scores are finite zeros. */
static void
test_degenerate (void)
{
  float *f = g_new (float, (gsize) N * P * D);
  for (int i = 0; i < N * P * D; i++)
    f[i] = (float) (i % (P * D));
  float scores[N];
  funad_appearance_outlier_scores (f, NULL, N, G, D, 0, scores);
  for (int i = 0; i < N; i++)
    g_assert_cmpfloat (scores[i], ==, 0.f);
  g_free (f);
  f = frames (3, NULL, 0, 0.f);
  funad_appearance_outlier_scores (f, NULL, 3, G, D, 5, scores);
  for (int i = 0; i < 3; i++)
    g_assert_cmpfloat (scores[i], ==, 0.f);
  funad_appearance_outlier_scores (f, NULL, 1, G, D, 0, scores);
  g_assert_cmpfloat (scores[0], ==, 0.f);
  /* Two frames: each has one other, fewer than the rank; its distance is the score. */
  funad_appearance_outlier_scores (f, NULL, 2, G, D, 0, scores);
  g_assert_cmpfloat (scores[0], >, 0.f);
  g_assert_cmpfloat (fabsf (scores[0] - scores[1]), <, 1e-5f);
  g_free (f);
}

/* The reference term: a new frame like the reference's scores near z 0, one unlike it far
 * above; a reference frame scored leaving itself out scores as the fit measured the spread
 * (median z exactly 0; without the leave-out it would match itself and score lower); the
 * weight scales z; too few frames give no term. */
static void
test_reference (void)
{
  const int odd[] = { 59 };
  float *f = frames (5, odd, 1, 1.f);
  int reference[50];
  for (int i = 0; i < 50; i++)
    reference[i] = i;
  FunadAppearance a = { 0 };
  g_assert_true (funad_appearance_fit (&a, f, reference, 50, G, D, 0, 1.f));
  g_assert_cmpint (a.n_frames, ==, 50);
  g_assert_cmpint (a.n_blocks, ==, 4);
  int fresh[10];
  float z[50];
  for (int i = 0; i < 10; i++)
    fresh[i] = 50 + i;
  funad_appearance_offsets (&a, f, fresh, 10, G, NULL, 0, z);
  for (int i = 0; i < 9; i++)
    g_assert_cmpfloat (fabsf (z[i]), <, 4.f);
  g_assert_cmpfloat (z[9], >, 20.f);

  funad_appearance_offsets (&a, f, reference, 50, G, reference, 0, z);
  g_assert_cmpfloat (fabs (funad_quantile (z, 50, 0.5)), <, 1e-4);
  float self[50];
  funad_appearance_offsets (&a, f, reference, 50, G, NULL, 0, self);
  for (int i = 0; i < 50; i++)
    g_assert_cmpfloat (self[i], <, z[i]);

  float twice[10], once[10];
  funad_appearance_offsets (&a, f, fresh, 10, G, NULL, 0, once);
  a.weight = 2.f;
  funad_appearance_offsets (&a, f, fresh, 10, G, NULL, 0, twice);
  for (int i = 0; i < 10; i++)
    g_assert_cmpfloat (fabsf (twice[i] - 2.f * once[i]), <=, 1e-5f * (1.f + fabsf (once[i])));

  g_assert_false (funad_appearance_fit (&a, f, reference, 7, G, D, 0, 1.f));
  g_assert_cmpint (a.n_frames, ==, 0);
  funad_appearance_offsets (&a, f, fresh, 10, G, NULL, 0, z);
  for (int i = 0; i < 10; i++)
    g_assert_cmpfloat (z[i], ==, 0.f);
  g_assert_false (funad_appearance_fit (&a, f, reference, 50, G, D, 0, 0.f));
  funad_appearance_clear (&a);
  g_free (f);
}

/* A scorer's three steps for one frame (its blocks shared among threads in any split and
 * order) give funad_appearance_offsets's offset for that frame alone, to the bit. */
static void
test_frame_steps (void)
{
  const int odd[] = { 55 };
  float *f = frames (7, odd, 1, 0.7f);
  int reference[50];
  for (int i = 0; i < 50; i++)
    reference[i] = i;
  FunadAppearance a = { 0 };
  g_assert_true (funad_appearance_fit (&a, f, reference, 50, G, D, 2, 0.5f));
  float looks[4 * D], shares[4];
  for (int i = 50; i < N; i++) {
    const float *frame = f + (gsize) i * P * D;
    float expected;
    funad_appearance_offsets (&a, frame, NULL, 1, G, NULL, 0, &expected);
    funad_appearance_frame_looks (&a, frame, G, looks);
    memset (shares, 0xff, sizeof shares);  /* NaN: a block left out would show */
    funad_appearance_frame_shares (&a, looks, 2, 4, shares);
    funad_appearance_frame_shares (&a, looks, 0, 1, shares);
    funad_appearance_frame_shares (&a, looks, 1, 2, shares);
    float offset = funad_appearance_frame_offset (&a, shares);
    g_assert_true (memcmp (&offset, &expected, sizeof offset) == 0);
    if (i == 55)
      g_assert_cmpfloat (offset, >, 5.f);
  }
  funad_appearance_clear (&a);
  g_free (f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/appearance/planted-outliers", test_planted_outliers);
  g_test_add_func ("/appearance/one-block", test_one_block);
  g_test_add_func ("/appearance/copies", test_copies);
  g_test_add_func ("/appearance/subset", test_subset);
  g_test_add_func ("/appearance/degenerate", test_degenerate);
  g_test_add_func ("/appearance/reference", test_reference);
  g_test_add_func ("/appearance/frame-steps", test_frame_steps);
  return g_test_run ();
}
