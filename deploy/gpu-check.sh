#!/usr/bin/env bash
# quantgrid on a GPU machine: build against the CUDA LibTorch that the machine's
# PyTorch ships, then measure what a CPU box cannot:
#   1. training images/s on the GPU: FP32, and AMP (FP16 autocast + loss scaling),
#      both through an NCCL process group of one rank (QG_WORLD_SIZE=1);
#   2. FP32 and FP16 inference latency, timed with CUDA events (quantize --device cuda),
#      and the GPU's name that the results carry;
#   3. a whole experiment through `quantgrid run`, CPU and GPU rows in one table
#      (QG_GPU_SPEC, default experiments/seed-002.json; QG_GPU_SPEC=none skips it).
#
#   deploy/gpu-check.sh [build dir]     (default build-cuda)
#
# Needs: nvidia-smi, python3 with a CUDA build of torch, and quantgrid's other
# build dependencies (deploy/install-deps.sh lists them). It stops at the first
# missing piece and says which. Prints one summary block at the end.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build-cuda}"
say() { echo "gpu-check: $*"; }
die() { echo "gpu-check: error: $*" >&2; exit 1; }

command -v nvidia-smi >/dev/null || die "nvidia-smi not found: no NVIDIA driver here"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | sed 's/^/gpu-check: GPU: /'
python3 -c 'import torch' 2>/dev/null || die "python3 cannot import torch (need a CUDA build of PyTorch)"
read -r torch_version cuda_ok prefix abi < <(python3 -c '
import torch
print(torch.__version__, torch.cuda.is_available(), torch.utils.cmake_prefix_path, int(torch._C._GLIBCXX_USE_CXX11_ABI))')
say "PyTorch $torch_version, CUDA available: $cuda_ok, LibTorch at $prefix, CXX11 ABI $abi"
[[ "$cuda_ok" == "True" ]] || die "torch.cuda.is_available() is False"
[[ "$abi" == "1" ]] || say "warning: this LibTorch uses the old C++ ABI; linking with Debian's fmt/spdlog/boost may fail"

# PyTorch's LibTorch ships its own fmt (12) and protobuf (3.13) headers beside
# its own. Ahead of the system's on the include path, they break spdlog (built
# on the system's fmt) and ONNX (on the system's protobuf). Build against a view
# of that LibTorch without them: its cmake files copied, everything else linked.
torch_root="$(cd "$prefix/../.." && pwd)"
view="$build/torch-view"
rm -rf "$view" && mkdir -p "$view/include"
cp -r "$torch_root/share" "$view/share"
ln -s "$torch_root/lib" "$view/lib"
for entry in "$torch_root"/include/*; do
  case "$(basename "$entry")" in fmt|google) ;; *) ln -s "$entry" "$view/include/" ;; esac
done
prefixes="$view/share/cmake"

# Packages the machine lacks and cannot fetch (no network): Debian .debs made
# by deploy/gpu-debs.sh where apt works, unpacked here.
if [[ -n "${QG_GPU_DEBS:-}" ]]; then
  deps="$build/deps"
  rm -rf "$deps" && mkdir -p "$deps"
  for deb in "$QG_GPU_DEBS"/*.deb; do dpkg -x "$deb" "$deps"; done
  say "unpacked $(ls "$QG_GPU_DEBS"/*.deb | wc -l) packages from $QG_GPU_DEBS into $deps"
  prefixes="$prefixes;$deps/usr"
  export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu${LIBRARY_PATH:+:$LIBRARY_PATH}"  # -lstb
fi

say "configuring $build against $prefix"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DQG_BUILD_TESTS=OFF -DQG_BUILD_BENCH=OFF -DCMAKE_POLICY_VERSION_MINIMUM=3.5 \
  -DCMAKE_PREFIX_PATH="$prefixes" | grep -E "quantgrid: CUDA|Torch" || true
grep -q "define QG_WITH_CUDA 1" "$build/generated/core/base/build_info.h" ||
  die "CMake did not find CUDA LibTorch (QG_WITH_CUDA is 0)"
say "building quantgrid"
cmake --build "$build" --target quantgrid -j "$(nproc)"
qg="$build/cli/quantgrid"
if [[ -n "${QG_GPU_WORK:-}" ]]; then  # keep logs and results there
  work="$QG_GPU_WORK" && mkdir -p "$work"
else
  work="$(mktemp -d)" && trap 'rm -rf "$work"' EXIT
fi

train() {  # $1: tag, then extra flags
  local tag="$1"; shift
  QG_RANK=0 QG_WORLD_SIZE=1 QG_MASTER_PORT=$((20000 + RANDOM % 20000)) \
    "$qg" train --model resnet18_cifar --dataset synthetic --epochs 4 --batch-size 256 \
    --device cuda --fresh --out "$work/$tag" "$@" > "$work/$tag.log" 2>&1 || { tail -20 "$work/$tag.log" >&2; die "train $tag failed"; }
  grep -o '[0-9]* img/s' "$work/$tag.log" | tail -1
}
say "training resnet18_cifar on the GPU through NCCL (1 rank): synthetic 2048 images, batch 256, 4 epochs (the last one timed)"
fp32_rate=$(train fp32)
amp_rate=$(train amp --amp)
grep -q "NCCL group" "$work/fp32.log" || die "training did not join an NCCL group"

latency() {  # $1: strategy
  "$qg" quantize --model-file "$work/fp32/model.pt" --dataset synthetic --strategy "$1" --device cuda \
    --batch-sizes 1,64 --eval-limit 512 --out "$work/q-$1" --json > "$work/q-$1.json" 2> "$work/q-$1.log" ||
    { tail -20 "$work/q-$1.log" >&2; die "quantize $1 on cuda failed"; }
  python3 -c '
import json, sys
def walk(x, path):  # every p50 latency in the result, with its path
    if isinstance(x, dict):
        for k, v in x.items(): yield from walk(v, path + [str(k)])
    elif isinstance(x, list):
        for i, v in enumerate(x): yield from walk(v, path + [str(i)])
    elif isinstance(x, (int, float)) and "p50" in ".".join(path):
        yield ".".join(path), x
def names(x):  # the GPU named by each latency result
    if isinstance(x, dict):
        if "device_name" in x: yield x["device_name"]
        for v in x.values(): yield from names(v)
    elif isinstance(x, list):
        for v in x: yield from names(v)
result = json.load(open(sys.argv[1]))
print(" ".join(f"{k}={v:.4f}" for k, v in walk(result, [])), "| timed on:", ", ".join(sorted(set(names(result)))) or "no GPU name")' "$work/q-$1.json"
}
say "inference latency with CUDA events"
fp32_lat=$(latency fp32)
fp16_lat=$(latency fp16)

spec="${QG_GPU_SPEC:-$root/experiments/seed-002.json}"
if [[ "$spec" != none ]]; then
  # Fit a short GPU lease: train on the GPU (cuda listed first) and cut QAT's
  # fine-tuning, which runs on the CPU, to 10 steps.
  python3 - "$spec" "$work/gpu-spec.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["name"] += "-gpu-check"
s["grid"]["devices"] = ["cuda"] + [d for d in s["grid"].get("devices", ["cpu"]) if d != "cuda"]
for st in s["grid"]["strategies"]:
    if isinstance(st, dict) and st.get("name") == "qat": st.setdefault("params", {})["max_steps_per_epoch"] = 10
json.dump(s, open(sys.argv[2], "w"), indent=1)
PY
  say "running $spec end to end (quantgrid run, training on the GPU): CPU and GPU rows in one table"
  "$qg" run "$work/gpu-spec.json" --db "$work/runs.db" --root "$work/runs" > "$work/run.md" 2> >(tee "$work/run.log" >&2) ||
    { tail -20 "$work/run.log" >&2; die "quantgrid run $spec failed"; }
  cat "$work/run.md"
fi

echo "=== quantgrid GPU check ($(nvidia-smi --query-gpu=name --format=csv,noheader | head -1), PyTorch $torch_version)"
echo "train resnet18_cifar FP32 (NCCL, 1 rank): $fp32_rate"
echo "train resnet18_cifar AMP  (NCCL, 1 rank): $amp_rate"
echo "latency FP32 (CUDA events): $fp32_lat"
echo "latency FP16 (CUDA events): $fp16_lat"
