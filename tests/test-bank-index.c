/* test-bank-index.c — the memory bank's inverted-file index against exact search: every
 * distance it returns is a real distance to a bank row (never below the exact nearest), probing
 * every cell gives the exact answer, and on clustered data a few probes find the nearest row
 * almost always. A scorer that cuts frames into bands over its own threads scores as one
 * thread does. */
#include <math.h>
#include <string.h>
#include "funad-private.h"
#include "synthetic-frames.h"

#define D 16

/* Rows around 40 cluster centres, as patch features cluster around kinds of texture. */
static float *
clustered (GRand *rng, const float *centres, int n)
{
  float *x = g_new (float, (gsize) n * D);
  for (int i = 0; i < n; i++) {
    const float *c = centres + (gsize) g_rand_int_range (rng, 0, 40) * D;
    for (int j = 0; j < D; j++)
      x[(gsize) i * D + j] = c[j] + 0.3f * funad_gaussian (rng);
  }
  return x;
}

/* A bank of `rows` and `nq` queries drawn around the same 40 random centres. */
static void
clustered_set (guint32 seed, int rows, int nq, float **bank, float **q)
{
  GRand *rng = g_rand_new_with_seed (seed);
  float centres[40 * D];
  for (int i = 0; i < 40 * D; i++)
    centres[i] = 3.f * funad_gaussian (rng);
  *bank = clustered (rng, centres, rows);
  *q = clustered (rng, centres, nq);
  g_rand_free (rng);
}

/* Squared distance to the nearest row, each row's floor (NULL: none) added squared. */
static void
exact_nearest (const float *q, int nq, const float *bank, const float *floor, int rows,
               float *out)
{
  for (int i = 0; i < nq; i++) {
    double best = INFINITY;
    for (int r = 0; r < rows; r++) {
      double s = 0;
      for (int j = 0; j < D; j++) {
        double diff = q[(gsize) i * D + j] - bank[(gsize) r * D + j];
        s += diff * diff;
      }
      if (floor)
        s += (double) floor[r] * floor[r];
      best = MIN (best, s);
    }
    out[i] = (float) best;
  }
}

static void
test_index_against_exact (void)
{
  const int rows = 6000, nq = 500;
  float *bank, *q;
  clustered_set (7, rows, nq, &bank, &q);
  float *exact = g_new (float, nq), *got = g_new (float, nq);
  exact_nearest (q, nq, bank, NULL, rows, exact);

  FunadBankIndex *index = funad_bank_index_new (bank, NULL, rows, D, 4);
  g_assert_nonnull (index);
  g_assert_cmpint (index->cell_start[index->n_cells], ==, rows);
  double flops = funad_bank_index_search (index, q, nq, got);
  g_assert_cmpfloat (flops, <, 0.5 * 2.0 * nq * rows * D);   /* it must save work */
  int found = 0;
  for (int i = 0; i < nq; i++) {
    g_assert_cmpfloat (got[i], >=, exact[i] - 1e-3f * (1 + exact[i]));
    if (got[i] <= exact[i] + 1e-3f * (1 + exact[i]))
      found++;
  }
  g_assert_cmpint (found, >=, nq * 95 / 100);
  funad_bank_index_free (index);

  /* Probing every cell is exact search. */
  index = funad_bank_index_new (bank, NULL, rows, D, 4);
  index->n_probe = index->n_cells;
  funad_bank_index_search (index, q, nq, got);
  for (int i = 0; i < nq; i++)
    g_assert_cmpfloat (fabsf (got[i] - exact[i]), <=, 1e-3f * (1 + exact[i]));
  funad_bank_index_free (index);

  /* A non-finite query has no neighbour; the others are unaffected. */
  q[0] = NAN;
  index = funad_bank_index_new (bank, NULL, rows, D, 4);
  funad_bank_index_search (index, q, 2, got);
  g_assert_true (isinf (got[0]));
  g_assert_true (isfinite (got[1]));
  funad_bank_index_free (index);

  /* Too small a bank, or no probes asked for: exact search. */
  g_assert_null (funad_bank_index_new (bank, NULL, 500, D, 4));
  g_assert_null (funad_bank_index_new (bank, NULL, rows, D, 0));
  g_free (got);
  g_free (exact);
  g_free (q);
  g_free (bank);
}

/* Rows with a floor (a frame the training set found atypical) score at sqrt(d^2 + floor^2):
 * the index probing every cell, the exact search of the memory bank and a brute-force
 * reference agree, a query on top of a floored row scores its floor, and with a few probes the
 * index still never returns less than the exact answer. */
static void
test_floors (void)
{
  const int rows = 6000, nq = 300;
  float *bank, *q;
  clustered_set (11, rows, nq, &bank, &q);
  float *floor = g_new0 (float, rows);
  GRand *rng = g_rand_new_with_seed (3);
  for (int r = 0; r < rows; r += 3)
    floor[r] = (float) g_rand_double_range (rng, 0.0, 2.0);
  g_rand_free (rng);
  /* Query 0 sits on row 0 (floored), far from every other row. */
  for (int j = 0; j < D; j++) {
    bank[j] = 100.f + j;
    q[j] = bank[j];
  }
  floor[0] = 1.5f;
  float *exact = g_new (float, nq), *got = g_new (float, nq), *plain = g_new (float, nq);
  exact_nearest (q, nq, bank, floor, rows, exact);
  exact_nearest (q, nq, bank, NULL, rows, plain);
  int raised = 0;
  for (int i = 0; i < nq; i++)
    raised += exact[i] > plain[i] + 1e-3f * (1 + plain[i]);
  g_assert_cmpint (raised, >, nq / 10);   /* the floors matter to this set */

  FunadBankIndex *index = funad_bank_index_new (bank, floor, rows, D, 4);
  funad_bank_index_search (index, q, nq, got);
  for (int i = 0; i < nq; i++)
    g_assert_cmpfloat (got[i], >=, exact[i] - 1e-3f * (1 + exact[i]));
  index->n_probe = index->n_cells;
  funad_bank_index_search (index, q, nq, got);
  for (int i = 0; i < nq; i++)
    g_assert_cmpfloat (fabsf (got[i] - exact[i]), <=, 1e-3f * (1 + exact[i]));
  g_assert_cmpfloat (fabsf (sqrtf (got[0]) - 1.5f), <, 1e-3f);
  funad_bank_index_free (index);

  /* The memory bank's exact search (the trainer's path) agrees. */
  FunadModel *m = funad_model_new_empty ();
  m->scorer = FUNAD_SCORER_MEMORY_BANK;
  m->backbone.dim = D;
  m->bank = g_memdup2 (bank, (gsize) rows * D * sizeof (float));
  m->bank_floor = g_memdup2 (floor, rows * sizeof (float));
  m->bank_rows = rows;
  /* Scored as a training frame (group 0) whose window holds no bank row: exact search. */
  int *bank_group = g_new (int, rows);
  for (int r = 0; r < rows; r++)
    bank_group[r] = 1000;
  funad_memory_bank_score (m, q, nq, 0, bank_group, 0, got);
  g_free (bank_group);
  for (int i = 0; i < nq; i++)
    g_assert_cmpfloat (fabsf (got[i] * got[i] - exact[i]), <=, 1e-3f * (1 + exact[i]));
  funad_model_unref (m);
  g_free (plain);
  g_free (got);
  g_free (exact);
  g_free (floor);
  g_free (q);
  g_free (bank);
}

/* A row so large that its squared distances overflow to infinity (a corrupt bank the loader
 * would now refuse; the index must not trust the loader) still gets a cell: building the index
 * and searching it stay in bounds (under ASan: no write before the cells' counts). */
static void
test_far_row (void)
{
  const int rows = 6000, nq = 100;
  float *bank, *q;
  clustered_set (9, rows, nq, &bank, &q);
  for (int k = 0; k < rows; k += 1500)
    for (int j = 0; j < D; j++)
      bank[(gsize) k * D + j] = 1e20f;
  FunadBankIndex *index = funad_bank_index_new (bank, NULL, rows, D, 4);
  g_assert_nonnull (index);
  g_assert_cmpint (index->cell_start[index->n_cells], ==, rows);
  float *got = g_new (float, nq);
  funad_bank_index_search (index, q, nq, got);
  for (int i = 0; i < nq; i++)
    g_assert_true (got[i] >= 0.f);
  funad_bank_index_free (index);
  g_free (got);
  g_free (q);
  g_free (bank);
}

/* A model whose bank is large enough to be indexed, then the same frames scored by one
 * thread and by 2 and 3 (uneven bands): maps and scores agree. */
static void
test_threads_agree (void)
{
  enum { W = 96, H = 80, FRAMES = 100 };
  FunadTrainParams p = funad_train_default_params ();
  p.input_size = 64;
  p.dict_size = 16;
  p.fit_patches = 10000;
  FunadTrainer *t = funad_trainer_new (&p);
  guint8 *rgb = g_new (guint8, W * H * 3);
  for (int i = 0; i < FRAMES; i++) {
    synthetic_frame (rgb, W, H, 300 + i, i % 17 == 3, 9);
    FunadImage im = synthetic_image (rgb, W, H);
    g_assert_true (funad_trainer_add_frame (t, &im, NULL));
  }
  GError *error = NULL;
  FunadModel *model = funad_trainer_run (t, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (funad_model_bank_index (model));
  g_assert_cmpint (model->appearance.n_frames, >, 0);  /* its blocks are shared out too */
  int pixels = p.input_size * p.input_size;
  FunadScorer *one = funad_scorer_new (model);
  for (int threads = 2; threads <= 3; threads++) {
    FunadScorer *many = funad_scorer_new (model);
    funad_scorer_set_threads (many, threads);
    for (int f = 0; f < 4; f++) {
      synthetic_frame (rgb, W, H, 9000 + f, f == 2, 9);
      FunadImage im = synthetic_image (rgb, W, H);
      float s1, s2;
      const float *m1, *m2;
      g_assert_true (funad_scorer_score (one, &im, &s1, &m1, NULL));
      g_assert_true (funad_scorer_score (many, &im, &s2, &m2, NULL));
      /* Threads split the distance products differently, and |a|^2 + |b|^2 - 2ab
       * cancels most of its digits for near rows: the same 1e-3 as against the exact
       * search. A race or a wrong row is off by far more. */
      g_assert_cmpfloat (fabsf (s1 - s2), <=, 1e-3f * (1 + fabsf (s1)));
      for (int i = 0; i < pixels; i++)
        g_assert_cmpfloat (fabsf (m1[i] - m2[i]), <=, 1e-3f * (1 + fabsf (m1[i])));
    }
    funad_scorer_free (many);
  }
  funad_scorer_free (one);
  funad_model_unref (model);
  funad_trainer_free (t);
  g_free (rgb);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/bank-index/against-exact", test_index_against_exact);
  g_test_add_func ("/bank-index/far-row", test_far_row);
  g_test_add_func ("/bank-index/floors", test_floors);
  g_test_add_func ("/scorer/threads-agree", test_threads_agree);
  return g_test_run ();
}
