/* progress.h — progress of a long run on stderr: a bar on a terminal, plain lines in a log.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * On a terminal one line is rewritten in place: stage, bar, percent, rate and time left. When
 * stderr is a file or a pipe (a service log, CI), a plain line is written when a stage starts,
 * when it ends, and at most every PROGRESS_LOG_INTERVAL_S seconds between.
 */
#ifndef PROGRESS_H
#define PROGRESS_H

#include <glib.h>

G_BEGIN_DECLS

#define PROGRESS_LOG_INTERVAL_S 5

typedef struct _Progress Progress;

/* prog prefixes every line; a disabled progress prints nothing. */
Progress *progress_new (const char *prog, gboolean enabled);
void progress_free (Progress *progress);

/* done of total units (total 0: unknown, no bar or time left); unit names them ("frames"). */
void progress_update (Progress *progress, const char *stage, guint64 done, guint64 total,
                      const char *unit);

/* Ends the terminal line, so other messages start on a fresh one. */
void progress_break_line (Progress *progress);

G_END_DECLS

#endif /* PROGRESS_H */
