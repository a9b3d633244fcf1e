/* test-mlp.c — the scorer network's backward pass against finite differences, and Adam. */
#include <math.h>
#include "funad-private.h"

/* L = sum_i c_i * logit_i, so dL/dlogit = c; compare dL/dparam with central differences. */
static double
weighted_logits (const FunadMlp *mlp, const float *x, int n, const float *c)
{
  FunadMlpCache cache = { 0 };
  funad_mlp_forward (mlp, x, n, &cache);
  double l = 0;
  for (int i = 0; i < n; i++)
    l += (double) c[i] * cache.pre[FUNAD_MLP_LAYERS - 1][i];
  funad_mlp_cache_clear (&cache);
  return l;
}

static void
test_gradient (void)
{
  GRand *rng = g_rand_new_with_seed (7);
  FunadMlp mlp;
  funad_mlp_init (&mlp, 6, 5, 4);
  funad_mlp_randomize (&mlp, rng);
  const int n = 9;
  float x[9 * 6], c[9];
  for (int i = 0; i < n * 6; i++)
    x[i] = (float) g_rand_double_range (rng, -2, 2);
  for (int i = 0; i < n; i++)
    c[i] = (float) g_rand_double_range (rng, -1, 1);
  FunadMlpCache cache = { 0 };
  funad_mlp_forward (&mlp, x, n, &cache);
  float *grad = g_new0 (float, mlp.n_params);
  funad_mlp_backward (&mlp, x, &cache, c, grad);
  double worst = 0;
  for (gsize p = 0; p < mlp.n_params; p++) {
    float saved = mlp.params[p];
    const float h = 1e-2f;
    mlp.params[p] = saved + h;
    double up = weighted_logits (&mlp, x, n, c);
    mlp.params[p] = saved - h;
    double down = weighted_logits (&mlp, x, n, c);
    mlp.params[p] = saved;
    double numeric = (up - down) / (2 * h);
    double err = fabs (numeric - grad[p]) / MAX (1.0, fabs (numeric));
    worst = MAX (worst, err);
  }
  /* LeakyReLU kinks make a rare parameter disagree; float32 differences are accurate to ~1e-3. */
  g_assert_cmpfloat (worst, <, 5e-3);
  g_free (grad);
  funad_mlp_cache_clear (&cache);
  funad_mlp_clear (&mlp);
  g_rand_free (rng);
}

static void
test_forward_shapes (void)
{
  GRand *rng = g_rand_new_with_seed (3);
  FunadMlp mlp;
  funad_mlp_init (&mlp, 8, 16, 4);
  funad_mlp_randomize (&mlp, rng);
  g_assert_cmpuint (mlp.n_params, ==, 8 * 8 + 8 + 16 * 8 + 16 + 4 * 16 + 4 + 4 + 1);
  float x[3 * 8] = { 0 };
  FunadMlpCache cache = { 0 };
  funad_mlp_forward (&mlp, x, 3, &cache);
  for (int i = 0; i < 3; i++) {
    float s = cache.act[FUNAD_MLP_LAYERS - 1][i];
    g_assert_cmpfloat (s, >, 0.f);
    g_assert_cmpfloat (s, <, 1.f);
    g_assert_cmpfloat_with_epsilon (s, 1.f / (1.f + expf (-cache.pre[3][i])), 1e-6);
  }
  funad_mlp_cache_clear (&cache);
  funad_mlp_clear (&mlp);
  g_rand_free (rng);
}

/* The adaptor alone gives what a whole forward pass holds as act[0]. */
static void
test_adaptor (void)
{
  GRand *rng = g_rand_new_with_seed (3);
  FunadMlp mlp;
  funad_mlp_init (&mlp, 6, 5, 3);
  funad_mlp_randomize (&mlp, rng);
  enum { N = 7 };
  float x[N * 6], a[N * 6];
  for (int i = 0; i < N * 6; i++)
    x[i] = (float) g_rand_double_range (rng, -2, 2);
  FunadMlpCache cache = { 0 };
  funad_mlp_forward (&mlp, x, N, &cache);
  funad_mlp_adaptor (&mlp, x, N, a);
  int negative = 0;
  for (int i = 0; i < N * 6; i++) {
    g_assert_cmpfloat_with_epsilon (a[i], cache.act[0][i], 1e-6);
    negative += a[i] < 0.f;
  }
  g_assert_cmpint (negative, >, 0);  /* the leaky side was exercised */
  funad_mlp_cache_clear (&cache);
  funad_mlp_clear (&mlp);
  g_rand_free (rng);
}

/* Adam on f(p) = sum (p - 3)^2 reaches the minimum. */
static void
test_adam (void)
{
  float p[4] = { 0, 1, -5, 10 }, g[4];
  FunadAdam adam;
  funad_adam_init (&adam, 4, 0.1f);
  for (int it = 0; it < 2000; it++) {
    for (int i = 0; i < 4; i++)
      g[i] = 2 * (p[i] - 3);
    funad_adam_step (&adam, p, g);
  }
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat_with_epsilon (p[i], 3.f, 1e-2);
  funad_adam_clear (&adam);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/mlp/gradient", test_gradient);
  g_test_add_func ("/mlp/forward", test_forward_shapes);
  g_test_add_func ("/mlp/adam", test_adam);
  g_test_add_func ("/mlp/adaptor", test_adaptor);
  return g_test_run ();
}
