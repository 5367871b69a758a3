#include "bench/four_paths.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "core/export/onnx_export.h"
#include "core/export/onnx_file.h"
#include "core/export/ort_timer.h"

namespace qg::bench {
namespace {

template <typename T>
T ValueOrExit(Result<T> result) {
  if (!result) {
    fmt::print(stderr, "{}\n", result.error().ToString());
    std::exit(1);
  }
  return std::move(*result);
}

}  // namespace

FourPaths::FourPaths(const Options& o) : o_(o), bench_(o), ort_(ValueOrExit(onnx_export::OnnxRuntime::Find())) {
  fp32_ = *models::CompiledFp32Model::Compile(bench_.setup.model);
  const auto dir = std::filesystem::temp_directory_path() / "qg-bench-four-paths";
  std::filesystem::create_directories(dir);
  fp32_onnx_ = (dir / "fp32.onnx").string();
  int8_onnx_ = (dir / "int8.onnx").string();
  if (!onnx_export::WriteOnnxFile(*onnx_export::ExportFp32(bench_.setup.model), fp32_onnx_) ||
      !onnx_export::WriteOnnxFile(*onnx_export::ExportQdq(*bench_.int8), int8_onnx_)) {
    fmt::print(stderr, "export of compact_cnn failed\n");
    std::exit(1);
  }
  auto open = [&](const std::string& path) {
    return ValueOrExit(onnx_export::OrtTimer::Open(ort_, path, {1, 28, 28}, kLargestBatch, o.threads));
  };
  ort_fp32_ = open(fp32_onnx_);
  ort_int8_ = open(int8_onnx_);
}

FourPaths::~FourPaths() = default;

// ONNX Runtime runs in kept-open sessions (OrtTimer), warmed up like LibTorch.
// Each path starts kRuntimeSettle after the last one ended.
std::array<Timing, kPaths> FourPaths::Round(int64_t batch) {
  constexpr int kWarmup = 20;
  const auto in = torch::randn({batch, 1, 28, 28});
  auto ort = [&](onnx_export::OrtTimer& timer) {
    std::this_thread::sleep_for(onnx_export::kRuntimeSettle);
    const auto l = ValueOrExit(timer.Time(batch, kWarmup, o_.runs));
    return Timing{l.p50_ms, l.min_ms};
  };
  auto torch_side = [&](auto&& run) {
    std::this_thread::sleep_for(onnx_export::kRuntimeSettle);
    return TimeMs(run, kWarmup, o_.runs);
  };
  std::array<Timing, kPaths> t;
  t[kTorchFp32] = torch_side([&] { fp32_->Predict(in); });
  t[kOrtFp32] = ort(*ort_fp32_);
  t[kTorchInt8] = torch_side([&] { bench_.int8->Predict(in); });
  t[kOrtInt8] = ort(*ort_int8_);
  return t;
}

FourPathTimes TimeFourPaths(FourPaths& paths, int64_t batch, int rounds, bool verbose) {
  FourPathTimes out;
  for (int r = 0; r < rounds; ++r) {
    const auto t = paths.Round(batch);
    out.pairs[0].Add(t[kTorchFp32], t[kOrtFp32]);
    out.pairs[1].Add(t[kTorchInt8], t[kOrtInt8]);
    if (verbose) {
      fmt::print("  batch {} round {}: {:.4f} / {:.4f} / {:.4f} / {:.4f} ms\n", batch, r, t[0].median, t[1].median,
                 t[2].median, t[3].median);
    }
  }
  for (int p = 0; p < kPaths; ++p) {
    const auto& pair = out.pairs[p / 2];
    const auto& side = p % 2 == 0 ? pair.a : pair.b;
    out.median[p] = AlternatingRounds::MedianOf(side);
    out.best[p] = AlternatingRounds::BestOf(side);
  }
  return out;
}

}  // namespace qg::bench
