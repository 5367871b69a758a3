// Latency measurement of an InferenceModel: for each batch size, warm-up runs
// (oneDNN compiles kernels per shape on first use), then timed runs on a fixed
// random input. CPU timings use the steady clock; on CUDA devices, CUDA events
// around each run (compiled in only with CUDA LibTorch).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/clock.h"
#include "core/base/result.h"
#include "core/metrics/latency_stats.h"
#include "core/models/inference_model.h"

namespace qg::metrics {

// Rounds that alternate a model with its reference (and ONNX Runtime's
// paired timings, core/export/ort_runtime.h): at least this many.
inline constexpr int kPairedRounds = 10;

struct LatencyOptions {
  std::vector<int64_t> batch_sizes = kDefaultBatchSizes;
  int warmup_runs = kDefaultWarmupRuns;
  int runs = kDefaultTimedRuns;
  double max_seconds_per_batch_size = 5.0;  // stop early, keeping at least min_runs
  int min_runs = 10;
  std::string device = "cpu";  // "cpu" or "cuda"
  // > 1: the timed runs go in this many rounds (CPU); each round's median is
  // a replicate, and the stats carry their median and its bootstrap 95 %
  // interval. With a reference, rounds alternate it with the model (at least
  // 10 rounds, as without replicates).
  int replicates = 1;
  // Where CPU timings read time; tests pass a FakeClock their model advances.
  const Clock* clock = &SystemClock::Instance();
};

// `input_shape` is one image: {C, H, W}.
//
// With a `reference` (CPU only), each batch size is timed in 10 rounds that
// alternate the reference and the model on the same input, so that a machine
// that slows down for a while (a shared VM, a busy node) slows both, and the
// stats carry the reference's median and the speedup (the median of the
// rounds' ratios). Cross-job ratios of
// latencies measured minutes apart move with the machine instead.
Result<std::vector<LatencyStats>> MeasureLatency(models::InferenceModel& model, const std::vector<int64_t>& input_shape,
                                                 const LatencyOptions& options,
                                                 models::InferenceModel* reference = nullptr);

}  // namespace qg::metrics
