// FakeClock: a Clock that moves only when a test calls Advance().
#pragma once

#include <atomic>
#include <chrono>

#include "core/base/clock.h"

namespace qg {

class FakeClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point SteadyNow() const override {
    return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(steady_ns_.load()));
  }
  int64_t WallMillis() const override { return 1'700'000'000'000 + steady_ns_.load() / 1'000'000; }
  void Advance(std::chrono::nanoseconds d) { steady_ns_ += d.count(); }

 private:
  std::atomic<int64_t> steady_ns_{1'000'000'000};
};

}  // namespace qg
