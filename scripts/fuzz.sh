#!/usr/bin/env bash
# Builds the HTTP/1.1 parser libFuzzer target (ASan + UBSan) into build-fuzz/
# and runs it for a bounded time over a copy of the committed seed corpus
# (tests/fuzz/corpus/http1 is never modified). Prints a one-line summary and
# exits non-zero if the fuzzer finds a crash, leak, timeout or failed check.
#
# Usage: [FUZZ_SECONDS=30] scripts/fuzz.sh [extra libFuzzer flags...]
# Needs clang++ with libFuzzer; installs clang-14 libclang-rt-14-dev via
# apt-get when clang++ is missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build-fuzz
OUT=$BUILD/http1_parser_fuzz
SECONDS_BUDGET=${FUZZ_SECONDS:-30}

CXX=${CXX_FUZZ:-}
if [ -z "$CXX" ]; then
  if command -v clang++ >/dev/null; then
    CXX=clang++
  elif command -v clang++-14 >/dev/null; then
    CXX=clang++-14
  else
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "installing: clang-14 libclang-rt-14-dev" >&2
    if ! $sudo apt-get install -y --no-install-recommends clang-14 \
      libclang-rt-14-dev >/dev/null; then
      $sudo apt-get update >/dev/null
      $sudo apt-get install -y --no-install-recommends clang-14 \
        libclang-rt-14-dev >/dev/null
    fi
    CXX=clang++-14
  fi
fi

mkdir -p "$BUILD"
echo "== build $OUT" >&2
"$CXX" -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=all -I"$ROOT/libroadrunner/include" \
  -I"$ROOT/libroadrunner/src" \
  "$ROOT/libroadrunner/src/http1/parser.cpp" \
  "$ROOT/tests/fuzz/http1_parser.fuzz.cpp" -o "$OUT"

# Work on a copy of the seeds: libFuzzer adds new inputs to its corpus dir.
CORPUS=$BUILD/corpus-http1
ARTIFACTS=$BUILD/artifacts/
rm -rf "$CORPUS"
mkdir -p "$CORPUS" "$ARTIFACTS"
cp "$ROOT"/tests/fuzz/corpus/http1/* "$CORPUS"/
seeds=$(find "$CORPUS" -type f | wc -l)

LOG=$BUILD/fuzz-http1.log
echo "== fuzz ${SECONDS_BUDGET}s over $seeds seeds (log: $LOG)" >&2
status=0
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  "$OUT" -max_total_time="$SECONDS_BUDGET" -timeout=5 -rss_limit_mb=2048 \
  -artifact_prefix="$ARTIFACTS" -print_final_stats=1 "$@" "$CORPUS" \
  >"$LOG" 2>&1 || status=$?

# One-line summary from libFuzzer's final stats.
stat() { sed -n "s/^stat::$1:[[:space:]]*//p" "$LOG" | tail -n1; }
runs=$(stat number_of_executed_units)
speed=$(stat average_exec_per_sec)
cov=$(grep -oE 'cov: [0-9]+' "$LOG" | tail -n1 | cut -d' ' -f2)
units=$(find "$CORPUS" -type f | wc -l)
if [ "$status" -ne 0 ]; then
  crash=$(grep -oE "Test unit written to [^ ]+" "$LOG" | tail -n1 |
    sed 's/Test unit written to //')
  grep -E "check failed|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error" \
    "$LOG" | head -n3 >&2 || true
  echo "fuzz http1_parser: FAILED (exit $status) after ${runs:-?} runs;" \
    "reproducer: ${crash:-none}; log: $LOG"
  exit 1
fi
echo "fuzz http1_parser: OK ${runs:-?} runs in ${SECONDS_BUDGET}s" \
  "(${speed:-?} exec/s), cov ${cov:-?}, corpus $seeds -> $units"
