// qg_bench: quantgrid's benchmarks, each printing ours beside the reference,
// measured in the same run (rounds alternate between the two so that machine
// noise hits both), with ratios. Not tests: CI does not run them.
//
//   qg_bench foundation   training throughput and FP32 latency vs python3-torch
//   qg_bench int8         INT8 vs FP32 per engine, quantgrid INT8 vs PyTorch FX INT8
//   qg_bench int8-steps   time of each INT8 step; int8-shapes: why onednn packs per shape
//   qg_bench onnx         LibTorch vs ONNX Runtime, FP32 and INT8 (QDQ export)
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/base/text_table.h"
#include "core/data/dataset_registry.h"
#include "core/export/onnx_export.h"
#include "core/export/onnx_file.h"
#include "core/export/ort_runtime.h"
#include "core/models/fp32_inference.h"
#include "core/models/model_registry.h"
#include "core/pipeline/torch_runtime.h"
#include "core/quant/bn_fold.h"
#include "core/quant/calibration.h"
#include "core/quant/convert.h"
#include "core/quant/engine.h"
#include "core/quant/internal/qstep.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

struct Options {
  int threads = 2;
  int rounds = 7;  // this VM's timings wander by 10 %: 3 rounds let a ratio swing by as much
  int runs = 100;
  std::string python = "/usr/bin/python3";
  std::string reference = (fs::path(QG_BENCH_DIR) / "reference" / "torch_reference.py").string();
};

// Median milliseconds of `runs` calls after `warmup` calls.
template <typename F>
double MedianMs(F&& f, int warmup, int runs) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
  return t[t.size() / 2];
}

nlohmann::json RunReference(const Options& o, const std::string& args) {
  const std::string cmd = fmt::format("{} {} {} --threads {} 2>/dev/null", o.python, o.reference, args, o.threads);
  std::unique_ptr<FILE, decltype(&pclose)> pipe(popen(cmd.c_str(), "r"), &pclose);
  std::string out;
  char buf[4096];
  while (pipe && fgets(buf, sizeof buf, pipe.get())) out += buf;
  auto j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded()) {
    fmt::print(stderr, "reference failed: {}\n", cmd);
    std::exit(1);
  }
  return j;
}

qg::models::GraphModule CompactCnn() {
  return *qg::models::CreateModel("compact_cnn", {.in_channels = 1, .image_size = 28, .num_classes = 10}, 0);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void Foundation(const Options& o) {
  qg::pipeline::ConfigureThreads(o.threads);
  fmt::print("foundation benchmark: compact_cnn, 1x28x28, {} threads, {} rounds; {}\n\n", o.threads, o.rounds,
             qg::pipeline::DescribeRuntime());
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
  qg::TextTable train({"Training (batch 128)", "images/s (median of rounds)", "quantgrid / this"}, {true});
  train.AddRow({"quantgrid", fmt::format("{:.0f}", Median(ours)), "1.00"});
  train.AddRow({"python3-torch (default, NCHW)", fmt::format("{:.0f}", Median(ref)),
                fmt::format("{:.2f}x", Median(ours) / Median(ref))});
  train.AddRow({"python3-torch (channels_last)", fmt::format("{:.0f}", Median(ref_cl)),
                fmt::format("{:.2f}x", Median(ours) / Median(ref_cl))});
  fmt::print("{}\n", train.Render(qg::TableFormat::kMarkdown));

  // FP32 inference: our fastest path vs the frozen + optimized TorchScript model in Python.
  model->eval();
  auto compiled = *qg::models::CompiledFp32Model::Compile(model);
  qg::TextTable lat({"FP32 inference", "batch", "quantgrid (ms)", "python3-torch frozen (ms)", "time ratio"}, {true});
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
             lat.Render(qg::TableFormat::kMarkdown));
}

// compact_cnn with live BN statistics, folded, calibrated on synthetic data:
// what the INT8 benchmarks convert.
struct Int8Setup {
  qg::models::GraphModule model{nullptr};
  qg::models::GraphModule folded{nullptr};
  qg::quant::QuantPlan plan;
  qg::quant::ActivationQParams qparams;
};

Int8Setup PrepareInt8() {
  auto model = CompactCnn();
  auto data = *qg::data::OpenDataset({.name = "synthetic", .synthetic_train = 256, .synthetic_test = 16});
  {
    torch::NoGradGuard g;
    model->train();
    model->forward(data.train->Fetch({0, 1, 2, 3, 4, 5, 6, 7})->images.to(torch::kFloat) / 255.0);
  }
  model->eval();
  auto folded = *qg::quant::FoldBatchNorm(model);
  auto plan = *qg::quant::PlanQuantization(folded->graph());
  qg::data::DataLoader calib(data.train, {.batch_size = 64});
  auto qparams = *qg::quant::Calibrate(folded, plan, calib, {.kind = "minmax"}, {});
  return {model, folded, std::move(plan), std::move(qparams)};
}

// Where an INT8 forward pass spends its time: each step of the oneDNN
// compact_cnn model, mean microseconds over 300 runs at batch 1 and 64.
void Int8Steps(const Options& o) {
  qg::pipeline::ConfigureThreads(o.threads);
  auto [model, folded, plan, qparams] = PrepareInt8();
  (void)qg::quant::UseEngine("onednn");
  auto int8 = *qg::quant::Convert(folded, plan, qparams, {});
  for (int64_t batch : {1, 64}) {
    const auto in = torch::randn({batch, 1, 28, 28});
    torch::InferenceMode guard;
    std::vector<double> total(int8->steps().size(), 0);
    const int runs = 300;
    for (int r = 0; r < runs + 20; ++r) {
      std::vector<torch::Tensor> values(int8->num_values());
      values[0] = in;
      for (size_t i = 0; i < int8->steps().size(); ++i) {
        auto t0 = std::chrono::steady_clock::now();
        qg::quant::internal::RunStep(int8->steps()[i], values);
        auto t1 = std::chrono::steady_clock::now();
        if (r >= 20) total[i] += std::chrono::duration<double, std::micro>(t1 - t0).count();
      }
    }
    for (size_t i = 0; i < total.size(); ++i) {
      const auto& s = int8->steps()[i];
      fmt::print("b{:<3} {:>2} {:<14} {:<15} {:8.2f} us\n", batch, i, s.name,
                 qg::quant::internal::StepKindName(s.kind), total[i] / runs);
    }
  }
}

// Why onednn steps keep packs per input shape (internal::PacksByShape): the
// same model at batch 64 after batch 1 has run, with per-shape packs and with
// one shared pack per layer (LibTorch's own behaviour), rounds alternating.
void Int8Shapes(const Options& o) {
  qg::pipeline::ConfigureThreads(o.threads);
  auto [model, folded, plan, qparams] = PrepareInt8();
  (void)qg::quant::UseEngine("onednn");
  auto int8 = *qg::quant::Convert(folded, plan, qparams, {});
  using qg::quant::internal::Step;
  auto variant = [&](bool per_shape) {
    std::vector<Step> steps = int8->steps();
    for (auto& s : steps) {
      qg::quant::internal::PackWeights(s);  // fresh packs that have seen no shape yet
      if (!per_shape) s.packs_by_shape.reset();
    }
    return steps;
  };
  const std::vector<Step> per_shape = variant(true), shared = variant(false);
  auto forward = [&](const std::vector<Step>& steps, const torch::Tensor& in) {
    torch::InferenceMode guard;
    std::vector<torch::Tensor> values(int8->num_values());
    values[0] = in;
    for (const auto& s : steps) qg::quant::internal::RunStep(s, values);
  };
  const auto b1 = torch::randn({1, 1, 28, 28}), b64 = torch::randn({64, 1, 28, 28});
  for (const auto* steps : {&per_shape, &shared}) MedianMs([&] { forward(*steps, b1); }, 0, 20);
  std::vector<double> a, b;
  for (int r = 0; r < o.rounds; ++r) {
    a.push_back(MedianMs([&] { forward(per_shape, b64); }, 20, o.runs));
    b.push_back(MedianMs([&] { forward(shared, b64); }, 20, o.runs));
  }
  qg::TextTable t({"onednn, batch 64 after batch 1", "per-shape packs (ms)", "shared packs (ms)", "speedup"}, {true});
  t.AddRow({"median of rounds", fmt::format("{:.3f}", Median(a)), fmt::format("{:.3f}", Median(b)),
            fmt::format("{:.2f}x", Median(b) / Median(a))});
  fmt::print("{}\n", t.Render(qg::TableFormat::kMarkdown));
}

void Int8(const Options& o) {
  qg::pipeline::ConfigureThreads(o.threads);
  fmt::print("INT8 benchmark: compact_cnn (BN folded), 1x28x28, {} threads, {} rounds; {}\n\n", o.threads, o.rounds,
             qg::pipeline::DescribeRuntime());
  auto [model, folded, plan, qparams] = PrepareInt8();
  auto fp32 = *qg::models::CompiledFp32Model::Compile(model);

  qg::TextTable speed({"engine", "batch", "fp32 fastest (ms)", "int8 (ms)", "int8 speedup"}, {true});
  std::map<int64_t, double> ours_onednn;
  for (const auto& engine : qg::quant::SupportedEngines()) {
    (void)qg::quant::UseEngine(engine);
    auto int8 = *qg::quant::Convert(folded, plan, qparams, {});
    for (int64_t batch : {1, 64}) {
      const auto in = torch::randn({batch, 1, 28, 28});
      std::vector<double> f, q;
      for (int r = 0; r < o.rounds; ++r) {
        f.push_back(MedianMs([&] { fp32->Predict(in); }, 20, o.runs));
        q.push_back(MedianMs([&] { int8->Predict(in); }, 20, o.runs));
      }
      if (engine == "onednn") ours_onednn[batch] = Median(q);
      speed.AddRow({engine, fmt::format("{}", batch), fmt::format("{:.3f}", Median(f)), fmt::format("{:.3f}", Median(q)),
                    fmt::format("{:.2f}x", Median(f) / Median(q))});
    }
  }
  fmt::print("{}\ngoal: int8 >= 3.4x faster than the fastest FP32 path at batch 64\n\n",
             speed.Render(qg::TableFormat::kMarkdown));

  (void)qg::quant::UseEngine("onednn");
  auto int8 = *qg::quant::Convert(folded, plan, qparams, {});
  qg::TextTable fx({"onednn", "batch", "quantgrid int8 (ms)", "PyTorch FX int8 (ms)", "quantgrid speedup"}, {true});
  for (int64_t batch : {1, 64}) {
    const auto in = torch::randn({batch, 1, 28, 28});
    std::vector<double> a, b;
    for (int r = 0; r < o.rounds; ++r) {
      a.push_back(MedianMs([&] { int8->Predict(in); }, 20, o.runs));
      b.push_back(RunReference(o, fmt::format("int8 --batch {} --runs {}", batch, o.runs))["median_ms"]);
    }
    fx.AddRow({"median of rounds", fmt::format("{}", batch), fmt::format("{:.4f}", Median(a)),
               fmt::format("{:.4f}", Median(b)), fmt::format("{:.2f}x", Median(b) / Median(a))});
  }
  fmt::print("{}\ngoals: not slower at batch 64, >= 1.3x faster at batch 1\n", fx.Render(qg::TableFormat::kMarkdown));
}

// LibTorch (our fastest FP32 path, our INT8 modules) vs ONNX Runtime running
// our exports of the same models, same threads; rounds alternate.
void Onnx(const Options& o) {
  qg::pipeline::ConfigureThreads(o.threads);
  auto ort = qg::onnx_export::OnnxRuntime::Find();
  if (!ort) {
    fmt::print(stderr, "{}\n", ort.error().ToString());
    std::exit(1);
  }
  fmt::print("ONNX benchmark: compact_cnn (BN folded), 1x28x28, {} threads, {} rounds\nLibTorch: {}\n{}\n\n",
             o.threads, o.rounds, qg::pipeline::DescribeRuntime(), ort->Describe());
  auto [model, folded, plan, qparams] = PrepareInt8();
  (void)qg::quant::UseEngine("onednn");
  auto int8 = *qg::quant::Convert(folded, plan, qparams, {});
  auto fp32 = *qg::models::CompiledFp32Model::Compile(model);
  const fs::path dir = fs::temp_directory_path() / "qg-onnx-bench";
  fs::create_directories(dir);
  const std::string fp32_onnx = (dir / "fp32.onnx").string(), int8_onnx = (dir / "int8.onnx").string();
  if (!qg::onnx_export::WriteOnnxFile(*qg::onnx_export::ExportFp32(model), fp32_onnx) ||
      !qg::onnx_export::WriteOnnxFile(*qg::onnx_export::ExportQdq(*int8), int8_onnx)) {
    fmt::print(stderr, "export failed\n");
    std::exit(1);
  }
  qg::TextTable table({"precision", "batch", "LibTorch (ms)", "ONNX Runtime (ms)", "LibTorch speedup"}, {true, true});
  for (const auto& [precision, path] : {std::pair{"fp32", fp32_onnx}, std::pair{"int8", int8_onnx}}) {
    qg::models::InferenceModel& ours = std::string(precision) == "fp32" ? static_cast<qg::models::InferenceModel&>(*fp32)
                                                                         : *int8;
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
  fmt::print("{}\n(speedup > 1: LibTorch is faster)\n", table.Render(qg::TableFormat::kMarkdown));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"quantgrid benchmarks: ours beside the reference, ratios from one run"};
  app.require_subcommand(1);
  Options o;
  app.add_option("--threads", o.threads)->capture_default_str();
  app.add_option("--rounds", o.rounds, "alternating rounds; medians are reported")->capture_default_str();
  app.add_option("--runs", o.runs, "timed runs per latency measurement")->capture_default_str();
  app.add_option("--python", o.python, "an interpreter with python3-torch")->capture_default_str();
  app.add_subcommand("foundation", "training throughput and FP32 latency vs python3-torch")->callback([&] {
    Foundation(o);
  });
  app.add_subcommand("int8-steps", "time of each step of the INT8 model (onednn), batch 1 and 64")
      ->callback([&] { Int8Steps(o); });
  app.add_subcommand("int8-shapes", "onednn at batch 64 after batch 1: per-shape packs vs one shared pack")
      ->callback([&] { Int8Shapes(o); });
  app.add_subcommand("int8", "INT8 vs FP32 per engine; quantgrid INT8 vs PyTorch FX INT8")->callback([&] { Int8(o); });
  app.add_subcommand("onnx", "LibTorch vs ONNX Runtime, FP32 and INT8")->callback([&] { Onnx(o); });
  CLI11_PARSE(app, argc, argv);
  return 0;
}
