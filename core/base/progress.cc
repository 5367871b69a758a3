#include "core/base/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace qg {

ProgressBar::ProgressBar(std::string label, int64_t total, std::FILE* out,
                         std::chrono::seconds line_interval)
    : label_(std::move(label)),
      total_(std::max<int64_t>(total, 1)),
      out_(out),
      tty_(::isatty(::fileno(out)) == 1),
      line_interval_(line_interval),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

double ProgressBar::ElapsedSeconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressBar::Update(int64_t done, std::string_view extra) {
  const auto now = std::chrono::steady_clock::now();
  const auto since = now - last_draw_;
  if (tty_ ? since < std::chrono::milliseconds(100) : since < line_interval_) return;
  last_draw_ = now;
  Draw(done, extra, false);
}

void ProgressBar::Finish(std::string_view extra) {
  if (finished_) return;
  finished_ = true;
  Draw(total_, extra, true);
}

void ProgressBar::Draw(int64_t done, std::string_view extra, bool final) {
  const double frac = std::clamp(static_cast<double>(done) / static_cast<double>(total_), 0.0, 1.0);
  const double elapsed = ElapsedSeconds();
  const double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
  const std::string timing = final ? fmt::format("{}", HumanDuration(elapsed))
                                   : fmt::format("{} ETA {}", HumanDuration(elapsed), HumanDuration(eta));
  if (tty_) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(std::lround(frac * kWidth));
    fmt::print(out_, "\r\033[2K{} [{}{}] {}/{} {} {}", label_, std::string(filled, '#'),
               std::string(kWidth - filled, '.'), done, total_, timing, extra);
    if (final) fmt::print(out_, "\n");
  } else {
    fmt::print(out_, "{} {:3.0f}% {}/{} {} {}\n", label_, frac * 100, done, total_, timing, extra);
  }
  std::fflush(out_);
}

std::string HumanDuration(double seconds) {
  if (seconds < 1) return fmt::format("{:.0f}ms", seconds * 1000);
  if (seconds < 60) return fmt::format("{:.1f}s", seconds);
  const auto total = static_cast<int64_t>(std::lround(seconds));
  if (total < 3600) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}h{:02}m", total / 3600, (total % 3600) / 60);
}

}  // namespace qg
