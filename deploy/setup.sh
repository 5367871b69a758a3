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

# ONNX Runtime: npm onnxruntime-node (it carries the native CPU library), pinned in
# deploy/ort/package.json and package-lock.json. deploy/ort/.npmrc skips its postinstall
# download (CUDA extras; fails offline); the environment variable says the same for
# npm versions that stop passing unknown .npmrc keys to scripts.
ort="$root/deploy/ort"
ort_want=$(node -p "require(process.argv[1]).dependencies['onnxruntime-node']" "$ort/package.json")
ort_have=$(node -p "require(process.argv[1]).version" "$ort/node_modules/onnxruntime-node/package.json" 2>/dev/null || true)
if [[ "$ort_have" != "$ort_want" ]]; then
  (cd "$ort" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error)
fi
echo "setup: ONNX Runtime (npm onnxruntime-node $ort_want) in $ort"

echo "setup: configuring $build"
# shellcheck disable=SC2086
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release ${QG_CMAKE_ARGS:-} >/dev/null
echo "setup: building (LibTorch headers are heavy: a first build takes several minutes on 2 cores)"
cmake --build "$build" -j "$(nproc)"
echo "setup: done; the executable is $build/cli/quantgrid"
