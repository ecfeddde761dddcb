#!/usr/bin/env bash
# static.sh -- static files and gzip: roadrunner-demo next to nginx in the
# same run, same load generator, same pinning.
#
# Usage: benchmarks/static.sh [--no-build] [--unpinned] [--markdown]
#
#   --no-build   reuse build-release/examples/roadrunner-demo
#   --unpinned   do not pin with taskset (recorded in the report)
#   --markdown   print the report as Markdown (for docs/benchmarks.md)
#
# Scenarios (each against roadrunner and nginx, in turn, RUNS times):
#   file1k, file64k, file1m  GET /static/f1k.bin (1 KiB), f64k.bin, f1m.bin:
#                            roadrunner --static-dir (sendfile) vs nginx
#                            `alias` with sendfile on
#   gzip1, gzip6             GET /large (65536 bytes of text/plain) with
#                            Accept-Encoding: gzip; roadrunner
#                            --gzip-level=N vs nginx gzip_comp_level N
# Each run is a fresh server pinned to CPU 1, wrk (one thread, CONNECTIONS
# keep-alive connections) pinned to CPU 0 for DURATION seconds after WARMUP
# seconds. Figures: server CPU microseconds per request (utime+stime of all
# its threads from /proc/PID/stat over wrk's request count) and req/s;
# medians over the runs and the roadrunner/nginx ratio. Before each gzip
# run both servers are checked to answer with content-encoding: gzip.
#
# Environment: DURATION=10, RUNS=3, CONNECTIONS=50, WARMUP=2, RR_DEMO,
# SCENARIOS="file1k file64k file1m gzip1 gzip6". Needs a quiet machine.

# shellcheck source-path=SCRIPTDIR source=lib/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/prelude.sh"

record_command "DURATION RUNS CONNECTIONS WARMUP RR_DEMO SCENARIOS" "$0" "$@"

BUILD=1 PINNED=1 MARKDOWN=0
only_common_options "$0" "$@"
DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
CONNECTIONS=${CONNECTIONS:-50}
WARMUP=${WARMUP:-2}
RR_DEMO=${RR_DEMO:-$ROOT/build-release/examples/roadrunner-demo}
SCENARIOS=${SCENARIOS:-file1k file64k file1m gzip1 gzip6}
for v in DURATION RUNS CONNECTIONS WARMUP; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
STARTUP_TIMEOUT=10

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rr-static.XXXXXX")
install_cleanup

ensure_tools wrk:wrk nginx-light:nginx curl:curl util-linux:taskset
CLK_TCK=$(getconf CLK_TCK)
setup_pinning
if ((BUILD)); then build_demo; fi
check_demo_binary

mkdir -p "$TMP/www"
head -c 1024 /dev/urandom >"$TMP/www/f1k.bin"
head -c 65536 /dev/urandom >"$TMP/www/f64k.bin"
head -c 1048576 /dev/urandom >"$TMP/www/f1m.bin"
head -c 65536 /dev/zero | tr '\0' x >"$TMP/large.txt"
NGINX_CONF_IN=$SCRIPT_DIR/nginx/static.conf.in

declare -A US=() RPS=()
FAILED=0

path_of() {
  case $1 in
    file1k) echo /static/f1k.bin ;;
    file64k) echo /static/f64k.bin ;;
    file1m) echo /static/f1m.bin ;;
    gzip*) echo /large ;;
    *) die "unknown scenario $1" ;;
  esac
}

level_of() { [[ $1 == gzip* ]] && echo "${1#gzip}" || echo 6; }

# start SERVER SCENARIO -- sets SRV_PID and SRV_PORT.
start() {
  local level
  level=$(level_of "$2")
  case $1 in
    rr)
      RR_EXTRA=(--max-keep-alive-requests=1000000 --max-clients=1024
        "--static-dir=$TMP/www" "--gzip-level=$level")
      start_roadrunner
      SRV_PID=$RR_PID SRV_PORT=$RR_PORT
      ;;
    nginx)
      NGINX_SED=(-e "s#@GZIP_LEVEL@#$level#g")
      start_nginx
      SRV_PID=$NGINX_PID SRV_PORT=$NGINX_PORT
      ;;
  esac
}

stop() {
  case $1 in
    rr) stop_pid "$RR_PID" roadrunner-demo && RR_PID="" ;;
    nginx) stop_pid "$NGINX_PID" nginx && NGINX_PID="" ;;
  esac
}

# wrk_run SECONDS PORT PATH SCENARIO OUT
wrk_run() {
  local hdr=()
  [[ $4 == gzip* ]] && hdr=(-H "Accept-Encoding: gzip")
  timeout $(($1 + 60)) "${PIN_CLIENT[@]}" wrk -t1 "-c$CONNECTIONS" "-d$1s" \
    "${hdr[@]}" "http://127.0.0.1:$2$3" >"$5" 2>&1
}

# check SERVER SCENARIO PORT PATH -- the answer is what is measured.
check() {
  local want head hdr=()
  [[ $2 == gzip* ]] && hdr=(-H "Accept-Encoding: gzip")
  head=$(curl -sS --max-time 5 -o /dev/null -D - "${hdr[@]}" \
    "http://127.0.0.1:$3$4") || die "$1: GET $4 failed"
  head=$(tr -d '\r' <<<"$head")
  grep -q '^HTTP/1.1 200' <<<"$head" || die "$1: GET $4: $(head -n1 <<<"$head")"
  if [[ $2 == gzip* ]]; then
    want="content-encoding: gzip"
    grep -qi "^$want" <<<"$head" || die "$1: GET $4 is not gzipped"
  fi
}

measure() {
  local srv=$1 sc=$2 run=$3 key="$1.$2" path out t0 t1 reqs rps us
  path=$(path_of "$sc")
  out=$TMP/wrk.$key.$run.txt
  log "run $run/$RUNS: $srv $sc (GET $path)"
  start "$srv" "$sc"
  check "$srv" "$sc" "$SRV_PORT" "$path"
  wrk_run "$WARMUP" "$SRV_PORT" "$path" "$sc" "$TMP/warm.txt" || die "warm-up against $key failed"
  t0=$(cpu_ticks "$SRV_PID") || die "$srv is gone"
  wrk_run "$DURATION" "$SRV_PORT" "$path" "$sc" "$out" || die "wrk against $key failed: $(tail -n5 "$out")"
  t1=$(cpu_ticks "$SRV_PID") || die "$srv died during the run"
  reqs=$(awk '/ requests in / { print $1; exit }' "$out")
  rps=$(awk '/^Requests\/sec:/ { print $2; exit }' "$out")
  [[ -n $reqs && $reqs -gt 0 ]] || die "could not parse wrk output for $key: $(cat "$out")"
  if grep -q 'Non-2xx or 3xx responses' "$out"; then
    warn "$key run $run: non-2xx responses"
    FAILED=1
  fi
  us=$(calc "($t1 - $t0) / $CLK_TCK * 1e6 / $reqs")
  US[$key]+=" $us" RPS[$key]+=" $rps"
  stop "$srv"
}

read -r -a SCS <<<"$SCENARIOS"
for ((run = 1; run <= RUNS; run++)); do
  for sc in "${SCS[@]}"; do
    for srv in rr nginx; do measure "$srv" "$sc" "$run"; done
  done
done

print_info "Static files and gzip: roadrunner vs nginx" "command commit" \
  "date|$START_DATE" "machine|$(machine_line)" "commit|$(commit_line)" \
  "command|$COMMAND" \
  "load|wrk -t1 -c$CONNECTIONS -d${DURATION}s, $RUNS runs each, $( ((PINNED)) && echo "server on CPU 1, wrk on CPU 0" || echo unpinned)"
rows=()
for sc in "${SCS[@]}"; do
  rows+=("$sc|$(spread "rr.$sc" US %.2f)|$(spread "nginx.$sc" US %.2f)|$(ratio_of "$(med "rr.$sc" US)" "$(med "nginx.$sc" US)")|$(spread "rr.$sc" RPS %.0f)|$(spread "nginx.$sc" RPS %.0f)")
done
echo
table "|---|---:|---:|---:|---:|---:|" \
  "scenario|roadrunner CPU us/req|nginx CPU us/req|rr / nginx|roadrunner req/s|nginx req/s" "${rows[@]}"
exit "$FAILED"
