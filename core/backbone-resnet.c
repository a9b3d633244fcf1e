/* backbone-resnet.c — the ResNet family (timm/torchvision names: conv1/bn1, layerL.B.conv1..3/
 * bn1..3, layerL.0.downsample.0/.1) up to layer3. Basic blocks for resnet18/34, bottleneck
 * blocks (stride on the 3x3, as timm and torchvision) for resnet50 and wide_resnet50_2; widths
 * come from the file, so a wide or reduced-width copy runs through the same code. Stages out:
 * the ends of layer2 (stride 8) and layer3 (stride 16), as PatchCore uses. */
#include <string.h>
#include "funad-private.h"

#define N_LAYERS 3   /* layer1 .. layer3 */

typedef struct {
  const char *name;
  gboolean bottleneck;
  int repeats[N_LAYERS];
} ResnetArch;

static const ResnetArch archs[] = {
  { "resnet18", FALSE, { 2, 2, 2 } },
  { "resnet34", FALSE, { 3, 4, 6 } },
  { "resnet50", TRUE, { 3, 4, 6 } },
  { "wide_resnet50_2", TRUE, { 3, 4, 6 } },
};

typedef struct {
  FunadConv conv[3];     /* basic blocks use two */
  FunadConv down;        /* the shortcut's 1x1 projection, when has_down */
  gboolean has_down;
} Block;

typedef struct {
  FunadNet net;
  const ResnetArch *arch;
  FunadConv stem;
  Block *blocks;
  int n_blocks;
  int layer_end[N_LAYERS];
} Resnet;

gboolean
funad_resnet_known (const char *name)
{
  for (guint a = 0; a < G_N_ELEMENTS (archs); a++)
    if (strcmp (archs[a].name, name) == 0)
      return TRUE;
  return FALSE;
}

static void
resnet_free (FunadNet *net)
{
  Resnet *r = (Resnet *) net;
  funad_conv_clear (&r->stem);
  for (int i = 0; i < r->n_blocks; i++) {
    for (int c = 0; c < 3; c++)
      funad_conv_clear (&r->blocks[i].conv[c]);
    funad_conv_clear (&r->blocks[i].down);
  }
  g_free (r->blocks);
  g_free (r);
}

/* 3x3 max pool, stride 2, padding 1 (padding never wins: it is -inf), channels split among
 * the parts. */
typedef struct {
  const float *in;
  float *out;
  int ch, h, w, ho, wo;
} PoolJob;

static void
maxpool_part (gpointer data, int part, int n_parts)
{
  const PoolJob *j = data;
  for (int c = j->ch * part / n_parts; c < j->ch * (part + 1) / n_parts; c++) {
    const float *in = j->in + (gsize) c * j->h * j->w;
    for (int y = 0; y < j->ho; y++)
      for (int xo = 0; xo < j->wo; xo++) {
        float best = -G_MAXFLOAT;
        for (int ky = 0; ky < 3; ky++) {
          int iy = 2 * y + ky - 1;
          if (iy < 0 || iy >= j->h)
            continue;
          for (int kx = 0; kx < 3; kx++) {
            int ix = 2 * xo + kx - 1;
            if (ix >= 0 && ix < j->w)
              best = MAX (best, in[(gsize) iy * j->w + ix]);
          }
        }
        j->out[((gsize) c * j->ho + y) * j->wo + xo] = best;
      }
  }
}

static float *
maxpool (const float *x, int ch, int *h, int *w, FunadWorkers *workers)
{
  PoolJob job = { x, NULL, ch, *h, *w, (*h + 2 - 3) / 2 + 1, (*w + 2 - 3) / 2 + 1 };
  job.out = g_new (float, (gsize) ch * job.ho * job.wo);
  funad_workers_run (workers, maxpool_part, &job);
  *h = job.ho, *w = job.wo;
  return job.out;
}

static void
resnet_forward (const FunadNet *net, const float *image, int h, int w, float **stage,
                int *stage_h, int *stage_w, FunadWorkers *workers)
{
  const Resnet *r = (const Resnet *) net;
  float *s = funad_conv_apply (&r->stem, image, &h, &w, FUNAD_ACT_RELU, NULL, workers);
  float *x = maxpool (s, r->stem.out, &h, &w, workers);
  g_free (s);
  int n_conv = r->arch->bottleneck ? 3 : 2;
  for (int i = 0; i < r->n_blocks; i++) {
    const Block *b = &r->blocks[i];
    int bh = h, bw = w;
    float *shortcut = x;
    if (b->has_down) {
      int dh = h, dw = w;
      shortcut = funad_conv_apply (&b->down, x, &dh, &dw, FUNAD_ACT_NONE, NULL, workers);
    }
    float *t = x;
    for (int c = 0; c < n_conv; c++) {
      gboolean last = c == n_conv - 1;
      float *u = funad_conv_apply (&b->conv[c], t, &bh, &bw, FUNAD_ACT_RELU,
                                   last ? shortcut : NULL, workers);
      if (t != x)
        g_free (t);
      t = u;
    }
    if (shortcut != x)
      g_free (shortcut);
    g_free (x);
    x = t;
    h = bh, w = bw;
    for (int f = 0; f < net->n_stages; f++)
      if (r->layer_end[f + 1] == i) {
        stage[f] = g_memdup2 (x, (gsize) net->channels[f] * h * w * sizeof (float));
        stage_h[f] = h, stage_w[f] = w;
      }
  }
  g_free (x);
}

static gsize
resnet_flops (const FunadNet *net, int h, int w)
{
  const Resnet *r = (const Resnet *) net;
  gsize flops = funad_conv_flops (&r->stem, h, w);
  h = funad_conv_out_side (&r->stem, h), w = funad_conv_out_side (&r->stem, w);
  h = (h - 1) / 2 + 1, w = (w - 1) / 2 + 1;
  int n_conv = r->arch->bottleneck ? 3 : 2;
  for (int i = 0; i < r->n_blocks; i++) {
    const Block *b = &r->blocks[i];
    if (b->has_down)
      flops += funad_conv_flops (&b->down, h, w);
    for (int c = 0; c < n_conv; c++) {
      flops += funad_conv_flops (&b->conv[c], h, w);
      h = funad_conv_out_side (&b->conv[c], h), w = funad_conv_out_side (&b->conv[c], w);
    }
  }
  return flops;
}

static gboolean
load_conv (FunadConv *c, const FunadSafetensors *st, const char *prefix, int index, int in,
           int k, int stride, GError **error)
{
  char *conv = g_strdup_printf ("%s.conv%d", prefix, index);
  char *bn = g_strdup_printf ("%s.bn%d", prefix, index);
  gboolean ok = funad_conv_load (c, st, conv, bn, in, -1, k, stride, FALSE, error);
  g_free (conv);
  g_free (bn);
  return ok;
}

FunadNet *
funad_resnet_load (const FunadSafetensors *st, const char *name, GError **error)
{
  const ResnetArch *arch = NULL;
  for (guint a = 0; a < G_N_ELEMENTS (archs); a++)
    if (strcmp (archs[a].name, name) == 0)
      arch = &archs[a];
  g_return_val_if_fail (arch != NULL, NULL);
  Resnet *r = g_new0 (Resnet, 1);
  r->net.forward = resnet_forward;
  r->net.flops = resnet_flops;
  r->net.free = resnet_free;
  r->arch = arch;
  for (int l = 0; l < N_LAYERS; l++)
    r->n_blocks += arch->repeats[l];
  r->blocks = g_new0 (Block, r->n_blocks);
  if (!funad_conv_load (&r->stem, st, "conv1", "bn1", 3, -1, 7, 2, FALSE, error))
    goto fail;
  int ch = r->stem.out, i = 0;
  for (int l = 0; l < N_LAYERS; l++) {
    for (int k = 0; k < arch->repeats[l]; k++, i++) {
      Block *b = &r->blocks[i];
      int stride = k == 0 && l > 0 ? 2 : 1;
      char *p = g_strdup_printf ("layer%d.%d", l + 1, k);
      gboolean ok;
      if (arch->bottleneck) {
        ok = load_conv (&b->conv[0], st, p, 1, ch, 1, 1, error)
             && load_conv (&b->conv[1], st, p, 2, b->conv[0].out, 3, stride, error)
             && load_conv (&b->conv[2], st, p, 3, b->conv[1].out, 1, 1, error);
      } else {
        ok = load_conv (&b->conv[0], st, p, 1, ch, 3, stride, error)
             && load_conv (&b->conv[1], st, p, 2, b->conv[0].out, 3, 1, error);
      }
      int out = b->conv[arch->bottleneck ? 2 : 1].out;
      /* A projection shortcut wherever the block changes resolution or width. */
      b->has_down = ok && (stride != 1 || out != ch);
      if (b->has_down) {
        char *conv = g_strdup_printf ("%s.downsample.0", p);
        char *bn = g_strdup_printf ("%s.downsample.1", p);
        ok = funad_conv_load (&b->down, st, conv, bn, ch, out, 1, stride, FALSE, error);
        g_free (conv);
        g_free (bn);
      }
      g_free (p);
      if (!ok)
        goto fail;
      ch = out;
    }
    r->layer_end[l] = i - 1;
  }
  r->net.n_stages = 2;
  for (int f = 0; f < 2; f++) {
    const Block *b = &r->blocks[r->layer_end[f + 1]];
    r->net.channels[f] = b->conv[arch->bottleneck ? 2 : 1].out;
    r->net.stride[f] = f == 0 ? 8 : 16;
  }
  return &r->net;

fail:
  resnet_free (&r->net);
  return NULL;
}
