#!/usr/bin/env bash
# Builds funad in build/ and runs every test (core, element, end-to-end).
set -eu
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || meson setup build
meson compile -C build
meson test -C build --print-errorlogs "$@"
