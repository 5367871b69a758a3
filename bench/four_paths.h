// The four ways quantgrid can run compact_cnn on a CPU: FP32 and INT8, each in
// LibTorch and in ONNX Runtime (on quantgrid's FP32 and QDQ exports of the
// same model). Speedups are quoted against the fastest FP32 of the two, not
// against LibTorch's: that is what a reader who deploys with either gets.
#pragma once

#include <array>
#include <string>

#include "bench/bench_setup.h"
#include "bench/bench_timing.h"
#include "core/export/ort_runtime.h"
#include "core/export/ort_timer.h"
#include "core/models/fp32_inference.h"

namespace qg::bench {

enum Path { kTorchFp32, kOrtFp32, kTorchInt8, kOrtInt8, kPaths };
inline constexpr std::array<const char*, kPaths> kPathNames{"LibTorch FP32 (frozen, oneDNN)", "ONNX Runtime FP32",
                                                            "LibTorch INT8 (quantgrid, onednn)",
                                                            "ONNX Runtime INT8 (quantgrid QDQ export)"};

class FourPaths {
 public:
  // Exports the bench's model to a temporary folder; exits with a message
  // when ONNX Runtime is missing or an export fails.
  explicit FourPaths(const Options& o);
  ~FourPaths();
  static constexpr int64_t kLargestBatch = 64;

  // One round: the four paths timed one after the other at `batch` (at most
  // kLargestBatch).
  std::array<Timing, kPaths> Round(int64_t batch);
  std::string DescribeOnnxRuntime() const { return ort_.Describe(); }
  const std::string& OnnxPath(Path p) const { return p == kOrtFp32 ? fp32_onnx_ : int8_onnx_; }
  OnednnCompactCnn& bench() { return bench_; }

 private:
  Options o_;
  OnednnCompactCnn bench_;
  std::unique_ptr<models::CompiledFp32Model> fp32_;
  onnx_export::OnnxRuntime ort_;
  std::string fp32_onnx_, int8_onnx_;
  std::unique_ptr<onnx_export::OrtTimer> ort_fp32_, ort_int8_;
};

// Rounds of the four paths: per path, the median of round medians and the
// fastest call of all rounds.
struct FourPathTimes {
  std::array<AlternatingRounds, 2> pairs;  // {torch fp32, ort fp32}, {torch int8, ort int8}
  std::array<double, kPaths> median{}, best{};
};
FourPathTimes TimeFourPaths(FourPaths& paths, int64_t batch, int rounds, bool verbose);

}  // namespace qg::bench
