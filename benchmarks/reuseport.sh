#!/usr/bin/env bash
# reuseport.sh -- a rolling restart of roadrunner-demo under wrk load on
# one SO_REUSEPORT port: process A serves, process B joins the port
# (--reuse-port), A gets SIGTERM and drains, B serves on. Reports wrk's
# errors (connect, read, write, timeout), non-2xx answers, requests per
# second, and how long A took to exit. Zero errors is the goal (issue 17).
#
# Usage: benchmarks/reuseport.sh [--no-build] [--unpinned] [--markdown]
#
# Environment:
#   DURATION=10      wrk run time (s); B starts at 30 %, A is stopped at 50 %
#   CONNS=50         wrk connections
#   CLOSE=0          1: every request on a new connection (Connection: close)
#                    exercises the accept queues; 0: keep-alive
#   RR_DEMO=path     demo binary (default build-release/examples/roadrunner-demo)
#
# Method: both demos run with --reactors=1 on one free port of 127.0.0.1,
# unpinned from each other (the restart overlaps them) but pinned together
# on the server CPU with --pinned (default), wrk on the other. The kernel
# here has net.ipv4.tcp_migrate_req=0, so the draining process refuses
# new connections (a socket filter drops SYNs, clients retry them after
# ~1 s to B) and accepts what is queued before closing (docs/scaling.md).
# Only 127.0.0.1 is used; every process started is stopped by PID on exit.

# shellcheck source-path=SCRIPTDIR source=lib/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/prelude.sh"

record_command "DURATION CONNS CLOSE RR_DEMO" "$0" "$@"

BUILD=1 PINNED=1 MARKDOWN=0
only_common_options "$0" "$@"
DURATION=${DURATION:-10}
CONNS=${CONNS:-50}
CLOSE=${CLOSE:-0}
RR_DEMO=${RR_DEMO:-$ROOT/build-release/examples/roadrunner-demo}
for v in DURATION CONNS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
[[ $CLOSE =~ ^[01]$ ]] || die "CLOSE must be 0 or 1, got '$CLOSE'"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rr-reuseport.XXXXXX")
install_cleanup

ensure_tools wrk:wrk curl:curl util-linux:taskset python3:python3
((BUILD)) && build_demo
check_demo_binary
setup_pinning

PORT=$(free_port) || die "no free port"
FLAGS=(--port="$PORT" --bind=127.0.0.1 --reactors=1 --reuse-port
  --max-clients=$((CONNS * 4)) --drain-timeout=10000)

start_demo() { # NAME -> sets SPAWNED_PID, waits for the start line
  spawn "${PIN_SERVER[@]}" "$RR_DEMO" "${FLAGS[@]}" >"$TMP/$1.out" 2>"$TMP/$1.err"
  EXTRA_PIDS+=("$SPAWNED_PID")
  wait_line "$TMP/$1.out" '^roadrunner-demo listening on ' 10 >/dev/null ||
    die "$1 did not start: $(tail -n5 "$TMP/$1.err")"
}

start_demo a
A_PID=$SPAWNED_PID
HDR=()
((CLOSE)) && HDR=(-H "Connection: close")
log "wrk -c$CONNS -d${DURATION}s on :$PORT (CLOSE=$CLOSE); B joins at 30 %, A stops at 50 %"
"${PIN_CLIENT[@]}" wrk -t2 -c"$CONNS" -d"${DURATION}s" "${HDR[@]}" \
  "http://127.0.0.1:$PORT/" >"$TMP/wrk.out" 2>&1 &
WRK_PID=$!
sleep "$(calc "$DURATION * 0.3")"
start_demo b
sleep "$(calc "$DURATION * 0.2")"
T0=$EPOCHREALTIME
kill -TERM "$A_PID"
for ((i = 0; i < 150; i++)); do
  kill -0 "$A_PID" 2>/dev/null || break
  sleep 0.1
done
EXIT_MS=$(calc "($EPOCHREALTIME - $T0) * 1000")
kill -0 "$A_PID" 2>/dev/null && warn "A did not exit within 15 s"
wait "$WRK_PID" || die "wrk failed: $(cat "$TMP/wrk.out")"

OUT=$(cat "$TMP/wrk.out")
RPS=$(sed -nE 's/^Requests\/sec: +([0-9.]+).*/\1/p' <<<"$OUT")
TOTAL=$(sed -nE 's/^ *([0-9]+) requests in .*/\1/p' <<<"$OUT")
SOCKET=$(sed -nE 's/^ *Socket errors: (.*)/\1/p' <<<"$OUT")
NON2XX=$(sed -nE 's/^ *Non-2xx or 3xx responses: ([0-9]+).*/\1/p' <<<"$OUT")
print_info "reuseport rolling restart" "command" \
  "command|$COMMAND" "machine|$(machine_line)" "commit|$(commit_line)" \
  "date|$START_DATE"
echo
table "|---|---:|---:|---|---:|---:|" \
  "mode|requests|req/s|socket errors|non-2xx|A exit (ms)" \
  "$( ((CLOSE)) && echo close || echo keep-alive)|${TOTAL:-?}|${RPS:-?}|${SOCKET:-none}|${NON2XX:-0}|$(fmt %.0f "$EXIT_MS")"
