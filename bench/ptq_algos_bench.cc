// qg_bench ptq-algos: how long CLE, bias absorption and AdaRound take on
// compact_cnn, against issue 19's goals (CLE and absorption under 1 s, the
// AdaRound fast default under 2 minutes on 2 cores), beside naive PTQ and
// BN-folded PTQ run the same way, so a reader sees what each adds.
#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <functional>

#include "bench/bench_timing.h"
#include "bench/verbs.h"
#include "core/base/text_table.h"
#include "core/data/dataset_registry.h"
#include "core/models/graph_module.h"
#include "core/pipeline/torch_runtime.h"
#include "core/quant/bn_fold.h"
#include "core/quant/cle.h"
#include "core/quant/engine.h"
#include "core/quant/strategy.h"

namespace qg::bench {
namespace {

double SecondsOf(const std::function<void()>& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Fashion-MNIST when Debian's dataset-fashion-mnist is installed, else a
// synthetic stand-in of the same shape (the times hardly depend on which).
std::pair<data::DatasetSplits, std::string> BenchData() {
  if (auto fashion = data::OpenDataset({.name = "fashion-mnist"})) return {std::move(*fashion), "fashion-mnist"};
  return {*data::OpenDataset({.name = "synthetic", .synthetic_train = 2048, .synthetic_test = 256}),
          "synthetic 1x28x28 (fashion-mnist not installed)"};
}

}  // namespace

void PtqAlgos(const Options& o) {
  const int threads = pipeline::ConfigureThreads(o.threads);
  (void)quant::UseEngine(quant::DefaultEngine());
  auto [data, data_name] = BenchData();
  // compact_cnn with BN statistics from a few training-mode passes: the
  // timings do not depend on the weights being trained.
  auto model = CompactCnn();
  {
    torch::NoGradGuard g;
    model->train();
    for (int64_t b = 0; b < 4; ++b) {
      std::vector<int64_t> idx;
      for (int64_t i = 0; i < 64; ++i) idx.push_back(b * 64 + i);
      model->forward(data.train->Fetch(idx)->images.to(torch::kFloat) / 255.0);
    }
  }
  model->eval();
  fmt::print("PTQ algorithms on compact_cnn ({}), {} threads, engine {}; CLE timed as the median of {} rounds\n\n",
             data_name, threads, quant::DefaultEngine(), o.rounds);

  TextTable table({"step", "time", "goal"}, {true, false, true});
  const auto folded = *quant::FoldBatchNorm(model);
  const auto bns = quant::BatchNormsOfConvs(model);
  std::vector<double> cle_s, absorb_s;
  quant::CleReport report;
  for (int r = 0; r < o.rounds; ++r) {
    auto m = models::CloneModel(folded);
    cle_s.push_back(SecondsOf([&] { report = *quant::EqualizeCrossLayer(m); }));
    absorb_s.push_back(SecondsOf([&] { (void)*quant::AbsorbBiases(m, bns, report); }));
  }
  table.AddRow({fmt::format("CLE ({} pairs, {} passes)", report.pairs, report.iterations),
                fmt::format("{:.1f} ms", Median(cle_s) * 1000), "< 1 s"});
  table.AddRow({"bias absorption", fmt::format("{:.1f} ms", Median(absorb_s) * 1000), "< 1 s"});

  // Whole strategies as a job runs them (calibration and conversion included).
  const std::string out = (std::filesystem::temp_directory_path() / "qg_bench_ptq_algos").string();
  const auto whole = [&](const std::string& name, const nlohmann::json& params, const std::string& goal) {
    const quant::Strategy* s = *quant::FindStrategy(name);
    const auto resolved = *s->ResolveParams(params, name);
    const double seconds = SecondsOf([&] {
      auto r = s->Apply({.fp32 = model, .train_set = data.train, .engine = quant::DefaultEngine(),
                         .out_dir = out + "/" + name}, resolved);
      if (!r) {
        fmt::print(stderr, "{}: {}\n", name, r.error().ToString());
        std::exit(1);
      }
    });
    table.AddRow({fmt::format("{} strategy, whole job step {}", name, params.dump()), fmt::format("{:.2f} s", seconds),
                  goal});
    fmt::print("  {} done in {:.2f} s\n", name, seconds);
  };
  whole("naive_ptq", nlohmann::json::object(), "(reference)");
  whole("bn_fold", nlohmann::json::object(), "(reference)");
  whole("cle", {{"bias_absorption", true}}, "");
  whole("adaround", nlohmann::json::object(), "< 120 s");
  whole("adaround", {{"weight_bits", 4}, {"weight_granularity", "per_tensor"}}, "< 120 s");
  std::filesystem::remove_all(out);
  fmt::print("\n{}\n", table.Render(TableFormat::kMarkdown));
}

}  // namespace qg::bench
