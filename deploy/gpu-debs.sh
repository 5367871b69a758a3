#!/usr/bin/env bash
# Downloads, where Debian's apt works, the .debs of the build dependencies that
# a GPU machine's image lacks and cannot fetch (it has no network): Boost 1.74
# with Filesystem, SQLite, tl-expected, ONNX, stb, and Gloo's headers (PyTorch's
# wheel has none). deploy/gpu-check.sh unpacks them there when QG_GPU_DEBS
# names the folder.
#
#   deploy/gpu-debs.sh [folder]      (default .gpu-deps, which git ignores)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/.gpu-deps}"
mkdir -p "$out"
cd "$out"
apt-get download libboost1.74-dev libboost-filesystem1.74-dev libboost-filesystem1.74.0 \
  libboost-system1.74-dev libboost-system1.74.0 libsqlite3-dev libsqlite3-0 libexpected-dev \
  libonnx-dev libonnx1 libonnxifi libstb-dev libstb0 libgloo-dev
echo "gpu-debs: $(ls "$out"/*.deb | wc -l) packages in $out ($(du -sh "$out" | cut -f1))"
