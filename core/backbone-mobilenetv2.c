/* backbone-mobilenetv2.c — timm's mobilenetv2_100 trunk up to its stride-16 stages, with timm's
 * tensor names (conv_stem/bn1, blocks.S.B.conv_pw/conv_dw/conv_pwl with bn1..bn3). Strides and
 * depths are the architecture's; channel widths come from the file, so a reduced-width copy
 * (the test fixtures) runs through the same code. Stages out: the ends of blocks 2 (stride 8),
 * 3 and 4 (stride 16), the ones the models README found to work for anomaly detection. */
#include <string.h>
#include "funad-private.h"

#define N_BLOCK_STAGES 5   /* blocks.0 .. blocks.4: everything up to stride 16 */

/* timm's mobilenetv2_100 arch_def: repeats and strides of blocks.0 .. blocks.4. */
static const int stage_repeats[N_BLOCK_STAGES] = { 1, 2, 3, 4, 3 };
static const int stage_strides[N_BLOCK_STAGES] = { 1, 2, 2, 2, 1 };
/* The stages whose ends are features, and their stride. */
static const int feature_stage[] = { 2, 3, 4 };

typedef struct {
  FunadConv pw, dw, pwl;   /* blocks.0.0 has no pw (a depthwise-separable block) */
  gboolean has_pw, skip;
} Block;

typedef struct {
  FunadNet net;
  FunadConv stem;
  Block *blocks;
  int n_blocks;
  int stage_end[N_BLOCK_STAGES];   /* index of the last block of each stage */
} MobileNetV2;

static void
mnv2_free (FunadNet *net)
{
  MobileNetV2 *m = (MobileNetV2 *) net;
  funad_conv_clear (&m->stem);
  for (int i = 0; i < m->n_blocks; i++) {
    funad_conv_clear (&m->blocks[i].pw);
    funad_conv_clear (&m->blocks[i].dw);
    funad_conv_clear (&m->blocks[i].pwl);
  }
  g_free (m->blocks);
  g_free (m);
}

static void
mnv2_forward (const FunadNet *net, const float *image, int h, int w, float **stage,
              int *stage_h, int *stage_w, FunadWorkers *workers)
{
  const MobileNetV2 *m = (const MobileNetV2 *) net;
  float *x = funad_conv_apply (&m->stem, image, &h, &w, FUNAD_ACT_RELU6, NULL, workers);
  int next_feature = 0;
  for (int i = 0; i < m->n_blocks; i++) {
    const Block *b = &m->blocks[i];
    float *in = x;
    int bh = h, bw = w;
    float *t = b->has_pw
               ? funad_conv_apply (&b->pw, in, &bh, &bw, FUNAD_ACT_RELU6, NULL, workers) : in;
    float *u = funad_conv_apply (&b->dw, t, &bh, &bw, FUNAD_ACT_RELU6, NULL, workers);
    if (t != in)
      g_free (t);
    /* The depthwise-separable first block activates after dw only; its pw is the "pwl". */
    x = funad_conv_apply (&b->pwl, u, &bh, &bw, FUNAD_ACT_NONE, b->skip ? in : NULL, workers);
    g_free (u);
    g_free (in);
    h = bh, w = bw;
    for (int f = next_feature; f < net->n_stages; f++)
      if (m->stage_end[feature_stage[f]] == i) {
        stage[f] = g_memdup2 (x, (gsize) net->channels[f] * h * w * sizeof (float));
        stage_h[f] = h, stage_w[f] = w;
        next_feature = f + 1;
      }
    if (next_feature == net->n_stages)
      break;
  }
  g_free (x);
}

static gsize
mnv2_flops (const FunadNet *net, int h, int w)
{
  const MobileNetV2 *m = (const MobileNetV2 *) net;
  gsize flops = funad_conv_flops (&m->stem, h, w);
  h = funad_conv_out_side (&m->stem, h), w = funad_conv_out_side (&m->stem, w);
  for (int i = 0; i < m->n_blocks; i++) {
    const Block *b = &m->blocks[i];
    if (b->has_pw)
      flops += funad_conv_flops (&b->pw, h, w);
    flops += funad_conv_flops (&b->dw, h, w);
    h = funad_conv_out_side (&b->dw, h), w = funad_conv_out_side (&b->dw, w);
    flops += funad_conv_flops (&b->pwl, h, w);
  }
  return flops;
}

FunadNet *
funad_mobilenetv2_load (const FunadSafetensors *st, GError **error)
{
  MobileNetV2 *m = g_new0 (MobileNetV2, 1);
  m->net.forward = mnv2_forward;
  m->net.flops = mnv2_flops;
  m->net.free = mnv2_free;
  for (int s = 0; s < N_BLOCK_STAGES; s++)
    m->n_blocks += stage_repeats[s];
  m->blocks = g_new0 (Block, m->n_blocks);
  if (!funad_conv_load (&m->stem, st, "conv_stem", "bn1", 3, -1, 3, 2, FALSE, error))
    goto fail;
  int ch = m->stem.out, i = 0;
  for (int s = 0; s < N_BLOCK_STAGES; s++) {
    for (int r = 0; r < stage_repeats[s]; r++, i++) {
      Block *b = &m->blocks[i];
      int stride = r == 0 ? stage_strides[s] : 1;
      char *p = g_strdup_printf ("blocks.%d.%d", s, r);
      char *conv = NULL, *bn = NULL;
      gboolean ok;
#define NAMES(c, n) (g_free (conv), g_free (bn), conv = g_strdup_printf ("%s.%s", p, c), \
                     bn = g_strdup_printf ("%s.%s", p, n))
      if (s == 0) {
        /* DepthwiseSeparableConv: conv_dw + bn1 + ReLU6, conv_pw + bn2. */
        NAMES ("conv_dw", "bn1");
        ok = funad_conv_load (&b->dw, st, conv, bn, ch, ch, 3, stride, TRUE, error);
        NAMES ("conv_pw", "bn2");
        ok = ok && funad_conv_load (&b->pwl, st, conv, bn, ch, -1, 1, 1, FALSE, error);
      } else {
        /* InvertedResidual: conv_pw + bn1 + ReLU6, conv_dw + bn2 + ReLU6, conv_pwl + bn3. */
        b->has_pw = TRUE;
        NAMES ("conv_pw", "bn1");
        ok = funad_conv_load (&b->pw, st, conv, bn, ch, -1, 1, 1, FALSE, error);
        NAMES ("conv_dw", "bn2");
        ok = ok && funad_conv_load (&b->dw, st, conv, bn, b->pw.out, b->pw.out, 3, stride, TRUE,
                                    error);
        NAMES ("conv_pwl", "bn3");
        ok = ok && funad_conv_load (&b->pwl, st, conv, bn, b->pw.out, -1, 1, 1, FALSE, error);
      }
#undef NAMES
      g_free (conv);
      g_free (bn);
      g_free (p);
      if (!ok)
        goto fail;
      /* timm's rule: a residual where the block keeps both resolution and width. */
      b->skip = stride == 1 && b->pwl.out == ch;
      ch = b->pwl.out;
    }
    m->stage_end[s] = i - 1;
  }
  m->net.n_stages = G_N_ELEMENTS (feature_stage);
  for (int f = 0; f < m->net.n_stages; f++) {
    m->net.channels[f] = m->blocks[m->stage_end[feature_stage[f]]].pwl.out;
    m->net.stride[f] = feature_stage[f] == 2 ? 8 : 16;
  }
  return &m->net;

fail:
  mnv2_free (&m->net);
  return NULL;
}
