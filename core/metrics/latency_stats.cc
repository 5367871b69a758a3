#include "core/metrics/latency_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/base/check.h"
#include "core/metrics/bootstrap.h"

namespace qg::metrics {
namespace {

// Linear interpolation between closest ranks (numpy's default percentile).
double Percentile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const auto hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

}  // namespace

LatencyStats Summarize(std::vector<double> batch_ms, int64_t batch_size) {
  QG_CHECK(!batch_ms.empty() && batch_size > 0);
  std::sort(batch_ms.begin(), batch_ms.end());
  const double n = static_cast<double>(batch_ms.size());
  const double mean = std::accumulate(batch_ms.begin(), batch_ms.end(), 0.0) / n;
  double var = 0;
  for (double v : batch_ms) var += (v - mean) * (v - mean);
  LatencyStats s;
  s.batch_size = batch_size;
  s.runs = static_cast<int64_t>(batch_ms.size());
  s.mean_ms = mean;
  s.std_ms = batch_ms.size() > 1 ? std::sqrt(var / (n - 1)) : 0.0;
  s.p50_ms = Percentile(batch_ms, 0.50);
  s.p95_ms = Percentile(batch_ms, 0.95);
  s.min_ms = batch_ms.front();
  s.ms_per_image = mean / static_cast<double>(batch_size);
  return s;
}

nlohmann::json LatencyStats::ToJson() const {
  nlohmann::json j{{"batch_size", batch_size}, {"runs", runs},     {"mean_ms", mean_ms},
                   {"std_ms", std_ms},         {"p50_ms", p50_ms}, {"p95_ms", p95_ms},
                   {"min_ms", min_ms},         {"ms_per_image", ms_per_image}, {"threads", threads},
                   {"device", device}};
  // Only what was measured: a 0 interval or speedup reads as a measurement.
  if (speedup_vs_reference > 0) {
    j["reference_p50_ms"] = reference_p50_ms;
    j["speedup_vs_reference"] = speedup_vs_reference;
  }
  if (replicates > 1) {
    j["replicates"] = replicates;
    j["p50_ci_low_ms"] = p50_ci_low_ms;
    j["p50_ci_high_ms"] = p50_ci_high_ms;
  }
  if (!device_name.empty()) j["device_name"] = device_name;
  return j;
}

LatencyStats LatencyStats::FromJson(const nlohmann::json& j) {
  LatencyStats s;
  s.batch_size = j.value("batch_size", int64_t{0});
  s.runs = j.value("runs", int64_t{0});
  s.mean_ms = j.value("mean_ms", 0.0);
  s.std_ms = j.value("std_ms", 0.0);
  s.p50_ms = j.value("p50_ms", 0.0);
  s.p95_ms = j.value("p95_ms", 0.0);
  s.min_ms = j.value("min_ms", 0.0);
  s.ms_per_image = j.value("ms_per_image", 0.0);
  s.threads = j.value("threads", 0);
  s.device = j.value("device", "cpu");
  s.device_name = j.value("device_name", "");
  s.replicates = j.value("replicates", 0);
  s.p50_ci_low_ms = j.value("p50_ci_low_ms", 0.0);
  s.p50_ci_high_ms = j.value("p50_ci_high_ms", 0.0);
  s.reference_p50_ms = j.value("reference_p50_ms", 0.0);
  s.speedup_vs_reference = j.value("speedup_vs_reference", 0.0);
  return s;
}

void SetReplicates(LatencyStats& stats, const std::vector<double>& round_medians) {
  if (round_medians.size() < 2) return;
  const Interval ci = BootstrapMedianInterval(round_medians);
  stats.replicates = static_cast<int>(round_medians.size());
  stats.p50_ms = MedianOf(round_medians);
  stats.p50_ci_low_ms = ci.low;
  stats.p50_ci_high_ms = ci.high;
}

}  // namespace qg::metrics
