#include "bench/four_paths.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>

#include "core/export/onnx_export.h"
#include "core/export/onnx_file.h"

namespace qg::bench {
namespace {

onnx_export::OnnxRuntime FindOrExit() {
  auto ort = onnx_export::OnnxRuntime::Find();
  if (!ort) {
    fmt::print(stderr, "{}\n", ort.error().ToString());
    std::exit(1);
  }
  return *ort;
}

}  // namespace

FourPaths::FourPaths(const Options& o) : o_(o), bench_(o), ort_(FindOrExit()) {
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
}

std::array<Timing, kPaths> FourPaths::Round(int64_t batch) {
  const auto in = torch::randn({batch, 1, 28, 28});
  auto ort = [&](const std::string& path) {
    auto l = ort_.Latency(path, {1, 28, 28}, {.batch_sizes = {batch}, .warmup_runs = 20, .runs = o_.runs}, o_.threads);
    if (!l) {
      fmt::print(stderr, "{}\n", l.error().ToString());
      std::exit(1);
    }
    return Timing{l->front().p50_ms, l->front().min_ms};
  };
  std::array<Timing, kPaths> t;
  t[kTorchFp32] = TimeMs([&] { fp32_->Predict(in); }, 20, o_.runs);
  t[kOrtFp32] = ort(fp32_onnx_);
  t[kTorchInt8] = TimeMs([&] { bench_.int8->Predict(in); }, 20, o_.runs);
  t[kOrtInt8] = ort(int8_onnx_);
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
