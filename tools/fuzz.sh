#!/usr/bin/env bash
# Runs each libFuzzer target of tests/fuzz for SECONDS (default 60) on the generated seed corpus,
# one after the other. Corpus grows in build-asan/fuzz/<target>/; a crash leaves its input in
# build-asan/fuzz/findings/ and fails the script (commit it to tests/fuzz/findings/<target>/
# once fixed, so the ordinary test suite replays it).
#   tools/fuzz.sh [SECONDS] [TARGET...]     e.g. nice -n 10 tools/fuzz.sh 600 fuzz-frame
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz-model-file fuzz-frame fuzz-weights)
tools/asan-build.sh >/dev/null
work=build-asan/fuzz
mkdir -p "$work/findings"
build-asan/tests/fuzz/fuzz-make-seeds "$work/seeds" tests/fixtures
for t in "${targets[@]}"; do
  corpus=${t#fuzz-}
  mkdir -p "$work/$corpus"
  dict=()
  [ -f "tests/fuzz/$corpus.dict" ] && dict=(-dict="tests/fuzz/$corpus.dict")
  echo "fuzz: $t for ${seconds}s"
  # A finding is a crash, a leak, a sanitizer report, a hang (-timeout) or a runaway
  # allocation (-rss_limit_mb, -malloc_limit_mb). The whole log stays in $work/$t.log.
  rc=0
  OPENBLAS_NUM_THREADS=1 \
    "build-asan/tests/fuzz/$t" "$work/$corpus" "$work/seeds/$corpus" "${dict[@]}" \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 -malloc_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/findings/$t-" >"$work/$t.log" 2>&1 || rc=$?
  grep -E "^(stat::number_of_executed_units|stat::average_exec_per_sec|==[0-9]+==|SUMMARY)" \
    "$work/$t.log" || true
  if [ $rc -ne 0 ] || ls "$work/findings/$t-"* >/dev/null 2>&1; then
    echo "fuzz: $t failed (exit $rc): $(ls "$work/findings/$t-"* 2>/dev/null)" \
      "see $work/$t.log" >&2
    exit 1
  fi
done
