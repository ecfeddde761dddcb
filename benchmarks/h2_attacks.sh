#!/usr/bin/env bash
# h2_attacks.sh -- HTTP/2 attacks beside a normal client (issue 18): for
# roadrunner-demo, nginx and h2o in the same run, the normal client's
# throughput while each attack runs, as a share of its throughput alone,
# and how fast the attacker's connections are cut.
#
# Usage: benchmarks/h2_attacks.sh [--attack=NAME[,NAME...]] [--tls]
#                                 [--no-build] [--unpinned] [--markdown]
#
#   --attack=LIST  attacks (default: $ATTACKS, else all of them)
#   --tls          h2 over TLS (ALPN) instead of h2c with prior knowledge
#   --no-build     use the existing demo binary (build-release/)
#   --unpinned     do not pin with taskset (recorded in the report)
#   --markdown     print the report as Markdown (for docs/benchmarks.md)
#
# Attacks (tests/e2e/h2_attacks.py, with --for: floods go on while the
# server reads, a new connection follows each cut): ping_flood,
# settings_flood, window_update_flood, priority_flood, empty_data_flood,
# tiny_data_flood, continuation_flood, rapid_reset, hpack_bomb,
# small_hpack_bombs, too_many_streams.
#
# Method: each server on CPU 1 with one worker (roadrunner --reactors=1);
# the normal client, h2load -t1 -cCLIENTS -mSTREAMS -D DURATION GET /, and
# ATTACKERS attacker processes (python3) on CPU 0. Per server: a run of
# the normal client alone, then one run per attack with the attackers
# started just before it. The ratio is the normal client's req/s under
# attack / alone (1.00: the attack costs it nothing). "cut" is the median
# time from an attacker connection's first flood byte to the server's
# close (-: never cut). By default the client CPU is shared by h2load and
# the attackers, so a ratio also reflects that share (the same for every
# server: compare servers within a run); ATTACKER_NICE=19 leaves h2load
# its CPU and weakens the attack.
#
# Environment:
#   ATTACKS=LIST   attacks when --attack is not given (default: all)
#   DURATION=5     seconds per run
#   CLIENTS=10 STREAMS=10  h2load connections, streams per connection
#   ATTACKERS=1    attacker processes per attack
#   ATTACKER_CPU=0 the CPU the attackers run on ("" = unpinned)
#   ATTACKER_NICE=0  their nice value (19: they only get what h2load leaves)
#   PEERS="h2o nginx"  peers beside roadrunner
#   RR_DEMO=path   demo binary (default build-release/examples/roadrunner-demo)
#
# Requires root only to apt-get install missing tools (nginx-light, h2o,
# nghttp2-client, python3-h2).

# shellcheck source-path=SCRIPTDIR source=lib/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/prelude.sh"

ALL_ATTACKS=(ping_flood settings_flood window_update_flood priority_flood
  empty_data_flood tiny_data_flood continuation_flood rapid_reset hpack_bomb
  small_hpack_bombs too_many_streams)
record_command "ATTACKS DURATION CLIENTS STREAMS ATTACKERS ATTACKER_CPU ATTACKER_NICE PEERS RR_DEMO" "$0" "$@"

BUILD=1 PINNED=1 MARKDOWN=0 TLS=0
ATTACKS=${ATTACKS:-$(IFS=,; echo "${ALL_ATTACKS[*]}")}
for a in "$@"; do
  common_option "$a" "$0" && continue
  case $a in
    --attack=*) ATTACKS=${a#--attack=} ;;
    --tls) TLS=1 ;;
    *) die "unknown option: $a (see --help)" ;;
  esac
done
IFS=, read -r -a ATTACK_LIST <<<"$ATTACKS"
for x in "${ATTACK_LIST[@]}"; do
  [[ " ${ALL_ATTACKS[*]} " == *" $x "* ]] || die "unknown attack '$x' (one of: ${ALL_ATTACKS[*]})"
done
DURATION=${DURATION:-5}
CLIENTS=${CLIENTS:-10}
STREAMS=${STREAMS:-10}
ATTACKERS=${ATTACKERS:-1}
ATTACKER_CPU=${ATTACKER_CPU-0}
ATTACKER_NICE=${ATTACKER_NICE:-0}
[[ $ATTACKER_NICE =~ ^-?[0-9]+$ ]] || die "ATTACKER_NICE must be an integer, got '$ATTACKER_NICE'"
for v in DURATION CLIENTS STREAMS ATTACKERS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
read -r -a PEER_LIST <<<"${PEERS-h2o nginx}"
for p in "${PEER_LIST[@]}"; do
  [[ $p == h2o || $p == nginx ]] || die "PEERS: unknown peer '$p' (h2o, nginx)"
done
RR_DEMO=${RR_DEMO:-$ROOT/build-release/examples/roadrunner-demo}
ATTACK_PY=$ROOT/tests/e2e/h2_attacks.py
STARTUP_TIMEOUT=10

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rr-h2-attacks.XXXXXX")
install_cleanup
ensure_tools nginx-light:nginx h2o:h2o nghttp2-client:h2load python3-h2:python3 \
  openssl:openssl curl:curl util-linux:taskset
setup_pinning
PIN_ATTACKER=(nice -n "$ATTACKER_NICE")
if ((PINNED)) && [[ -n $ATTACKER_CPU ]]; then PIN_ATTACKER+=(taskset -c "$ATTACKER_CPU"); fi
if ((BUILD)); then build_demo; fi
check_demo_binary

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -keyout "$TMP/key.pem" -out "$TMP/cert.pem" >"$TMP/openssl-req.out" 2>&1 ||
  die "openssl req failed: $(tail -n3 "$TMP/openssl-req.out")"

SCHEME=http
((TLS)) && SCHEME=https
for ((i = 0; i < 20; i++)); do
  NGINX_TLS_PORT=$(free_port) NGINX_H2_TLS_PORT=$(free_port) NGINX_H2C_PORT=$(free_port) ||
    die "could not find free ports for nginx"
  [[ $(printf '%s\n' "$NGINX_TLS_PORT" "$NGINX_H2_TLS_PORT" "$NGINX_H2C_PORT" | sort -u | wc -l) == 3 ]] && break
done
NGINX_CONF_IN=$SCRIPT_DIR/nginx/tls_h2.conf.in
NGINX_SED=(-e "s#@TLS_PORT@#$NGINX_TLS_PORT#g" -e "s#@H2_TLS_PORT@#$NGINX_H2_TLS_PORT#g"
  -e "s#@H2C_PORT@#$NGINX_H2C_PORT#g" -e "s#@CERT@#$TMP/cert.pem#g" -e "s#@KEY@#$TMP/key.pem#g")
if [[ " ${PEER_LIST[*]} " == *" nginx "* ]]; then start_nginx; fi
if [[ " ${PEER_LIST[*]} " == *" h2o "* ]]; then start_h2o "$TMP/cert.pem" "$TMP/key.pem"; fi
RR_EXTRA=(--max-keep-alive-requests=1000000)
if ((TLS)); then
  RR_EXTRA+=(--tls-cert="$TMP/cert.pem" --tls-key="$TMP/key.pem" "--protocols=http2,http1")
else
  RR_EXTRA+=(--protocols=http2)
  RR_KEEPALIVE_CHECK=0
fi
start_roadrunner

SERVERS=(roadrunner "${PEER_LIST[@]}")
port_of() {
  case $1:$TLS in
    roadrunner:*) echo "$RR_PORT" ;;
    nginx:0) echo "$NGINX_H2C_PORT" ;;
    nginx:1) echo "$NGINX_H2_TLS_PORT" ;;
    h2o:0) echo "$H2O_PORT" ;;
    h2o:1) echo "$H2O_TLS_PORT" ;;
  esac
}
pid_of() {
  case $1 in
    roadrunner) echo "$RR_PID" ;;
    nginx) echo "$NGINX_PID" ;;
    h2o) echo "$H2O_PID" ;;
  esac
}

# normal_run SERVER OUT -- h2load against SERVER for DURATION; prints req/s.
normal_run() {
  local url
  url="$SCHEME://127.0.0.1:$(port_of "$1")/"
  timeout $((DURATION + 60)) "${PIN_CLIENT[@]}" h2load -t1 "-c$CLIENTS" "-m$STREAMS" \
    -D "$DURATION" "$url" >"$2" 2>&1 || die "h2load against $1 failed: $(tail -c 600 "$2")"
  sed -nE 's/^finished in [^,]*, ([0-9.]+) req\/s.*/\1/p' "$2"
}

# attack_run SERVER ATTACK -- the normal client under ATTACK; sets A_RPS
# and A_CUT (median cut ms over the attackers, - when never cut).
attack_run() {
  local k out="$TMP/attack.$1.$2" tls_flag=() n
  local -a pids=()
  ((TLS)) && tls_flag=(--tls)
  n=${#EXTRA_PIDS[@]}
  for ((k = 1; k <= ATTACKERS; k++)); do
    # The attack outlasts the measured run by a second on both sides.
    "${PIN_ATTACKER[@]}" /usr/bin/python3 "$ATTACK_PY" "$(port_of "$1")" "${tls_flag[@]}" \
      "--for=$((DURATION + 2))" "$2" >"$out.$k" 2>&1 &
    pids+=("$!")
    EXTRA_PIDS+=("$!")
  done
  sleep 1
  A_RPS=$(normal_run "$1" "$out.h2load")
  for k in "${pids[@]}"; do wait "$k" || true; done
  EXTRA_PIDS=("${EXTRA_PIDS[@]:0:n}")
  A_CUT=$(cat "$out".[0-9]* | awk '$2 == "connections" && $5 >= 0 { print $5 }' | sort -n |
    awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }')
  A_CONNS=$(cat "$out".[0-9]* | awk '$2 == "connections" { n += $3 } END { print n + 0 }')
  kill -0 "$(pid_of "$1")" 2>/dev/null || die "$1 died under $2"
}

declare -A BASE=() RATIO=() CUT=() CONNS=()
for s in "${SERVERS[@]}"; do
  log "$s: normal client alone (${DURATION}s)"
  BASE[$s]=$(normal_run "$s" "$TMP/base.$s")
  [[ -n ${BASE[$s]} ]] || die "$s: no req/s from h2load"
  for x in "${ATTACK_LIST[@]}"; do
    log "$s: normal client under $x (${DURATION}s)"
    attack_run "$s" "$x"
    RATIO[$s:$x]=$(fmt '%.2f' "$(calc "${A_RPS:-0} / ${BASE[$s]}")")
    CUT[$s:$x]=$A_CUT CONNS[$s:$x]=$A_CONNS
  done
done

HEAD="attack" ALIGN="|---|"
for s in "${SERVERS[@]}"; do
  HEAD+="|$s ratio|$s cut ms|$s attacker conns"
  ALIGN+="---:|---:|---:|"
done
ROWS=("alone (req/s)$(for s in "${SERVERS[@]}"; do printf '|%.0f|-|-' "${BASE[$s]}"; done)")
for x in "${ATTACK_LIST[@]}"; do
  row=$x
  for s in "${SERVERS[@]}"; do row+="|${RATIO[$s:$x]}|${CUT[$s:$x]}|${CONNS[$s:$x]}"; done
  ROWS+=("$row")
done
PEER_DESC=""
for p in "${PEER_LIST[@]}"; do
  case $p in
    nginx) PEER_DESC+="; nginx (benchmarks/nginx/tls_h2.conf.in)" ;;
    h2o) PEER_DESC+="; h2o num-threads 1 (benchmarks/h2o/hello.conf.in)" ;;
  esac
done
INFO=(
  "date|$START_DATE"
  "commit|$(commit_line)"
  "command|$COMMAND"
  "machine|$(machine_line)"
  "transport|$( ((TLS)) && echo "h2 over TLS (ALPN)" || echo "h2c, prior knowledge")"
  "normal client|h2load -t1 -c$CLIENTS -m$STREAMS -D $DURATION GET / on CPU 0; $ATTACKERS attacker process(es), CPU ${ATTACKER_CPU:-any}, nice $ATTACKER_NICE$( ((PINNED)) || echo " (unpinned)")"
  "servers|one worker each on CPU 1: roadrunner-demo --reactors=1 ${RR_EXTRA[*]//"$TMP"/TMP}$PEER_DESC"
)
print_info "HTTP/2 attacks beside a normal client: its req/s under attack / alone" "command" "${INFO[@]}"
echo
table "$ALIGN" "$HEAD" "${ROWS[@]}"
log "done"
