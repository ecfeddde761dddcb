#!/usr/bin/env bash
# tail_latency.sh -- open-loop tail latency of roadrunner-demo and nginx at
# fixed request rates, corrected for coordinated omission.
#
# Usage: benchmarks/tail_latency.sh [--no-build] [--unpinned] [--markdown]
#
#   --no-build   reuse build-release/examples/roadrunner-demo (and the
#                open-loop client, which is rebuilt only if its source changed)
#   --unpinned   do not pin with taskset (recorded in the report)
#   --markdown   print the report as Markdown (for docs/benchmarks.md)
#
# Method: both servers serve GET / -> 13-byte "Hello, World!" exactly as in
# h1_hello.sh (same nginx config, same demo flags). First a short closed-loop
# wrk run finds nginx's peak req/s (and roadrunner's, for the record). Then
# benchmarks/tools/openloop sends GET / at fixed rates, RATES percent of
# nginx's peak, over CONNECTIONS keep-alive connections: request i is due at
# i / rate whatever happened before, and its latency counts from that
# scheduled time (a stalled server is charged for every request that fell
# due during the stall; wrk would wait and not count them). Servers are
# pinned to CPU 1, the client to CPU 0; servers alternate run by run.
#
# Environment:
#   RATES="50 90"   percentages of nginx's peak to run at
#   PEAK_DURATION=5 seconds of the wrk peak run per server
#   DURATION=10     seconds measured per open-loop run
#   WARMUP=2        seconds at the same rate before each run, not measured
#   RUNS=3          runs per server and rate (alternating)
#   CONNECTIONS=50  keep-alive connections (wrk and openloop)
#   RR_DEMO=path    demo binary (default build-release/examples/roadrunner-demo)
#   RR_FLAGS=...    extra demo flags (default --max-keep-alive-requests=1000000)
#
# Reported per server and rate: achieved req/s, latency p50/p99/p99.9/max
# (median over runs, with [min..max] of p99), failed or unanswered requests,
# server CPU microseconds per request and the client's CPU share. The
# client's "send delay" (p99) shows whether requests waited for a free
# connection (the server is behind) or for the client itself (its CPU %
# near 100: the numbers are then the client's, not the server's).
# Progress goes to stderr, the report to stdout. Only 127.0.0.1 is used.

# shellcheck source-path=SCRIPTDIR source=lib/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/prelude.sh"

record_command "RATES PEAK_DURATION DURATION WARMUP RUNS CONNECTIONS RR_DEMO RR_FLAGS" "$0" "$@"

BUILD=1 PINNED=1 MARKDOWN=0
only_common_options "$0" "$@"
RATES=${RATES:-50 90}
PEAK_DURATION=${PEAK_DURATION:-5}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
RUNS=${RUNS:-3}
CONNECTIONS=${CONNECTIONS:-50}
RR_DEMO=${RR_DEMO:-$ROOT/build-release/examples/roadrunner-demo}
RR_FLAGS=${RR_FLAGS---max-keep-alive-requests=1000000}
for v in PEAK_DURATION DURATION WARMUP RUNS CONNECTIONS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
read -r -a RATE_PCTS <<<"$RATES"
for p in "${RATE_PCTS[@]}"; do
  [[ $p =~ ^[1-9][0-9]*$ ]] || die "RATES holds '$p', not a positive integer percentage"
done
read -r -a RR_EXTRA <<<"$RR_FLAGS"
STARTUP_TIMEOUT=10

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rr-tail.XXXXXX")
install_cleanup

# --- prerequisites ------------------------------------------------------------
"$ROOT/scripts/deps.sh" bench
ensure_tools wrk:wrk nginx-light:nginx curl:curl util-linux:taskset g++:g++
CLK_TCK=$(getconf CLK_TCK)
setup_pinning
if ((BUILD)); then build_demo; fi
check_demo_binary
build_openloop

IDLE_BUSY=$(busy_pct 1)
((IDLE_BUSY <= 10)) ||
  warn "machine already ${IDLE_BUSY}% busy before starting the servers; results will be noisy"

start_roadrunner
start_nginx
for s in roadrunner nginx; do
  port=$RR_PORT
  [[ $s == nginx ]] && port=$NGINX_PORT
  body=$(curl -sS --max-time 5 "http://127.0.0.1:$port/") || die "$s: GET / failed"
  [[ $body == 'Hello, World!' ]] || die "$s: GET / answered '$body', expected 'Hello, World!'"
done

# --- peak (closed loop, wrk) ----------------------------------------------------
# peak PORT -- req/s of a PEAK_DURATION-second wrk run, after 1 s of warm-up.
peak() {
  local out=$TMP/peak.txt
  timeout 30 "${PIN_CLIENT[@]}" wrk -t1 "-c$CONNECTIONS" -d1s "http://127.0.0.1:$1/" >/dev/null 2>&1 ||
    die "wrk warm-up failed"
  timeout $((PEAK_DURATION + 30)) "${PIN_CLIENT[@]}" wrk -t1 "-c$CONNECTIONS" "-d${PEAK_DURATION}s" \
    "http://127.0.0.1:$1/" >"$out" 2>&1 || die "wrk failed: $(tail -n3 "$out")"
  awk '/^Requests\/sec:/ { printf "%.0f\n", $2; exit }' "$out"
}
log "peak: wrk -t1 -c$CONNECTIONS -d${PEAK_DURATION}s against nginx, then roadrunner"
NGINX_PEAK=$(peak "$NGINX_PORT")
RR_PEAK=$(peak "$RR_PORT")
[[ $NGINX_PEAK =~ ^[0-9]+$ && $NGINX_PEAK -gt 0 ]] || die "could not read nginx's peak"
log "peak req/s: nginx $NGINX_PEAK, roadrunner $RR_PEAK"

# --- open-loop runs ---------------------------------------------------------------
# Keyed "PCT:SERVER", values space-separated per run.
declare -A ACH=() P50=() P99=() P999=() PMAX=() US=() CCPU=() BAD=() SD99=()
RUN_LINES=()
FAILED=0

measure() { # NAME PID PORT PCT RATE RUN
  local name=$1 pid=$2 port=$3 pct=$4 rate=$5 run=$6 key="$4:$1"
  local out=$TMP/ol.$1.$4.$6.txt t0 t1 res us bad rc=0
  log "run $run/$RUNS: $name at $pct% ($rate req/s) for ${DURATION}s + ${WARMUP}s warm-up"
  t0=$(cpu_ticks "$pid") || die "$name (pid $pid) is gone"
  timeout $((DURATION + WARMUP + 30)) "${PIN_CLIENT[@]}" "$OPENLOOP" --port="$port" \
    --rate="$rate" --duration="$DURATION" --warmup="$WARMUP" \
    --connections="$CONNECTIONS" --timeout=2 >"$out" 2>&1 || rc=$?
  t1=$(cpu_ticks "$pid") || die "$name (pid $pid) died during the run"
  res=$(grep '^RESULT ' "$out") || die "openloop failed against $name (exit $rc): $(tail -n3 "$out")"
  bad=$(($(kv "$res" failed) + $(kv "$res" incomplete)))
  us=$(calc "($t1 - $t0) / $CLK_TCK * 1e6 / $(kv "$res" total_ok)")
  ACH[$key]+=" $(kv "$res" achieved_rate)" P50[$key]+=" $(kv "$res" p50_us)"
  P99[$key]+=" $(kv "$res" p99_us)" P999[$key]+=" $(kv "$res" p999_us)"
  PMAX[$key]+=" $(kv "$res" max_us)" US[$key]+=" $us" BAD[$key]+=" $bad"
  CCPU[$key]+=" $(kv "$res" client_cpu_pct)" SD99[$key]+=" $(kv "$res" send_delay_p99_us)"
  RUN_LINES+=("$pct|$rate|$run|$name|$(kv "$res" achieved_rate)|$(kv "$res" p50_us)|$(kv "$res" p99_us)|$(kv "$res" p999_us)|$(kv "$res" max_us)|$(kv "$res" send_delay_p99_us)|$(printf '%.2f' "$us")|$(kv "$res" client_cpu_pct)|$bad")
  if ((bad > 0)); then
    warn "$name at $pct%: $bad requests failed or unanswered"
    FAILED=1
  fi
}

for pct in "${RATE_PCTS[@]}"; do
  rate=$((NGINX_PEAK * pct / 100))
  for ((r = 1; r <= RUNS; r++)); do
    measure roadrunner "$RR_PID" "$RR_PORT" "$pct" "$rate" "$r"
    measure nginx "$NGINX_PID" "$NGINX_PORT" "$pct" "$rate" "$r"
  done
done

# --- report -------------------------------------------------------------------------
ms() { fmt '%.3f' "$(calc "$1 / 1000")"; } # µs -> ms
range_ms() { # KEY ARRAY -> "[min..max]" of µs values, in ms
  local -n arr=$2
  local -a v
  read -r -a v <<<"${arr[$1]:-}"
  printf '[%s..%s]' "$(ms "$(minimum "${v[@]}")")" "$(ms "$(maximum "${v[@]}")")"
}

ROWS=()
for pct in "${RATE_PCTS[@]}"; do
  rate=$((NGINX_PEAK * pct / 100))
  for s in roadrunner nginx; do
    k="$pct:$s"
    ROWS+=("$pct% ($rate)|$s|$(fmt '%.0f' "$(med "$k" ACH)")|$(ms "$(med "$k" P50)")|$(ms "$(med "$k" P99)") $(range_ms "$k" P99)|$(ms "$(med "$k" P999)")|$(ms "$(med "$k" PMAX)")|$(ms "$(med "$k" SD99)")|$(fmt '%.2f' "$(med "$k" US)")|$(fmt '%.0f' "$(med "$k" CCPU)")|$(med "$k" BAD)")
  done
done
PER_RUN=()
for l in "${RUN_LINES[@]}"; do
  IFS='|' read -r pct rate run s ach p50 p99 p999 pmax sd us cc bad <<<"$l"
  PER_RUN+=("$pct%|$run|$s|$ach|$(ms "$p50")|$(ms "$p99")|$(ms "$p999")|$(ms "$pmax")|$(ms "$sd")|$us|$cc|$bad")
done

PINNING="server on CPU 1, client (wrk, openloop) on CPU 0 (taskset)"
((PINNED)) || PINNING="UNPINNED (--unpinned): no taskset"
INFO=(
  "date|$START_DATE"
  "commit|$(commit_line)"
  "command|$COMMAND"
  "machine|$(machine_line); ${IDLE_BUSY}% busy (all CPUs) just before start"
  "pinning|$PINNING"
  "peak|wrk -t1 -c$CONNECTIONS -d${PEAK_DURATION}s: nginx $NGINX_PEAK req/s, roadrunner $RR_PEAK req/s (closed loop; wrk saturates its core, so this is also the client's limit)"
  "load|benchmarks/tools/openloop --connections=$CONNECTIONS --duration=$DURATION --warmup=$WARMUP at RATES=$RATES % of nginx's peak; $RUNS runs per server and rate, alternating"
  "roadrunner|$(basename "$RR_DEMO") --port=0 --bind=127.0.0.1 --reactors=1 ${RR_EXTRA[*]}"
  "nginx|1 process (master_process off), keepalive_requests 1000000, access_log off"
)
HEAD="rate % (req/s)|server|achieved req/s|p50 ms|p99 ms [min..max]|p99.9 ms|max ms|send delay p99 ms|server CPU µs/req|client CPU %|failed+unanswered"
RUN_HEAD="rate|run|server|achieved|p50 ms|p99 ms|p99.9 ms|max ms|send delay p99 ms|server CPU µs/req|client CPU %|failed+unanswered"
print_info "Open-loop tail latency: roadrunner vs nginx" "command roadrunner" "${INFO[@]}"
echo
if ((MARKDOWN)); then
  echo "Medians over $RUNS runs; latency counts from each request's scheduled send time:"
  echo
  table "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" "$HEAD" "${ROWS[@]}"
  echo
  echo "<details><summary>Per run</summary>"
  echo
  table "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" "$RUN_HEAD" "${PER_RUN[@]}"
  echo
  echo "</details>"
else
  echo "Per run:"
  table "" "${RUN_HEAD//µ/u}" "${PER_RUN[@]}"
  echo
  echo "Medians over $RUNS runs (latency from the scheduled send time):"
  table "" "${HEAD//µ/u}" "${ROWS[@]}"
fi

if ((FAILED)); then
  warn "some requests failed or were not answered in time (see the table)"
  exit 1
fi
log "done"
