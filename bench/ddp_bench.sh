#!/usr/bin/env bash
# Data-parallel training on this machine: 1 process with all cores vs 2 Gloo
# ranks with half the cores each, same global batch, same steps; prints
# images/s of each, their ratio, and the gradient all-reduce time per step,
# with the all-reduce overlapped with backward (the default) and after it.
#   bench/ddp_bench.sh [build dir] [steps]
set -euo pipefail
build="${1:-build}"
steps="${2:-150}"
qg="$build/cli/quantgrid"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cores=$(nproc)
common=(train --model compact_cnn --dataset fashion-mnist --epochs 1 --batch-size 128 --max-steps-per-epoch "$steps" --fresh)

rate() { grep -o '[0-9]* img/s' "$1" | tail -1 | cut -d' ' -f1; }

echo "ddp bench: compact_cnn, Fashion-MNIST, global batch 128, $steps steps, $cores cores"
"$qg" "${common[@]}" --threads "$cores" --out "$work/one" > "$work/one.log" 2>&1
one=$(rate "$work/one.log")

half=$(( cores / 2 > 0 ? cores / 2 : 1 ))
two_ranks() {  # $1: QG_DDP_OVERLAP value, $2: output tag
  local port=$((20000 + RANDOM % 20000)) r
  for r in 0 1; do
    QG_RANK=$r QG_WORLD_SIZE=2 QG_MASTER_PORT=$port QG_DDP_OVERLAP=$1 \
      "$qg" "${common[@]}" --threads "$half" --out "$work/$2" > "$work/$2-rank$r.log" 2>&1 &
  done
  wait
}
two_ranks 1 overlap
two_ranks 0 after
sync_ms() { grep -o '[0-9.]* ms per step' "$1" | cut -d' ' -f1; }
overlap=$(rate "$work/overlap-rank0.log")
after=$(rate "$work/after-rank0.log")
echo "1 process x $cores threads              : $one img/s"
echo "2 ranks   x $half threads, overlapped    : $overlap img/s (Gloo, SyncBatchNorm on)"
echo "2 ranks   x $half threads, after backward: $after img/s"
awk -v a="$overlap" -v b="$one" 'BEGIN { printf "ratio 2 ranks (overlapped) / 1 process: %.2fx\n", a / b }'
awk -v a="$overlap" -v b="$after" 'BEGIN { printf "ratio overlapped / after backward: %.2fx\n", a / b }'
echo "gradient all-reduce wait after backward (rank 0): $(sync_ms "$work/overlap-rank0.log") ms per step overlapped," \
  "$(sync_ms "$work/after-rank0.log") ms per step not overlapped"
