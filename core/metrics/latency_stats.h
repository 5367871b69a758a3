// Latency statistics of timed runs: mean, std, p50, p95 per batch, per image.
// Plain C++ (no LibTorch) so storage and reports share it.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace qg::metrics {

// The latency protocol's defaults, defined once: LatencyOptions, experiment
// specs and job configs all start from these.
inline const std::vector<int64_t> kDefaultBatchSizes{1, 64};
inline constexpr int kDefaultWarmupRuns = 20;  // oneDNN compiles kernels per shape on first use
inline constexpr int kDefaultTimedRuns = 50;

struct LatencyStats {
  int64_t batch_size = 0;
  int64_t runs = 0;
  double mean_ms = 0;  // per batch
  double std_ms = 0;
  double p50_ms = 0;
  double p95_ms = 0;
  double min_ms = 0;
  double ms_per_image = 0;  // mean_ms / batch_size
  int threads = 0;
  std::string device = "cpu";
  std::string device_name;  // on cuda, the GPU that timed it ("NVIDIA H200"); empty on cpu
  // Set when a reference model was timed alternately with this one (see
  // MeasureLatency): its median, and the speedup reference / this, the median
  // over rounds of the ratio of round medians. 0 when not measured.
  double reference_p50_ms = 0;
  double speedup_vs_reference = 0;
  // With replicates (measure.replicates > 1): the timed runs split into that
  // many rounds, p50_ms is the median of the round medians, and the interval
  // its bootstrap 95 % interval (core/metrics/bootstrap.h). 0 otherwise.
  int replicates = 0;
  double p50_ci_low_ms = 0;
  double p50_ci_high_ms = 0;

  nlohmann::json ToJson() const;
  static LatencyStats FromJson(const nlohmann::json& j);
};

// Statistics of per-batch times in milliseconds (at least one sample).
LatencyStats Summarize(std::vector<double> batch_ms, int64_t batch_size);
// Replicates: `stats.p50_ms` becomes the median of the rounds' medians and
// the interval its bootstrap 95 % interval (core/metrics/bootstrap.h); one
// round or none leaves `stats` as it is. LibTorch and ONNX Runtime timings
// alike.
void SetReplicates(LatencyStats& stats, const std::vector<double>& round_medians);

}  // namespace qg::metrics
