#!/usr/bin/env bash
# Installs what is missing, builds in release mode and runs roadrunner-demo
# on 127.0.0.1:8080. Extra arguments go to the demo (e.g. --port=9000).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh" build
cmake -S "$root" -B "$root/build-release" -DCMAKE_BUILD_TYPE=Release \
  -DROADRUNNER_BUILD_TESTS=OFF >/dev/null
cmake --build "$root/build-release" --target roadrunner-demo -j"$(nproc)"
exec "$root/build-release/examples/roadrunner-demo" "$@"
