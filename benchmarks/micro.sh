#!/usr/bin/env bash
# micro.sh -- Google Benchmark micro-benchmarks of the protocol core: the
# HTTP/1.1 parser (small GET, 16 headers, chunked decode), the router (a
# 20-route table: literal, :param, wildcard, 404) and the response
# serializer (write_head). Builds build-bench/ in Release with
# -DROADRUNNER_BUILD_BENCHMARKS=ON, runs every benchmark REPS times and
# prints the median CPU time per operation with its min..max spread.
#
# Usage: benchmarks/micro.sh [--no-build] [--unpinned] [--markdown]
#                            [--filter=REGEX]
#
#   --no-build      reuse build-bench/benchmarks/roadrunner-micro
#   --unpinned      do not pin to CPU 1 with taskset
#   --markdown      print the report as Markdown (for docs/benchmarks.md)
#   --filter=REGEX  only the benchmarks matching REGEX (--benchmark_filter)
#
# Environment: REPS=5 repetitions, MIN_TIME=0.5 seconds per repetition.
# Progress goes to stderr, the report to stdout.

# shellcheck source-path=SCRIPTDIR source=lib/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/prelude.sh"

record_command "REPS MIN_TIME" "$0" "$@"

BUILD=1 PINNED=1 MARKDOWN=0 FILTER=.
for a in "$@"; do
  common_option "$a" "$0" && continue
  [[ $a == --filter=* ]] || die "unknown option: $a (see --help)"
  FILTER=${a#--filter=}
done
REPS=${REPS:-5}
MIN_TIME=${MIN_TIME:-0.5}
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive integer"
[[ $MIN_TIME =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "MIN_TIME must be a number"

BUILD_DIR=$ROOT/build-bench
MICRO=$BUILD_DIR/benchmarks/roadrunner-micro

if ((BUILD)); then
  "$ROOT/scripts/deps.sh" bench
  log "building roadrunner-micro (Release) in $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
    -DROADRUNNER_BUILD_BENCHMARKS=ON -DROADRUNNER_BUILD_TESTS=OFF \
    -DROADRUNNER_BUILD_EXAMPLES=OFF >&2 || die "cmake configure failed"
  cmake --build "$BUILD_DIR" --target roadrunner-micro -j2 >&2 ||
    die "cmake build failed"
fi
[[ -x $MICRO ]] || die "not built: $MICRO (run without --no-build)"

PIN=()
if ((PINNED)); then
  taskset -c 1 true 2>/dev/null || die "cannot pin to CPU 1; use --unpinned"
  PIN=(taskset -c 1)
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rr-micro.XXXXXX")
install_cleanup

START_DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
IDLE_BUSY=$(busy_pct 1)
((IDLE_BUSY <= 10)) ||
  warn "machine already ${IDLE_BUSY}% busy before the run; results will be noisy"

log "running $REPS repetitions of ${MIN_TIME}s per benchmark"
# Bounded: 10 benchmarks x REPS x MIN_TIME, plus calibration.
spawn timeout 900 "${PIN[@]}" "$MICRO" --benchmark_repetitions="$REPS" \
  --benchmark_min_time="$MIN_TIME" --benchmark_filter="$FILTER" \
  --benchmark_report_aggregates_only=false \
  --benchmark_display_aggregates_only=true \
  --benchmark_out="$TMP/micro.json" --benchmark_out_format=json >&2
EXTRA_PIDS=("$SPAWNED_PID")
wait "$SPAWNED_PID" || die "roadrunner-micro failed"
EXTRA_PIDS=()

COMMIT=$(commit_line)
PINNING="CPU 1 (taskset)"
((PINNED)) || PINNING="unpinned"

# Median and min..max of the per-repetition CPU time, and the median
# throughput where the benchmark reports bytes.
python3 - "$TMP/micro.json" "$MARKDOWN" "$START_DATE" "$COMMIT" \
  "$(machine_line); ${IDLE_BUSY}% busy just before start" \
  "$PINNING" "$REPS" "$MIN_TIME" "$COMMAND" <<'EOF'
import json, statistics, sys
path, markdown, date, commit, machine, pinning, reps, min_time, command = sys.argv[1:10]
markdown = markdown == "1"
data = json.load(open(path))
runs = {}
order = []
for b in data["benchmarks"]:
    if b.get("run_type") != "iteration" or b.get("error_occurred"):
        continue
    name = b["run_name"]
    if name not in runs:
        runs[name] = []
        order.append(name)
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
    runs[name].append((b["cpu_time"] * scale, b.get("bytes_per_second")))
errors = [b["name"] for b in data["benchmarks"] if b.get("error_occurred")]
rows = []
for name in order:
    t = [r[0] for r in runs[name]]
    bps = [r[1] for r in runs[name] if r[1]]
    thr = f"{statistics.median(bps) / 1e9:.2f}" if bps else ""
    spread = (max(t) - min(t)) / statistics.median(t) * 100
    rows.append((name, f"{statistics.median(t):.1f}",
                 f"{min(t):.1f}..{max(t):.1f}", f"{spread:.1f}", thr))
head = ("benchmark", "CPU ns/op (median)", "min..max", "spread %", "GB/s (median)")
ctx = data.get("context", {})
info = [("date", date), ("commit", commit), ("command", command),
        ("machine", machine), ("pinning", pinning),
        ("method", f"{reps} repetitions of >= {min_time}s each, median of the per-repetition CPU time; "
                   f"Google Benchmark (library_build_type={ctx.get('library_build_type', '?')})")]
if markdown:
    print("### Micro-benchmarks (Google Benchmark)\n")
    for k, v in info:
        print(f"- **{k}**: `{v}`" if k == "command" else f"- **{k}**: {v}")
    print()
    print("| " + " | ".join(head) + " |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
else:
    print("== micro-benchmarks ==")
    for k, v in info:
        print(f"{k + ':':<9} {v}")
    w = [max(len(x[i]) for x in rows + [head]) for i in range(len(head))]
    for r in [head] + rows:
        print("  " + "  ".join(c.ljust(w[0]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(r)))
if errors:
    print("ERRORS: " + ", ".join(errors))
    sys.exit(1)
EOF
log "done"
