/* trainer-feed.h — funad-train's decoded frames into the trainer.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A frame the trainer cannot use is skipped with a warning and reading goes on. Once the
 * trainer holds as many frames as it can at this size (about 16 GB of them), every later frame
 * would be refused the same way: that is said once, and the reader stops, to train on the
 * frames kept.
 */
#ifndef TRAINER_FEED_H
#define TRAINER_FEED_H

#include <glib.h>

#include "frame-source.h"
#include "funad.h"
#include "progress.h"

G_BEGIN_DECLS

typedef enum {
  TRAINER_FEED_ADDED,     /* kept */
  TRAINER_FEED_UNUSABLE,  /* skipped with a warning; read on */
  TRAINER_FEED_FULL       /* not kept, and no later frame would be: warned; read no more */
} TrainerFeedResult;

/* Adds image (from info) to trainer; warnings go to stderr after progress's line. */
TrainerFeedResult trainer_feed_frame (FunadTrainer *trainer, const FunadImage *image,
                                      const FrameInfo *info, Progress *progress);

G_END_DECLS

#endif /* TRAINER_FEED_H */
