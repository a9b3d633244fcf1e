/* conv.c — the convolution layers of the pretrained trunks, on channel-major (C x H x W) maps:
 * 1x1 convolutions as one sgemm, k x k ones as im2col + sgemm, depthwise ones as direct loops.
 * BatchNorm is folded into the weights and a bias at load, so inference is one pass per layer:
 * y = act(W x + b [+ residual]). */
#include <math.h>
#include <string.h>
#include "funad-private.h"

#define BN_EPS 1e-5f   /* PyTorch's and timm's BatchNorm2d default */

int
funad_conv_out_side (const FunadConv *c, int side)
{
  return (side + 2 * c->pad - c->k) / c->stride + 1;
}

gsize
funad_conv_scratch (const FunadConv *c, int h, int w)
{
  if (c->groups != 1 || (c->k == 1 && c->stride == 1))
    return 0;
  int ho = funad_conv_out_side (c, h), wo = funad_conv_out_side (c, w);
  return (gsize) c->in * c->k * c->k * ho * wo;
}

gsize
funad_conv_flops (const FunadConv *c, int h, int w)
{
  int ho = funad_conv_out_side (c, h), wo = funad_conv_out_side (c, w);
  return (gsize) 2 * c->out * (c->in / c->groups) * c->k * c->k * ho * wo;
}

void
funad_conv_clear (FunadConv *c)
{
  g_free (c->weight);
  g_free (c->bias);
  memset (c, 0, sizeof *c);
}

/* W' = W * gamma / sqrt(var + eps), b' = beta - mean * gamma / sqrt(var + eps). */
void
funad_conv_fold_bn (FunadConv *c, const float *gamma, const float *beta, const float *mean,
                    const float *var)
{
  gsize per_out = (gsize) (c->in / c->groups) * c->k * c->k;
  for (int o = 0; o < c->out; o++) {
    float scale = gamma[o] / sqrtf (var[o] + BN_EPS);
    for (gsize j = 0; j < per_out; j++)
      c->weight[o * per_out + j] *= scale;
    c->bias[o] = beta[o] - mean[o] * scale;
  }
}

gboolean
funad_conv_load (FunadConv *c, const FunadSafetensors *st, const char *conv, const char *bn,
                 int in, int out, int k, int stride, gboolean depthwise, GError **error)
{
  memset (c, 0, sizeof *c);
  char *wname = g_strdup_printf ("%s.weight", conv);
  gboolean ok = FALSE;
  float *bn_params = NULL;
  if (out <= 0) {
    /* Channel counts not fixed by the architecture come from the file (reduced widths). */
    int ndim;
    gint64 shape[FUNAD_SAFETENSORS_MAX_DIMS];
    if (!funad_safetensors_shape (st, wname, &ndim, shape, error))
      goto out;
    if (ndim != 4 || shape[0] < 1 || shape[0] > 8192) {
      funad_safetensors_fail (st, error, FUNAD_ERROR_CORRUPT, "tensor '%s' is not a "
                              "convolution weight", wname);
      goto out;
    }
    out = (int) shape[0];
  }
  if (depthwise && out != in) {
    funad_safetensors_fail (st, error, FUNAD_ERROR_CORRUPT, "tensor '%s' has %d outputs for %d "
                            "depthwise inputs", wname, out, in);
    goto out;
  }
  c->in = in, c->out = out, c->k = k, c->stride = stride, c->pad = k / 2;
  c->groups = depthwise ? in : 1;
  gint64 wshape[4] = { out, in / c->groups, k, k };
  gint64 bshape[1] = { out };
  /* Shapes first: a file that lies about widths never makes us allocate for them. */
  if (!funad_safetensors_check (st, wname, 4, wshape, error))
    goto out;
  c->weight = g_new (float, (gsize) out * (in / c->groups) * k * k);
  c->bias = g_new (float, out);
  if (!funad_safetensors_read (st, wname, 4, wshape, c->weight, error))
    goto out;
  static const char *const fields[] = { "weight", "bias", "running_mean", "running_var" };
  bn_params = g_new (float, 4 * (gsize) out);
  for (int f = 0; f < 4; f++) {
    char *name = g_strdup_printf ("%s.%s", bn, fields[f]);
    gboolean read = funad_safetensors_read (st, name, 1, bshape, bn_params + f * out, error);
    g_free (name);
    if (!read)
      goto out;
  }
  for (int o = 0; o < out; o++)
    if (!(bn_params[3 * out + o] >= 0.f)) {
      funad_safetensors_fail (st, error, FUNAD_ERROR_CORRUPT, "tensor '%s.running_var' holds a "
                              "negative variance", bn);
      goto out;
    }
  funad_conv_fold_bn (c, bn_params, bn_params + out, bn_params + 2 * out, bn_params + 3 * out);
  ok = TRUE;
out:
  g_free (bn_params);
  g_free (wname);
  if (!ok)
    funad_conv_clear (c);
  return ok;
}

/* Integer division rounding down / up, for negative numerators too (d > 0). */
static inline int
floor_div (int n, int d)
{
  return n >= 0 ? n / d : -((-n + d - 1) / d);
}

static inline int
ceil_div (int n, int d)
{
  return -floor_div (-n, d);
}

/* cols ((in k k) x band) for the output rows y0..y1-1 (band = (y1 - y0) wo positions): row
 * (c, ky, kx) holds input pixel (c, y s + ky - pad, x s + kx - pad) for every output (y, x) of
 * the band, zero outside the map. */
static void
im2col (const FunadConv *c, const float *in, int h, int w, int wo, int y0, int y1, float *cols)
{
  const int k = c->k, s = c->stride, pad = c->pad;
  const gsize band = (gsize) (y1 - y0) * wo;
  for (int ch = 0; ch < c->in; ch++)
    for (int ky = 0; ky < k; ky++)
      for (int kx = 0; kx < k; kx++) {
        float *row = cols + ((gsize) (ch * k + ky) * k + kx) * band;
        const float *plane = in + (gsize) ch * h * w;
        for (int y = y0; y < y1; y++) {
          int iy = y * s + ky - pad;
          float *dst = row + (gsize) (y - y0) * wo;
          if (iy < 0 || iy >= h) {
            memset (dst, 0, wo * sizeof (float));
            continue;
          }
          const float *src = plane + (gsize) iy * w;
          /* Outputs whose tap falls inside the row: x0 <= x < x1; zeros either side. */
          int x0 = MIN (MAX (0, ceil_div (pad - kx, s)), wo);
          int x1 = MAX (MIN (wo, floor_div (w - 1 - kx + pad, s) + 1), x0);
          for (int x = 0; x < x0; x++)
            dst[x] = 0.f;
          if (s == 1)
            memcpy (dst + x0, src + x0 + kx - pad, (gsize) (x1 - x0) * sizeof (float));
          else
            for (int x = x0; x < x1; x++)
              dst[x] = src[x * s + kx - pad];
          for (int x = x1; x < wo; x++)
            dst[x] = 0.f;
        }
      }
}

/* y = act(y + bias [+ residual]) over one output plane; bias and residual may already be in y
 * (bias 0, residual NULL). */
static void
epilogue (float *restrict y, gsize n, float bias, const float *restrict residual,
          FunadActivation act)
{
  if (residual)
    for (gsize i = 0; i < n; i++)
      y[i] += residual[i];
  switch (act) {
  case FUNAD_ACT_RELU:
    for (gsize i = 0; i < n; i++)
      y[i] = MAX (y[i] + bias, 0.f);
    break;
  case FUNAD_ACT_RELU6:
    for (gsize i = 0; i < n; i++)
      y[i] = MIN (MAX (y[i] + bias, 0.f), 6.f);
    break;
  default:
    if (bias != 0.f)
      for (gsize i = 0; i < n; i++)
        y[i] += bias;
  }
}

/* One channel of a depthwise convolution, bias and activation applied to each row while it
 * is in cache. The plane is first copied into a zero-bordered buffer, so every tap is a plain
 * multiply-add over a row, which the compiler vectorises. */
static void
depthwise_plane (const FunadConv *c, const float *wk, float bias, FunadActivation act,
                 const float *in, int h, int w, int ho, int wo, float *padded, float *out)
{
  const int k = c->k, s = c->stride, pad = c->pad;
  const int pw = w + 2 * pad, ph = h + 2 * pad;
  memset (padded, 0, (gsize) pad * pw * sizeof (float));
  memset (padded + (gsize) (ph - pad) * pw, 0, (gsize) pad * pw * sizeof (float));
  for (int y = 0; y < h; y++) {
    float *row = padded + (gsize) (y + pad) * pw;
    for (int p = 0; p < pad; p++)
      row[p] = row[pad + w + p] = 0.f;
    memcpy (row + pad, in + (gsize) y * w, w * sizeof (float));
  }
  if (k == 3 && s <= 2) {
    /* The common case: all nine taps in registers, one store per output. */
    const float w0 = wk[0], w1 = wk[1], w2 = wk[2], w3 = wk[3], w4 = wk[4], w5 = wk[5],
                w6 = wk[6], w7 = wk[7], w8 = wk[8];
    for (int y = 0; y < ho; y++) {
      float *restrict dst = out + (gsize) y * wo;
      const float *restrict r0 = padded + (gsize) (y * s) * pw;
      const float *restrict r1 = r0 + pw, *restrict r2 = r1 + pw;
      if (s == 1)
        for (int x = 0; x < wo; x++)
          dst[x] = w0 * r0[x] + w1 * r0[x + 1] + w2 * r0[x + 2] + w3 * r1[x] + w4 * r1[x + 1]
                   + w5 * r1[x + 2] + w6 * r2[x] + w7 * r2[x + 1] + w8 * r2[x + 2];
      else
        for (int x = 0; x < wo; x++) {
          int i = 2 * x;
          dst[x] = w0 * r0[i] + w1 * r0[i + 1] + w2 * r0[i + 2] + w3 * r1[i] + w4 * r1[i + 1]
                   + w5 * r1[i + 2] + w6 * r2[i] + w7 * r2[i + 1] + w8 * r2[i + 2];
        }
      epilogue (dst, wo, bias, NULL, act);
    }
    return;
  }
  for (int y = 0; y < ho; y++) {
    float *restrict dst = out + (gsize) y * wo;
    memset (dst, 0, wo * sizeof (float));
    for (int ky = 0; ky < k; ky++) {
      const float *restrict src = padded + (gsize) (y * s + ky) * pw;
      for (int kx = 0; kx < k; kx++) {
        float wt = wk[ky * k + kx];
        if (s == 1)
          for (int x = 0; x < wo; x++)
            dst[x] += wt * src[x + kx];
        else
          for (int x = 0; x < wo; x++)
            dst[x] += wt * src[x * s + kx];
      }
    }
    epilogue (dst, wo, bias, NULL, act);
  }
}

/* One convolution, cut into parts that run at once: output channels for a depthwise one,
 * bands of output rows otherwise (each band its own im2col columns and sgemm, so a part never
 * waits on another). */
typedef struct {
  const FunadConv *c;
  const float *in;
  int h, w, ho, wo;
  float *out;
  FunadActivation act;
  const float *residual;
  float *scratch;
} ConvJob;

static void
depthwise_part (const ConvJob *j, int part, int n_parts)
{
  const FunadConv *c = j->c;
  gsize plane = (gsize) j->ho * j->wo;
  int ch0 = c->in * part / n_parts, ch1 = c->in * (part + 1) / n_parts;
  float *padded = g_new (float, (gsize) (j->h + 2 * c->pad) * (j->w + 2 * c->pad));
  /* With a residual, bias, residual and activation are applied after the whole plane. */
  for (int ch = ch0; ch < ch1; ch++) {
    depthwise_plane (c, c->weight + (gsize) ch * c->k * c->k, j->residual ? 0.f : c->bias[ch],
                     j->residual ? FUNAD_ACT_NONE : j->act, j->in + (gsize) ch * j->h * j->w,
                     j->h, j->w, j->ho, j->wo, padded, j->out + ch * plane);
    if (j->residual)
      epilogue (j->out + ch * plane, plane, c->bias[ch], j->residual + ch * plane, j->act);
  }
  g_free (padded);
}

static void
conv_part (gpointer data, int part, int n_parts)
{
  const ConvJob *j = data;
  const FunadConv *c = j->c;
  if (c->groups != 1) {
    depthwise_part (j, part, n_parts);
    return;
  }
  int y0 = j->ho * part / n_parts, y1 = j->ho * (part + 1) / n_parts;
  gsize plane = (gsize) j->ho * j->wo, p0 = (gsize) y0 * j->wo, band = (gsize) (y1 - y0) * j->wo;
  if (band == 0)
    return;
  /* The sgemm accumulates onto bias (+ residual), which spares it zeroing the output. */
  for (int o = 0; o < c->out; o++) {
    float *y = j->out + o * plane + p0;
    if (j->residual) {
      const float *r = j->residual + o * plane + p0;
      for (gsize i = 0; i < band; i++)
        y[i] = r[i] + c->bias[o];
    } else {
      for (gsize i = 0; i < band; i++)
        y[i] = c->bias[o];
    }
  }
  int K = c->in * c->k * c->k;
  if (c->k == 1 && c->stride == 1) {
    funad_gemm_nn_ld (c->out, (int) band, K, 1.f, c->weight, K, j->in + p0, (int) plane, 1.f,
                      j->out + p0, (int) plane);
  } else {
    float *cols = j->scratch + (gsize) K * p0;
    im2col (c, j->in, j->h, j->w, j->wo, y0, y1, cols);
    funad_gemm_nn_ld (c->out, (int) band, K, 1.f, c->weight, K, cols, (int) band, 1.f,
                      j->out + p0, (int) plane);
  }
  if (j->act != FUNAD_ACT_NONE)
    for (int o = 0; o < c->out; o++)
      epilogue (j->out + o * plane + p0, band, 0.f, NULL, j->act);
}

void
funad_conv_forward (const FunadConv *c, const float *in, int h, int w, float *out,
                    FunadActivation act, const float *residual, float *scratch,
                    FunadWorkers *workers)
{
  ConvJob job = { c, in, h, w, funad_conv_out_side (c, h), funad_conv_out_side (c, w), out, act,
                  residual, scratch };
  funad_workers_run (workers, conv_part, &job);
}

float *
funad_conv_apply (const FunadConv *c, const float *in, int *h, int *w, FunadActivation act,
                  const float *residual, FunadWorkers *workers)
{
  int ho = funad_conv_out_side (c, *h), wo = funad_conv_out_side (c, *w);
  float *out = g_new (float, (gsize) c->out * ho * wo);
  gsize scratch_n = funad_conv_scratch (c, *h, *w);
  float *scratch = scratch_n ? g_new (float, scratch_n) : NULL;
  funad_conv_forward (c, in, *h, *w, out, act, residual, scratch, workers);
  g_free (scratch);
  *h = ho, *w = wo;
  return out;
}
