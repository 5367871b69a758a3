// When a failed or lost job runs again: exponential backoff from `base_ms`,
// capped at `max_ms`, until the job has used its attempts. Bad input
// (InvalidArgument, NotFound) fails the same way every time: no retry.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/base/error.h"

namespace qg::coord {

struct RetryPolicy {
  int64_t base_ms = 1000;
  int64_t max_ms = 60000;

  // Delay before attempt `attempts + 1`, after `attempts` failed ones (>= 1).
  int64_t BackoffMs(int attempts) const {
    int64_t delay = base_ms;
    for (int i = 1; i < attempts && delay < max_ms; ++i) delay *= 2;
    return std::min(delay, max_ms);
  }
  static bool Retryable(ErrorCode code) {
    return code != ErrorCode::kInvalidArgument && code != ErrorCode::kNotFound;
  }
};

}  // namespace qg::coord
