#!/usr/bin/env bash
# Builds funad in build-asan/ with clang, AddressSanitizer and UndefinedBehaviorSanitizer (any
# report aborts), and the libFuzzer targets of tests/fuzz. Used by run-tests.sh and fuzz.sh.
set -eu
cd "$(dirname "$0")/.."
if [ ! -f build-asan/build.ninja ]; then
  CC=clang-14 meson setup build-asan -Dbuildtype=debugoptimized -Dfuzzing=true \
    -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args=-fno-sanitize-recover=all -Dc_link_args=-fno-sanitize-recover=all
fi
meson compile -C build-asan
