// ExportStep: the ONNX step of a grid. Export the model a quantize job wrote
// (FP32 graph, or QDQ INT8 for int8/mixed models), then measure it in ONNX
// Runtime on the same test images and latency protocol as LibTorch, and how
// far its outputs are from the same model run by LibTorch.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/data/dataset_registry.h"
#include "core/metrics/classification.h"
#include "core/metrics/latency_stats.h"
#include "core/metrics/output_diff.h"
#include "core/pipeline/measure_step.h"

namespace qg::pipeline {

struct ExportStepSpec {
  std::string model_path;  // a quantize job's model file
  bool int8 = false;       // a QuantizedModel file (else an FP32 model file)
  bool fp16 = false;       // an FP16 model file (the fp16 strategy's), exported as FP16 ONNX
  // INT8 and FP16 exports: the FP32 model they came from. Its FP32 graph is
  // timed alternately with theirs in ONNX Runtime (speedup_vs_reference).
  std::string reference_fp32_path;
  std::string engine = "onednn";
  data::DatasetSpec dataset;
  MeasureOptions measure;
  int threads = 1;
  std::string out_dir;
};

// FP32 on the two runtimes at one batch size, timed in alternating rounds:
// LibTorch's compiled model, then ONNX Runtime on the exported file.
struct Fp32RuntimePair {
  int64_t batch_size = 0;
  double libtorch_p50_ms = 0;  // median of round medians
  double ort_p50_ms = 0;
  double libtorch_over_ort = 0;  // median of the rounds' ratios: > 1 when ONNX Runtime is faster

  nlohmann::json ToJson() const;
};

// An INT8 export checked step by step (onnx_export::CheckExportAgainstInt8)
// on the first test images: each step on ONNX Runtime's own inputs against
// ONNX Runtime. images == 0: not checked.
struct ExportStepCheck {
  static constexpr int64_t kImages = 16;
  static constexpr int64_t kWithinSteps = 2;
  int64_t images = 0;
  int64_t max_own_steps = 0;     // over every compared value
  std::string first_divergence;  // the first step beyond kWithinSteps (and its allowance), if any

  nlohmann::json ToJson() const;
};

struct ExportStepResult {
  std::string onnx_path;
  std::string format;   // "fp32", "fp16" or "qdq_int8"
  std::string runtime;  // "ONNX Runtime 1.30.0 (npm onnxruntime-node, CPU execution provider)"
  int64_t onnx_bytes = 0;
  int64_t nodes = 0;
  metrics::ClassificationReport accuracy;
  std::vector<metrics::LatencyStats> latency;
  metrics::OutputDiff vs_libtorch;  // ONNX Runtime logits vs the same model in LibTorch
  // INT8 exports: the layers whose 8-bit weights this CPU's u8 x s8 kernels
  // saturate (QuantizedModel::LayersSaturatingOnThisCpu: a model quantized on
  // a CPU with VNNI, exported on one without). ONNX Runtime's QLinearConv
  // saturates there as oneDNN does (u8 255, 255 times s8 127, 127 sums to
  // 32767, not 64770), so its accuracy is this CPU's, not the model's.
  std::vector<std::string> saturating_layers;
  // INT8 exports: the engine LibTorch's reference of vs_libtorch ran on: the
  // spec's, or qnnpack where that saturates (it widens to int16 first), so
  // that the agreement measures ONNX Runtime against the model's arithmetic.
  std::string reference_engine;
  // FP32 exports only: the same model's LibTorch FP32 timed alternately with
  // ONNX Runtime, so that "which runtime is the fastest FP32" (the baseline
  // of every Speedup) is decided under the same machine conditions.
  std::vector<Fp32RuntimePair> fp32_runtimes;
  // INT8 exports: whether a low agreement is rounding carried through the
  // layers or a step of the export that computes something else.
  ExportStepCheck step_check;

  nlohmann::json ToJson() const;
};

Result<ExportStepResult> RunExportStep(const ExportStepSpec& spec);

}  // namespace qg::pipeline
