#!/usr/bin/env bash
# run.sh -- the one entry point for the whole benchmark matrix: installs
# what is missing (scripts/deps.sh bench: wrk, nginx-light + echo module,
# h2o, h2load, openssl, Google Benchmark), builds roadrunner-demo once in
# Release (build-release/), then runs every benchmark script in turn, each
# side by side with its peers (nginx, h2o) in the same run, and writes one
# Markdown report: the sections of the scripts below plus a table of the
# issue's targets with our ratios.
#
# Usage: benchmarks/run.sh [--quick] [--only=LIST] [--skip=LIST] [--no-build]
#                          [--out=FILE] [--report-only]
#
#   --quick       short runs to try the whole thing (about 10 minutes instead
#                 of about 25): DURATION=2 WARMUP=1, 2 000 connections for the
#                 resource figures; still 3 runs per scenario. Not for the docs.
#   --only=LIST   comma-separated sections to run (default: all, in this order)
#   --skip=LIST   sections to leave out
#   --no-build    reuse build-release/examples/roadrunner-demo and
#                 build-bench/ (micro-benchmarks)
#   --out=FILE    the report (default build-release/benchmark-report.md);
#                 each section's progress log goes next to it (FILE.d/)
#   --report-only rewrite the report from the sections already in FILE.d/
#                 (runs nothing; a section without its .md is reported
#                 as not run)
#
# Sections (script, what it measures):
#   h1           h1_hello.sh --all: HTTP/1.1 keep-alive hello over 50 and 256
#                connections, json, 64 KiB response, pipelined (16 deep), new
#                connection per request, 16 extra headers, POST echo 256 B
#                and 4 KiB -- vs nginx; server pinned to CPU 1, wrk to CPU 0
#   h1-unpinned  the same, unpinned (the scheduler places every thread)
#   reactors2    h1_hello.sh --all --reactors=2: the same with two reactors
#                (nginx: two workers); the targets table compares CPU per
#                request with one reactor (section h1)
#   tls-h2       tls_h2.sh: HTTP/1.1 over TLS, resumed and full TLS
#                handshakes vs nginx; h2c and h2 over TLS (50 connections x
#                10 streams) vs h2o and nginx
#   handler      handler_actor.sh: a handler-actor route vs the same route as
#                a plain callable (closed-loop CPU, open-loop latency)
#   tail         tail_latency.sh: open-loop p50/p99/p99.9 at 50 % and 90 % of
#                nginx's peak, corrected for coordinated omission
#   idle         idle_rss.sh: RSS per idle keep-alive connection at 10 000
#                connections, with and without idle buffer release
#   peak         max_conns.sh: peak concurrent connections held (target
#                50 000; the open-files limit may cap it) vs nginx
#   drain        drain_time.sh: time to drain 10 000 idle connections vs
#                nginx's graceful shutdown
#   micro        micro.sh: Google Benchmark medians for the parser, router
#                and response serializer
#
# Every script runs each scenario at least 3 times (RUNS, default 3) and
# reports medians with min..max; DURATION, RUNS, WARMUP, RR_FLAGS and the
# scripts' other variables pass through from the environment. Everything
# targets 127.0.0.1 only; every script stops the processes it started by
# PID on exit (its own trap), and this one stops a running section's script
# on Ctrl-C. Exits non-zero if any section failed (the report says which).

# shellcheck source-path=SCRIPTDIR source=lib/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/prelude.sh"

ALL_SECTIONS=(h1 h1-unpinned reactors2 tls-h2 handler tail idle peak drain micro)
BUILD=1 QUICK=0 ONLY="" SKIP="" OUT="" REPORT_ONLY=0
MARKDOWN=1 # for lib/common.sh's table
for a in "$@"; do
  case $a in
    --quick) QUICK=1 ;;
    --only=*) ONLY=${a#--only=} ;;
    --skip=*) SKIP=${a#--skip=} ;;
    --no-build) BUILD=0 ;;
    --out=*) OUT=${a#--out=} ;;
    --report-only) REPORT_ONLY=1 BUILD=0 ;;
    -h | --help)
      sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown option: $a (see --help)" ;;
  esac
done

# in_list WORD LIST -- whether WORD is one of the comma-separated LIST.
in_list() { [[ ",$2," == *",$1,"* ]]; }

SECTIONS=()
for s in ${ONLY//,/ } ${SKIP//,/ }; do
  [[ " ${ALL_SECTIONS[*]} " == *" $s "* ]] ||
    die "unknown section '$s' (one of: ${ALL_SECTIONS[*]})"
done
for s in "${ALL_SECTIONS[@]}"; do
  if [[ -n $ONLY ]] && ! in_list "$s" "$ONLY"; then continue; fi
  if [[ -n $SKIP ]] && in_list "$s" "$SKIP"; then continue; fi
  SECTIONS+=("$s")
done
((${#SECTIONS[@]})) || die "no section left to run"

if ((QUICK)); then
  export DURATION=${DURATION:-2} WARMUP=${WARMUP:-1} PEAK_DURATION=${PEAK_DURATION:-2}
  export CONNS=${CONNS:-2000} TARGET=${TARGET:-2000} QUIET_WAIT=${QUIET_WAIT:-5}
fi

OUT=${OUT:-$ROOT/build-release/benchmark-report.md}
mkdir -p "$(dirname "$OUT")"
OUT=$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")
LOGDIR=$OUT.d
if ((!REPORT_ONLY)); then rm -rf "$LOGDIR"; fi
mkdir -p "$LOGDIR"

# --- prerequisites and the one build -------------------------------------------
if ((!REPORT_ONLY)); then
  log "installing missing packages (scripts/deps.sh bench)"
  "$ROOT/scripts/deps.sh" bench >&2 || die "scripts/deps.sh bench failed"
  if ((BUILD)); then build_demo; fi
  RR_DEMO=${RR_DEMO:-$ROOT/build-release/examples/roadrunner-demo}
  export RR_DEMO
  check_demo_binary
fi

# --- sections --------------------------------------------------------------------
# The running section's script, stopped (with its own cleanup trap) when we
# are interrupted.
CHILD=""
on_signal() {
  if [[ -n $CHILD ]]; then kill -TERM "$CHILD" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  exit 130
}
trap on_signal INT TERM

# section_cmd NAME -- the command line of section NAME (as an array in CMD).
section_cmd() {
  local b=$SCRIPT_DIR
  case $1 in
    h1) CMD=("$b/h1_hello.sh" --all --no-build --markdown) ;;
    h1-unpinned) CMD=("$b/h1_hello.sh" --all --no-build --unpinned --markdown) ;;
    reactors2) CMD=("$b/h1_hello.sh" --all --no-build --reactors=2 --markdown) ;;
    tls-h2) CMD=("$b/tls_h2.sh" --no-build --markdown) ;;
    handler) CMD=("$b/handler_actor.sh" --no-build --markdown) ;;
    tail) CMD=("$b/tail_latency.sh" --no-build --markdown) ;;
    idle) CMD=("$b/idle_rss.sh" --no-build) ;;
    peak) CMD=("$b/max_conns.sh" --no-build --markdown) ;;
    drain) CMD=("$b/drain_time.sh" --no-build --markdown) ;;
    micro)
      CMD=("$b/micro.sh" --markdown)
      if ((!BUILD)); then CMD+=(--no-build); fi
      ;;
  esac
}

START_DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
declare -A STATUS=() SECS=()
for s in "${SECTIONS[@]}"; do
  if ((REPORT_ONLY)); then
    if [[ -f $LOGDIR/$s.md ]]; then STATUS[$s]=ok; else STATUS[$s]="not run"; fi
    SECS[$s]=0
    continue
  fi
  section_cmd "$s"
  log "=== section $s: ${CMD[*]#"$SCRIPT_DIR/"} (log: $LOGDIR/$s.log)"
  t0=$SECONDS
  "${CMD[@]}" >"$LOGDIR/$s.md" 2> >(tee "$LOGDIR/$s.log" >&2) &
  CHILD=$!
  if wait "$CHILD"; then STATUS[$s]=ok; else STATUS[$s]="FAILED (exit $?)"; fi
  CHILD=""
  SECS[$s]=$((SECONDS - t0))
  log "=== section $s: ${STATUS[$s]} after ${SECS[$s]} s"
done

# --- targets -------------------------------------------------------------------
# cell FILE ROW COL -- column COL (1-based, after the leading '|') of the
# first Markdown table row of FILE whose cells start with ROW (a
# '|'-separated prefix, e.g. "h2c|h2o"); bold markers and spaces stripped.
cell() {
  [[ -f $1 ]] || return 0
  awk -F'|' -v row="$2" -v col="$3" '
    function trim(s) { gsub(/^[ \t*]+|[ \t*]+$/, "", s); return s }
    /^\|/ {
      n = split(row, want, "|"); ok = 1
      for (i = 1; i <= n; i++) if (trim($(i + 1)) != want[i]) { ok = 0; break }
      if (ok) { print trim($(col + 1)); exit }
    }' "$1"
}

# target LABEL VALUE GOAL CMP -- a row of the targets table: VALUE against
# GOAL with CMP (le: at most, ge: at least; info: no target, shown as is).
TARGETS=()
target() {
  local label=$1 value=$2 goal=$3 cmp=$4 num verdict
  num=${value%x}
  if [[ $cmp == info ]]; then
    TARGETS+=("$label|${value:-n/a}|none|for the record")
    return
  fi
  if [[ -z $value || ! $num =~ ^[0-9.]+$ ]]; then
    verdict="not measured"
    value=${value:-n/a}
  elif [[ $cmp == le && $(calc "$num <= $goal") == 1 ]] ||
    [[ $cmp == ge && $(calc "$num >= $goal") == 1 ]]; then
    verdict=met
  else
    verdict="**missed**"
  fi
  TARGETS+=("$label|$value|$([[ $cmp == le ]] && echo "≤" || echo "≥") $goal|$verdict")
}

L=$LOGDIR
target "h1 keep-alive hello, 50 conns: CPU µs/req vs nginx" "$(cell "$L/h1.md" hello 4)" 1.00 le
target "h1 keep-alive hello, 256 conns: CPU µs/req vs nginx" "$(cell "$L/h1.md" hello256 4)" 1.00 le
target "h1 pipelined (16): CPU µs/req vs nginx" "$(cell "$L/h1.md" pipelined 4)" 0.50 le
target "h1 new connection per request: CPU vs nginx" "$(cell "$L/h1.md" newconn 4)" 1.00 le
target "h1 over TLS: CPU µs/req vs nginx" "$(cell "$L/tls-h2.md" 'h1tls|nginx' 5)" 1.00 le
target "h2c (50 x 10 streams): CPU µs/req vs h2o" "$(cell "$L/tls-h2.md" 'h2c|h2o' 5)" 1.00 le
target "h2 over TLS (50 x 10 streams): CPU µs/req vs h2o" "$(cell "$L/tls-h2.md" 'h2tls|h2o' 5)" 1.00 le
target "idle keep-alive connection, bytes (default)" "$(cell "$L/idle.md" default 5)" 2048 le
target "idle keep-alive connection, bytes (--hibernate-after=100)" "$(cell "$L/idle.md" --hibernate-after=100 5)" 2048 le
target "peak concurrent connections held" "$(cell "$L/peak.md" roadrunner 4)" 50000 ge
# Held fewer than the target because the open-files limit could not be
# raised that far (no CAP_SYS_RESOURCE): say so instead of "missed".
fd_limit=$(sed -nE 's/.*open-files limit ([0-9]+).*/\1/p' "$L/peak.md" 2>/dev/null | head -n1 || true)
if [[ ${TARGETS[-1]} == *missed* && -n $fd_limit ]] && ((fd_limit < 50000)); then
  TARGETS[-1]=${TARGETS[-1]/\*\*missed\*\*/"not measurable here: open-files limit $fd_limit"}
fi
drain_rr=$(cell "$L/drain.md" roadrunner 4 | awk '{ print $1 }')
drain_nginx=$(cell "$L/drain.md" nginx 4 | awk '{ print $1 }')
target "drain idle connections: process exit ms, roadrunner / nginx" \
  "$([[ -n $drain_rr$drain_nginx ]] && echo "${drain_rr:-n/a} / ${drain_nginx:-n/a}")" 0 info
# 2 reactors / 1 reactor (nginx: 2 workers / 1): how CPU per request moves
# when a second thread serves (issue 19 item 5).
per_reactor() {
  local one two
  one=$(cell "$L/h1.md" "$1" "$2") two=$(cell "$L/reactors2.md" "$1" "$2")
  [[ $one =~ ^[0-9.]+$ && $two =~ ^[0-9.]+$ ]] || return 0
  printf '%s → %s µs (%sx)' "$one" "$two" "$(fmt '%.2f' "$(calc "$two / $one")")"
}
for sc in hello hello256 newconn; do
  target "h1 $sc, CPU µs/req 1 → 2 reactors: roadrunner" "$(per_reactor "$sc" 2)" 0 info
  target "h1 $sc, CPU µs/req 1 → 2 workers: nginx" "$(per_reactor "$sc" 3)" 0 info
done
target "handler actor (reactor-hosted) vs plain callable: CPU µs/req" "$(cell "$L/handler.md" 'default|/hello/actor' 5)" 0 info

# --- report ----------------------------------------------------------------------
{
  echo "# roadrunner benchmark report"
  echo
  echo "- **started**: $START_DATE; **finished**: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "- **commit**: $(commit_line)"
  echo "- **command**: \`$0 $*\`$( ((QUICK)) && echo " (QUICK: short runs, not for the docs)")"
  echo "- **machine**: $(machine_line), $(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "- **sections**: $(for s in "${SECTIONS[@]}"; do printf '%s (%s, %d s) ' "$s" "${STATUS[$s]}" "${SECS[$s]}"; done)"
  echo
  echo "## Targets (ratios roadrunner / peer from the same run)"
  echo
  table '|---|---:|---:|---|' "figure|measured|target|verdict" "${TARGETS[@]}"
  echo
  for s in "${SECTIONS[@]}"; do
    echo "## Section $s"
    echo
    if [[ ${STATUS[$s]} != ok ]]; then
      echo "**${STATUS[$s]}**; the end of its log ($LOGDIR/$s.log):"
      echo
      echo '```'
      tail -n 15 "$LOGDIR/$s.log" 2>/dev/null || true
      echo '```'
      echo
    fi
    cat "$LOGDIR/$s.md"
    echo
  done
} >"$OUT"

cat "$OUT"
log "report: $OUT"
for s in "${SECTIONS[@]}"; do
  if [[ ${STATUS[$s]} != ok ]]; then
    warn "section $s ${STATUS[$s]}"
    FAILED_ANY=1
  fi
done
if ((${FAILED_ANY:-0})); then exit 1; fi
log "done"
