#!/usr/bin/env bash
# ws_echo.sh -- WebSocket echo: round trips per second and server CPU per
# message, roadrunner-demo's /ws/echo next to node's `ws` package in the
# same run (issue 15 item 9), and the memory of an idle session.
#
# Usage: benchmarks/ws_echo.sh [--no-build] [--unpinned] [--markdown]
#
#   --no-build   reuse build-release/examples/roadrunner-demo
#   --unpinned   do not pin with taskset (recorded in the report)
#   --markdown   print the report as Markdown (for docs/benchmarks.md)
#
# Echo: CONNECTIONS sessions, each with one binary message of SIZE bytes in
# flight (closed loop), driven by tools/ws_load.cpp (one epoll thread) pinned
# to CPU 0; the server (roadrunner-demo --reactors=1, or node) pinned to
# CPU 1. After WARMUP seconds, DURATION seconds are counted: round trips
# per second and the server's CPU microseconds per message (utime+stime
# from /proc/PID/stat over the same window). RUNS runs each, medians.
# Neither side compresses (the client offers no permessage-deflate).
# Idle: WARM sessions opened and kept open (first-use costs), then IDLE
# more opened and left alone; the server's RSS growth per session (VmRSS
# after minus before, over IDLE), for each server.
#
# node's `ws` comes from npm (installed into build-release/benchmarks/
# node_ws on first use). libwebsockets-test-server (Debian) is not in the
# table: it serves the dumb-increment and mirror protocols, not an echo.
#
# Environment: DURATION=10, RUNS=3, CONNECTIONS=100, WARMUP=2,
# SIZES="64 16384", IDLE=2000, WARM=200, SERVERS="roadrunner node",
# RR_DEMO, IDLE_ONLY=1 (only the idle phase: memory does not need a quiet
# machine).
# Needs a quiet machine (SMOKE=1: one short run of each, for a check only).

# shellcheck source-path=SCRIPTDIR source=lib/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/prelude.sh"

record_command "DURATION RUNS CONNECTIONS WARMUP SIZES IDLE WARM IDLE_ONLY SERVERS RR_DEMO SMOKE" "$0" "$@"

BUILD=1 PINNED=1 MARKDOWN=0
only_common_options "$0" "$@"
DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
CONNECTIONS=${CONNECTIONS:-100}
WARMUP=${WARMUP:-2}
SIZES=${SIZES:-64 16384}
IDLE=${IDLE:-2000}
WARM=${WARM:-200}
IDLE_ONLY=${IDLE_ONLY:-0}
SERVERS=${SERVERS:-roadrunner node}
RR_DEMO=${RR_DEMO:-$ROOT/build-release/examples/roadrunner-demo}
if ((${SMOKE:-0})); then DURATION=1 RUNS=1 WARMUP=1 IDLE=100 WARM=20; fi
for v in DURATION RUNS CONNECTIONS WARMUP IDLE WARM; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
STARTUP_TIMEOUT=10

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rr-ws-echo.XXXXXX")
install_cleanup

ensure_tools nodejs:node npm:npm g++:g++ util-linux:taskset
setup_pinning
raise_fd_limit $((IDLE + WARM + 256)) --best-effort
if ((BUILD)); then build_demo; fi
check_demo_binary

# The load generator.
WS_LOAD=$ROOT/build-release/benchmarks/ws_load
if [[ ! -x $WS_LOAD || $SCRIPT_DIR/tools/ws_load.cpp -nt $WS_LOAD ]]; then
  log "building $WS_LOAD"
  mkdir -p "$(dirname "$WS_LOAD")"
  g++ -std=c++20 -O2 -Wall -Wextra -Werror -o "$WS_LOAD" \
    "$SCRIPT_DIR/tools/ws_load.cpp" >&2 || die "building ws_load failed"
fi

# node's ws package.
NODE_DIR=$ROOT/build-release/benchmarks/node_ws
if [[ " $SERVERS " == *" node "* && ! -f $NODE_DIR/node_modules/ws/package.json ]]; then
  log "installing ws from npm into $NODE_DIR"
  npm install --no-audit --no-fund --no-save --prefix "$NODE_DIR" ws@8 >&2 ||
    die "npm install ws@8 failed (set SERVERS=roadrunner to skip node)"
fi

SRV_PID="" SRV_PORT=""
# start SERVER -- sets SRV_PID and SRV_PORT.
start() {
  case $1 in
    roadrunner)
      # Room for the idle sessions: the demo's max_clients is 150.
      RR_EXTRA=("--max-clients=$((IDLE + WARM + CONNECTIONS + 64))")
      RR_KEEPALIVE_CHECK=1
      start_roadrunner
      SRV_PID=$RR_PID SRV_PORT=$RR_PORT
      ;;
    node)
      spawn "${PIN_SERVER[@]}" env NODE_PATH="$NODE_DIR/node_modules" node \
        "$SCRIPT_DIR/tools/ws_node_echo.js" >"$TMP/node.out" 2>"$TMP/node.err"
      SRV_PID=$SPAWNED_PID
      EXTRA_PIDS+=("$SRV_PID")
      local line
      line=$(wait_line "$TMP/node.out" '^listening [0-9]+$' "$STARTUP_TIMEOUT") ||
        die "node did not start: $(tail -n5 "$TMP/node.err")"
      SRV_PORT=${line#listening }
      ;;
    *) die "unknown server $1" ;;
  esac
}

stop() {
  stop_pid "$SRV_PID" "$1"
  [[ $1 == roadrunner ]] && RR_PID=""
  SRV_PID=""
}

declare -A RPS=() CPU=() IDLE_B=()
((IDLE_ONLY)) && SIZES=""
for size in $SIZES; do
  for srv in $SERVERS; do
    for ((run = 1; run <= RUNS; run++)); do
      start "$srv"
      out=$("${PIN_CLIENT[@]}" "$WS_LOAD" echo "$SRV_PORT" /ws/echo \
        "$CONNECTIONS" "$size" "$WARMUP" "$DURATION" "$SRV_PID") ||
        die "$srv: ws_load failed"
      log "$srv $size B run $run: $out"
      RPS[$srv/$size]+="$(kv "$out" rps) "
      CPU[$srv/$size]+="$(kv "$out" cpu_us_per_msg) "
      stop "$srv"
    done
  done
done

# idle_open NAME COUNT -- opens COUNT idle sessions held open by ws_load
# until hold_close NAME (its stdin is a FIFO kept open on a descriptor).
declare -A HOLD_FD=() HOLD_PID=()
idle_open() {
  local fifo="$TMP/hold.$1" fd
  mkfifo "$fifo"
  "$WS_LOAD" idle "$SRV_PORT" /ws/echo "$2" <"$fifo" >"$TMP/idle.$1.out" &
  HOLD_PID[$1]=$!
  exec {fd}>"$fifo"
  HOLD_FD[$1]=$fd
  wait_line "$TMP/idle.$1.out" '^open=' 120 >/dev/null ||
    die "$srv: $2 idle sessions ($1) did not open"
}
hold_close() {
  local fd=${HOLD_FD[$1]}
  exec {fd}>&-
  wait "${HOLD_PID[$1]}" || true
  rm -f "$TMP/hold.$1"
}

for srv in $SERVERS; do
  start "$srv"
  # The first sessions pay what any server pays once (thread stacks and
  # malloc arenas touched, OpenSSL's SHA-1 set up, pools): WARM sessions are
  # opened first and stay open, so the IDLE sessions after them measure
  # what one more session costs.
  idle_open warm "$WARM"
  sleep 1 # let the server settle (no synchronisation: a measurement pause)
  before=$(rss_kib "$SRV_PID")
  idle_open idle "$IDLE"
  sleep 1
  after=$(rss_kib "$SRV_PID")
  hold_close idle
  hold_close warm
  IDLE_B[$srv]=$(((after - before) * 1024 / IDLE))
  log "$srv idle: RSS $before KiB with $WARM sessions -> $after KiB with $IDLE more"
  stop "$srv"
done

print_info "WebSocket echo" "command" \
  "date|$START_DATE" "command|$COMMAND" \
  "load|$CONNECTIONS sessions, one message in flight each, ${DURATION}s x $RUNS runs after ${WARMUP}s" \
  "pinning|$( ((PINNED)) && echo "server CPU 1, client CPU 0" || echo none)" \
  "machine|$(nproc) CPUs, $(uname -r)"
echo
if [[ -n $SIZES ]]; then
  rows=()
  for size in $SIZES; do
    for srv in $SERVERS; do
      # shellcheck disable=SC2086 # word splitting wanted
      rows+=("$srv|$size|$(median ${RPS[$srv/$size]})|$(median ${CPU[$srv/$size]})")
    done
  done
  table "|---|---:|---:|---:|" "server|size (B)|round trips/s|server CPU us/msg" "${rows[@]}"
  echo
fi
rows=()
for srv in $SERVERS; do rows+=("$srv|$WARM|$IDLE|${IDLE_B[$srv]}"); done
table "|---|---:|---:|---:|" "server|sessions before|idle sessions|RSS bytes/session" "${rows[@]}"
