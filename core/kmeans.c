/* kmeans.c — k-means (k-means++ seeding, Lloyd iterations with sgemm distances). */
#include <math.h>
#include <string.h>
#include "funad-private.h"

/* k-means++: each new centre drawn with probability proportional to the squared distance to
 * the nearest centre chosen so far. */
static void
seed_plus_plus (const float *x, int n, int d, int k, GRand *rng, float *centroids)
{
  float *nearest = g_new (float, n);
  int first = g_rand_int_range (rng, 0, n);
  memcpy (centroids, x + (gsize) first * d, d * sizeof (float));
  for (int i = 0; i < n; i++)
    nearest[i] = INFINITY;
  for (int c = 1; c < k; c++) {
    const float *prev = centroids + (gsize) (c - 1) * d;
    double total = 0.0;
    for (int i = 0; i < n; i++) {
      const float *row = x + (gsize) i * d;
      float s = 0.f;
      for (int j = 0; j < d; j++) {
        float diff = row[j] - prev[j];
        s += diff * diff;
      }
      nearest[i] = MIN (nearest[i], s);
      total += nearest[i];
    }
    double target = g_rand_double (rng) * total, acc = 0.0;
    int pick = n - 1;
    for (int i = 0; i < n; i++) {
      acc += nearest[i];
      if (acc >= target && nearest[i] > 0.f) {
        pick = i;
        break;
      }
    }
    memcpy (centroids + (gsize) c * d, x + (gsize) pick * d, d * sizeof (float));
  }
  g_free (nearest);
}

void
funad_kmeans (const float *x, int n, int d, int k, int iterations, GRand *rng, float *centroids)
{
  g_return_if_fail (n >= k && k > 0);
  seed_plus_plus (x, n, d, k, rng, centroids);
  funad_kmeans_lloyd (x, n, d, k, iterations, centroids);
}

void
funad_kmeans_lloyd (const float *x, int n, int d, int k, int iterations, float *centroids)
{
  float *dist = g_new (float, n);
  int *assign = g_new (int, n);
  double *sums = g_new (double, (gsize) k * d);
  int *counts = g_new (int, k);
  for (int it = 0; it < iterations; it++) {
    funad_knn (x, n, centroids, k, d, 1, NULL, NULL, 0, dist, assign);
    memset (sums, 0, (gsize) k * d * sizeof (double));
    memset (counts, 0, k * sizeof (int));
    for (int i = 0; i < n; i++) {
      if (assign[i] < 0)  /* infinitely far from every centre: it moves none of them */
        continue;
      double *s = sums + (gsize) assign[i] * d;
      const float *row = x + (gsize) i * d;
      for (int j = 0; j < d; j++)
        s[j] += row[j];
      counts[assign[i]]++;
    }
    for (int c = 0; c < k; c++) {
      float *centre = centroids + (gsize) c * d;
      if (counts[c] == 0) {
        /* An empty cluster takes the point worst served by its centre. */
        int worst = 0;
        for (int i = 1; i < n; i++)
          if (dist[i] > dist[worst])
            worst = i;
        memcpy (centre, x + (gsize) worst * d, d * sizeof (float));
        dist[worst] = 0.f;
        continue;
      }
      for (int j = 0; j < d; j++)
        centre[j] = (float) (sums[(gsize) c * d + j] / counts[c]);
    }
  }
  g_free (counts);
  g_free (sums);
  g_free (assign);
  g_free (dist);
}
