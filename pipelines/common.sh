# shellcheck shell=bash
# common.sh — sourced by the funaddetect example scripts in pipelines/.
#
# Copyright (C) 2026 funad contributors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run_pipeline WORD...: runs gst-launch-1.0 -e WORD... (-e: Ctrl-C ends files cleanly), the
# plugin taken from $FUNAD_BUILD/gst (default: build/gst beside this folder). Each argument is
# one gst-launch word, passed as it is: a property value with spaces or shell characters in it
# goes as one word (location=$file), and the shell never re-reads it. With
# FUNAD_PRINT_PIPELINE=1 it only prints the description, each word quoted for the shell where
# needed (printf %q), so that it can be pasted after gst-launch-1.0 (the tests parse it).
# check_model, check_input, check_output, check_new_video, check_results_file, check_whole,
# check_count, check_overlay and check_colormap: what the scripts check, all before they delete or open an
# output (a one-line error and exit 2 when a check fails); start_results_file empties a results
# file that check_results_file passed.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FUNAD_BUILD:-$root/build}
export GST_PLUGIN_PATH="$build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"

die() {
  printf '%s: %s\n' "${0##*/}" "$*" >&2
  exit 2
}

run_pipeline() {
  if [ "${FUNAD_PRINT_PIPELINE:-0}" = 1 ]; then
    local word sep=
    for word in "$@"; do
      # words safe for both the shell and gst-launch's parser stay as they are (a bare "!",
      # caps with commas); the rest are quoted, which gst-launch's parser reads back as well
      if [ "$word" = '!' ] || [[ $word =~ ^[[:alnum:]_./:=,+@%-]+$ ]]; then
        printf '%s%s' "$sep" "$word"
      else
        printf '%s%q' "$sep" "$word"
      fi
      sep=' '
    done
    printf '\n'
    return 0
  fi
  gst-launch-1.0 -e "$@"
}

# check_model MODEL: refuses (exit 2) unless funad-inspect loads MODEL. funad-inspect is
# $FUNAD_INSPECT, else $build/tools/funad-inspect, else the one on PATH.
check_model() {
  local tool=${FUNAD_INSPECT:-$build/tools/funad-inspect} err
  if [ ! -x "$tool" ]; then
    tool=$(command -v funad-inspect) ||
      die "cannot check MODEL '$1': funad-inspect not found (build the tools, or set FUNAD_BUILD or FUNAD_INSPECT)"
  fi
  # LD_PRELOAD is meant for gst-launch-1.0 (a sanitizer runtime under the ASan tests); our own
  # tool carries its runtime already and refuses a second one
  if ! err=$(env -u LD_PRELOAD "$tool" "$1" 2>&1 >/dev/null); then
    err=${err%%$'\n'*}
    die "MODEL '$1' is not a loadable funad model (${err#*error: }); check the order of the arguments"
  fi
}

# check_output NAME OUTPUT [INPUT_NAME INPUT]...: refuses (exit 2) when OUTPUT is the same
# file as one of the INPUTs (-ef: links and other spellings of a path count).
check_output() {
  local name=$1 out=$2
  shift 2
  while [ $# -ge 2 ]; do
    if [ "$out" -ef "$2" ]; then
      die "$name '$out' is the same file as $1 '$2'; refusing to overwrite it (check the order of the arguments)"
    fi
    shift 2
  done
}

# check_input NAME INPUT: refuses (exit 2) an INPUT that is missing, a folder, unreadable or an
# empty file. Swapped arguments name as the input an output not written yet, so this comes first.
check_input() {
  [ -e "$2" ] || die "$1 '$2' does not exist (check the order of the arguments)"
  [ ! -d "$2" ] || die "$1 '$2' is a folder, not a video file"
  [ -r "$2" ] || die "$1 '$2' cannot be read"
  [ ! -f "$2" ] || [ -s "$2" ] || die "$1 '$2' is empty"
}

# check_new_video NAME OUTPUT: refuses (exit 2) to replace an existing non-empty OUTPUT unless
# FORCE=1: a recording looks like an earlier annotated copy, and named there by mistake it
# would be lost.
check_new_video() {
  if [ -s "$2" ] && [ "${FORCE:-0}" != 1 ]; then
    die "$1 '$2' already exists; refusing to overwrite it (check the order of the arguments, or set FORCE=1 to replace it)"
  fi
}

# check_results_file NAME FILE: refuses (exit 2) a non-empty FILE whose first line is not one
# JSON object, {...} (a recording, notes, the model, a pretty-printed report whose first line is
# a lone "{"): the element's own rule, which the script's removal of an old log would otherwise
# bypass. (The element parses that line; here its shape is checked.)
check_results_file() {
  local first
  [ -f "$2" ] && [ -s "$2" ] || return 0
  [ -r "$2" ] || die "$1 '$2' cannot be read"
  # a video's first "line" holds NUL bytes, which a command substitution would warn about
  first=$(head -n 1 -- "$2" | head -c 65536 | tr -d '\0')
  [[ $first =~ ^[[:space:]]*\{.*\}[[:space:]]*$ ]] ||
    die "$1 '$2' already holds something other than JSON lines; refusing to replace it (check the order of the arguments)"
}

# start_results_file FILE: the element appends; a run starts from an empty file. Only a regular
# file is removed (never a device or a FIFO named as the log); printing removes nothing.
start_results_file() {
  if [ "${FUNAD_PRINT_PIPELINE:-0}" != 1 ] && [ -f "$1" ]; then
    rm -f -- "$1"
  fi
}

# check_whole NAME VALUE MIN MAX: refuses (exit 2) a VALUE that is not a whole number from MIN
# to MAX (gst-launch-1.0 only warns about a property out of range, and goes on; a size that is
# no number stops it with a caps error that names no setting).
check_whole() {
  if [[ $2 =~ ^0[0-9]+$ ]]; then
    die "$1 '$2' must be written without leading zeros (from $3 to $4)"
  fi
  if ! [[ $2 =~ ^(0|[1-9][0-9]{0,9})$ ]] || [ "$2" -lt "$3" ] || [ "$2" -gt "$4" ]; then
    die "$1 '$2' must be a whole number from $3 to $4"
  fi
}

# check_count NAME VALUE: a whole number from 1 to 4294967295 (a guint property).
check_count() {
  check_whole "$1" "$2" 1 4294967295
}

# check_choice NAME VALUE CHOICE...: refuses (exit 2) a VALUE that is not one of the CHOICEs
# (gst-launch-1.0 stops on it with "could not set property" and exit 1, naming no choice).
check_choice() {
  local name=$1 value=$2 choice list
  shift 2
  for choice in "$@"; do
    [ "$value" != "$choice" ] || return 0
  done
  list=$(printf '%s, ' "$@")
  die "$name '$value' must be one of ${list%, }"
}

# check_overlay VALUE, check_colormap VALUE: funaddetect's overlay and colormap properties, by
# their values' names in gst/gstfunaddetect.c (gst_funad_detect_overlay_get_type and
# gst_funad_detect_colormap_get_type; /e2e/scripts/refuse-swapped-arguments compares the two
# lists with the element's).
check_overlay() {
  check_choice OVERLAY "$1" none heatmap contour both
}

check_colormap() {
  check_choice COLORMAP "$1" inferno viridis
}
