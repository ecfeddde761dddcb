#!/usr/bin/env bash
# h1_hello.sh -- side-by-side HTTP/1.1 load benchmark: roadrunner-demo vs.
# nginx, same machine, same load generator, same pinning, several scenarios.
#
# Usage: benchmarks/h1_hello.sh [--scenario=NAME | --all] [--no-build]
#                               [--unpinned] [--markdown] [--reactors=N]
#
#   --scenario=NAME  one scenario (default: $SCENARIO, else hello), see below
#   --all            every scenario in one invocation, one summary table
#   --no-build       use the existing demo binary instead of building it
#                    (cmake Release build in build-release/, target roadrunner-demo)
#   --unpinned       do not pin with taskset (recorded in the report)
#   --markdown       print the report as Markdown (for docs/benchmarks.md)
#   --reactors=N     N server threads (default 1): the demo's --reactors=N,
#                    nginx with N worker processes (master_process on); the
#                    CPU per request counts the whole process tree
#
# Scenarios (both servers give byte-identical bodies and content types):
#   hello      GET /, 13-byte "Hello, World!" text/plain, keep-alive
#   hello256   the same over 256 connections (HELLO256_CONNECTIONS)
#   json       GET /json, {"message":"Hello, World!"} application/json
#   large      GET /large, 65536 bytes of 'x' text/plain (not compressed: wrk
#              sends no Accept-Encoding)
#              (nginx: a static file written into the temp dir)
#   pipelined  GET /, PIPELINE_DEPTH requests per write (lib/pipeline.lua)
#   newconn    GET / with "Connection: close": one TCP connection per request,
#              so the server's cost includes accept + close
#   headers    GET / with 16 extra ~40-byte request headers (X-Bench-01..16)
#   post256    POST /echo with a 256-byte application/octet-stream body,
#              answered with the same body (lib/post.lua; nginx: the echo
#              module's echo_read_request_body + echo_request_body, which
#              answers chunked where the demo sends Content-Length)
#   post4k     the same with a 4096-byte body
#
# Environment:
#   SCENARIO=hello  scenario when neither --scenario nor --all is given
#   DURATION=10     seconds per measured run (--all: default 5)
#   RUNS=3          measured runs per server and scenario (alternating rr, nginx, ...)
#   CONNECTIONS=50  wrk connections (one wrk thread), every scenario but hello256
#   HELLO256_CONNECTIONS=256  wrk connections in the hello256 scenario
#   WARMUP=2        seconds of warm-up load per server and scenario
#   PIPELINE_DEPTH=16  requests per write in the pipelined scenario
#   RR_DEMO=path    demo binary (default build-release/examples/roadrunner-demo)
#   RR_FLAGS=...    extra demo flags; default --max-keep-alive-requests=1000000
#                   --max-clients=1024 --compress=false: nginx's
#                   keepalive_requests and worker_connections (the demo's
#                   default cap of 150 connections would turn hello256's
#                   extra connections away), and no compression filter, as
#                   nginx's hello config has gzip off (the demo's middleware
#                   would add `vary` and a decision to every answer; the
#                   compressed cases are static.sh's, against nginx with
#                   gzip on). Set RR_FLAGS= to drop all three
#
# Method: each server is pinned to CPU 1 and wrk to CPU 0. Per run we record
# req/s, p99 latency, total requests and the server's CPU time (utime+stime
# of all its threads from /proc/PID/stat, before/after the run), giving
# "server CPU microseconds per request" -- a throughput-independent cost
# metric. "requests" is wrk's count, which is the number of responses wrk
# parsed (also with pipelining, where one write carries PIPELINE_DEPTH
# requests). Each run also reads the server's own request counter before and
# after (roadrunner: GET /info requests_served; nginx: stub_status) and the
# report shows server-counted / wrk-counted (~1.00 confirms the divisor).
# Each server's response for each scenario is checked with curl (pipelined:
# a raw socket) before it is measured. The report (stdout) shows medians with
# min..max spread and roadrunner/nginx ratios; progress goes to stderr. Exits
# non-zero if any step fails or any run saw errors / non-2xx responses.
#
# Requires root only to apt-get install missing tools (wrk, nginx-light, curl).

# shellcheck source-path=SCRIPTDIR source=lib/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/prelude.sh"

ALL_SCENARIOS=(hello hello256 json large pipelined newconn headers post256 post4k)

# --- the exact command, for the report (env overrides first) ---------------
record_command "SCENARIO DURATION RUNS CONNECTIONS HELLO256_CONNECTIONS WARMUP PIPELINE_DEPTH RR_DEMO RR_FLAGS" "$0" "$@"

# --- options ----------------------------------------------------------------
BUILD=1 PINNED=1 MARKDOWN=0 ALL=0
SCENARIO=${SCENARIO:-hello}
for a in "$@"; do
  common_option "$a" "$0" && continue
  case $a in
    --all) ALL=1 ;;
    --scenario=*) SCENARIO=${a#--scenario=} ;;
    *) die "unknown option: $a (see --help)" ;;
  esac
done
if ((ALL)); then
  SCENARIOS=("${ALL_SCENARIOS[@]}")
  DURATION=${DURATION:-5}
else
  [[ " ${ALL_SCENARIOS[*]} " == *" $SCENARIO "* ]] ||
    die "unknown scenario '$SCENARIO' (one of: ${ALL_SCENARIOS[*]})"
  SCENARIOS=("$SCENARIO")
  DURATION=${DURATION:-10}
fi

RUNS=${RUNS:-3}
CONNECTIONS=${CONNECTIONS:-50}
HELLO256_CONNECTIONS=${HELLO256_CONNECTIONS:-256}
WARMUP=${WARMUP:-2}
PIPELINE_DEPTH=${PIPELINE_DEPTH:-16}
RR_DEMO=${RR_DEMO:-$ROOT/build-release/examples/roadrunner-demo}
RR_FLAGS=${RR_FLAGS---max-keep-alive-requests=1000000 --max-clients=1024 --compress=false}
for v in DURATION RUNS CONNECTIONS HELLO256_CONNECTIONS WARMUP PIPELINE_DEPTH; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
read -r -a RR_EXTRA <<<"$RR_FLAGS"

HELLO_BODY='Hello, World!'
JSON_BODY='{"message":"Hello, World!"}'
LARGE_SIZE=65536
STARTUP_TIMEOUT=10 # seconds to wait for a server to come up

# 16 extra request headers of 40 bytes each (without CRLF):
# "X-Bench-NN: " (12) + 28 value bytes.
BENCH_HEADERS=()
for ((i = 1; i <= 16; i++)); do
  BENCH_HEADERS+=("$(printf 'X-Bench-%02d: %s' "$i" "abcdefghijklmnopqrstuvwxyz01")")
done

# --- temp dir, process bookkeeping and cleanup --------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/rr-h1-hello.XXXXXX")
install_cleanup

# Expected bodies; large.bin is also what nginx serves for /large.
printf '%s' "$HELLO_BODY" >"$TMP/expect.hello"
printf '%s' "$JSON_BODY" >"$TMP/expect.json"
head -c "$LARGE_SIZE" /dev/zero | tr '\0' x >"$TMP/large.bin"
for n in 256 4096; do head -c "$n" /dev/zero | tr '\0' x >"$TMP/post.$n"; done
[[ $(wc -c <"$TMP/large.bin") -eq $LARGE_SIZE ]] || die "could not write $TMP/large.bin"

# --- scenarios -------------------------------------------------------------------
# scenario SCEN -- sets SC_PATH, SC_BODY (expected body file), SC_CTYPE
# (expected Content-Type prefix), SC_WRK (extra wrk options), SC_WRK_ARGS
# (script arguments after the URL), SC_CONNS (wrk connections), SC_CURL
# (extra curl args for the response check) and SC_DESC for scenario SCEN.
scenario() {
  SC_PATH=/ SC_BODY=$TMP/expect.hello SC_CTYPE=text/plain SC_WRK=() SC_CURL=()
  SC_WRK_ARGS=() SC_CONNS=$CONNECTIONS SC_METHOD=GET
  case $1 in
    hello) SC_DESC="GET /, keep-alive" ;;
    hello256)
      SC_CONNS=$HELLO256_CONNECTIONS
      SC_DESC="GET /, keep-alive, $HELLO256_CONNECTIONS connections"
      ;;
    json)
      SC_PATH=/json SC_BODY=$TMP/expect.json SC_CTYPE=application/json
      SC_DESC="GET /json, keep-alive"
      ;;
    large)
      SC_PATH=/large SC_BODY=$TMP/large.bin SC_CTYPE=text/plain
      SC_DESC="GET /large ($LARGE_SIZE bytes), keep-alive"
      ;;
    pipelined)
      SC_WRK=(-s "$SCRIPT_DIR/lib/pipeline.lua") SC_WRK_ARGS=(-- "$PIPELINE_DEPTH")
      SC_DESC="GET /, keep-alive, $PIPELINE_DEPTH requests per write (wrk -s lib/pipeline.lua -- $PIPELINE_DEPTH)"
      ;;
    newconn)
      SC_WRK=(-H "Connection: close")
      SC_CURL=(-H "Connection: close")
      SC_DESC="GET / + 'Connection: close' (new TCP connection per request)"
      ;;
    headers)
      local h
      for h in "${BENCH_HEADERS[@]}"; do
        SC_WRK+=(-H "$h")
        SC_CURL+=(-H "$h")
      done
      SC_DESC="GET / + 16 request headers of 40 bytes (X-Bench-01: abc...)"
      ;;
    post256 | post4k)
      local n=256
      [[ $1 == post4k ]] && n=4096
      SC_PATH=/echo SC_BODY=$TMP/post.$n SC_CTYPE=application/octet-stream SC_METHOD=POST
      SC_WRK=(-s "$SCRIPT_DIR/lib/post.lua") SC_WRK_ARGS=(-- "$n")
      SC_CURL=(--data-binary "@$TMP/post.$n" -H "Content-Type: application/octet-stream")
      SC_DESC="POST /echo, $n-byte body echoed back (wrk -s lib/post.lua -- $n)"
      ;;
    *) die "internal: unknown scenario $1" ;;
  esac
}

# --- prerequisites -------------------------------------------------------------
ensure_tools wrk:wrk nginx-light:nginx curl:curl util-linux:taskset
CLK_TCK=$(getconf CLK_TCK)

setup_pinning
if ((BUILD)); then build_demo; fi
check_demo_binary

# --- response checks ------------------------------------------------------------
# check_pipelined NAME PORT -- writes PIPELINE_DEPTH GET / requests in one go
# over a raw socket (the last one with "Connection: close") and expects
# exactly that many 200 responses, each with the hello body, in order.
check_pipelined() {
  local name=$1 port=$2 i reqs="" out=$TMP/$1.pipelined n200 nbody
  for ((i = 1; i < PIPELINE_DEPTH; i++)); do
    reqs+="GET / HTTP/1.1"$'\r\n'"Host: 127.0.0.1:$port"$'\r\n\r\n'
  done
  reqs+="GET / HTTP/1.1"$'\r\n'"Host: 127.0.0.1:$port"$'\r\n'"Connection: close"$'\r\n\r\n'
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "%s" "$2" >&3 && cat <&3' \
    _ "$port" "$reqs" >"$out" 2>&1 || die "$name: pipelined check failed: $(head -c 300 "$out")"
  # Bodies have no trailing newline, so responses share lines: count matches.
  n200=$(grep -o 'HTTP/1\.1 200 ' "$out" | wc -l)
  nbody=$(grep -o "$HELLO_BODY" "$out" | wc -l)
  [[ $n200 -eq $PIPELINE_DEPTH && $nbody -eq $PIPELINE_DEPTH ]] ||
    die "$name: $PIPELINE_DEPTH pipelined requests gave $n200 200-responses and $nbody bodies"
}

# check_scenario NAME PORT SCEN -- fail loudly unless the scenario's request
# answers 200 with exactly the expected body and Content-Type.
check_scenario() {
  local name=$1 port=$2 url code ctype body conns
  scenario "$3"
  url="http://127.0.0.1:$port$SC_PATH"
  if [[ $3 == pipelined ]]; then
    check_pipelined "$name" "$port"
    log "$name OK for $3 ($PIPELINE_DEPTH pipelined responses)"
    return
  fi
  code=$(curl -sS --max-time 5 "${SC_CURL[@]}" -D "$TMP/$name.hdr" -o "$TMP/$name.body" \
    -w '%{http_code}' "$url") || die "$name: curl $url failed"
  [[ $code == 200 ]] || die "$name ($3): $SC_METHOD $SC_PATH returned HTTP $code, expected 200"
  if ! cmp -s "$TMP/$name.body" "$SC_BODY"; then
    body=$(head -c 200 "$TMP/$name.body"; echo x) # x keeps trailing newlines
    die "$name ($3): $SC_METHOD $SC_PATH body is $(printf '%q' "${body%x}") ($(wc -c <"$TMP/$name.body") bytes), expected $(wc -c <"$SC_BODY") bytes from $SC_BODY"
  fi
  ctype=$(tr -d '\r' <"$TMP/$name.hdr" | awk -F': *' 'tolower($1) == "content-type" { print $2 }')
  [[ $ctype == "$SC_CTYPE"* ]] ||
    die "$name ($3): Content-Type is '$ctype', expected $SC_CTYPE"
  if [[ $3 == newconn ]]; then
    # The server must honour "Connection: close": two transfers, two connects.
    conns=$(curl -sS --max-time 5 "${SC_CURL[@]}" -o /dev/null -o /dev/null \
      -w '%{num_connects} ' "$url" "$url") || die "$name: close check failed"
    [[ $conns == "1 1 " ]] ||
      die "$name: 'Connection: close' not honoured (new connections per request: $conns)"
  fi
  log "$name OK for $3 ($SC_METHOD $SC_PATH: 200, $(wc -c <"$TMP/$name.body") bytes, $ctype)"
}

# server_count NAME PORT -- prints the server's own count of requests served.
server_count() {
  local out
  if [[ $1 == roadrunner ]]; then
    out=$(curl -sS --max-time 5 "http://127.0.0.1:$2/info") || return 1
    sed -nE 's/.*"requests_served":([0-9]+).*/\1/p' <<<"$out"
  else
    out=$(curl -sS --max-time 5 "http://127.0.0.1:$2/nginx_status") || return 1
    awk 'NR == 3 { print $3 }' <<<"$out"
  fi
}

# count_overhead NAME PORT -- how much the counter moves between two
# back-to-back reads with no load (the reads themselves), to subtract later.
count_overhead() {
  local a b
  a=$(server_count "$1" "$2") b=$(server_count "$1" "$2")
  [[ $a =~ ^[0-9]+$ && $b =~ ^[0-9]+$ ]] || die "$1: cannot read its request counter"
  echo $((b - a))
}

# --- load runs ------------------------------------------------------------------
WRK_ARGS=(-t1 "-c$CONNECTIONS" "-d${DURATION}s" --latency) # as run by wrk_run (hello256: -c$HELLO256_CONNECTIONS); for the report
FAILED=0
# Keyed "SCENARIO:SERVER", values space-separated per run.
declare -A RPS=() US=() P99=() REQS=() CPUPCT=() WRKPCT=() OTHERPCT=() CNTRATIO=()
declare -A OVERHEAD=()
RUN_LINES=()

# wrk_run SECONDS PORT OUTFILE -- one bounded wrk invocation on the client CPU
# with the current scenario (SC_PATH, SC_WRK; set by `scenario`).
wrk_run() {
  timeout $(($1 + 60)) "${PIN_CLIENT[@]}" wrk -t1 "-c$SC_CONNS" "-d$1s" --latency \
    "${SC_WRK[@]}" "http://127.0.0.1:$2$SC_PATH" "${SC_WRK_ARGS[@]}" >"$3" 2>&1
}

# measure NAME PID PORT RUN -- one measured run of scenario SC_SCEN; appends
# to the arrays above.
measure() {
  local name=$1 pid=$2 port=$3 run=$4 key="$SC_SCEN:$1" out="$TMP/wrk.$SC_SCEN.$1.$4.txt"
  local t0 t1 w0 w1 c0 c1 m0 m1 n0 n1 reqs rps p99 non2xx sockerr cpu_s us pct wpct opct srv cratio
  log "run $run/$RUNS: $SC_SCEN / $name (${DURATION}s)"
  n0=$(server_count "$name" "$port") || die "$name: cannot read its request counter"
  t0=$(tree_ticks "$pid") || die "$name (pid $pid) is gone"
  children_cpu c0 "$TMP/times"
  read -r m0 _ < <(busy_ticks)
  w0=$EPOCHREALTIME
  wrk_run "$DURATION" "$port" "$out" || die "wrk failed against $name: $(tail -n5 "$out")"
  w1=$EPOCHREALTIME
  read -r m1 _ < <(busy_ticks)
  children_cpu c1 "$TMP/times"
  t1=$(tree_ticks "$pid") || die "$name (pid $pid) died during the run"
  n1=$(server_count "$name" "$port") || die "$name: cannot read its request counter"

  reqs=$(awk '/ requests in / { print $1; exit }' "$out")
  rps=$(awk '/^Requests\/sec:/ { print $2; exit }' "$out")
  [[ -n $reqs && -n $rps && $reqs -gt 0 ]] ||
    die "could not parse wrk output for $name:"$'\n'"$(cat "$out")"
  p99=$(awk '/Latency Distribution/ { d = 1 } d && $1 == "99%" { print $2; exit }' "$out")
  if [[ -n $p99 ]]; then p99=$(to_ms "$p99"); else p99=n/a; fi
  # With pipelining wrk records one latency sample per batch and its upper
  # percentiles come out as 0 (wrk 4.1): not meaningful, so not reported.
  if [[ $SC_SCEN == pipelined || $p99 == 0 ]]; then p99=n/a; fi
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF; exit }' "$out")
  sockerr=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10; exit }' "$out")
  non2xx=${non2xx:-0} sockerr=${sockerr:-0}

  # Requests the server itself counted during the run (minus our counter reads).
  srv=$((n1 - n0 - ${OVERHEAD[$name]}))
  cratio=$(calc "$srv / $reqs")
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

  RPS[$key]+=" $rps" US[$key]+=" $us" REQS[$key]+=" $reqs" CNTRATIO[$key]+=" $cratio"
  CPUPCT[$key]+=" $pct" WRKPCT[$key]+=" $wpct" OTHERPCT[$key]+=" $opct"
  [[ $p99 != n/a ]] && P99[$key]+=" $p99"
  RUN_LINES+=("$SC_SCEN|$run|$name|$rps|$reqs|$srv|$p99|$cpu_s|$pct|$wpct|$opct|$us|$non2xx|$sockerr")
  if ((non2xx > 0 || sockerr > 0)); then
    warn "$SC_SCEN / $name run $run: $non2xx non-2xx responses, $sockerr socket errors ($(grep -m1 'Socket errors:' "$out" | sed 's/^ *//'))"
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
OVERHEAD[roadrunner]=$(count_overhead roadrunner "$RR_PORT")
OVERHEAD[nginx]=$(count_overhead nginx "$NGINX_PORT")

# Check every scenario on both servers before measuring anything.
for SC_SCEN in "${SCENARIOS[@]}"; do
  check_scenario roadrunner "$RR_PORT" "$SC_SCEN"
  check_scenario nginx "$NGINX_PORT" "$SC_SCEN"
done

SCEN_DESC=()
for SC_SCEN in "${SCENARIOS[@]}"; do
  scenario "$SC_SCEN"
  SCEN_DESC+=("$SC_SCEN|$SC_DESC")
  log "scenario $SC_SCEN: ${WARMUP}s warm-up per server"
  wrk_run "$WARMUP" "$RR_PORT" "$TMP/warmup.rr.txt" || die "warm-up against roadrunner failed"
  wrk_run "$WARMUP" "$NGINX_PORT" "$TMP/warmup.nginx.txt" || die "warm-up against nginx failed"
  # Alternate servers so that slow drift (thermal, noisy neighbours) hits both.
  for ((r = 1; r <= RUNS; r++)); do
    measure roadrunner "$RR_PID" "$RR_PORT" "$r"
    measure nginx "$NGINX_PID" "$NGINX_PORT" "$r"
  done
done

# --- report ---------------------------------------------------------------------
# ratio SCEN ARRAY -- roadrunner median / nginx median.
ratio() { ratio_of "$(med "$1:roadrunner" "$2")" "$(med "$1:nginx" "$2")"; }

COMMIT=$(commit_line)
CPU_MODEL=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
WRK_VERSION=$(wrk --version 2>&1 | awk 'NR == 1 { print $2 }' || true)
NGINX_VERSION=$(nginx -v 2>&1 | sed 's#.*nginx/##')
if ((PINNED && REACTORS > 1)); then
  PINNING="server on CPUs $SERVER_CPUS, wrk on CPU 0 (taskset)"
elif ((PINNED)); then
  PINNING="server on CPU 1, wrk on CPU 0 (taskset)"
else
  PINNING="UNPINNED (--unpinned): no taskset"
fi

NGINX_PROCS="1 process (master_process off)"
if ((REACTORS > 1)); then NGINX_PROCS="a master and $REACTORS worker processes"; fi
INFO=(
  "date|$START_DATE"
  "commit|$COMMIT"
  "command|$COMMAND"
  "machine|$(nproc) CPUs, ${CPU_MODEL:-unknown CPU}, Linux $(uname -r); ${IDLE_BUSY}% busy (all CPUs) just before start"
  "tools|wrk ${WRK_VERSION:-?}, nginx ${NGINX_VERSION:-?}"
  "pinning|$PINNING"
  "load|wrk ${WRK_ARGS[*]} + scenario args, ${WARMUP}s warm-up per server and scenario, $RUNS runs per server, alternating"
  "roadrunner|$(basename "$RR_DEMO") --port=0 --bind=127.0.0.1 --reactors=$REACTORS ${RR_EXTRA[*]}"
  "nginx|$NGINX_PROCS, keepalive_requests 1000000, access_log off; /large is a static file (sendfile off, no open_file_cache)"
  "cpu metric|server utime+stime (all threads, whole process tree) / requests (wrk's count = responses parsed); CLK_TCK=$CLK_TCK; CPU % = share of one core over the run"
)

# One row per scenario: the headline numbers.
HEADLINE=()
DETAIL=()
ALL_OTHER=()
for s in "${SCENARIOS[@]}"; do
  HEADLINE+=("$s|$(fmt '%.2f' "$(med "$s:roadrunner" US)")|$(fmt '%.2f' "$(med "$s:nginx" US)")|$(ratio "$s" US)|$(fmt '%.0f' "$(med "$s:roadrunner" RPS)")|$(fmt '%.0f' "$(med "$s:nginx" RPS)")|$(ratio "$s" RPS)")
  for n in roadrunner nginx; do
    k="$s:$n"
    DETAIL+=("$s|$n|$(spread "$k" RPS '%.0f')|$(spread "$k" US '%.2f')|$(spread "$k" P99 '%.2f')|$(spread "$k" CPUPCT '%.0f')|$(spread "$k" WRKPCT '%.0f')|$(spread "$k" CNTRATIO '%.3f')")
    read -r -a tmp_other <<<"${OTHERPCT[$k]:-}"
    ALL_OTHER+=("${tmp_other[@]}")
  done
done
MAX_OTHER=$(maximum "${ALL_OTHER[@]}")
NOTES=(
  "CPU µs/req is the headline metric (lower is better); req/s ratio: higher is better. wrk runs on one core: where wrk CPU % is near 100 the load generator, not the server, limits req/s."
  "other % = machine CPU time not charged to the server or wrk (other processes, loopback softirqs); if it is high the run was disturbed."
  "srv/wrk = requests counted by the server itself (roadrunner GET /info requests_served, nginx stub_status; minus the counter reads) / wrk's count. ~1.00 confirms wrk counts every response, also when pipelining (not one per batch of $PIPELINE_DEPTH); slightly above 1 = requests served after wrk stopped counting."
)
if [[ $(calc "$MAX_OTHER > 15") == 1 ]]; then
  NOTES+=("NOISY: other % reached $(fmt '%.0f' "$MAX_OTHER") in some run; treat req/s and p99 with care (CPU us/req is the most robust).")
fi
if ((FAILED)); then
  NOTES+=("RESULT INVALID: some runs saw socket errors or non-2xx responses (see per-run table).")
fi

PER_RUN=()
for l in "${RUN_LINES[@]}"; do
  IFS='|' read -r sc run s rps reqs srv p99 cpu pct wpct opct us n2 se <<<"$l"
  PER_RUN+=("$(printf '%s|%s|%s|%.0f|%s|%s|%s|%.2f|%.0f|%.0f|%.0f|%.2f|%s|%s' \
    "$sc" "$run" "$s" "$rps" "$reqs" "$srv" "$(fmt '%.2f' "$p99")" "$cpu" "$pct" "$wpct" "$opct" "$us" "$n2" "$se")")
done

SCEN_LIST=$(IFS=,; echo "${SCENARIOS[*]}")
TITLE="HTTP/1.1 load: roadrunner vs nginx (${SCEN_LIST//,/, })"
if ((MARKDOWN)); then
  echo "### $TITLE"
  echo
  bt='`' # code-format the command lines only
  for l in "${INFO[@]}"; do
    k=${l%%|*} val=${l#*|}
    case $k in command | load | roadrunner) val="$bt$val$bt" ;; esac
    printf -- '- **%s**: %s\n' "$k" "$val"
  done
  echo "- **scenarios**:"
  for l in "${SCEN_DESC[@]}"; do printf -- '  - %s: %s\n' "${l%%|*}" "${l#*|}"; done
  echo
  echo "Medians over $RUNS runs of ${DURATION}s per server and scenario:"
  echo
  table '|---|---:|---:|---:|---:|---:|---:|' \
    "scenario|rr CPU µs/req|nginx CPU µs/req|**rr/nginx CPU**|rr req/s|nginx req/s|rr/nginx req/s" \
    "${HEADLINE[@]}"
  echo
  for n in "${NOTES[@]}"; do echo "- $n"; done
  echo
  echo "<details><summary>Median [min..max] per scenario and server</summary>"
  echo
  table '|---|---|---:|---:|---:|---:|---:|---:|' \
    "scenario|server|req/s|server CPU µs/req|p99 latency (ms)|server CPU %|wrk CPU %|srv/wrk count" \
    "${DETAIL[@]}"
  echo
  echo "</details>"
  echo
  echo "<details><summary>Per run</summary>"
  echo
  table '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|' \
    "scenario|run|server|req/s|requests (wrk)|requests (server)|p99 (ms)|server CPU s|server CPU %|wrk CPU %|other CPU %|CPU µs/req|non-2xx|socket errors" \
    "${PER_RUN[@]}"
  echo
  echo "</details>"
else
  echo "== $TITLE =="
  for l in "${INFO[@]}"; do printf '%-11s %s\n' "${l%%|*}:" "${l#*|}"; done
  for l in "${SCEN_DESC[@]}"; do printf '%-11s %s\n' "${l%%|*}:" "${l#*|}"; done
  echo
  echo "Per run:"
  table "" "scenario|run|server|req/s|requests|srv_reqs|p99_ms|cpu_s|cpu%|wrk%|other%|us/req|non2xx|sockerr" \
    "${PER_RUN[@]}"
  echo
  echo "Median [min..max] over $RUNS runs of ${DURATION}s:"
  table "" "scenario|server|req/s|server CPU us/req|p99 ms|server CPU %|wrk CPU %|srv/wrk" \
    "${DETAIL[@]}"
  echo
  echo "Summary (medians; ratios roadrunner/nginx: CPU us/req lower is better, req/s higher is better):"
  table "" "scenario|rr us/req|nginx us/req|rr/nginx CPU|rr req/s|nginx req/s|rr/nginx req/s" \
    "${HEADLINE[@]}"
  echo
  for n in "${NOTES[@]}"; do echo "note: ${n//µs/us}"; done
fi

if ((FAILED)); then
  warn "some runs saw errors or non-2xx responses (see per-run table)"
  exit 1
fi
log "done"
