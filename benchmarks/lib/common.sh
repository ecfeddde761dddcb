# shellcheck shell=bash
# Shared helpers for the benchmark scripts in benchmarks/.
#
# Source this file; it defines functions only and has no side effects.
# Conventions: progress/diagnostics go to stderr (log, warn, die), the
# report goes to stdout, so `script > result.txt` captures just the report.

log() { printf '[bench] %s\n' "$*" >&2; }
warn() { printf '[bench] WARNING: %s\n' "$*" >&2; }
die() {
  printf '[bench] ERROR: %s\n' "$*" >&2
  exit 1
}

# ensure_tools PKG:CMD... -- installs the Debian package PKG when CMD is not
# on PATH. `apt-get update` runs at most once, and only if something is
# missing.
ensure_tools() {
  local spec missing=()
  for spec in "$@"; do
    command -v "${spec#*:}" >/dev/null 2>&1 || missing+=("${spec%%:*}")
  done
  ((${#missing[@]} == 0)) && return 0
  command -v apt-get >/dev/null 2>&1 ||
    die "missing packages (${missing[*]}) and no apt-get to install them"
  log "installing missing packages: ${missing[*]}"
  apt-get update >&2 || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2 ||
    die "apt-get install ${missing[*]} failed"
  for spec in "$@"; do
    command -v "${spec#*:}" >/dev/null 2>&1 ||
      die "'${spec#*:}' still not found after installing ${spec%%:*}"
  done
}

# free_port -- prints a TCP port on 127.0.0.1 that is currently unused.
# Asks the kernel (bind to port 0) via python3; falls back to probing a
# fixed range with bash's /dev/tcp (a refused connect means nobody listens).
# There is an inherent race until the caller binds it; fine for benchmarks.
free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()' && return 0
  fi
  local p
  for ((p = 18080; p < 18180; p++)); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# cpu_ticks PID -- prints utime+stime of the whole process (all threads) in
# clock ticks, from /proc/PID/stat fields 14 and 15. The comm field (2) may
# contain spaces or parentheses, so fields are counted after the last ')'.
cpu_ticks() {
  local stat rest
  stat=$(<"/proc/$1/stat") || return 1
  rest=${stat##*) }
  # rest starts at field 3 (state): field 14 is rest[11], field 15 rest[12].
  local -a f
  read -r -a f <<<"$rest"
  echo $((f[11] + f[12]))
}

# children_cpu VAR FILE -- sets VAR to the CPU seconds (user+sys) of all
# reaped children of this shell so far, via the `times` builtin. Must not run
# in a subshell (a fork starts with zeroed child times), hence printf -v and
# a scratch FILE instead of command substitution.
children_cpu() {
  times >"$2"
  printf -v "$1" '%s' "$(awk 'NR == 2 {
    for (i = 1; i <= 2; i++) { v = $i; sub(/s$/, "", v); split(v, p, "m"); t += p[1] * 60 + p[2] }
    print t }' "$2")"
}

# busy_ticks -- prints "BUSY TOTAL": clock ticks (CLK_TCK units) all CPUs
# together spent busy and in total since boot, from the aggregate line of
# /proc/stat (busy = everything but idle and iowait).
busy_ticks() {
  local -a f
  read -r -a f < <(head -n1 /proc/stat)
  local i total=0
  for ((i = 1; i < ${#f[@]}; i++)); do total=$((total + f[i])); done
  echo "$((total - f[4] - f[5])) $total"
}

# wait_quiet MAX_PCT MAX_SECONDS -- waits until the whole machine was at
# most MAX_PCT % busy over one second (other sessions' builds, say), or
# MAX_SECONDS passed; prints the last busy % measured, for the report.
# MAX_PCT 0: no waiting, one measurement.
wait_quiet() {
  local start=$SECONDS pct
  while :; do
    pct=$(busy_pct 1)
    if (($1 == 0 || pct <= $1 || SECONDS - start >= $2)); then
      echo "$pct"
      return 0
    fi
  done
}

# busy_pct SECONDS -- prints how busy the whole machine (all CPUs) was over
# the next SECONDS, in percent. Used to flag noisy neighbours.
busy_pct() {
  local b0 t0 b1 t1
  read -r b0 t0 < <(busy_ticks)
  sleep "$1"
  read -r b1 t1 < <(busy_ticks)
  if ((t1 > t0)); then echo $((100 * (b1 - b0) / (t1 - t0))); else echo 0; fi
}

# median / minimum / maximum of the numeric arguments (float-safe, via awk).
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
    END { if (NR == 0) exit 1
          if (NR % 2) print v[(NR + 1) / 2]
          else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
minimum() { printf '%s\n' "$@" | sort -g | head -n1; }
maximum() { printf '%s\n' "$@" | sort -g | tail -n1; }

# med KEY ARRAY -- median of the space-separated values stored under KEY in
# the associative array named ARRAY (one value per run); n/a when none.
med() {
  local -n arr=$2
  local -a v
  read -r -a v <<<"${arr[$1]:-}"
  if ((${#v[@]})); then median "${v[@]}"; else echo n/a; fi
}

# spread KEY ARRAY FORMAT -- "median [min..max]" (each printed with fmt
# FORMAT) of the values stored under KEY in the associative array named
# ARRAY; n/a when none.
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

# ratio_of A B -- A / B as "1.23x"; n/a when either is n/a or B is 0.
ratio_of() {
  if [[ $1 == n/a || $2 == n/a ]] || [[ $(calc "$2 == 0") == 1 ]]; then
    echo n/a
  else
    printf '%.2fx' "$(calc "$1 / $2")"
  fi
}

# kv LINE KEY -- the value of KEY=... in a line of key=value pairs (the
# open-loop client's RESULT line).
kv() { sed -nE "s/.*(^| )$2=([^ ]+).*/\\2/p" <<<"$1"; }

# calc EXPR -- evaluates a floating-point awk expression and prints it. The
# parentheses matter: a bare `print a > b` would be a redirection to file b.
calc() { awk "BEGIN { print ($1) }"; }

# fmt FORMAT VALUE -- printf for floats that tolerates "n/a".
# shellcheck disable=SC2059 # the format is the point
fmt() {
  if [[ $2 == n/a ]]; then echo n/a; else printf "$1" "$2"; fi
}

# to_ms VALUE -- converts a wrk duration such as "812.00us", "1.23ms" or
# "2.01s" to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/)      { sub(/us$/, "", v); print v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); print v + 0 }
    else if (v ~ /m$/)  { sub(/m$/, "", v); print v * 60000 }
    else if (v ~ /s$/)  { sub(/s$/, "", v); print v * 1000 }
    else exit 1 }'
}

# spawn CMD... -- runs CMD in the background in its own session/process
# group (setsid execs in place, so $! is CMD's PID and also its PGID), so that
# stop_pid can also reach any children CMD forks. Sets SPAWNED_PID.
spawn() {
  setsid "$@" &
  # shellcheck disable=SC2034 # read by the caller
  SPAWNED_PID=$!
}

# stop_pid PID [NAME] -- SIGTERM the process group led by PID (falls back to
# just PID), wait up to ~5 s for PID, then SIGKILL. Only ever called with
# PIDs this script started itself (via spawn).
stop_pid() {
  local pid=$1 name=${2:-process} i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    warn "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# --- script scaffolding (shared by the benchmark scripts) -------------------

# record_command VARS SCRIPT ARGS... -- sets COMMAND to the command line as
# typed (for reports), prefixed with those of the space-separated
# environment variables VARS that are set.
record_command() {
  local v a vars=$1
  shift
  COMMAND=""
  for v in $vars; do
    if [[ -v $v ]]; then COMMAND+="$v=$(printf '%q' "${!v}") "; fi
  done
  COMMAND+=$(printf '%q' "$1")
  shift
  for a in "$@"; do COMMAND+=" $(printf '%q' "$a")"; done
}

# common_option ARG SCRIPT -- handles the options every script takes:
# --no-build (BUILD=0), --unpinned (PINNED=0), --markdown (MARKDOWN=1),
# --reactors=N (REACTORS=N: roadrunner's reactor threads, nginx's worker
# processes, h2o's threads; see setup_pinning) and -h / --help (prints
# SCRIPT's header comment, exits 0). Returns 1 for any other ARG.
# shellcheck disable=SC2034 # the flags are read by the calling script
common_option() {
  case $1 in
    --no-build) BUILD=0 ;;
    --unpinned) PINNED=0 ;;
    --markdown) MARKDOWN=1 ;;
    --reactors=*)
      REACTORS=${1#--reactors=}
      [[ $REACTORS =~ ^[1-9][0-9]*$ ]] || die "--reactors wants a positive count, not '$REACTORS'"
      ;;
    -h | --help)
      sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$2"
      exit 0
      ;;
    *) return 1 ;;
  esac
}

# only_common_options SCRIPT ARGS... -- common_option for every ARG; dies
# on any other (for scripts that take no options of their own).
only_common_options() {
  local script=$1 a
  shift
  for a in "$@"; do
    common_option "$a" "$script" || die "unknown option: $a (see --help)"
  done
}

# install_cleanup -- traps EXIT (and INT, TERM) so that the script stops
# what it started, by PID: EXTRA_PIDS (array), RR_PID and NGINX_PID, then
# removes TMP; the exit status is kept. Initialises those variables.
install_cleanup() {
  RR_PID="" NGINX_PID="" EXTRA_PIDS=()
  trap cleanup_and_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
cleanup_and_exit() {
  local rc=$? p
  trap - EXIT INT TERM
  for p in "${EXTRA_PIDS[@]}"; do stop_pid "$p"; done
  if [[ -n $RR_PID ]]; then stop_pid "$RR_PID" roadrunner-demo; fi
  if [[ -n $NGINX_PID ]]; then stop_pid "$NGINX_PID" nginx; fi
  if [[ -n ${TMP:-} ]]; then rm -rf -- "$TMP"; fi
  exit "$rc"
}

# wait_line FILE REGEX SECONDS -- prints the first line of FILE matching
# the extended REGEX once there is one; returns 1 after SECONDS without.
wait_line() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    if grep -qE "$2" "$1" 2>/dev/null; then
      grep -E "$2" "$1" | head -n1
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# table ALIGN HEADER ROW... -- prints |-separated rows as a Markdown table
# when MARKDOWN=1 (ALIGN is the separator row, e.g. "|---|---:|"), else as
# aligned text columns.
table() {
  local align=$1 l
  shift
  if ((MARKDOWN)); then
    printf '| %s |\n' "${1//|/ | }"
    echo "$align"
    shift
    for l in "$@"; do printf '| %s |\n' "${l//|/ | }"; done
  else
    printf '%s\n' "$@" | column -t -s '|' -o '  ' | sed 's/^/  /'
  fi
}

# print_info TITLE CODE_KEYS ENTRY... -- the report's header. ENTRY is
# "key|value". Markdown: "### TITLE" and "- **key**: value" lines, with the
# values of the space-separated CODE_KEYS in backticks; text: "== TITLE =="
# and aligned "key: value" lines.
print_info() {
  local title=$1 code=" $2 " l k val
  shift 2
  if ((MARKDOWN)); then
    echo "### $title"
    echo
    for l in "$@"; do
      k=${l%%|*} val=${l#*|}
      [[ $code == *" $k "* ]] && val="\`$val\`"
      printf -- '- **%s**: %s\n' "$k" "$val"
    done
  else
    echo "== $title =="
    for l in "$@"; do printf '%-11s %s\n' "${l%%|*}:" "${l#*|}"; done
  fi
}
