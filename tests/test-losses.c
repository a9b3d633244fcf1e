/* test-losses.c — FUN-AD's loss terms: gradients against finite differences, and the mutual
 * pair selection against a brute-force reference. */
#include <math.h>
#include "funad-private.h"

static void
random_logits (GRand *rng, float *z, int n)
{
  for (int i = 0; i < n; i++)
    z[i] = (float) g_rand_double_range (rng, -3, 3);
}

static void
test_bce_gradient (void)
{
  GRand *rng = g_rand_new_with_seed (11);
  enum { N = 12 };
  float z[N], g[N] = { 0 }, scratch[N];
  guint8 y[N];
  random_logits (rng, z, N);
  for (int i = 0; i < N; i++)
    y[i] = i % 4 == 0;
  double loss = funad_balanced_bce (z, y, N, g);
  g_assert_true (isfinite (loss) && loss > 0);
  for (int i = 0; i < N; i++) {
    double h = 1e-3;
    float saved = z[i];
    z[i] = saved + h;
    double up = funad_balanced_bce (z, y, N, scratch);
    z[i] = saved - h;
    double down = funad_balanced_bce (z, y, N, scratch);
    z[i] = saved;
    g_assert_cmpfloat_with_epsilon (g[i], (up - down) / (2 * h), 2e-3);
  }
  g_rand_free (rng);
}

/* Balanced: the single positive weighs as much as all negatives together. */
static void
test_bce_balance (void)
{
  float z[5] = { 0, 0, 0, 0, 0 }, g[5] = { 0 };
  guint8 y[5] = { 1, 0, 0, 0, 0 };
  double loss = funad_balanced_bce (z, y, 5, g);
  g_assert_cmpfloat_with_epsilon (loss, 2 * log (2.0), 1e-6);
  g_assert_cmpfloat_with_epsilon (g[0], -0.5, 1e-6);
  g_assert_cmpfloat_with_epsilon (g[1], 0.5 / 4, 1e-6);
  /* A missing class adds nothing and its term does not divide by zero. */
  guint8 none[5] = { 0 };
  float g2[5] = { 0 };
  g_assert_cmpfloat_with_epsilon (funad_balanced_bce (z, none, 5, g2), log (2.0), 1e-6);
}

static void
test_smoothness_gradient (void)
{
  GRand *rng = g_rand_new_with_seed (5);
  enum { N = 10 };
  float z[N], g[N] = { 0 }, scratch[N];
  random_logits (rng, z, N);
  int pi[3] = { 0, 2, 5 }, pj[3] = { 1, 7, 9 };
  double loss = funad_mutual_smoothness (z, pi, pj, 3, 2.5f, g);
  double expect = 0;
  for (int p = 0; p < 3; p++)
    expect += fabs (1 / (1 + exp (-z[pi[p]])) - 1 / (1 + exp (-z[pj[p]]))) / 2;
  g_assert_cmpfloat_with_epsilon (loss, 2.5 * expect / 3, 1e-5);
  for (int i = 0; i < N; i++) {
    double h = 1e-3;
    float saved = z[i];
    z[i] = saved + h;
    double up = funad_mutual_smoothness (z, pi, pj, 3, 2.5f, scratch);
    z[i] = saved - h;
    double down = funad_mutual_smoothness (z, pi, pj, 3, 2.5f, scratch);
    z[i] = saved;
    g_assert_cmpfloat_with_epsilon (g[i], (up - down) / (2 * h), 2e-3);
  }
  g_rand_free (rng);
}

static void
test_mutual_pairs_brute_force (void)
{
  GRand *rng = g_rand_new_with_seed (9);
  enum { N = 60, D = 5 };
  float x[N * D];
  for (int i = 0; i < N * D; i++)
    x[i] = (float) g_rand_double_range (rng, -1, 1);
  int pi[N], pj[N];
  int count = funad_mutual_pairs (x, N, D, pi, pj);
  int nearest[N];
  for (int i = 0; i < N; i++) {
    double best = INFINITY;
    for (int j = 0; j < N; j++) {
      if (j == i)
        continue;
      double d = 0;
      for (int k = 0; k < D; k++)
        d += (x[i * D + k] - x[j * D + k]) * (x[i * D + k] - x[j * D + k]);
      if (d < best)
        best = d, nearest[i] = j;
    }
  }
  int expected = 0;
  for (int i = 0; i < N; i++)
    if (nearest[i] > i && nearest[nearest[i]] == i) {
      g_assert_cmpint (pi[expected], ==, i);
      g_assert_cmpint (pj[expected], ==, nearest[i]);
      expected++;
    }
  g_assert_cmpint (count, ==, expected);
  g_assert_cmpint (count, >, 0);
  g_rand_free (rng);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/losses/bce-gradient", test_bce_gradient);
  g_test_add_func ("/losses/bce-balance", test_bce_balance);
  g_test_add_func ("/losses/smoothness-gradient", test_smoothness_gradient);
  g_test_add_func ("/losses/mutual-pairs", test_mutual_pairs_brute_force);
  return g_test_run ();
}
