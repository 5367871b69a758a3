// Noise-aware nightly comparisons, end to end from timing to verdict: latency
// measured by metrics::MeasureLatency with replicates (on a fake clock that a
// scripted model advances, with per-call jitter, slow outliers and a little
// drift from night to night), stored by AddLatency as a job would, folded
// into rows by BuildResults and compared with a baseline by Compare. Of 20
// otherwise identical noisy nights, the one with an injected 0.5-point top-1
// drop or 10 % slower INT8 row is flagged, and no other.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <random>

#include "core/base/fake_clock.h"
#include "core/metrics/latency.h"
#include "experiments/job_config.h"
#include "experiments/report/regression.h"
#include "experiments/report/results.h"
#include "runner/run_record.h"
#include "tests/testing/record_fixtures.h"

namespace qg::runner {
namespace {

// Each call takes `ms` x (1 +- jitter), and one in 20 calls 1.5x that: a
// neighbour on the host.
class ScriptedModel : public models::InferenceModel {
 public:
  ScriptedModel(FakeClock& clock, std::mt19937_64& rng, double ms) : clock_(clock), rng_(rng), ms_(ms) {}
  std::string Describe() const override { return "scripted timings on a fake clock"; }
  torch::Tensor Predict(const torch::Tensor& images) override {
    std::uniform_real_distribution<double> jitter(-0.10, 0.10), outlier(0, 1);
    double ms = ms_ * (1 + jitter(rng_));
    if (outlier(rng_) < 0.05) ms *= 1.5;
    clock_.Advance(std::chrono::nanoseconds(static_cast<int64_t>(ms * 1e6)));
    return torch::zeros({images.size(0), 10});
  }

 private:
  FakeClock& clock_;
  std::mt19937_64& rng_;
  double ms_;
};

enum class Inject { kNothing, kTop1Drop, kSlowerInt8 };

struct Night {
  std::vector<storage::JobRecord> jobs;
  std::vector<storage::RunRecord> runs;
};

// One nightly sweep: fp32 and naive_ptq, 3 seeds each; top-1 varies by seed,
// latency by the scripted model's noise, replicates 7.
Night RunNight(std::mt19937_64& rng, Inject inject) {
  FakeClock clock;
  std::normal_distribution<double> seed_noise(0, 0.08);
  std::uniform_real_distribution<double> drift(-0.01, 0.01);
  const double night = 1 + drift(rng);
  Night n;
  for (const std::string strategy : {"fp32", "naive_ptq"}) {
    const bool int8 = strategy == "naive_ptq";
    for (int seed = 0; seed < 3; ++seed) {
      const exp::QuantizeConfig config{.dataset = {.name = "fashion-mnist"}, .strategy = strategy, .label = strategy,
                                       .engine = "onednn", .device = "cpu", .seed = seed};
      auto job = qg::testing::MakeJob(fmt::format("quantize/{}/cpu/seed{}", strategy, seed), "quantize", config.ToJson());
      auto run = qg::testing::MakeRun(job, (int8 ? 91.2 : 91.5) + seed_noise(rng));
      if (int8 && inject == Inject::kTop1Drop) run.metrics["top1"] -= 0.5;
      run.metrics["top5"] = 99.5;
      run.metrics["output.top1_agreement"] = int8 ? 99.4 : 100.0;
      double ms = (int8 ? 1.35 : 3.77) * night;
      if (int8 && inject == Inject::kSlowerInt8) ms *= 1.10;
      ScriptedModel model(clock, rng, ms);
      metrics::LatencyOptions o;
      o.batch_sizes = {64};
      o.warmup_runs = 2;
      o.runs = 70;
      o.min_runs = 70;
      o.replicates = 7;
      o.clock = &clock;
      auto stats = metrics::MeasureLatency(model, {1, 28, 28}, o);
      EXPECT_TRUE(stats) << stats.error().ToString();
      AddLatency(*stats, run);
      run.documents["precision"] = int8 ? "int8" : "fp32";
      n.jobs.push_back(job);
      n.runs.push_back(std::move(run));
    }
  }
  return n;
}

exp::ResultsView ViewOf(const Night& n) {
  storage::ExperimentRecord e;
  e.name = "nightly";
  e.spec = nlohmann::json::object();
  auto view = exp::BuildResults(e, n.jobs, n.runs, 64);
  EXPECT_TRUE(view) << view.error().ToString();
  return *view;
}

// The nights Compare flags (with the metric it flagged), of 20 where night
// `injected` carries `inject`.
std::vector<std::pair<int, std::string>> FlaggedNights(Inject inject, int injected, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const Night base = RunNight(rng, Inject::kNothing);
  const auto baseline = exp::BaselineJson(ViewOf(base));
  std::vector<std::pair<int, std::string>> flagged;
  for (int i = 0; i < 20; ++i) {
    const Night night = RunNight(rng, i == injected ? inject : Inject::kNothing);
    const auto view = ViewOf(night);
    auto c = exp::Compare(view, baseline, {});
    EXPECT_TRUE(c) << c.error().ToString();
    for (const auto& d : c->diffs) {
      if (d.regression) flagged.emplace_back(i, d.row + " " + d.metric);
    }
  }
  return flagged;
}

TEST(NoiseAwareCompare, LatencyRowsCarryTheirReplicateInterval) {
  std::mt19937_64 rng(1);
  const auto view = ViewOf(RunNight(rng, Inject::kNothing));
  ASSERT_EQ(view.rows.size(), 2u);
  for (const auto& r : view.rows) {
    EXPECT_GT(r.latency_ci_high, r.latency_ci_low) << r.label;
    EXPECT_LE(r.latency_ci_low, r.latency_ms.mean * 1.02) << r.label;
    EXPECT_GE(r.latency_ci_high, r.latency_ms.mean * 0.98) << r.label;
    // The interval is a few percent wide, not the 10 % per-call jitter.
    EXPECT_LT((r.latency_ci_high - r.latency_ci_low) / r.latency_ms.mean, 0.08) << r.label;
  }
  EXPECT_NE(exp::FormatLatency(view.rows[1], 4).find(" ± "), std::string::npos);
}

// Over 3 noise seeds, `injected` is the only night flagged, for `metric` only.
void ExpectOnlyNightFlagged(Inject inject, int injected, const std::string& metric, std::vector<uint64_t> seeds) {
  for (uint64_t seed : seeds) {
    const auto flagged = FlaggedNights(inject, injected, seed);
    std::string listed;
    for (const auto& [night, what] : flagged) listed += fmt::format(" night {}: {};", night, what);
    ASSERT_EQ(flagged.size(), 1u) << "seed " << seed << ", flagged:" << listed;
    EXPECT_EQ(flagged[0].first, injected) << listed;
    EXPECT_EQ(flagged[0].second, metric) << listed;
  }
}

TEST(NoiseAwareCompare, FlagsExactlyTheNightWithATop1Drop) {
  ExpectOnlyNightFlagged(Inject::kTop1Drop, 7, "naive_ptq top1", {11, 12, 13});
}

TEST(NoiseAwareCompare, FlagsExactlyTheNightWithA10PercentSlowerInt8Row) {
  ExpectOnlyNightFlagged(Inject::kSlowerInt8, 13, "naive_ptq latency_ms", {21, 22, 23});
}

}  // namespace
}  // namespace qg::runner
