#!/usr/bin/env bash
# json-log.sh — score a recording as fast as the CPU allows, nothing drawn (the element is in
# passthrough), one JSON line per frame: {"frame","pts","running_time","score","threshold",
# "anomaly","scored"} ("scored": false on the frames INTERVAL skips, which repeat the last
# score).
#
# Copyright (C) 2026 funad contributors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# usage: pipelines/json-log.sh INPUT MODEL LOG
# An existing LOG is replaced only when it holds JSON lines (or nothing).
# settings from the environment: INTERVAL (score every Nth frame, 1), FUNAD_BUILD
set -eu
. "$(dirname "$0")/common.sh"
[ $# -ge 3 ] || { echo "usage: $0 INPUT MODEL LOG" >&2; exit 2; }
input=$1
model=$2
log=$3
interval=${INTERVAL:-1}
check_count INTERVAL "$interval"
check_input INPUT "$input"
check_model "$model"
check_output LOG "$log" INPUT "$input" MODEL "$model"
check_results_file LOG "$log"
start_results_file "$log"

run_pipeline filesrc location="$input" ! decodebin ! videoconvert ! \
  funaddetect model="$model" overlay=none inference-interval="$interval" \
  post-messages=false results-location="$log" ! fakesink
