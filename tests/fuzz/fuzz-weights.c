/* fuzz-weights.c — libFuzzer target: any bytes as a pretrained backbone's weights file (timm
 * layout safetensors). The first byte picks which backbone reads it; a file that loads must run
 * a forward pass, so a tensor whose shape passed the checks cannot be read out of bounds. */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <unistd.h>
#include "funad-private.h"
#include "fuzz-target.h"

static const char *names[] = { "mobilenetv2_100", "resnet18", "resnet34", "resnet50",
                               "wide_resnet50_2" };
static int fd = -1;
static char path[64];

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  if (size < 1)
    return 0;
  if (fd < 0) {
    fd = memfd_create ("fuzz-weights", 0);
    g_assert (fd >= 0);
    g_snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  }
  const char *name = names[data[0] % G_N_ELEMENTS (names)];
  g_assert (ftruncate (fd, 0) == 0);
  g_assert (pwrite (fd, data + 1, size - 1, 0) == (ssize_t) size - 1);

  FunadBackbone bb;
  GError *error = NULL;
  if (!funad_backbone_init_pretrained (&bb, name, path, 32, 0, NULL, &error)) {
    g_assert (error && error->domain == FUNAD_ERROR && error->message[0]);
    g_assert (strchr (error->message, '\n') == NULL);
    g_error_free (error);
    return 0;
  }
  float *image = g_new (float, funad_backbone_image_floats (&bb));
  for (gsize i = 0; i < funad_backbone_image_floats (&bb); i++)
    image[i] = (float) (i % 17) / 17.f - 0.5f;
  float *features = g_new (float, (gsize) bb.grid * bb.grid * bb.dim);
  funad_backbone_features (&bb, image, features, NULL);
  g_free (features);
  g_free (image);
  funad_backbone_clear (&bb);
  return 0;
}
