// Backoff: how long to wait before trying again (c10d's Backoff.hpp shape).
// Exponential from `base_ms`, times `multiplier` per attempt, capped at
// `max_ms`, then spread by +-`jitter` (a fraction) so that many peers that
// failed together (workers of a restarted coordinator, jobs of a dead worker)
// do not all come back in the same millisecond. jitter 0 pins the sequence.
//
// Used by the coordinator's job retries and by workers' reconnects.
// Not thread-safe: one Backoff per retry loop.
#pragma once

#include <cstdint>
#include <random>

namespace qg {

struct BackoffOptions {
  int64_t base_ms = 100;
  int64_t max_ms = 2000;
  double multiplier = 2.0;
  double jitter = 0.0;  // 0.2: each delay uniform in [0.8, 1.2] x the exponential one (still <= max_ms)
};

class Backoff {
 public:
  // seed 0: a random seed.
  explicit Backoff(BackoffOptions options, uint64_t seed = 0);

  // The delay before attempt `attempt + 1`, after `attempt` failures (>= 1).
  int64_t DelayMs(int attempt);
  // The next delay of a retry loop (1st, 2nd, ... failure); Reset() after a success.
  int64_t NextMs() { return DelayMs(++failures_); }
  void Reset() { failures_ = 0; }
  const BackoffOptions& options() const { return options_; }

 private:
  BackoffOptions options_;
  std::mt19937_64 rng_;
  int failures_ = 0;
};

}  // namespace qg
