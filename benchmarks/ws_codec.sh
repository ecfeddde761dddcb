#!/usr/bin/env bash
# WebSocket codec: instructions and heap allocations per echoed message, our
# codec (libroadrunner/src/ws) against Debian's libwslay, 64 B and 16 KiB
# text messages. Differences of two runs (N=1000 and N=11000) remove the
# start-up cost. Needs valgrind and libwslay-dev; not a timing benchmark
# (a quiet machine is not needed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$here/..
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
g++ -std=c++20 -O2 -g -I"$src/libroadrunner/src" \
  "$here/tools/ws_codec.cpp" "$src/libroadrunner/src/ws/codec.cpp" \
  -o "$out/ws_codec" -lwslay -lcrypto
instr() {
  valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
    "$out/ws_codec" "$@" >/dev/null 2>"$out/log"
  grep -o 'Collected : [0-9]*' "$out/log" | grep -o '[0-9]*'
}
allocs() {
  valgrind --tool=memcheck "$out/ws_codec" "$@" 2>&1 >/dev/null |
    grep -o 'total heap usage: [0-9,]* allocs' | grep -o '[0-9,]*' | tr -d ,
}
printf '%-6s %6s %14s %12s\n' codec size instr/msg allocs/msg
for size in 64 16384; do
  for mode in own wslay; do
    i1=$(instr "$mode" "$size" 1000)
    i2=$(instr "$mode" "$size" 11000)
    a1=$(allocs "$mode" "$size" 1000)
    a2=$(allocs "$mode" "$size" 11000)
    printf '%-6s %6s %14s %12s\n' "$mode" "$size" \
      "$(( (i2 - i1) / 10000 ))" \
      "$(awk -v a="$a1" -v b="$a2" 'BEGIN{printf "%.2f", (b-a)/10000}')"
  done
done
