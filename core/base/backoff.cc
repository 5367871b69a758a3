#include "core/base/backoff.h"

#include <algorithm>

namespace qg {

Backoff::Backoff(BackoffOptions options, uint64_t seed)
    : options_(options), rng_(seed != 0 ? seed : std::random_device{}()) {}

int64_t Backoff::DelayMs(int attempt) {
  double delay = static_cast<double>(std::max<int64_t>(options_.base_ms, 0));
  const double cap = static_cast<double>(std::max(options_.max_ms, options_.base_ms));
  for (int i = 1; i < attempt && delay < cap; ++i) delay *= options_.multiplier;
  delay = std::min(delay, cap);
  if (options_.jitter > 0) {
    // Uniform around the exponential delay, the upper side cut at the cap, so
    // that peers at the cap still spread out instead of all waiting `max_ms`.
    std::uniform_real_distribution<double> spread(delay * (1.0 - options_.jitter),
                                                  std::min(delay * (1.0 + options_.jitter), cap));
    delay = spread(rng_);
  }
  return static_cast<int64_t>(delay);
}

}  // namespace qg
