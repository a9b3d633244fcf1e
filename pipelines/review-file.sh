#!/usr/bin/env bash
# review-file.sh — a recorded video reviewed into an annotated copy: heat map and outline of
# the anomalous regions drawn on every frame, one JSON line per frame beside it.
#
# Copyright (C) 2026 funad contributors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# usage: pipelines/review-file.sh INPUT MODEL OUTPUT [RESULTS]
# The output is H.264 in MP4 when x264enc (gst-plugins-ugly) is installed and OUTPUT ends in
# .mp4; otherwise Motion JPEG in Matroska (.mkv) or AVI (.avi), from gst-plugins-good, which
# every GStreamer install has. RESULTS defaults to OUTPUT with .jsonl. An existing OUTPUT is
# replaced only with FORCE=1, and only by a run that succeeds; an existing RESULTS only when it
# holds JSON lines (or nothing).
# settings from the environment: OVERLAY (both), COLORMAP (inferno), FORCE (0), FUNAD_BUILD
set -eu
. "$(dirname "$0")/common.sh"
[ $# -ge 3 ] || { echo "usage: $0 INPUT MODEL OUTPUT [RESULTS]" >&2; exit 2; }
input=$1
model=$2
output=$3
results=${4:-${output%.*}.jsonl}
overlay=${OVERLAY:-both}
colormap=${COLORMAP:-inferno}
check_overlay "$overlay"
check_colormap "$colormap"
check_input INPUT "$input"
check_model "$model"

case "$output" in
  *.mp4)
    if gst-inspect-1.0 x264enc >/dev/null 2>&1; then
      encode=(x264enc ! h264parse ! mp4mux)
    else
      echo "x264enc is not installed: writing Motion JPEG into ${output%.*}.mkv instead" >&2
      output=${output%.*}.mkv
      encode=(jpegenc ! matroskamux)
    fi ;;
  *.avi) encode=(jpegenc ! avimux) ;;
  *) encode=(jpegenc ! matroskamux) ;;
esac
check_output OUTPUT "$output" INPUT "$input" MODEL "$model"
check_output RESULTS "$results" INPUT "$input" MODEL "$model" OUTPUT "$output"
check_new_video OUTPUT "$output"
check_results_file RESULTS "$results"
start_results_file "$results"

# The copy is written beside OUTPUT under a temporary name and renamed over it only when the
# pipeline succeeds: a failed run leaves no partial OUTPUT, and (FORCE=1) the earlier copy is
# kept until the new one is whole.
target=$output
if [ "${FUNAD_PRINT_PIPELINE:-0}" != 1 ]; then
  target=$(mktemp "$(dirname -- "$output")/.$(basename -- "$output").XXXXXX") ||
    die "cannot write beside OUTPUT '$output'"
  trap 'rm -f -- "$target"' EXIT
  chmod "$(printf '%o' $((0666 & ~0$(umask))))" -- "$target"
fi
run_pipeline filesrc location="$input" ! decodebin ! videoconvert ! \
  funaddetect model="$model" overlay="$overlay" colormap="$colormap" \
  results-location="$results" ! videoconvert ! "${encode[@]}" ! filesink location="$target"
if [ "$target" != "$output" ]; then
  mv -f -- "$target" "$output"
fi
