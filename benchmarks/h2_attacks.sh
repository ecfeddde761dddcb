#!/usr/bin/env bash
# h2_attacks.sh -- HTTP/2 and HTTP/1.1 attacks beside a normal client
# (issue 18): for roadrunner-demo, nginx and h2o in the same run, the normal
# client's throughput while each attack runs, as a share of its throughput
# alone (the issue's goal: at least 0.80), and how fast the attacker's
# connections are cut.
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
# HTTP/1.1 attacks (tests/e2e/h1_attacks.py, with --for; always plain
# HTTP/1.1, also with --tls): h1_slow_loris (100 connections trickling a
# head at 20 B/s), h1_many_headers (10 000 fields), h1_huge_header (a 1 MB
# line), h1_big_header_block, h1_pipeline_flood (pipelined GETs, never
# reading an answer: paused once its answers back up, cut only after
# request_timeout without output progress, 30 s by default, so "-" in a
# short run). Their normal client is h2load --h1 (-m1) against the
# server's HTTP/1.1 port (roadrunner: a second demo, --protocols=http1), and
# their ratio is against that client alone. Default: every attack of both.
#
# Method: each server on CPU 1 with one worker (roadrunner --reactors=1);
# the normal client, h2load -t1 -cCLIENTS -mSTREAMS -D DURATION GET /, and
# ATTACKERS attacker processes (python3) on CPU 0. Per server: a run of
# the normal client alone, then one run per attack with the attackers
# started just before it. The ratio is the normal client's req/s under
# attack / alone (1.00: the attack costs it nothing; the goal is >= 0.80,
# and the report ends with how many attacks each server kept there). "cut" is the median
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
#   NORMAL_RPS=N   the normal client asks for N req/s per connection
#                  (h2load --rps) instead of as many as it gets: on a
#                  2-CPU machine a closed-loop h2load shares its CPU with
#                  the attackers, so its ratio is capped near 0.5 for every
#                  server; at a fixed rate well under capacity the ratio
#                  shows whether the server still serves it (1.00) or the
#                  attack starves it
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
  small_hpack_bombs too_many_streams h1_slow_loris h1_many_headers
  h1_huge_header h1_big_header_block h1_pipeline_flood)
GOAL=0.80
record_command "ATTACKS DURATION CLIENTS STREAMS NORMAL_RPS ATTACKERS ATTACKER_CPU ATTACKER_NICE PEERS RR_DEMO" "$0" "$@"

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
NORMAL_RPS=${NORMAL_RPS:-}
[[ -z $NORMAL_RPS || $NORMAL_RPS =~ ^[1-9][0-9]*$ ]] || die "NORMAL_RPS must be a positive integer, got '$NORMAL_RPS'"
RATE=()
if [[ -n $NORMAL_RPS ]]; then RATE=("--rps=$NORMAL_RPS"); fi
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
H1_ATTACK_PY=$ROOT/tests/e2e/h1_attacks.py
NEED_H1=0 NEED_H2=0
for x in "${ATTACK_LIST[@]}"; do
  if [[ $x == h1_* ]]; then NEED_H1=1; else NEED_H2=1; fi
done
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
if ((NEED_H1)); then
  # The HTTP/1.1 attacks' roadrunner: plain HTTP/1.1 (a plain listener
  # speaks h2c or HTTP/1.1, not both). Idle while the other one is measured.
  MAIN_RR_PID=$RR_PID MAIN_RR_PORT=$RR_PORT MAIN_RR_EXTRA=("${RR_EXTRA[@]}")
  RR_EXTRA=(--max-keep-alive-requests=1000000 --protocols=http1)
  RR_KEEPALIVE_CHECK=1 start_roadrunner
  RR_H1_PID=$RR_PID RR_H1_PORT=$RR_PORT
  EXTRA_PIDS+=("$RR_H1_PID")
  RR_PID=$MAIN_RR_PID RR_PORT=$MAIN_RR_PORT RR_EXTRA=("${MAIN_RR_EXTRA[@]}")
fi

SERVERS=(roadrunner "${PEER_LIST[@]}")
# port_of SERVER [ATTACK] -- the port ATTACK (and its normal client) uses.
port_of() {
  if [[ ${2:-} == h1_* ]]; then
    case $1 in
      roadrunner) echo "$RR_H1_PORT" ;;
      nginx) echo "$NGINX_PORT" ;;
      h2o) echo "$H2O_PORT" ;;
    esac
    return
  fi
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
    roadrunner) if [[ ${2:-} == h1_* ]]; then echo "$RR_H1_PID"; else echo "$RR_PID"; fi ;;
    nginx) echo "$NGINX_PID" ;;
    h2o) echo "$H2O_PID" ;;
  esac
}

# normal_run SERVER OUT [ATTACK] -- h2load against SERVER for DURATION
# (HTTP/1.1, one request at a time per connection, for an h1_ ATTACK);
# prints req/s.
normal_run() {
  local url proto=(-m "$STREAMS")
  url="$SCHEME://127.0.0.1:$(port_of "$1" "${3:-}")/"
  if [[ ${3:-} == h1_* ]]; then
    url="http://127.0.0.1:$(port_of "$1" "$3")/"
    proto=(--h1 -m 1)
  fi
  timeout $((DURATION + 60)) "${PIN_CLIENT[@]}" h2load -t1 "-c$CLIENTS" "${proto[@]}" "${RATE[@]}" \
    -D "$DURATION" "$url" >"$2" 2>&1 || die "h2load against $1 failed: $(tail -c 600 "$2")"
  sed -nE 's/^finished in [^,]*, ([0-9.]+) req\/s.*/\1/p' "$2"
}

# attack_run SERVER ATTACK -- the normal client under ATTACK; sets A_RPS
# and A_CUT (median cut ms over the attackers, - when never cut).
attack_run() {
  local k out="$TMP/attack.$1.$2" n
  local -a pids=() cmd
  # The attack outlasts the measured run by a second on both sides.
  if [[ $2 == h1_* ]]; then
    cmd=(/usr/bin/python3 "$H1_ATTACK_PY" "$(port_of "$1" "$2")" "--for=$((DURATION + 2))" "${2#h1_}")
  else
    cmd=(/usr/bin/python3 "$ATTACK_PY" "$(port_of "$1")" "--for=$((DURATION + 2))" "$2")
    if ((TLS)); then cmd+=(--tls); fi
  fi
  n=${#EXTRA_PIDS[@]}
  for ((k = 1; k <= ATTACKERS; k++)); do
    "${PIN_ATTACKER[@]}" "${cmd[@]}" >"$out.$k" 2>&1 &
    pids+=("$!")
    EXTRA_PIDS+=("$!")
  done
  sleep 1
  A_RPS=$(normal_run "$1" "$out.h2load" "$2")
  for k in "${pids[@]}"; do wait "$k" || true; done
  EXTRA_PIDS=("${EXTRA_PIDS[@]:0:n}")
  A_CUT=$(cat "$out".[0-9]* | awk '$2 == "connections" && $5 >= 0 { print $5 }' | sort -n |
    awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }')
  A_CONNS=$(cat "$out".[0-9]* | awk '$2 == "connections" { n += $3 } END { print n + 0 }')
  kill -0 "$(pid_of "$1" "$2")" 2>/dev/null || die "$1 died under $2"
}

declare -A BASE=() RATIO=() CUT=() CONNS=() MET=()
for s in "${SERVERS[@]}"; do
  if ((NEED_H2)); then
    log "$s: normal client alone (${DURATION}s)"
    BASE[$s]=$(normal_run "$s" "$TMP/base.$s")
    [[ -n ${BASE[$s]} ]] || die "$s: no req/s from h2load"
  fi
  if ((NEED_H1)); then
    log "$s: normal HTTP/1.1 client alone (${DURATION}s)"
    BASE[$s:h1]=$(normal_run "$s" "$TMP/base.$s.h1" h1_)
    [[ -n ${BASE[$s:h1]} ]] || die "$s: no req/s from h2load --h1"
  fi
  MET[$s]=0
  for x in "${ATTACK_LIST[@]}"; do
    log "$s: normal client under $x (${DURATION}s)"
    attack_run "$s" "$x"
    base=${BASE[$s]:-}
    if [[ $x == h1_* ]]; then base=${BASE[$s:h1]}; fi
    RATIO[$s:$x]=$(fmt '%.2f' "$(calc "${A_RPS:-0} / $base")")
    CUT[$s:$x]=$A_CUT CONNS[$s:$x]=$A_CONNS
    if [[ $(calc "${RATIO[$s:$x]} >= $GOAL") == 1 ]]; then MET[$s]=$((MET[$s] + 1)); fi
  done
done

HEAD="attack" ALIGN="|---|"
for s in "${SERVERS[@]}"; do
  HEAD+="|$s ratio|$s cut ms|$s attacker conns"
  ALIGN+="---:|---:|---:|"
done
ROWS=()
if ((NEED_H2)); then
  ROWS+=("alone (req/s)$(for s in "${SERVERS[@]}"; do printf '|%.0f|-|-' "${BASE[$s]}"; done)")
fi
if ((NEED_H1)); then
  ROWS+=("alone, HTTP/1.1 (req/s)$(for s in "${SERVERS[@]}"; do printf '|%.0f|-|-' "${BASE[$s:h1]}"; done)")
fi
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
  "normal client|h2load -t1 -c$CLIENTS -m$STREAMS ${RATE[*]} -D $DURATION GET / on CPU 0 (h1_ attacks: h2load --h1 -m1 over plain HTTP/1.1); $ATTACKERS attacker process(es), CPU ${ATTACKER_CPU:-any}, nice $ATTACKER_NICE$( ((PINNED)) || echo " (unpinned)")"
  "servers|one worker each on CPU 1: roadrunner-demo --reactors=1 ${RR_EXTRA[*]//"$TMP"/TMP}$PEER_DESC"
)
print_info "Attacks beside a normal client: its req/s under attack / alone (goal >= $GOAL)" "command" "${INFO[@]}"
echo
table "$ALIGN" "$HEAD" "${ROWS[@]}"
echo
for s in "${SERVERS[@]}"; do
  echo "$s: normal client at >= $GOAL of its throughput alone under ${MET[$s]} of ${#ATTACK_LIST[@]} attacks"
done
log "done"
