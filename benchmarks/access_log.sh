#!/usr/bin/env bash
# access_log.sh -- what an access log costs per request: roadrunner-demo with
# its access log off and on, next to nginx with its access log off and on,
# in the same run, same load generator, same pinning.
#
# Usage: benchmarks/access_log.sh [--no-build] [--unpinned] [--markdown]
#
#   --no-build   reuse build-release/examples/roadrunner-demo
#   --unpinned   do not pin with taskset (recorded in the report)
#   --markdown   print the report as Markdown (for docs/benchmarks.md)
#
# Method: four configurations, run RUNS times in turn (rr-off, rr-on,
# nginx-off, nginx-on, rr-off, ...), each a fresh server pinned to CPU 1
# with wrk (one thread, CONNECTIONS keep-alive connections, GET /, the
# 13-byte hello) pinned to CPU 0 for DURATION seconds after WARMUP seconds
# of load. The figure is server CPU microseconds per request: utime+stime
# of all the server's threads (the log writer thread included) from
# /proc/PID/stat, divided by wrk's request count; its median over the runs
# and the on/off ratio per server are reported. roadrunner logs with
# --access-log=FILE (combined format, per-reactor buffers written by a
# writer thread); nginx with `access_log FILE combined NGINX_LOG_OPTS`
# (default `buffer=64k flush=1s`, nginx's own batching: without it nginx
# makes one write(2) per request). After each "on" run the log's line count
# is compared with the server's request count: lines the log dropped
# (roadrunner drops rather than blocks when its writer falls behind) are
# reported, and any difference fails the run for nginx.
#
# Environment: DURATION=10, RUNS=3, CONNECTIONS=50, WARMUP=2, RR_DEMO,
# RR_FLAGS (extra demo flags; default --max-keep-alive-requests=1000000
# --max-clients=1024), NGINX_LOG_OPTS="buffer=64k flush=1s".
# Progress on stderr, report on stdout; only 127.0.0.1 is used. Needs a
# quiet machine: CPU time per request drifts with other load.

# shellcheck source-path=SCRIPTDIR source=lib/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/prelude.sh"

record_command "DURATION RUNS CONNECTIONS WARMUP RR_DEMO RR_FLAGS NGINX_LOG_OPTS" "$0" "$@"

BUILD=1 PINNED=1 MARKDOWN=0
only_common_options "$0" "$@"
DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
CONNECTIONS=${CONNECTIONS:-50}
WARMUP=${WARMUP:-2}
RR_DEMO=${RR_DEMO:-$ROOT/build-release/examples/roadrunner-demo}
RR_FLAGS=${RR_FLAGS---max-keep-alive-requests=1000000 --max-clients=1024}
NGINX_LOG_OPTS=${NGINX_LOG_OPTS-buffer=64k flush=1s}
for v in DURATION RUNS CONNECTIONS WARMUP; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
STARTUP_TIMEOUT=10

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rr-access-log.XXXXXX")
install_cleanup

ensure_tools wrk:wrk nginx-light:nginx curl:curl util-linux:taskset
CLK_TCK=$(getconf CLK_TCK)
setup_pinning
if ((BUILD)); then build_demo; fi
check_demo_binary

CONFIGS=(rr-off rr-on nginx-off nginx-on)
declare -A US=() RPS=() DROPPED=()
FAILED=0

# start CONFIG -- starts the server of CONFIG; sets SRV_PID, SRV_PORT and
# SRV_LOG (the access log file, empty when off).
start() {
  SRV_LOG=""
  case $1 in
    rr-*)
      read -r -a RR_EXTRA <<<"$RR_FLAGS"
      if [[ $1 == rr-on ]]; then
        SRV_LOG=$TMP/rr-access.log
        RR_EXTRA+=("--access-log=$SRV_LOG" --access-log-format=combined)
      fi
      start_roadrunner
      SRV_PID=$RR_PID SRV_PORT=$RR_PORT
      ;;
    nginx-*)
      NGINX_SED=()
      if [[ $1 == nginx-on ]]; then
        SRV_LOG=$TMP/nginx-access.log
        NGINX_SED=(-e "s#access_log off;#access_log $SRV_LOG combined $NGINX_LOG_OPTS;#")
      fi
      start_nginx
      SRV_PID=$NGINX_PID SRV_PORT=$NGINX_PORT
      ;;
  esac
  if [[ -n $SRV_LOG ]]; then : >"$SRV_LOG"; fi
}

stop() {
  case $1 in
    rr-*) stop_pid "$RR_PID" roadrunner-demo && RR_PID="" ;;
    nginx-*) stop_pid "$NGINX_PID" nginx && NGINX_PID="" ;;
  esac
}

wrk_run() { # SECONDS PORT OUT
  timeout $(($1 + 60)) "${PIN_CLIENT[@]}" wrk -t1 "-c$CONNECTIONS" "-d$1s" \
    "http://127.0.0.1:$2/" >"$3" 2>&1
}

# measure CONFIG RUN -- one measured run.
measure() {
  local cfg=$1 run=$2 out=$TMP/wrk.$1.$2.txt t0 t1 reqs rps non2xx us lines
  log "run $run/$RUNS: $cfg (${WARMUP}s warm-up, ${DURATION}s measured)"
  start "$cfg"
  wrk_run "$WARMUP" "$SRV_PORT" "$TMP/warm.txt" || die "warm-up against $cfg failed"
  t0=$(cpu_ticks "$SRV_PID") || die "$cfg is gone"
  wrk_run "$DURATION" "$SRV_PORT" "$out" || die "wrk against $cfg failed: $(tail -n5 "$out")"
  t1=$(cpu_ticks "$SRV_PID") || die "$cfg died during the run"
  reqs=$(awk '/ requests in / { print $1; exit }' "$out")
  rps=$(awk '/^Requests\/sec:/ { print $2; exit }' "$out")
  [[ -n $reqs && $reqs -gt 0 ]] || die "could not parse wrk output for $cfg: $(cat "$out")"
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF; exit }' "$out")
  if [[ -n $non2xx && $non2xx -gt 0 ]]; then
    warn "$cfg run $run: $non2xx non-2xx responses"
    FAILED=1
  fi
  us=$(calc "($t1 - $t0) / $CLK_TCK * 1e6 / $reqs")
  US[$cfg]+=" $us" RPS[$cfg]+=" $rps"
  # A stop flushes the log (the demo after its drain, nginx on exit).
  stop "$cfg"
  if [[ -n $SRV_LOG ]]; then
    # Every request since the log was emptied: warm-up, run, checks.
    lines=$(wc -l <"$SRV_LOG")
    local expected
    expected=$(($(awk '/ requests in / { print $1; exit }' "$TMP/warm.txt") + reqs))
    # start_* sent a few requests of their own (keep-alive checks).
    DROPPED[$cfg]+=" $((expected > lines ? expected - lines : 0))"
    log "$cfg: $lines log lines for >= $expected requests"
    if [[ $cfg == nginx-on && $lines -lt $expected ]]; then
      warn "nginx logged $lines lines for $expected requests"
      FAILED=1
    fi
  fi
}

for ((run = 1; run <= RUNS; run++)); do
  for cfg in "${CONFIGS[@]}"; do measure "$cfg" "$run"; done
done

# --- report ------------------------------------------------------------------
rr_off=$(med rr-off US) rr_on=$(med rr-on US)
ng_off=$(med nginx-off US) ng_on=$(med nginx-on US)
print_info "Access log cost: roadrunner vs nginx (GET /, keep-alive)" "command commit" \
  "date|$START_DATE" "machine|$(machine_line)" "commit|$(commit_line)" \
  "command|$COMMAND" \
  "load|wrk -t1 -c$CONNECTIONS -d${DURATION}s, $RUNS runs per configuration, $( ((PINNED)) && echo "server on CPU 1, wrk on CPU 0" || echo unpinned)"
rows=()
for cfg in "${CONFIGS[@]}"; do
  dropped=n/a
  [[ -n ${DROPPED[$cfg]:-} ]] && dropped=$(med "$cfg" DROPPED)
  rows+=("$cfg|$(spread "$cfg" US %.2f)|$(spread "$cfg" RPS %.0f)|$dropped")
done
echo
table "|---|---:|---:|---:|" "config|CPU us/req|req/s|log lines dropped" "${rows[@]}"
echo
table "|---|---:|---:|" "server|log on / off (CPU us/req)|log on: vs nginx" \
  "roadrunner|$(ratio_of "$rr_on" "$rr_off")|$(ratio_of "$rr_on" "$ng_on")" \
  "nginx|$(ratio_of "$ng_on" "$ng_off")|1.00x"
exit "$FAILED"
