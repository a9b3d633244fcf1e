/* linalg.c — the BLAS-facing core: sgemm wrappers and a symmetric eigen-solver (LAPACK). */
#include <cblas.h>
#include <string.h>
#include "funad-private.h"

/* LAPACK's symmetric eigen-solver, exported by OpenBLAS. */
extern void ssyev_ (const char *jobz, const char *uplo, const int *n, float *a, const int *lda,
                    float *w, float *work, const int *lwork, int *info);
extern void openblas_set_num_threads (int n);
extern int openblas_get_num_threads (void);

void
funad_gemm_nt (int m, int n, int k, float alpha, const float *a, const float *b, float beta,
               float *c)
{
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, alpha, a, k, b, k, beta, c, n);
}

void
funad_gemm_nn (int m, int n, int k, float alpha, const float *a, const float *b, float beta,
               float *c)
{
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, alpha, a, k, b, n, beta, c,
               n);
}

void
funad_gemm_nn_ld (int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                  int ldb, float beta, float *c, int ldc)
{
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta,
               c, ldc);
}

void
funad_gemm_tn (int m, int n, int k, float alpha, const float *a, const float *b, float beta,
               float *c)
{
  cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, m, n, k, alpha, a, m, b, n, beta, c, n);
}

gboolean
funad_sym_eigen (float *a, int n, float *eval)
{
  int info = 0, lwork = -1;
  float query;
  /* Symmetric, so row-major and column-major storage are the same matrix; LAPACK returns the
   * eigenvectors as columns in column-major order, i.e. as rows in row-major order. */
  ssyev_ ("V", "U", &n, a, &n, eval, &query, &lwork, &info);
  if (info != 0)
    return FALSE;
  lwork = (int) query;
  float *work = g_new (float, lwork);
  ssyev_ ("V", "U", &n, a, &n, eval, work, &lwork, &info);
  g_free (work);
  return info == 0;
}

/* Only when the count changes: OpenBLAS's setting is process-wide and not safe while another
 * thread is inside a threaded product, and every scorer (each element start, each model swap)
 * asks for 1. */
void
funad_set_threads (int n_threads)
{
  if (n_threads > 0 && openblas_get_num_threads () != n_threads)
    openblas_set_num_threads (n_threads);
}

int
funad_get_threads (void)
{
  return openblas_get_num_threads ();
}
