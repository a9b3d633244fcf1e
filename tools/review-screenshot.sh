#!/bin/sh
# review-screenshot.sh — renders a funad-review report in headless Chromium and saves a PNG, to
# check by eye (or in a test) that the page draws as meant, offline.
#
# Copyright (C) 2026 funad contributors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
#   tools/review-screenshot.sh REPORT_DIR [OUTPUT.png] [WIDTHxHEIGHT]
#
# REPORT_DIR is a folder funad-review wrote (it holds index.html); OUTPUT.png defaults to
# REPORT_DIR/screenshot.png, the window to 1280x2000. Needs Chromium (Debian: apt-get install
# chromium); this script installs nothing. Chromium runs with a throw-away profile and with its
# background networking off, so the screenshot also shows that the page needs no network.
# Set CHROMIUM to use another binary.
set -eu

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  echo "usage: $0 REPORT_DIR [OUTPUT.png] [WIDTHxHEIGHT]" >&2
  exit 2
fi
report_dir=$1
output=${2:-$report_dir/screenshot.png}
size=${3:-1280x2000}
chromium=${CHROMIUM:-/usr/bin/chromium}

if [ ! -f "$report_dir/index.html" ]; then
  echo "review-screenshot: error: $report_dir/index.html does not exist" >&2
  exit 1
fi
if [ ! -x "$chromium" ]; then
  echo "review-screenshot: error: $chromium not found (Debian: apt-get install chromium)" >&2
  exit 1
fi

page=$(cd "$report_dir" && pwd)/index.html
case $output in
  /*) ;;
  *) output=$(pwd)/$output ;;
esac
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT INT TERM

# --no-sandbox: containers and CI run as root, where Chromium's sandbox refuses to start.
# timeout: a wedged browser must not hang a test run.
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
  --user-data-dir="$profile" --window-size="$(echo "$size" | tr x ,)" \
  --screenshot="$output" "file://$page" >/dev/null 2>&1 || {
  echo "review-screenshot: error: chromium failed to render $page" >&2
  exit 1
}
if [ ! -s "$output" ]; then
  echo "review-screenshot: error: chromium wrote no screenshot to $output" >&2
  exit 1
fi
echo "$output"
