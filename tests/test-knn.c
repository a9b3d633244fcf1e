/* test-knn.c — sgemm kNN against brute force, with and without leave-own-group-out, across
 * tile boundaries; k-means and the eigen-solver on known answers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "funad-private.h"

static void
check_knn (int nq, int nr, int d, int k, gboolean groups, int window)
{
  GRand *rng = g_rand_new_with_seed (nq * 31 + nr);
  float *q = g_new (float, (gsize) nq * d), *r = g_new (float, (gsize) nr * d);
  for (int i = 0; i < nq * d; i++)
    q[i] = (float) g_rand_double_range (rng, -1, 1);
  for (int i = 0; i < nr * d; i++)
    r[i] = (float) g_rand_double_range (rng, -1, 1);
  int *qg = g_new (int, nq), *rg = g_new (int, nr);
  for (int i = 0; i < nq; i++)
    qg[i] = i % 7;
  for (int j = 0; j < nr; j++)
    rg[j] = j % 5;
  float *dist = g_new (float, (gsize) nq * k);
  int *idx = g_new (int, (gsize) nq * k);
  funad_knn (q, nq, r, nr, d, k, groups ? qg : NULL, groups ? rg : NULL, window, dist, idx);
  double *all = g_new (double, nr);
  for (int i = 0; i < nq; i++) {
    for (int j = 0; j < nr; j++) {
      double s = 0;
      for (int c = 0; c < d; c++) {
        double diff = q[(gsize) i * d + c] - r[(gsize) j * d + c];
        s += diff * diff;
      }
      all[j] = groups && abs (qg[i] - rg[j]) <= window ? INFINITY : s;
    }
    for (int m = 0; m < k; m++) {
      int best = -1;
      for (int j = 0; j < nr; j++)
        if (best < 0 || all[j] < all[best])
          best = j;
      if (isinf (all[best])) {   /* every reference left out: no neighbour */
        g_assert_true (isinf (dist[i * k + m]));
        g_assert_cmpint (idx[i * k + m], ==, -1);
        continue;
      }
      g_assert_cmpfloat_with_epsilon (dist[i * k + m], all[best], 1e-4);
      g_assert_cmpint (idx[i * k + m], ==, best);
      all[best] = INFINITY;
    }
  }
  g_free (all);
  g_free (idx);
  g_free (dist);
  g_free (qg);
  g_free (rg);
  g_free (q);
  g_free (r);
  g_rand_free (rng);
}

static void
test_knn_small (void)
{
  check_knn (17, 23, 4, 2, FALSE, 0);
  check_knn (17, 23, 4, 2, TRUE, 0);
}

/* More than one query tile (512) and reference tile (4096). */
static void
test_knn_tiled (void)
{
  check_knn (600, 4500, 8, 2, TRUE, 0);
}

/* Leaving out a window of neighbouring frames, not just the frame itself. */
static void
test_knn_window (void)
{
  check_knn (40, 60, 3, 2, TRUE, 1);
  check_knn (40, 60, 3, 1, TRUE, 2);
}

static void
test_knn_excluded_everything (void)
{
  float q[2] = { 0, 1 }, r[2] = { 0, 1 };
  int g[2] = { 4, 4 };
  float dist[2];
  int idx[2];
  funad_knn (q, 2, r, 2, 1, 1, g, g, 0, dist, idx);
  g_assert_true (isinf (dist[0]) && idx[0] == -1);
}

static void
test_kmeans_separated_clusters (void)
{
  GRand *rng = g_rand_new_with_seed (1);
  enum { PER = 50, D = 3, K = 4 };
  float x[K * PER * D];
  for (int c = 0; c < K; c++)
    for (int i = 0; i < PER; i++)
      for (int j = 0; j < D; j++)
        x[(c * PER + i) * D + j] = 10.f * c * (j == c % D ? 1 : 0.5f) +
          (float) g_rand_double_range (rng, -0.1, 0.1);
  float cent[K * D];
  funad_kmeans (x, K * PER, D, K, 20, rng, cent);
  /* Every true cluster mean has a centroid within the noise. */
  for (int c = 0; c < K; c++) {
    double best = INFINITY;
    for (int k = 0; k < K; k++) {
      double s = 0;
      for (int j = 0; j < D; j++) {
        double diff = cent[k * D + j] - x[(c * PER) * D + j];
        s += diff * diff;
      }
      best = MIN (best, s);
    }
    g_assert_cmpfloat (best, <, 0.1);
  }
  g_rand_free (rng);
}

static void
test_eigen (void)
{
  float a[9] = { 2, 1, 0, 1, 2, 0, 0, 0, 5 }, ev[3];
  g_assert_true (funad_sym_eigen (a, 3, ev));
  g_assert_cmpfloat_with_epsilon (ev[0], 1, 1e-5);
  g_assert_cmpfloat_with_epsilon (ev[1], 3, 1e-5);
  g_assert_cmpfloat_with_epsilon (ev[2], 5, 1e-5);
  /* Row 2 is the eigenvector of 5: (0, 0, +-1). */
  g_assert_cmpfloat_with_epsilon (fabsf (a[8]), 1, 1e-5);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/knn/small", test_knn_small);
  g_test_add_func ("/knn/tiled", test_knn_tiled);
  g_test_add_func ("/knn/window", test_knn_window);
  g_test_add_func ("/knn/all-excluded", test_knn_excluded_everything);
  g_test_add_func ("/kmeans/clusters", test_kmeans_separated_clusters);
  g_test_add_func ("/linalg/eigen", test_eigen);
  return g_test_run ();
}
