#!/usr/bin/env bash
# Installs what is missing, builds and runs the whole test suite twice:
# a default-configured Release build (build/, what a user or a distribution
# gets) and an AddressSanitizer + UBSan build (build-asan/); builds the
# Release configuration with clang-14 too (build-clang/) and the API
# reference (the docs target, Doxygen); then fuzzes the
# HTTP/1.1 parser for a bounded time (FUZZ_SECONDS, default 30). Every
# build treats warnings as errors (ROADRUNNER_WERROR, off by default).
# Exits non-zero if anything fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
"$root/scripts/deps.sh" test

run_suite() { # dir, extra cmake args...
  local dir=$1; shift
  echo "== configure and build $dir" >&2
  cmake -S "$root" -B "$root/$dir" "$@" >/dev/null
  cmake --build "$root/$dir" -j"$jobs"
  echo "== test $dir" >&2
  local log="$root/$dir/ctest.log"
  (cd "$root/$dir" && ctest --output-on-failure -j1) | tee "$log"
  # ctest's own exit status is lost in the pipe: check its summary line.
  grep -q "100% tests passed" "$log"
  total=$((total + $(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log")))
}

total=0

run_suite build -DCMAKE_BUILD_TYPE=Release -DROADRUNNER_WERROR=ON
# The API reference from the public headers: an undocumented public symbol
# or a Doxygen warning fails it (docs/Doxyfile.in).
echo "== API reference (docs target, build)" >&2
cmake --build "$root/build" --target docs
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DROADRUNNER_WERROR=ON \
    -DROADRUNNER_SANITIZERS=address,undefined -DROADRUNNER_BUILD_BENCHMARKS=OFF

# The same Release configuration must build warning-free with clang-14 (its
# suites are the ones above: built, not run again).
echo "== configure and build build-clang (clang-14, Release)" >&2
cmake -S "$root" -B "$root/build-clang" -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_BUILD_TYPE=Release -DROADRUNNER_WERROR=ON >/dev/null
cmake --build "$root/build-clang" -j"$jobs"

echo "== fuzz the HTTP/1.1 parser (${FUZZ_SECONDS:-30} s)" >&2
FUZZ_SECONDS=${FUZZ_SECONDS:-30} "$root/scripts/fuzz.sh"
# Plain closing line: ctest suites of both builds plus the fuzz run.
echo "suites: $((total + 1)) passed, 0 failed"
