// Bootstrap confidence intervals for the median of a few replicates (the
// round medians of a latency measurement): resample with replacement, take
// each resample's median, read the interval off the percentiles. No
// distributional assumption, which suits timings on a machine whose speed
// drifts. Deterministic: a fixed seed gives the same interval every time.
#pragma once

#include <cstdint>
#include <vector>

#include "core/base/median.h"

namespace qg::metrics {

struct Interval {
  double low = 0, high = 0;
  double HalfWidth() const { return (high - low) / 2; }
};

using qg::MedianOf;  // core/base/median.h

// Percentile bootstrap interval of the median at `level` (0.95: 95 %).
// One sample gives [x, x]; an empty vector gives [0, 0].
Interval BootstrapMedianInterval(const std::vector<double>& samples, double level = 0.95, int resamples = 2000,
                                 uint64_t seed = 20261202);

}  // namespace qg::metrics
