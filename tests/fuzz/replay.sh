#!/bin/sh
# replay.sh MAKE-SEEDS REPLAY TARGET FINDINGS FIXTURES: runs a fuzz target over a fresh seed
# corpus and over the committed inputs that once crashed it.
set -eu
make_seeds=$1 replay=$2 target=$3 findings=$4 fixtures=$5
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
"$make_seeds" "$seeds" "$fixtures"
corpus=${target#fuzz-}
set -- "$seeds/$corpus"
[ -d "$findings/$corpus" ] && set -- "$@" "$findings/$corpus"
"$replay" "$@"
