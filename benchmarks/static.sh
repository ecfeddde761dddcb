#!/usr/bin/env bash
# static.sh -- static files (plain and TLS) and compression: roadrunner-demo
# next to nginx in the same run, same load generator, same pinning.
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
#   tls1k, tls64k, tls1m     the same files over TLS (HTTP/1.1, wrk
#                            https://): roadrunner --protocols=http1 with
#                            --tls-cert/--tls-key (file bodies read with
#                            pread in 16 KiB pieces and encrypted) vs
#                            nginx `ssl` on the same certificate (no kTLS
#                            on either side: both read and encrypt)
#   gzip1, gzip6             GET /large (65536 bytes of text/plain) with
#                            Accept-Encoding: gzip; roadrunner
#                            --gzip-level=N vs nginx gzip_comp_level N
#   br, zstd                 GET /large with Accept-Encoding: br / zstd;
#                            roadrunner alone (brotli quality 4, zstd level
#                            3: the compress middleware's defaults); Debian's
#                            nginx has neither coding, so its columns are
#                            n/a: figures for the record
# Each run is a fresh server pinned to CPU 1, wrk (one thread, CONNECTIONS
# keep-alive connections) pinned to CPU 0 for DURATION seconds after WARMUP
# seconds. Figures: server CPU microseconds per request (utime+stime of all
# its threads from /proc/PID/stat over wrk's request count) and req/s;
# medians over the runs and the roadrunner/nginx ratio. Before each gzip
# run both servers are checked to answer with content-encoding: gzip (br,
# zstd for those rows). The TLS certificate is a self-signed ECDSA P-256
# one made with the openssl CLI in the temp dir at start; TLS settings as
# nginx/tls_h2.conf.in (roadrunner's defaults).
#
# Environment: DURATION=10, RUNS=3, CONNECTIONS=50, WARMUP=2, RR_DEMO,
# SCENARIOS="file1k file64k file1m tls1k tls64k tls1m gzip1 gzip6 br zstd".
# Needs a quiet machine.

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
SCENARIOS=${SCENARIOS:-file1k file64k file1m tls1k tls64k tls1m gzip1 gzip6 br zstd}
for v in DURATION RUNS CONNECTIONS WARMUP; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
STARTUP_TIMEOUT=10

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rr-static.XXXXXX")
install_cleanup

ensure_tools wrk:wrk nginx-light:nginx curl:curl util-linux:taskset openssl:openssl
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
# The run's certificate, for the tls* rows (both servers read these files).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -keyout "$TMP/key.pem" -out "$TMP/cert.pem" >"$TMP/openssl-req.out" 2>&1 ||
  die "openssl req failed: $(tail -n3 "$TMP/openssl-req.out")"

declare -A US=() RPS=()
FAILED=0

path_of() {
  case $1 in
    file1k | tls1k) echo /static/f1k.bin ;;
    file64k | tls64k) echo /static/f64k.bin ;;
    file1m | tls1m) echo /static/f1m.bin ;;
    gzip* | br | zstd) echo /large ;;
    *) die "unknown scenario $1" ;;
  esac
}

level_of() { [[ $1 == gzip* ]] && echo "${1#gzip}" || echo 6; }

# coding_of SCENARIO -- the Accept-Encoding it sends (empty: none).
coding_of() {
  case $1 in
    gzip*) echo gzip ;;
    br | zstd) echo "$1" ;;
  esac
}

# servers_of SCENARIO -- who is measured (nginx has no br or zstd).
servers_of() {
  case $1 in
    br | zstd) echo rr ;;
    *) echo rr nginx ;;
  esac
}

# start SERVER SCENARIO -- sets SRV_PID, SRV_PORT and SRV_SCHEME.
start() {
  local level
  level=$(level_of "$2")
  SRV_SCHEME=http
  case $1 in
    rr)
      RR_EXTRA=(--max-keep-alive-requests=1000000 --max-clients=1024
        "--static-dir=$TMP/www" "--gzip-level=$level")
      if [[ $2 == tls* ]]; then
        RR_EXTRA+=(--protocols=http1 "--tls-cert=$TMP/cert.pem" "--tls-key=$TMP/key.pem")
      fi
      start_roadrunner
      SRV_PID=$RR_PID SRV_PORT=$RR_PORT SRV_SCHEME=$RR_SCHEME
      ;;
    nginx)
      local tls_port
      tls_port=$(free_port) || die "could not find a free port for nginx"
      NGINX_SED=(-e "s#@GZIP_LEVEL@#$level#g" -e "s#@TLS_PORT@#$tls_port#g"
        -e "s#@CERT@#$TMP/cert.pem#g" -e "s#@KEY@#$TMP/key.pem#g")
      start_nginx
      SRV_PID=$NGINX_PID SRV_PORT=$NGINX_PORT
      if [[ $2 == tls* ]]; then SRV_PORT=$tls_port SRV_SCHEME=https; fi
      ;;
  esac
}

stop() {
  case $1 in
    rr) stop_pid "$RR_PID" roadrunner-demo && RR_PID="" ;;
    nginx) stop_pid "$NGINX_PID" nginx && NGINX_PID="" ;;
  esac
}

# wrk_run SECONDS URL SCENARIO OUT
wrk_run() {
  local hdr=() coding
  coding=$(coding_of "$3")
  [[ -n $coding ]] && hdr=(-H "Accept-Encoding: $coding")
  timeout $(($1 + 60)) "${PIN_CLIENT[@]}" wrk -t1 "-c$CONNECTIONS" "-d$1s" \
    "${hdr[@]}" "$2" >"$4" 2>&1
}

# check SERVER SCENARIO URL -- the answer is what is measured: 200 over
# HTTP/1.1, in the scenario's coding.
check() {
  local head hdr=() coding
  coding=$(coding_of "$2")
  [[ -n $coding ]] && hdr=(-H "Accept-Encoding: $coding")
  head=$(curl -ksS --http1.1 --max-time 5 -o /dev/null -D - "${hdr[@]}" "$3") ||
    die "$1: GET $3 failed"
  head=$(tr -d '\r' <<<"$head")
  grep -q '^HTTP/1.1 200' <<<"$head" || die "$1: GET $3: $(head -n1 <<<"$head")"
  if [[ -n $coding ]]; then
    grep -qi "^content-encoding: $coding\$" <<<"$head" ||
      die "$1: GET $3 is not in $coding"
  fi
}

measure() {
  local srv=$1 sc=$2 run=$3 key="$1.$2" path url out t0 t1 reqs rps us
  path=$(path_of "$sc")
  out=$TMP/wrk.$key.$run.txt
  log "run $run/$RUNS: $srv $sc (GET $path)"
  start "$srv" "$sc"
  url="$SRV_SCHEME://127.0.0.1:$SRV_PORT$path"
  check "$srv" "$sc" "$url"
  wrk_run "$WARMUP" "$url" "$sc" "$TMP/warm.txt" || die "warm-up against $key failed"
  t0=$(cpu_ticks "$SRV_PID") || die "$srv is gone"
  wrk_run "$DURATION" "$url" "$sc" "$out" || die "wrk against $key failed: $(tail -n5 "$out")"
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
    for srv in $(servers_of "$sc"); do measure "$srv" "$sc" "$run"; done
  done
done

print_info "Static files (plain and TLS) and compression: roadrunner vs nginx" "command commit" \
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
