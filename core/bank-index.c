/* bank-index.c — an inverted-file index over the memory bank, so that a frame is scored
 * against a few cells of the bank instead of all of it.
 *
 * Exact search costs 2 * patches * bank_rows * dim flops a frame (8 GFLOP for 784 patches
 * and 40,000 rows of 128), more than a line camera's frame time allows on two cores. The bank
 * is clustered (k-means, about BANK_CELL_ROWS rows a cell); a patch is compared with the rows of
 * the n_probe cells whose centres are nearest to it. Patches that probe the same cell are
 * gathered so that each cell costs one sgemm. A missed nearest row can only make a distance
 * larger, never smaller, and the measured effect on accuracy is in the README. */
#include <math.h>
#include <string.h>
#include "funad-private.h"

#define BANK_CELL_ROWS 128
#define KMEANS_ITERATIONS 6
#define KMEANS_SAMPLE_PER_CELL 40   /* cells are fitted on a sample of this many rows per cell */
#define INDEX_SEED 0x5eed

int
funad_bank_index_default_probes (void)
{
  /* FUNAD_BANK_PROBES=0 asks for exact search (for measuring what the index costs). */
  const char *env = g_getenv ("FUNAD_BANK_PROBES");
  if (env)
    return (int) g_ascii_strtoll (env, NULL, 10);
  return FUNAD_BANK_DEFAULT_PROBES;
}

FunadBankIndex *
funad_bank_index_new (const float *bank, const float *floor, int rows, int dim,
                      int n_probe)
{
  int n_cells = rows / BANK_CELL_ROWS;
  if (n_probe <= 0 || n_cells < 2 * n_probe)
    return NULL;   /* exact search is as cheap, or was asked for */
  FunadBankIndex *index = g_new0 (FunadBankIndex, 1);
  index->n_cells = n_cells;
  index->n_probe = n_probe;
  index->dim = dim;
  index->centroids = g_new (float, (gsize) n_cells * dim);
  /* The index is built when a model loads, so it must be quick: cells are fitted on a random
   * sample of the rows, seeded from random rows (k-means++ would cost rows * n_cells * dim
   * scalar operations) — cells only need to be roughly balanced, not optimal. */
  GRand *rng = g_rand_new_with_seed (INDEX_SEED);
  int n_sample = MIN (rows, KMEANS_SAMPLE_PER_CELL * n_cells);
  int *picked = g_new (int, n_sample), *scratch = g_new (int, rows);
  funad_sample_indices (rng, rows, n_sample, picked, scratch);
  float *sample = g_new (float, (gsize) n_sample * dim);
  for (int i = 0; i < n_sample; i++)
    memcpy (sample + (gsize) i * dim, bank + (gsize) picked[i] * dim, dim * sizeof (float));
  /* the sample is in random order: its first n_cells rows are random seeds */
  memcpy (index->centroids, sample, (gsize) n_cells * dim * sizeof (float));
  funad_kmeans_lloyd (sample, n_sample, dim, n_cells, KMEANS_ITERATIONS, index->centroids);
  g_free (sample);
  g_free (scratch);
  g_free (picked);
  g_rand_free (rng);
  index->centroid_norms = g_new (float, n_cells);
  funad_squared_norms (index->centroids, n_cells, dim, index->centroid_norms);
  /* Rows sorted by cell, so that each cell is one contiguous matrix. */
  float *dist = g_new (float, rows);
  int *cell = g_new (int, rows);
  funad_knn (bank, rows, index->centroids, n_cells, dim, 1, NULL, NULL, 0, dist, cell);
  for (int i = 0; i < rows; i++)
    cell[i] = MAX (cell[i], 0);  /* infinitely far from every centre: it still needs a cell */
  index->cell_start = g_new0 (int, n_cells + 1);
  for (int i = 0; i < rows; i++)
    index->cell_start[cell[i] + 1]++;
  for (int c = 0; c < n_cells; c++)
    index->cell_start[c + 1] += index->cell_start[c];
  int *fill = g_memdup2 (index->cell_start, n_cells * sizeof (int));
  index->rows = g_new (float, (gsize) rows * dim);
  float *sorted_floor = floor ? g_new (float, rows) : NULL;
  index->row_norms = g_new (float, rows);
  for (int i = 0; i < rows; i++) {
    int at = fill[cell[i]]++;
    memcpy (index->rows + (gsize) at * dim, bank + (gsize) i * dim, dim * sizeof (float));
    if (floor)
      sorted_floor[at] = floor[i];
  }
  funad_bank_row_norms (index->rows, sorted_floor, rows, dim, index->row_norms);
  g_free (sorted_floor);
  g_free (fill);
  g_free (cell);
  g_free (dist);
  return index;
}

void
funad_bank_index_free (FunadBankIndex *index)
{
  if (!index)
    return;
  g_free (index->centroids);
  g_free (index->centroid_norms);
  g_free (index->cell_start);
  g_free (index->rows);
  g_free (index->row_norms);
  g_free (index);
}

/* Indices of the n_probe smallest of n values (any order), by repeated partial selection. */
static void
smallest (const float *values, int n, int n_probe, int *out)
{
  float best[64];
  for (int p = 0; p < n_probe; p++) {
    best[p] = INFINITY;
    out[p] = 0;
  }
  for (int i = 0; i < n; i++) {
    float v = values[i];
    if (!(v < best[n_probe - 1]))
      continue;
    int p = n_probe - 1;
    while (p > 0 && best[p - 1] > v) {
      best[p] = best[p - 1];
      out[p] = out[p - 1];
      p--;
    }
    best[p] = v;
    out[p] = i;
  }
}

double
funad_bank_index_search (const FunadBankIndex *index, const float *q, int nq, float *dist)
{
  const int d = index->dim, C = index->n_cells, np = index->n_probe;
  double flops = 2.0 * nq * C * d;
  float *cdist = g_new (float, (gsize) nq * C);
  float *qnorm = g_new (float, nq);
  /* Which cells each patch probes, then the inverse: which patches each cell serves. */
  funad_gemm_nt (nq, C, d, -2.f, q, index->centroids, 0.f, cdist);
  int *probe = g_new (int, (gsize) nq * np);
  int *count = g_new0 (int, C + 1);
  funad_squared_norms (q, nq, d, qnorm);
  for (int i = 0; i < nq; i++) {
    dist[i] = INFINITY;
    /* |q|^2 is the same for every cell: the ranking needs only |c|^2 - 2 q.c. */
    float *row = cdist + (gsize) i * C;
    for (int c = 0; c < C; c++)
      row[c] += index->centroid_norms[c];
    smallest (row, C, np, probe + (gsize) i * np);
    for (int p = 0; p < np; p++)
      count[probe[(gsize) i * np + p] + 1]++;
  }
  for (int c = 0; c < C; c++)
    count[c + 1] += count[c];
  int *served = g_new (int, (gsize) nq * np);
  int *fill = g_memdup2 (count, C * sizeof (int));
  for (int i = 0; i < nq; i++)
    for (int p = 0; p < np; p++)
      served[fill[probe[(gsize) i * np + p]]++] = i;
  /* One sgemm per cell against the patches that probe it. */
  int max_rows = 0, max_served = 0;
  for (int c = 0; c < C; c++) {
    max_rows = MAX (max_rows, index->cell_start[c + 1] - index->cell_start[c]);
    max_served = MAX (max_served, count[c + 1] - count[c]);
  }
  float *gathered = g_new (float, (gsize) MAX (max_served, 1) * d);
  float *dot = g_new (float, (gsize) MAX (max_served, 1) * MAX (max_rows, 1));
  for (int c = 0; c < C; c++) {
    int r0 = index->cell_start[c], nr = index->cell_start[c + 1] - r0;
    int s0 = count[c], ns = count[c + 1] - s0;
    if (nr == 0 || ns == 0)
      continue;
    for (int s = 0; s < ns; s++)
      memcpy (gathered + (gsize) s * d, q + (gsize) served[s0 + s] * d, d * sizeof (float));
    funad_gemm_nt (ns, nr, d, -2.f, gathered, index->rows + (gsize) r0 * d, 0.f, dot);
    flops += 2.0 * ns * nr * d;
    const float *rn = index->row_norms + r0;
    for (int s = 0; s < ns; s++) {
      const float *row = dot + (gsize) s * nr;
      float best = INFINITY;
      for (int j = 0; j < nr; j++) {
        float v = rn[j] + row[j];
        best = v < best ? v : best;
      }
      int i = served[s0 + s];
      float v = qnorm[i] + best;
      /* Rounding can make a distance slightly negative; a NaN is never a match. */
      v = v > 0.f ? v : (isnan (v) ? INFINITY : 0.f);
      dist[i] = MIN (dist[i], v);
    }
  }
  g_free (dot);
  g_free (gathered);
  g_free (fill);
  g_free (served);
  g_free (count);
  g_free (probe);
  g_free (qnorm);
  g_free (cdist);
  return flops;
}
