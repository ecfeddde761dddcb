# shellcheck shell=bash
# shellcheck disable=SC2034 # the WRK_* results are read by the caller
# Sourced by benchmark scripts after prelude.sh: reading a wrk report and
# waiting for a quiet machine, shared by remote_handler.sh and
# reuseport_scale.sh.

# wrk_stats FILE -- parses a `wrk --latency` report: sets WRK_REQS,
# WRK_RPS, WRK_P99 (ms), WRK_NON2XX (0 when none) and WRK_SOCKET (wrk's
# "Socket errors" line, empty when none); dies when FILE has no totals.
wrk_stats() {
  local p99
  WRK_REQS=$(awk '/ requests in / { print $1; exit }' "$1")
  WRK_RPS=$(awk '/^Requests\/sec:/ { print $2; exit }' "$1")
  [[ -n $WRK_REQS && $WRK_REQS -gt 0 ]] || die "could not parse wrk output: $(cat "$1")"
  p99=$(awk '/Latency Distribution/ { d = 1 } d && $1 == "99%" { print $2; exit }' "$1")
  WRK_P99=$(to_ms "${p99:-0ms}")
  WRK_NON2XX=$(awk '/Non-2xx or 3xx responses:/ { print $NF; exit }' "$1")
  WRK_NON2XX=${WRK_NON2XX:-0}
  WRK_SOCKET=$(sed -nE 's/^ *Socket errors: (.*)/\1/p' "$1")
}

# quiet -- waits (at most QUIET_WAIT s) until the machine is at most QUIET
# % busy; sets BUSY to how busy it was and appends it to BUSY_SEEN.
quiet() {
  BUSY=$(wait_quiet "$QUIET" "$QUIET_WAIT")
  BUSY_SEEN+=("$BUSY")
  ((QUIET == 0 || BUSY <= QUIET)) ||
    warn "machine still ${BUSY}% busy after ${QUIET_WAIT}s; measuring anyway"
}
