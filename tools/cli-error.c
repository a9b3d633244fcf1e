/* cli-error.c — the one-line error every funad tool prints when it gives up.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <math.h>
#include <stdlib.h>

#include "cli-error.h"

int
cli_fail (const char *message)
{
  g_printerr ("%s: error: %s\n", g_get_prgname (), message);
  return EXIT_FAILURE;
}

int
cli_fail_error (GError *error)
{
  int rc = cli_fail (error->message);
  g_error_free (error);
  return rc;
}

gboolean
cli_fail_non_finite (const GOptionEntry *entries)
{
  for (const GOptionEntry *e = entries; e->long_name; e++) {
    if (e->arg != G_OPTION_ARG_DOUBLE || isfinite (*(const double *) e->arg_data))
      continue;
    char *message = g_strdup_printf ("--%s must be a finite number, not %g", e->long_name,
                                     *(const double *) e->arg_data);
    cli_fail (message);
    g_free (message);
    return TRUE;
  }
  return FALSE;
}
