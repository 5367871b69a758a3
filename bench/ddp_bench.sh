#!/usr/bin/env bash
# Data-parallel training on this machine: 1 process with all cores vs 2 Gloo
# ranks with half the cores each, same global batch, same steps; prints
# images/s of each, their ratio, and the gradient all-reduce time per step.
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

port=$((20000 + RANDOM % 20000))
half=$(( cores / 2 > 0 ? cores / 2 : 1 ))
for r in 0 1; do
  QG_RANK=$r QG_WORLD_SIZE=2 QG_MASTER_PORT=$port \
    "$qg" "${common[@]}" --threads "$half" --out "$work/two" > "$work/rank$r.log" 2>&1 &
done
wait
two=$(rate "$work/rank0.log")
sync=$(grep -o '[0-9.]* ms per step' "$work/rank0.log" | cut -d' ' -f1)
echo "1 process x $cores threads : $one img/s"
echo "2 ranks   x $half threads  : $two img/s (Gloo, SyncBatchNorm on)"
awk -v a="$two" -v b="$one" 'BEGIN { printf "ratio 2 ranks / 1 process: %.2fx\n", a / b }'
echo "gradient all-reduce (rank 0): $sync ms per step"
