// Latency measurement of an InferenceModel: for each batch size, warm-up runs
// (oneDNN compiles kernels per shape on first use), then timed runs on a fixed
// random input. CPU timings use the steady clock; on CUDA devices, CUDA events
// around each run (compiled in only with CUDA LibTorch).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/metrics/latency_stats.h"
#include "core/models/inference_model.h"

namespace qg::metrics {

struct LatencyOptions {
  std::vector<int64_t> batch_sizes{1, 64};
  int warmup_runs = 20;
  int runs = 50;
  double max_seconds_per_batch_size = 5.0;  // stop early, keeping at least min_runs
  int min_runs = 10;
  std::string device = "cpu";  // "cpu" or "cuda"
};

// `input_shape` is one image: {C, H, W}.
Result<std::vector<LatencyStats>> MeasureLatency(models::InferenceModel& model, const std::vector<int64_t>& input_shape,
                                                 const LatencyOptions& options);

}  // namespace qg::metrics
