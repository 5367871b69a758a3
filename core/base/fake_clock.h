// FakeClock: a Clock that moves only when a test calls Advance() (both
// times) or JumpWall() (the wall clock alone, as an NTP step does).
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
  int64_t WallMillis() const override {
    return 1'700'000'000'000 + steady_ns_.load() / 1'000'000 + wall_offset_ms_.load();
  }
  void Advance(std::chrono::nanoseconds d) { steady_ns_ += d.count(); }
  void JumpWall(std::chrono::milliseconds d) { wall_offset_ms_ += d.count(); }

 private:
  std::atomic<int64_t> steady_ns_{1'000'000'000};
  std::atomic<int64_t> wall_offset_ms_{0};
};

}  // namespace qg
