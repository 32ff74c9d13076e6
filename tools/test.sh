#!/usr/bin/env bash
# Installs missing packages, builds rollbook into build/ (RelWithDebInfo, assertions on) and runs
# the test suite. Extra arguments go to ctest, for example:
#   tools/test.sh -L unit                 # only the unit tests
#   tools/test.sh -R ledger_crash_test    # one test
# The exit status is ctest's.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

tools/install-deps.sh

build_dir="$root/build"
if [[ -f "$build_dir/CMakeCache.txt" ]] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$build_dir/CMakeCache.txt"; then
  echo "test.sh: $build_dir was configured with another CMake generator; remove it and run again" >&2
  exit 1
fi

# CMakeLists.txt turns ccache on by itself when it is installed.
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build_dir" -j"$(nproc)"

exec ctest --test-dir "$build_dir" --output-on-failure "$@"
