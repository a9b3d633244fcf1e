/* progress.c — progress of a long run on stderr: a bar on a terminal, plain lines in a log.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "progress.h"

#include <unistd.h>

#define BAR_WIDTH 24
/* A terminal line is redrawn at most this often: drawing every frame would cost more than
 * some stages' work. */
#define TTY_INTERVAL_US (G_USEC_PER_SEC / 10)

struct _Progress {
  char *prog;
  gboolean enabled, on_tty, line_open;
  char *stage;
  gint64 stage_start, last_print;
};

Progress *
progress_new (const char *prog, gboolean enabled)
{
  Progress *p = g_new0 (Progress, 1);

  p->prog = g_strdup (prog);
  p->enabled = enabled;
  p->on_tty = isatty (STDERR_FILENO);
  return p;
}

void
progress_break_line (Progress *p)
{
  if (p->line_open) {
    g_printerr ("\n");
    p->line_open = FALSE;
  }
}

void
progress_free (Progress *p)
{
  if (!p)
    return;
  progress_break_line (p);
  g_free (p->prog);
  g_free (p->stage);
  g_free (p);
}

static void
format_duration (double seconds, char *buf, gsize size)
{
  int s = (int) (seconds + 0.5);

  if (s >= 3600)
    g_snprintf (buf, size, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
  else
    g_snprintf (buf, size, "%d:%02d", s / 60, s % 60);
}

void
progress_update (Progress *p, const char *stage, guint64 done, guint64 total, const char *unit)
{
  if (!p->enabled)
    return;

  gint64 now = g_get_monotonic_time ();
  gboolean new_stage = g_strcmp0 (stage, p->stage) != 0;
  gboolean finished = total > 0 && done >= total;

  if (new_stage) {
    progress_break_line (p);
    g_free (p->stage);
    p->stage = g_strdup (stage);
    p->stage_start = now;
  }
  if (!new_stage && !finished &&
      now - p->last_print < (p->on_tty ? TTY_INTERVAL_US : PROGRESS_LOG_INTERVAL_S * G_USEC_PER_SEC))
    return;
  p->last_print = now;

  double elapsed = (now - p->stage_start) / 1e6;
  double rate = elapsed > 0.05 ? done / elapsed : 0.0;
  GString *line = g_string_new (NULL);

  g_string_append_printf (line, "%s: %-10s", p->prog, stage);
  if (total > 0) {
    int percent = (int) (100 * MIN (done, total) / total);

    if (p->on_tty) {
      int filled = (int) (BAR_WIDTH * MIN (done, total) / total);
      g_string_append (line, " [");
      for (int i = 0; i < BAR_WIDTH; i++)
        g_string_append_c (line, i < filled ? '#' : '.');
      g_string_append (line, "]");
    }
    g_string_append_printf (line, " %3d%% %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " %s",
                            percent, done, total, unit);
  } else {
    g_string_append_printf (line, " %" G_GUINT64_FORMAT " %s", done, unit);
  }
  if (rate > 0)
    g_string_append_printf (line, ", %.1f/s", rate);
  if (total > 0 && rate > 0 && !finished) {
    char eta[32];
    format_duration ((total - done) / rate, eta, sizeof eta);
    g_string_append_printf (line, ", %s left", eta);
  } else if (finished) {
    char took[32];
    format_duration (elapsed, took, sizeof took);
    g_string_append_printf (line, ", took %s", took);
  }

  if (p->on_tty) {
    g_printerr ("\r\033[K%s", line->str);
    p->line_open = TRUE;
    if (finished)
      progress_break_line (p);
  } else {
    g_printerr ("%s\n", line->str);
  }
  g_string_free (line, TRUE);
}
