/* preprocess.c — any 8-bit frame to the model's input: grey (or, for the pretrained backbones,
 * three R, G, B planes), size x size, values in [0, 255].
 * Downscaling averages over each output pixel's footprint (area resampling), so small defects
 * are blurred, not dropped by aliasing; upscaling is bilinear. Two separable passes, so a huge
 * frame never needs a full-size float copy. */
#include <math.h>
#include "funad-private.h"

#define MAX_SIDE 65536

typedef struct {
  int taps;        /* weights per output sample */
  int *start;      /* first source index of each output sample */
  float *weight;   /* dst x taps */
} Resampler;

static void
resampler_init (Resampler *rs, int src, int dst)
{
  double scale = (double) src / dst;
  rs->taps = scale > 1.0 ? (int) ceil (scale) + 1 : 2;
  rs->start = g_new (int, dst);
  rs->weight = g_new0 (float, (gsize) dst * rs->taps);
  for (int o = 0; o < dst; o++) {
    float *w = rs->weight + (gsize) o * rs->taps;
    if (scale > 1.0) {
      double lo = o * scale, hi = (o + 1) * scale;
      int first = (int) floor (lo);
      rs->start[o] = first;
      for (int t = 0; t < rs->taps; t++) {
        int p = first + t;
        if (p >= src)
          break;
        double overlap = MIN (hi, p + 1.0) - MAX (lo, (double) p);
        w[t] = overlap > 0 ? (float) (overlap / scale) : 0.f;
      }
    } else {
      double x = (o + 0.5) * scale - 0.5;
      x = CLAMP (x, 0.0, src - 1.0);
      int p0 = MIN ((int) floor (x), MAX (src - 2, 0));
      double f = x - p0;
      rs->start[o] = p0;
      w[0] = (float) (1.0 - f);
      w[1] = src > 1 ? (float) f : 0.f;
    }
  }
}

static void
resampler_clear (Resampler *rs)
{
  g_free (rs->start);
  g_free (rs->weight);
}

static gboolean
check_image (const FunadImage *im, GError **error)
{
  if (!im || !im->data || im->width < 1 || im->height < 1 || im->width > MAX_SIDE
      || im->height > MAX_SIDE) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "frame of unusable size %dx%d",
                 im ? im->width : 0, im ? im->height : 0);
    return FALSE;
  }
  int ps = im->pixel_stride;
  if ((ps != 1 && ps != 3 && ps != 4) || im->stride < im->width * ps
      || im->r_offset < 0 || im->r_offset >= ps || im->g_offset < 0 || im->g_offset >= ps
      || im->b_offset < 0 || im->b_offset >= ps) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT,
                 "unsupported frame layout (pixel stride %d, row stride %d)", ps, im->stride);
    return FALSE;
  }
  return TRUE;
}

static void
grey_row (const FunadImage *im, int y, float *out)
{
  const guint8 *row = im->data + (gsize) y * im->stride;
  if (im->pixel_stride == 1) {
    for (int x = 0; x < im->width; x++)
      out[x] = row[x];
    return;
  }
  for (int x = 0; x < im->width; x++) {
    const guint8 *p = row + (gsize) x * im->pixel_stride;
    /* ITU-R BT.601 luma weights. */
    out[x] = 0.299f * p[im->r_offset] + 0.587f * p[im->g_offset] + 0.114f * p[im->b_offset];
  }
}

/* One colour channel of a row (0 R, 1 G, 2 B); a grey frame's value for every channel. */
static void
channel_row (const FunadImage *im, int y, int channel, float *out)
{
  const guint8 *row = im->data + (gsize) y * im->stride;
  if (im->pixel_stride == 1) {
    for (int x = 0; x < im->width; x++)
      out[x] = row[x];
    return;
  }
  int offset = channel == 0 ? im->r_offset : channel == 1 ? im->g_offset : im->b_offset;
  for (int x = 0; x < im->width; x++)
    out[x] = row[(gsize) x * im->pixel_stride + offset];
}

/* Resamples one plane of the frame (channel < 0: grey) to size x size. */
static void
resample_plane (const FunadImage *image, int channel, const Resampler *hor,
                const Resampler *ver, int size, float *line, float *tmp, float *out)
{
  int w = image->width, h = image->height;
  for (int y = 0; y < h; y++) {
    if (channel < 0)
      grey_row (image, y, line);
    else
      channel_row (image, y, channel, line);
    float *dst = tmp + (gsize) y * size;
    for (int o = 0; o < size; o++) {
      const float *wt = hor->weight + (gsize) o * hor->taps;
      float s = 0.f;
      for (int t = 0; t < hor->taps; t++) {
        int p = hor->start[o] + t;
        if (p < w)
          s += wt[t] * line[p];
      }
      dst[o] = s;
    }
  }
  for (int o = 0; o < size; o++) {
    float *dst = out + (gsize) o * size;
    const float *wt = ver->weight + (gsize) o * ver->taps;
    for (int x = 0; x < size; x++)
      dst[x] = 0.f;
    for (int t = 0; t < ver->taps; t++) {
      int p = ver->start[o] + t;
      if (p >= h || wt[t] == 0.f)
        continue;
      const float *src = tmp + (gsize) p * size;
      for (int x = 0; x < size; x++)
        dst[x] += wt[t] * src[x];
    }
  }
}

static gboolean
preprocess_planes (const FunadImage *image, int size, int channels, float *out, GError **error)
{
  if (!check_image (image, error))
    return FALSE;
  int w = image->width, h = image->height;
  Resampler hor, ver;
  resampler_init (&hor, w, size);
  resampler_init (&ver, h, size);
  float *line = g_new (float, w);
  float *tmp = g_new (float, (gsize) h * size);
  for (int c = 0; c < channels; c++)
    resample_plane (image, channels == 1 ? -1 : c, &hor, &ver, size, line, tmp,
                    out + (gsize) c * size * size);
  g_free (tmp);
  g_free (line);
  resampler_clear (&hor);
  resampler_clear (&ver);
  return TRUE;
}

gboolean
funad_preprocess (const FunadImage *image, int size, float *out, GError **error)
{
  return preprocess_planes (image, size, 1, out, error);
}

gboolean
funad_preprocess_rgb (const FunadImage *image, int size, float *out, GError **error)
{
  return preprocess_planes (image, size, 3, out, error);
}
