/* cli-error.h — how every funad tool reports a failure: one line "<tool>: error: <why>" on
 * stderr, <tool> being the program name the tool set with g_set_prgname().
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef CLI_ERROR_H
#define CLI_ERROR_H

#include <glib.h>

/* Prints the line and returns EXIT_FAILURE, so a tool can `return cli_fail (...)`. */
int cli_fail (const char *message);
/* The same with error's message; frees error. */
int cli_fail_error (GError *error);
/* GOption takes "inf" and "nan" for numbers: the first G_OPTION_ARG_DOUBLE option in entries
 * (ended by a NULL long_name) holding one is reported as cli_fail does, and TRUE returned;
 * FALSE when all are finite. Every tool calls it right after parsing its options. */
gboolean cli_fail_non_finite (const GOptionEntry *entries);

#endif
