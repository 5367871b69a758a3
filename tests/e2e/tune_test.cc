// `quantgrid tune` end to end, on small synthetic data: a search that is
// killed with kill -9 midway resumes from the store without rerunning a
// stored job and names the same winner; run again it runs nothing; on a
// cluster of 2 workers (--to) it names the same winner as the embedded run;
// bad specs are refused before any work.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <csignal>
#include <fstream>
#include <list>
#include <map>
#include <thread>

#include "coordinator/protocol/client.h"
#include "coordinator/protocol/connection.h"
#include "storage/sqlite_result_store.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/temp_dir.h"

namespace qg {
namespace {

using nlohmann::json;
using qg::testing::RunQuantgrid;
using qg::testing::StartQuantgrid;
using qg::testing::TempDir;

// Size is the objective here: it does not depend on timing noise, so two
// searches on two machines must agree exactly.
json TinyTune() {
  return json::parse(R"({
    "name": "tiny-tune",
    "dataset": {"name": "synthetic", "synthetic": {"train": 512, "test": 256}},
    "model": {"name": "compact_cnn"},
    "train": {"epochs": 1, "batch_size": 64},
    "measure": {"batch_sizes": [8], "runs": 6, "warmup_runs": 2, "layer_mse_images": 0},
    "tune": {
      "space": {"strategies": ["naive_ptq", "bn_fold"], "observers": ["minmax", "histogram"],
                "calibration_sizes": [64], "weight_granularities": ["per_tensor", "per_channel"]},
      "constraint": {"max_top1_drop": 5.0},
      "objective": "size",
      "screen": {"eval_images": 128, "runs": 4},
      "halving": 3
    }
  })");
}

std::map<std::string, int64_t> StoredRunStarts(const std::string& db) {
  std::map<std::string, int64_t> out;
  auto store = storage::SqliteResultStore::Open(db, SystemClock::Instance(), {.read_only = true});
  if (!store) return out;
  auto e = (*store)->GetExperiment("tiny-tune");
  if (!e || !*e) return out;
  auto runs = (*store)->RunsOfExperiment((**e).id);
  if (!runs) return out;
  for (const auto& r : *runs) out[r.config_hash] = r.started_ms;
  return out;
}

json Outcome(const qg::testing::CliResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err.substr(r.err.size() > 3000 ? r.err.size() - 3000 : 0);
  auto j = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j;
}

TEST(Tune, KilledMidwayResumesWithoutRerunningAndAClusterNamesTheSameWinner) {
  TempDir dir;
  std::ofstream(dir.File("tune.json")) << TinyTune().dump(2);
  const std::vector<std::string> args{"tune", dir.File("tune.json"), "--db", dir.File("q.db"), "--root",
                                      dir.File("runs"), "--workers", "1", "--format", "json"};

  // kill -9 once training and a few screening jobs are stored.
  auto child = StartQuantgrid(args, dir.path().string(), dir.File("killed.log"));
  std::map<std::string, int64_t> before;
  for (int i = 0; i < 1200 && before.size() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    before = StoredRunStarts(dir.File("q.db"));
  }
  ::kill(child.id(), SIGKILL);
  child.wait();
  ASSERT_GE(before.size(), 3u) << "nothing was stored before the kill";

  const auto resumed = Outcome(RunQuantgrid(args, dir.path().string()));
  ASSERT_TRUE(resumed.contains("winner")) << resumed.dump();
  const auto after = StoredRunStarts(dir.File("q.db"));
  for (const auto& [hash, started] : before) {
    ASSERT_TRUE(after.count(hash));
    EXPECT_EQ(after.at(hash), started) << "a run stored before the kill ran again: " << hash;
  }
  // Size objective, all within the budget: the smallest model wins, a
  // bn_fold cell (folding removes the BatchNorm layers' parameters).
  EXPECT_EQ(resumed["winner"].get<std::string>().rfind("bn_fold/", 0), 0u) << resumed.dump();
  EXPECT_LE(resumed["full_jobs"].get<int>(), resumed["grid_full_jobs"].get<int>());
  EXPECT_TRUE(resumed["winner_spec"].contains("grid"));

  // Again: everything is stored, nothing runs, the same winner.
  const auto again = Outcome(RunQuantgrid(args, dir.path().string()));
  EXPECT_EQ(again["winner"], resumed["winner"]);
  EXPECT_EQ(StoredRunStarts(dir.File("q.db")), after);

  // The same tune on a cluster of a coordinator and 2 workers (2 cpus each: a
  // job asks for measure.threads), from scratch.
  const char* token = "e2e-tune-token-0123456789abcdef";
  setenv("QG_TOKEN", token, 1);
  const uint16_t port = protocol::FreeLoopbackPort();
  const std::string address = "127.0.0.1:" + std::to_string(port);
  std::list<boost::process::child> cluster;
  cluster.push_back(StartQuantgrid({"coordinator", "--listen", address, "--db", dir.File("c.db"), "--root",
                                    dir.File("cluster-runs")},
                                   dir.path().string(), dir.File("coordinator.log")));
  for (int i = 0; i < 100 && !protocol::Request({"127.0.0.1", port}, token, {{"type", "status"}}); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (const std::string name : {"w1", "w2"}) {
    cluster.push_back(StartQuantgrid({"worker", "--connect", address, "--name", name, "--cpus", "2"},
                                     dir.path().string(), dir.File(name + ".log")));
  }
  const auto remote = Outcome(RunQuantgrid({"tune", dir.File("tune.json"), "--to", address, "--format", "json"},
                                           dir.path().string()));
  for (auto& p : cluster) {
    ::kill(p.id(), SIGKILL);
    p.wait();
  }
  EXPECT_EQ(remote["winner"], resumed["winner"]) << remote.dump();
  EXPECT_EQ(remote["full_jobs"], resumed["full_jobs"]);
}

TEST(Tune, BadSpecsAreRefusedBeforeAnyWorkNamingTheJsonPath) {
  TempDir dir;
  auto refused = [&](const std::string& pointer, const json& value, const std::string& expected) {
    json spec = TinyTune();
    spec[json::json_pointer(pointer)] = value;
    std::ofstream(dir.File("bad.json")) << spec.dump();
    const auto r = RunQuantgrid({"tune", dir.File("bad.json"), "--db", dir.File("bad.db"), "--root", dir.File("r")},
                                dir.path().string());
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir.File("bad.db"))) << "work started for " << pointer;
  };
  refused("/tune/space/strategies", json::array(), "tune.space.strategies: must be a non-empty list");
  refused("/tune/constraint/max_top1_drop", -1, "tune.constraint.max_top1_drop: -1 is not a budget");
  refused("/tune/objective", "latency.gpu.b8", "tune.objective: unknown objective \"latency.gpu.b8\"");
  refused("/tune/budget", json{{"max_jobs", 3}}, "tune.budget.max_jobs: 3 jobs cannot search 9 candidates");
}

}  // namespace
}  // namespace qg
