// Records for the results and regression tests of experiments/report:
// quantize jobs, their runs with accuracy, latency and size, and a fixture
// experiment of two strategies and two seeds.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "experiments/job_config.h"
#include "experiments/report/results.h"
#include "storage/result_store.h"
#include "tests/testing/record_fixtures.h"

namespace qg::exp {

inline storage::RunRecord Run(const storage::JobRecord& job, double top1, double p50_b64, double size_bytes, double agree,
                       const std::string& precision) {
  storage::RunRecord r = qg::testing::MakeRun(job, top1);
  r.metrics = {{"top1", top1},
               {"top5", 99.5},
               {"size_bytes", size_bytes},
               {"latency.cpu.b64.p50_ms", p50_b64},
               {"latency.cpu.b1.p50_ms", p50_b64 / 20},
               {"output.top1_agreement", agree}};
  r.metrics["int8_mac_share"] = precision == "int8" ? 100.0 : 0.0;
  r.documents["precision"] = precision;
  r.documents["layer_mse"] = nlohmann::json::array({{{"layer", "conv1"}, {"relative_mse", 1e-4}}});
  return r;
}

inline storage::JobRecord Quantize(const std::string& strategy, int seed, const std::string& engine = "onednn") {
  const QuantizeConfig config{.dataset = {.name = "fashion-mnist"}, .strategy = strategy, .label = strategy,
                              .engine = engine, .device = "cpu", .seed = seed};
  return qg::testing::MakeJob(fmt::format("quantize/{}/cpu/seed{}", strategy, seed), "quantize", config.ToJson());
}

// An experiment with two seeds of fp32 and naive_ptq in a fixture database.
inline std::unique_ptr<LoadedResults> Fixture(storage::ResultStore& store) {
  const int64_t e = *store.PutExperiment("paper", {{"dataset", {{"name", "fashion-mnist"}}},
                                                   {"model", {{"name", "compact_cnn"}}}});
  std::vector<storage::JobRecord> jobs{Quantize("fp32", 0), Quantize("fp32", 1), Quantize("naive_ptq", 0),
                                       Quantize("naive_ptq", 1)};
  EXPECT_TRUE(store.SyncJobs(e, jobs));
  const auto stored = *store.ListJobs(e);
  const double top1[] = {91.0, 92.0, 90.5, 91.5}, p50[] = {4.0, 4.4, 1.0, 1.2}, agree[] = {100, 100, 99.5, 99.7};
  for (size_t i = 0; i < 4; ++i) {
    const bool fp32 = i < 2;
    EXPECT_TRUE(store.CompleteJob(stored[i].id, Run(stored[i], top1[i], p50[i], fp32 ? 1.6e6 : 0.4e6, agree[i],
                                                     fp32 ? "fp32" : "int8")));
  }
  return std::move(*LoadResults(store, "paper", 64));
}

}  // namespace qg::exp
