#!/usr/bin/env bash
# instructions.sh -- user-space instructions per request of roadrunner-demo,
# counted by valgrind (callgrind): a figure that does not move when other
# processes load the machine, for comparing code changes on a busy host
# where CPU time per request drifts by tens of percent.
#
# Usage: benchmarks/instructions.sh [--no-build] [--markdown]
#
#   --no-build   reuse build-release/examples/roadrunner-demo
#   --markdown   print the report as Markdown (for docs/benchmarks.md)
#
# Method: the demo (--reactors=1) runs under `valgrind --tool=callgrind`;
# per scenario, curl sends WARM requests, the counters are zeroed
# (callgrind_control -z), curl sends N requests one after the other, and
# the counters are dumped (callgrind_control -d): instructions / N. All
# threads are counted (reactor, CAF scheduler workers, CAF's clock). Only
# user space: the kernel's share (syscalls, TCP) is not in the figure, so
# compare syscall counts separately (strace -c). Requests go one at a time,
# so per-request costs that batch under concurrent load (epoll_wait) are
# counted in full. Valgrind runs one thread at a time: a scheduler worker
# that polls for work (CAF's work stealing) spends instructions that CPU
# time would show as well.
#
# Scenarios (SCENARIOS, default all):
#   plain      GET /?i over one keep-alive connection (plain callable)
#   hplain     GET /hello/plain?i (plain callable next to the actor routes
#              in the demo's route list: the reference for the two below)
#   actor      GET /hello/actor?i (handler actor hosted on the reactor)
#   scheduler  GET /hello/scheduler?i (handler actor on CAF's scheduler)
#   newconn    GET /?i with "Connection: close": a connection per request
#   large      (not in the default list) GET /large?i: 65536 bytes of
#              text/plain, not compressed (the reference for gzip)
#   gzip       (not in the default list) GET /large?i with
#              Accept-Encoding: gzip (the level: RR_FLAGS=--gzip-level=N,
#              default 6); br and zstd likewise with their codings
#   h2c        (not in the default list) HTTP/2 with prior knowledge:
#              h2load -t1 -cH2_CLIENTS -mH2_STREAMS -nH2_N http://.../
#              against a second demo under callgrind with
#              --protocols=http2 --max-keep-alive-requests=100000000;
#              WARM requests on their own connections first. Unlike the
#              curl scenarios, requests are concurrent (H2_STREAMS per
#              connection, so one read carries several), as in
#              tls_h2.sh's h2c; connection setup is amortized over
#              H2_N / H2_CLIENTS streams.
#   h2tls      (not in the default list) as h2c, over TLS (h2 by ALPN,
#              a self-signed ECDSA P-256 certificate made at run time):
#              https://.../ against a third demo with --tls-cert
#              --tls-key --protocols=http2,http1 (as tls_h2.sh's h2tls).
#
# Environment: N=2000, WARM=200, RR_DEMO, RR_FLAGS (extra demo flags);
# h2c, h2tls: H2_N=20000, H2_CLIENTS=10, H2_STREAMS=10 (tls_h2.sh's load
# is H2_CLIENTS=50). CG_KEEP=DIR keeps the callgrind dumps there (one
# file per scenario, SCENARIO.cg.out, for callgrind_annotate) and prints
# each scenario's instructions by object (lib/cg_objects.py), and for h2c
# and h2tls the HTTP/2 breakdown per request (lib/cg_h2_breakdown.py:
# nghttp2's HPACK, header checks and framing, our parts, libc, OpenSSL).
# Progress on stderr, report on stdout; only 127.0.0.1 is used.

# shellcheck source-path=SCRIPTDIR source=lib/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/prelude.sh"

record_command "SCENARIOS N WARM RR_DEMO RR_FLAGS H2_N H2_CLIENTS H2_STREAMS CG_KEEP" "$0" "$@"

BUILD=1 PINNED=0 MARKDOWN=0
only_common_options "$0" "$@"
read -r -a SCEN <<<"${SCENARIOS:-plain hplain actor scheduler newconn}"
N=${N:-2000}
WARM=${WARM:-200}
H2_N=${H2_N:-20000}
H2_CLIENTS=${H2_CLIENTS:-10}
H2_STREAMS=${H2_STREAMS:-10}
RR_DEMO=${RR_DEMO:-$ROOT/build-release/examples/roadrunner-demo}
CG_KEEP=${CG_KEEP:-}
if [[ -n $CG_KEEP ]]; then mkdir -p "$CG_KEEP" || die "cannot create CG_KEEP=$CG_KEEP"; fi
read -r -a RR_EXTRA <<<"${RR_FLAGS:-}"
for v in N WARM H2_N H2_CLIENTS H2_STREAMS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rr-instr.XXXXXX")
install_cleanup

WANT_H1=0 WANT_H2=0 WANT_H2TLS=0
for s in "${SCEN[@]}"; do
  case $s in
    plain | hplain | actor | scheduler | newconn | large | gzip | br | zstd) WANT_H1=1 ;;
    h2c) WANT_H2=1 ;;
    h2tls) WANT_H2TLS=1 ;;
    *) die "unknown scenario $s" ;;
  esac
done

ensure_tools valgrind:valgrind valgrind:callgrind_control curl:curl
if ((WANT_H2 || WANT_H2TLS)); then ensure_tools nghttp2-client:h2load; fi
if ((WANT_H2TLS)); then
  ensure_tools openssl:openssl
  # shellcheck source-path=SCRIPTDIR source=lib/certs.sh
  source "$SCRIPT_DIR/lib/certs.sh"
  make_certs "$TMP" ecdsa
fi
if ((BUILD)); then build_demo; fi
check_demo_binary

# start_demo NAME FLAGS... -- starts the demo under callgrind (output files
# $TMP/NAME.cg.out*); sets DEMO_PID and DEMO_PORT.
start_demo() {
  local name=$1 line
  shift
  log "starting $RR_DEMO under callgrind ($name)"
  spawn valgrind --tool=callgrind --callgrind-out-file="$TMP/$name.cg.out" \
    "$RR_DEMO" --port=0 --bind=127.0.0.1 --reactors=1 "$@" "${RR_EXTRA[@]}" \
    >"$TMP/$name.out" 2>"$TMP/$name.err"
  DEMO_PID=$SPAWNED_PID
  line=$(wait_line "$TMP/$name.out" 'listening on https?://127\.0\.0\.1:[0-9]+$' 120) ||
    die "the demo did not start under valgrind: $(tail -n5 "$TMP/$name.err")"
  DEMO_PORT=${line##*:}
}

RR_PID="" PORT="" H2_PID="" H2_PORT="" TLS_PID="" TLS_PORT=""
if ((WANT_H1)); then
  start_demo h1
  RR_PID=$DEMO_PID PORT=$DEMO_PORT
fi
if ((WANT_H2)); then
  # h2c with prior knowledge needs protocols = [http2]; the keep-alive cap
  # must not end h2load's connections (it does not reconnect).
  start_demo h2 --protocols=http2 --max-keep-alive-requests=100000000
  H2_PID=$DEMO_PID H2_PORT=$DEMO_PORT
  EXTRA_PIDS+=("$H2_PID")
fi
if ((WANT_H2TLS)); then
  start_demo h2tls --tls-cert="$TMP/ecdsa/cert.pem" --tls-key="$TMP/ecdsa/key.pem" \
    --protocols=http2,http1 --max-keep-alive-requests=100000000
  TLS_PID=$DEMO_PID TLS_PORT=$DEMO_PORT
  EXTRA_PIDS+=("$TLS_PID")
fi

# url SCENARIO -- the glob URL and extra curl arguments of a scenario.
url() {
  local base="http://127.0.0.1:$PORT"
  case $1 in
    plain) echo "$base/?[1-COUNT]" ;;
    hplain) echo "$base/hello/plain?[1-COUNT]" ;;
    actor) echo "$base/hello/actor?[1-COUNT]" ;;
    scheduler) echo "$base/hello/scheduler?[1-COUNT]" ;;
    newconn) echo "$base/?[1-COUNT]" ;;
    large | gzip | br | zstd) echo "$base/large?[1-COUNT]" ;;
    *) die "unknown scenario $1" ;;
  esac
}

# send SCENARIO COUNT -- COUNT requests, one at a time (h2c: concurrent,
# over new connections); checks every answer.
send() {
  local u extra=() got
  if [[ $1 == h2c || $1 == h2tls ]]; then
    local clients=$H2_CLIENTS target="http://127.0.0.1:$H2_PORT/"
    [[ $1 == h2tls ]] && target="https://127.0.0.1:$TLS_PORT/"
    (($2 < clients)) && clients=$2
    got=$(h2load -t1 -c"$clients" -m"$H2_STREAMS" -n"$2" "$target" 2>&1 |
      sed -nE 's/^status codes: ([0-9]+) 2xx.*/\1/p') || true
    [[ $got == "$2" ]] || die "$1: ${got:-no} of $2 requests answered 2xx"
    return
  fi
  u=$(url "$1")
  [[ $1 == newconn ]] && extra=(-H "Connection: close")
  [[ $1 == gzip || $1 == br || $1 == zstd ]] && extra=(-H "Accept-Encoding: $1")
  got=$(curl -sS --max-time 600 "${extra[@]}" -w '%{http_code}\n' -o /dev/null \
    "${u/COUNT/$2}" | grep -c '^200$') || true
  [[ $got == "$2" ]] || die "$1: $got of $2 requests answered 200"
}

# dump_total PID NAME -- dumps the counters of the demo PID (started as
# NAME); sets TOTAL to the instructions counted since the last zeroing
# (dump k goes to NAME.cg.out.k).
declare -A DUMPS=()
dump_total() {
  callgrind_control -d "$1" >/dev/null
  DUMPS[$2]=$((${DUMPS[$2]:-0} + 1))
  local f=$TMP/$2.cg.out.${DUMPS[$2]} i
  for ((i = 0; i < 600; i++)); do
    grep -qs '^totals:' "$f" && break
    sleep 0.1
  done
  TOTAL=$(awk '/^totals:/ { print $2; exit }' "$f" 2>/dev/null)
}

ROWS=()
for s in "${SCEN[@]}"; do
  pid=$RR_PID name=h1 n=$N
  [[ $s == h2c ]] && pid=$H2_PID name=h2 n=$H2_N
  [[ $s == h2tls ]] && pid=$TLS_PID name=h2tls n=$H2_N
  log "$s: $WARM warm-up requests, then $n counted"
  send "$s" "$WARM"
  callgrind_control -z "$pid" >/dev/null
  send "$s" "$n"
  dump_total "$pid" "$name"
  [[ $TOTAL =~ ^[0-9]+$ ]] || die "$s: no instruction total in the dump"
  ROWS+=("$s|$n|$TOTAL|$(calc "int($TOTAL / $n)")")
  if [[ -n $CG_KEEP ]]; then
    cp "$TMP/$name.cg.out.${DUMPS[$name]}" "$CG_KEEP/$s.cg.out"
    log "$s by object: $(/usr/bin/python3 "$SCRIPT_DIR/lib/cg_objects.py" \
      "$(basename "$RR_DEMO")" "$CG_KEEP/$s.cg.out")"
    if [[ $s == h2c || $s == h2tls ]]; then
      hs=()
      [[ $s == h2tls ]] && hs=(--handshake)
      log "$s breakdown per request:"
      /usr/bin/python3 "$SCRIPT_DIR/lib/cg_h2_breakdown.py" "$CG_KEEP/$s.cg.out" "$n" "${hs[@]}" |
        tee "$CG_KEEP/$s.breakdown.txt" >&2
    fi
  fi
done

INFO=(
  "date|$START_DATE"
  "commit|$(commit_line)"
  "command|$COMMAND"
  "machine|$(machine_line)"
  "roadrunner|valgrind --tool=callgrind $(basename "$RR_DEMO") --port=0 --bind=127.0.0.1 --reactors=1 ${RR_EXTRA[*]}"
  "client|curl, one request at a time ($WARM warm-up requests per scenario, not counted)"
)
if ((WANT_H2TLS)); then
  INFO+=("h2tls|h2load -t1 -c$H2_CLIENTS -m$H2_STREAMS -n$H2_N https://127.0.0.1:PORT/ against a third demo with --tls-cert --tls-key (ECDSA P-256) --protocols=http2,http1 --max-keep-alive-requests=100000000")
fi
if ((WANT_H2)); then
  INFO+=("h2c|h2load -t1 -c$H2_CLIENTS -m$H2_STREAMS -n$H2_N http://127.0.0.1:PORT/ against a second demo with --protocols=http2 --max-keep-alive-requests=100000000")
fi
HEAD="scenario|requests|instructions (all threads, user space)|instructions per request"
print_info "User-space instructions per request (callgrind)" "command roadrunner" "${INFO[@]}"
echo
if ((MARKDOWN)); then
  table "|---|---:|---:|---:|" "$HEAD" "${ROWS[@]}"
else
  table "" "$HEAD" "${ROWS[@]}"
fi
log "done"
