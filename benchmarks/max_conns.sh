#!/usr/bin/env bash
# max_conns.sh -- peak concurrent idle keep-alive connections held by
# roadrunner-demo (target 50 000), its RSS there, and nginx's figures by the
# same method.
#
# Usage: benchmarks/max_conns.sh [--no-build] [--unpinned] [--no-nginx]
#                                [--markdown]
#
# Environment:
#   TARGET=50000   connections to open
#   PROCS=4        client processes (lib/idle_clients.py); process i binds to
#                  source address 127.0.0.(i+2), so each has its own
#                  ephemeral port range (about 28 000 ports by default)
#   SETTLE=2       seconds to wait after the last connection before counting
#   SETUP_DEADLINE=180  seconds the clients may take to connect
#   RR_DEMO=path   demo binary (default build-release/examples/roadrunner-demo)
#   RR_FLAGS=...   extra demo flags
#
# Method: the server (pinned to CPU 1; the demo with --reactors=1,
# --max-clients=TARGET+100 and a 600 s keep-alive timeout; nginx with
# worker_connections 2*TARGET+100, since it closes idle keep-alive
# connections when fewer than 1/16 are free) gets TARGET connections from
# PROCS client processes (pinned to CPU 0), each connection answered once
# (GET /). A client stops at its first error or after 10 s without an
# answer (--best-effort), so "opened" is what could be opened. After SETTLE
# seconds the clients report how many of their connections are still open
# ("held"), the server its own count (demo /info active_clients, nginx
# stub_status "Active connections", minus the asking connection; n/a when
# the server cannot accept that request, e.g. out of descriptors), and
# /proc/PID/fd gives its open descriptors; the server's CPU share over the
# settle period shows whether it idles or spins. RSS is the server's VmRSS before
# the clients and at the count. The open-files limit is raised to
# TARGET+2048 first, or as far as the hard limit allows when it cannot be
# raised (no CAP_SYS_RESOURCE); the report shows the limit in force. The
# destination is always 127.0.0.1; every process started is stopped by PID
# on exit.

# shellcheck source-path=SCRIPTDIR source=lib/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/prelude.sh"

record_command "TARGET PROCS SETTLE SETUP_DEADLINE RR_DEMO RR_FLAGS" "$0" "$@"

BUILD=1 PINNED=1 MARKDOWN=0 NGINX=1
for a in "$@"; do
  common_option "$a" "$0" && continue
  [[ $a == --no-nginx ]] || die "unknown option: $a (see --help)"
  NGINX=0
done
TARGET=${TARGET:-50000}
PROCS=${PROCS:-4}
SETTLE=${SETTLE:-2}
SETUP_DEADLINE=${SETUP_DEADLINE:-180}
RR_DEMO=${RR_DEMO:-$ROOT/build-release/examples/roadrunner-demo}
RR_FLAGS=${RR_FLAGS:-}
for v in TARGET PROCS SETTLE SETUP_DEADLINE; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
((PROCS <= 250)) || die "PROCS must be at most 250 (source addresses 127.0.0.2..)"
read -r -a RR_USER <<<"$RR_FLAGS"
RR_EXTRA=(--max-clients=$((TARGET + 100)) --keep-alive-timeout=600000 "${RR_USER[@]}")
STARTUP_TIMEOUT=10
NGINX_WORKER_CONNECTIONS=$((2 * TARGET + 100))
NGINX_KEEPALIVE_TIMEOUT=600s

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rr-maxconns.XXXXXX")
install_cleanup
stop_clients() {
  local p
  for p in "${EXTRA_PIDS[@]}"; do stop_pid "$p" idle_clients.py; done
  EXTRA_PIDS=()
}

"$ROOT/scripts/deps.sh" bench
ensure_tools nginx-light:nginx curl:curl util-linux:taskset python3:python3
CLK_TCK=$(getconf CLK_TCK)
setup_pinning
if ((BUILD)); then build_demo; fi
check_demo_binary
raise_fd_limit $((TARGET + 2048)) --best-effort
read -r PORT_LO PORT_HI </proc/sys/net/ipv4/ip_local_port_range
PER_PROC=$(((TARGET + PROCS - 1) / PROCS))
((PER_PROC <= PORT_HI - PORT_LO)) ||
  warn "$PER_PROC connections per client process but only $((PORT_HI - PORT_LO + 1)) ephemeral ports: raise PROCS"

IDLE_BUSY=$(busy_pct 1)
((IDLE_BUSY <= 10)) ||
  warn "machine already ${IDLE_BUSY}% busy before the run; results will be noisy"

ROWS=()
# measure NAME
measure() {
  local name=$1 pid port before after i n out line opened=0 held=0 active fds t0 t1 c0 c1 busy stops=""
  if [[ $name == roadrunner ]]; then
    start_roadrunner
    pid=$RR_PID port=$RR_PORT
  else
    start_nginx
    pid=$NGINX_PID port=$NGINX_PORT
  fi
  sleep 0.5
  before=$(rss_kib "$pid")
  log "$name: opening $TARGET connections from $PROCS client processes"
  t0=$EPOCHREALTIME
  for ((i = 0; i < PROCS; i++)); do
    n=$PER_PROC
    if ((i == PROCS - 1)); then n=$((TARGET - PER_PROC * (PROCS - 1))); fi
    spawn "${PIN_CLIENT[@]}" python3 "$SCRIPT_DIR/lib/idle_clients.py" "$port" "$n" \
      --source="127.0.0.$((i + 2))" --best-effort --no-stdin \
      --deadline="$SETUP_DEADLINE" </dev/null >"$TMP/clients.$i.out" 2>&1
    EXTRA_PIDS+=("$SPAWNED_PID")
  done
  for ((i = 0; i < PROCS; i++)); do
    out=$TMP/clients.$i.out
    line=$(wait_line "$out" '^(ready|failed)' $((SETUP_DEADLINE + 30))) ||
      die "$name: client $i did not finish connecting: $(tail -n3 "$out")"
    [[ $line == ready* ]] || die "$name: client $i: $line"
    opened=$((opened + $(awk '{ print $2 }' <<<"$line")))
    if [[ $line == *stopped=* ]]; then stops+=" ${line##*stopped=}"; fi
  done
  t1=$EPOCHREALTIME
  log "$name: $opened opened in $(printf '%.1f' "$(calc "$t1 - $t0")") s; settling ${SETTLE}s"
  c0=$(cpu_ticks "$pid") || die "$name died while the clients connected"
  sleep "$SETTLE"
  c1=$(cpu_ticks "$pid") || die "$name died while holding the connections"
  # Idle connections cost no CPU; a server spinning on accept (e.g. on
  # EMFILE with a level-triggered listener) shows here.
  busy=$(calc "100 * ($c1 - $c0) / $CLK_TCK / $SETTLE")
  for ((i = 0; i < PROCS; i++)); do
    kill -USR1 "${EXTRA_PIDS[$i]}"
  done
  for ((i = 0; i < PROCS; i++)); do
    line=$(wait_line "$TMP/clients.$i.out" '^open ' 30) || die "$name: client $i did not report"
    held=$((held + $(awk '{ print $2 }' <<<"$line")))
  done
  # Out of descriptors, a server cannot answer the count request: then only
  # its descriptor table tells (sockets plus a few epoll/event/log fds).
  active=$(server_active "$name" "$port" 2>/dev/null) || active=""
  [[ -n $active ]] || active=n/a
  fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
  after=$(rss_kib "$pid")
  ROWS+=("$name|$TARGET|$opened|$held|$active|$fds|$(printf '%.0f' "$busy")|$(printf '%.1f' "$(calc "$t1 - $t0")")|$(printf '%.1f' "$(calc "$before / 1024")")|$(printf '%.1f' "$(calc "$after / 1024")")|$(printf '%.0f' "$(calc "($after - $before) * 1024 / ($held > 0 ? $held : 1)")")|${stops:- none}")
  stop_clients
  if [[ $name == roadrunner ]]; then
    stop_pid "$RR_PID" roadrunner-demo
    RR_PID=""
  else
    stop_pid "$NGINX_PID" nginx
    NGINX_PID=""
  fi
}

measure roadrunner
if ((NGINX)); then measure nginx; fi

INFO=(
  "date|$START_DATE"
  "commit|$(commit_line)"
  "command|$COMMAND"
  "machine|$(machine_line); ${IDLE_BUSY}% busy (all CPUs) just before start; ephemeral ports $PORT_LO-$PORT_HI; open-files limit $(ulimit -n)"
  "roadrunner|$(basename "$RR_DEMO") --port=0 --bind=127.0.0.1 --reactors=1 ${RR_EXTRA[*]}"
  "nginx|1 process (master_process off), worker_connections $NGINX_WORKER_CONNECTIONS, keepalive_timeout $NGINX_KEEPALIVE_TIMEOUT"
  "clients|$PROCS x lib/idle_clients.py --best-effort (sources 127.0.0.2..127.0.0.$((PROCS + 1))), one GET / answered per connection, ${SETTLE}s settle"
)
HEAD="server|target|opened|held after settle|server-counted|server fds|server CPU % while idle|setup s|RSS before MiB|RSS after MiB|bytes per connection|client stopped by"
print_info "Peak concurrent idle keep-alive connections" "command roadrunner" "${INFO[@]}"
echo
table "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|" "$HEAD" "${ROWS[@]}"
log "done"
