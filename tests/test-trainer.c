/* test-trainer.c — the FUN-AD trainer: finds injected defects by a clear margin when trained on
 * contaminated frames, is deterministic to the byte, survives degenerate inputs, and cancels. */
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "funad-private.h"
#include "synthetic-frames.h"

enum { W = 96, H = 80 };

static FunadTrainParams
small_params (void)
{
  FunadTrainParams p = funad_train_default_params ();
  p.input_size = 64;
  p.dict_size = 16;
  p.hidden1 = 32;
  p.hidden2 = 16;
  p.epochs = 4;
  p.fit_patches = 10000;
  p.patches_per_image = 32;
  p.bank_per_image = 32;
  return p;
}

/* 40 frames, 3 of them defective: training data is contaminated, and nobody says which. */
static FunadTrainer *
contaminated_trainer (const FunadTrainParams *p)
{
  FunadTrainer *t = funad_trainer_new (p);
  guint8 *rgb = g_new (guint8, W * H * 3);
  for (int i = 0; i < 40; i++) {
    synthetic_frame (rgb, W, H, 1000 + i, i % 13 == 5, 9);
    FunadImage im = synthetic_image (rgb, W, H);
    g_assert_true (funad_trainer_add_frame (t, &im, NULL));
  }
  g_free (rgb);
  return t;
}

/* A model trained with params p on contaminated_trainer's frames (training must succeed). */
static FunadModel *
contaminated_model (const FunadTrainParams *p)
{
  FunadTrainer *t = contaminated_trainer (p);
  GError *error = NULL;
  FunadModel *m = funad_trainer_run (t, NULL, NULL, &error);
  g_assert_no_error (error);
  funad_trainer_free (t);
  return m;
}

static double
held_out_auroc_with (const FunadTrainParams *p)
{
  FunadModel *m = contaminated_model (p);
  FunadScorer *s = funad_scorer_new (m);
  enum { N = 40 };
  float scores[N];
  guint8 labels[N];
  guint8 *rgb = g_new (guint8, W * H * 3);
  for (int i = 0; i < N; i++) {
    labels[i] = i % 2;
    synthetic_frame (rgb, W, H, 5000 + i, labels[i], 9);
    FunadImage im = synthetic_image (rgb, W, H);
    const float *map;
    g_assert_true (funad_scorer_score (s, &im, &scores[i], &map, NULL));
    g_assert_true (isfinite (scores[i]));
  }
  double auroc = funad_auroc (scores, labels, N);
  int false_alarms = 0, flagged = 0;
  for (int i = 0; i < N; i++) {
    gboolean anomaly = scores[i] > funad_model_threshold (m);
    flagged += anomaly;
    false_alarms += anomaly && !labels[i];
  }
  if (g_test_verbose ())
    g_printerr ("scorer %d: held-out AUROC %.3f, threshold %.4f, %d flagged, %d false alarms\n",
                p->scorer, auroc, funad_model_threshold (m), flagged, false_alarms);
  /* The label-free threshold of the default scorer is conservative: few false alarms, yet
   * not above every frame. */
  if (p->scorer == funad_train_default_params ().scorer) {
    g_assert_cmpint (false_alarms, <=, 2);
    g_assert_cmpint (flagged, >=, 1);
  }
  g_free (rgb);
  funad_scorer_free (s);
  funad_model_unref (m);
  return auroc;
}

static double
held_out_auroc (FunadScorerKind kind)
{
  FunadTrainParams p = small_params ();
  p.scorer = kind;
  return held_out_auroc_with (&p);
}

/* The default scorer, trained on contaminated frames, ranks held-out defects far above. */
static void
test_finds_defects (void)
{
  g_assert_cmpfloat (held_out_auroc (FUNAD_SCORER_MEMORY_BANK), >, 0.95);
}

/* A bank far smaller than the training patches covers a new frame less closely; the
 * threshold must say so, or it flags every normal frame (held_out_auroc_with checks the false
 * alarms). */
static void
test_small_bank_threshold (void)
{
  FunadTrainParams p = small_params ();
  p.bank_size = 64;
  g_assert_cmpfloat (held_out_auroc_with (&p), >, 0.9);
}

/* Leaving atypical training images out of the bank, by their own score or by their
 * appearance, each rule alone: the contaminated images go, the model still finds held-out
 * defects, and the summary says how many images the bank drew on. */
static void
test_typical_images (void)
{
  for (int rule = 0; rule < 2; rule++) {
    FunadTrainParams p = small_params ();
    p.typical_z = rule == 0 ? 3.f : 0.f;
    p.appearance_z = rule == 1 ? 3.f : 0.f;
    /* On this 8 x 8 grid a 3 x 3 neighbourhood mean blurs one small defect below the cut. */
    p.neighbourhood = 0;
    FunadModel *m = contaminated_model (&p);
    const char *summary = funad_model_get_metadata (m, "training_summary");
    int kept = -1;
    const char *at = strstr (summary, "\"candidate_normals\":");
    g_assert_nonnull (at);
    kept = atoi (at + strlen ("\"candidate_normals\":"));
    if (g_test_verbose ())
      g_printerr ("%s: bank drawn from %d of 40 images\n", rule == 0 ? "own score" : "appearance",
                  kept);
    /* Exactly the 3 defective images (5, 18 and 31) stand out. */
    g_assert_cmpint (kept, ==, 37);
    g_assert_nonnull (strstr (summary, "\"left_out_frames\":[5,18,31]"));
    funad_model_unref (m);
  }
  g_assert_cmpfloat (held_out_auroc (FUNAD_SCORER_MEMORY_BANK), >, 0.95);
}

/* The summary's integer `key` (-1 when absent). */
static int
summary_int (FunadModel *m, const char *key)
{
  const char *summary = funad_model_get_metadata (m, "training_summary");
  char *needle = g_strdup_printf ("\"%s\":", key);
  const char *at = strstr (summary, needle);
  int v = at ? atoi (at + strlen (needle)) : -1;
  g_free (needle);
  return v;
}

/* The appearance term compares a frame with the frames the bank was built from, every one of
 * them here, and only them; FUN-AD's with the frames its teacher (the bank's rule) kept, not
 * those its own last IRMB did; a weight of 0 leaves it out. */
static void
test_appearance_reference (void)
{
  FunadTrainParams p = small_params ();
  FunadModel *bank = contaminated_model (&p);
  int kept = 40 - summary_int (bank, "left_out_count");
  g_assert_cmpint (kept, <, 40);
  g_assert_cmpint (bank->appearance.n_frames, ==, kept);
  g_assert_cmpint (summary_int (bank, "appearance_frames"), ==, kept);
  p.scorer = FUNAD_SCORER_FUNAD;
  FunadModel *funad = contaminated_model (&p);
  const FunadAppearance *a = &bank->appearance, *b = &funad->appearance;
  g_assert_cmpint (b->n_frames, ==, kept);
  g_assert_cmpint (summary_int (funad, "appearance_frames"), ==, kept);
  g_assert_cmpint (memcmp (a->looks, b->looks, sizeof (float) * a->n_blocks * a->n_frames
                           * a->dim), ==, 0);
  /* Each summary lists only the settings that acted: FUN-AD's are not a memory bank's. */
  g_assert_cmpint (summary_int (bank, "irmb"), ==, -1);
  g_assert_cmpint (summary_int (bank, "epochs_max"), ==, -1);
  g_assert_cmpint (summary_int (funad, "irmb"), ==, 1);
  g_assert_cmpint (summary_int (funad, "epochs_max"), ==, p.epochs);
  funad_model_unref (funad);
  funad_model_unref (bank);
  p = small_params ();
  p.appearance_weight = 0.f;
  FunadModel *m = contaminated_model (&p);
  g_assert_cmpint (m->appearance.n_frames, ==, 0);
  g_assert_cmpint (summary_int (m, "appearance_frames"), ==, 0);
  funad_model_unref (m);
  g_assert_cmpfloat (held_out_auroc_with (&p), >, 0.95);
}

/* Bank floors: the frames the appearance leaves out stay in the bank, and the rows of frames
 * above bank_floor_z get a floor (here, with bank_floor_z at the cut, exactly the 3 defective
 * frames); the frames trusted as normal, the threshold's and the appearance term's, are still
 * the other 37; the model still finds held-out defects; with floors off, no floor is stored. */
static void
test_bank_floors (void)
{
  FunadTrainParams p = small_params ();
  p.neighbourhood = 0;   /* as test_typical_images: one small defect stays above the cut */
  p.appearance_z = 3.f;
  p.bank_floor = 2.f;
  p.bank_floor_z = 3.f;
  FunadModel *m = contaminated_model (&p);
  g_assert_cmpint (summary_int (m, "floored_frames"), ==, 3);
  g_assert_cmpint (summary_int (m, "candidate_normals"), ==, 37);
  g_assert_cmpint (summary_int (m, "bank_frames"), ==, 40);
  g_assert_cmpint (m->appearance.n_frames, ==, 37);
  g_assert_nonnull (m->bank_floor);
  int floored = 0;
  for (int j = 0; j < m->bank_rows; j++) {
    g_assert_true (m->bank_floor[j] >= 0.f && isfinite (m->bank_floor[j]));
    floored += m->bank_floor[j] > 0.f;
  }
  /* Each frame gives at most twice its share of the bank (memory-bank.c's cap). */
  g_assert_cmpint (floored, >, 0);
  g_assert_cmpint (floored, <=, 3 * 2 * (m->bank_rows / 40 + 1));
  funad_model_unref (m);
  g_assert_cmpfloat (held_out_auroc_with (&p), >, 0.95);
  p.bank_floor = 0.f;
  m = contaminated_model (&p);
  g_assert_null (m->bank_floor);
  g_assert_cmpint (summary_int (m, "floored_frames"), ==, 0);
  g_assert_cmpint (summary_int (m, "bank_frames"), ==, 37);
  funad_model_unref (m);

  /* Frames a later round leaves out (found among the kept frames alone, which the floors' z
   * does not see) stay out of the bank; those of the first cut stay in. */
  p.bank_floor = 2.f;
  p.appearance_z = 1.f;
  m = contaminated_model (&p);
  int first_cut = summary_int (m, "left_out_count");
  g_assert_cmpint (summary_int (m, "bank_frames"), ==, 40);
  funad_model_unref (m);
  p.appearance_rounds = 3;
  m = contaminated_model (&p);
  int later = summary_int (m, "left_out_count") - first_cut;
  if (g_test_verbose ())
    g_printerr ("first cut %d frames, later rounds %d more\n", first_cut, later);
  g_assert_cmpint (later, >, 0);
  g_assert_cmpint (summary_int (m, "bank_frames"), ==, 40 - later);
  funad_model_unref (m);
}

/* Frames flat grey but for a small noisy window: most patches of a typical frame are matched
 * exactly, so the floors' unit (the median typical distance) is 0. Floors of 0 would let the
 * frames the cut leaves out (a window far brighter) vouch for what they show: they are left
 * out of the bank instead, as without floors. */
static void
test_bank_floors_without_unit (void)
{
  FunadTrainParams p = small_params ();
  p.bank_floor = 2.f;
  FunadTrainer *t = funad_trainer_new (&p);
  guint8 *rgb = g_new (guint8, W * H * 3);
  GRand *rng = g_rand_new_with_seed (5);
  for (int i = 0; i < 40; i++) {
    memset (rgb, 128, W * H * 3);
    for (int y = 0; y < 16; y++)
      for (int x = 0; x < 16; x++)
        for (int c = 0; c < 3; c++)
          rgb[(y * W + x) * 3 + c] = (guint8) (g_rand_int_range (rng, 96, 160)
                                               + (i % 13 == 5 ? 90 : 0));
    FunadImage im = synthetic_image (rgb, W, H);
    g_assert_true (funad_trainer_add_frame (t, &im, NULL));
  }
  g_rand_free (rng);
  g_free (rgb);
  FunadModel *m = funad_trainer_run (t, NULL, NULL, NULL);
  g_assert_nonnull (m);
  funad_trainer_free (t);
  if (g_test_verbose ())
    g_printerr ("%s\n", funad_model_get_metadata (m, "training_summary"));
  g_assert_cmpint (summary_int (m, "floored_frames"), ==, 0);
  g_assert_null (m->bank_floor);
  int trusted = summary_int (m, "candidate_normals");
  g_assert_cmpint (trusted, <=, 37);
  g_assert_cmpint (summary_int (m, "bank_frames"), ==, trusted);
  funad_model_unref (m);
}

/* FUN-AD's discriminator, taught only by its own pseudo-labels, finds them too. */
static void
test_funad_learns (void)
{
  g_assert_cmpfloat (held_out_auroc (FUNAD_SCORER_FUNAD), >, 0.9);
}

/* FUN-AD learns the defects with either pseudo-label rule: gated by the teacher's frames
 * (the default) and the reference's (every frame, normalised distance above 0.5). */
static void
test_funad_pseudo_label_rules (void)
{
  FunadTrainParams p = small_params ();
  p.scorer = FUNAD_SCORER_FUNAD;
  p.pseudo_label_z = 0.f;
  g_assert_cmpfloat (held_out_auroc_with (&p), >, 0.9);
}

/* The frames listed under `key` in a model's training summary (0..39), as flags; FALSE when
 * the summary has no such list. */
static gboolean
summary_frames (FunadModel *m, const char *key, gboolean seen[40])
{
  const char *summary = funad_model_get_metadata (m, "training_summary");
  char *pattern = g_strdup_printf ("\"%s\":[", key);
  const char *at = strstr (summary, pattern);
  memset (seen, 0, 40 * sizeof (gboolean));
  if (at)
    for (const char *c = at + strlen (pattern); *c && *c != ']';) {
      char *end;
      long frame = strtol (c, &end, 10);
      g_assert_true (end != c && frame >= 0 && frame < 40);
      seen[frame] = TRUE;
      c = *end == ',' ? end + 1 : end;
    }
  g_free (pattern);
  return at != NULL;
}

/* Gated pseudo-labels (the default) come only from frames the teacher left out: the memory
 * bank's rule on the same features, which a memory-bank run with the same seed reports. The
 * reference's rule labels patches in frames the teacher kept as well. */
static void
test_funad_pseudo_label_gate (void)
{
  FunadTrainParams p = small_params ();
  FunadModel *bank = contaminated_model (&p);
  gboolean teacher_left_out[40], labelled[40];
  g_assert_true (summary_frames (bank, "left_out_frames", teacher_left_out));
  g_assert_false (summary_frames (bank, "pseudo_anomaly_frames", labelled));
  funad_model_unref (bank);
  p.scorer = FUNAD_SCORER_FUNAD;
  for (int gated = 1; gated >= 0; gated--) {
    p.pseudo_label_z = gated ? 3.f : 0.f;
    FunadModel *m = contaminated_model (&p);
    g_assert_true (summary_frames (m, "pseudo_anomaly_frames", labelled));
    int count = 0, in_kept = 0;
    for (int i = 0; i < 40; i++) {
      count += labelled[i];
      in_kept += labelled[i] && !teacher_left_out[i];
    }
    if (g_test_verbose ())
      g_printerr ("%s rule: pseudo-anomalies in %d frames, %d of them kept by the teacher\n",
                  gated ? "gated" : "reference", count, in_kept);
    g_assert_cmpint (count, >, 0);
    if (gated)
      g_assert_cmpint (in_kept, ==, 0);
    else
      g_assert_cmpint (in_kept, >, 0);
    funad_model_unref (m);
  }
}

/* Taught by a memory bank, FUN-AD's first confident normals leave the contaminated frames
 * out, and the summary says which frames the last rebuild did not trust. The reference's
 * start (every image) is kept as an ablation and still trains. */
static void
test_funad_teacher (void)
{
  FunadTrainParams p = small_params ();
  p.scorer = FUNAD_SCORER_FUNAD;
  /* The rate decays to 0 at the epoch limit: 4 epochs trained too little to tell frame 31. */
  p.epochs = 8;
  for (int taught = 0; taught < 2; taught++) {
    p.use_teacher = taught;
    FunadModel *m = contaminated_model (&p);
    if (g_test_verbose ())
      g_printerr ("%s\n", funad_model_get_metadata (m, "training_summary"));
    gboolean seen[40];
    g_assert_true (summary_frames (m, "left_out_frames", seen));
    if (taught)
      g_assert_true (seen[5] && seen[18] && seen[31]);
    funad_model_unref (m);
  }
}

/* A trainer with parameters p refuses its first frame with `message` (the parameters are
 * checked there, before any work). */
static void
assert_params_refused (const FunadTrainParams *p, const char *message)
{
  FunadTrainer *t = funad_trainer_new (p);
  guint8 rgb[W * H * 3];
  synthetic_frame (rgb, W, H, 1, FALSE, 9);
  FunadImage im = synthetic_image (rgb, W, H);
  GError *error = NULL;
  g_assert_false (funad_trainer_add_frame (t, &im, &error));
  g_assert_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT);
  g_assert_cmpstr (error->message, ==, message);
  g_error_free (error);
  funad_trainer_free (t);
}

/* FUN-AD's synthetic-anomaly and pseudo-label settings out of range are refused with a clear error. */
static void
test_synthetic_params (void)
{
  const float fractions[] = { -0.1f, 1.5f, NAN, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f };
  const float scales[] = { 0.25f, 0.25f, 0.25f, 0.f, -1.f, NAN, 0.25f, 0.25f, 0.25f };
  const float pseudo_zs[] = { 3.f, 3.f, 3.f, 3.f, 3.f, 3.f, -1.f, NAN, 101.f };
  for (guint i = 0; i < G_N_ELEMENTS (fractions); i++) {
    FunadTrainParams p = small_params ();
    p.scorer = FUNAD_SCORER_FUNAD;
    p.synthetic_fraction = fractions[i];
    p.synthetic_scale = scales[i];
    p.pseudo_label_z = pseudo_zs[i];
    assert_params_refused (&p, "a training parameter is out of range");
  }
}

/* A thread count outside the element's range (0 to 64) is refused by name: a thousand threads
 * on two cores trained ten times slower. */
static void
test_thread_count_range (void)
{
  const int counts[] = { -1, 65 };
  for (guint i = 0; i < G_N_ELEMENTS (counts); i++) {
    FunadTrainParams p = small_params ();
    p.n_threads = counts[i];
    assert_params_refused (&p, "n_threads must be 0 to 64");
  }
}

static char *
model_to_bytes (FunadModel *m, gsize *len)
{
  char *dir = g_dir_make_tmp ("funad-det-XXXXXX", NULL);
  char *path = g_build_filename (dir, "m.safetensors", NULL);
  g_assert_true (funad_model_save (m, path, NULL));
  char *bytes;
  g_assert_true (g_file_get_contents (path, &bytes, len, NULL));
  g_unlink (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
  return bytes;
}

static char *
train_to_bytes (const FunadTrainParams *p, gsize *len)
{
  FunadTrainer *t = contaminated_trainer (p);
  FunadModel *m = funad_trainer_run (t, NULL, NULL, NULL);
  g_assert_nonnull (m);
  char *bytes = model_to_bytes (m, len);
  funad_model_unref (m);
  funad_trainer_free (t);
  return bytes;
}

static void
test_deterministic (void)
{
  FunadTrainParams p = small_params ();
  p.epochs = 2;
  gsize l1, l2, l3;
  char *a = train_to_bytes (&p, &l1), *b = train_to_bytes (&p, &l2);
  g_assert_cmpmem (a, l1, b, l2);
  p.scorer = FUNAD_SCORER_FUNAD;
  char *f1 = train_to_bytes (&p, &l1), *f2 = train_to_bytes (&p, &l2);
  g_assert_cmpmem (f1, l1, f2, l2);
  g_free (f1);
  g_free (f2);
  p.scorer = FUNAD_SCORER_MEMORY_BANK;
  p.seed = 1;
  char *c = train_to_bytes (&p, &l3);
  g_assert_false (l1 == l3 && memcmp (a, c, l1) == 0);
  g_free (a);
  g_free (b);
  g_free (c);
}

/* Identical frames (every score equal) and the minimum of two frames must train, not crash. */
static void
degenerate_inputs (FunadScorerKind kind)
{
  FunadTrainParams p = small_params ();
  p.epochs = 3;
  p.scorer = kind;
  FunadTrainer *t = funad_trainer_new (&p);
  guint8 *rgb = g_new (guint8, W * H * 3);
  synthetic_frame (rgb, W, H, 1, FALSE, 6);
  for (int i = 0; i < 5; i++) {
    FunadImage im = synthetic_image (rgb, W, H);
    g_assert_true (funad_trainer_add_frame (t, &im, NULL));
  }
  GError *error = NULL;
  FunadModel *m = funad_trainer_run (t, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (isfinite (funad_model_threshold (m)));
  funad_model_unref (m);
  funad_trainer_free (t);

  t = funad_trainer_new (&p);
  for (int i = 0; i < 2; i++) {
    synthetic_frame (rgb, W, H, 10 + i, i == 1, 6);
    FunadImage im = synthetic_image (rgb, W, H);
    g_assert_true (funad_trainer_add_frame (t, &im, NULL));
  }
  m = funad_trainer_run (t, NULL, NULL, &error);
  g_assert_no_error (error);
  funad_model_unref (m);
  funad_trainer_free (t);

  t = funad_trainer_new (&p);
  FunadImage im = synthetic_image (rgb, W, H);
  g_assert_true (funad_trainer_add_frame (t, &im, NULL));
  g_assert_null (funad_trainer_run (t, NULL, NULL, &error));
  g_assert_error (error, FUNAD_ERROR, FUNAD_ERROR_TRAIN);
  g_clear_error (&error);
  funad_trainer_free (t);
  g_free (rgb);
}

static void
test_degenerate_inputs (void)
{
  degenerate_inputs (FUNAD_SCORER_MEMORY_BANK);
  degenerate_inputs (FUNAD_SCORER_FUNAD);
}

static void
cancel_at_training (const char *stage, int done, int total, const char *detail, gpointer data)
{
  if (g_str_equal (stage, "train"))
    funad_trainer_cancel (data);
}

typedef struct {
  FunadTrainer *trainer;
  const char *cancel_in;   /* the stage that cancels at its first report */
  gboolean cancelled;
  int reports_after;       /* progress reports after the cancel */
} CancelAt;

static void
cancel_at_stage (const char *stage, int done, int total, const char *detail, gpointer data)
{
  CancelAt *c = data;
  if (c->cancelled)
    c->reports_after++;
  else if (g_str_equal (stage, c->cancel_in)) {
    funad_trainer_cancel (c->trainer);
    c->cancelled = TRUE;
  }
}

static void
test_cancel (void)
{
  FunadTrainParams p = small_params ();
  p.scorer = FUNAD_SCORER_FUNAD;
  FunadTrainer *t = contaminated_trainer (&p);
  GError *error = NULL;
  g_assert_null (funad_trainer_run (t, cancel_at_training, t, &error));
  g_assert_error (error, FUNAD_ERROR, FUNAD_ERROR_CANCELLED);
  g_clear_error (&error);
  funad_trainer_free (t);

  /* The memory bank stops in whichever stage it is asked to: the leave-out scores of the
   * typical-frame rule, the bank's coreset, the threshold's scores. It used to finish every
   * stage first (minutes on real footage). At most the one report of the stage in hand
   * follows the cancel. */
  const char *stages[] = { "typical", "bank", "threshold" };
  for (int s = 0; s < 3; s++) {
    FunadTrainParams q = small_params ();
    q.typical_z = 3.f;
    t = contaminated_trainer (&q);
    CancelAt c = { t, stages[s], FALSE, 0 };
    g_assert_null (funad_trainer_run (t, cancel_at_stage, &c, &error));
    g_assert_error (error, FUNAD_ERROR, FUNAD_ERROR_CANCELLED);
    g_clear_error (&error);
    g_assert_true (c.cancelled);
    g_assert_cmpint (c.reports_after, <=, 1);
    funad_trainer_free (t);
  }
}

/* A cancelled trainer can be run again, and trains the same model as a fresh one: the cancel
 * flag stayed set, and every later run failed at once. A cancel made before a run stops that
 * run, and only that one. */
static void
test_run_again_after_cancel (void)
{
  FunadTrainParams p = small_params ();
  p.typical_z = 3.f;
  FunadTrainer *t = contaminated_trainer (&p);
  GError *error = NULL;
  CancelAt c = { t, "bank", FALSE, 0 };

  g_assert_null (funad_trainer_run (t, cancel_at_stage, &c, &error));
  g_assert_error (error, FUNAD_ERROR, FUNAD_ERROR_CANCELLED);
  g_clear_error (&error);
  funad_trainer_cancel (t);
  g_assert_null (funad_trainer_run (t, NULL, NULL, &error));
  g_assert_error (error, FUNAD_ERROR, FUNAD_ERROR_CANCELLED);
  g_clear_error (&error);

  FunadModel *m = funad_trainer_run (t, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (m);
  gsize again_len, fresh_len;
  char *again = model_to_bytes (m, &again_len);
  char *fresh = train_to_bytes (&p, &fresh_len);
  g_assert_cmpmem (again, again_len, fresh, fresh_len);
  g_free (again);
  g_free (fresh);
  funad_model_unref (m);
  funad_trainer_free (t);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/trainer/finds-defects", test_finds_defects);
  g_test_add_func ("/trainer/small-bank-threshold", test_small_bank_threshold);
  g_test_add_func ("/trainer/typical-images", test_typical_images);
  g_test_add_func ("/trainer/appearance-reference", test_appearance_reference);
  g_test_add_func ("/trainer/bank-floors", test_bank_floors);
  g_test_add_func ("/trainer/bank-floors-without-unit", test_bank_floors_without_unit);
  g_test_add_func ("/trainer/funad-learns", test_funad_learns);
  g_test_add_func ("/trainer/funad-pseudo-label-rules", test_funad_pseudo_label_rules);
  g_test_add_func ("/trainer/funad-pseudo-label-gate", test_funad_pseudo_label_gate);
  g_test_add_func ("/trainer/funad-teacher", test_funad_teacher);
  g_test_add_func ("/trainer/synthetic-params", test_synthetic_params);
  g_test_add_func ("/trainer/thread-count-range", test_thread_count_range);
  g_test_add_func ("/trainer/deterministic", test_deterministic);
  g_test_add_func ("/trainer/degenerate", test_degenerate_inputs);
  g_test_add_func ("/trainer/cancel", test_cancel);
  g_test_add_func ("/trainer/run-again-after-cancel", test_run_again_after_cancel);
  return g_test_run ();
}
