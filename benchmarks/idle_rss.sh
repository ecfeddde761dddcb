#!/usr/bin/env bash
# idle_rss.sh -- RSS per idle keep-alive connection of roadrunner-demo, with
# and without hibernate_after, over plain TCP and (with --tls) over TLS 1.3.
# Opens N connections (default 10000), one request each, then measures the
# server's VmRSS growth over its baseline.
#
# Usage: benchmarks/idle_rss.sh [--no-build] [--tls]
#   --tls  also the TLS rows: the demo with a self-signed ECDSA P-256
#          certificate (made in a temp dir), clients doing their handshake
#          and request one after the other (lib/idle_clients.py --tls). An
#          idle TLS connection keeps its OpenSSL session (SSL object and
#          SSL_SESSION); the 16 KiB record buffers are released once empty
#          (SSL_MODE_RELEASE_BUFFERS), so the TLS rows show that cost alone.
#   env: CONNS=10000
#        RR_DEMO=path  demo binary (default build-release/examples/roadrunner-demo;
#                      given: nothing is built)
set -euo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONNS=${CONNS:-10000}
DEMO=${RR_DEMO:-$ROOT/build-release/examples/roadrunner-demo}
BUILD=1 TLS=0
for a in "$@"; do
  case $a in
    --no-build) BUILD=0 ;;
    --tls) TLS=1 ;;
    *) echo "unknown option: $a" >&2; exit 2 ;;
  esac
done
if ((BUILD)) && [[ -z "${RR_DEMO:-}" ]]; then
  "$ROOT/scripts/deps.sh" build
  cmake -S "$ROOT" -B "$ROOT/build-release" -DCMAKE_BUILD_TYPE=Release \
    -DROADRUNNER_BUILD_TESTS=OFF >/dev/null
  cmake --build "$ROOT/build-release" --target roadrunner-demo -j2 >&2
fi
# Each process needs about CONNS descriptors; take what the hard limit allows.
ulimit -n "$(ulimit -Hn)"

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

measure() { # label, extra demo flags... (TLS: --tls-cert among them)
  local label=$1; shift
  local scheme=http client_flags=()
  if [[ " $* " == *" --tls-cert="* ]]; then scheme=https client_flags=(--tls); fi
  "$DEMO" --port=0 --bind=127.0.0.1 --reactors=1 --max-clients=$((CONNS + 100)) \
    --keep-alive-timeout=600000 "$@" >"$tmp/demo.out" &
  local demo=$!
  pids+=("$demo")
  local port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$tmp/demo.out" 2>/dev/null || true)
    [[ -n "$port" ]] && break
    sleep 0.1
  done
  [[ -n "$port" ]] || { echo "demo did not start" >&2; exit 1; }
  local before; before=$(rss_kib "$demo")
  mkfifo "$tmp/hold"
  /usr/bin/python3 "$ROOT/benchmarks/lib/idle_clients.py" "$port" "$CONNS" \
    "${client_flags[@]}" <"$tmp/hold" >"$tmp/clients.out" &
  local clients=$!
  pids+=("$clients")
  exec 9>"$tmp/hold"
  for _ in $(seq 1200); do
    grep -q "^ready\|^failed" "$tmp/clients.out" 2>/dev/null && break
    sleep 0.1
  done
  grep -q "^ready" "$tmp/clients.out" || { cat "$tmp/clients.out" >&2; exit 1; }
  sleep 1 # longer than hibernate_after: every connection is idle
  local after; after=$(rss_kib "$demo")
  local active; active=$(curl -ks "$scheme://127.0.0.1:$port/info" | sed 's/.*"active_clients":\([0-9]*\).*/\1/')
  printf '| %s | %d | %d | %d | %.0f |\n' "$label" "$CONNS" "$before" "$after" \
    "$(echo "($after - $before) * 1024 / $CONNS" | bc -l)"
  echo "  (active_clients reported by the server: $active)" >&2
  exec 9>&-
  wait "$clients" || true
  kill "$demo"; wait "$demo" 2>/dev/null || true
  rm -f "$tmp/hold"
}

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit: $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) CPUs, $(uname -r)"
echo "command: $0 $* (CONNS=$CONNS)"
echo
echo "| mode | connections | RSS before (KiB) | RSS after (KiB) | bytes per idle connection |"
echo "|---|---:|---:|---:|---:|"
measure "default"
measure "--hibernate-after=100" --hibernate-after=100
if ((TLS)); then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=localhost -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1
  tls=(--tls-cert="$tmp/cert.pem" --tls-key="$tmp/key.pem")
  measure "TLS 1.3 (ECDSA P-256)" "${tls[@]}"
  measure "TLS 1.3, --hibernate-after=100" "${tls[@]}" --hibernate-after=100
fi
