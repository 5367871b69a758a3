// LogLimiter: at most `burst` warnings per `window` about what peers do (a
// flood of bad connections must not become a flood of log lines); the rest are
// counted and reported once the window has passed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "core/base/clock.h"

namespace qg::coord {

class LogLimiter {
 public:
  LogLimiter(const Clock& clock, int burst = 20, std::chrono::milliseconds window = std::chrono::seconds(10))
      : clock_(clock), burst_(burst), window_(window) {}

  // True when this warning may be logged; `report_suppressed(n)` is called
  // first when a new window starts after n warnings were dropped.
  bool Allow(const std::function<void(int64_t suppressed)>& report_suppressed) {
    const auto now = clock_.SteadyNow();
    if (now - window_start_ >= window_) {
      if (suppressed_ > 0) report_suppressed(suppressed_);
      window_start_ = now;
      used_ = 0;
      suppressed_ = 0;
    }
    if (used_ < burst_) {
      ++used_;
      return true;
    }
    ++suppressed_;
    return false;
  }

 private:
  const Clock& clock_;
  int burst_;
  std::chrono::milliseconds window_;
  Clock::time_point window_start_{};
  int used_ = 0;
  int64_t suppressed_ = 0;
};

}  // namespace qg::coord
