#!/usr/bin/env bash
# Installs every Debian package quantgrid needs (build, run, test, bench).
# Idempotent: packages already installed are skipped, and apt is not touched
# at all when nothing is missing. Runs as root, or through sudo otherwise.
set -euo pipefail

packages=(
  # toolchain
  cmake ninja-build g++ pkg-config git
  # libraries (LibTorch 1.13.1 CPU: quantized engines onednn + qnnpack, c10d + Gloo)
  libtorch-dev libgloo-dev libopenblas0-pthread
  libboost-dev libboost-system-dev libboost-filesystem-dev
  libsqlite3-dev sqlite3 nlohmann-json3-dev libfmt-dev libspdlog-dev libcli11-dev libexpected-dev
  libssl-dev openssl zlib1g-dev libstb-dev libgtest-dev libgmock-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
  libopenmpi-dev openmpi-bin
  # data: Fashion-MNIST lands in /usr/share/datasets/fashion-mnist
  dataset-fashion-mnist
  # reference scripts in bench/, ONNX test models made by torch.onnx.export
  # (tests/fixtures/), the local Slurm cluster, report rendering check
  python3-torch python3-torchvision python3-onnx slurm-wlm munge chromium
)
# Node.js runs ONNX Runtime (npm onnxruntime-node). Keep an existing Node: Debian's
# npm package conflicts with nodejs builds that bundle their own npm.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
