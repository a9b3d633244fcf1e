/* trainer-feed.c — funad-train's decoded frames into the trainer.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "trainer-feed.h"

TrainerFeedResult
trainer_feed_frame (FunadTrainer *trainer, const FunadImage *image, const FrameInfo *info,
                    Progress *progress)
{
  GError *error = NULL;
  TrainerFeedResult result = TRAINER_FEED_ADDED;

  if (funad_trainer_add_frame (trainer, image, &error))
    return result;
  progress_break_line (progress);
  if (g_error_matches (error, FUNAD_ERROR, FUNAD_ERROR_TRAIN)) {
    /* Full: every later frame would be refused the same way, each with its own warning. */
    g_printerr ("%s: warning: stopped reading at %s frame %" G_GUINT64_FORMAT ": %s; training "
                "on the frames kept\n", g_get_prgname (), info->path, info->index,
                error->message);
    result = TRAINER_FEED_FULL;
  } else {
    /* One unusable frame is skipped and counted, never fatal. */
    g_printerr ("%s: warning: skipped %s frame %" G_GUINT64_FORMAT ": %s\n", g_get_prgname (),
                info->path, info->index, error->message);
    result = TRAINER_FEED_UNUSABLE;
  }
  g_error_free (error);
  return result;
}
