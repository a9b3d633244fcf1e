/* make-seeds.c — writes the fuzzers' seed corpus into OUT/model-file and OUT/frame: small valid
 * models of both scorer kinds and the ways a file goes bad (truncated, garbage, lying header),
 * frames of odd sizes and layouts, and (given the fixtures folder) the committed tiny pretrained
 * weights, each behind the byte that picks its backbone in fuzz-weights. Generated, not
 * committed, so it follows the format. */
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include "funad.h"
#include "../synthetic-frames.h"

static char *out_dir;

static void
put (const char *sub, const char *name, const void *data, gsize len)
{
  char *dir = g_build_filename (out_dir, sub, NULL);
  g_mkdir_with_parents (dir, 0755);
  char *path = g_build_filename (dir, name, NULL);
  GError *error = NULL;
  if (!g_file_set_contents (path, data, (gssize) len, &error))
    g_error ("make-seeds: %s", error->message);
  g_free (path);
  g_free (dir);
}

/* A model trained on a few synthetic frames, saved and read back as bytes. */
static char *
model_bytes (FunadScorerKind kind, gsize *len)
{
  FunadTrainParams p = funad_train_default_params ();
  p.scorer = kind;
  p.input_size = 32;
  p.dict_size = 4;
  p.n_scales = 1;
  p.hidden1 = 4;
  p.hidden2 = 2;
  p.epochs = 1;
  p.fit_patches = 1000;
  p.bank_size = 40;
  FunadTrainer *t = funad_trainer_new (&p);
  guint8 rgb[40 * 40 * 3];
  for (int i = 0; i < 4; i++) {
    synthetic_frame (rgb, 40, 40, i, FALSE, 3);
    FunadImage im = synthetic_image (rgb, 40, 40);
    g_assert (funad_trainer_add_frame (t, &im, NULL));
  }
  GError *error = NULL;
  FunadModel *m = funad_trainer_run (t, NULL, NULL, &error);
  g_assert_no_error (error);
  funad_trainer_free (t);
  char *path = g_build_filename (out_dir, "tmp.safetensors", NULL);
  g_assert (funad_model_save (m, path, NULL));
  char *c;
  g_assert (g_file_get_contents (path, &c, len, NULL));
  g_unlink (path);
  g_free (path);
  funad_model_unref (m);
  return c;
}

/* A copy of a model with the first `from` in its header replaced by `to` (same length). */
static void
put_patched (const char *name, const char *good, gsize len, const char *from, const char *to)
{
  char *bad = g_memdup2 (good, len);
  char *hit = g_strstr_len (bad + 8, (gssize) len - 8, from);
  g_assert (hit && strlen (from) == strlen (to));
  memcpy (hit, to, strlen (to));
  put ("model-file", name, bad, len);
  g_free (bad);
}

static void
model_seeds (void)
{
  gsize bank_len, mlp_len;
  char *bank = model_bytes (FUNAD_SCORER_MEMORY_BANK, &bank_len);
  char *mlp = model_bytes (FUNAD_SCORER_FUNAD, &mlp_len);
  put ("model-file", "memory-bank.safetensors", bank, bank_len);
  put ("model-file", "funad.safetensors", mlp, mlp_len);
  put ("model-file", "empty", "", 0);
  put ("model-file", "truncated-length", bank, 5);
  put ("model-file", "truncated-header", bank, 64);
  put ("model-file", "truncated-data", bank, bank_len - 4);
  put_patched ("version", bank, bank_len, "\"format_version\":\"1\"", "\"format_version\":\"2\"");
  put_patched ("backbone", bank, bank_len, "\"backbone\":\"builtin\"", "\"backbone\":\"mobilen\"");
  put_patched ("dtype", mlp, mlp_len, "\"F32\"", "\"F16\"");
  put_patched ("shape", mlp, mlp_len, "\"shape\":[4,49]", "\"shape\":[5,49]");
  put_patched ("offsets", bank, bank_len, "\"data_offsets\":[0,", "\"data_offsets\":[4,");
  const char json_only[] = "\x20\0\0\0\0\0\0\0{\"__metadata__\":{\"format\":\"funad\"}}";
  put ("model-file", "metadata-only", json_only, sizeof json_only - 1);
  g_free (bank);
  g_free (mlp);
}

/* One frame input of fuzz-frame.c: the header fields, a map, then pixel bytes. */
static void
put_frame (const char *name, int w, int h, int layout, int offsets, int size, int map_dims)
{
  guint8 head[17] = { (w - 1) & 255, (w - 1) >> 8, (h - 1) & 255, (h - 1) >> 8, layout,
                      offsets, size, map_dims };
  float lo = 0.f, hi = 1.f;
  memcpy (head + 8, &lo, 4);
  memcpy (head + 12, &hi, 4);
  head[16] = 128;
  GByteArray *b = g_byte_array_new ();
  g_byte_array_append (b, head, sizeof head);
  int n_map = (1 + (map_dims & 15)) * (1 + (map_dims >> 4));
  for (int i = 0; i < n_map; i++) {
    float v = (float) i / n_map;
    g_byte_array_append (b, (guint8 *) &v, 4);
  }
  guint8 rgb[16 * 16 * 3];
  synthetic_frame (rgb, 16, 16, (guint32) w, TRUE, 3);
  g_byte_array_append (b, rgb, sizeof rgb);
  put ("frame", name, b->data, b->len);
  g_byte_array_unref (b);
}

static void
frame_seeds (void)
{
  /* layout: low 2 bits pick the pixel stride (1, 3, 4, 2), the rest is the row padding + 8 */
  put_frame ("rgb-160x120", 160, 120, 1 | 8 << 2, 0 | 1 << 2 | 2 << 4, 3, 0x33);
  put_frame ("bgrx-64x48", 64, 48, 2 | 8 << 2, 2 | 1 << 2 | 0 << 4, 1, 0x77);
  put_frame ("grey-1x1", 1, 1, 0 | 8 << 2, 0, 0, 0);
  put_frame ("grey-500x3-padded", 500, 3, 0 | 40 << 2, 0, 5, 0xf0);
  put_frame ("rgb-short-stride", 50, 50, 1 | 0 << 2, 0 | 1 << 2 | 2 << 4, 3, 0x11);
  put_frame ("bad-pixel-stride", 20, 20, 3 | 8 << 2, 0, 3, 0);
  put_frame ("bad-offset", 20, 20, 1 | 8 << 2, 3, 3, 0);
}

/* fuzz-weights' first byte indexes its list of backbone names */
static void
weights_seeds (const char *fixtures)
{
  static const struct { const char *file; guint8 pick; } seeds[] = {
    { "mobilenetv2-tiny.safetensors", 0 }, { "resnet18-tiny.safetensors", 1 },
    { "resnet50-tiny.safetensors", 3 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (seeds); i++) {
    char *path = g_build_filename (fixtures, seeds[i].file, NULL);
    char *c;
    gsize len;
    GError *error = NULL;
    if (!g_file_get_contents (path, &c, &len, &error))
      g_error ("make-seeds: %s", error->message);
    GByteArray *b = g_byte_array_new ();
    g_byte_array_append (b, &seeds[i].pick, 1);
    g_byte_array_append (b, (guint8 *) c, len);
    put ("weights", seeds[i].file, b->data, b->len);
    /* and the same read as the wrong architecture */
    b->data[0] = (guint8) (seeds[i].pick + 1);
    char *wrong = g_strconcat ("wrong-", seeds[i].file, NULL);
    put ("weights", wrong, b->data, b->len);
    g_free (wrong);
    g_byte_array_unref (b);
    g_free (c);
    g_free (path);
  }
  put ("weights", "empty", "\1", 1);
}

int
main (int argc, char **argv)
{
  if (argc != 2 && argc != 3) {
    fprintf (stderr, "usage: %s OUT-DIR [FIXTURES-DIR]\n", argv[0]);
    return 2;
  }
  out_dir = argv[1];
  g_mkdir_with_parents (out_dir, 0755);
  model_seeds ();
  frame_seeds ();
  if (argc == 3)
    weights_seeds (argv[2]);
  return 0;
}
