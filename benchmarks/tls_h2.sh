#!/usr/bin/env bash
# tls_h2.sh -- TLS and HTTP/2 load, side by side in one run: roadrunner-demo
# vs nginx on HTTP/1.1 over TLS, vs nginx and h2o on TLS handshakes (ECDSA
# P-256 and RSA-2048 certificates), h2c and h2 over TLS; ratios roadrunner /
# peer.
#
# Usage: benchmarks/tls_h2.sh [--scenario=NAME[,NAME...]] [--no-build]
#                             [--unpinned] [--markdown]
#
#   --scenario=LIST  comma-separated scenarios (default: $SCENARIO, else all)
#   --no-build       use the existing demo binary instead of building it
#                    (cmake Release build in build-release/, target roadrunner-demo)
#   --unpinned       do not pin with taskset (recorded in the report)
#   --markdown       print the report as Markdown (for docs/benchmarks.md)
#
# Scenarios (GET /, the 13-byte "Hello, World!" as text/plain, everywhere):
#   h1tls      HTTP/1.1 keep-alive over TLS 1.3: wrk -t1 -cCONNECTIONS
#              --latency https://...; roadrunner (--protocols=http1) vs nginx
#   resume     a new TLS connection per request, resumed: wrk with
#              "Connection: close" over https. wrk keeps each connection's
#              last session, so after its first handshake every connection
#              resumes with a TLS 1.3 ticket (PSK + X25519, no signature);
#              vs nginx and h2o
#   handshake  a new TLS connection per request, full handshake (X25519 +
#              the certificate's signature): S_TIME_CLIENTS parallel
#              `openssl s_time -new -www /` (each one connection at a time,
#              one HTTP/1.0 GET / per connection); vs nginx and h2o
#   resume and handshake run once per certificate type of CERT_TYPES, as
#   resume-ecdsa, resume-rsa, handshake-ecdsa, handshake-rsa (each name
#   may also be given alone); every server gets the same certificate.
#   h2c        HTTP/2 with prior knowledge: h2load -t1 -cH2_CLIENTS
#              -mH2_STREAMS -D DURATION http://...; roadrunner
#              (--protocols=http2) vs h2o and nginx
#   h2tls      h2 over TLS (ALPN): the same over https://; roadrunner
#              (--protocols=http2,http1) vs h2o and nginx
#
# Environment:
#   SCENARIO=LIST   scenarios when --scenario is not given (default: all)
#   CERT_TYPES="ecdsa rsa"  certificate types for resume and handshake
#                   (ECDSA P-256, RSA-2048); the other scenarios use ECDSA
#   DURATION=10     seconds per measured run
#   RUNS=3          measured runs per server and scenario (the servers take
#                   turns, the order rotating run by run)
#   WARMUP=2        seconds of the same load per server and scenario first
#   CONNECTIONS=50  wrk connections (h1tls, resume)
#   H2_CLIENTS=50 H2_STREAMS=10  h2load connections, streams per connection
#   S_TIME_CLIENTS=4  parallel openssl s_time processes (handshake)
#   H2_PEERS="h2o nginx"  peers in the h2c and h2tls scenarios
#   RR_DEMO=path    demo binary (default build-release/examples/roadrunner-demo)
#   RR_FLAGS=...    extra demo flags for every scenario; default
#                   --max-keep-alive-requests=1000000, as nginx's
#                   keepalive_requests (the demo's default, 1000, also ends an
#                   h2 connection after 1000 streams, and h2load does not
#                   reconnect: the run would stall), and --compress=false:
#                   nginx's and h2o's configs here compress nothing either
#                   (see h1_hello.sh)
#
# Method (as h1_hello.sh): each server on CPU 1, the load generator on CPU 0.
# Per run, the server's CPU time (utime+stime of all threads, for h2o of its
# whole process tree: its key-operation helper signs the handshakes) from
# /proc before and after gives server CPU microseconds per request, which is
# per connection in resume and handshake (one request each). The
# certificates are self-signed (ECDSA P-256 and RSA-2048), made with the
# openssl CLI in the temp dir at start (deleted on exit); every server reads
# the same files, and nginx and h2o are restarted when the certificate type
# changes between scenarios. Before measuring, the script checks every server's answer with curl
# (status, body, HTTP version); for the HTTP/1.1-over-TLS scenarios it
# checks with openssl s_client (OpenSSL's client defaults, as wrk and
# s_time use) what is negotiated and that a session resumes, for the h2
# scenarios with a short h2load run (its protocol and cipher); the report
# lists both. p99 comes from wrk --latency, and for h2load from its
# per-request log (--log-file, which costs h2load some CPU); s_time gives
# none. In resume and handshake, the check also reads the peer signature
# type s_client saw (ECDSA, or RSA-PSS for the RSA certificate) and stops
# unless it matches the scenario's certificate. Progress goes to stderr, the report to stdout. Exits non-zero if any
# step fails or any run saw errors (non-2xx, socket errors, failed streams).
#
# Requires root only to apt-get install missing tools (wrk, nginx-light, h2o,
# nghttp2-client, openssl, curl).

# shellcheck source-path=SCRIPTDIR source=lib/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/prelude.sh"
# shellcheck source-path=SCRIPTDIR source=lib/certs.sh
source "$SCRIPT_DIR/lib/certs.sh"

ALL_SCENARIOS=(h1tls resume handshake h2c h2tls)
record_command "SCENARIO CERT_TYPES DURATION RUNS WARMUP CONNECTIONS H2_CLIENTS H2_STREAMS S_TIME_CLIENTS H2_PEERS RR_DEMO RR_FLAGS" "$0" "$@"

# --- options ----------------------------------------------------------------
BUILD=1 PINNED=1 MARKDOWN=0
SCENARIO=${SCENARIO:-$(IFS=,; echo "${ALL_SCENARIOS[*]}")}
for a in "$@"; do
  common_option "$a" "$0" && continue
  case $a in
    --scenario=*) SCENARIO=${a#--scenario=} ;;
    *) die "unknown option: $a (see --help)" ;;
  esac
done
read -r -a CERT_TYPE_LIST <<<"${CERT_TYPES-ecdsa rsa}"
((${#CERT_TYPE_LIST[@]})) || die "CERT_TYPES is empty"
for t in "${CERT_TYPE_LIST[@]}"; do
  [[ $t == ecdsa || $t == rsa ]] || die "CERT_TYPES: unknown type '$t' (ecdsa, rsa)"
done
IFS=, read -r -a GIVEN <<<"$SCENARIO"
((${#GIVEN[@]})) || die "no scenario given"
# resume and handshake expand to one scenario per certificate type.
SCENARIOS=()
for s in "${GIVEN[@]}"; do
  case $s in
    resume | handshake) for t in "${CERT_TYPE_LIST[@]}"; do SCENARIOS+=("$s-$t"); done ;;
    resume-ecdsa | resume-rsa | handshake-ecdsa | handshake-rsa) SCENARIOS+=("$s") ;;
    *)
      [[ " ${ALL_SCENARIOS[*]} " == *" $s "* ]] ||
        die "unknown scenario '$s' (one of: ${ALL_SCENARIOS[*]}, or resume-TYPE / handshake-TYPE)"
      SCENARIOS+=("$s")
      ;;
  esac
done

DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-50}
H2_CLIENTS=${H2_CLIENTS:-50}
H2_STREAMS=${H2_STREAMS:-10}
S_TIME_CLIENTS=${S_TIME_CLIENTS:-4}
for v in DURATION RUNS WARMUP CONNECTIONS H2_CLIENTS H2_STREAMS S_TIME_CLIENTS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
read -r -a H2_PEER_LIST <<<"${H2_PEERS-h2o nginx}"
for p in "${H2_PEER_LIST[@]}"; do
  [[ $p == h2o || $p == nginx ]] || die "H2_PEERS: unknown peer '$p' (h2o, nginx)"
done
RR_DEMO=${RR_DEMO:-$ROOT/build-release/examples/roadrunner-demo}
RR_FLAGS=${RR_FLAGS---max-keep-alive-requests=1000000 --compress=false}
read -r -a RR_BASE <<<"$RR_FLAGS"

HELLO_BODY='Hello, World!'
STARTUP_TIMEOUT=10 # seconds to wait for a server to come up

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rr-tls-h2.XXXXXX")
install_cleanup

ensure_tools wrk:wrk nginx-light:nginx h2o:h2o nghttp2-client:h2load openssl:openssl \
  curl:curl util-linux:taskset
nginx -V 2>&1 | grep -q -- --with-http_ssl_module || die "this nginx has no TLS (http_ssl_module)"
nginx -V 2>&1 | grep -q -- --with-http_v2_module ||
  die "this nginx has no HTTP/2 (http_v2_module), which nginx/tls_h2.conf.in needs"
CLK_TCK=$(getconf CLK_TCK)

setup_pinning
if ((BUILD)); then build_demo; fi
check_demo_binary

# The run's certificates, self-signed: ECDSA P-256 (like the README's
# example) and RSA-2048.
make_certs "$TMP" ecdsa rsa

# --- scenarios ------------------------------------------------------------------
# scenario NAME -- sets SC (the name), SC_CERT (ecdsa, rsa: the certificate
# every server gets), CERT / KEY (its files), SC_TOOL (wrk, s_time,
# h2load), SC_SCHEME, SC_HTTPV (curl's %{http_version}), SC_RR (demo
# flags), SC_WRK (extra wrk arguments), SC_SERVERS (roadrunner first),
# SC_DESC.
scenario() {
  SC=$1 SC_WRK=() SC_CERT=ecdsa
  local base=$1
  case $1 in
    *-ecdsa | *-rsa) base=${1%-*} SC_CERT=${1##*-} ;;
  esac
  CERT=$TMP/$SC_CERT/cert.pem KEY=$TMP/$SC_CERT/key.pem
  local tls=(--tls-cert="$CERT" --tls-key="$KEY")
  local cert_desc="ECDSA P-256 certificate"
  [[ $SC_CERT == rsa ]] && cert_desc="RSA-2048 certificate"
  case $base in
    h1tls | resume | handshake)
      SC_SCHEME=https SC_HTTPV=1.1 SC_RR=("${tls[@]}" --protocols=http1)
      SC_SERVERS=(roadrunner nginx h2o)
      ;;&
    h1tls)
      SC_TOOL=wrk SC_SERVERS=(roadrunner nginx)
      SC_DESC="HTTP/1.1 keep-alive over TLS: wrk -t1 -c$CONNECTIONS --latency https://127.0.0.1:PORT/"
      ;;
    resume)
      SC_TOOL=wrk SC_WRK=(-H "Connection: close")
      SC_DESC="new TLS connection per request, TLS 1.3 ticket resumption, $cert_desc: wrk -t1 -c$CONNECTIONS --latency -H 'Connection: close' https://127.0.0.1:PORT/"
      ;;
    handshake)
      SC_TOOL=s_time
      SC_DESC="new TLS connection per request, full handshake, $cert_desc: $S_TIME_CLIENTS x openssl s_time -connect 127.0.0.1:PORT -new -www / -time SECONDS, in parallel"
      ;;
    h2c | h2tls)
      SC_TOOL=h2load SC_HTTPV=2 SC_SERVERS=(roadrunner "${H2_PEER_LIST[@]}")
      ;;&
    h2c)
      SC_SCHEME=http SC_RR=(--protocols=http2)
      SC_DESC="h2c, prior knowledge: h2load -t1 -c$H2_CLIENTS -m$H2_STREAMS -D SECONDS http://127.0.0.1:PORT/"
      ;;
    h2tls)
      SC_SCHEME=https SC_RR=("${tls[@]}" "--protocols=http2,http1")
      SC_DESC="h2 over TLS (ALPN): h2load -t1 -c$H2_CLIENTS -m$H2_STREAMS -D SECONDS https://127.0.0.1:PORT/"
      ;;
  esac
}

# port_of SERVER / pid_of SERVER -- where SERVER listens for scenario SC,
# and the PID whose process tree we measure.
port_of() {
  case $1:$SC in
    roadrunner:*) echo "$RR_PORT" ;;
    nginx:h2c) echo "$NGINX_H2C_PORT" ;;
    nginx:h2tls) echo "$NGINX_H2_TLS_PORT" ;;
    nginx:*) echo "$NGINX_TLS_PORT" ;;
    h2o:h2c) echo "$H2O_PORT" ;;
    h2o:*) echo "$H2O_TLS_PORT" ;;
    *) die "no port for $1 in $SC" ;;
  esac
}
pid_of() {
  case $1 in
    roadrunner) echo "$RR_PID" ;;
    nginx) echo "$NGINX_PID" ;;
    h2o) echo "$H2O_PID" ;;
  esac
}

# --- checks -----------------------------------------------------------------------
declare -A TLS_SEEN=() # "SC:server" -> negotiated parameters

# check_answer NAME PORT -- GET / must answer 200, exactly the hello body,
# text/plain, over the scenario's HTTP version.
check_answer() {
  local url="$SC_SCHEME://127.0.0.1:$2/" res
  local -a how=(--http1.1)
  if [[ $SC_HTTPV == 2 && $SC_SCHEME == http ]]; then how=(--http2-prior-knowledge); fi
  if [[ $SC_HTTPV == 2 && $SC_SCHEME == https ]]; then how=(--http2); fi
  res=$(curl -ksS --max-time 5 "${how[@]}" -o "$TMP/body" -w '%{http_code} %{http_version} %{content_type}' \
    "$url") || die "$1 ($SC): curl $url failed"
  [[ $res == "200 $SC_HTTPV text/plain"* ]] ||
    die "$1 ($SC): GET / gave '$res', expected '200 $SC_HTTPV text/plain...'"
  [[ $(<"$TMP/body") == "$HELLO_BODY" ]] ||
    die "$1 ($SC): GET / body is $(head -c 100 "$TMP/body" | od -c | head -n3)"
}

# check_tls_h1 NAME PORT -- with OpenSSL's client defaults (what wrk and
# s_time use): TLS 1.3, and a second connection resumes the first one's
# session. Records "protocol cipher group, ALPN, resumption" in TLS_SEEN.
check_tls_h1() {
  local out=$TMP/sclient.$1 req=$'GET / HTTP/1.0\r\n\r\n' proto cipher group alpn sig reused=no
  timeout 10 openssl s_client -connect "127.0.0.1:$2" -servername localhost \
    -sess_out "$out.sess" -ign_eof <<<"$req" >"$out.1" 2>&1 ||
    die "$1 ($SC): openssl s_client failed: $(tail -n3 "$out.1")"
  timeout 10 openssl s_client -connect "127.0.0.1:$2" -servername localhost \
    -sess_in "$out.sess" -ign_eof <<<"$req" >"$out.2" 2>&1 ||
    die "$1 ($SC): openssl s_client (resumption) failed: $(tail -n3 "$out.2")"
  proto=$(awk '$1 == "Protocol" && $2 == ":" { print $3; exit }' "$out.1")
  cipher=$(awk '$1 == "Cipher" && $2 == ":" { print $3; exit }' "$out.1")
  group=$(sed -nE 's/^Server Temp Key: ([^,]+).*/\1/p' "$out.1" | head -n1)
  alpn=$(sed -nE 's/^ALPN protocol: (.*)/\1/p' "$out.1" | head -n1)
  sig=$(sed -nE 's/^Peer signature type: (.*)/\1/p' "$out.1" | head -n1)
  case $SC_CERT:$sig in
    ecdsa:ECDSA | rsa:RSA-PSS | rsa:RSA) ;;
    *) die "$1 ($SC): the handshake was signed with '${sig:-?}', expected the $SC_CERT certificate" ;;
  esac
  grep -q '^Reused, ' "$out.2" && reused=yes
  grep -q "$HELLO_BODY" "$out.1" || die "$1 ($SC): no hello body over openssl s_client"
  [[ $proto == TLSv1.3 ]] || die "$1 ($SC): negotiated '$proto', expected TLSv1.3"
  if [[ $SC == resume* && $reused != yes ]]; then
    die "$1 ($SC): a second connection did not resume the session (openssl s_client -sess_in)"
  fi
  TLS_SEEN[$SC:$1]="$proto $cipher ${group:-?}, signature $sig, ALPN ${alpn:-none}, resumes a session: $reused"
}

# check_h2load NAME PORT -- a short h2load run (100 requests) must succeed
# entirely over h2 / h2c; records h2load's protocol and cipher in TLS_SEEN.
check_h2load() {
  local out=$TMP/h2check.$1 url="$SC_SCHEME://127.0.0.1:$2/" proto tls want=h2c
  [[ $SC_SCHEME == https ]] && want=h2
  timeout 30 "${PIN_CLIENT[@]}" h2load -n100 -c1 -m10 "$url" >"$out" 2>&1 ||
    die "$1 ($SC): h2load check failed: $(tail -n3 "$out")"
  grep -qE '^requests: 100 total, 100 started, 100 done, 100 succeeded' "$out" ||
    die "$1 ($SC): h2load check: $(grep -E '^(requests|status codes):' "$out" | tr '\n' ' ')"
  proto=$(sed -nE 's/^Application protocol: (.*)/\1/p' "$out")
  [[ $proto == "$want" ]] || die "$1 ($SC): h2load negotiated '$proto', expected $want"
  tls=$(awk -F': ' '/^TLS Protocol:/ { p = $2 } /^Cipher:/ { c = $2 } /^Server Temp Key:/ { k = $2 }
    END { if (p != "") printf "%s %s %s, ", p, c, k }' "$out")
  TLS_SEEN[$SC:$1]="${tls}ALPN/protocol $proto (h2load)"
}

check_server() {
  check_answer "$1" "$2"
  if [[ $SC_TOOL == h2load ]]; then check_h2load "$1" "$2"; else check_tls_h1 "$1" "$2"; fi
  log "$1 OK for $SC: ${TLS_SEEN[$SC:$1]}"
}

# --- load runs ------------------------------------------------------------------
# load_run SECONDS PORT OUT -- one bounded run of the scenario's load tool on
# the client CPU; output in OUT (h2load's request log in OUT.log).
load_run() {
  local secs=$1 url="$SC_SCHEME://127.0.0.1:$2/" out=$3 k n rc=0
  local -a pids=()
  case $SC_TOOL in
    wrk)
      timeout $((secs + 60)) "${PIN_CLIENT[@]}" wrk -t1 "-c$CONNECTIONS" "-d${secs}s" --latency \
        "${SC_WRK[@]}" "$url" >"$out" 2>&1
      ;;
    h2load)
      timeout $((secs + 60)) "${PIN_CLIENT[@]}" h2load -t1 "-c$H2_CLIENTS" "-m$H2_STREAMS" \
        -D "$secs" --log-file="$out.log" "$url" >"$out" 2>&1
      ;;
    s_time)
      # In the background but children of this shell, so that `wait` reaps
      # them and `times` (children_cpu) counts their CPU. Listed in
      # EXTRA_PIDS while they run, for the exit trap.
      n=${#EXTRA_PIDS[@]}
      for ((k = 1; k <= S_TIME_CLIENTS; k++)); do
        timeout $((secs + 60)) "${PIN_CLIENT[@]}" openssl s_time -connect "127.0.0.1:$2" \
          -new -www / -time "$secs" >"$out.$k" 2>&1 &
        pids+=("$!")
        EXTRA_PIDS+=("$!")
      done
      for k in "${pids[@]}"; do wait "$k" || rc=$?; done
      EXTRA_PIDS=("${EXTRA_PIDS[@]:0:n}")
      cat "$out".[0-9]* >"$out"
      return "$rc"
      ;;
  esac
}

# parse_load OUT SECONDS -- sets L_REQS, L_RPS, L_P99 (ms or n/a), L_ERRS
# (failed requests of any kind) and L_NOTE from a load_run's output.
parse_load() {
  local out=$1 a b
  L_P99=n/a L_NOTE=""
  case $SC_TOOL in
    wrk)
      L_REQS=$(awk '/ requests in / { print $1; exit }' "$out")
      L_RPS=$(awk '/^Requests\/sec:/ { print $2; exit }' "$out")
      L_P99=$(awk '/Latency Distribution/ { d = 1 } d && $1 == "99%" { print $2; exit }' "$out")
      if [[ -n $L_P99 ]]; then L_P99=$(to_ms "$L_P99"); else L_P99=n/a; fi
      a=$(awk '/Non-2xx or 3xx responses:/ { print $NF; exit }' "$out")
      b=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10; exit }' "$out")
      L_ERRS=$((${a:-0} + ${b:-0}))
      ;;
    h2load)
      L_REQS=$(sed -nE 's/^requests: .* ([0-9]+) succeeded.*/\1/p' "$out")
      L_RPS=$(sed -nE 's/^finished in [^,]*, ([0-9.]+) req\/s.*/\1/p' "$out")
      a=$(awk '/^requests:/ { print $10 + $12 + $14; exit }' "$out")
      b=$(awk '/^status codes:/ { print $5 + $7 + $9; exit }' "$out")
      L_ERRS=$((${a:-0} + ${b:-0}))
      L_NOTE=$(sed -nE 's/^Application protocol: (.*)/\1/p' "$out")
      # Nearest-rank p99 of the logged request durations (µs, column 3).
      if [[ -s $out.log ]]; then
        L_P99=$(awk '{ print $3 }' "$out.log" | sort -n | awk '{ v[NR] = $1 }
          END { i = int(NR * 0.99); if (i < NR * 0.99) i++; if (NR) printf "%.3f\n", v[i] / 1000 }')
      fi
      rm -f "$out.log"
      ;;
    s_time)
      # Each s_time prints "N connections in S real seconds, B bytes read per connection".
      L_REQS=$(awk '/connections in .* real seconds/ { n += $1 } END { print n + 0 }' "$out")
      a=$(grep -c 'connections in .* real seconds' "$out" || true)
      b=$(awk '/real seconds/ { print $(NF - 4); exit }' "$out")
      L_RPS=$(calc "$L_REQS / $2")
      L_ERRS=$((S_TIME_CLIENTS - a))
      L_NOTE="${b:-?} bytes/conn"
      ;;
  esac
  [[ -n $L_REQS && -n $L_RPS && $L_REQS -gt 0 ]] ||
    die "$SC: could not parse the load tool's output:"$'\n'"$(head -c 2000 "$out")"
}

FAILED=0 IDLE_RUNS=0
# Keyed "SCENARIO:SERVER", values space-separated per run.
declare -A RPS=() US=() P99=() CPUPCT=() CLIPCT=() OTHERPCT=()
RUN_LINES=()

# measure NAME RUN -- one measured run of scenario SC against server NAME.
measure() {
  local name=$1 run=$2 key="$SC:$1" pid port out="$TMP/load.$SC.$1.$2"
  local t0 t1 c0 c1 m0 m1 w0 w1 wall cpu_s us pct cpct opct rps rc=0 flag=""
  pid=$(pid_of "$name") port=$(port_of "$name")
  log "run $run/$RUNS: $SC / $name (${DURATION}s)"
  t0=$(tree_ticks "$pid") || die "$name (pid $pid) is gone"
  children_cpu c0 "$TMP/times"
  read -r m0 _ < <(busy_ticks)
  w0=$EPOCHREALTIME
  load_run "$DURATION" "$port" "$out" || rc=$?
  w1=$EPOCHREALTIME
  read -r m1 _ < <(busy_ticks)
  children_cpu c1 "$TMP/times"
  t1=$(tree_ticks "$pid") || die "$name (pid $pid) died during the run"
  ((rc == 0)) || die "$SC_TOOL failed against $name (exit $rc): $(tail -c 600 "$out")"

  wall=$(calc "$w1 - $w0")
  parse_load "$out" "$wall"
  rps=$L_RPS
  cpu_s=$(calc "($t1 - $t0) / $CLK_TCK")
  us=$(calc "$cpu_s * 1e6 / $L_REQS")
  pct=$(calc "100 * $cpu_s / $wall")
  cpct=$(calc "100 * ($c1 - $c0) / $wall")
  opct=$(calc "100 * (($m1 - $m0) / $CLK_TCK - $cpu_s - ($c1 - $c0)) / $wall")
  # Neither side busy: something waited (a stall, a timeout), not a
  # saturated client or server.
  if [[ $(calc "$pct < 30 && $cpct < 30") == 1 ]]; then
    flag="IDLE"
    IDLE_RUNS=$((IDLE_RUNS + 1))
    warn "$SC / $name run $run: server at $(fmt '%.0f' "$pct")% and client at $(fmt '%.0f' "$cpct")% of a core: a stall?"
  fi
  RPS[$key]+=" $rps" US[$key]+=" $us" CPUPCT[$key]+=" $pct" CLIPCT[$key]+=" $cpct"
  OTHERPCT[$key]+=" $opct"
  [[ $L_P99 != n/a ]] && P99[$key]+=" $L_P99"
  flag="$L_NOTE${L_NOTE:+${flag:+, }}$flag"
  RUN_LINES+=("$SC|$run|$name|$rps|$L_REQS|$L_P99|$cpu_s|$pct|$cpct|$opct|$us|$L_ERRS|$flag")
  if ((L_ERRS > 0)); then
    warn "$SC / $name run $run: $L_ERRS failed requests (errors, non-2xx, unfinished clients)"
    FAILED=1
  fi
}

# --- run --------------------------------------------------------------------------
IDLE_BUSY=$(busy_pct 1)
((IDLE_BUSY <= 10)) ||
  warn "machine already ${IDLE_BUSY}% busy before starting the servers; results will be noisy"

NEED_H2O=0
for s in "${SCENARIOS[@]}"; do
  scenario "$s"
  [[ " ${SC_SERVERS[*]} " == *" h2o "* ]] && NEED_H2O=1
done

# start_peers -- (re)starts nginx (one process, four listeners, see
# nginx/tls_h2.conf.in) and, when a scenario needs it, h2o with the
# certificate of the current scenario (SC_CERT); sets PEERS_CERT.
PEERS_CERT=""
start_peers() {
  if [[ -n $NGINX_PID ]]; then
    stop_pid "$NGINX_PID" nginx
    NGINX_PID=""
  fi
  if [[ -n ${H2O_PID:-} ]]; then
    stop_pid "$H2O_PID" h2o
    H2O_PID=""
  fi
  # free_port may hand out a port twice (each one is free again when it
  # returns): draw until the three differ.
  for ((i = 0; i < 20; i++)); do
    NGINX_TLS_PORT=$(free_port) NGINX_H2_TLS_PORT=$(free_port) NGINX_H2C_PORT=$(free_port) ||
      die "could not find free ports for nginx"
    [[ $(printf '%s\n' "$NGINX_TLS_PORT" "$NGINX_H2_TLS_PORT" "$NGINX_H2C_PORT" | sort -u | wc -l) == 3 ]] && break
  done
  NGINX_CONF_IN=$SCRIPT_DIR/nginx/tls_h2.conf.in
  NGINX_SED=(-e "s#@TLS_PORT@#$NGINX_TLS_PORT#g" -e "s#@H2_TLS_PORT@#$NGINX_H2_TLS_PORT#g"
    -e "s#@H2C_PORT@#$NGINX_H2C_PORT#g" -e "s#@CERT@#$CERT#g" -e "s#@KEY@#$KEY#g")
  log "peers with the $SC_CERT certificate"
  start_nginx
  if ((NEED_H2O)); then start_h2o "$CERT" "$KEY"; fi
  PEERS_CERT=$SC_CERT
}

SCEN_DESC=() RR_LINES=()
for s in "${SCENARIOS[@]}"; do
  scenario "$s"
  SCEN_DESC+=("$SC|$SC_DESC")
  RR_EXTRA=("${RR_BASE[@]}" "${SC_RR[@]}")
  [[ $PEERS_CERT == "$SC_CERT" ]] || start_peers
  # An h2c-only demo refuses HTTP/1.1, so start_roadrunner's check can't run.
  RR_KEEPALIVE_CHECK=1
  [[ $SC == h2c ]] && RR_KEEPALIVE_CHECK=0
  start_roadrunner
  [[ $RR_SCHEME == "$SC_SCHEME" ]] || die "roadrunner-demo serves $RR_SCHEME, $SC needs $SC_SCHEME"
  RR_LINES+=("$SC: ${SC_RR[*]//"$TMP"/TMP}")
  for n in "${SC_SERVERS[@]}"; do check_server "$n" "$(port_of "$n")"; done
  log "scenario $SC: ${WARMUP}s warm-up per server"
  for n in "${SC_SERVERS[@]}"; do
    load_run "$WARMUP" "$(port_of "$n")" "$TMP/warmup.$n" ||
      die "warm-up against $n failed: $(tail -c 600 "$TMP/warmup.$n")"
    rm -f "$TMP/warmup.$n".*
  done
  # The servers take turns, the first one rotating, so that slow drift
  # (thermal, other sessions' builds) hits them all.
  for ((r = 1; r <= RUNS; r++)); do
    ns=${#SC_SERVERS[@]}
    for ((i = 0; i < ns; i++)); do
      measure "${SC_SERVERS[$(((i + r - 1) % ns))]}" "$r"
    done
  done
  stop_pid "$RR_PID" roadrunner-demo
  RR_PID=""
done

# --- report -----------------------------------------------------------------------
SUMMARY=() RATIOS=() TLS_LINES=() ALL_OTHER=()
for s in "${SCENARIOS[@]}"; do
  scenario "$s"
  for n in "${SC_SERVERS[@]}"; do
    k="$SC:$n"
    SUMMARY+=("$SC|$n|$(spread "$k" US '%.2f')|$(spread "$k" RPS '%.0f')|$(spread "$k" P99 '%.2f')|$(spread "$k" CPUPCT '%.0f')|$(spread "$k" CLIPCT '%.0f')")
    TLS_LINES+=("$SC|$n|${TLS_SEEN[$k]:-?}")
    read -r -a tmp_other <<<"${OTHERPCT[$k]:-}"
    ALL_OTHER+=("${tmp_other[@]}")
  done
  for n in "${SC_SERVERS[@]:1}"; do
    a="$SC:roadrunner" b="$SC:$n"
    RATIOS+=("$SC|$n|$(fmt '%.2f' "$(med "$a" US)")|$(fmt '%.2f' "$(med "$b" US)")|**$(ratio_of "$(med "$a" US)" "$(med "$b" US)")**|$(fmt '%.0f' "$(med "$a" RPS)")|$(fmt '%.0f' "$(med "$b" RPS)")|$(ratio_of "$(med "$a" RPS)" "$(med "$b" RPS)")|$(fmt '%.2f' "$(med "$a" P99)")|$(fmt '%.2f' "$(med "$b" P99)")")
  done
done
MAX_OTHER=$(maximum "${ALL_OTHER[@]}")

PER_RUN=()
for l in "${RUN_LINES[@]}"; do
  IFS='|' read -r sc run n rps reqs p99 cpu pct cpct opct us errs note <<<"$l"
  PER_RUN+=("$(printf '%s|%s|%s|%.0f|%s|%s|%.2f|%.0f|%.0f|%.0f|%.2f|%s|%s' \
    "$sc" "$run" "$n" "$rps" "$reqs" "$(fmt '%.2f' "$p99")" "$cpu" "$pct" "$cpct" "$opct" "$us" "$errs" "$note")")
done

RR_PER_SCENARIO=$(printf '%s; ' "${RR_LINES[@]}")
RR_PER_SCENARIO=${RR_PER_SCENARIO%; }
if ((PINNED)); then
  PINNING="server on CPU 1, load generator on CPU 0 (taskset)"
else
  PINNING="UNPINNED (--unpinned): no taskset"
fi
H2O_VERSION=$(h2o --version 2>/dev/null | awk 'NR == 1 { print $3 }' || true)
INFO=(
  "date|$START_DATE"
  "commit|$(commit_line)"
  "command|$COMMAND"
  "machine|$(machine_line); ${IDLE_BUSY}% busy (all CPUs) just before start"
  "tools|wrk $(wrk --version 2>&1 | awk 'NR == 1 { print $2 }' || true), $(h2load --version | awk '{ print $2 }'), $(openssl version | awk '{ print $1, $2 }'), nginx $(nginx -v 2>&1 | sed 's#.*nginx/##'), h2o ${H2O_VERSION:-?}"
  "pinning|$PINNING"
  "load|$RUNS runs of ${DURATION}s per server and scenario after ${WARMUP}s of warm-up, servers taking turns"
  "certificate|self-signed, made at start, the same files for every server: ECDSA P-256 (openssl req -x509 -newkey ec) for h1tls, h2c, h2tls and *-ecdsa; RSA-2048 (-newkey rsa:2048) for *-rsa"
  "roadrunner|$(basename "$RR_DEMO") --port=0 --bind=127.0.0.1 --reactors=1 ${RR_BASE[*]}, plus per scenario: $RR_PER_SCENARIO"
  "nginx|1 process (master_process off), access_log off, keepalive_requests 1000000; TLS 1.2-1.3 with roadrunner's cipher order (server preference), session tickets on (benchmarks/nginx/tls_h2.conf.in)"
  "h2o|num-threads 1, no access log, GET / a static file (hello.txt, etag off); TLS 1.2-1.3, server cipher preference; private-key helper process included in its CPU (benchmarks/h2o/hello.conf.in)"
  "cpu metric|server utime+stime (all threads, whole process tree) / requests (wrk, h2load: responses; s_time: connections); CLK_TCK=$CLK_TCK; CPU % = share of one core over the run"
)
NOTES=(
  "CPU µs/req is the headline (lower is better). The load generator has one core: where its CPU % is near 100 it, not the server, limits req/s."
  "resume and handshake: one request per connection, so CPU µs/req is per TLS connection (accept, handshake, request, close)."
  "other % = machine CPU time not charged to the server or the load generator (other processes, loopback softirqs); high values mean a disturbed run. Highest here: $(fmt '%.0f' "$MAX_OTHER") %."
)
if [[ $(calc "$MAX_OTHER > 15") == 1 ]]; then
  NOTES+=("NOISY: other % reached $(fmt '%.0f' "$MAX_OTHER") in some run (other sessions' builds?); req/s and p99 are the first to suffer, CPU µs/req the least.")
fi
if ((IDLE_RUNS)); then
  NOTES+=("IDLE in the per-run table: $IDLE_RUNS run(s) where neither the server nor the client used 30 % of a core: the load stalled.")
fi
if ((FAILED)); then
  NOTES+=("RESULT INVALID: some runs saw failed requests (see the per-run table).")
fi

SCEN_LIST=$(IFS=,; echo "${SCENARIOS[*]}")
print_info "TLS and HTTP/2: roadrunner vs nginx and h2o (${SCEN_LIST//,/, })" "command" "${INFO[@]}"
SUM_HEAD="scenario|server|server CPU µs/req|req/s|p99 ms|server CPU %|client CPU %"
RATIO_HEAD="scenario|peer|rr CPU µs/req|peer CPU µs/req|**rr/peer CPU**|rr req/s|peer req/s|rr/peer req/s|rr p99 ms|peer p99 ms"
RUN_HEAD="scenario|run|server|req/s|requests|p99 ms|server CPU s|server CPU %|client CPU %|other CPU %|CPU µs/req|failed|notes"
if ((MARKDOWN)); then
  echo "- **scenarios**:"
  for l in "${SCEN_DESC[@]}"; do printf -- '  - %s: %s\n' "${l%%|*}" "${l#*|}"; done
  echo
  echo "Medians over $RUNS runs of ${DURATION}s; ratios roadrunner / peer:"
  echo
  table '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|' "$RATIO_HEAD" "${RATIOS[@]}"
  echo
  for n in "${NOTES[@]}"; do echo "- $n"; done
  echo
  echo "<details><summary>Median [min..max] per scenario and server</summary>"
  echo
  table '|---|---|---:|---:|---:|---:|---:|' "$SUM_HEAD" "${SUMMARY[@]}"
  echo
  echo "</details>"
  echo
  echo "<details><summary>Negotiated (checked before the runs)</summary>"
  echo
  table '|---|---|---|' "scenario|server|TLS / protocol" "${TLS_LINES[@]}"
  echo
  echo "</details>"
  echo
  echo "<details><summary>Per run</summary>"
  echo
  table '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|' "$RUN_HEAD" "${PER_RUN[@]}"
  echo
  echo "</details>"
else
  # column(1) under LC_ALL=C would mangle the multi-byte µ.
  SUM_HEAD=${SUM_HEAD//µs/us} RATIO_HEAD=${RATIO_HEAD//µs/us} RUN_HEAD=${RUN_HEAD//µs/us}
  for l in "${SCEN_DESC[@]}"; do printf '%-11s %s\n' "${l%%|*}:" "${l#*|}"; done
  echo
  echo "Negotiated (checked before the runs):"
  table "" "scenario|server|TLS / protocol" "${TLS_LINES[@]}"
  echo
  echo "Per run:"
  table "" "$RUN_HEAD" "${PER_RUN[@]}"
  echo
  echo "Median [min..max] over $RUNS runs of ${DURATION}s:"
  table "" "$SUM_HEAD" "${SUMMARY[@]}"
  echo
  echo "Summary (medians; roadrunner / peer: CPU lower is better, req/s higher is better):"
  table "" "${RATIO_HEAD//\*/}" "${RATIOS[@]//\*/}"
  echo
  for n in "${NOTES[@]}"; do echo "note: ${n//µs/us}"; done
fi

if ((FAILED)); then
  warn "some runs saw failed requests (see the per-run table)"
  exit 1
fi
log "done"
