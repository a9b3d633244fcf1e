/* stats.c — small statistics over float arrays, and the random draws the trainer uses. */
#include <math.h>
#include <string.h>
#include "funad-private.h"

static int
compare_floats (const void *a, const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x > y) - (x < y);
}

/* Linear-interpolated quantile q in [0,1]; NAN for an empty array. */
double
funad_quantile (const float *values, gsize n, double q)
{
  if (n == 0)
    return NAN;
  float *sorted = g_memdup2 (values, n * sizeof (float));
  qsort (sorted, n, sizeof (float), compare_floats);
  double pos = CLAMP (q, 0.0, 1.0) * (double) (n - 1);
  gsize lo = (gsize) floor (pos);
  gsize hi = MIN (lo + 1, n - 1);
  double result = sorted[lo] + (pos - (double) lo) * (sorted[hi] - sorted[lo]);
  g_free (sorted);
  return result;
}

/* median + z x 1.4826 x MAD: a cut that a minority of outliers cannot move, on the scale of a
 * standard deviation for normal data. median and mad may be NULL. */
double
funad_robust_cut (const float *values, gsize n, double z, double *median, double *mad)
{
  double med = funad_quantile (values, n, 0.5);
  float *dev = g_new (float, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    dev[i] = fabsf (values[i] - (float) med);
  double m = funad_quantile (dev, n, 0.5);
  g_free (dev);
  if (median)
    *median = med;
  if (mad)
    *mad = m;
  return med + z * 1.4826 * m;
}

/* The first k entries of a random permutation of 0..n-1 (partial Fisher-Yates); scratch holds
 * n ints. */
void
funad_sample_indices (GRand *rng, int n, int k, int *out, int *scratch)
{
  for (int i = 0; i < n; i++)
    scratch[i] = i;
  for (int i = 0; i < k; i++) {
    int j = g_rand_int_range (rng, i, n);
    int tmp = scratch[i];
    scratch[i] = scratch[j];
    scratch[j] = tmp;
    out[i] = scratch[i];
  }
}

/* A standard normal draw (Box-Muller). */
float
funad_gaussian (GRand *rng)
{
  double u1 = g_rand_double (rng), u2 = g_rand_double (rng);
  return (float) (sqrt (-2.0 * log (1.0 - u1)) * cos (2.0 * G_PI * u2));
}
