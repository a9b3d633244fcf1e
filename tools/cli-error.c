/* cli-error.c — the one-line error every funad tool prints when it gives up.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
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
