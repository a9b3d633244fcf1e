#!/usr/bin/env bash
# ThreadSanitizer check of the thread-safety contract in core/funad.h: eight threads score
# with one shared FunadModel, each with its own FunadScorer, alone and with two threads of
# its own (tests/test-load.c), and a
# pretrained trunk's layers run in parts on a scorer's threads (tests/test-pretrained.c); any
# report fails. Builds build-tsan/ with clang.
#   tools/tsan-check.sh [--pipelines]
# --pipelines also runs the eight funaddetect pipelines and counts the reports, for reading:
# GLib's GMutex is futex-based and GLib/GStreamer are not instrumented, so TSan cannot see
# the locks of GstBus, GstPad and GQuark tables and reports races inside them.
set -eu
cd "$(dirname "$0")/.."
if [ ! -f build-tsan/build.ninja ]; then
  CC=clang-14 meson setup build-tsan -Dbuildtype=debugoptimized -Db_sanitize=thread \
    -Db_lundef=false >/dev/null
fi
meson compile -C build-tsan test-load test-pretrained gstfunad >/dev/null
export GST_REGISTRY_FORK=no GST_PLUGIN_PATH=$PWD/build-tsan/gst \
  GST_REGISTRY=$PWD/build-tsan/tests/registry.bin OPENBLAS_NUM_THREADS=1 G_SLICE=always-malloc
# (the banded scorers hand their parts to GLib's thread pool: the suppression below)
TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$PWD/tools/tsan-suppressions.txt" \
  build-tsan/tests/test-load -p /load/eight-threads-share-one-model \
  -p /load/eight-banded-scorers-share-one-model
echo "tsan-check: eight threads sharing one model, alone and each with two threads of its own" \
  "(bands, the appearance term's blocks): no report"
# A pretrained trunk's layers shared among a scorer's threads (the fixtures, 5 threads).
FUNAD_FIXTURES=$PWD/tests/fixtures \
  TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$PWD/tools/tsan-suppressions.txt" \
  build-tsan/tests/test-pretrained -p /pretrained/mobilenetv2 -p /pretrained/resnet18 >/dev/null
echo "tsan-check: pretrained layers shared among threads: no report"
if [ "${1:-}" = --pipelines ]; then
  log=build-tsan/tsan-pipelines.log
  TSAN_OPTIONS="halt_on_error=0 report_signal_unsafe=0" \
    build-tsan/tests/test-load -p /load/eight-pipelines >"$log" 2>&1 || true
  echo "tsan-check: eight pipelines: $(grep -c 'WARNING: ThreadSanitizer' "$log") reports," \
    "$(grep -c 'SUMMARY.*\(core\|gst\)/' "$log") of them in funad code; details in $log"
fi
