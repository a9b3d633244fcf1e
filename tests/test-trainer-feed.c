/* test-trainer-feed.c — funad-train's frames into the trainer (tools/trainer-feed.c): an
 * unusable frame is skipped with a warning and reading goes on; a full trainer is reported
 * once and reading stops, and the frames kept still train a model. The trainer's real limit
 * (G_MAXUINT floats, about 16 GB of frames) is lowered to three 32 x 32 grey frames' worth. */
#include <string.h>
#include "funad-private.h"
#include "synthetic-frames.h"
#include "trainer-feed.h"

enum { SIDE = 32, KEPT = 3 };

/* Once full, every later frame was refused with its own "skipped" warning, a flood for the
 * rest of the footage, and the reader read on to the end. */
static void
test_full_trainer_stops_reading (void)
{
  if (g_test_subprocess ()) {
    FunadTrainParams p = funad_train_default_params ();
    p.input_size = SIDE;
    p.dict_size = 8;
    p.fit_patches = 2000;
    FunadTrainer *t = funad_trainer_new (&p);
    Progress *progress = progress_new ("test", FALSE);
    guint8 rgb[40 * 40 * 3];
    FunadImage empty = synthetic_image (rgb, 0, 0);
    FrameInfo info = { "footage.avi", 0, G_MAXUINT64, G_MAXUINT64 };
    TrainerFeedResult result;
    int offered = 0;

    /* room for KEPT builtin (grey) frames and part of another */
    funad_trainer_set_max_values (t, KEPT * SIDE * SIDE + SIDE * SIDE / 2);
    g_assert_cmpint (trainer_feed_frame (t, &empty, &info, progress), ==,
                     TRAINER_FEED_UNUSABLE);
    /* as funad-train reads: on until the feed says stop (here at most ten frames) */
    do {
      synthetic_frame (rgb, 40, 40, offered, FALSE, 3);
      FunadImage im = synthetic_image (rgb, 40, 40);
      info.index = ++offered;
      result = trainer_feed_frame (t, &im, &info, progress);
    } while (result != TRAINER_FEED_FULL && offered < 10);
    g_assert_cmpint (result, ==, TRAINER_FEED_FULL);
    g_assert_cmpint (offered, ==, KEPT + 1);
    g_assert_cmpint (funad_trainer_n_frames (t), ==, KEPT);

    GError *error = NULL;
    FunadModel *m = funad_trainer_run (t, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_nonnull (m);
    funad_model_unref (m);
    funad_trainer_free (t);
    progress_free (progress);
    return;
  }
  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*warning: skipped footage.avi frame 0: frame of unusable size*");
  g_test_trap_assert_stderr ("*warning: stopped reading at footage.avi frame 4: too many "
                             "training frames at this size (3 kept); use fewer frames "
                             "(--max-frames, --every); training on the frames kept\n*");
  /* said once: no other warning about the limit */
  g_test_trap_assert_stderr_unmatched ("*too many*too many*");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/trainer-feed/full-trainer-stops-reading", test_full_trainer_stops_reading);
  return g_test_run ();
}
