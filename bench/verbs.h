// qg_bench's verbs, one function each (bench_main.cc wires them to the CLI).
#pragma once

#include "bench/bench_setup.h"

namespace qg::bench {

void Foundation(const Options& o);  // training throughput and FP32 latency vs python3-torch
void Onnx(const Options& o);        // LibTorch vs ONNX Runtime, FP32 and INT8 (QDQ export)
// int8_bench.cc
void Int8(const Options& o);        // INT8 vs FP32 per engine; quantgrid INT8 vs PyTorch FX INT8
void Int8Steps(const Options& o);   // time of each INT8 step
void Int8Shapes(const Options& o);  // why onednn packs per input shape
void Threads(const Options& o);     // LibTorch FP32 and INT8: one intra-op thread vs all, batch by batch
void Int8Im2col(const Options& o);  // the first conv as im2col + 1x1 conv vs the 3x3 conv
void Int8RgbInput(const Options& o);  // a colour image quantized channels-last vs NCHW, first conv after it
void Int8ConcatShuffle(const Options& o);  // ShuffleNet's concat + channel shuffle: two kernels vs one pass
void Roofline(const Options& o);    // this CPU's INT8/FP32 peaks, the model against them
// import_bench.cc
void Import(const Options& o);  // ONNX import time; imported models' INT8 vs FP32 beside ONNX Runtime
// ptq_algos_bench.cc
void PtqAlgos(const Options& o);  // CLE, bias absorption and AdaRound times on compact_cnn

}  // namespace qg::bench
