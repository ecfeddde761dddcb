#!/usr/bin/env bash
# reuseport_scale.sh -- requests per second through one front process
# against two on one SO_REUSEPORT port (issue 17 item 4), with the same
# total number of reactor threads where it applies:
#   1x1   one roadrunner-demo, --reactors=1
#   2x1   two roadrunner-demo --reuse-port on one port, --reactors=1 each
#         (the kernel spreads connections over the two sockets by hash)
#   1x2   one roadrunner-demo, --reactors=2 (the threads of 2x1 in one
#         process: what a second process adds over a second reactor)
#
# Usage: benchmarks/reuseport_scale.sh [--no-build] [--unpinned] [--markdown]
#
# Method: the servers run on SERVER_CPUS (taskset; default CPU 1, so on a
# 2-core machine 2x1 and 1x2 share one core with each other and show the
# cost of the split rather than scaling: give a bigger machine
# SERVER_CPUS=1-2 and CLIENT_CPUS=0,3), wrk on CLIENT_CPUS (default 0).
# For each layout and run: wrk -t2 -cCONNECTIONS for DURATION s on
# GET PATH after WARMUP s (keep-alive; CLOSE=1: a connection per request),
# req/s, p99, server CPU µs/request (all server processes), and for 2x1
# how 100 new connections spread over the two processes (/whoami's pid).
# Layouts alternate within each run; medians over RUNS.
#
# Environment:
#   LAYOUTS="1x1 2x1 1x2"  DURATION=5 RUNS=3 CONNECTIONS=100 WARMUP=1
#   PATH_=/hello/plain   the route (text, 13 bytes)
#   CLOSE=0              1: Connection: close on every request
#   SERVER_CPUS=1 CLIENT_CPUS=0
#   QUIET=20 QUIET_WAIT=60
#   RR_DEMO=path         demo binary (default build-release/examples/roadrunner-demo)
#
# Progress goes to stderr, the report to stdout. Only 127.0.0.1 is used;
# every process started is stopped by PID on exit.

# shellcheck source-path=SCRIPTDIR source=lib/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/prelude.sh"
# shellcheck source-path=SCRIPTDIR source=lib/wrk_stats.sh
source "$SCRIPT_DIR/lib/wrk_stats.sh"

record_command "LAYOUTS DURATION RUNS CONNECTIONS WARMUP PATH_ CLOSE SERVER_CPUS CLIENT_CPUS QUIET QUIET_WAIT RR_DEMO" "$0" "$@"

BUILD=1 PINNED=1 MARKDOWN=0
only_common_options "$0" "$@"
read -r -a LAYOUT_LIST <<<"${LAYOUTS:-1x1 2x1 1x2}"
DURATION=${DURATION:-5}
RUNS=${RUNS:-3}
CONNECTIONS=${CONNECTIONS:-100}
WARMUP=${WARMUP:-1}
ROUTE=${PATH_:-/hello/plain}
CLOSE=${CLOSE:-0}
SERVER_CPUS=${SERVER_CPUS:-1}
CLIENT_CPUS=${CLIENT_CPUS:-0}
QUIET=${QUIET:-20}
QUIET_WAIT=${QUIET_WAIT:-60}
RR_DEMO=${RR_DEMO:-$ROOT/build-release/examples/roadrunner-demo}
for v in DURATION RUNS CONNECTIONS WARMUP; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
for l in "${LAYOUT_LIST[@]}"; do
  [[ $l =~ ^[12]x[12]$ ]] || die "a layout is PROCESSESxREACTORS (1 or 2 each), got '$l'"
done
[[ $CLOSE =~ ^[01]$ ]] || die "CLOSE must be 0 or 1, got '$CLOSE'"
STARTUP_TIMEOUT=10

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rr-reuseport-scale.XXXXXX")
install_cleanup

ensure_tools wrk:wrk curl:curl util-linux:taskset
CLK_TCK=$(getconf CLK_TCK)
if ((PINNED)); then
  taskset -c "$SERVER_CPUS" true 2>/dev/null || die "cannot pin to SERVER_CPUS=$SERVER_CPUS; use --unpinned"
  taskset -c "$CLIENT_CPUS" true 2>/dev/null || die "cannot pin to CLIENT_CPUS=$CLIENT_CPUS; use --unpinned"
  PIN_SERVER=(taskset -c "$SERVER_CPUS")
  PIN_CLIENT=(taskset -c "$CLIENT_CPUS")
else
  PIN_SERVER=() PIN_CLIENT=()
fi
if ((BUILD)); then build_demo; fi
check_demo_binary

# start_layout LAYOUT -- starts its processes on one free port; sets
# SERVER_PIDS and PORT.
start_layout() {
  local procs=${1%x*} reactors=${1#*x} i line flags
  PORT=$(free_port) || die "no free port"
  SERVER_PIDS=()
  flags=(--port="$PORT" --bind=127.0.0.1 --reactors="$reactors"
    --max-keep-alive-requests=1000000 --max-clients=$((CONNECTIONS * 4)))
  ((procs > 1)) && flags+=(--reuse-port)
  for ((i = 0; i < procs; i++)); do
    spawn "${PIN_SERVER[@]}" "$RR_DEMO" "${flags[@]}" >"$TMP/s$i.out" 2>"$TMP/s$i.err"
    SERVER_PIDS+=("$SPAWNED_PID")
    EXTRA_PIDS+=("$SPAWNED_PID")
    line=$(wait_line "$TMP/s$i.out" '^roadrunner-demo listening on ' "$STARTUP_TIMEOUT") ||
      die "server $i of $1 did not start: $(tail -n5 "$TMP/s$i.err")"
    : "$line"
  done
  curl -sS --max-time 5 -o /dev/null "http://127.0.0.1:$PORT$ROUTE" || die "GET $ROUTE failed on $1"
}

stop_layout() {
  local p
  for p in "${SERVER_PIDS[@]}"; do stop_pid "$p" roadrunner-demo; done
  SERVER_PIDS=()
}

servers_ticks() {
  local p total=0 t
  for p in "${SERVER_PIDS[@]}"; do
    t=$(cpu_ticks "$p") || die "a server ended during the run"
    total=$((total + t))
  done
  echo "$total"
}

# shares -- how 100 new connections spread over the processes (the
# kernel's hash, as wrk's connections were spread): "pid:count ...".
shares() {
  local i pid
  declare -A seen=()
  for ((i = 0; i < 100; i++)); do
    pid=$(curl -sS --max-time 2 "http://127.0.0.1:$PORT/whoami" 2>/dev/null |
      sed -nE 's/.*"pid":([0-9]+).*/\1/p') || continue
    [[ -n $pid ]] && seen[$pid]=$((${seen[$pid]:-0} + 1))
  done
  for pid in "${!seen[@]}"; do printf '%s:%s ' "$pid" "${seen[$pid]}"; done
}

declare -A RPS=() US=() P99=()
LINES=() BUSY_SEEN=()
FAILED=0
HDR=()
((CLOSE)) && HDR=(-H "Connection: close")

one_run() { # LAYOUT RUN
  local out=$TMP/wrk.txt t0 t1 us share=""
  start_layout "$1"
  quiet
  log "$1, run $2/$RUNS: wrk -t2 -c$CONNECTIONS -d${DURATION}s GET $ROUTE (machine ${BUSY}% busy)"
  timeout $((WARMUP + 30)) "${PIN_CLIENT[@]}" wrk -t2 "-c$CONNECTIONS" "-d${WARMUP}s" "${HDR[@]}" \
    "http://127.0.0.1:$PORT$ROUTE" >/dev/null 2>&1 || die "wrk warm-up failed"
  t0=$(servers_ticks)
  timeout $((DURATION + 30)) "${PIN_CLIENT[@]}" wrk -t2 "-c$CONNECTIONS" "-d${DURATION}s" "${HDR[@]}" \
    --latency "http://127.0.0.1:$PORT$ROUTE" >"$out" 2>&1 || die "wrk failed: $(tail -n3 "$out")"
  t1=$(servers_ticks)
  wrk_stats "$out"
  if [[ $WRK_NON2XX != 0 || -n $WRK_SOCKET ]]; then
    warn "$1: non-2xx $WRK_NON2XX, socket errors ${WRK_SOCKET:-none}"
    FAILED=1
  fi
  us=$(calc "($t1 - $t0) / $CLK_TCK * 1e6 / $WRK_REQS")
  [[ ${1%x*} == 2 ]] && share=$(shares)
  stop_layout
  RPS[$1]+=" $WRK_RPS" US[$1]+=" $us" P99[$1]+=" $WRK_P99"
  LINES+=("$1|$2|$(printf '%.0f' "$WRK_RPS")|$WRK_REQS|$(fmt '%.2f' "$us")|$(fmt '%.2f' "$WRK_P99")|${share:--}|$BUSY")
}

for ((run = 1; run <= RUNS; run++)); do
  for l in "${LAYOUT_LIST[@]}"; do one_run "$l" "$run"; done
done

REF=${LAYOUT_LIST[0]}
ROWS=()
for l in "${LAYOUT_LIST[@]}"; do
  ROWS+=("$l|$(spread "$l" RPS '%.0f')|$(ratio_of "$(med "$l" RPS)" "$(med "$REF" RPS)")|$(spread "$l" US '%.2f')|$(fmt '%.2f' "$(med "$l" P99)")")
done
PINNING="servers on CPU(s) $SERVER_CPUS, wrk on CPU(s) $CLIENT_CPUS (taskset)"
((PINNED)) || PINNING="UNPINNED (--unpinned): no taskset"
print_info "One front process vs two on one SO_REUSEPORT port (${LAYOUT_LIST[*]})" "command" \
  "date|$START_DATE" "commit|$(commit_line)" "command|$COMMAND" \
  "machine|$(machine_line); busy before the runs: $(minimum "${BUSY_SEEN[@]}")..$(maximum "${BUSY_SEEN[@]}") % (QUIET=$QUIET)" \
  "pinning|$PINNING" \
  "load|wrk -t2 -c$CONNECTIONS -d${DURATION}s GET $ROUTE after ${WARMUP}s warm-up$( ((CLOSE)) && echo ', Connection: close'), $RUNS runs, layouts alternating"
echo
HEAD="layout|req/s [min..max]|vs $REF|server CPU µs/req [min..max]|p99 ms"
RUN_HEAD="layout|run|req/s|requests|CPU µs/req|p99 ms|pid:connections of 100 (2 processes)|busy %"
if ((MARKDOWN)); then
  table "|---|---:|---:|---:|---:|" "$HEAD" "${ROWS[@]}"
  echo
  echo "<details><summary>Per run</summary>"
  echo
  table "|---|---:|---:|---:|---:|---:|---|---:|" "$RUN_HEAD" "${LINES[@]}"
  echo
  echo "</details>"
else
  table "" "${HEAD//µ/u}" "${ROWS[@]}"
  echo
  echo "Per run:"
  table "" "${RUN_HEAD//µ/u}" "${LINES[@]}"
fi
if ((FAILED)); then
  warn "some requests failed (see above)"
  exit 1
fi
log "done"
