#!/usr/bin/env bash
# handler_actor.sh -- what a handler actor costs over a plain callable, on
# the demo's three hello routes, next to each other in its route list (same
# routing cost), with the same 13-byte "Hello, World!" answer:
#   /hello/plain       plain callable, run inline on the connection's reactor
#   /hello/actor       reactor_local_handler: a handler actor hosted on the
#                      connection's reactor (no thread hop)
#   /hello/scheduler   actor_handler to an actor on CAF's default scheduler
#                      (reactor -> scheduler worker -> reactor)
#
# Usage: benchmarks/handler_actor.sh [--no-build] [--unpinned] [--markdown]
#
#   --no-build   reuse build-release/examples/roadrunner-demo (and the
#                open-loop client, rebuilt only if its source changed)
#   --unpinned   do not pin with taskset (recorded in the report)
#   --markdown   print the report as Markdown (for docs/benchmarks.md)
#
# Method (roadrunner-demo --reactors=1 on CPU 1, clients on CPU 0, as in
# h1_hello.sh and tail_latency.sh):
#   1. closed loop: wrk -t1 -cCONNECTIONS for DURATION s per route and run,
#      the routes alternating within each run: req/s, p99, and server CPU
#      microseconds per request (utime+stime of all the demo's threads,
#      scheduler workers included), with the ratio to the plain route.
#   2. open loop: benchmarks/tools/openloop at RATE_PCT % of the plain
#      route's closed-loop req/s (median of step 1 of the first variant),
#      OL_CONNECTIONS keep-alive connections, WARMUP + DURATION s per route
#      and run: p50/p99/p99.9 from each request's scheduled send time, and
#      the difference to the plain route's (p50(/hello/actor) -
#      p50(/hello/plain) is the added latency of a handler-actor round trip
#      at that load).
# Each VARIANT is a separate demo process with extra flags (CAF flags pass
# through: --scheduler.policy=sharing, --work-stealing.*, ...), measured
# one after the other; compare routes within a variant. Before every
# measured run the script waits (at most QUIET_WAIT s) until the machine
# is at most QUIET % busy, and the report gives how busy it was.
#
# Environment:
#   ROUTES="/hello/plain /hello/actor /hello/scheduler"  (the first is the
#                    reference)
#   VARIANTS=""      ';'-separated flag sets, one demo per set; an empty set
#                    is the default configuration. E.g.
#                    VARIANTS="; --scheduler.policy=sharing"
#   DURATION=5       seconds per measured run (closed and open loop)
#   RUNS=3           runs per route, variant and loop kind
#   CONNECTIONS=50   wrk connections
#   OL_CONNECTIONS=50  openloop connections
#   RATE=            open-loop rate in req/s (default: RATE_PCT below)
#   RATE_PCT=20      open-loop rate, % of the plain route's closed-loop peak
#                    (the scheduler route peaks at about a third of it: keep
#                    the rate well below that, or its requests queue up)
#   WARMUP=1         seconds of load before each measured run (not counted)
#   QUIET=20 QUIET_WAIT=60  busy % to wait for, and for how long (QUIET=0:
#                    do not wait)
#   RR_DEMO=path     demo binary (default build-release/examples/roadrunner-demo)
#   RR_FLAGS=...     flags for every variant (default
#                    --max-keep-alive-requests=1000000, as h1_hello.sh)
#
# Progress goes to stderr, the report to stdout. Only 127.0.0.1 is used;
# every process started is stopped by PID on exit.

# shellcheck source-path=SCRIPTDIR source=lib/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/prelude.sh"

record_command "ROUTES VARIANTS DURATION RUNS CONNECTIONS OL_CONNECTIONS RATE RATE_PCT WARMUP QUIET QUIET_WAIT RR_DEMO RR_FLAGS" "$0" "$@"

BUILD=1 PINNED=1 MARKDOWN=0
only_common_options "$0" "$@"
read -r -a ROUTE_LIST <<<"${ROUTES:-/hello/plain /hello/actor /hello/scheduler}"
((${#ROUTE_LIST[@]} >= 2)) || die "ROUTES needs a reference route and at least one more"
VARIANTS=${VARIANTS:-}
DURATION=${DURATION:-5}
RUNS=${RUNS:-3}
CONNECTIONS=${CONNECTIONS:-50}
OL_CONNECTIONS=${OL_CONNECTIONS:-50}
RATE_PCT=${RATE_PCT:-20}
WARMUP=${WARMUP:-1}
QUIET=${QUIET:-20}
QUIET_WAIT=${QUIET_WAIT:-60}
RR_DEMO=${RR_DEMO:-$ROOT/build-release/examples/roadrunner-demo}
RR_FLAGS=${RR_FLAGS---max-keep-alive-requests=1000000}
for v in DURATION RUNS CONNECTIONS OL_CONNECTIONS RATE_PCT WARMUP; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
for v in QUIET QUIET_WAIT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer, got '${!v}'"
done
IFS=';' read -r -a VARIANT_LIST <<<"$VARIANTS"
((${#VARIANT_LIST[@]})) || VARIANT_LIST=("")
read -r -a BASE_FLAGS <<<"$RR_FLAGS"
REF=${ROUTE_LIST[0]}
STARTUP_TIMEOUT=10

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rr-handler-actor.XXXXXX")
install_cleanup

# --- prerequisites ------------------------------------------------------------
"$ROOT/scripts/deps.sh" bench
ensure_tools wrk:wrk curl:curl util-linux:taskset g++:g++
CLK_TCK=$(getconf CLK_TCK)
setup_pinning
if ((BUILD)); then build_demo; fi
check_demo_binary
build_openloop

# variant_name I -- a short label for variant I (its flags, or "default").
variant_name() {
  local f
  read -r -a f <<<"${VARIANT_LIST[$1]}"
  if ((${#f[@]})); then echo "${f[*]}"; else echo default; fi
}

# --- measurements ---------------------------------------------------------------
# Keyed "VARIANT_INDEX:ROUTE"; values space-separated, one per run.
declare -A C_RPS=() C_US=() C_P99=() O_P50=() O_P99=() O_P999=() O_US=() O_ACH=() O_BAD=() O_CCPU=()
C_LINES=() O_LINES=() BUSY_SEEN=()
FAILED=0
RATE=${RATE:-}
[[ -z $RATE || $RATE =~ ^[1-9][0-9]*$ ]] || die "RATE must be a positive integer, got '$RATE'"
RATE_HOW="$RATE_PCT % of $REF's closed-loop req/s"
[[ -n $RATE ]] && RATE_HOW="fixed by RATE"

# demo_gone -- dies with how the demo ended (exit status, last stderr lines).
demo_gone() {
  local rc=0
  wait "$RR_PID" 2>/dev/null || rc=$?
  RR_PID=""
  die "roadrunner-demo ended during the run (status $rc; >128: signal $((rc > 128 ? rc - 128 : 0))): $(tail -n5 "$TMP/rr.err" 2>/dev/null)"
}

# quiet -- waits for a quiet machine; sets BUSY to how busy it was (and
# remembers it for the report).
quiet() {
  BUSY=$(wait_quiet "$QUIET" "$QUIET_WAIT")
  BUSY_SEEN+=("$BUSY")
  ((QUIET == 0 || BUSY <= QUIET)) ||
    warn "machine still ${BUSY}% busy after ${QUIET_WAIT}s; measuring anyway"
}

closed_run() { # VARIANT ROUTE RUN
  local key="$1:$2" out=$TMP/wrk.txt t0 t1 reqs rps p99 us busy non2xx
  quiet
  busy=$BUSY
  log "closed loop, $(variant_name "$1"), GET $2, run $3/$RUNS (machine ${busy}% busy)"
  timeout $((WARMUP + 30)) "${PIN_CLIENT[@]}" wrk -t1 "-c$CONNECTIONS" "-d${WARMUP}s" \
    "http://127.0.0.1:$RR_PORT$2" >/dev/null 2>&1 || die "wrk warm-up failed on $2"
  t0=$(cpu_ticks "$RR_PID") || demo_gone
  timeout $((DURATION + 30)) "${PIN_CLIENT[@]}" wrk -t1 "-c$CONNECTIONS" "-d${DURATION}s" \
    --latency "http://127.0.0.1:$RR_PORT$2" >"$out" 2>&1 || die "wrk failed on $2: $(tail -n3 "$out")"
  t1=$(cpu_ticks "$RR_PID") || demo_gone
  reqs=$(awk '/ requests in / { print $1; exit }' "$out")
  rps=$(awk '/^Requests\/sec:/ { print $2; exit }' "$out")
  [[ -n $reqs && $reqs -gt 0 ]] || die "could not parse wrk output: $(cat "$out")"
  p99=$(awk '/Latency Distribution/ { d = 1 } d && $1 == "99%" { print $2; exit }' "$out")
  p99=$(to_ms "${p99:-0ms}")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF; exit }' "$out")
  if [[ -n $non2xx && $non2xx != 0 ]]; then
    warn "GET $2: $non2xx non-2xx responses"
    FAILED=1
  fi
  us=$(calc "($t1 - $t0) / $CLK_TCK * 1e6 / $reqs")
  C_RPS[$key]+=" $rps" C_US[$key]+=" $us" C_P99[$key]+=" $p99"
  C_LINES+=("$(variant_name "$1")|$2|$3|$(printf '%.0f' "$rps")|$reqs|$(fmt '%.2f' "$us")|$(fmt '%.2f' "$p99")|$busy")
}

open_run() { # VARIANT ROUTE RUN
  local key="$1:$2" out=$TMP/ol.txt t0 t1 res us bad busy rc=0
  quiet
  busy=$BUSY
  log "open loop at $RATE req/s, $(variant_name "$1"), GET $2, run $3/$RUNS (machine ${busy}% busy)"
  t0=$(cpu_ticks "$RR_PID") || demo_gone
  timeout $((DURATION + WARMUP + 30)) "${PIN_CLIENT[@]}" "$OPENLOOP" --port="$RR_PORT" \
    --path="$2" --rate="$RATE" --duration="$DURATION" --warmup="$WARMUP" \
    --connections="$OL_CONNECTIONS" --timeout=2 >"$out" 2>&1 || rc=$?
  t1=$(cpu_ticks "$RR_PID") || demo_gone
  res=$(grep '^RESULT ' "$out") || die "openloop failed on $2 (exit $rc): $(tail -n3 "$out")"
  bad=$(($(kv "$res" failed) + $(kv "$res" incomplete)))
  if ((bad > 0)); then
    warn "GET $2: $bad requests failed or unanswered"
    FAILED=1
  fi
  us=$(calc "($t1 - $t0) / $CLK_TCK * 1e6 / $(kv "$res" total_ok)")
  O_P50[$key]+=" $(kv "$res" p50_us)" O_P99[$key]+=" $(kv "$res" p99_us)"
  O_P999[$key]+=" $(kv "$res" p999_us)" O_US[$key]+=" $us" O_BAD[$key]+=" $bad"
  O_ACH[$key]+=" $(kv "$res" achieved_rate)" O_CCPU[$key]+=" $(kv "$res" client_cpu_pct)"
  O_LINES+=("$(variant_name "$1")|$2|$3|$(kv "$res" achieved_rate)|$(kv "$res" p50_us)|$(kv "$res" p99_us)|$(kv "$res" p999_us)|$(kv "$res" send_delay_p99_us)|$(fmt '%.2f' "$us")|$(kv "$res" client_cpu_pct)|$bad|$busy")
}

for vi in "${!VARIANT_LIST[@]}"; do
  read -r -a vflags <<<"${VARIANT_LIST[$vi]}"
  RR_EXTRA=("${BASE_FLAGS[@]}" "${vflags[@]}")
  start_roadrunner
  for r in "${ROUTE_LIST[@]}"; do
    body=$(curl -sS --max-time 5 "http://127.0.0.1:$RR_PORT$r") || die "GET $r failed"
    [[ $body == 'Hello, World!' ]] || die "GET $r answered '$body', expected 'Hello, World!'"
  done
  for ((run = 1; run <= RUNS; run++)); do
    for r in "${ROUTE_LIST[@]}"; do closed_run "$vi" "$r" "$run"; done
  done
  if [[ -z $RATE ]]; then
    RATE=$(calc "int($(med "0:$REF" C_RPS) * $RATE_PCT / 100)")
    ((RATE > 0)) || die "no closed-loop peak for $REF"
  fi
  for ((run = 1; run <= RUNS; run++)); do
    for r in "${ROUTE_LIST[@]}"; do open_run "$vi" "$r" "$run"; done
  done
  stop_pid "$RR_PID" roadrunner-demo
  RR_PID=""
done

# --- report -----------------------------------------------------------------------
# diff_us VI ROUTE ARRAY -- median of ROUTE minus median of the reference
# route (same variant), in µs.
diff_us() {
  local a b
  a=$(med "$1:$2" "$3") b=$(med "$1:$REF" "$3")
  if [[ $a == n/a || $b == n/a ]]; then echo n/a; else printf '%+.1f' "$(calc "$a - $b")"; fi
}
ratio_ref() { ratio_of "$(med "$1:$2" "$3")" "$(med "$1:$REF" "$3")"; } # VI ROUTE ARRAY

C_ROWS=() O_ROWS=()
for vi in "${!VARIANT_LIST[@]}"; do
  vn=$(variant_name "$vi")
  for r in "${ROUTE_LIST[@]}"; do
    k="$vi:$r"
    C_ROWS+=("$vn|$r|$(fmt '%.0f' "$(med "$k" C_RPS)")|$(spread "$k" C_US '%.2f')|$(ratio_ref "$vi" "$r" C_US)|$(diff_us "$vi" "$r" C_US)|$(fmt '%.2f' "$(med "$k" C_P99)")")
    O_ROWS+=("$vn|$r|$(fmt '%.0f' "$(med "$k" O_ACH)")|$(spread "$k" O_P50 '%.1f')|$(diff_us "$vi" "$r" O_P50)|$(fmt '%.1f' "$(med "$k" O_P99)")|$(diff_us "$vi" "$r" O_P99)|$(fmt '%.1f' "$(med "$k" O_P999)")|$(fmt '%.2f' "$(med "$k" O_US)")|$(fmt '%.0f' "$(med "$k" O_CCPU)")|$(med "$k" O_BAD)")
  done
done

PINNING="server on CPU 1, clients (wrk, openloop) on CPU 0 (taskset)"
((PINNED)) || PINNING="UNPINNED (--unpinned): no taskset"
INFO=(
  "date|$START_DATE"
  "commit|$(commit_line)"
  "command|$COMMAND"
  "machine|$(machine_line); busy before the runs: $(minimum "${BUSY_SEEN[@]}")..$(maximum "${BUSY_SEEN[@]}") % (all CPUs; QUIET=$QUIET, QUIET_WAIT=${QUIET_WAIT}s)"
  "pinning|$PINNING"
  "roadrunner|$(basename "$RR_DEMO") --port=0 --bind=127.0.0.1 --reactors=1 ${BASE_FLAGS[*]} + the variant's flags"
  "closed loop|wrk -t1 -c$CONNECTIONS -d${DURATION}s after ${WARMUP}s warm-up, $RUNS runs, routes alternating"
  "open loop|openloop --connections=$OL_CONNECTIONS --rate=$RATE ($RATE_HOW) --duration=$DURATION --warmup=$WARMUP, $RUNS runs, routes alternating"
)
C_HEAD="variant|route|req/s|server CPU µs/req [min..max]|CPU vs $REF|CPU - $REF µs|p99 ms"
O_HEAD="variant|route|achieved req/s|p50 µs [min..max]|p50 - $REF µs|p99 µs|p99 - $REF µs|p99.9 µs|server CPU µs/req|client CPU %|failed+unanswered"
C_RUN_HEAD="variant|route|run|req/s|requests|CPU µs/req|p99 ms|busy %"
O_RUN_HEAD="variant|route|run|achieved|p50 µs|p99 µs|p99.9 µs|send delay p99 µs|CPU µs/req|client CPU %|failed|busy %"
print_info "Handler actor vs plain callable (${ROUTE_LIST[*]})" "command roadrunner" "${INFO[@]}"
echo
if ((MARKDOWN)); then
  echo "Closed loop, medians over $RUNS runs:"
  echo
  table "|---|---|---:|---:|---:|---:|---:|" "$C_HEAD" "${C_ROWS[@]}"
  echo
  echo "Open loop at $RATE req/s, medians over $RUNS runs (latency from the scheduled send time):"
  echo
  table "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" "$O_HEAD" "${O_ROWS[@]}"
  echo
  echo "<details><summary>Per run</summary>"
  echo
  table "|---|---|---:|---:|---:|---:|---:|---:|" "$C_RUN_HEAD" "${C_LINES[@]}"
  echo
  table "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" "$O_RUN_HEAD" "${O_LINES[@]}"
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
  table "" "${C_RUN_HEAD//µ/u}" "${C_LINES[@]}"
  echo
  echo "Per run, open loop:"
  table "" "${O_RUN_HEAD//µ/u}" "${O_LINES[@]}"
fi

if ((FAILED)); then
  warn "some requests failed (see the tables)"
  exit 1
fi
log "done"
