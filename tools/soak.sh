#!/usr/bin/env bash
# The long soak: FRAMES (default 100000) 160x120 frames through funaddetect, every feature on,
# printing resident memory every 5000 frames; fails if it grows more than 1 MB after the
# first 10%. A small model is trained on synthetic frames first (a second or two).
#   tools/soak.sh [FRAMES] [funad-soak options...]      e.g. nice -n 10 tools/soak.sh
set -eu
cd "$(dirname "$0")/.."
frames=${1:-100000}
shift || true
[ -f build/build.ninja ] || meson setup build
meson compile -C build >/dev/null
export GST_PLUGIN_PATH=$PWD/build/gst GST_REGISTRY=$PWD/build/tests/registry.bin
exec build/tests/funad-soak --frames "$frames" --every 5000 --max-growth-kb 1024 "$@"
