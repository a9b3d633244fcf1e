/* mlp.c — the FUN-AD scorer network: adaptor a = LeakyReLU(W0 x + b0) (D -> D), then the
 * discriminator D -> H1 -> H2 -> 1 with LeakyReLU(0.2) and a sigmoid. Forward and backward
 * over a batch of rows with sgemm, and the Adam optimiser. */
#include <math.h>
#include <string.h>
#include "funad-private.h"

void
funad_mlp_init (FunadMlp *mlp, int dim, int hidden1, int hidden2)
{
  memset (mlp, 0, sizeof *mlp);
  int dims[FUNAD_MLP_LAYERS + 1] = { dim, dim, hidden1, hidden2, 1 };
  memcpy (mlp->dims, dims, sizeof dims);
  gsize n = 0;
  for (int l = 0; l < FUNAD_MLP_LAYERS; l++)
    n += (gsize) dims[l + 1] * dims[l] + dims[l + 1];
  mlp->n_params = n;
  mlp->params = g_new0 (float, n);
  float *p = mlp->params;
  for (int l = 0; l < FUNAD_MLP_LAYERS; l++) {
    mlp->w[l] = p;
    p += (gsize) dims[l + 1] * dims[l];
    mlp->b[l] = p;
    p += dims[l + 1];
  }
}

/* PyTorch's default for linear layers: uniform in +-1/sqrt(fan_in). */
void
funad_mlp_randomize (FunadMlp *mlp, GRand *rng)
{
  for (int l = 0; l < FUNAD_MLP_LAYERS; l++) {
    int in = mlp->dims[l], out = mlp->dims[l + 1];
    double bound = 1.0 / sqrt (in);
    for (gsize i = 0; i < (gsize) out * in; i++)
      mlp->w[l][i] = (float) g_rand_double_range (rng, -bound, bound);
    for (int i = 0; i < out; i++)
      mlp->b[l][i] = (float) g_rand_double_range (rng, -bound, bound);
  }
}

void
funad_mlp_clear (FunadMlp *mlp)
{
  g_free (mlp->params);
  memset (mlp, 0, sizeof *mlp);
}

void
funad_mlp_cache_clear (FunadMlpCache *cache)
{
  for (int l = 0; l < FUNAD_MLP_LAYERS; l++) {
    g_free (cache->pre[l]);
    g_free (cache->act[l]);
  }
  memset (cache, 0, sizeof *cache);
}

static void
cache_reserve (const FunadMlp *mlp, FunadMlpCache *cache, int n)
{
  cache->n = n;
  if (n <= cache->capacity)
    return;
  for (int l = 0; l < FUNAD_MLP_LAYERS; l++) {
    g_free (cache->pre[l]);
    g_free (cache->act[l]);
    cache->pre[l] = g_new (float, (gsize) n * mlp->dims[l + 1]);
    cache->act[l] = g_new (float, (gsize) n * mlp->dims[l + 1]);
  }
  cache->capacity = n;
}

void
funad_mlp_forward (const FunadMlp *mlp, const float *x, int n, FunadMlpCache *cache)
{
  cache_reserve (mlp, cache, n);
  const float *input = x;
  for (int l = 0; l < FUNAD_MLP_LAYERS; l++) {
    int in = mlp->dims[l], out = mlp->dims[l + 1];
    float *pre = cache->pre[l], *act = cache->act[l];
    funad_gemm_nt (n, out, in, 1.f, input, mlp->w[l], 0.f, pre);
    const float *bias = mlp->b[l];
    /* Row by row, so that the loop vectorises (an index modulo `out` did not). */
    for (gsize i = 0; i < (gsize) n * out; i += out) {
      float *p = pre + i, *a = act + i;
      if (l < FUNAD_MLP_LAYERS - 1)
        for (int j = 0; j < out; j++) {
          float v = p[j] + bias[j];
          p[j] = v;
          a[j] = v > 0.f ? v : FUNAD_LEAKY_SLOPE * v;
        }
      else
        for (int j = 0; j < out; j++) {
          float v = p[j] + bias[j];
          p[j] = v;
          a[j] = 1.f / (1.f + expf (-v));
        }
    }
    input = act;
  }
}

void
funad_mlp_adaptor (const FunadMlp *mlp, const float *x, int n, float *out)
{
  int D = mlp->dims[0];
  funad_gemm_nt (n, D, D, 1.f, x, mlp->w[0], 0.f, out);
  const float *bias = mlp->b[0];
  for (gsize i = 0; i < (gsize) n * D; i += D) {
    float *o = out + i;
    for (int j = 0; j < D; j++) {
      float v = o[j] + bias[j];
      o[j] = v > 0.f ? v : FUNAD_LEAKY_SLOPE * v;
    }
  }
}

void
funad_mlp_backward (const FunadMlp *mlp, const float *x, const FunadMlpCache *cache,
                    const float *dlogit, float *grad)
{
  int n = cache->n;
  int widest = 0;
  for (int l = 0; l <= FUNAD_MLP_LAYERS; l++)
    widest = MAX (widest, mlp->dims[l]);
  float *delta = g_new (float, (gsize) n * widest);
  float *below = g_new (float, (gsize) n * widest);
  memcpy (delta, dlogit, n * sizeof (float));
  for (int l = FUNAD_MLP_LAYERS - 1; l >= 0; l--) {
    int in = mlp->dims[l], out = mlp->dims[l + 1];
    const float *input = l == 0 ? x : cache->act[l - 1];
    float *gw = grad + (mlp->w[l] - mlp->params);
    float *gb = grad + (mlp->b[l] - mlp->params);
    funad_gemm_tn (out, in, n, 1.f, delta, input, 1.f, gw);
    for (int i = 0; i < n; i++)
      for (int j = 0; j < out; j++)
        gb[j] += delta[(gsize) i * out + j];
    if (l == 0)
      break;
    funad_gemm_nn (n, in, out, 1.f, delta, mlp->w[l], 0.f, below);
    const float *pre = cache->pre[l - 1];
    for (gsize i = 0; i < (gsize) n * in; i++)
      below[i] *= pre[i] > 0.f ? 1.f : FUNAD_LEAKY_SLOPE;
    float *swap = delta;
    delta = below;
    below = swap;
  }
  g_free (below);
  g_free (delta);
}

void
funad_adam_init (FunadAdam *adam, gsize n, float lr)
{
  adam->m = g_new0 (float, n);
  adam->v = g_new0 (float, n);
  adam->n = n;
  adam->t = 0;
  adam->lr = lr;
  adam->beta1 = 0.9f;
  adam->beta2 = 0.999f;
  adam->eps = 1e-8f;
}

void
funad_adam_clear (FunadAdam *adam)
{
  g_free (adam->m);
  g_free (adam->v);
  memset (adam, 0, sizeof *adam);
}

void
funad_adam_step (FunadAdam *adam, float *params, const float *grad)
{
  adam->t++;
  float c1 = 1.f - powf (adam->beta1, adam->t), c2 = 1.f - powf (adam->beta2, adam->t);
  for (gsize i = 0; i < adam->n; i++) {
    adam->m[i] = adam->beta1 * adam->m[i] + (1.f - adam->beta1) * grad[i];
    adam->v[i] = adam->beta2 * adam->v[i] + (1.f - adam->beta2) * grad[i] * grad[i];
    params[i] -= adam->lr * (adam->m[i] / c1) / (sqrtf (adam->v[i] / c2) + adam->eps);
  }
}
