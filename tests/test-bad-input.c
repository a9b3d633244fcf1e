/* test-bad-input.c — the core's side of the bad-input matrix: frames of extreme sizes and
 * unusable layouts, NaN and infinite features, a model file whose offsets lie, and a model
 * saved to a full disk or onto something that is not a file. Each case checks the error text
 * a user sees, and that a good model file is never replaced by a bad one. (The model-file
 * cases of truncated, garbage, wrong-version and wrong-backbone files are in
 * test-model-file.c; the element's and the tools' cases in test-element.c and test-e2e.c.) */
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include "funad-private.h"
#include "synthetic-frames.h"

static char *tmpdir;

static float
score_grey (FunadScorer *s, int w, int h)
{
  guint8 *px = g_malloc ((gsize) w * h);
  for (gsize i = 0; i < (gsize) w * h; i++)
    px[i] = (guint8) (i * 2654435761u >> 24);
  FunadImage im = { px, w, h, w, 1, 0, 0, 0 };
  float score = NAN;
  const float *map = NULL;
  GError *error = NULL;
  g_assert_true (funad_scorer_score (s, &im, &score, &map, &error));
  g_assert_no_error (error);
  g_assert_nonnull (map);
  g_free (px);
  return score;
}

/* The smallest and a very large frame both score, with a finite score. */
static void
test_extreme_frame_sizes (void)
{
  FunadModel *m = synthetic_tiny_model (FUNAD_SCORER_MEMORY_BANK);
  FunadScorer *s = funad_scorer_new (m);
  g_assert_true (isfinite (score_grey (s, 1, 1)));
  g_assert_true (isfinite (score_grey (s, 16384, 16384)));
  g_assert_true (isfinite (score_grey (s, 16384, 1)));
  funad_scorer_free (s);
  funad_model_unref (m);
}

static void
expect_frame_rejected (FunadImage *im, const char *expect)
{
  FunadModel *m = synthetic_tiny_model (FUNAD_SCORER_MEMORY_BANK);
  FunadScorer *s = funad_scorer_new (m);
  GError *error = NULL;
  float score;
  g_assert_false (funad_scorer_score (s, im, &score, NULL, &error));
  g_assert_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT);
  g_assert_cmpstr (error->message, ==, expect);
  g_error_free (error);
  funad_scorer_free (s);
  funad_model_unref (m);
}

static void
test_unusable_frames (void)
{
  guint8 px[64] = { 0 };
  FunadImage empty = { px, 0, 0, 0, 1, 0, 0, 0 };
  expect_frame_rejected (&empty, "frame of unusable size 0x0");
  FunadImage huge = { px, 70000, 1, 70000, 1, 0, 0, 0 };
  expect_frame_rejected (&huge, "frame of unusable size 70000x1");
  FunadImage two = { px, 4, 4, 8, 2, 0, 1, 0 };
  expect_frame_rejected (&two, "unsupported frame layout (pixel stride 2, row stride 8)");
  FunadImage short_rows = { px, 4, 4, 11, 3, 0, 1, 2 };
  expect_frame_rejected (&short_rows, "unsupported frame layout (pixel stride 3, row stride 11)");
  FunadImage bad_offset = { px, 4, 4, 12, 3, 0, 1, 3 };
  expect_frame_rejected (&bad_offset, "unsupported frame layout (pixel stride 3, row stride 12)");
  FunadImage no_data = { NULL, 4, 4, 4, 1, 0, 0, 0 };
  expect_frame_rejected (&no_data, "frame of unusable size 4x4");
}

/* NaN and infinite features (what a broken backbone or an overflowing standardisation would
 * give) must not make a patch score NaN: a NaN score is never above any threshold, so an
 * anomaly would pass unseen. Both scorer kinds score such a patch as far from normal. */
static void
check_nonfinite_features (FunadScorerKind kind)
{
  FunadModel *m = synthetic_tiny_model (kind);
  int P = m->grid * m->grid, D = m->backbone.dim;
  float *features = g_new0 (float, (gsize) P * D);
  features[0] = NAN;
  features[(gsize) 1 * D + 3] = INFINITY;
  features[(gsize) 2 * D + 5] = -INFINITY;
  float *scores = g_new (float, P);
  FunadMlpCache cache = { 0 };
  funad_model_patch_scores (m, features, P, &cache, scores);
  for (int i = 0; i < P; i++)
    g_assert_true (isfinite (scores[i]));
  for (int i = 0; i < 3; i++)
    for (int j = 3; j < P; j++)
      g_assert_cmpfloat (scores[i], >=, scores[j]);
  float *map = g_new (float, m->input_size * m->input_size);
  float *tmp = g_new (float, m->input_size * m->input_size);
  float best = funad_patch_scores_to_map (scores, m->grid, m->input_size, map, tmp);
  g_assert_true (isfinite (best));
  funad_mlp_cache_clear (&cache);
  g_free (map);
  g_free (tmp);
  g_free (scores);
  g_free (features);
  funad_model_unref (m);
}

static void
test_nonfinite_features_memory_bank (void)
{
  check_nonfinite_features (FUNAD_SCORER_MEMORY_BANK);
}

static void
test_nonfinite_features_funad (void)
{
  check_nonfinite_features (FUNAD_SCORER_FUNAD);
}

static char *
saved_bytes (FunadModel *m, const char *name, gsize *len)
{
  char *path = g_build_filename (tmpdir, name, NULL);
  g_assert_true (funad_model_save (m, path, NULL));
  char *c;
  g_assert_true (g_file_get_contents (path, &c, len, NULL));
  g_free (path);
  return c;
}

static void
expect_load_error (const char *name, const char *bytes, gsize len, const char *expect)
{
  char *path = g_build_filename (tmpdir, name, NULL);
  g_assert_true (g_file_set_contents (path, bytes, (gssize) len, NULL));
  GError *error = NULL;
  g_assert_null (funad_model_load (path, &error));
  g_assert_error (error, FUNAD_ERROR, FUNAD_ERROR_CORRUPT);
  char *full = g_strdup_printf ("model file '%s': %s", path, expect);
  g_assert_cmpstr (error->message, ==, full);
  g_free (full);
  g_error_free (error);
  g_free (path);
}

/* Offsets that point somewhere else than the shape says: shifted, beyond the file, reversed. */
static void
test_lying_offsets (void)
{
  FunadModel *m = synthetic_tiny_model (FUNAD_SCORER_MEMORY_BANK);
  gsize len;
  char *good = saved_bytes (m, "offsets-good.safetensors", &len);
  struct { const char *from, *to, *expect; } cases[] = {
    { "\"data_offsets\":[0,196]", "\"data_offsets\":[4,196]",
      "tensor 'backbone.scale0.zca_mean' has data_offsets that disagree with its shape" },
    { "\"data_offsets\":[0,196]", "\"data_offsets\":[0,999999999]",
      "tensor 'backbone.scale0.zca_mean' has data_offsets outside the file" },
    { "\"data_offsets\":[0,196]", "\"data_offsets\":[196,0]",
      "tensor 'backbone.scale0.zca_mean' has data_offsets outside the file" },
    { "\"data_offsets\":[0,196]", "\"data_offsets\":[-4,192]",
      "tensor 'backbone.scale0.zca_mean' has data_offsets outside the file" },
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    /* a new header, then the same data (offsets count from the data's start) */
    guint64 hlen = 0;
    for (int i = 0; i < 8; i++)
      hlen |= (guint64) (guint8) good[i] << (8 * i);
    GString *header = g_string_new_len (good + 8, (gssize) hlen);
    char *hit = strstr (header->str, cases[c].from);
    g_assert_nonnull (hit);
    gssize at = hit - header->str;
    g_string_erase (header, at, (gssize) strlen (cases[c].from));
    g_string_insert (header, at, cases[c].to);
    GByteArray *bad = g_byte_array_new ();
    guint8 len_le[8];
    for (int i = 0; i < 8; i++)
      len_le[i] = (guint8) ((guint64) header->len >> (8 * i));
    g_byte_array_append (bad, len_le, 8);
    g_byte_array_append (bad, (guint8 *) header->str, header->len);
    g_byte_array_append (bad, (guint8 *) good + 8 + hlen, len - 8 - hlen);
    expect_load_error ("offsets.safetensors", (char *) bad->data, bad->len, cases[c].expect);
    g_byte_array_unref (bad);
    g_string_free (header, TRUE);
  }
  g_free (good);
  funad_model_unref (m);
}

/* Saving onto a device (or anything but a regular file) is refused: the atomic rename would
 * replace the device node itself. */
static void
test_save_onto_device (void)
{
  FunadModel *m = synthetic_tiny_model (FUNAD_SCORER_MEMORY_BANK);
  GError *error = NULL;
  g_assert_false (funad_model_save (m, "/dev/full", &error));
  g_assert_error (error, FUNAD_ERROR, FUNAD_ERROR_IO);
  g_assert_cmpstr (error->message, ==,
                   "cannot write model file '/dev/full': not a regular file");
  g_clear_error (&error);
  GStatBuf st;
  g_assert_cmpint (g_stat ("/dev/full", &st), ==, 0);
  g_assert_true (S_ISCHR (st.st_mode));
  funad_model_unref (m);
}

/* A disk that fills up while the model is written (a file size limit stands in for it): the
 * save fails with the system's reason, the good model already there is left as it was, and no
 * temporary file is left behind. */
static void
test_full_disk_keeps_old_model (void)
{
  FunadModel *small = synthetic_tiny_model (FUNAD_SCORER_MEMORY_BANK);
  char *path = g_build_filename (tmpdir, "full-disk", "model.safetensors", NULL);
  char *dir = g_path_get_dirname (path);
  g_mkdir_with_parents (dir, 0700);
  g_assert_true (funad_model_save (small, path, NULL));
  char *before;
  gsize before_len;
  g_assert_true (g_file_get_contents (path, &before, &before_len, NULL));

  if (g_test_subprocess ()) {
    signal (SIGXFSZ, SIG_IGN);
    struct rlimit lim = { 4096, 4096 };
    g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &lim), ==, 0);
    GError *error = NULL;
    g_assert_false (funad_model_save (small, path, &error));
    g_assert_error (error, FUNAD_ERROR, FUNAD_ERROR_IO);
    char *expect = g_strdup_printf ("cannot write model file '%s': %s", path,
                                    g_strerror (EFBIG));
    g_assert_cmpstr (error->message, ==, expect);
    g_free (expect);
    g_error_free (error);
    /* The subprocess has a temporary folder of its own: leave it empty for main() to remove. */
    g_unlink (path);
    g_rmdir (dir);
    g_free (before);
    g_free (dir);
    g_free (path);
    funad_model_unref (small);
    return;
  }
  g_assert_cmpuint (before_len, >, 4096);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  char *after;
  gsize after_len;
  g_assert_true (g_file_get_contents (path, &after, &after_len, NULL));
  g_assert_cmpmem (before, before_len, after, after_len);
  GDir *d = g_dir_open (dir, 0, NULL);
  g_assert_cmpstr (g_dir_read_name (d), ==, "model.safetensors");
  g_assert_null (g_dir_read_name (d));
  g_dir_close (d);
  g_unlink (path);
  g_rmdir (dir);
  g_free (before);
  g_free (after);
  g_free (dir);
  g_free (path);
  funad_model_unref (small);
}

/* A device or a FIFO as the model file, or as the pretrained weights a model file names: read,
 * /dev/zero would fill memory and a FIFO block for ever. Both are refused at once (in a
 * subprocess with a time limit, so a regression fails instead of hanging the suite). */
static void
test_model_not_a_file (void)
{
  if (g_test_subprocess ()) {
    char *fifo = g_build_filename (tmpdir, "model.fifo", NULL);
    g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
    const char *paths[] = { "/dev/zero", fifo };
    for (guint i = 0; i < G_N_ELEMENTS (paths); i++) {
      GError *error = NULL;
      g_assert_null (funad_model_load (paths[i], &error));
      char *expect = g_strdup_printf ("cannot read model file '%s': not a regular file",
                                      paths[i]);
      g_assert_cmpstr (error->message, ==, expect);
      g_clear_error (&error);
      g_free (expect);
      FunadBackbone bb;
      g_assert_false (funad_backbone_init_pretrained (&bb, "mobilenetv2_100", paths[i], 64, 0,
                                                      NULL, &error));
      expect = g_strdup_printf ("weights file '%s': not a regular file", paths[i]);
      g_assert_cmpstr (error->message, ==, expect);
      g_clear_error (&error);
      g_free (expect);
    }
    g_unlink (fifo);
    g_free (fifo);
    return;
  }
  g_test_trap_subprocess (NULL, 20 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* A programming error (a NULL model, scorer, trainer or path) is a GLib critical and a
 * failed call, as GLib's own API does it, never a crash (funad_model_load (NULL) read a NULL
 * GError's message). */
static void
test_null_arguments (void)
{
  FunadModel *m = synthetic_tiny_model (FUNAD_SCORER_MEMORY_BANK);
  FunadScorer *s = funad_scorer_new (m);
  guint8 px[64 * 64] = { 0 };
  FunadImage im = { px, 64, 64, 64, 1, 0, 0, 0 };
  float score = NAN;
  GError *error = NULL;
#define EXPECT_CRITICAL(call)                                                                  \
  do {                                                                                         \
    g_test_expect_message ("funad", G_LOG_LEVEL_CRITICAL, "*assertion*failed*");             \
    call;                                                                                      \
    g_test_assert_expected_messages ();                                                        \
  } while (0)
  EXPECT_CRITICAL (g_assert_null (funad_model_load (NULL, &error)));
  EXPECT_CRITICAL (g_assert_false (funad_model_save (NULL, "x.safetensors", &error)));
  EXPECT_CRITICAL (g_assert_false (funad_model_save (m, NULL, &error)));
  EXPECT_CRITICAL (g_assert_cmpint (funad_model_input_size (NULL), ==, 0));
  EXPECT_CRITICAL (g_assert_cmpint (funad_model_grid_size (NULL), ==, 0));
  EXPECT_CRITICAL (g_assert_true (isnan (funad_model_threshold (NULL))));
  EXPECT_CRITICAL (g_assert_null (funad_model_get_metadata (NULL, "backbone")));
  EXPECT_CRITICAL (g_assert_null (funad_model_get_metadata (m, NULL)));
  EXPECT_CRITICAL (g_assert_false (funad_scorer_score (NULL, &im, &score, NULL, &error)));
  EXPECT_CRITICAL (g_assert_false (funad_scorer_score (s, NULL, &score, NULL, &error)));
  EXPECT_CRITICAL (g_assert_null (funad_scorer_get_model (NULL)));
  EXPECT_CRITICAL (funad_scorer_set_threads (NULL, 2));
  EXPECT_CRITICAL (funad_scorer_set_threads (s, FUNAD_MAX_THREADS + 1));  /* started them all */
  /* layouts the scorer refuses: the blend read and wrote past the pixel or the row */
  float heat[4] = { 5, 5, 5, 5 };
  guint8 small[2 * 2 * 4] = { 0 }, untouched[sizeof small] = { 0 };
  FunadImage offset_past_pixel = { small, 2, 2, 6, 3, 0, 1, 5 };
  FunadImage short_rows = { small, 2, 2, 6, 4, 0, 1, 2 };
  FunadImage two_byte_pixels = { small, 2, 2, 4, 2, 0, 1, 1 };
  EXPECT_CRITICAL (funad_heatmap_blend (heat, 2, 2, 0.f, 1.f, 1.f, &offset_past_pixel));
  EXPECT_CRITICAL (funad_heatmap_blend (heat, 2, 2, 0.f, 1.f, 1.f, &short_rows));
  EXPECT_CRITICAL (funad_heatmap_blend (heat, 2, 2, 0.f, 1.f, 1.f, &two_byte_pixels));
  g_assert_cmpmem (small, sizeof small, untouched, sizeof untouched);
  FunadImage rgb = { small, 2, 2, 6, 3, 0, 1, 2 };
  funad_heatmap_blend (heat, 2, 2, 0.f, 1.f, 1.f, &rgb);  /* a layout it takes: drawn */
  g_assert_true (memcmp (small, untouched, sizeof small) != 0);
  EXPECT_CRITICAL (g_assert_cmpint (funad_trainer_n_frames (NULL), ==, 0));
  EXPECT_CRITICAL (g_assert_false (funad_trainer_add_frame (NULL, &im, &error)));
  EXPECT_CRITICAL (g_assert_false (funad_trainer_set_backbone (NULL, "builtin", NULL, &error)));
  EXPECT_CRITICAL (g_assert_null (funad_trainer_run (NULL, NULL, NULL, &error)));
  EXPECT_CRITICAL (funad_trainer_cancel (NULL));
  FunadTrainer *t = funad_trainer_new (NULL);
  EXPECT_CRITICAL (g_assert_false (funad_trainer_add_frame (t, NULL, &error)));
#undef EXPECT_CRITICAL
  g_assert_no_error (error);
  /* The calls above changed nothing: the scorer still scores. */
  g_assert_true (funad_scorer_score (s, &im, &score, NULL, &error));
  g_assert_no_error (error);
  funad_trainer_free (t);
  funad_scorer_free (s);
  funad_model_unref (m);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("funad-bad-input-XXXXXX", NULL);
  g_test_add_func ("/bad-input/frame/extreme-sizes", test_extreme_frame_sizes);
  g_test_add_func ("/bad-input/frame/unusable", test_unusable_frames);
  g_test_add_func ("/bad-input/features/nonfinite-memory-bank",
                   test_nonfinite_features_memory_bank);
  g_test_add_func ("/bad-input/features/nonfinite-funad", test_nonfinite_features_funad);
  g_test_add_func ("/bad-input/model/lying-offsets", test_lying_offsets);
  g_test_add_func ("/bad-input/model/not-a-file", test_model_not_a_file);
  g_test_add_func ("/bad-input/save/onto-device", test_save_onto_device);
  g_test_add_func ("/bad-input/save/full-disk-keeps-old-model", test_full_disk_keeps_old_model);
  g_test_add_func ("/bad-input/api/null-arguments", test_null_arguments);
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
