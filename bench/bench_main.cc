// qg_bench: quantgrid's benchmarks, each printing ours beside the reference,
// measured in the same run (rounds alternate between the two so that machine
// noise hits both), with ratios. Not tests: CI does not run them.
//
//   qg_bench foundation   training throughput and FP32 latency vs python3-torch
//   qg_bench int8         INT8 vs FP32 per engine, quantgrid INT8 vs PyTorch FX INT8
//   qg_bench int8-steps   time of each INT8 step; int8-shapes: why onednn packs per shape
//   qg_bench int8-im2col  the first conv as im2col + 1x1 conv vs the 3x3 conv
//   qg_bench roofline     this CPU's INT8/FP32 multiply-add peaks, the model against them
//   qg_bench onnx         LibTorch vs ONNX Runtime, FP32 and INT8 (QDQ export)
//   qg_bench import       imported torchvision models: import time, INT8 vs FP32 beside ONNX Runtime
//   qg_bench ptq-algos    CLE, bias absorption and AdaRound times on compact_cnn
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>

#include "bench/bench_timing.h"
#include "bench/verbs.h"
#include "core/base/text_table.h"
#include "core/export/onnx_export.h"
#include "core/export/onnx_file.h"
#include "core/export/ort_runtime.h"
#include "core/models/fp32_inference.h"
#include "core/pipeline/torch_runtime.h"

namespace qg::bench {

namespace fs = std::filesystem;

void Foundation(const Options& o) {
  pipeline::ConfigureThreads(o.threads);
  fmt::print("foundation benchmark: compact_cnn, 1x28x28, {} threads, {} rounds; {}\n\n", o.threads, o.rounds,
             pipeline::DescribeRuntime());
  // Training: one SGD step (forward, loss, backward, update) on a fixed batch of 128.
  auto model = CompactCnn();
  model->train();
  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9).weight_decay(5e-4));
  const auto x = torch::randn({128, 1, 28, 28});
  const auto y = torch::randint(0, 10, {128});
  auto step = [&] {
    opt.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(model->forward(x), y);
    loss.backward();
    opt.step();
  };
  std::vector<double> ours, ref, ref_cl;
  for (int r = 0; r < o.rounds; ++r) {
    ours.push_back(128 * 1000.0 / MedianMs(step, 5, 30));
    ref.push_back(RunReference(o, "train --batch 128 --warmup 5 --runs 30")["images_per_second"]);
    ref_cl.push_back(RunReference(o, "train --batch 128 --warmup 5 --runs 30 --channels-last")["images_per_second"]);
  }
  TextTable train({"Training (batch 128)", "images/s (median of rounds)", "quantgrid / this"}, {true});
  train.AddRow({"quantgrid", fmt::format("{:.0f}", Median(ours)), "1.00"});
  train.AddRow({"python3-torch (default, NCHW)", fmt::format("{:.0f}", Median(ref)),
                fmt::format("{:.2f}x", Median(ours) / Median(ref))});
  train.AddRow({"python3-torch (channels_last)", fmt::format("{:.0f}", Median(ref_cl)),
                fmt::format("{:.2f}x", Median(ours) / Median(ref_cl))});
  fmt::print("{}\n", train.Render(TableFormat::kMarkdown));

  // FP32 inference: our fastest path vs the frozen + optimized TorchScript model in Python.
  model->eval();
  auto compiled = *models::CompiledFp32Model::Compile(model);
  const ScopedBlasThreads one_pool(1);
  TextTable lat({"FP32 inference", "batch", "quantgrid (ms)", "python3-torch frozen (ms)", "time ratio"}, {true});
  for (int64_t batch : {1, 64}) {
    const auto in = torch::randn({batch, 1, 28, 28});
    std::vector<double> a, b;
    for (int r = 0; r < o.rounds; ++r) {
      a.push_back(MedianMs([&] { compiled->Predict(in); }, 20, o.runs));
      b.push_back(RunReference(o, fmt::format("fp32 --batch {} --runs {}", batch, o.runs))["median_ms"]);
    }
    lat.AddRow({"median of rounds", fmt::format("{}", batch), fmt::format("{:.3f}", Median(a)),
                fmt::format("{:.3f}", Median(b)), fmt::format("{:.2f}x", Median(a) / Median(b))});
  }
  fmt::print("{}\ntime ratio = quantgrid / python (goal <= 1.0x); training goal >= 1.1x\n",
             lat.Render(TableFormat::kMarkdown));
}

// LibTorch (our fastest FP32 path, our INT8 modules) vs ONNX Runtime running
// our exports of the same models, same threads; rounds alternate.
void Onnx(const Options& o) {
  OnednnCompactCnn bench(o);
  auto ort = onnx_export::OnnxRuntime::Find();
  if (!ort) {
    fmt::print(stderr, "{}\n", ort.error().ToString());
    std::exit(1);
  }
  fmt::print("ONNX benchmark: compact_cnn (BN folded), 1x28x28, {} threads, {} rounds\nLibTorch: {}\n{}\n\n",
             o.threads, o.rounds, pipeline::DescribeRuntime(), ort->Describe());
  const auto& model = bench.setup.model;
  auto& int8 = bench.int8;
  auto fp32 = *models::CompiledFp32Model::Compile(model);
  const fs::path dir = fs::temp_directory_path() / "qg-onnx-bench";
  fs::create_directories(dir);
  const std::string fp32_onnx = (dir / "fp32.onnx").string(), int8_onnx = (dir / "int8.onnx").string();
  if (!onnx_export::WriteOnnxFile(*onnx_export::ExportFp32(model), fp32_onnx) ||
      !onnx_export::WriteOnnxFile(*onnx_export::ExportQdq(*int8), int8_onnx)) {
    fmt::print(stderr, "export failed\n");
    std::exit(1);
  }
  TextTable table({"precision", "batch", "LibTorch (ms)", "ONNX Runtime (ms)", "LibTorch speedup"}, {true, true});
  for (const auto& [precision, path] : {std::pair{"fp32", fp32_onnx}, std::pair{"int8", int8_onnx}}) {
    models::InferenceModel& ours =
        std::string(precision) == "fp32" ? static_cast<models::InferenceModel&>(*fp32) : *int8;
    for (int64_t batch : {1, 64}) {
      const auto in = torch::randn({batch, 1, 28, 28});
      std::vector<double> a, b;
      for (int r = 0; r < o.rounds; ++r) {
        a.push_back(MedianMs([&] { ours.Predict(in); }, 20, o.runs));
        auto l = ort->Latency(path, {1, 28, 28}, {.batch_sizes = {batch}, .warmup_runs = 20, .runs = o.runs}, o.threads);
        if (!l) {
          fmt::print(stderr, "{}\n", l.error().ToString());
          std::exit(1);
        }
        b.push_back(l->front().p50_ms);
      }
      table.AddRow({precision, fmt::format("{}", batch), fmt::format("{:.4f}", Median(a)),
                    fmt::format("{:.4f}", Median(b)), fmt::format("{:.2f}x", Median(b) / Median(a))});
    }
  }
  fmt::print("{}\n(speedup > 1: LibTorch is faster)\n", table.Render(TableFormat::kMarkdown));
}

}  // namespace qg::bench

int main(int argc, char** argv) {
  CLI::App app{"quantgrid benchmarks: ours beside the reference, ratios from one run"};
  app.require_subcommand(1);
  qg::bench::Options o;
  o.reference = (std::filesystem::path(QG_BENCH_DIR) / "reference" / "torch_reference.py").string();
  app.add_option("--threads", o.threads)->capture_default_str();
  app.add_option("--rounds", o.rounds, "alternating rounds; medians are reported")->capture_default_str();
  app.add_option("--runs", o.runs, "timed runs per latency measurement")->capture_default_str();
  app.add_flag("--verbose", o.verbose, "print every round");
  app.add_option("--python", o.python, "an interpreter with python3-torch")->capture_default_str();
  app.add_subcommand("foundation", "training throughput and FP32 latency vs python3-torch")->callback([&] {
    qg::bench::Foundation(o);
  });
  app.add_subcommand("int8-steps", "time of each step of the INT8 model (onednn), batch 1 and 64")
      ->callback([&] { qg::bench::Int8Steps(o); });
  app.add_subcommand("int8-shapes", "onednn at batch 64 after batch 1: per-shape packs vs one shared pack")
      ->callback([&] { qg::bench::Int8Shapes(o); });
  app.add_subcommand("int8-im2col", "the first conv as im2col + 1x1 conv vs the plain 3x3 conv, INT8 onednn")
      ->callback([&] { qg::bench::Int8Im2col(o); });
  app.add_subcommand("roofline", "this CPU's INT8 and FP32 multiply-add peaks, and compact_cnn's time against them")
      ->callback([&] { qg::bench::Roofline(o); });
  app.add_subcommand("int8", "INT8 vs FP32 per engine; quantgrid INT8 vs PyTorch FX INT8")->callback([&] {
    qg::bench::Int8(o);
  });
  app.add_subcommand("onnx", "LibTorch vs ONNX Runtime, FP32 and INT8")->callback([&] { qg::bench::Onnx(o); });
  app.add_subcommand("import", "imported torchvision models: import time, INT8 vs FP32 beside ONNX Runtime")
      ->callback([&] { qg::bench::Import(o); });
  app.add_subcommand("ptq-algos", "CLE, bias absorption and AdaRound times on compact_cnn")
      ->callback([&] { qg::bench::PtqAlgos(o); });
  CLI11_PARSE(app, argc, argv);
  return 0;
}
