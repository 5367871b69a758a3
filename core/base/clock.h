// Clock: where quantgrid reads time (ray util/clock.h). Lease expiry, heartbeat
// deadlines and retry backoff take a Clock& so tests drive time with FakeClock
// and never sleep. Implementations are safe for concurrent use.
#pragma once

#include <chrono>
#include <cstdint>

namespace qg {

class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  // Monotonic time for durations and deadlines.
  virtual std::chrono::steady_clock::time_point SteadyNow() const = 0;
  // Wall-clock time for timestamps stored or shown to users, in Unix milliseconds.
  virtual int64_t WallMillis() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point SteadyNow() const override {
    return std::chrono::steady_clock::now();
  }
  int64_t WallMillis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  // A process-wide instance for code that has no clock injected.
  static SystemClock& Instance() {
    static SystemClock clock;
    return clock;
  }
};

}  // namespace qg
