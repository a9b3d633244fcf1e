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
/* Values GOption takes but no tool can use: "inf" and "nan" for a G_OPTION_ARG_DOUBLE option,
 * "" for a G_OPTION_ARG_FILENAME(_ARRAY) one (the inputs too). The first one found in entries
 * (ended by a NULL long_name) is reported as cli_fail does, and TRUE returned; FALSE when there
 * is none. Every tool with such options calls it right after parsing them. */
gboolean cli_fail_bad_values (const GOptionEntry *entries);

#endif
