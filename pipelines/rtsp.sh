#!/usr/bin/env bash
# rtsp.sh — anomaly detection on an RTSP camera, shown on screen with the heat map, anomaly
# begin/end events in a JSON-lines file as well as per-frame results.
#
# Copyright (C) 2026 funad contributors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# usage: pipelines/rtsp.sh URL MODEL [RESULTS]    (default RESULTS: rtsp-scores.jsonl)
# settings from the environment: LATENCY (ms, 200), INTERVAL (score every Nth frame, 1),
# FUNAD_BUILD (build folder). Decoding uses decodebin: an H.264 decoder (avdec_h264 from
# gst-libav, or openh264dec) must be installed for H.264 cameras.
set -eu
. "$(dirname "$0")/common.sh"
[ $# -ge 2 ] || { echo "usage: $0 URL MODEL [RESULTS]" >&2; exit 2; }
url=$1
model=$2
results=${3:-rtsp-scores.jsonl}
interval=${INTERVAL:-1}
latency=${LATENCY:-200}
check_count INTERVAL "$interval"
check_whole LATENCY "$latency" 0 4294967295
check_model "$model"
check_output RESULTS "$results" MODEL "$model"

run_pipeline rtspsrc location="$url" latency="$latency" ! decodebin ! \
  videoconvert ! queue leaky=downstream max-size-buffers=2 ! \
  funaddetect model="$model" inference-interval="$interval" \
  results-location="$results" ! videoconvert ! autovideosink sync=false
