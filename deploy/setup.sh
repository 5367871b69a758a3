#!/usr/bin/env bash
# One step from a fresh clone to a built quantgrid: apt dependencies, the
# project-local ONNX Runtime (npm), configure, build. Safe to run again; a
# second run only rebuilds what changed.
#   QG_BUILD_DIR   build directory (default: build)
#   QG_CMAKE_ARGS  extra CMake arguments (CI passes -DQG_WERROR=ON)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${QG_BUILD_DIR:-$root/build}"

"$root/deploy/install-deps.sh"

echo "setup: configuring $build"
# shellcheck disable=SC2086
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release ${QG_CMAKE_ARGS:-} >/dev/null
echo "setup: building (LibTorch headers are heavy: a first build takes several minutes on 2 cores)"
cmake --build "$build" -j "$(nproc)"
echo "setup: done; the executable is $build/cli/quantgrid"
