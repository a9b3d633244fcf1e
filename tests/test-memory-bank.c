/* test-memory-bank.c — the memory-bank scorer's parts: greedy coreset against a brute-force
 * reference, the per-image cap, and label-free removal of planted outliers. */
#include <math.h>
#include <string.h>
#include "funad-private.h"

static double
sq_dist (const float *a, const float *b, int d)
{
  double s = 0;
  for (int j = 0; j < d; j++)
    s += (double) (a[j] - b[j]) * (a[j] - b[j]);
  return s;
}

static void
test_coreset_brute_force (void)
{
  enum { N = 200, D = 6, K = 25 };
  GRand *rng = g_rand_new_with_seed (4);
  float x[N * D];
  for (int i = 0; i < N * D; i++)
    x[i] = (float) g_rand_double_range (rng, -1, 1);
  int chosen[K];
  GRand *pick = g_rand_new_with_seed (8);
  int count = funad_coreset_select (x, N, D, K, NULL, 0, pick, NULL, chosen);
  g_assert_cmpint (count, ==, K);
  /* Reference: from the same first point, always the point farthest from the chosen set. */
  int ref[K];
  ref[0] = chosen[0];
  for (int k = 1; k < K; k++) {
    double best = -1;
    for (int i = 0; i < N; i++) {
      double near = INFINITY;
      for (int c = 0; c < k; c++)
        near = MIN (near, sq_dist (x + i * D, x + ref[c] * D, D));
      if (near > best)
        best = near, ref[k] = i;
    }
  }
  for (int k = 0; k < K; k++)
    g_assert_cmpint (chosen[k], ==, ref[k]);
  g_rand_free (pick);
  g_rand_free (rng);
}

/* Many more candidates than the shortlist the selection works from between full passes:
 * every pick is still a farthest candidate from those picked before it (up to rounding). */
static void
test_coreset_blocked_is_greedy (void)
{
  enum { N = 6000, D = 4, K = 400 };
  GRand *rng = g_rand_new_with_seed (11);
  float *x = g_new (float, N * D);
  for (int i = 0; i < N * D; i++)
    x[i] = (float) g_rand_double_range (rng, -1, 1);
  int *chosen = g_new (int, K);
  int count = funad_coreset_select (x, N, D, K, NULL, 0, rng, NULL, chosen);
  g_assert_cmpint (count, ==, K);
  double *near = g_new (double, N);
  for (int i = 0; i < N; i++)
    near[i] = INFINITY;
  for (int k = 1; k < K; k++) {
    double farthest = 0;
    for (int i = 0; i < N; i++) {
      near[i] = MIN (near[i], sq_dist (x + i * D, x + chosen[k - 1] * D, D));
      farthest = MAX (farthest, near[i]);
    }
    g_assert_cmpfloat (near[chosen[k]], >=, farthest * (1 - 1e-4));
  }
  g_free (near);
  g_free (chosen);
  g_free (x);
  g_rand_free (rng);
}

static void
test_coreset_group_cap (void)
{
  enum { N = 120, D = 3 };
  GRand *rng = g_rand_new_with_seed (5);
  float x[N * D];
  int group[N];
  for (int i = 0; i < N; i++) {
    group[i] = i % 4;
    /* Group 0 is spread ten times wider: unchecked, greedy selection would favour it. */
    double spread = group[i] == 0 ? 10 : 1;
    for (int j = 0; j < D; j++)
      x[i * D + j] = (float) g_rand_double_range (rng, -spread, spread);
  }
  int chosen[40], per_group[4] = { 0 };
  int count = funad_coreset_select (x, N, D, 40, group, 10, rng, NULL, chosen);
  g_assert_cmpint (count, ==, 40);
  for (int k = 0; k < count; k++)
    per_group[group[chosen[k]]]++;
  for (int g = 0; g < 4; g++)
    g_assert_cmpint (per_group[g], <=, 10);
  g_rand_free (rng);
}

/* Ten images of clustered "normal" patches; image 3 carries a few far-away patches. The bank
 * built with outlier removal must leave every planted outlier out, and without it keep some. */
static void
test_planted_outliers_removed (void)
{
  enum { N = 10, P = 64, D = 8 };
  GRand *rng = g_rand_new_with_seed (6);
  float *features = g_new (float, N * P * D);
  for (int i = 0; i < N * P * D; i++)
    features[i] = (float) g_rand_double_range (rng, -1, 1);
  for (int p = 0; p < 6; p++)
    for (int j = 0; j < D; j++)
      features[(3 * P + p) * D + j] = 25.f + j;
  for (int with_removal = 0; with_removal < 2; with_removal++) {
    FunadModel *m = funad_model_new_empty ();
    funad_backbone_init_builtin (&m->backbone, 64, 1, D);
    int *group = funad_memory_bank_build (m, features, NULL, N, P, N * P, with_removal ? 3.f : 0.f,
                                          rng, NULL);
    int planted = 0;
    for (int r = 0; r < m->bank_rows; r++)
      planted += m->bank[(gsize) r * D] > 20.f;
    if (with_removal) {
      g_assert_cmpint (planted, ==, 0);
      g_assert_cmpint (m->bank_rows, >, N * P / 2);   /* normal patches are kept */
    } else {
      g_assert_cmpint (planted, >, 0);
    }
    /* A planted patch scores far above a normal one against the cleaned bank. */
    float scores[2];
    float probe[2 * D];
    memcpy (probe, features + (3 * P) * D, D * sizeof (float));
    memcpy (probe + D, features + (5 * P + 1) * D, D * sizeof (float));
    funad_memory_bank_score (m, probe, 2, -1, NULL, 0, scores);
    if (with_removal)
      g_assert_cmpfloat (scores[0], >, 10 * MAX (scores[1], 0.1f));
    /* A non-finite feature is never taken for normal. */
    probe[D + 2] = NAN;
    funad_memory_bank_score (m, probe, 2, -1, NULL, 0, scores);
    g_assert_cmpfloat (scores[1], ==, FUNAD_SCORE_UNREACHABLE);
    g_free (group);
    funad_model_unref (m);
  }
  /* Building from a chosen subset of the images, read in place, gives the same bank and the
   * same source images as building from a copy of just those images. */
  const int images[] = { 1, 3, 4, 8 };
  float *copy = g_new (float, 4 * P * D);
  for (int k = 0; k < 4; k++)
    memcpy (copy + (gsize) k * P * D, features + (gsize) images[k] * P * D,
            P * D * sizeof (float));
  FunadModel *a = funad_model_new_empty (), *b = funad_model_new_empty ();
  funad_backbone_init_builtin (&a->backbone, 64, 1, D);
  funad_backbone_init_builtin (&b->backbone, 64, 1, D);
  GRand *ra = g_rand_new_with_seed (9), *rb = g_rand_new_with_seed (9);
  int *ga = funad_memory_bank_build (a, features, images, 4, P, 100, 3.f, ra, NULL);
  int *gb = funad_memory_bank_build (b, copy, NULL, 4, P, 100, 3.f, rb, NULL);
  g_assert_cmpint (a->bank_rows, ==, b->bank_rows);
  g_assert_cmpmem (a->bank, a->bank_rows * D * sizeof (float), b->bank,
                   b->bank_rows * D * sizeof (float));
  g_assert_cmpmem (ga, a->bank_rows * sizeof (int), gb, b->bank_rows * sizeof (int));
  g_free (ga);
  g_free (gb);
  g_rand_free (ra);
  g_rand_free (rb);
  funad_model_unref (a);
  funad_model_unref (b);
  g_free (copy);
  g_free (features);
  g_rand_free (rng);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/coreset/brute-force", test_coreset_brute_force);
  g_test_add_func ("/coreset/blocked-is-greedy", test_coreset_blocked_is_greedy);
  g_test_add_func ("/coreset/group-cap", test_coreset_group_cap);
  g_test_add_func ("/memory-bank/planted-outliers", test_planted_outliers_removed);
  return g_test_run ();
}
