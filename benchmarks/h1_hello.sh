#!/usr/bin/env bash
# h1_hello.sh -- side-by-side HTTP/1.1 "Hello, World!" load benchmark:
# roadrunner-demo vs. nginx, same machine, same load generator, same pinning.
#
# Usage: benchmarks/h1_hello.sh [--no-build] [--unpinned] [--markdown]
#
#   --no-build   use the existing demo binary instead of building it
#                (cmake Release build in build-release/, target roadrunner-demo)
#   --unpinned   do not pin with taskset (recorded in the report)
#   --markdown   print the report as Markdown (for docs/benchmarks.md)
#
# Environment:
#   DURATION=10     seconds per measured run
#   RUNS=3          measured runs per server (alternating rr, nginx, rr, ...)
#   CONNECTIONS=50  wrk connections (one wrk thread)
#   WARMUP=2        seconds of warm-up load per server before measuring
#   RR_DEMO=path    demo binary (default build-release/examples/roadrunner-demo)
#   RR_FLAGS=...    extra demo flags; default --max-keep-alive-requests=1000000
#                   to match nginx's keepalive_requests (set RR_FLAGS= to drop)
#
# Method: each server is pinned to CPU 1 and wrk to CPU 0. Per run we record
# req/s, p99 latency, total requests and the server's CPU time (utime+stime
# of all its threads from /proc/PID/stat, before/after the run), giving
# "server CPU microseconds per request" -- a throughput-independent cost
# metric. The report (stdout) shows medians with min..max spread and the
# roadrunner/nginx ratios; progress goes to stderr. Exits non-zero if any
# step fails or any run saw errors / non-2xx responses.
#
# Requires root only to apt-get install missing tools (wrk, nginx-light, curl).

set -euo pipefail
export LC_ALL=C # '.' decimal point for awk/printf/sort -g

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$SCRIPT_DIR/lib/common.sh"

START_DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')

# --- the exact command, for the report (env overrides first) ---------------
COMMAND=""
for v in DURATION RUNS CONNECTIONS WARMUP RR_DEMO RR_FLAGS; do
  if [[ -v $v ]]; then COMMAND+="$v=$(printf '%q' "${!v}") "; fi
done
COMMAND+=$(printf '%q' "$0")
for a in "$@"; do COMMAND+=" $(printf '%q' "$a")"; done

# --- options ----------------------------------------------------------------
BUILD=1 PINNED=1 MARKDOWN=0
for a in "$@"; do
  case $a in
    --no-build) BUILD=0 ;;
    --unpinned) PINNED=0 ;;
    --markdown) MARKDOWN=1 ;;
    -h | --help)
      sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"
      exit 0
      ;;
    *) die "unknown option: $a (see --help)" ;;
  esac
done

DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
CONNECTIONS=${CONNECTIONS:-50}
WARMUP=${WARMUP:-2}
RR_DEMO=${RR_DEMO:-$ROOT/build-release/examples/roadrunner-demo}
RR_FLAGS=${RR_FLAGS---max-keep-alive-requests=1000000}
for v in DURATION RUNS CONNECTIONS WARMUP; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
read -r -a RR_EXTRA <<<"$RR_FLAGS"

EXPECTED_BODY='Hello, World!'
STARTUP_TIMEOUT=10 # seconds to wait for a server to come up

# --- temp dir, process bookkeeping and cleanup --------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/rr-h1-hello.XXXXXX")
RR_PID="" NGINX_PID=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n $RR_PID ]] && stop_pid "$RR_PID" roadrunner-demo
  [[ -n $NGINX_PID ]] && stop_pid "$NGINX_PID" nginx
  rm -rf -- "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- prerequisites -------------------------------------------------------------
ensure_tools wrk:wrk nginx-light:nginx curl:curl util-linux:taskset
CLK_TCK=$(getconf CLK_TCK)

if ((PINNED)); then
  # Both CPUs must be in our allowed set (fails e.g. on a 1-CPU machine).
  taskset -c 0,1 true 2>/dev/null ||
    die "cannot pin to CPUs 0 and 1 (nproc=$(nproc)); use --unpinned"
  PIN_SERVER=(taskset -c 1)
  PIN_CLIENT=(taskset -c 0)
else
  PIN_SERVER=()
  PIN_CLIENT=()
fi

if ((BUILD)); then
  log "building roadrunner-demo (Release) in $ROOT/build-release"
  cmake -S "$ROOT" -B "$ROOT/build-release" -DCMAKE_BUILD_TYPE=Release >&2 ||
    die "cmake configure failed"
  cmake --build "$ROOT/build-release" --target roadrunner-demo -j2 >&2 ||
    die "cmake build failed"
fi
if [[ ! -x $RR_DEMO ]]; then
  hint=""
  [[ -x $ROOT/build/examples/roadrunner-demo ]] &&
    hint=" (a build exists at build/examples/roadrunner-demo: set RR_DEMO, but it may not be a Release build)"
  die "demo binary not found or not executable: $RR_DEMO$hint"
fi

# --- server start-up ----------------------------------------------------------
# check_server NAME PORT -- fail loudly unless GET / answers 200, text/plain,
# exactly $EXPECTED_BODY, and a second request reuses the connection.
check_server() {
  local name=$1 url="http://127.0.0.1:$2/" code ctype conns body
  code=$(curl -sS --max-time 5 -D "$TMP/$name.hdr" -o "$TMP/$name.body" \
    -w '%{http_code}' "$url") || die "$name: curl $url failed"
  [[ $code == 200 ]] || die "$name: GET / returned HTTP $code, expected 200"
  if ! cmp -s "$TMP/$name.body" <(printf '%s' "$EXPECTED_BODY"); then
    body=$(head -c 200 "$TMP/$name.body"; echo x) # x keeps trailing newlines
    die "$name: GET / body is $(printf '%q' "${body%x}") ($(wc -c <"$TMP/$name.body") bytes), expected '$EXPECTED_BODY'"
  fi
  ctype=$(tr -d '\r' <"$TMP/$name.hdr" | awk -F': *' 'tolower($1) == "content-type" { print $2 }')
  [[ $ctype == text/plain* ]] ||
    die "$name: Content-Type is '$ctype', expected text/plain"
  # Two transfers in one curl call: the second must not open a new connection.
  conns=$(curl -sS --max-time 5 -o /dev/null -o /dev/null \
    -w '%{num_connects} ' "$url" "$url") || die "$name: keep-alive check failed"
  [[ $conns == "1 0 " ]] ||
    die "$name: connection not kept alive (new connections per request: $conns)"
  log "$name OK on $url"
}

start_roadrunner() {
  local i port=""
  log "starting $RR_DEMO --port=0 --bind=127.0.0.1 --reactors=1 ${RR_EXTRA[*]}"
  spawn "${PIN_SERVER[@]}" "$RR_DEMO" --port=0 --bind=127.0.0.1 --reactors=1 \
    "${RR_EXTRA[@]}" >"$TMP/rr.out" 2>"$TMP/rr.err"
  RR_PID=$SPAWNED_PID
  # The demo prints exactly one start line with the kernel-chosen port.
  for ((i = 0; i < STARTUP_TIMEOUT * 10; i++)); do
    port=$(sed -nE 's#^roadrunner-demo listening on http://127\.0\.0\.1:([0-9]+)$#\1#p' \
      "$TMP/rr.out" | head -n1)
    [[ -n $port ]] && break
    kill -0 "$RR_PID" 2>/dev/null ||
      die "roadrunner-demo exited during start-up: $(tail -n5 "$TMP/rr.err")"
    sleep 0.1
  done
  [[ -n $port ]] ||
    die "no start line from roadrunner-demo within ${STARTUP_TIMEOUT}s (stdout: $(head -c 300 "$TMP/rr.out"))"
  # taskset -c at exec time already pins every thread; -a re-applies it to
  # all current threads in case the binary changes its own affinity.
  if ((PINNED)); then taskset -apc 1 "$RR_PID" >/dev/null; fi
  RR_PORT=$port
  check_server roadrunner "$RR_PORT"
}

start_nginx() {
  local i port
  port=$(free_port) || die "could not find a free port for nginx"
  sed -e "s#@PREFIX@#$TMP#g" -e "s#@PORT@#$port#g" \
    "$SCRIPT_DIR/nginx/hello.conf.in" >"$TMP/nginx.conf"
  log "starting nginx -c $TMP/nginx.conf (port $port)"
  # master_process off: this single process is the worker.
  spawn "${PIN_SERVER[@]}" nginx -c "$TMP/nginx.conf" -p "$TMP/" -e "$TMP/error.log" \
    >"$TMP/nginx.out" 2>&1
  NGINX_PID=$SPAWNED_PID
  for ((i = 0; i < STARTUP_TIMEOUT * 10; i++)); do
    kill -0 "$NGINX_PID" 2>/dev/null ||
      die "nginx exited during start-up: $(cat "$TMP/nginx.out" "$TMP/error.log" 2>/dev/null | tail -n5)"
    curl -s --max-time 1 -o /dev/null "http://127.0.0.1:$port/" && break
    sleep 0.1
  done
  ((i < STARTUP_TIMEOUT * 10)) || die "nginx not answering within ${STARTUP_TIMEOUT}s"
  NGINX_PORT=$port
  check_server nginx "$NGINX_PORT"
}

# --- load runs ------------------------------------------------------------------
WRK_ARGS=(-t1 "-c$CONNECTIONS" "-d${DURATION}s" --latency) # as run by wrk_run; for the report
FAILED=0
declare -A RPS=() US=() P99=() REQS=() CPUPCT=() WRKPCT=() OTHERPCT=() # per server, space-separated
RUN_LINES=()

# wrk_run SECONDS PORT OUTFILE -- one bounded wrk invocation on the client CPU.
wrk_run() {
  timeout $(($1 + 60)) "${PIN_CLIENT[@]}" wrk -t1 "-c$CONNECTIONS" "-d$1s" --latency \
    "http://127.0.0.1:$2/" >"$3" 2>&1
}

# measure NAME PID PORT RUN -- one measured run; appends to the arrays above.
measure() {
  local name=$1 pid=$2 port=$3 run=$4 out="$TMP/wrk.$1.$4.txt"
  local t0 t1 w0 w1 c0 c1 m0 m1 reqs rps p99 non2xx sockerr cpu_s us pct wpct opct
  log "run $run/$RUNS: $name (${DURATION}s)"
  t0=$(cpu_ticks "$pid") || die "$name (pid $pid) is gone"
  children_cpu c0 "$TMP/times"
  read -r m0 _ < <(busy_ticks)
  w0=$EPOCHREALTIME
  wrk_run "$DURATION" "$port" "$out" || die "wrk failed against $name: $(tail -n5 "$out")"
  w1=$EPOCHREALTIME
  read -r m1 _ < <(busy_ticks)
  children_cpu c1 "$TMP/times"
  t1=$(cpu_ticks "$pid") || die "$name (pid $pid) died during the run"

  reqs=$(awk '/ requests in / { print $1; exit }' "$out")
  rps=$(awk '/^Requests\/sec:/ { print $2; exit }' "$out")
  [[ -n $reqs && -n $rps && $reqs -gt 0 ]] ||
    die "could not parse wrk output for $name:"$'\n'"$(cat "$out")"
  p99=$(awk '/Latency Distribution/ { d = 1 } d && $1 == "99%" { print $2; exit }' "$out")
  if [[ -n $p99 ]]; then p99=$(to_ms "$p99"); else p99=n/a; fi
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF; exit }' "$out")
  sockerr=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10; exit }' "$out")
  non2xx=${non2xx:-0} sockerr=${sockerr:-0}

  cpu_s=$(calc "($t1 - $t0) / $CLK_TCK")
  us=$(calc "$cpu_s * 1e6 / $reqs")
  # Utilisation over the wall time actually measured (wrk start-up included);
  # ~100% means the server saturated its one pinned core.
  pct=$(calc "100 * $cpu_s / ($w1 - $w0)")
  # Same for the load generator: if wrk is near 100% it, not the server, is
  # the throughput limit, and CPU us/req is the number to compare.
  wpct=$(calc "100 * ($c1 - $c0) / ($w1 - $w0)")
  # Whatever else kept the machine busy meanwhile (other processes, plus
  # kernel time not charged to either, e.g. loopback softirqs), in % of one
  # core. High values mean a noisy run.
  opct=$(calc "100 * (($m1 - $m0) / $CLK_TCK - $cpu_s - ($c1 - $c0)) / ($w1 - $w0)")

  RPS[$name]+=" $rps" US[$name]+=" $us" REQS[$name]+=" $reqs"
  CPUPCT[$name]+=" $pct" WRKPCT[$name]+=" $wpct" OTHERPCT[$name]+=" $opct"
  [[ $p99 != n/a ]] && P99[$name]+=" $p99"
  RUN_LINES+=("$run|$name|$rps|$reqs|$p99|$cpu_s|$pct|$wpct|$opct|$us|$non2xx|$sockerr")
  if ((non2xx > 0 || sockerr > 0)); then
    warn "$name run $run: $non2xx non-2xx responses, $sockerr socket errors"
    FAILED=1
  fi
}

# Other load on the machine skews everything (CPU us/req the least): measure
# it before our servers start and put it in the report.
IDLE_BUSY=$(busy_pct 1)
((IDLE_BUSY <= 10)) ||
  warn "machine already ${IDLE_BUSY}% busy before starting the servers; results will be noisy"

start_roadrunner
start_nginx

log "warm-up: ${WARMUP}s per server"
wrk_run "$WARMUP" "$RR_PORT" "$TMP/warmup.rr.txt" || die "warm-up against roadrunner failed"
wrk_run "$WARMUP" "$NGINX_PORT" "$TMP/warmup.nginx.txt" || die "warm-up against nginx failed"

# Alternate servers so that slow drift (thermal, noisy neighbours) hits both.
for ((r = 1; r <= RUNS; r++)); do
  measure roadrunner "$RR_PID" "$RR_PORT" "$r"
  measure nginx "$NGINX_PID" "$NGINX_PORT" "$r"
done

# --- report ---------------------------------------------------------------------
# spread NAME ARRAY FORMAT -- "median [min..max]" of one metric of one server.
spread() {
  local -n arr=$2
  local -a v
  read -r -a v <<<"${arr[$1]:-}"
  if ((${#v[@]} == 0)); then
    echo n/a
    return
  fi
  printf '%s [%s..%s]' "$(fmt "$3" "$(median "${v[@]}")")" \
    "$(fmt "$3" "$(minimum "${v[@]}")")" "$(fmt "$3" "$(maximum "${v[@]}")")"
}
med() {
  local -n arr=$2
  local -a v
  read -r -a v <<<"${arr[$1]:-}"
  if ((${#v[@]})); then median "${v[@]}"; else echo n/a; fi
}
ratio() {
  local a b
  a=$(med roadrunner "$1") b=$(med nginx "$1")
  if [[ $a == n/a || $b == n/a ]] || [[ $(calc "$b == 0") == 1 ]]; then
    echo n/a
  else
    printf '%.2fx' "$(calc "$a / $b")"
  fi
}

COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo uncommitted)
if [[ $COMMIT != uncommitted && -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]]; then
  COMMIT+=" (dirty tree)"
fi
CPU_MODEL=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
WRK_VERSION=$(wrk --version 2>&1 | awk 'NR == 1 { print $2 }' || true)
NGINX_VERSION=$(nginx -v 2>&1 | sed 's#.*nginx/##')
if ((PINNED)); then
  PINNING="server on CPU 1, wrk on CPU 0 (taskset)"
else
  PINNING="UNPINNED (--unpinned): no taskset"
fi

INFO=(
  "date|$START_DATE"
  "commit|$COMMIT"
  "command|$COMMAND"
  "machine|$(nproc) CPUs, ${CPU_MODEL:-unknown CPU}, Linux $(uname -r); ${IDLE_BUSY}% busy (all CPUs) just before start"
  "tools|wrk ${WRK_VERSION:-?}, nginx ${NGINX_VERSION:-?}"
  "pinning|$PINNING"
  "load|wrk ${WRK_ARGS[*]}, ${WARMUP}s warm-up per server, $RUNS runs per server, alternating"
  "roadrunner|$(basename "$RR_DEMO") --port=0 --bind=127.0.0.1 --reactors=1 ${RR_EXTRA[*]}"
  "nginx|1 process (master_process off), keepalive_requests 1000000, access_log off"
  "cpu metric|server utime+stime (all threads) / requests; CLK_TCK=$CLK_TCK; CPU % = share of one core over the run"
)

SUMMARY=()
for s in roadrunner nginx; do
  SUMMARY+=("$s|$(spread "$s" RPS '%.0f')|$(spread "$s" US '%.2f')|$(spread "$s" P99 '%.2f')|$(spread "$s" CPUPCT '%.0f')|$(spread "$s" WRKPCT '%.0f')")
done
RATIO_US=$(ratio US)
RATIO_RPS=$(ratio RPS)
# shellcheck disable=SC2086 # word-splitting the space-separated lists
MAX_OTHER=$(maximum ${OTHERPCT[roadrunner]} ${OTHERPCT[nginx]})
NOTES=(
  "CPU % columns are shares of one core over the run. wrk near 100% means the load generator, not the server, limits req/s: then compare CPU us/req."
  "other % = machine CPU time not charged to the server or wrk (other processes, loopback softirqs); if it is high the run was disturbed."
)
if [[ $(calc "$MAX_OTHER > 15") == 1 ]]; then
  NOTES+=("NOISY: other % reached $(fmt '%.0f' "$MAX_OTHER") in some run; treat req/s and p99 with care (CPU us/req is the most robust).")
fi
if ((FAILED)); then
  NOTES+=("RESULT INVALID: some runs saw socket errors or non-2xx responses (see per-run table).")
fi

if ((MARKDOWN)); then
  echo "### HTTP/1.1 hello world: roadrunner vs nginx"
  echo
  bt='`' # code-format the command lines only
  for l in "${INFO[@]}"; do
    k=${l%%|*} val=${l#*|}
    case $k in command | load | roadrunner) val="$bt$val$bt" ;; esac
    printf -- '- **%s**: %s\n' "$k" "$val"
  done
  echo
  echo "Median [min..max] over $RUNS runs of ${DURATION}s:"
  echo
  echo "| server | req/s | server CPU µs/req | p99 latency (ms) | server CPU % | wrk CPU % |"
  echo "|---|---:|---:|---:|---:|---:|"
  for l in "${SUMMARY[@]}"; do
    IFS='|' read -r s rps us p99 pct wpct <<<"$l"
    echo "| $s | $rps | $us | $p99 | $pct | $wpct |"
  done
  echo "| **roadrunner / nginx** | **$RATIO_RPS** | **$RATIO_US** | | | |"
  echo
  for n in "${NOTES[@]}"; do echo "- $n"; done
  echo
  echo "<details><summary>Per run</summary>"
  echo
  echo "| run | server | req/s | requests | p99 (ms) | server CPU s | server CPU % | wrk CPU % | other CPU % | CPU µs/req | non-2xx | socket errors |"
  echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for l in "${RUN_LINES[@]}"; do
    IFS='|' read -r run s rps reqs p99 cpu pct wpct opct us n2 se <<<"$l"
    printf '| %s | %s | %.0f | %s | %s | %.2f | %.0f | %.0f | %.0f | %.2f | %s | %s |\n' \
      "$run" "$s" "$rps" "$reqs" "$(fmt '%.2f' "$p99")" "$cpu" "$pct" "$wpct" "$opct" "$us" "$n2" "$se"
  done
  echo
  echo "</details>"
else
  echo "== HTTP/1.1 hello world: roadrunner vs nginx =="
  for l in "${INFO[@]}"; do printf '%-11s %s\n' "${l%%|*}:" "${l#*|}"; done
  echo
  echo "Per run:"
  printf '  %3s  %-10s  %10s  %10s  %8s  %6s  %5s  %5s  %6s  %8s  %7s  %6s\n' \
    run server req/s requests p99_ms cpu_s cpu% wrk% other% us/req non2xx sockerr
  for l in "${RUN_LINES[@]}"; do
    IFS='|' read -r run s rps reqs p99 cpu pct wpct opct us n2 se <<<"$l"
    printf '  %3s  %-10s  %10.0f  %10s  %8s  %6.2f  %5.0f  %5.0f  %6.0f  %8.2f  %7s  %6s\n' \
      "$run" "$s" "$rps" "$reqs" "$(fmt '%.2f' "$p99")" "$cpu" "$pct" "$wpct" "$opct" "$us" "$n2" "$se"
  done
  echo
  echo "Summary: median [min..max] over $RUNS runs of ${DURATION}s"
  printf '  %-10s  %-26s  %-20s  %-20s  %-14s  %s\n' server req/s "server CPU us/req" "p99 ms" "server CPU %" "wrk CPU %"
  for l in "${SUMMARY[@]}"; do
    IFS='|' read -r s rps us p99 pct wpct <<<"$l"
    printf '  %-10s  %-26s  %-20s  %-20s  %-14s  %s\n' "$s" "$rps" "$us" "$p99" "$pct" "$wpct"
  done
  echo
  echo "roadrunner/nginx: req/s $RATIO_RPS (higher is better), CPU us/req $RATIO_US (lower is better)"
  echo
  for n in "${NOTES[@]}"; do echo "note: $n"; done
fi

if ((FAILED)); then
  warn "some runs saw errors or non-2xx responses (see per-run table)"
  exit 1
fi
log "done"
