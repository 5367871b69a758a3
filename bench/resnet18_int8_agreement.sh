#!/usr/bin/env bash
# Trains resnet18_cifar on Fashion-MNIST (CIFAR-10 is not downloadable here) for a
# few hundred steps, converts it to INT8 (BN folded, quantized residual adds) on
# every engine, and prints top-1 and INT8/FP32 top-1 agreement on the test split.
# Issue goal: agreement >= 95 %. About 10 minutes on 2 cores.
set -euo pipefail
qg="${QG:-$(dirname "$0")/../build/cli/quantgrid}"
out="${OUT:-runs/bench/resnet18}"
steps="${STEPS:-250}"
threads="${THREADS:-2}"
"$qg" train --model resnet18_cifar --dataset fashion-mnist --epochs 1 --max-steps-per-epoch "$steps" \
  --batch-size 128 --lr 0.05 --threads "$threads" --out "$out/train"
for engine in onednn qnnpack; do
  "$qg" quantize --model-file "$out/train/model.pt" --dataset fashion-mnist --strategy bn_fold --engine "$engine" \
    --batch-sizes 1,64 --threads "$threads" --out "$out/bn_fold_$engine"
done
