// What the benchmarks share: their options, the python3-torch reference
// runner, and the compact_cnn they measure (live BN statistics, folded,
// calibrated on synthetic data, converted to INT8).
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "core/base/blas_threads.h"
#include "core/models/graph_module.h"
#include "core/models/model_options.h"
#include "core/quant/calibration.h"
#include "core/quant/quant_plan.h"
#include "core/quant/quantized_model.h"

namespace qg::bench {

struct Options {
  int threads = 2;
  int rounds = 7;  // this VM's timings wander by 10 %: 3 rounds let a ratio swing by as much
  int runs = 100;
  bool verbose = false;
  std::string python = "/usr/bin/python3";
  std::string reference;  // bench/reference/torch_reference.py
  std::vector<std::string> models;  // import: the fixtures to time (empty: all)
};

// Runs the reference script with `args` ("int8 --batch 64 ..."); its JSON
// line. Exits with a message when it fails. Inference modes run with
// OPENBLAS_NUM_THREADS=1, as ours do (core/base/blas_threads.h).
nlohmann::json RunReference(const Options& o, const std::string& args);

models::GraphModule CompactCnn();

struct Int8Setup {
  models::GraphModule model{nullptr};   // FP32, BN live
  models::GraphModule folded{nullptr};  // BN folded
  quant::QuantPlan plan;
  quant::ActivationQParams qparams;
};
// compact_cnn on 1x28x28 by default; any registry model on synthetic images
// of its input shape (random weights, BN statistics from one batch).
Int8Setup PrepareInt8(const std::string& model_name = "compact_cnn",
                      const models::ModelOptions& options = {.in_channels = 1, .image_size = 28, .num_classes = 10});

// An inference benchmark's start: threads set, BLAS held at one thread for
// its lifetime, compact_cnn prepared and converted to INT8 on onednn.
struct OnednnCompactCnn {
  explicit OnednnCompactCnn(const Options& o);
  int threads;
  ScopedBlasThreads one_pool{1};
  Int8Setup setup;
  std::unique_ptr<quant::QuantizedModel> int8;
};

}  // namespace qg::bench
