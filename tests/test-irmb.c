/* test-irmb.c — the IRMB's candidate normals and pseudo-labels against brute-force references
 * on small inputs: both rules for each, the fallback that keeps the bank from starving, and
 * patches with no neighbour. The references find medians by counting, not by sorting. */
#include <math.h>
#include "funad-private.h"

/* The k-th smallest value (0-based): the one with at most k values below it and more than k
 * at or below it. */
static double
kth_by_counting (const float *v, int n, int k)
{
  for (int i = 0; i < n; i++) {
    int below = 0, equal = 0;
    for (int j = 0; j < n; j++) {
      below += v[j] < v[i];
      equal += v[j] == v[i];
    }
    if (below <= k && below + equal > k)
      return v[i];
  }
  g_assert_not_reached ();
}

/* The median; of an even count, halfway between the middle two. */
static double
median_by_counting (const float *v, int n)
{
  if (n % 2 == 1)
    return kth_by_counting (v, n, n / 2);
  return 0.5 * (kth_by_counting (v, n, n / 2 - 1) + kth_by_counting (v, n, n / 2));
}

static double
robust_cut_by_counting (const float *v, int n, double z)
{
  double med = median_by_counting (v, n);
  float *dev = g_new (float, n);
  for (int i = 0; i < n; i++)
    dev[i] = fabsf (v[i] - (float) med);
  double mad = median_by_counting (dev, n);
  g_free (dev);
  return med + z * 1.4826 * mad;
}

static void
check_candidates (const float *scores, int n, gboolean robust, double z)
{
  gboolean *got = g_new (gboolean, n), *want = g_new (gboolean, n);
  funad_irmb_candidates (scores, n, robust, z, got);
  float lo = scores[0], hi = scores[0];
  for (int i = 0; i < n; i++)
    lo = MIN (lo, scores[i]), hi = MAX (hi, scores[i]);
  double cut = robust ? robust_cut_by_counting (scores, n, z) : 0;
  int count = 0;
  for (int i = 0; i < n; i++) {
    want[i] = robust ? scores[i] <= cut : (hi == lo || (scores[i] - lo) / (hi - lo) < 0.5f);
    count += want[i];
  }
  if (count < MAX (2, n / 10)) {
    double median = median_by_counting (scores, n);
    for (int i = 0; i < n; i++)
      want[i] = scores[i] <= median;
  }
  for (int i = 0; i < n; i++)
    g_assert_cmpint (got[i], ==, want[i]);
  g_free (got);
  g_free (want);
}

static void
test_candidates (void)
{
  GRand *rng = g_rand_new_with_seed (11);
  enum { N = 61 };
  float scores[N];
  for (int trial = 0; trial < 20; trial++) {
    /* most images normal, a few far above: the contaminated ones */
    for (int i = 0; i < N; i++)
      scores[i] = (float) (g_rand_double (rng) + (i % 9 == 0 ? 2 + 3 * g_rand_double (rng) : 0));
    for (int robust = 0; robust <= 1; robust++)
      check_candidates (scores, N, robust, robust ? 1.0 : 0);
  }
  g_rand_free (rng);
}

/* One image far below the rest leaves the min-max rule a single candidate: the fallback keeps
 * the lower half instead; equal scores keep every image. */
static void
test_candidates_fallback (void)
{
  enum { N = 41 };
  float scores[N];
  gboolean got[N];
  for (int i = 0; i < N; i++)
    scores[i] = 10.f + 0.01f * i;
  scores[7] = -100.f;
  funad_irmb_candidates (scores, N, FALSE, 0, got);
  int count = 0;
  for (int i = 0; i < N; i++)
    count += got[i];
  g_assert_cmpint (count, ==, N / 2 + 1);
  g_assert_true (got[7]);
  g_assert_false (got[N - 1]);
  check_candidates (scores, N, FALSE, 0);
  for (int i = 0; i < N; i++)
    scores[i] = 3.f;
  for (int robust = 0; robust <= 1; robust++) {
    funad_irmb_candidates (scores, N, robust, 1.0, got);
    for (int i = 0; i < N; i++)
      g_assert_true (got[i]);
  }
}

static void
test_pseudo_labels (void)
{
  enum { FRAMES = 6, PER = 25 };
  GRand *rng = g_rand_new_with_seed (5);
  float dist[FRAMES * PER];
  guint8 got[FRAMES * PER];
  gboolean kept[FRAMES] = { TRUE, FALSE, FALSE, TRUE, FALSE, FALSE };
  for (int i = 0; i < FRAMES * PER; i++)
    dist[i] = (float) (1 + g_rand_double (rng));
  dist[1 * PER + 3] = 6.f;          /* a defect in a frame the teacher left out */
  dist[0 * PER + 4] = 6.f;          /* the same in a frame it kept: never labelled */
  dist[2 * PER + 5] = INFINITY;     /* no neighbour outside its own frame */
  for (int j = 0; j < PER; j++)
    dist[5 * PER + j] = INFINITY;   /* a frame of such patches */
  float lo = 1.f, hi = 5.f;

  /* the reference's rule: normalised distance above 0.5, no neighbour counted as 0 */
  funad_irmb_pseudo_labels (dist, FRAMES, PER, lo, hi, NULL, 3.f, got);
  for (int i = 0; i < FRAMES * PER; i++)
    g_assert_cmpint (got[i], ==, isfinite (dist[i]) && (dist[i] - lo) / (hi - lo) > 0.5f);
  g_assert_true (got[1 * PER + 3] && got[0 * PER + 4]);

  /* gated: per frame, above its own finite distances' robust cut, only where not kept */
  funad_irmb_pseudo_labels (dist, FRAMES, PER, lo, hi, kept, 3.f, got);
  int labelled = 0;
  for (int b = 0; b < FRAMES; b++) {
    float finite[PER];
    int m = 0;
    for (int j = 0; j < PER; j++)
      if (isfinite (dist[b * PER + j]))
        finite[m++] = dist[b * PER + j];
    double cut = !kept[b] && m > 0 ? robust_cut_by_counting (finite, m, 3.0) : INFINITY;
    for (int j = 0; j < PER; j++) {
      float d = dist[b * PER + j];
      /* away from the cut, the reference must agree exactly */
      if (isfinite (cut) && fabs (d - cut) < 0.05)
        continue;
      g_assert_cmpint (got[b * PER + j], ==, isfinite (d) && d > cut);
      labelled += got[b * PER + j];
    }
  }
  g_assert_true (got[1 * PER + 3]);
  g_assert_false (got[0 * PER + 4]);
  g_assert_false (got[2 * PER + 5]);
  g_assert_cmpint (labelled, >=, 1);
  g_rand_free (rng);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/irmb/candidates", test_candidates);
  g_test_add_func ("/irmb/candidates-fallback", test_candidates_fallback);
  g_test_add_func ("/irmb/pseudo-labels", test_pseudo_labels);
  return g_test_run ();
}
