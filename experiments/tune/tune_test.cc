#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <tuple>
#include <map>
#include <random>
#include <set>

#include "experiments/tune/tune_search.h"
#include "experiments/tune/tune_spec.h"
#include "tests/testing/fake_catalog.h"

namespace qg::exp {
namespace {

using nlohmann::json;
using storage::RunRecord;

const char* kTune = R"({
  "name": "t", "dataset": {"name": "synthetic"}, "model": {"name": "compact_cnn"},
  "measure": {"batch_sizes": [1, 64]},
  "tune": {
    "space": {"strategies": ["naive_ptq", "bn_fold", "mpq"], "observers": ["minmax", "histogram"],
              "calibration_sizes": [256, 512, 1000, 2000], "weight_granularities": ["per_tensor", "per_channel"]},
    "constraint": {"max_top1_drop": 1.0},
    "objective": "latency.cpu.b64"
  }
})";

Result<TuneSpec> Parse(const json& j) {
  static qg::testing::FakeCatalog catalog;
  return ParseTuneSpec(j, catalog, "onednn");
}

std::string ErrorOf(json j) {
  auto t = Parse(j);
  return t ? "" : t.error().message;
}

TEST(TuneSpec, TheSpaceIsAGridWithFp32AsItsReference) {
  auto t = Parse(json::parse(kTune));
  ASSERT_TRUE(t) << t.error().ToString();
  qg::testing::FakeCatalog catalog;
  auto jobs = TuneJobsOf(*t, catalog);
  ASSERT_TRUE(jobs) << jobs.error().ToString();
  // 3 strategies x 2 observers x 4 sizes x 2 granularities, plus FP32 first.
  ASSERT_EQ(jobs->candidates.size(), 49u);
  EXPECT_EQ(jobs->candidates.front().id, "fp32/cpu/seed0");
  for (const auto& c : jobs->candidates) {
    EXPECT_EQ(c.full.key, "quantize/" + c.id);
    EXPECT_EQ(c.screen.key, "screen/" + c.id);
    EXPECT_NE(c.full.config_hash, c.screen.config_hash);
    EXPECT_EQ(c.screen.config["measure"]["eval_limit"], 1000);
    EXPECT_EQ(c.screen.config["measure"]["batch_sizes"], json({64}));
  }
  EXPECT_EQ(t->objective.LatencyBatch(), 64);
}

TEST(TuneSpec, BadSpecsAreRefusedNamingTheJsonPath) {
  auto with = [](const std::string& pointer, json value) {
    json j = json::parse(kTune);
    j[json::json_pointer(pointer)] = std::move(value);
    return ErrorOf(j);
  };
  EXPECT_EQ(with("/tune/space/strategies", json::array()), "tune.space.strategies: must be a non-empty list");
  EXPECT_NE(with("/tune/space/observers", {"minmx"}).find("tune.space.observers[0]: unknown \"minmx\""),
            std::string::npos);
  EXPECT_NE(with("/tune/constraint/max_top1_drop", -0.5).find("tune.constraint.max_top1_drop: -0.5 is not a budget"),
            std::string::npos);
  EXPECT_NE(with("/tune/objective", "energy").find("tune.objective: unknown objective \"energy\""),
            std::string::npos);
  EXPECT_NE(with("/tune/objective", "latency.cpu.b32").find("batch 32 is not in measure.batch_sizes"),
            std::string::npos);
  EXPECT_NE(with("/tune/objective", json{{"size", -1}}).find("tune.objective.size: the weight must be a positive number"),
            std::string::npos);
  EXPECT_NE(with("/tune/budget", json{{"max_jobs", 0}}).find("tune.budget.max_jobs"), std::string::npos);
  EXPECT_NE(with("/tune/frobnicate", 1).find("tune: unknown field \"frobnicate\""), std::string::npos);
  EXPECT_NE(with("/grid", json{{"strategies", {"fp32"}}}).find("grid: a tune spec searches tune.space"),
            std::string::npos);
  EXPECT_NE(with("/seeds", {0, 1}).find("seeds: a tune searches one trained model"), std::string::npos);
  EXPECT_NE(with("/tune/constraint", json{{"max_top1_drop", 1}, {"min_agreement", 99}}).find("exactly one"),
            std::string::npos);
  EXPECT_EQ(with("/tune/per_layer", json{{"params", {{"fp32_layers", {"conv1"}}}}}),
            "tune.per_layer.params.fp32_layers: the tune chooses the FP32 layers");
}

// A made-up world: each candidate's true top-1 and latency; screening sees
// them on a subset (noisier), full jobs on the whole test set.
struct World {
  std::map<std::string, double> top1, latency_ratio;
  std::mt19937 rng{7};

  RunRecord Run(const storage::JobRecord& job, bool screen) {
    RunRecord r;
    r.config_hash = job.config_hash;
    r.job_key = job.key;
    const std::string id = job.key.substr(job.key.find('/') + 1);
    std::normal_distribution<double> acc_noise(0, screen ? 0.4 : 0.0), lat_noise(0, screen ? 0.04 : 0.01);
    const double fp32 = 90.0;
    const bool is_fp32 = id.rfind("fp32/", 0) == 0;
    r.metrics["top1"] = is_fp32 ? fp32 : top1.at(id) + acc_noise(rng);
    r.metrics["eval_images"] = screen ? 1000 : 10000;
    r.metrics["size_bytes"] = is_fp32 ? 4e6 : (id.find("per_channel") != std::string::npos ? 1.01e6 : 1e6);
    const double ratio = is_fp32 ? 1.0 : latency_ratio.at(id) * (1 + lat_noise(rng));
    r.metrics["latency.cpu.b64.p50_ms"] = 4.0 * ratio;
    if (!is_fp32) r.metrics["latency.cpu.b64.speedup_vs_fp32"] = 1.0 / ratio;
    return r;
  }
};

// Drives the search to the end as the CLI does: decide, run what it asks,
// decide again.
TuneDecision Drive(const TuneSpec& t, const TuneJobs& jobs, World& world, std::map<std::string, RunRecord>& runs,
                   int max_rounds = 100) {
  int races = 0;
  qg::testing::FakeCatalog catalog;
  for (int round = 0; round < max_rounds; ++round) {
    auto d = DecideTune(t, jobs, catalog, runs, {}, 0);
    if (d.done) {
      EXPECT_EQ(races, d.runner_up ? 1 : 0);  // a latency objective's winner is raced against its runner-up
      return d;
    }
    for (const auto& j : d.jobs) {
      if (runs.count(j.key)) continue;
      if (j.kind == "race") {
        // Both timed in one process: the true ratio, with a little noise.
        const auto id = [&](const char* key) { return j.config[key].get<std::string>().substr(9); };
        RunRecord r{.config_hash = j.config_hash, .job_key = j.key};
        r.metrics["race.b_over_a"] = world.latency_ratio.at(id("b_key")) / world.latency_ratio.at(id("a_key")) * 1.005;
        runs[j.key] = r;
        ++races;
      } else if (j.kind == "train") {
        runs[j.key] = RunRecord{.config_hash = j.config_hash, .job_key = j.key};
      } else {
        runs[j.key] = world.Run(j, j.key.rfind("screen/", 0) == 0);
      }
    }
  }
  ADD_FAILURE() << "the search did not end";
  return {};
}

TEST(TuneSearch, FindsAWinnerNearTheBestFeasibleWithAFewFullJobs) {
  auto t = Parse(json::parse(kTune));
  ASSERT_TRUE(t);
  qg::testing::FakeCatalog catalog;
  auto jobs = *TuneJobsOf(*t, catalog);
  World world;
  // naive_ptq: fast but inaccurate with minmax; bn_fold: fastest; mpq: slower,
  // most accurate; small calibration sizes lose a little.
  for (const auto& c : jobs.candidates) {
    const std::string& id = c.id;
    double top1 = 89.6, ratio = 0.40;
    if (id.rfind("naive_ptq", 0) == 0) ratio = 0.45, top1 = id.find("minmax") != std::string::npos ? 88.5 : 89.3;
    if (id.rfind("bn_fold", 0) == 0) ratio = 0.35, top1 = id.find("/c256/") != std::string::npos ? 88.4 : 89.2;
    if (id.rfind("mpq", 0) == 0) ratio = 0.55, top1 = 89.8;
    world.top1[id] = top1;
    world.latency_ratio[id] = ratio;
  }
  std::map<std::string, RunRecord> runs;
  auto d = Drive(*t, jobs, world, runs);
  ASSERT_TRUE(d.winner);
  const auto& w = d.candidates[*d.winner];
  EXPECT_EQ(w.fate, Fate::kFeasible);
  EXPECT_LE(*w.full_drop, 1.0);
  // The best feasible candidate of the exhaustive grid is a bn_fold cell
  // without c256 (ratio 0.35): the winner is within 5 % of it.
  EXPECT_LE(*w.full_objective, 0.35 * 1.05 * 1.03);
  EXPECT_EQ(w.candidate.id.rfind("bn_fold", 0), 0u) << w.candidate.id;
  EXPECT_EQ(w.candidate.id.find("/c256/"), std::string::npos);
  // Within noise the smaller model wins: per_tensor is smaller than per_channel here.
  EXPECT_NE(w.candidate.id.find("per_tensor"), std::string::npos) << w.candidate.id;
  const int grid_full_jobs = static_cast<int>(jobs.candidates.size());
  EXPECT_LE(d.full_jobs, grid_full_jobs * 30 / 100) << d.full_jobs << " of " << grid_full_jobs;
  EXPECT_EQ(d.screen_jobs, grid_full_jobs);

  // Resume: deciding again from what is stored asks for nothing new and
  // names the same winner.
  auto again = DecideTune(*t, jobs, catalog, runs, {}, 0);
  EXPECT_TRUE(again.done);
  EXPECT_EQ(again.candidates[*again.winner].candidate.id, w.candidate.id);
  for (const auto& j : again.jobs) EXPECT_TRUE(runs.count(j.key)) << j.key;
}

// The default space (kTune), and a world where each candidate has the
// (top-1, latency ratio) that `truth` gives its id.
struct Case {
  TuneSpec spec;
  TuneJobs jobs;
  World world;
};
Case MakeCase(const std::function<std::pair<double, double>(const std::string& id)>& truth) {
  qg::testing::FakeCatalog catalog;
  Case c{.spec = *Parse(json::parse(kTune))};
  c.jobs = *TuneJobsOf(c.spec, catalog);
  for (const auto& cand : c.jobs.candidates) {
    std::tie(c.world.top1[cand.id], c.world.latency_ratio[cand.id]) = truth(cand.id);
  }
  return c;
}

TEST(TuneSearch, ARestartFromAnyPrefixOfResultsEndsTheSame) {
  auto c = MakeCase([](const std::string& id) {
    return std::make_pair(id.find("histogram") != std::string::npos ? 89.5 : 88.0, id.rfind("mpq", 0) == 0 ? 0.5 : 0.4);
  });
  const TuneSpec* t = &c.spec;
  const TuneJobs& jobs = c.jobs;
  qg::testing::FakeCatalog catalog;
  std::map<std::string, RunRecord> runs;
  const auto first = Drive(*t, jobs, c.world, runs);
  ASSERT_TRUE(first.winner);
  // Killed after a part of the jobs had stored results: the restarted
  // search asks only for jobs whose results are missing, in the same way.
  std::map<std::string, RunRecord> part;
  size_t i = 0;
  for (const auto& [key, run] : runs) {
    if (i++ % 3 != 0) part[key] = run;
  }
  auto d = DecideTune(*t, jobs, catalog, part, {}, 0);
  for (const auto& j : d.jobs) {
    if (!part.count(j.key)) {
      EXPECT_TRUE(runs.count(j.key)) << "asked for a job the first search never ran: " << j.key;
    }
  }
  std::map<std::string, RunRecord> resumed = part;
  for (const auto& [key, run] : runs) resumed.emplace(key, run);  // the rerun measures what was missing
  auto last = DecideTune(*t, jobs, catalog, resumed, {}, 0);
  ASSERT_TRUE(last.done);
  EXPECT_EQ(last.candidates[*last.winner].candidate.id, first.candidates[*first.winner].candidate.id);
}

TEST(TuneSearch, InfeasibleAtFullFidelityPromotesTheNextWave) {
  // The fastest cells pass screening narrowly but fail on the full set.
  auto c = MakeCase([](const std::string& id) {
    const bool fast = id.rfind("bn_fold", 0) == 0;
    return std::make_pair(fast ? 88.7 : 89.6, fast ? 0.3 : (id.rfind("naive", 0) == 0 ? 0.4 : 0.5));
  });
  std::map<std::string, RunRecord> runs;
  auto d = Drive(c.spec, c.jobs, c.world, runs);
  ASSERT_TRUE(d.winner);
  EXPECT_EQ(d.candidates[*d.winner].candidate.id.rfind("naive_ptq", 0), 0u) << d.candidates[*d.winner].candidate.id;
  int waves = 0;
  for (const auto& line : d.trace) waves += line.find("candidate(s) at full fidelity") != std::string::npos;
  EXPECT_GE(waves, 2);
}

// Two feasible candidates whose separate full jobs rank them wrongly (the
// faster one was measured while the machine was busy): the race, both timed
// in alternating rounds in one job, puts the faster one first.
TEST(TuneSearch, TheRaceAgainstTheRunnerUpSettlesTheWinner) {
  const std::string x = "bn_fold/minmax/c1000/per_channel/onednn/cpu/seed0";
  const std::string y = "bn_fold/histogram/c1000/per_channel/onednn/cpu/seed0";
  auto c = MakeCase([&](const std::string& id) {
    return id == x ? std::make_pair(89.5, 0.30) : id == y ? std::make_pair(89.5, 0.33) : std::make_pair(85.0, 0.4);
  });
  c.spec.halving = 1.5;  // x and y (and FP32) pass screening: a wave of 2 takes both
  qg::testing::FakeCatalog catalog;
  std::map<std::string, RunRecord> runs;
  auto d = Drive(c.spec, c.jobs, c.world, runs);
  ASSERT_TRUE(d.winner);
  EXPECT_EQ(d.candidates[*d.winner].candidate.id, x);
  // The same search had x's full job run on a busy machine: y ranks first.
  std::erase_if(runs, [](const auto& entry) { return entry.first.rfind("race/", 0) == 0; });
  runs["quantize/" + x].metrics["latency.cpu.b64.speedup_vs_fp32"] = 1 / 0.36;
  auto before_race = DecideTune(c.spec, c.jobs, catalog, runs, {}, 0);
  ASSERT_FALSE(before_race.done);
  const std::string race = "race/" + y + "/vs/" + x;
  ASSERT_TRUE(std::any_of(before_race.jobs.begin(), before_race.jobs.end(),
                          [&](const storage::JobRecord& j) { return j.key == race; }))
      << before_race.jobs.back().key;
  runs[race] = RunRecord{.job_key = race, .metrics = {{"race.b_over_a", 0.30 / 0.33}}};
  auto last = DecideTune(c.spec, c.jobs, catalog, runs, {}, 0);
  ASSERT_TRUE(last.done);
  EXPECT_EQ(last.candidates[*last.winner].candidate.id, x);
  EXPECT_EQ(last.candidates[*last.runner_up].candidate.id, y);
}

TEST(TuneSearch, AFailedScreeningJobDropsItsCandidateOnly) {
  auto c = MakeCase([](const std::string&) { return std::make_pair(89.5, 0.4); });
  const TuneSpec* t = &c.spec;
  const TuneJobs& jobs = c.jobs;
  World& world = c.world;
  qg::testing::FakeCatalog catalog;
  std::map<std::string, RunRecord> runs;
  std::set<std::string> failed{jobs.candidates[3].screen.key};
  for (int round = 0; round < 20; ++round) {
    auto d = DecideTune(*t, jobs, catalog, runs, failed, 0);
    if (d.done) {
      EXPECT_EQ(d.candidates[3].fate, Fate::kFailed);
      ASSERT_TRUE(d.winner);
      return;
    }
    for (const auto& j : d.jobs) {
      if (runs.count(j.key) || failed.count(j.key)) continue;
      if (j.kind == "race") failed.insert(j.key);  // a failed race leaves the winner as it was
      if (j.kind == "race") continue;
      runs[j.key] = j.kind == "train" ? RunRecord{.config_hash = j.config_hash, .job_key = j.key}
                                      : world.Run(j, j.key.rfind("screen/", 0) == 0);
    }
  }
  FAIL() << "the search did not end";
}

// A per-layer world over 12 layers: keeping the k most sensitive in FP32
// drops 2.0 / (k + 1) points and adds 0.75 MB per layer; the uniform bn_fold
// model drops `uniform_drop`, and the MPQ ranker's own all-INT8 choice
// `ranker_drop` (it keeps no layer in FP32). Returns the final decision.
TuneDecision DrivePerLayer(double uniform_drop, double ranker_drop) {
  json j = json::parse(kTune);
  j["tune"]["space"] = {{"strategies", {"bn_fold"}}};
  j["tune"]["objective"] = "size";
  j["tune"]["constraint"] = {{"max_top1_drop", 0.5}};
  j["tune"]["per_layer"] = true;
  auto t = Parse(j);
  EXPECT_TRUE(t) << t.error().ToString();
  qg::testing::FakeCatalog catalog;
  auto jobs = *TuneJobsOf(*t, catalog);
  std::vector<std::string> layers;
  for (int i = 0; i < 12; ++i) layers.push_back(fmt::format("layer{}", i));
  std::map<std::string, RunRecord> runs;
  for (int round = 0; round < 30; ++round) {
    auto d = DecideTune(*t, jobs, catalog, runs, {}, 0);
    if (d.done) return d;
    for (const auto& job : d.jobs) {
      if (runs.count(job.key)) continue;
      RunRecord r{.config_hash = job.config_hash, .job_key = job.key};
      const std::string strategy = job.config.value("strategy", "");
      const json params = job.config.value("params", json::object());
      const bool fp32 = strategy == "fp32";
      int k = 0;
      if (params.contains("fp32_layers")) k = static_cast<int>(params["fp32_layers"].size());
      const double drop = fp32 ? 0 : strategy == "bn_fold" ? uniform_drop : (k == 0 ? 2.0 : 2.0 / (k + 1));
      r.metrics["top1"] = 90 - drop;
      r.metrics["eval_images"] = 1000;
      r.metrics["size_bytes"] = fp32 ? 12e6 : 3e6 + 0.75e6 * k;
      if (strategy == "mpq" && !params.contains("fp32_layers")) {
        json sens = json::array();
        for (const auto& l : layers) sens.push_back({{"layer", l}});
        r.documents["details"] = {{"sensitivity", sens}, {"fp32_layers", json::array()}};
        r.metrics["top1"] = 90 - ranker_drop;
      }
      runs[job.key] = r;
    }
  }
  ADD_FAILURE() << "the search did not end";
  return {};
}

int BisectionSteps(const TuneDecision& d) {
  int steps = 0;
  for (const auto& c : d.candidates) steps += c.candidate.fp32_layers > 0;
  return steps;
}

TEST(TuneSearch, PerLayerBisectionFindsTheFewestFp32LayersInsideTheBudget) {
  // Neither the uniform model nor the ranker's all-INT8 one is inside 0.5
  // points; k = 3 is the first that is.
  const auto d = DrivePerLayer(2.0, 2.0);
  ASSERT_TRUE(d.winner);
  const auto& w = d.candidates[*d.winner];
  EXPECT_EQ(w.candidate.fp32_layers, 3) << w.candidate.id;
  EXPECT_GE(BisectionSteps(d), 2);
  EXPECT_FALSE(d.all_int8_inside_budget);
  EXPECT_LE(BisectionSteps(d), 5);  // a bisection over 12, not a walk
}

TEST(TuneSearch, PerLayerSkipsTheBisectionWhenAllInt8IsInsideTheBudget) {
  // Any FP32 layer only adds size: no bisection step is asked for, and the
  // search says why.
  const auto d = DrivePerLayer(0.2, 0.3);
  ASSERT_TRUE(d.winner);
  EXPECT_EQ(d.candidates[*d.winner].candidate.fp32_layers, -1) << d.candidates[*d.winner].candidate.id;
  EXPECT_EQ(BisectionSteps(d), 0);
  EXPECT_TRUE(d.all_int8_inside_budget);
  EXPECT_TRUE(std::any_of(d.trace.begin(), d.trace.end(), [](const std::string& line) {
    return line.find("every layer in INT8 is inside the budget") != std::string::npos;
  }));
}

}  // namespace
}  // namespace qg::exp

namespace qg::exp {
namespace {

TEST(TuneSpec, ABudgetTooSmallToScreenTheSpaceIsRefused) {
  json j = json::parse(kTune);
  j["tune"]["budget"] = {{"max_jobs", 20}};
  auto t = Parse(j);
  ASSERT_TRUE(t);
  qg::testing::FakeCatalog catalog;
  auto jobs = *TuneJobsOf(*t, catalog);
  const auto status = CheckBudget(*t, jobs);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find("tune.budget.max_jobs: 20 jobs cannot search 49 candidates: it takes at least 52"),
            std::string::npos)
      << status.error().message;
  j["tune"]["budget"] = {{"max_jobs", 60}};
  EXPECT_TRUE(CheckBudget(*Parse(j), jobs));
}

}  // namespace
}  // namespace qg::exp
