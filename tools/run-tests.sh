#!/usr/bin/env bash
# Builds funad and runs every test, in four stages:
#   1. build/ (the default compiler): every meson suite: core, element, load (eight pipelines
#      in one process, a 3,000-frame memory soak), fuzz (the seed corpus replayed), e2e, review
#   2. build-asan/ (clang, AddressSanitizer + UndefinedBehaviorSanitizer): the same suites
#   3. fuzz smoke: each libFuzzer target for 60 s (tools/fuzz.sh)
#   4. ThreadSanitizer: eight threads sharing one model (tools/tsan-check.sh)
# With arguments, only stage 1 runs, and they go to `meson test` (e.g. --suite core).
set -eu
cd "$(dirname "$0")/.."
stage () {
  echo "=== run-tests: $1"
  stage_start=$SECONDS
}
stage_done () {
  echo "=== run-tests: $1 passed in $((SECONDS - stage_start)) s"
}

stage "1/4 build/ and every test"
[ -f build/build.ninja ] || meson setup build
meson compile -C build
meson test -C build --print-errorlogs "$@"
stage_done "1/4"
[ $# -eq 0 ] || exit 0

stage "2/4 every test under ASan + UBSan (build-asan/)"
tools/asan-build.sh
# The first test to load the plugin would build the registry in its own process
# (GST_REGISTRY_FORK=no), and LeakSanitizer would then report what an uninstrumented plugin's
# init keeps (16 kB, seen on every fresh clone, never with a registry already there). Build it
# once beforehand, without leak checks.
GST_REGISTRY=build-asan/tests/registry.bin GST_PLUGIN_PATH=build-asan/gst GST_REGISTRY_FORK=no \
  LD_PRELOAD="$(clang-14 -print-file-name=libclang_rt.asan-x86_64.so)" \
  ASAN_OPTIONS=detect_leaks=0 gst-inspect-1.0 funaddetect > /dev/null
# Sanitized code runs several times slower: test-e2e took 460 s of its 600 on an idle 2-core
# machine and timed out on a busy one, so the sanitized stage gets twice the time limits.
meson test -C build-asan --print-errorlogs --timeout-multiplier 2
stage_done "2/4"

stage "3/4 fuzz smoke, 60 s per target"
tools/fuzz.sh 60
stage_done "3/4"

stage "4/4 ThreadSanitizer, one model shared by eight threads"
tools/tsan-check.sh
stage_done "4/4"
