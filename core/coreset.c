/* coreset.c — greedy k-center coreset (as PatchCore selects its memory bank): repeatedly take
 * the candidate farthest from everything taken so far, so a small bank still covers the whole
 * feature distribution. A per-group cap keeps any one image from filling the bank.
 *
 * Exact greedy, computed in blocks: one pass over all candidates updates their distances to
 * the picks of the last block (one sgemm instead of a memory-bound sgemv per pick), then up to
 * BLOCK_PICKS picks are made from a shortlist of the SHORTLIST farthest candidates. A pick is
 * only made while its distance is at least the largest distance outside the shortlist
 * (distances only shrink), so the picks are those of the one-at-a-time greedy, up to ties. */
#include <math.h>
#include <string.h>
#include "funad-private.h"

#define BLOCK_PICKS 64
#define SHORTLIST 2048
#define PASS_ROWS 8192     /* candidates per sgemm in a full pass, to bound the scratch */

/* The value that would be at index `nth` (0-based) if v[0..n) were sorted in decreasing
 * order; v is reordered. Deterministic quickselect. */
static float
nth_largest (float *v, int n, int nth)
{
  int lo = 0, hi = n - 1;
  while (lo < hi) {
    float a = v[lo], b = v[(lo + hi) / 2], c = v[hi];
    float pivot = MAX (MIN (a, b), MIN (MAX (a, b), c));   /* median of three */
    int i = lo, j = hi;
    while (i <= j) {
      while (v[i] > pivot)
        i++;
      while (v[j] < pivot)
        j--;
      if (i <= j) {
        float t = v[i];
        v[i++] = v[j];
        v[j--] = t;
      }
    }
    if (nth <= j)
      hi = j;
    else if (nth >= i)
      lo = i;
    else
      return v[nth];
  }
  return v[nth];
}

static inline gboolean
eligible (int i, const float *mind, const int *group, const int *taken_per_group, int cap)
{
  return mind[i] >= 0.f && !(group && taken_per_group[group[i]] >= cap);
}

int
funad_coreset_select (const float *x, int n, int d, int k, const int *group, int group_cap,
                      GRand *rng, const gint *cancel, int *selected)
{
  if (n == 0 || k <= 0)
    return 0;
  float *norm = g_new (float, n), *mind = g_new (float, n);
  float *dot = g_new (float, (gsize) PASS_ROWS * BLOCK_PICKS);
  float *centres = g_new (float, (gsize) BLOCK_PICKS * d), *cnorm = g_new (float, BLOCK_PICKS);
  int *shortlist = g_new (int, MIN (n, SHORTLIST));
  float *local = g_new (float, MIN (n, SHORTLIST)), *values = g_new (float, n);
  int n_groups = 0;
  funad_squared_norms (x, n, d, norm);
  for (int i = 0; i < n; i++) {
    mind[i] = INFINITY;
    if (group)
      n_groups = MAX (n_groups, group[i] + 1);
  }
  int *taken_per_group = g_new0 (int, MAX (n_groups, 1));
  int count = 0, block = 1;
  selected[0] = g_rand_int_range (rng, 0, n);
  if (group)
    taken_per_group[group[selected[0]]]++;

  while (block > 0) {
    /* Commit the block: mark it taken, and bring every distance up to date with it. */
    for (int b = 0; b < block; b++) {
      int c = selected[count + b];
      mind[c] = -1.f;   /* taken */
      memcpy (centres + (gsize) b * d, x + (gsize) c * d, d * sizeof (float));
      cnorm[b] = norm[c];
    }
    count += block;
    for (int r0 = 0; r0 < n; r0 += PASS_ROWS) {
      int rows = MIN (PASS_ROWS, n - r0);
      funad_gemm_nt (rows, block, d, 1.f, x + (gsize) r0 * d, centres, 0.f, dot);
      for (int r = 0; r < rows; r++) {
        int i = r0 + r;
        if (mind[i] < 0.f)
          continue;
        for (int b = 0; b < block; b++) {
          float dist = MAX (norm[i] + cnorm[b] - 2.f * dot[(gsize) r * block + b], 0.f);
          mind[i] = MIN (mind[i], dist);
        }
      }
    }
    block = 0;
    if (count >= k || (cancel && g_atomic_int_get (cancel)))
      break;

    /* The shortlist: the SHORTLIST farthest eligible candidates, in index order; outside
     * threshold = the largest distance left out (-1 when none is). */
    int n_eligible = 0;
    for (int i = 0; i < n; i++)
      if (eligible (i, mind, group, taken_per_group, group_cap))
        values[n_eligible++] = mind[i];
    if (n_eligible == 0)
      break;
    int size = MIN (n_eligible, SHORTLIST);
    float outside = -1.f, cut = -INFINITY;
    if (n_eligible > SHORTLIST) {
      cut = nth_largest (values, n_eligible, SHORTLIST - 1);
      outside = nth_largest (values, n_eligible, SHORTLIST);
    }
    int above = 0;
    for (int e = 0; e < n_eligible; e++)
      above += values[e] > cut;
    int in = 0, at_cut = 0;
    for (int i = 0; i < n && in < size; i++) {
      if (!eligible (i, mind, group, taken_per_group, group_cap) || mind[i] < cut)
        continue;
      /* Candidates exactly at the cut fill the places left after those above it. */
      if (mind[i] == cut && at_cut++ >= size - above)
        continue;
      shortlist[in] = i;
      local[in++] = mind[i];
    }
    size = in;

    while (block < BLOCK_PICKS && count + block < k) {
      int best = -1;
      for (int s = 0; s < size; s++) {
        int i = shortlist[s];
        if (local[s] < 0.f || (group && taken_per_group[group[i]] >= group_cap))
          continue;
        if (best < 0 || local[s] > local[best])
          best = s;
      }
      if (best < 0 || local[best] < outside)
        break;   /* a candidate outside the shortlist may be farther now */
      int c = shortlist[best];
      selected[count + block++] = c;
      if (group)
        taken_per_group[group[c]]++;
      local[best] = -1.f;
      const float *xc = x + (gsize) c * d;
      for (int s = 0; s < size; s++) {
        if (local[s] < 0.f)
          continue;
        const float *xi = x + (gsize) shortlist[s] * d;
        float dt = 0.f;
        for (int j = 0; j < d; j++)
          dt += xi[j] * xc[j];
        local[s] = MIN (local[s], MAX (norm[shortlist[s]] + norm[c] - 2.f * dt, 0.f));
      }
    }
  }
  g_free (taken_per_group);
  g_free (values);
  g_free (local);
  g_free (shortlist);
  g_free (cnorm);
  g_free (centres);
  g_free (dot);
  g_free (mind);
  g_free (norm);
  return count;
}
