// When a failed or lost job runs again: exponential backoff from `base_ms`,
// doubling per attempt, capped at `max_ms`, spread by +-`jitter` (so the jobs
// of a dead worker do not all come back at once; core/base/backoff.h), until
// the job has used its attempts. Bad input (InvalidArgument, NotFound) fails
// the same way every time: no retry.
#pragma once

#include <cstdint>

#include "core/base/backoff.h"
#include "core/base/error.h"

namespace qg::coord {

struct RetryPolicy {
  int64_t base_ms = 1000;
  int64_t max_ms = 60000;
  double jitter = 0.0;  // the coordinator's default options set 0.2; tests pin 0

  BackoffOptions Backoff() const { return {.base_ms = base_ms, .max_ms = max_ms, .multiplier = 2, .jitter = jitter}; }
  static bool Retryable(ErrorCode code) {
    return code != ErrorCode::kInvalidArgument && code != ErrorCode::kNotFound;
  }
};

}  // namespace qg::coord
