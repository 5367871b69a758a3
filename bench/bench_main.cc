// qg_bench: quantgrid's benchmarks, each printing ours beside the reference,
// measured in the same run (rounds alternate between the two so that machine
// noise hits both), with ratios. Not tests: CI does not run them.
//
//   qg_bench foundation   training throughput and FP32 latency vs python3-torch
//   qg_bench int8         INT8 vs FP32 per engine, quantgrid INT8 vs PyTorch FX INT8
//   qg_bench int8-steps   time of each INT8 step; int8-shapes: why onednn packs per shape
//   qg_bench int8-rgb-input  a colour image quantized channels-last vs NCHW, first conv after it
//   qg_bench int8-concat-shuffle  ShuffleNet's concat + channel shuffle: two kernels vs one pass
//   qg_bench threads      LibTorch FP32 and INT8 on one intra-op thread vs all, batch by batch
//   qg_bench int8-im2col  the first conv as im2col + 1x1 conv vs the 3x3 conv
//   qg_bench roofline     this CPU's INT8/FP32 multiply-add peaks, the model against them
//   qg_bench onnx         LibTorch vs ONNX Runtime, FP32 and INT8 (QDQ export)
//   qg_bench import       imported torchvision models: import time, INT8 vs FP32 beside ONNX Runtime
//   qg_bench ptq-algos    CLE, bias absorption and AdaRound times on compact_cnn
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>

#include "bench/bench_timing.h"
#include "bench/cpu_peaks.h"
#include "bench/four_paths.h"
#include "bench/verbs.h"
#include "core/base/memory_policy.h"
#include "core/base/text_table.h"
#include "core/export/onnx_export.h"
#include "core/export/onnx_file.h"
#include "core/export/ort_runtime.h"
#include "core/data/data_loader.h"
#include "core/data/dataset_registry.h"
#include "core/metrics/output_diff.h"
#include "core/models/fp32_inference.h"
#include "core/quant/convert.h"
#include "core/quant/engine.h"
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

// resnet18_cifar (random weights, calibrated on synthetic 3x32x32 images):
// ONNX Runtime on quantgrid's FP32 and QDQ exports at batch 64, rounds
// alternating, and the QDQ model's top-1 agreement with LibTorch INT8.
void OnnxRuntimeInt8OnResnet18(const Options& o) {
  const models::ModelOptions options{.in_channels = 3, .image_size = 32, .num_classes = 10};
  auto setup = PrepareInt8("resnet18_cifar", options);
  (void)quant::UseEngine("onednn");
  quant::ConvertOptions weights;
  quant::FitWeightsToEngine(weights, "onednn");  // as a strategy would: agreement is measured here
  auto int8 = *quant::Convert(setup.folded, setup.plan, setup.qparams, weights);
  auto ort = *onnx_export::OnnxRuntime::Find();
  const fs::path dir = fs::temp_directory_path() / "qg-bench-resnet18";
  fs::create_directories(dir);
  const std::string fp32_onnx = (dir / "fp32.onnx").string(), int8_onnx = (dir / "int8.onnx").string();
  if (!onnx_export::WriteOnnxFile(*onnx_export::ExportFp32(setup.model), fp32_onnx) ||
      !onnx_export::WriteOnnxFile(*onnx_export::ExportQdq(*int8), int8_onnx)) {
    fmt::print(stderr, "export of resnet18_cifar failed\n");
    std::exit(1);
  }
  // The synthetic test split the model was calibrated beside, as the loader normalizes it.
  auto data = *data::OpenDataset({.name = "synthetic", .synthetic_train = 256, .synthetic_test = 256,
                                  .synthetic_channels = 3, .synthetic_size = 32});
  data::DataLoader loader(data.test, {.batch_size = 256, .prefetch = 0});
  const torch::Tensor images = (**loader.Epoch(0)->Next()).images;
  const auto agreement = metrics::CompareOutputs(int8->Predict(images), *ort.Predict(int8_onnx, images, 64, o.threads));
  std::vector<double> f, q, ratio;
  for (int r = 0; r < o.rounds; ++r) {
    const metrics::LatencyOptions l{.batch_sizes = {64}, .warmup_runs = 10, .runs = std::max(10, o.runs / 4)};
    f.push_back(ort.Latency(fp32_onnx, {3, 32, 32}, l, o.threads)->front().p50_ms);
    q.push_back(ort.Latency(int8_onnx, {3, 32, 32}, l, o.threads)->front().p50_ms);
    ratio.push_back(f.back() / q.back());
  }
  TextTable t({"resnet18_cifar, batch 64", "ORT FP32 p50 (ms)", "ORT INT8 p50 (ms)", "ORT INT8 / ORT FP32", "goal",
               "top-1 agreement with LibTorch INT8 (256 images, random weights)"},
              {true});
  t.AddRow({"median of rounds", fmt::format("{:.3f}", Median(f)), fmt::format("{:.3f}", Median(q)),
            fmt::format("{:.2f}x", Median(ratio)), ">= 2.5x", fmt::format("{:.2f} %", agreement.top1_agreement)});
  fmt::print("\n{}\nRandom weights give nearly tied logits, so INT8 rounding flips top-1 on some images; a trained "
             "model's agreement comes from experiments/seed-000.json (README).\n",
             t.Render(TableFormat::kMarkdown));
}

// The four paths (bench/four_paths.h) at batch 1 and 64, rounds alternating:
// each path's p50, the fastest INT8 against the fastest FP32, and ONNX
// Runtime's INT8 against its own FP32.
void Onnx(const Options& o) {
  FourPaths paths(o);
  fmt::print("ONNX benchmark: compact_cnn (BN folded), 1x28x28, {} threads, {} rounds of {} runs\nLibTorch: {}\n{}\n\n",
             o.threads, o.rounds, o.runs, pipeline::DescribeRuntime(), paths.DescribeOnnxRuntime());
  TextTable table({"path", "b1 p50 (ms)", "b1 best (ms)", "b64 p50 (ms)", "b64 best (ms)"}, {true});
  std::array<FourPathTimes, 2> t{TimeFourPaths(paths, 1, o.rounds, o.verbose),
                                 TimeFourPaths(paths, 64, o.rounds, o.verbose)};
  for (int p = 0; p < kPaths; ++p) {
    table.AddRow({kPathNames[p], fmt::format("{:.4f}", t[0].median[p]), fmt::format("{:.4f}", t[0].best[p]),
                  fmt::format("{:.4f}", t[1].median[p]), fmt::format("{:.4f}", t[1].best[p])});
  }
  fmt::print("{}\n", table.Render(TableFormat::kMarkdown));
  TextTable ratios({"batch", "fastest FP32", "fastest INT8", "INT8 / FP32 speedup (p50)", "goal",
                    "ORT INT8 / ORT FP32 (p50)", "goal"},
                   {true});
  const char* goals[] = {">= 2.0x", ">= 3.0x"};
  for (int i = 0; i < 2; ++i) {
    const auto& m = t[i].median;
    const int f = m[kTorchFp32] <= m[kOrtFp32] ? kTorchFp32 : kOrtFp32;
    const int q = m[kTorchInt8] <= m[kOrtInt8] ? kTorchInt8 : kOrtInt8;
    ratios.AddRow({i == 0 ? "1" : "64", kPathNames[f], kPathNames[q], fmt::format("{:.2f}x", m[f] / m[q]), goals[i],
                   fmt::format("{:.2f}x", m[kOrtFp32] / m[kOrtInt8]), i == 0 ? "" : ">= 2.5x"});
  }
  fmt::print("{}\n", ratios.Render(TableFormat::kMarkdown));
  // The goals assume a CPU whose INT8 peak is several times its FP32 peak
  // (VNNI): say where this one's ceiling is, beside them, per thread and on
  // the threads measured together (a VM's second core may give the VNNI
  // units less than the FMA units).
  if (const CpuPeaks peaks = MeasureCpuPeaks(1); peaks.int8_gmacs > 0 && peaks.fp32_gmacs > 0) {
    fmt::print("This CPU's INT8 / FP32 multiply-add peak, per thread: {:.2f}x ({} {:.0f} G/s vs FMA-{} {:.0f} G/s; "
               "qg_bench roofline). No compute-bound INT8 speedup exceeds it: a goal above it cannot hold here.\n",
               peaks.int8_gmacs / peaks.fp32_gmacs, peaks.int8_kind, peaks.int8_gmacs,
               peaks.fp32_512_gmacs >= peaks.fp32_256_gmacs ? 512 : 256, peaks.fp32_gmacs);
    const CpuPeaks all = o.threads > 1 ? MeasureCpuPeaks(o.threads) : CpuPeaks{};
    if (all.fp32_gmacs > 0) {
      fmt::print("On {} threads at once: {:.2f}x (INT8 {:.0f} G/s, {:.2f}x one thread's; FP32 {:.0f} G/s, {:.2f}x).\n",
                 o.threads, all.int8_gmacs / all.fp32_gmacs, all.int8_gmacs, all.int8_gmacs / peaks.int8_gmacs,
                 all.fp32_gmacs, all.fp32_gmacs / peaks.fp32_gmacs);
    }
  }
  OnnxRuntimeInt8OnResnet18(o);
}

}  // namespace qg::bench

int main(int argc, char** argv) {
  // Ours and the Python references alike keep freed memory (core/base/memory_policy.h).
  qg::KeepFreedMemoryInProcess();
  setenv("GLIBC_TUNABLES", qg::KeepFreedMemoryTunables(), /*overwrite=*/0);
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
  app.add_subcommand("threads", "LibTorch FP32 and INT8 on one intra-op thread vs all, batch 1 to 64")
      ->callback([&] { qg::bench::Threads(o); });
  app.add_subcommand("int8-im2col", "the first conv as im2col + 1x1 conv vs the plain 3x3 conv, INT8 onednn")
      ->callback([&] { qg::bench::Int8Im2col(o); });
  app.add_subcommand("int8-rgb-input", "a colour image quantized channels-last vs NCHW, with the first conv after it")
      ->callback([&] { qg::bench::Int8RgbInput(o); });
  app.add_subcommand("int8-concat-shuffle",
                     "ShuffleNet's concat and channel shuffle: LibTorch's two kernels vs one pass")
      ->callback([&] { qg::bench::Int8ConcatShuffle(o); });
  app.add_subcommand("roofline", "this CPU's INT8 and FP32 multiply-add peaks, and compact_cnn's time against them")
      ->callback([&] { qg::bench::Roofline(o); });
  app.add_subcommand("int8", "INT8 vs FP32 per engine; quantgrid INT8 vs PyTorch FX INT8")->callback([&] {
    qg::bench::Int8(o);
  });
  app.add_subcommand("onnx", "LibTorch vs ONNX Runtime, FP32 and INT8")->callback([&] { qg::bench::Onnx(o); });
  auto* import = app.add_subcommand("import", "imported torchvision models: import time, INT8 vs FP32 beside ONNX "
                                              "Runtime");
  import->add_option("--models", o.models, "fixtures to time (default: all)")->delimiter(',');
  import->callback([&] { qg::bench::Import(o); });
  app.add_subcommand("ptq-algos", "CLE, bias absorption and AdaRound times on compact_cnn")
      ->callback([&] { qg::bench::PtqAlgos(o); });
  CLI11_PARSE(app, argc, argv);
  return 0;
}
