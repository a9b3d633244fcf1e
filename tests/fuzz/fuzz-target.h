/* fuzz-target.h — what every fuzz target defines, for libFuzzer and for fuzz-main.c. */
#ifndef FUZZ_TARGET_H
#define FUZZ_TARGET_H

#include <glib.h>
#include <stddef.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

#endif
