// A real cluster of quantgrid processes on loopback: kill -9 a worker mid-job,
// kill -9 the coordinator mid-sweep, and check that every job completes
// exactly once with nothing lost.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <csignal>
#include <fstream>
#include <list>
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

const char* kToken = "e2e-cluster-token-0123456789";

class ClusterProcesses : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("QG_TOKEN", kToken, 1);
    port_ = protocol::FreeLoopbackPort();
    address_ = "127.0.0.1:" + std::to_string(port_);
  }
  void TearDown() override {
    for (auto& p : processes_) {
      if (p.running()) ::kill(p.id(), SIGKILL);
      p.wait();
    }
  }
  boost::process::child& StartCoordinator(const std::string& log) {
    processes_.push_back(StartQuantgrid({"coordinator", "--listen", address_, "--db", dir_.File("c.db"), "--root",
                                         dir_.File("runs"), "--heartbeat-ms", "200", "--lease-ms", "1500",
                                         "--retry-base-ms", "100"},
                                        dir_.path().string(), dir_.File(log)));
    for (int i = 0; i < 100 && !Status(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return processes_.back();
  }
  boost::process::child& StartWorker(const std::string& name, int cpus = 1) {
    processes_.push_back(StartQuantgrid({"worker", "--connect", address_, "--name", name, "--cpus", std::to_string(cpus)},
                                        dir_.path().string(), dir_.File(name + ".log")));
    return processes_.back();
  }
  std::optional<json> Status() {
    auto s = protocol::Request({"127.0.0.1", port_}, kToken, {{"type", "status"}});
    return s ? std::optional<json>(*s) : std::nullopt;
  }
  json Experiment(const std::string& name) {
    if (auto s = Status()) {
      for (const auto& e : (*s)["experiments"]) {
        if (e["name"] == name) return e;
      }
    }
    return json();
  }
  json WaitFor(const std::string& name, const std::function<bool(const json&)>& done, double timeout_s = 120) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      const auto e = Experiment(name);
      if (!e.is_null() && done(e)) return e;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "timed out waiting on " << name << ": " << Experiment(name).dump();
    return json();
  }
  void Submit(const json& spec) {
    std::ofstream(dir_.File("spec.json")) << spec.dump();
    const auto r = RunQuantgrid({"submit", dir_.File("spec.json"), "--to", address_}, dir_.path().string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::vector<storage::RunRecord> Runs(const std::string& experiment) {
    auto store = *storage::SqliteResultStore::Open(dir_.File("c.db"), SystemClock::Instance(), {.read_only = true});
    return *store->RunsOfExperiment((*store->GetExperiment(experiment))->id);
  }
  std::vector<storage::JobRecord> Jobs() {
    auto store = *storage::SqliteResultStore::Open(dir_.File("c.db"), SystemClock::Instance(), {.read_only = true});
    return *store->ListJobs(std::nullopt);
  }

  TempDir dir_;
  uint16_t port_ = 0;
  std::string address_;
  std::list<boost::process::child> processes_;  // a list: references stay valid as it grows
};

TEST_F(ClusterProcesses, AKilledWorkersJobIsReleasedAfterItsLeaseAndCompletesOnce) {
  StartCoordinator("coordinator.log");
  auto& doomed = StartWorker("doomed");
  Submit({{"name", "sleepers"}, {"probe", {{"kind", "sleep"}, {"count", 3}, {"seconds", 1.0}}}});
  WaitFor("sleepers", [](const json& e) { return e["running"] == 1; });
  ::kill(doomed.id(), SIGKILL);
  const int64_t killed_ms = SystemClock::Instance().WallMillis();
  StartWorker("rescuer", 3);  // room for all three at once
  WaitFor("sleepers", [](const json& x) { return x["completed"] == 3; });
  EXPECT_EQ(Runs("sleepers").size(), 3u);  // no duplicate rows
  int retried = 0;
  for (const auto& j : Jobs()) {
    EXPECT_EQ(j.state, storage::JobState::kCompleted);
    EXPECT_EQ(j.worker, "rescuer") << j.key;
    if (j.attempts == 2) {
      ++retried;
      // Re-leased only once its 1.5 s lease ran out (renewed <= 0.2 s before the kill).
      EXPECT_GE(j.started_ms - killed_ms, 1200) << j.key;
    }
  }
  EXPECT_EQ(retried, 1);  // the job the dead worker held
}

TEST_F(ClusterProcesses, AKilledCoordinatorResumesWithoutRerunningOrLosingAnything) {
  auto& first = StartCoordinator("coordinator1.log");
  StartWorker("w1");
  StartWorker("w2");
  Submit({{"name", "sweep"}, {"probe", {{"kind", "sleep"}, {"count", 40}, {"seconds", 0.2}}}});
  WaitFor("sweep", [](const json& e) { return e["completed"] >= 10; });
  ::kill(first.id(), SIGKILL);
  first.wait();
  const auto before = Runs("sweep");
  ASSERT_LT(before.size(), 40u);
  StartCoordinator("coordinator2.log");  // same database, same port: the workers reconnect
  WaitFor("sweep", [](const json& e) { return e["completed"] == 40; });
  const auto after = Runs("sweep");
  EXPECT_EQ(after.size(), 40u);
  for (const auto& b : before) {
    const auto it = std::find_if(after.begin(), after.end(), [&](const auto& a) { return a.config_hash == b.config_hash; });
    ASSERT_NE(it, after.end());
    EXPECT_EQ(it->finished_ms, b.finished_ms) << b.job_key << " ran again";
  }
}

TEST_F(ClusterProcesses, ClientVerbsRefuseAWrongTokenAndNameTheCoordinator) {
  StartCoordinator("coordinator.log");
  std::ofstream(dir_.File("wrong")) << "not-the-cluster-token-at-all";
  const auto r = RunQuantgrid({"status", "--to", address_, "--token-file", dir_.File("wrong")}, dir_.path().string());
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_NE(r.err.find("refused this client: authentication failed"), std::string::npos) << r.err;
  const auto ok = RunQuantgrid({"status", "--to", address_}, dir_.path().string());
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  const auto down = RunQuantgrid({"status", "--to", "127.0.0.1:1"}, dir_.path().string());
  EXPECT_EQ(down.exit_code, 6) << down.err;
  EXPECT_NE(down.err.find("cannot reach coordinator 127.0.0.1:1"), std::string::npos) << down.err;
}

}  // namespace
}  // namespace qg
