#!/usr/bin/env bash
# remote_handler.sh -- what a handler actor on another CAF node costs over a
# local one (issue 17 item 4): CPU and latency per request of the demo's
# hello actor reached three ways, each answering "Hello, World!":
#   /hello/actor       reactor_local_handler (hosted on the connection's
#                      reactor: no thread hop)
#   /hello/scheduler   actor_handler to an actor on CAF's scheduler
#                      (reactor -> scheduler worker -> reactor)
#   /remote/hello      remote_handler: the same actor in a second process,
#                      `roadrunner-demo --handler-node`, reached through
#                      caf::io::middleman over loopback TCP
#
# Usage: benchmarks/remote_handler.sh [--no-build] [--unpinned] [--markdown]
#
# Method: the handler node and the front end (--remote-handlers) both run
# with --reactors=1 on the server CPU (1), clients on CPU 0. Server CPU per
# request is the utime+stime of BOTH processes (every thread: reactors,
# scheduler workers, the middleman's multiplexer) over the requests served.
#   1. closed loop: wrk -t1 -cCONNECTIONS for DURATION s per route and run,
#      routes alternating within each run: req/s, p99, CPU µs/request.
#   2. open loop: benchmarks/tools/openloop at RATE_PCT % of the slowest
#      route's closed-loop req/s (so no route queues), OL_CONNECTIONS
#      keep-alive connections: p50/p99/p99.9 from each request's scheduled
#      send time, and the difference to the reference route (the first).
# Before every measured run the script waits (at most QUIET_WAIT s) until
# the machine is at most QUIET % busy; the report gives how busy it was.
#
# Environment:
#   ROUTES="/hello/actor /hello/scheduler /remote/hello"  (the first is the
#                    reference)
#   DURATION=5 RUNS=3 CONNECTIONS=50 OL_CONNECTIONS=50 WARMUP=1
#   RATE=            open-loop rate in req/s (default: RATE_PCT below)
#   RATE_PCT=50      open-loop rate, % of the slowest route's closed-loop peak
#   QUIET=20 QUIET_WAIT=60
#   RR_DEMO=path     demo binary (default build-release/examples/roadrunner-demo)
#
# Progress goes to stderr, the report to stdout. Only 127.0.0.1 is used;
# every process started is stopped by PID on exit.

# shellcheck source-path=SCRIPTDIR source=lib/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/prelude.sh"
# shellcheck source-path=SCRIPTDIR source=lib/wrk_stats.sh
source "$SCRIPT_DIR/lib/wrk_stats.sh"

record_command "ROUTES DURATION RUNS CONNECTIONS OL_CONNECTIONS RATE RATE_PCT WARMUP QUIET QUIET_WAIT RR_DEMO" "$0" "$@"

BUILD=1 PINNED=1 MARKDOWN=0
only_common_options "$0" "$@"
read -r -a ROUTE_LIST <<<"${ROUTES:-/hello/actor /hello/scheduler /remote/hello}"
((${#ROUTE_LIST[@]} >= 2)) || die "ROUTES needs a reference route and at least one more"
DURATION=${DURATION:-5}
RUNS=${RUNS:-3}
CONNECTIONS=${CONNECTIONS:-50}
OL_CONNECTIONS=${OL_CONNECTIONS:-50}
RATE_PCT=${RATE_PCT:-50}
WARMUP=${WARMUP:-1}
QUIET=${QUIET:-20}
QUIET_WAIT=${QUIET_WAIT:-60}
RR_DEMO=${RR_DEMO:-$ROOT/build-release/examples/roadrunner-demo}
for v in DURATION RUNS CONNECTIONS OL_CONNECTIONS RATE_PCT WARMUP; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
for v in QUIET QUIET_WAIT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer, got '${!v}'"
done
RATE=${RATE:-}
[[ -z $RATE || $RATE =~ ^[1-9][0-9]*$ ]] || die "RATE must be a positive integer, got '$RATE'"
REF=${ROUTE_LIST[0]}
STARTUP_TIMEOUT=10

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rr-remote-handler.XXXXXX")
install_cleanup

ensure_tools wrk:wrk curl:curl util-linux:taskset g++:g++
CLK_TCK=$(getconf CLK_TCK)
setup_pinning
if ((BUILD)); then build_demo; fi
check_demo_binary
build_openloop

# --- the handler node, then the front end --------------------------------------
log "starting the handler node: $RR_DEMO --handler-node=0 --bind=127.0.0.1 --reactors=1"
spawn "${PIN_SERVER[@]}" "$RR_DEMO" --handler-node=0 --bind=127.0.0.1 --reactors=1 \
  >"$TMP/node.out" 2>"$TMP/node.err"
NODE_PID=$SPAWNED_PID
EXTRA_PIDS+=("$NODE_PID")
line=$(wait_line "$TMP/node.out" '^roadrunner-demo handler node on ' "$STARTUP_TIMEOUT") ||
  die "no handler node start line: $(tail -n5 "$TMP/node.err")"
NODE_PORT=${line##*:}
if ((PINNED)); then taskset -apc 1 "$NODE_PID" >/dev/null; fi
RR_EXTRA=(--remote-handlers="127.0.0.1:$NODE_PORT" --max-keep-alive-requests=1000000)
start_roadrunner
# The front end links to the node in the background: 503 until then.
for ((i = 0; i < STARTUP_TIMEOUT * 10; i++)); do
  body=$(curl -sS --max-time 2 "http://127.0.0.1:$RR_PORT/remote/hello" 2>/dev/null) || true
  [[ $body == 'Hello, World!' ]] && break
  sleep 0.1
done
for r in "${ROUTE_LIST[@]}"; do
  body=$(curl -sS --max-time 5 "http://127.0.0.1:$RR_PORT$r") || die "GET $r failed"
  [[ $body == 'Hello, World!' ]] || die "GET $r answered '$body', expected 'Hello, World!'"
done

# both_ticks -- CPU ticks of the front end and the node together.
both_ticks() {
  local a b
  a=$(cpu_ticks "$RR_PID") || die "the front end ended: $(tail -n5 "$TMP/rr.err")"
  b=$(cpu_ticks "$NODE_PID") || die "the handler node ended: $(tail -n5 "$TMP/node.err")"
  echo $((a + b))
}

declare -A C_RPS=() C_US=() C_P99=() O_P50=() O_P99=() O_P999=() O_US=() O_ACH=() O_BAD=()
C_LINES=() O_LINES=() BUSY_SEEN=()
FAILED=0

closed_run() { # ROUTE RUN
  local out=$TMP/wrk.txt t0 t1 us
  quiet
  log "closed loop, GET $1, run $2/$RUNS (machine ${BUSY}% busy)"
  timeout $((WARMUP + 30)) "${PIN_CLIENT[@]}" wrk -t1 "-c$CONNECTIONS" "-d${WARMUP}s" \
    "http://127.0.0.1:$RR_PORT$1" >/dev/null 2>&1 || die "wrk warm-up failed on $1"
  t0=$(both_ticks)
  timeout $((DURATION + 30)) "${PIN_CLIENT[@]}" wrk -t1 "-c$CONNECTIONS" "-d${DURATION}s" \
    --latency "http://127.0.0.1:$RR_PORT$1" >"$out" 2>&1 || die "wrk failed on $1: $(tail -n3 "$out")"
  t1=$(both_ticks)
  wrk_stats "$out"
  if [[ $WRK_NON2XX != 0 ]]; then
    warn "GET $1: $WRK_NON2XX non-2xx responses"
    FAILED=1
  fi
  us=$(calc "($t1 - $t0) / $CLK_TCK * 1e6 / $WRK_REQS")
  C_RPS[$1]+=" $WRK_RPS" C_US[$1]+=" $us" C_P99[$1]+=" $WRK_P99"
  C_LINES+=("$1|$2|$(printf '%.0f' "$WRK_RPS")|$WRK_REQS|$(fmt '%.2f' "$us")|$(fmt '%.2f' "$WRK_P99")|$BUSY")
}

open_run() { # ROUTE RUN
  local out=$TMP/ol.txt t0 t1 res us bad rc=0
  quiet
  log "open loop at $RATE req/s, GET $1, run $2/$RUNS (machine ${BUSY}% busy)"
  t0=$(both_ticks)
  timeout $((DURATION + WARMUP + 30)) "${PIN_CLIENT[@]}" "$OPENLOOP" --port="$RR_PORT" \
    --path="$1" --rate="$RATE" --duration="$DURATION" --warmup="$WARMUP" \
    --connections="$OL_CONNECTIONS" --timeout=2 >"$out" 2>&1 || rc=$?
  t1=$(both_ticks)
  res=$(grep '^RESULT ' "$out") || die "openloop failed on $1 (exit $rc): $(tail -n3 "$out")"
  bad=$(($(kv "$res" failed) + $(kv "$res" incomplete)))
  if ((bad > 0)); then
    warn "GET $1: $bad requests failed or unanswered"
    FAILED=1
  fi
  us=$(calc "($t1 - $t0) / $CLK_TCK * 1e6 / $(kv "$res" total_ok)")
  O_P50[$1]+=" $(kv "$res" p50_us)" O_P99[$1]+=" $(kv "$res" p99_us)"
  O_P999[$1]+=" $(kv "$res" p999_us)" O_US[$1]+=" $us" O_BAD[$1]+=" $bad"
  O_ACH[$1]+=" $(kv "$res" achieved_rate)"
  O_LINES+=("$1|$2|$(kv "$res" achieved_rate)|$(kv "$res" p50_us)|$(kv "$res" p99_us)|$(kv "$res" p999_us)|$(fmt '%.2f' "$us")|$bad|$BUSY")
}

for ((run = 1; run <= RUNS; run++)); do
  for r in "${ROUTE_LIST[@]}"; do closed_run "$r" "$run"; done
done
RATE_HOW="fixed by RATE"
if [[ -z $RATE ]]; then
  slowest=""
  for r in "${ROUTE_LIST[@]}"; do
    m=$(med "$r" C_RPS)
    if [[ -z $slowest ]] || (($(calc "$m < $slowest"))); then slowest=$m; fi
  done
  RATE=$(calc "int($slowest * $RATE_PCT / 100)")
  ((RATE > 0)) || die "no closed-loop peak"
  RATE_HOW="$RATE_PCT % of the slowest route's closed-loop req/s"
fi
for ((run = 1; run <= RUNS; run++)); do
  for r in "${ROUTE_LIST[@]}"; do open_run "$r" "$run"; done
done

# --- report -----------------------------------------------------------------------
diff_us() { # ROUTE ARRAY -- median of ROUTE minus the reference's, in µs
  local a b
  a=$(med "$1" "$2") b=$(med "$REF" "$2")
  if [[ $a == n/a || $b == n/a ]]; then echo n/a; else printf '%+.1f' "$(calc "$a - $b")"; fi
}
C_ROWS=() O_ROWS=()
for r in "${ROUTE_LIST[@]}"; do
  C_ROWS+=("$r|$(fmt '%.0f' "$(med "$r" C_RPS)")|$(spread "$r" C_US '%.2f')|$(ratio_of "$(med "$r" C_US)" "$(med "$REF" C_US)")|$(diff_us "$r" C_US)|$(fmt '%.2f' "$(med "$r" C_P99)")")
  O_ROWS+=("$r|$(fmt '%.0f' "$(med "$r" O_ACH)")|$(spread "$r" O_P50 '%.1f')|$(diff_us "$r" O_P50)|$(fmt '%.1f' "$(med "$r" O_P99)")|$(diff_us "$r" O_P99)|$(fmt '%.1f' "$(med "$r" O_P999)")|$(fmt '%.2f' "$(med "$r" O_US)")|$(med "$r" O_BAD)")
done
PINNING="front end and handler node on CPU 1, clients (wrk, openloop) on CPU 0 (taskset)"
((PINNED)) || PINNING="UNPINNED (--unpinned): no taskset"
print_info "Remote handler actor vs local (${ROUTE_LIST[*]})" "command" \
  "date|$START_DATE" "commit|$(commit_line)" "command|$COMMAND" \
  "machine|$(machine_line); busy before the runs: $(minimum "${BUSY_SEEN[@]}")..$(maximum "${BUSY_SEEN[@]}") % (QUIET=$QUIET)" \
  "pinning|$PINNING" \
  "servers|$(basename "$RR_DEMO") --handler-node=0 --reactors=1; $(basename "$RR_DEMO") --reactors=1 --remote-handlers=127.0.0.1:PORT --max-keep-alive-requests=1000000" \
  "server CPU|front end + handler node, all threads" \
  "closed loop|wrk -t1 -c$CONNECTIONS -d${DURATION}s after ${WARMUP}s warm-up, $RUNS runs, routes alternating" \
  "open loop|openloop --connections=$OL_CONNECTIONS --rate=$RATE ($RATE_HOW) --duration=$DURATION --warmup=$WARMUP"
echo
C_HEAD="route|req/s|server CPU µs/req [min..max]|CPU vs $REF|CPU - $REF µs|p99 ms"
O_HEAD="route|achieved req/s|p50 µs [min..max]|p50 - $REF µs|p99 µs|p99 - $REF µs|p99.9 µs|server CPU µs/req|failed+unanswered"
if ((MARKDOWN)); then
  echo "Closed loop, medians over $RUNS runs:"
  echo
  table "|---|---:|---:|---:|---:|---:|" "$C_HEAD" "${C_ROWS[@]}"
  echo
  echo "Open loop at $RATE req/s, medians over $RUNS runs:"
  echo
  table "|---|---:|---:|---:|---:|---:|---:|---:|---:|" "$O_HEAD" "${O_ROWS[@]}"
  echo
  echo "<details><summary>Per run</summary>"
  echo
  table "|---|---:|---:|---:|---:|---:|---:|" "route|run|req/s|requests|CPU µs/req|p99 ms|busy %" "${C_LINES[@]}"
  echo
  table "|---|---:|---:|---:|---:|---:|---:|---:|---:|" "route|run|achieved|p50 µs|p99 µs|p99.9 µs|CPU µs/req|failed|busy %" "${O_LINES[@]}"
  echo
  echo "</details>"
else
  echo "Closed loop (medians over $RUNS runs):"
  table "" "${C_HEAD//µ/u}" "${C_ROWS[@]}"
  echo
  echo "Open loop at $RATE req/s (medians over $RUNS runs):"
  table "" "${O_HEAD//µ/u}" "${O_ROWS[@]}"
  echo
  echo "Per run, closed loop:"
  table "" "route|run|req/s|requests|CPU us/req|p99 ms|busy %" "${C_LINES[@]}"
  echo
  echo "Per run, open loop:"
  table "" "route|run|achieved|p50 us|p99 us|p99.9 us|CPU us/req|failed|busy %" "${O_LINES[@]}"
fi
if ((FAILED)); then
  warn "some requests failed (see the tables)"
  exit 1
fi
log "done"
