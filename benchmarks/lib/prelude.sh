# shellcheck shell=bash
# Sourced first by every benchmark script (benchmarks/*.sh): strict mode,
# the C locale ('.' decimal point for awk/printf/sort -g), SCRIPT_DIR
# (benchmarks/), ROOT (the repository), START_DATE (for the report) and
# the shared helpers of common.sh and servers.sh.
set -euo pipefail
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
# shellcheck disable=SC2034 # read by the sourcing script
START_DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
# shellcheck source-path=SCRIPTDIR/.. source=lib/common.sh
source "$SCRIPT_DIR/lib/common.sh"
# shellcheck source-path=SCRIPTDIR/.. source=lib/servers.sh
source "$SCRIPT_DIR/lib/servers.sh"
