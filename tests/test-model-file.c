/* test-model-file.c — the safetensors model file: round trip, and corrupt, truncated, lying or
 * foreign files rejected with a message that names the file and the problem. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include "funad-private.h"
#include "synthetic-frames.h"

static char *tmpdir;

static char *
path_in_tmp (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static void
test_round_trip (void)
{
  FunadModel *m = synthetic_tiny_model (FUNAD_SCORER_MEMORY_BANK);
  char *path = path_in_tmp ("round.safetensors");
  GError *error = NULL;
  g_assert_true (funad_model_save (m, path, &error));
  g_assert_no_error (error);
  FunadModel *back = funad_model_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (funad_model_input_size (back), ==, 32);
  g_assert_cmpint (funad_model_grid_size (back), ==, 4);
  g_assert_cmpfloat_with_epsilon (funad_model_threshold (back), funad_model_threshold (m), 1e-6);
  g_assert_cmpstr (funad_model_get_metadata (back, "backbone"), ==, "builtin");
  g_assert_nonnull (funad_model_get_metadata (back, "training_summary"));
  g_assert_cmpmem (back->mlp.params, back->mlp.n_params * 4, m->mlp.params, m->mlp.n_params * 4);
  g_assert_cmpmem (back->backbone.builtin.centroids[1], 8 * 49 * 4, m->backbone.builtin.centroids[1], 8 * 49 * 4);
  assert_same_frame_score (m, back);
  /* Saving again gives the same bytes, and no temporary file is left behind. */
  char *again = path_in_tmp ("again.safetensors");
  g_assert_true (funad_model_save (back, again, NULL));
  char *c1, *c2;
  gsize l1, l2;
  g_assert_true (g_file_get_contents (path, &c1, &l1, NULL));
  g_assert_true (g_file_get_contents (again, &c2, &l2, NULL));
  g_assert_cmpmem (c1, l1, c2, l2);
  GDir *dir = g_dir_open (tmpdir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (dir)))
    g_assert_true (g_str_has_suffix (name, ".safetensors"));
  g_dir_close (dir);
  g_free (c1);
  g_free (c2);
  funad_model_unref (back);
  funad_model_unref (m);
  g_free (again);
  g_free (path);
}

/* Writes bytes to a file and expects loading it to fail with a message holding `expect`. */
static void
expect_rejected (const char *name, const void *bytes, gsize len, int code, const char *expect)
{
  char *path = path_in_tmp (name);
  g_assert_true (g_file_set_contents (path, bytes, (gssize) len, NULL));
  GError *error = NULL;
  FunadModel *m = funad_model_load (path, &error);
  g_assert_null (m);
  g_assert_error (error, FUNAD_ERROR, code);
  if (g_test_verbose ())
    g_printerr ("%s\n", error->message);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, expect));
  g_assert_null (strchr (error->message, '\n'));
  g_error_free (error);
  g_free (path);
}

/* Saves m to path and expects loading it to fail as corrupt, with a message holding expect. */
static void
assert_saved_refused (FunadModel *m, const char *path, const char *expect)
{
  GError *error = NULL;
  g_assert_true (funad_model_save (m, path, NULL));
  g_assert_null (funad_model_load (path, &error));
  g_assert_error (error, FUNAD_ERROR, FUNAD_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, expect));
  g_error_free (error);
}

static char *
good_bytes (gsize *len)
{
  FunadModel *m = synthetic_tiny_model (FUNAD_SCORER_MEMORY_BANK);
  char *path = path_in_tmp ("good.safetensors");
  g_assert_true (funad_model_save (m, path, NULL));
  char *c;
  g_assert_true (g_file_get_contents (path, &c, len, NULL));
  funad_model_unref (m);
  g_free (path);
  return c;
}

/* Replaces the first occurrence of `from` by `to` (same length) in the header. */
static void
patch_header (char *c, gsize len, const char *from, const char *to)
{
  g_assert_cmpuint (strlen (from), ==, strlen (to));
  char *hit = g_strstr_len (c + 8, (gssize) len - 8, from);
  g_assert_nonnull (hit);
  memcpy (hit, to, strlen (to));
}

static void
test_corrupt_files (void)
{
  gsize len;
  char *good = good_bytes (&len);

  expect_rejected ("empty.safetensors", "", 0, FUNAD_ERROR_CORRUPT, "too short");
  expect_rejected ("truncated-len.safetensors", good, 5, FUNAD_ERROR_CORRUPT, "too short");
  expect_rejected ("truncated-header.safetensors", good, 100, FUNAD_ERROR_CORRUPT,
                   "not a model, or truncated: the header length it starts with does not fit "
                   "its 100 bytes");
  expect_rejected ("truncated-data.safetensors", good, len - 16, FUNAD_ERROR_CORRUPT,
                   "outside the file");
  char garbage[4096];
  for (gsize i = 0; i < sizeof garbage; i++)
    garbage[i] = (char) (i * 7919 % 251);
  expect_rejected ("garbage.safetensors", garbage, sizeof garbage, FUNAD_ERROR_CORRUPT,
                   "not a model, or truncated");

  char *bad = g_memdup2 (good, len);
  patch_header (bad, len, "\"F32\"", "\"F16\"");
  expect_rejected ("dtype.safetensors", bad, len, FUNAD_ERROR_CORRUPT, "dtype");
  g_free (bad);

  bad = g_memdup2 (good, len);
  patch_header (bad, len, "\"format_version\":\"1\"", "\"format_version\":\"9\"");
  expect_rejected ("version.safetensors", bad, len, FUNAD_ERROR_VERSION, "format version 9");
  g_free (bad);

  bad = g_memdup2 (good, len);
  patch_header (bad, len, "\"backbone\":\"builtin\"", "\"backbone\":\"resnet9\"");
  expect_rejected ("backbone.safetensors", bad, len, FUNAD_ERROR_VERSION, "resnet9");
  g_free (bad);

  /* A shape that lies about the data (8 centroids claimed as 9). */
  bad = g_memdup2 (good, len);
  patch_header (bad, len, "\"shape\":[8,49]", "\"shape\":[9,49]");
  expect_rejected ("shape.safetensors", bad, len, FUNAD_ERROR_CORRUPT, "disagree with its shape");
  g_free (bad);

  bad = g_memdup2 (good, len);
  patch_header (bad, len, "{\"__metadata__\"", "[\"__metadata__\"");
  expect_rejected ("json.safetensors", bad, len, FUNAD_ERROR_CORRUPT, "not valid JSON");
  g_free (bad);

  /* Metadata sizes out of range or inconsistent with each other. */
  bad = g_memdup2 (good, len);
  patch_header (bad, len, "\"grid\":\"4\"", "\"grid\":\"9\"");
  expect_rejected ("grid.safetensors", bad, len, FUNAD_ERROR_CORRUPT, "out of range");
  g_free (bad);

  /* A header nested deep enough to overflow a recursive JSON parser's stack. */
  {
    enum { DEPTH = 200000 };
    GString *h = g_string_new ("{\"__metadata__\":{},\"x\":");
    for (int i = 0; i < DEPTH; i++)
      g_string_append_c (h, '[');
    for (int i = 0; i < DEPTH; i++)
      g_string_append_c (h, ']');
    g_string_append_c (h, '}');
    guint8 hl[8];
    for (int i = 0; i < 8; i++)
      hl[i] = (guint8) ((guint64) h->len >> (8 * i));
    g_string_prepend_len (h, (const char *) hl, 8);
    expect_rejected ("deep.safetensors", h->str, h->len, FUNAD_ERROR_CORRUPT, "nested deeper");
    g_string_free (h, TRUE);
  }

  /* One flipped exponent bit: a finite value far beyond any weight (its squares overflow). */
  bad = g_memdup2 (good, len);
  guint32 huge_bits = 0x7e800000;  /* 8.5e37 */
  memcpy (bad + len - 4, &huge_bits, 4);
  expect_rejected ("huge.safetensors", bad, len, FUNAD_ERROR_CORRUPT, "magnitude above");
  g_free (bad);

  /* A NaN weight. */
  bad = g_memdup2 (good, len);
  guint32 nan_bits = 0x7fc00000;
  memcpy (bad + len - 4, &nan_bits, 4);
  expect_rejected ("nan.safetensors", bad, len, FUNAD_ERROR_CORRUPT, "non-finite");
  g_free (bad);
  g_free (good);

  GError *error = NULL;
  char *missing = path_in_tmp ("does-not-exist.safetensors");
  g_assert_null (funad_model_load (missing, &error));
  g_assert_error (error, FUNAD_ERROR, FUNAD_ERROR_IO);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);
  g_free (missing);
}

static float
frame_score (FunadModel *m)
{
  guint8 rgb[50 * 30 * 3];
  synthetic_frame (rgb, 50, 30, 99, TRUE, 4);
  FunadImage im = synthetic_image (rgb, 50, 30);
  FunadScorer *s = funad_scorer_new (m);
  float v;
  g_assert_true (funad_scorer_score (s, &im, &v, NULL, NULL));
  funad_scorer_free (s);
  return v;
}

/* A FUN-AD model scores patches by logits and says so; a file without the key is one from
 * before, whose scores (and threshold) are sigmoids; an unknown kind is refused. */
static void
test_funad_patch_scores (void)
{
  FunadModel *m = synthetic_tiny_model (FUNAD_SCORER_FUNAD);
  g_assert_true (m->logit_scores);
  char *path = path_in_tmp ("funad.safetensors");
  g_assert_true (funad_model_save (m, path, NULL));
  GError *error = NULL;
  FunadModel *back = funad_model_load (path, &error);
  g_assert_no_error (error);
  g_assert_true (back->logit_scores);
  g_assert_cmpstr (funad_model_get_metadata (back, "patch_scores"), ==, "logit");
  assert_same_frame_score (m, back);
  char *c;
  gsize len;
  g_assert_true (g_file_get_contents (path, &c, &len, NULL));

  char *bad = g_memdup2 (c, len);
  patch_header (bad, len, "\"patch_scores\":\"logit\"", "\"patch_scores\":\"sigma\"");
  expect_rejected ("scores.safetensors", bad, len, FUNAD_ERROR_VERSION, "patch scores 'sigma'");
  g_free (bad);

  char *old_path = path_in_tmp ("funad-old.safetensors");
  patch_header (c, len, "\"patch_scores\"", "\"patch_scorez\"");
  g_assert_true (g_file_set_contents (old_path, c, (gssize) len, NULL));
  FunadModel *old = funad_model_load (old_path, &error);
  g_assert_no_error (error);
  g_assert_false (old->logit_scores);
  /* The sigmoid of the same logits: inside [0, 1]. */
  float logit = frame_score (back), sigmoid = frame_score (old);
  g_assert_cmpfloat (sigmoid, >=, 0.f);
  g_assert_cmpfloat (sigmoid, <=, 1.f);
  g_assert_cmpfloat (logit, !=, sigmoid);
  g_free (c);
  g_free (old_path);
  g_free (path);
  funad_model_unref (old);
  funad_model_unref (back);
  funad_model_unref (m);
}

static void
test_unwritable_keeps_old (void)
{
  FunadModel *m = synthetic_tiny_model (FUNAD_SCORER_MEMORY_BANK);
  GError *error = NULL;
  g_assert_false (funad_model_save (m, "/nonexistent-dir/model.safetensors", &error));
  g_assert_error (error, FUNAD_ERROR, FUNAD_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent-dir/model.safetensors"));
  g_clear_error (&error);
  funad_model_unref (m);
}

/* The appearance term survives a save and load bit for bit; it moves a frame's score with its
 * weight, linearly (added to every patch score); a file whose appearance metadata lies about
 * its tensors or holds no number is refused. */
static void
test_appearance (void)
{
  FunadTrainParams p = funad_train_default_params ();
  p.input_size = 32;
  p.dict_size = 8;
  p.fit_patches = 2000;
  FunadModel *m = synthetic_trained_model (&p, 14);
  int n = m->appearance.n_frames;
  g_assert_cmpint (n, >=, 10);
  g_assert_cmpint (n, <=, 14);
  char *path = path_in_tmp ("appearance.safetensors");
  g_assert_true (funad_model_save (m, path, NULL));
  GError *error = NULL;
  FunadModel *back = funad_model_load (path, &error);
  g_assert_no_error (error);
  const FunadAppearance *a = &m->appearance, *b = &back->appearance;
  g_assert_cmpint (b->n_frames, ==, n);
  g_assert_cmpmem (b->looks, (gsize) n * a->n_blocks * a->dim * 4, a->looks,
                   (gsize) n * a->n_blocks * a->dim * 4);
  g_assert_cmpfloat (b->median, ==, a->median);
  g_assert_cmpfloat (b->scale, ==, a->scale);
  g_assert_cmpfloat (b->weight, ==, p.appearance_weight);
  g_assert_cmpfloat (b->weight, >, 0.f);
  assert_same_frame_score (m, back);

  back->appearance.weight = 1.f;
  float once = frame_score (back);
  back->appearance.weight = 0.f;
  float none = frame_score (back);
  back->appearance.weight = 2.f;
  float twice = frame_score (back);
  g_assert_cmpfloat (once, !=, none);
  g_assert_cmpfloat (fabsf ((twice - none) - 2.f * (once - none)), <=,
                     1e-4f * (1.f + fabsf (twice)));

  gsize len;
  char *good;
  g_assert_true (g_file_get_contents (path, &good, &len, NULL));
  char *from = g_strdup_printf ("\"appearance_frames\":\"%d\"", n);
  char *to = g_strdup_printf ("\"appearance_frames\":\"%d\"", n - 1);
  char *bad = g_memdup2 (good, len);
  patch_header (bad, len, from, to);
  expect_rejected ("appearance-frames.safetensors", bad, len, FUNAD_ERROR_CORRUPT,
                   "scorer.appearance_looks");
  g_free (bad);
  bad = g_memdup2 (good, len);
  patch_header (bad, len, "\"appearance_weight\":\"0", "\"appearance_weight\":\"x");
  expect_rejected ("appearance-weight.safetensors", bad, len, FUNAD_ERROR_CORRUPT,
                   "'_weight' is missing or out of range");
  g_free (bad);

  /* Numbers a file can hold but no trainer writes: a weight of 1e30 (scores of 1e30), a
   * threshold of 1e300 (finite as a double, infinite as the float it is compared with). */
  back->appearance.weight = 1e30f;
  char *huge = path_in_tmp ("appearance-huge.safetensors");
  assert_saved_refused (back, huge, "'_weight' is missing or out of range");
  back->appearance.weight = 0.5f;
  back->threshold = 1e300;
  assert_saved_refused (back, huge, "metadata 'threshold'");
  g_unlink (huge);
  g_free (huge);
  g_free (to);
  g_free (from);
  g_free (good);
  funad_model_unref (back);
  funad_model_unref (m);
  g_free (path);
}

/* Bank floors survive a save and load bit for bit and raise the score a frame gets; a file
 * whose floor is negative or not a number (the reader's own check), or whose metadata names a
 * floor rule this build does not know, is refused. A model without floors stores none. */
static void
test_bank_floor (void)
{
  FunadModel *m = synthetic_tiny_model (FUNAD_SCORER_MEMORY_BANK);
  float plain = frame_score (m);
  char *path = path_in_tmp ("floor.safetensors");
  g_assert_true (funad_model_save (m, path, NULL));
  gsize len;
  char *bytes;
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  g_assert_null (g_strstr_len (bytes, (gssize) len, "bank_floor"));
  g_free (bytes);
  m->bank_floor = g_new (float, m->bank_rows);
  for (int j = 0; j < m->bank_rows; j++)
    m->bank_floor[j] = 50.f + j % 3;
  g_assert_true (funad_model_save (m, path, NULL));
  GError *error = NULL;
  FunadModel *back = funad_model_load (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (back->bank_floor);
  g_assert_cmpmem (back->bank_floor, back->bank_rows * 4, m->bank_floor, m->bank_rows * 4);
  g_assert_cmpfloat (frame_score (back), >, plain);
  funad_model_unref (back);

  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  char *bad = g_memdup2 (bytes, len);
  patch_header (bad, len, "\"per-row-offset\"", "\"per-row-offsex\"");
  expect_rejected ("floor-rule.safetensors", bad, len, FUNAD_ERROR_VERSION,
                   "bank floor 'per-row-offsex' is not supported");
  g_free (bad);
  g_free (bytes);
  m->bank_floor[1] = -1.f;
  assert_saved_refused (m, path, "tensor 'scorer.bank_floor' holds a negative value");
  m->bank_floor[1] = NAN;
  assert_saved_refused (m, path, "tensor 'scorer.bank_floor' holds a non-finite value");
  g_unlink (path);
  g_free (path);
  funad_model_unref (m);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("funad-model-XXXXXX", NULL);
  g_test_add_func ("/model-file/round-trip", test_round_trip);
  g_test_add_func ("/model-file/corrupt", test_corrupt_files);
  g_test_add_func ("/model-file/unwritable", test_unwritable_keeps_old);
  g_test_add_func ("/model-file/funad-patch-scores", test_funad_patch_scores);
  g_test_add_func ("/model-file/appearance", test_appearance);
  g_test_add_func ("/model-file/bank-floor", test_bank_floor);
  int rc = g_test_run ();
  GDir *dir = g_dir_open (tmpdir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (dir))) {
    char *p = g_build_filename (tmpdir, name, NULL);
    g_unlink (p);
    g_free (p);
  }
  g_dir_close (dir);
  g_rmdir (tmpdir);
  g_free (tmpdir);
  return rc;
}
