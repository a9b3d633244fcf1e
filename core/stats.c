/* stats.c — small statistics over float arrays. */
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
