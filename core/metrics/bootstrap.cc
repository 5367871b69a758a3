#include "core/metrics/bootstrap.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace qg::metrics {

Interval BootstrapMedianInterval(const std::vector<double>& samples, double level, int resamples, uint64_t seed) {
  if (samples.empty()) return {};
  if (samples.size() == 1 || resamples < 1) return {samples.front(), samples.front()};
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, samples.size() - 1);
  std::vector<double> medians(static_cast<size_t>(resamples)), resample(samples.size());
  for (auto& m : medians) {
    for (auto& x : resample) x = samples[pick(rng)];
    m = MedianOf(resample);
  }
  std::sort(medians.begin(), medians.end());
  const double tail = (1 - level) / 2;
  const auto at = [&](double q) {
    const auto i = static_cast<size_t>(std::lround(q * static_cast<double>(medians.size() - 1)));
    return medians[std::min(i, medians.size() - 1)];
  };
  return {at(tail), at(1 - tail)};
}

}  // namespace qg::metrics
