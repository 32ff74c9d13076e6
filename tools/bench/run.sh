#!/usr/bin/env bash
# Runs rollbook's side-by-side benchmarks (see docs/benchmarks.md) in one command: installs the
# benchmark packages, builds in Release into build-bench/, then runs tools/bench/suite.py, which
# starts PostgreSQL and nginx on free loopback ports and writes results.json and results.md.
#
# Usage:
#   tools/bench/run.sh           # the full run, under 30 minutes on 2 cores
#   tools/bench/run.sh --quick   # small sizes, under 3 minutes once built
#   tools/bench/run.sh --smoke   # tiny sizes and one repetition, to check that everything runs
# The full run also rewrites the results block of docs/benchmarks.md.
# Other options go to suite.py, for example --only durable_append,replay or --growth-events N.
# Environment: ROLLBOOK_BENCH_BUILD_DIR (default build-bench), ROLLBOOK_BENCH_OUT (default
# <build dir>/bench-results/<mode>), TMPDIR (where the data directories go; default /var/tmp).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

mode=full
suite_args=()
for argument in "$@"; do
  case "$argument" in
    --quick) mode=quick ;;
    --smoke) mode=smoke ;;
    *) suite_args+=("$argument") ;;
  esac
done

tools/install-deps.sh

build_dir="${ROLLBOOK_BENCH_BUILD_DIR:-$root/build-bench}"
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j"$(nproc)" --target rollbook rollbook-bench rollbook-micro-bench

out="${ROLLBOOK_BENCH_OUT:-$build_dir/bench-results/$mode}"
if [[ "$mode" == full ]]; then
  suite_args+=(--write-docs "$root/docs/benchmarks.md")
fi
exec python3 "$root/tools/bench/suite.py" --mode "$mode" --build-dir "$build_dir" --out "$out" \
  "${suite_args[@]}"
