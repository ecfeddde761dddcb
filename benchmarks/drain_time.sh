#!/usr/bin/env bash
# drain_time.sh -- how long roadrunner-demo takes to drain CONNS idle
# keep-alive connections on SIGTERM: time until the process exits and until
# every client socket has seen the connection close. nginx's graceful
# shutdown (SIGQUIT) is measured the same way for reference.
#
# Usage: benchmarks/drain_time.sh [--no-build] [--unpinned] [--no-nginx]
#                                 [--markdown]
#
# Environment:
#   CONNS=10000          idle keep-alive connections (one GET / each first)
#   RUNS=3               runs per server (a fresh server each run)
#   DRAIN_TIMEOUT=10000  the demo's --drain-timeout (ms)
#   RR_DEMO=path         demo binary (default build-release/examples/roadrunner-demo)
#   RR_FLAGS=...         extra demo flags
#
# Method: the server (pinned to CPU 1; the demo with --reactors=1,
# --max-clients=CONNS+100 and a 600 s keep-alive timeout) gets CONNS
# connections from lib/idle_clients.py (pinned to CPU 0), each answered
# once; the server's own count is checked (demo /info active_clients, nginx
# stub_status). Then the script sends the signal and takes the time T0
# ($EPOCHREALTIME); "exit" is when `wait` returns for the server process,
# "first close"/"last close" are the client's clock (time.time()) when the
# first/last socket read EOF. The open-files limit is raised to CONNS+1024
# (needs CAP_SYS_RESOURCE above the hard limit). Only 127.0.0.1 is used;
# every process started is stopped by PID on exit.

# shellcheck source-path=SCRIPTDIR source=lib/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/prelude.sh"

record_command "CONNS RUNS DRAIN_TIMEOUT RR_DEMO RR_FLAGS" "$0" "$@"

BUILD=1 PINNED=1 MARKDOWN=0 NGINX=1
for a in "$@"; do
  common_option "$a" "$0" && continue
  [[ $a == --no-nginx ]] || die "unknown option: $a (see --help)"
  NGINX=0
done
CONNS=${CONNS:-10000}
RUNS=${RUNS:-3}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-10000}
RR_DEMO=${RR_DEMO:-$ROOT/build-release/examples/roadrunner-demo}
RR_FLAGS=${RR_FLAGS:-}
for v in CONNS RUNS DRAIN_TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
read -r -a RR_USER <<<"$RR_FLAGS"
RR_EXTRA=(--max-clients=$((CONNS + 100)) --keep-alive-timeout=600000
  --drain-timeout="$DRAIN_TIMEOUT" "${RR_USER[@]}")
STARTUP_TIMEOUT=10
# Twice what is needed: nginx closes idle keep-alive connections to make room
# once fewer than 1/16 of worker_connections are free.
NGINX_WORKER_CONNECTIONS=$((2 * CONNS + 100))
NGINX_KEEPALIVE_TIMEOUT=600s

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rr-drain.XXXXXX")
install_cleanup

"$ROOT/scripts/deps.sh" bench
ensure_tools nginx-light:nginx curl:curl util-linux:taskset python3:python3
setup_pinning
if ((BUILD)); then build_demo; fi
check_demo_binary
raise_fd_limit $((CONNS + 1024))

IDLE_BUSY=$(busy_pct 1)
((IDLE_BUSY <= 10)) ||
  warn "machine already ${IDLE_BUSY}% busy before the run; results will be noisy"

# open_clients PORT -- starts idle_clients.py with CONNS connections on the
# client CPU and waits for `ready`; the clients exit once every connection
# has been closed by the server.
open_clients() {
  rm -f "$TMP/clients.out"
  spawn "${PIN_CLIENT[@]}" python3 "$SCRIPT_DIR/lib/idle_clients.py" "$1" "$CONNS" \
    --exit-when-closed --no-stdin --deadline=120 </dev/null >"$TMP/clients.out" 2>&1
  EXTRA_PIDS=("$SPAWNED_PID")
  local line
  line=$(wait_line "$TMP/clients.out" '^(ready|failed)' 150) ||
    die "clients not ready in 150 s: $(tail -n3 "$TMP/clients.out")"
  [[ $line == "ready $CONNS" ]] || die "clients: $line"
}

declare -A EXIT_MS=() FIRST_MS=() LAST_MS=()
RUN_LINES=()

# drain_run NAME RUN
drain_run() {
  local name=$1 run=$2 pid port signal active t0 t1 rc=0 line first last
  if [[ $name == roadrunner ]]; then
    start_roadrunner
    pid=$RR_PID port=$RR_PORT signal=TERM
  else
    start_nginx
    pid=$NGINX_PID port=$NGINX_PORT signal=QUIT
  fi
  log "run $run/$RUNS: $name, opening $CONNS idle connections"
  open_clients "$port"
  active=$(server_active "$name" "$port")
  [[ $active == "$CONNS" ]] || warn "$name reports $active open connections, expected $CONNS"
  sleep 0.5
  log "SIG$signal to $name (pid $pid)"
  # Bounded: the demo ends connections at the drain deadline and exits, and
  # nginx closes idle keep-alive connections at once; a watchdog (its own
  # process group, stopped below) kills a server that hangs anyway.
  # shellcheck disable=SC2016 # expanded by the inner bash
  spawn bash -c 'sleep "$1"; kill -KILL "$2"' watchdog $((DRAIN_TIMEOUT / 1000 + 30)) "$pid"
  local watchdog=$SPAWNED_PID
  t0=$EPOCHREALTIME
  kill -s "$signal" "$pid"
  wait "$pid" || rc=$?
  t1=$EPOCHREALTIME
  stop_pid "$watchdog" watchdog
  if [[ $name == roadrunner ]]; then RR_PID=""; else NGINX_PID=""; fi
  ((rc == 0)) || warn "$name exited with status $rc"
  line=$(wait_line "$TMP/clients.out" '^closed ' 30) ||
    die "clients did not see every connection close: $(tail -n2 "$TMP/clients.out")"
  wait "${EXTRA_PIDS[0]}" || true
  EXTRA_PIDS=()
  first=$(sed -nE 's/.* first=([0-9.]+).*/\1/p' <<<"$line")
  last=$(sed -nE 's/.* last=([0-9.]+).*/\1/p' <<<"$line")
  local e f l
  e=$(calc "($t1 - $t0) * 1000") f=$(calc "($first - $t0) * 1000") l=$(calc "($last - $t0) * 1000")
  EXIT_MS[$name]+=" $e" FIRST_MS[$name]+=" $f" LAST_MS[$name]+=" $l"
  RUN_LINES+=("$run|$name|SIG$signal|$active|$(printf '%.1f|%.1f|%.1f' "$f" "$l" "$e")|$rc")
  grep -q 'drain timed out' "$TMP/rr.err" 2>/dev/null && [[ $name == roadrunner ]] &&
    warn "roadrunner: $(grep 'drain timed out' "$TMP/rr.err")"
  return 0
}

SERVERS=(roadrunner)
((NGINX)) && SERVERS+=(nginx)
for ((r = 1; r <= RUNS; r++)); do
  for s in "${SERVERS[@]}"; do drain_run "$s" "$r"; done
done

# --- report ---------------------------------------------------------------------
ROWS=()
for s in "${SERVERS[@]}"; do
  read -r -a e <<<"${EXIT_MS[$s]}"
  read -r -a f <<<"${FIRST_MS[$s]}"
  read -r -a l <<<"${LAST_MS[$s]}"
  ROWS+=("$s|$(printf '%.1f' "$(median "${f[@]}")")|$(printf '%.1f [%.1f..%.1f]' "$(median "${l[@]}")" "$(minimum "${l[@]}")" "$(maximum "${l[@]}")")|$(printf '%.1f [%.1f..%.1f]' "$(median "${e[@]}")" "$(minimum "${e[@]}")" "$(maximum "${e[@]}")")")
done
INFO=(
  "date|$START_DATE"
  "commit|$(commit_line)"
  "command|$COMMAND"
  "machine|$(machine_line); ${IDLE_BUSY}% busy (all CPUs) just before start"
  "roadrunner|$(basename "$RR_DEMO") --port=0 --bind=127.0.0.1 --reactors=1 ${RR_EXTRA[*]}; SIGTERM (graceful drain)"
  "nginx|1 process (master_process off), worker_connections $NGINX_WORKER_CONNECTIONS; SIGQUIT (graceful shutdown)"
  "clients|$CONNS idle keep-alive connections (one GET / answered on each), lib/idle_clients.py"
)
HEAD="server|first close ms|last close ms [min..max]|process exit ms [min..max]"
RUN_HEAD="run|server|signal|server-counted connections|first close ms|last close ms|exit ms|exit status"
print_info "Drain time: $CONNS idle keep-alive connections" "command" "${INFO[@]}"
echo
table "|---:|---|---|---:|---:|---:|---:|---:|" "$RUN_HEAD" "${RUN_LINES[@]}"
echo
echo "Milliseconds after the signal, medians over $RUNS runs:"
if ((MARKDOWN)); then echo; fi
table "|---|---:|---:|---:|" "$HEAD" "${ROWS[@]}"
log "done"
