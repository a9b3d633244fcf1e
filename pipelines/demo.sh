#!/usr/bin/env bash
# demo.sh — funad end to end on footage it makes itself: make a conveyor video, train a model
# on it (no labels; the footage is contaminated with defective parts on purpose), then score
# the test video in a GStreamer pipeline that writes an annotated video and per-frame results.
#
# Copyright (C) 2026 funad contributors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# usage: pipelines/demo.sh [WORKDIR]        (default WORKDIR: demo-out)
# settings from the environment: FUNAD_BUILD (build folder, default build), SEED (1),
# SIZE (model input size, 224), SCORER (memory-bank or funad, memory-bank), EPOCHS (FUN-AD's
# training epoch limit, 8), FRAMES (160), TEST_FRAMES (80), CONTAMINATION (0.05)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUNAD_BUILD:-$root/build}
work=${1:-demo-out}
seed=${SEED:-1}
size=${SIZE:-224}
scorer=${SCORER:-memory-bank}
epochs=${EPOCHS:-8}
frames=${FRAMES:-160}
test_frames=${TEST_FRAMES:-80}
contamination=${CONTAMINATION:-0.05}

step() { printf '\n== %s\n' "$*" >&2; }

# 1. Build (meson compile is quick when nothing changed).
if [ ! -f "$build/build.ninja" ]; then
  step "configuring $build"
  meson setup "$build" "$root" >&2
fi
step "building"
meson compile -C "$build" >&2

mkdir -p "$work"

# 2. Footage: train.avi (contaminated), test.avi and its per-frame labels.
step "making footage in $work"
"$build/tools/funad-make-demo" -o "$work" --seed "$seed" --frames "$frames" \
  --test-frames "$test_frames" --contamination "$contamination"

# 3. Train on train.avi only; no labels are used.
step "training $work/model.safetensors"
"$build/tools/funad-train" -o "$work/model.safetensors" --seed "$seed" --size "$size" \
  --scorer "$scorer" $([ "$scorer" = funad ] && echo --epochs "$epochs") "$work/train.avi"

# 4. Score test.avi: heat-map overlay into annotated.avi, one JSON line per frame into
#    scores.jsonl (the element appends, so start from an empty file).
step "scoring $work/test.avi"
rm -f "$work/scores.jsonl"
GST_PLUGIN_PATH="$build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}" gst-launch-1.0 -q \
  filesrc location="$work/test.avi" ! decodebin ! videoconvert ! \
  funaddetect model="$work/model.safetensors" results-location="$work/scores.jsonl" ! \
  videoconvert ! jpegenc ! avimux ! filesink location="$work/annotated.avi"

# 5. Summary: flagged frames against the generator's labels (which training never saw).
step "results"
awk -F, 'NR == FNR { if (FNR > 1) label[$1] = $2; next }
  {
    match($0, /"frame":[0-9]+/); frame = substr($0, RSTART + 8, RLENGTH - 8)
    scored++
    if (label[frame] == 1) defective++
    if ($0 ~ /"anomaly":true/) { flagged++; if (label[frame] == 1) hits++ }
  }
  END {
    printf "frames scored:  %d (%d show a defect, by the generator'"'"'s labels)\n", scored, defective
    printf "frames flagged: %d (%d of them show a defect)\n", flagged, hits
  }' "$work/test-labels.csv" "$work/scores.jsonl"
cat <<INFO
annotated video: $work/annotated.avi
per-frame JSON:  $work/scores.jsonl
labels:          $work/test-labels.csv
model:           $work/model.safetensors
INFO
