// ProgressBar: long work shows progress. On a terminal it redraws one line
// (at most 10 times a second); when stderr is a file or pipe it prints a plain
// line every `line_interval` so logs and CI output still move.
//
//   ProgressBar bar("epoch 1/3", num_batches);
//   bar.Update(i + 1, fmt::format("loss {:.3f}", loss));
//   bar.Finish("top-1 90.1 %");
//
// Not thread-safe: one owner updates it.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace qg {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total, std::FILE* out = stderr,
              std::chrono::seconds line_interval = std::chrono::seconds(10));
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // `done` of `total` units are finished; `extra` is shown after the bar.
  void Update(int64_t done, std::string_view extra = {});
  // Draws the final state and ends the line.
  void Finish(std::string_view extra = {});
  double ElapsedSeconds() const;

 private:
  void Draw(int64_t done, std::string_view extra, bool final);

  std::string label_;
  int64_t total_;
  std::FILE* out_;
  bool tty_;
  std::chrono::seconds line_interval_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  bool finished_ = false;
};

// "1m05s", "12.3s", "850ms": for ETAs and durations shown to people.
std::string HumanDuration(double seconds);

}  // namespace qg
