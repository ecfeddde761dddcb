#!/usr/bin/env bash
# tls_instructions.sh -- user-space instructions per TLS connection (full
# handshake and resumed), roadrunner-demo vs nginx vs h2o, with an ECDSA
# P-256 and an RSA-2048 certificate, counted by valgrind (callgrind): the
# TLS setup cost of issue 19 as a figure that a busy machine does not move
# (benchmarks/tls_h2.sh measures the CPU time, on a quiet machine).
#
# Usage: benchmarks/tls_instructions.sh [--no-build] [--markdown]
#
#   --no-build   reuse build-release/examples/roadrunner-demo
#   --markdown   print the report as Markdown (for docs/benchmarks.md)
#
# Method: per certificate type, each server runs under
# `valgrind --tool=callgrind` (h2o with --trace-children=yes: it signs in
# a forked key-operation process, whose instructions are added); per mode,
# lib/tls_conns.py opens WARM connections, the counters of every process
# of the server are zeroed (callgrind_control -z PID), N connections follow
# one after the other, and the counters are dumped (callgrind_control -d):
# instructions / N. Each connection: a TLS 1.3 handshake (X25519,
# TLS_AES_256_GCM_SHA384: Python's ssl, OpenSSL's client defaults), one
# `GET / HTTP/1.1` with `Connection: close`, the close. Modes: full (no
# session offered: X25519 plus the certificate's signature) and resumed
# (the previous connection's ticket: PSK with X25519, no signature). Only
# user space: the kernel's share is not in the figure. All threads count
# (for roadrunner: the reactor, CAF's scheduler workers and clock).
#
# Breakdown: for roadrunner, each dump is split by the object the
# instructions ran in (self cost: libcrypto, libssl, libc, libstdc++, CAF,
# the demo binary with libroadrunner, the dynamic loader, other) by
# lib/cg_objects.py.
#
# h2o's key-operation process sleeps in a read between signatures and may
# never take the dump command: it is then left out (the report's last
# column says so), which drops the signature from h2o's full handshakes;
# compare full handshakes with h2o by CPU time (tls_h2.sh) instead.
#
# Environment: N=200, WARM=20, SERVERS="roadrunner nginx h2o",
# CERT_TYPES="ecdsa rsa", MODES="full resumed", RR_DEMO, RR_FLAGS (extra
# demo flags). Progress on stderr, report on stdout; only 127.0.0.1.

# shellcheck source-path=SCRIPTDIR source=lib/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/prelude.sh"
# shellcheck source-path=SCRIPTDIR source=lib/certs.sh
source "$SCRIPT_DIR/lib/certs.sh"

record_command "N WARM SERVERS CERT_TYPES MODES RR_DEMO RR_FLAGS" "$0" "$@"

BUILD=1 PINNED=0 MARKDOWN=0
only_common_options "$0" "$@"
N=${N:-200}
WARM=${WARM:-20}
read -r -a SERVER_LIST <<<"${SERVERS:-roadrunner nginx h2o}"
read -r -a CERT_LIST <<<"${CERT_TYPES:-ecdsa rsa}"
read -r -a MODE_LIST <<<"${MODES:-full resumed}"
RR_DEMO=${RR_DEMO:-$ROOT/build-release/examples/roadrunner-demo}
read -r -a RR_EXTRA <<<"${RR_FLAGS:-}"
for v in N WARM; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
for s in "${SERVER_LIST[@]}"; do
  [[ $s == roadrunner || $s == nginx || $s == h2o ]] || die "SERVERS: unknown '$s'"
done
for t in "${CERT_LIST[@]}"; do
  [[ $t == ecdsa || $t == rsa ]] || die "CERT_TYPES: unknown '$t'"
done
for m in "${MODE_LIST[@]}"; do
  [[ $m == full || $m == resumed ]] || die "MODES: unknown '$m'"
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rr-tls-instr.XXXXXX")
install_cleanup
STARTUP_TIMEOUT=120 # seconds: servers start slowly under valgrind

ensure_tools valgrind:valgrind valgrind:callgrind_control openssl:openssl curl:curl
NEED_RR=0
for s in "${SERVER_LIST[@]}"; do
  case $s in
    roadrunner) NEED_RR=1 ;;
    nginx) ensure_tools nginx-light:nginx ;;
    h2o) ensure_tools h2o:h2o ;;
  esac
done
if ((NEED_RR)); then
  if ((BUILD)); then build_demo; fi
  check_demo_binary
fi

make_certs "$TMP" "${CERT_LIST[@]}"
printf 'Hello, World!' >"$TMP/hello.txt"

# tree_pids PID -- PID and its descendants, one per line.
tree_pids() {
  local p
  echo "$1"
  for p in $(pgrep -P "$1" || true); do tree_pids "$p"; done
}

# start_server NAME TYPE -- starts NAME under callgrind with the TYPE
# certificate on a free port; sets SRV_PID, SRV_PORT, SRV_OUT (the
# callgrind output file prefix).
start_server() {
  local name=$1 type=$2 cert=$TMP/$2/cert.pem key=$TMP/$2/key.pem port i line user_line=""
  SRV_OUT=$TMP/$name-$type.cg
  local vg=(valgrind --tool=callgrind "--callgrind-out-file=$SRV_OUT.%p")
  case $name in
    roadrunner)
      log "starting roadrunner-demo under callgrind ($type)"
      spawn "${vg[@]}" "$RR_DEMO" --port=0 --bind=127.0.0.1 --reactors=1 \
        --tls-cert="$cert" --tls-key="$key" --protocols=http1 "${RR_EXTRA[@]}" \
        >"$TMP/$name.out" 2>"$TMP/$name.err"
      SRV_PID=$SPAWNED_PID
      EXTRA_PIDS+=("$SRV_PID")
      line=$(wait_line "$TMP/$name.out" 'listening on https://127\.0\.0\.1:[0-9]+$' "$STARTUP_TIMEOUT") ||
        die "the demo did not start under valgrind: $(tail -n5 "$TMP/$name.err")"
      SRV_PORT=${line##*:}
      ;;
    nginx)
      port=$(free_port) || die "no free port"
      # The same TLS settings as in tls_h2.sh (nginx/tls_h2.conf.in); only
      # the TLS HTTP/1.1 listener is used here.
      sed -e "s#@PREFIX@#$TMP#g" -e "s#@PORT@#$(free_port)#g" -e "s#@TLS_PORT@#$port#g" \
        -e "s#@H2_TLS_PORT@#$(free_port)#g" -e "s#@H2C_PORT@#$(free_port)#g" \
        -e "s#@WORKER_CONNECTIONS@#1024#g" -e "s#@KEEPALIVE_TIMEOUT@#75s#g" \
        -e "s#@CERT@#$cert#g" -e "s#@KEY@#$key#g" \
        "$SCRIPT_DIR/nginx/tls_h2.conf.in" >"$TMP/nginx.conf"
      log "starting nginx under callgrind ($type)"
      spawn "${vg[@]}" nginx -c "$TMP/nginx.conf" -p "$TMP/" -e "$TMP/error.log" \
        >"$TMP/$name.out" 2>"$TMP/$name.err"
      SRV_PID=$SPAWNED_PID SRV_PORT=$port
      EXTRA_PIDS+=("$SRV_PID")
      ;;
    h2o)
      local plain
      plain=$(free_port) || die "no free port"
      port=$(free_port) || die "no free port"
      if (($(id -u) == 0)); then user_line="user: root"; fi
      sed -e "s#@PREFIX@#$TMP#g" -e "s#@PORT@#$plain#g" -e "s#@TLS_PORT@#$port#g" \
        -e "s#@CERT@#$cert#g" -e "s#@KEY@#$key#g" -e "s#@USER_LINE@#$user_line#" \
        "$SCRIPT_DIR/h2o/hello.conf.in" >"$TMP/h2o.conf"
      log "starting h2o under callgrind ($type)"
      spawn "${vg[@]}" --trace-children=yes h2o -c "$TMP/h2o.conf" \
        >"$TMP/$name.out" 2>"$TMP/$name.err"
      SRV_PID=$SPAWNED_PID SRV_PORT=$port
      EXTRA_PIDS+=("$SRV_PID")
      ;;
  esac
  for ((i = 0; i < STARTUP_TIMEOUT * 10; i++)); do
    curl -ks --max-time 5 -o /dev/null "https://127.0.0.1:$SRV_PORT/" && return 0
    kill -0 "$SRV_PID" 2>/dev/null || die "$name exited during start-up: $(tail -n5 "$TMP/$name.err")"
    sleep 0.1
  done
  die "$name not answering within ${STARTUP_TIMEOUT}s under valgrind"
}

# connections MODE COUNT -- COUNT connections of MODE against SRV_PORT;
# sets SIG (the certificate's signature kind the client saw).
connections() {
  local out
  out=$(timeout 1200 /usr/bin/python3 "$SCRIPT_DIR/lib/tls_conns.py" "$SRV_PORT" "$2" "$1") ||
    die "tls_conns.py $1 $2: $out"
  [[ $out == "done $2 "* ]] || die "tls_conns.py: $out"
  SIG=${out##* }
}

# new_dump PID BEFORE -- the dump file of PID that is not in BEFORE (a
# list of files), once it has its totals; empty if none yet.
new_dump() {
  local f base
  base=$(basename "$SRV_OUT").$1
  f=$(comm -13 <(echo "$2") <(find "$TMP" -maxdepth 1 -name "$base.*" | sort) | head -n1)
  if [[ -n $f ]] && grep -qs '^totals:' "$f"; then echo "$f"; fi
}

# dump_total MODE -- dumps every process of the server; sets TOTAL (the
# sum of the instructions since the last zeroing) and DUMP_FILES. A
# process asleep in a system call (h2o's key-operation process waiting for
# the next signature) takes the dump command only when it wakes: if one
# has not dumped after 3 s, one more connection of MODE wakes it (its
# command is handled before it serves the new request, so its count stays
# that of the N connections; the other processes are dumped already).
dump_total() {
  local p f i t
  local -A before=()
  local -a pending=()
  TOTAL=0 DUMP_FILES=()
  for p in $(tree_pids "$SRV_PID"); do
    [[ -e $SRV_OUT.$p ]] || continue # not a valgrind process (e.g. a shell)
    before[$p]=$(find "$TMP" -maxdepth 1 -name "$(basename "$SRV_OUT").$p.*" | sort)
    callgrind_control -d "$p" >/dev/null 2>&1 || continue
    pending+=("$p")
  done
  for ((i = 0; i < 130 && ${#pending[@]} > 0; i++)); do
    if ((i == 30)); then connections "$1" 1; fi
    local -a still=()
    for p in "${pending[@]}"; do
      f=$(new_dump "$p" "${before[$p]}")
      if [[ -z $f ]]; then
        [[ -d /proc/$p ]] && still+=("$p")
        continue
      fi
      t=$(awk '/^totals:/ { print $2; exit }' "$f" 2>/dev/null || true)
      [[ $t =~ ^[0-9]+$ ]] || die "no instruction total in $f"
      TOTAL=$((TOTAL + t))
      DUMP_FILES+=("$f")
    done
    pending=("${still[@]}")
    ((${#pending[@]} == 0)) || sleep 0.1
  done
  UNCOUNTED=""
  if ((${#pending[@]} > 0)); then
    UNCOUNTED="not counted: pid(s) ${pending[*]} (no dump)"
    warn "$UNCOUNTED"
  fi
}

zero_all() {
  local p
  for p in $(tree_pids "$SRV_PID"); do
    [[ -e $SRV_OUT.$p ]] || continue
    callgrind_control -z "$p" >/dev/null 2>&1 || true
  done
}

# breakdown FILE... -- "group share%" pairs of the self instructions in
# FILEs by object (lib/cg_objects.py).
breakdown() {
  /usr/bin/python3 "$SCRIPT_DIR/lib/cg_objects.py" "$(basename "$RR_DEMO")" "$@"
}

ROWS=() SHARES=()
for t in "${CERT_LIST[@]}"; do
  for s in "${SERVER_LIST[@]}"; do
    start_server "$s" "$t"
    for m in "${MODE_LIST[@]}"; do
      log "$s / $t / $m: $WARM warm-up connections, then $N counted"
      connections "$m" "$WARM"
      zero_all
      connections "$m" "$N"
      dump_total "$m"
      ROWS+=("$t|$m|$s|$SIG|$N|$TOTAL|$(calc "int($TOTAL / $N)")|${UNCOUNTED:-all}")
      if [[ $s == roadrunner ]]; then SHARES+=("$t|$m|$(breakdown "${DUMP_FILES[@]}")"); fi
    done
    stop_pid "$SRV_PID" "$s"
  done
done

# Ratios roadrunner / peer per certificate type and mode.
RATIOS=()
declare -A PER=()
for r in "${ROWS[@]}"; do
  IFS='|' read -r t m s _ _ _ per _ <<<"$r"
  PER[$t:$m:$s]=$per
done
for t in "${CERT_LIST[@]}"; do
  for m in "${MODE_LIST[@]}"; do
    rr=${PER[$t:$m:roadrunner]:-}
    [[ -n $rr ]] || continue
    for s in nginx h2o; do
      p=${PER[$t:$m:$s]:-}
      [[ -n $p ]] && RATIOS+=("$t|$m|$s|$rr|$p|$(ratio_of "$rr" "$p")")
    done
  done
done

INFO=(
  "date|$START_DATE"
  "commit|$(commit_line)"
  "command|$COMMAND"
  "machine|$(machine_line)"
  "roadrunner|valgrind --tool=callgrind $(basename "$RR_DEMO") --port=0 --bind=127.0.0.1 --reactors=1 --tls-cert --tls-key --protocols=http1 ${RR_EXTRA[*]}"
  "nginx|$(nginx -v 2>&1 | sed 's#.*nginx/#nginx #'), benchmarks/nginx/tls_h2.conf.in (one process)"
  "h2o|h2o $(h2o --version 2>/dev/null | awk 'NR == 1 { print $3 }' || true), benchmarks/h2o/hello.conf.in (one thread; its key-operation process counted)"
  "client|benchmarks/lib/tls_conns.py (Python ssl, $(openssl version | awk '{ print $1, $2 }')): TLS 1.3, one GET / with Connection: close per connection; $WARM warm-up connections per server and mode"
)
HEAD="certificate|mode|server|signature seen|connections|instructions (user space, all threads and processes)|instructions per connection|processes counted"
RHEAD="certificate|mode|peer|roadrunner per connection|peer per connection|roadrunner / peer"
print_info "User-space instructions per TLS connection (callgrind)" "command roadrunner" "${INFO[@]}"
echo
if ((MARKDOWN)); then
  table "|---|---|---|---|---:|---:|---:|---|" "$HEAD" "${ROWS[@]}"
  echo
  table "|---|---|---|---:|---:|---:|" "$RHEAD" "${RATIOS[@]}"
  echo
  table "|---|---|---|" "certificate|mode|roadrunner's instructions by object" "${SHARES[@]}"
else
  table "" "$HEAD" "${ROWS[@]}"
  echo
  table "" "$RHEAD" "${RATIOS[@]}"
  echo
  table "" "certificate|mode|roadrunner's instructions by object" "${SHARES[@]}"
fi
log "done"
