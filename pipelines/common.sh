# common.sh — sourced by the funaddetect example scripts in pipelines/.
#
# Copyright (C) 2026 funad contributors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run_pipeline DESCRIPTION: runs it with gst-launch-1.0 (-e: Ctrl-C ends files cleanly), the
# plugin taken from $FUNAD_BUILD/gst (default: build/gst beside this folder). With
# FUNAD_PRINT_PIPELINE=1 it only prints the description (the tests parse it).

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FUNAD_BUILD:-$root/build}
export GST_PLUGIN_PATH="$build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"

run_pipeline() {
  if [ "${FUNAD_PRINT_PIPELINE:-0}" = 1 ]; then
    printf '%s\n' "$1"
    return 0
  fi
  # word splitting of the description is wanted: gst-launch takes it as arguments
  # shellcheck disable=SC2086
  eval "gst-launch-1.0 -e $1"
}

# quote a value for a gst-launch description (paths with spaces)
q() { printf '"%s"' "$1"; }
