// The median of a few samples: latency rounds, replicates, timed calls.
#pragma once

#include <algorithm>
#include <vector>

namespace qg {

// The median of `samples` (the middle two averaged for an even count; 0 for none).
inline double MedianOf(std::vector<double> samples) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  return n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
}

}  // namespace qg
