# shellcheck shell=bash
# Building, pinning and starting the servers under test, shared by the
# benchmark scripts (h1_hello.sh, tail_latency.sh, drain_time.sh,
# max_conns.sh). Source after lib/common.sh; defines functions only.
#
# Globals read (set them before calling):
#   ROOT, SCRIPT_DIR   repository root and benchmarks/
#   TMP                the script's private temp dir (server files go there)
#   RR_DEMO            path of the roadrunner-demo binary
#   RR_EXTRA           array of extra demo flags
#   PINNED             1: pin servers to CPU 1 and clients to CPU 0
#   REACTORS           server threads (default 1): roadrunner's reactors,
#                      nginx's worker processes, h2o's threads; with more
#                      than one the servers get CPUs 1..N when the machine
#                      has more than N, else 0..N-1 (the client shares CPU 0)
#   STARTUP_TIMEOUT    seconds to wait for a server to come up
#   NGINX_WORKER_CONNECTIONS (default 1024), NGINX_KEEPALIVE_TIMEOUT
#                      (default 75s): substituted into the nginx template
#   NGINX_CONF_IN      the nginx template (default nginx/hello.conf.in)
#   NGINX_SED          array of extra sed expressions for the template
#   RR_KEEPALIVE_CHECK 0: start_roadrunner skips its HTTP/1.1 keep-alive
#                      check (a demo that speaks only h2c); default 1
# Globals set: PIN_SERVER, PIN_CLIENT (setup_pinning); RR_PID, RR_PORT,
# RR_SCHEME (start_roadrunner); NGINX_PID, NGINX_PORT (start_nginx);
# H2O_PID (start_h2o); OPENLOOP (build_openloop).

# setup_pinning -- PIN_SERVER / PIN_CLIENT prefixes: taskset on CPU 1 / 0
# when PINNED, else empty.
# shellcheck disable=SC2034 # read by the sourcing script
setup_pinning() {
  REACTORS=${REACTORS:-1}
  if ((PINNED)); then
    # Both CPUs must be in our allowed set (fails e.g. on a 1-CPU machine).
    taskset -c 0,1 true 2>/dev/null ||
      die "cannot pin to CPUs 0 and 1 (nproc=$(nproc)); use --unpinned"
    PIN_SERVER=(taskset -c 1)
    PIN_CLIENT=(taskset -c 0)
    if ((REACTORS > 1)); then
      if (($(nproc) > REACTORS)); then
        SERVER_CPUS=1-$REACTORS
      else
        SERVER_CPUS=0-$((REACTORS - 1))
        warn "$REACTORS server threads on $(nproc) CPUs: the client shares CPU 0 with the server"
      fi
      taskset -c "$SERVER_CPUS" true 2>/dev/null ||
        die "cannot pin $REACTORS server threads to CPUs $SERVER_CPUS (nproc=$(nproc))"
      PIN_SERVER=(taskset -c "$SERVER_CPUS")
    fi
  else
    PIN_SERVER=()
    PIN_CLIENT=()
  fi
}

# build_demo -- Release build of roadrunner-demo in build-release/.
build_demo() {
  log "building roadrunner-demo (Release) in $ROOT/build-release"
  cmake -S "$ROOT" -B "$ROOT/build-release" -DCMAKE_BUILD_TYPE=Release >&2 ||
    die "cmake configure failed"
  cmake --build "$ROOT/build-release" --target roadrunner-demo -j2 >&2 ||
    die "cmake build failed"
}

# check_demo_binary -- dies unless RR_DEMO is executable.
check_demo_binary() {
  if [[ ! -x $RR_DEMO ]]; then
    local hint=""
    [[ -x $ROOT/build/examples/roadrunner-demo ]] &&
      hint=" (a build exists at build/examples/roadrunner-demo: set RR_DEMO, but it may not be a Release build)"
    die "demo binary not found or not executable: $RR_DEMO$hint"
  fi
}

# build_openloop -- compiles tools/openloop.cpp with g++ (-O2, warnings as
# errors) into build-release/benchmarks/openloop unless that binary is
# newer than the source; sets OPENLOOP. Needs no CMake configuration (the
# Google Benchmark build in build-bench/ also builds it).
build_openloop() {
  local src=$SCRIPT_DIR/tools/openloop.cpp
  OPENLOOP=$ROOT/build-release/benchmarks/openloop
  if [[ ! -x $OPENLOOP || $src -nt $OPENLOOP ]]; then
    log "building $OPENLOOP"
    mkdir -p "$(dirname "$OPENLOOP")"
    g++ -std=c++20 -O2 -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor \
      -Wold-style-cast -Werror -o "$OPENLOOP" "$src" >&2 ||
      die "building openloop failed"
  fi
}

# raise_fd_limit N [--best-effort] -- sets this shell's soft (and, if
# needed, hard) limit on open files to at least N; the servers and clients it
# starts inherit it. Raising the hard limit needs CAP_SYS_RESOURCE (root
# outside a restricted container). Without --best-effort it dies when N is
# out of reach; with it, it settles for the hard limit and warns.
raise_fd_limit() {
  local want=$1
  (($(ulimit -Sn) >= want)) && return 0
  if (($(ulimit -Hn) < want)) && ! ulimit -Hn "$want" 2>/dev/null; then
    [[ ${2:-} == --best-effort ]] ||
      die "cannot raise the open-files hard limit to $want (is $(ulimit -Hn); needs CAP_SYS_RESOURCE)"
    warn "cannot raise the open-files hard limit to $want (needs CAP_SYS_RESOURCE); using $(ulimit -Hn)"
    want=$(ulimit -Hn)
  fi
  ulimit -Sn "$want" || die "cannot raise the open-files limit to $want"
}

# rss_kib PID -- resident set size of PID in KiB (VmRSS).
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# check_keepalive NAME PORT [SCHEME] -- a second request must reuse the
# connection (SCHEME http, the default, or https: any certificate).
check_keepalive() {
  local url="${3:-http}://127.0.0.1:$2/" conns
  # Two transfers in one curl call: the second must not open a new connection.
  conns=$(curl -ksS --max-time 5 -o /dev/null -o /dev/null \
    -w '%{num_connects} ' "$url" "$url") || die "$1: keep-alive check failed"
  [[ $conns == "1 0 " ]] ||
    die "$1: connection not kept alive (new connections per request: $conns)"
}

# start_roadrunner -- starts RR_DEMO on an ephemeral port of 127.0.0.1 with
# REACTORS reactors and RR_EXTRA, pinned to the server CPUs; sets RR_PID, RR_PORT
# and RR_SCHEME (http, or https when RR_EXTRA enables TLS).
start_roadrunner() {
  local i port="" line
  log "starting $RR_DEMO --port=0 --bind=127.0.0.1 --reactors=${REACTORS:-1} ${RR_EXTRA[*]}"
  spawn "${PIN_SERVER[@]}" "$RR_DEMO" --port=0 --bind=127.0.0.1 "--reactors=${REACTORS:-1}" \
    "${RR_EXTRA[@]}" >"$TMP/rr.out" 2>"$TMP/rr.err"
  RR_PID=$SPAWNED_PID
  # The demo prints exactly one start line with the kernel-chosen port.
  for ((i = 0; i < STARTUP_TIMEOUT * 10; i++)); do
    line=$(sed -nE 's#^roadrunner-demo listening on (https?)://127\.0\.0\.1:([0-9]+)$#\1 \2#p' \
      "$TMP/rr.out" | head -n1)
    port=${line#* }
    [[ -n $port ]] && break
    kill -0 "$RR_PID" 2>/dev/null ||
      die "roadrunner-demo exited during start-up: $(tail -n5 "$TMP/rr.err")"
    sleep 0.1
  done
  [[ -n $port ]] ||
    die "no start line from roadrunner-demo within ${STARTUP_TIMEOUT}s (stdout: $(head -c 300 "$TMP/rr.out"))"
  # taskset -c at exec time already pins every thread; -a re-applies it to
  # all current threads in case the binary changes its own affinity.
  if ((PINNED)); then taskset -apc "${SERVER_CPUS:-1}" "$RR_PID" >/dev/null; fi
  RR_PORT=$port RR_SCHEME=${line%% *}
  if ((${RR_KEEPALIVE_CHECK:-1})); then check_keepalive roadrunner "$RR_PORT" "$RR_SCHEME"; fi
  log "roadrunner up on $RR_SCHEME://127.0.0.1:$RR_PORT/"
}

# wait_answering NAME PID URL LOG... -- waits up to STARTUP_TIMEOUT s until
# URL answers; dies with the tail of the LOG files if PID exits first.
wait_answering() {
  local name=$1 pid=$2 url=$3 i
  shift 3
  for ((i = 0; i < STARTUP_TIMEOUT * 10; i++)); do
    kill -0 "$pid" 2>/dev/null ||
      die "$name exited during start-up: $(cat "$@" 2>/dev/null | tail -n5)"
    curl -s --max-time 1 -o /dev/null "$url" && return 0
    sleep 0.1
  done
  die "$name not answering within ${STARTUP_TIMEOUT}s"
}

# start_nginx -- starts nginx (one process, NGINX_CONF_IN, by default
# nginx/hello.conf.in) on a free port of 127.0.0.1 (its plain HTTP/1.1
# listener, @PORT@), pinned to the server CPU; sets NGINX_PID, NGINX_PORT.
start_nginx() {
  local port reactors_sed=()
  # More than one worker needs the master process (whose CPU tree_ticks
  # counts together with its workers').
  if ((${REACTORS:-1} > 1)); then
    reactors_sed=(-e "s#^master_process off;#master_process on;#"
      -e "s#^worker_processes 1;#worker_processes $REACTORS;#")
    # As root the workers would run as nobody, who cannot read TMP.
    if (($(id -u) == 0)); then reactors_sed+=(-e "s#^worker_processes \(.*\)\$#worker_processes \1 user root;#"); fi
  fi
  if [[ ! -e /usr/lib/nginx/modules/ngx_http_echo_module.so ]]; then
    log "installing libnginx-mod-http-echo (POST /echo in nginx/hello.conf.in)"
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y libnginx-mod-http-echo; } >&2 ||
      die "could not install libnginx-mod-http-echo"
  fi
  port=$(free_port) || die "could not find a free port for nginx"
  # shellcheck disable=SC2153 # NGINX_SED: optional, set by the caller
  sed -e "s#@PREFIX@#$TMP#g" -e "s#@PORT@#$port#g" \
    -e "s#@WORKER_CONNECTIONS@#${NGINX_WORKER_CONNECTIONS:-1024}#g" \
    -e "s#@KEEPALIVE_TIMEOUT@#${NGINX_KEEPALIVE_TIMEOUT:-75s}#g" \
    "${reactors_sed[@]}" "${NGINX_SED[@]}" "${NGINX_CONF_IN:-$SCRIPT_DIR/nginx/hello.conf.in}" >"$TMP/nginx.conf"
  log "starting nginx -c $TMP/nginx.conf (port $port)"
  # master_process off: this single process is the worker.
  spawn "${PIN_SERVER[@]}" nginx -c "$TMP/nginx.conf" -p "$TMP/" -e "$TMP/error.log" \
    >"$TMP/nginx.out" 2>&1
  NGINX_PID=$SPAWNED_PID
  wait_answering nginx "$NGINX_PID" "http://127.0.0.1:$port/" "$TMP/nginx.out" "$TMP/error.log"
  NGINX_PORT=$port
  check_keepalive nginx "$NGINX_PORT"
  log "nginx up on http://127.0.0.1:$NGINX_PORT/"
}

# start_h2o CERT KEY -- starts h2o (h2o/hello.conf.in: one worker thread,
# h2c and HTTP/1.1 on H2O_PORT, TLS on H2O_TLS_PORT with CERT / KEY) on
# free ports of 127.0.0.1, pinned to the server CPU (its helper processes
# inherit the pinning); sets H2O_PID (also added to EXTRA_PIDS, see
# install_cleanup), H2O_PORT, H2O_TLS_PORT.
start_h2o() {
  local user_line=""
  H2O_PORT=$(free_port) || die "could not find a free port for h2o"
  H2O_TLS_PORT=$H2O_PORT
  while [[ $H2O_TLS_PORT == "$H2O_PORT" ]]; do
    H2O_TLS_PORT=$(free_port) || die "could not find a free port for h2o"
  done
  printf 'Hello, World!' >"$TMP/hello.txt"
  if (($(id -u) == 0)); then user_line="user: root"; fi
  sed -e "s#@PREFIX@#$TMP#g" -e "s#@PORT@#$H2O_PORT#g" -e "s#@TLS_PORT@#$H2O_TLS_PORT#g" \
    -e "s#@CERT@#$1#g" -e "s#@KEY@#$2#g" -e "s#@USER_LINE@#$user_line#" \
    -e "s#^num-threads: 1\$#num-threads: ${REACTORS:-1}#" \
    "$SCRIPT_DIR/h2o/hello.conf.in" >"$TMP/h2o.conf"
  h2o -t -c "$TMP/h2o.conf" >"$TMP/h2o.out" 2>&1 ||
    die "h2o refuses $TMP/h2o.conf: $(tail -n5 "$TMP/h2o.out")"
  log "starting h2o -c $TMP/h2o.conf (ports $H2O_PORT, $H2O_TLS_PORT)"
  spawn "${PIN_SERVER[@]}" h2o -c "$TMP/h2o.conf" >"$TMP/h2o.out" 2>&1
  H2O_PID=$SPAWNED_PID
  EXTRA_PIDS+=("$H2O_PID") # stopped by install_cleanup's trap
  wait_answering h2o "$H2O_PID" "http://127.0.0.1:$H2O_PORT/" "$TMP/h2o.out" "$TMP/h2o-error.log"
  log "h2o up on http://127.0.0.1:$H2O_PORT/ and https://127.0.0.1:$H2O_TLS_PORT/"
}

# tree_ticks PID -- cpu_ticks of PID and of all its live descendants (h2o
# forks helpers: its key-operation process does the handshakes' signatures).
tree_ticks() {
  local total c f
  total=$(cpu_ticks "$1") || return 1
  for f in /proc/"$1"/task/*/children; do
    for c in $(<"$f"); do total=$((total + $(tree_ticks "$c" || echo 0))); done
  done
  echo "$total"
}

# server_active NAME PORT -- the server's own count of open client
# connections, without the one asking: roadrunner's /info active_clients,
# nginx's stub_status "Active connections". Empty when it cannot answer.
server_active() {
  if [[ $1 == roadrunner ]]; then
    curl -sS --max-time 10 "http://127.0.0.1:$2/info" |
      sed -nE 's/.*"active_clients":([0-9]+).*/\1/p' | awk '{ print $1 - 1 }'
  else
    curl -sS --max-time 10 "http://127.0.0.1:$2/nginx_status" |
      awk '/^Active connections:/ { print $3 - 1 }'
  fi
}

# machine_line -- "N CPUs, MODEL, Linux RELEASE" for reports.
machine_line() {
  local model
  model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  echo "$(nproc) CPUs, ${model:-unknown CPU}, Linux $(uname -r)"
}

# commit_line -- the short commit, plus " (dirty tree)" if the tree has
# uncommitted changes.
commit_line() {
  local c
  c=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "unknown (not a git checkout)")
  if [[ $c != unknown* && -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]]; then
    c+=" (dirty tree)"
  fi
  echo "$c"
}
