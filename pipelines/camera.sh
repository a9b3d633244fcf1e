#!/usr/bin/env bash
# camera.sh — live anomaly detection on a V4L2 camera, heat map and outline on screen, the
# per-frame messages printed (gst-launch -m shows them when MESSAGES=1).
#
# Copyright (C) 2026 funad contributors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# usage: pipelines/camera.sh MODEL [DEVICE]      (default DEVICE: /dev/video0)
# settings from the environment: INTERVAL (score every Nth frame, 1), OVERLAY (both),
# WIDTH x HEIGHT (640 x 480), FUNAD_BUILD (build folder)
set -eu
. "$(dirname "$0")/common.sh"
[ $# -ge 1 ] || { echo "usage: $0 MODEL [DEVICE]" >&2; exit 2; }
model=$1
device=${2:-/dev/video0}
interval=${INTERVAL:-1}
overlay=${OVERLAY:-both}
width=${WIDTH:-640}
height=${HEIGHT:-480}
check_count INTERVAL "$interval"
check_overlay "$overlay"
check_whole WIDTH "$width" 1 32768
check_whole HEIGHT "$height" 1 32768
check_model "$model"

# A leaky queue drops frames when scoring falls behind, so the picture stays live
# (funaddetect itself never drops: QoS is off so that every frame it sees is scored).
run_pipeline v4l2src device="$device" ! videoconvert ! videoscale ! \
  "video/x-raw,width=$width,height=$height" ! \
  queue leaky=downstream max-size-buffers=2 ! \
  funaddetect model="$model" overlay="$overlay" inference-interval="$interval" ! \
  videoconvert ! autovideosink sync=false
