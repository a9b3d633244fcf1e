/* fuzz-model-file.c — libFuzzer target: any bytes as a model file. The loader must reject what
 * it cannot use with an error (never crash, overread or allocate without bound); a file it
 * accepts must score a frame without trouble, so lying shapes cannot slip past the checks. */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <unistd.h>
#include "funad.h"
#include "fuzz-target.h"

static int fd = -1;
static char path[64];

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  /* The loader reads a path: a memory file avoids touching the disk on every run. */
  if (fd < 0) {
    fd = memfd_create ("fuzz-model", 0);
    g_assert (fd >= 0);
    g_snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  }
  g_assert (ftruncate (fd, 0) == 0);
  g_assert (pwrite (fd, data, size, 0) == (ssize_t) size);

  GError *error = NULL;
  FunadModel *m = funad_model_load (path, &error);
  if (!m) {
    g_assert (error && error->domain == FUNAD_ERROR && error->message[0]);
    g_assert (strchr (error->message, '\n') == NULL);
    g_error_free (error);
    return 0;
  }
  g_assert (error == NULL);
  /* Scoring cost grows with the input size; small models are enough to find lies. */
  if (funad_model_input_size (m) <= 128) {
    guint8 px[24 * 16 * 3];
    for (gsize i = 0; i < sizeof px; i++)
      px[i] = (guint8) (i * 37);
    FunadImage im = { px, 24, 16, 24 * 3, 3, 0, 1, 2 };
    FunadScorer *s = funad_scorer_new (m);
    float score;
    const float *map;
    g_assert (funad_scorer_score (s, &im, &score, &map, NULL));
    funad_scorer_free (s);
  }
  funad_model_unref (m);
  return 0;
}
