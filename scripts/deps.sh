#!/usr/bin/env bash
# Installs the Debian 12 packages roadrunner needs that are missing.
# Usage: scripts/deps.sh [build|test|bench]   (default: build)
# Runs apt-get only when something is missing; uses sudo when not root.
set -euo pipefail

build_pkgs=(g++ cmake make libcaf-dev libssl-dev libnghttp2-dev doctest-dev
            nlohmann-json3-dev pkg-config libsystemd-dev zlib1g-dev
            libbrotli-dev libzstd-dev)
test_pkgs=(curl nghttp2-client python3-h2 python3-h11 python3-prometheus-client
           clang-14 libclang-rt-14-dev python3-brotli python3-zstandard
           media-types python3-websockets haproxy chromium
           doxygen)
bench_pkgs=(wrk nginx-light libnginx-mod-http-echo h2o openssl libbenchmark-dev
            libwslay-dev valgrind)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test) want+=("${test_pkgs[@]}") ;;
  bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
