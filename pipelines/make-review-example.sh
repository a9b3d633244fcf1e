#!/usr/bin/env bash
# Makes pipelines/review-example.png: demo footage (seed 3), a model trained on its contaminated
# training video, funad-review over the test video, and a headless-Chromium screenshot of the
# report (tools/review-screenshot.sh; needs Debian's chromium package).
# usage: pipelines/make-review-example.sh [WORKDIR]     (build/ must be built)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
tools=$root/build/tools
work=${1:-$(mktemp -d)}
"$tools/funad-make-demo" -q -o "$work" --seed 3 --test-frames 240
"$tools/funad-train" -q -o "$work/model.safetensors" --size 128 --seed 1 "$work/train.avi"
cp "$work/test.avi" "$work/line3-shift1.avi"
"$tools/funad-review" -q --model "$work/model.safetensors" -o "$work/review" \
  "$work/line3-shift1.avi"
"$root/tools/review-screenshot.sh" "$work/review" "$root/pipelines/review-example.png" 1280x1050
echo "wrote $root/pipelines/review-example.png (report in $work/review)"
