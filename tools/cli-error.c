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

/* The first G_OPTION_ARG_DOUBLE option holding inf or NaN, as a message; NULL when none. */
static char *
non_finite_message (const GOptionEntry *e)
{
  if (e->arg != G_OPTION_ARG_DOUBLE || isfinite (*(const double *) e->arg_data))
    return NULL;
  return g_strdup_printf ("--%s must be a finite number, not %g", e->long_name,
                          *(const double *) e->arg_data);
}

/* A path option given as "" (an unset shell variable, say), as a message; NULL when none.
 * "" would otherwise reach the file system as a name: funad-train -o "" trained for minutes
 * and then failed to write. */
static char *
empty_path_message (const GOptionEntry *e)
{
  if (e->arg == G_OPTION_ARG_FILENAME) {
    const char *value = *(char **) e->arg_data;
    if (value && !value[0])
      return g_strdup_printf ("--%s is an empty path", e->long_name);
  } else if (e->arg == G_OPTION_ARG_FILENAME_ARRAY) {
    char **values = *(char ***) e->arg_data;
    for (int i = 0; values && values[i]; i++)
      if (!values[i][0])
        return e->long_name[0] ? g_strdup_printf ("--%s is an empty path", e->long_name)
                               : g_strdup ("an input is an empty path");
  }
  return NULL;
}

gboolean
cli_fail_bad_values (const GOptionEntry *entries)
{
  for (const GOptionEntry *e = entries; e->long_name; e++) {
    char *message = non_finite_message (e);
    if (!message)
      message = empty_path_message (e);
    if (message) {
      cli_fail (message);
      g_free (message);
      return TRUE;
    }
  }
  return FALSE;
}
