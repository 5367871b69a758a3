// The cluster: a coordinator with real TCP, real workers (in-process threads)
// and real SQLite: exactly-once under load, lost workers, bad tokens, fuzzed
// frames, GPU placement. The coordinator alone, on a fake clock, is in
// coordinator/coordinator_test.cc.
#include "cluster/local_cluster.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "coordinator/protocol/auth.h"
#include "coordinator/protocol/client.h"
#include "coordinator/protocol/connection.h"
#include "experiments/probe_spec.h"
#include "storage/sqlite_result_store.h"
#include "tests/testing/raw_peer.h"
#include "tests/testing/temp_dir.h"
#include "worker/worker_client.h"

namespace qg::cluster {
namespace {

using qg::testing::RawPeer;

namespace asio = boost::asio;
using asio::ip::tcp;
using nlohmann::json;

const std::string kToken = "test-token-0123456789";

// A LocalCluster with no workers yet, plus the client calls tests need.
class Cluster {
 public:
  explicit Cluster(const std::string& db, coord::CoordinatorOptions options = {}) {
    options.token = kToken;
    options.db = db;
    auto c = LocalCluster::Start({.coordinator = options, .workers = 0});
    EXPECT_TRUE(c) << c.error().ToString();
    cluster_ = std::move(*c);
  }
  protocol::Endpoint endpoint() const { return cluster_->endpoint(); }
  worker::WorkerClient& AddWorker(const std::string& name, protocol::Resources resources = {.cpus = 1}) {
    return cluster_->AddWorker(name, resources);
  }

  Result<json> Submit(const json& spec) {
    QG_ASSIGN_OR_RETURN(auto jobs, exp::ExpandProbeSpec(spec));
    return protocol::Request(endpoint(), kToken, protocol::SubmitMessage(spec["name"], spec, jobs, false));
  }

  json Status() { return *protocol::Request(endpoint(), kToken, {{"type", "status"}}); }

  // Waits until `experiment` has nothing pending or running.
  json WaitFinished(const std::string& experiment, double timeout_s = 60) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      const auto status = Status();
      for (const auto& e : status["experiments"]) {
        if (e["name"] == experiment && e["pending"] == 0 && e["running"] == 0) return e;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "experiment " << experiment << " did not finish: " << Status().dump();
    return {};
  }

 private:
  std::unique_ptr<LocalCluster> cluster_;
};

std::vector<storage::JobRecord> StoredJobs(const std::string& db) {
  auto store = *storage::SqliteResultStore::Open(db, SystemClock::Instance(), {.read_only = true});
  return *store->ListJobs(std::nullopt);
}

TEST(Coordinator, TwoWorkersCompleteAThousandNoopsExactlyOnce) {
  qg::testing::TempDir dir;
  {
    Cluster cluster(dir.File("c.db"));
    cluster.AddWorker("w1", {.cpus = 2});
    cluster.AddWorker("w2", {.cpus = 2});
    auto submitted = cluster.Submit({{"name", "noops"}, {"probe", {{"kind", "noop"}, {"count", 1000}}}});
    ASSERT_TRUE(submitted) << submitted.error().ToString();
    EXPECT_EQ((*submitted)["jobs"], 1000);
    const auto done = cluster.WaitFinished("noops");
    EXPECT_EQ(done["completed"], 1000);
  }
  const auto jobs = StoredJobs(dir.File("c.db"));
  ASSERT_EQ(jobs.size(), 1000u);
  std::set<std::string> workers;
  for (const auto& j : jobs) {
    EXPECT_EQ(j.state, storage::JobState::kCompleted) << j.key;
    EXPECT_EQ(j.attempts, 1) << j.key;
    workers.insert(j.worker);
  }
  EXPECT_EQ(workers, (std::set<std::string>{"w1", "w2"}));  // both took work
  auto store = *storage::SqliteResultStore::Open(dir.File("c.db"));
  EXPECT_EQ(store->RunsOfExperiment((*store->GetExperiment("noops"))->id)->size(), 1000u);
}

TEST(Coordinator, AWrongOrMissingTokenIsRefusedAndGetsNoWork) {
  qg::testing::TempDir dir;
  Cluster cluster(dir.File("c.db"));
  ASSERT_TRUE(cluster.Submit({{"name", "e"}, {"probe", {{"kind", "noop"}, {"count", 5}}}}));
  {
    RawPeer peer(cluster.endpoint());
    auto reply = peer.Hello("wrong-token-0123456789", "worker", "intruder");
    ASSERT_TRUE(reply);
    EXPECT_EQ((*reply)["type"], "error");
    EXPECT_NE((*reply)["message"].get<std::string>().find("authentication failed"), std::string::npos);
    EXPECT_TRUE(peer.Closed());
  }
  {
    RawPeer peer(cluster.endpoint());
    peer.Challenge();
    peer.Write({{"type", "hello"}, {"protocol", 1}, {"role", "worker"}, {"name", "no-proof"}});
    EXPECT_EQ((*peer.Read())["type"], "error");
    EXPECT_TRUE(peer.Closed());
  }
  // A real worker with the wrong token stops with Unauthenticated.
  worker::WorkerClient bad({.coordinator = cluster.endpoint(), .token = "wrong-token-0123456789", .name = "bad"});
  auto refused = bad.Run();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnauthenticated);
  // A client with the wrong token learns nothing.
  auto status = protocol::Request(cluster.endpoint(), "wrong-token-0123456789", {{"type", "status"}});
  EXPECT_EQ(status.error().code, ErrorCode::kUnauthenticated);
  const auto s = cluster.Status();
  EXPECT_TRUE(s["workers"].empty());
  EXPECT_EQ(s["experiments"][0]["pending"], 5);
}

TEST(Coordinator, ALostWorkersJobIsReleasedAfterItsLeaseExpiresAndCompletesOnce) {
  qg::testing::TempDir dir;
  coord::CoordinatorOptions options;
  options.lease_ms = 600;
  options.heartbeat_ms = 100;
  options.retry.base_ms = 50;
  Cluster cluster(dir.File("c.db"), options);
  ASSERT_TRUE(cluster.Submit({{"name", "e"}, {"probe", {{"kind", "noop"}, {"count", 1}}}}));
  auto peer = std::make_unique<RawPeer>(cluster.endpoint());
  ASSERT_EQ((*peer->Hello(kToken, "worker", "doomed"))["type"], "welcome");
  auto lease = peer->Read();
  ASSERT_TRUE(lease);
  ASSERT_EQ((*lease)["type"], "lease");
  const auto t0 = std::chrono::steady_clock::now();
  peer->Close();  // dies holding the lease
  cluster.AddWorker("rescuer");
  const auto done = cluster.WaitFinished("e");
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(done["completed"], 1);
  EXPECT_GE(waited, 0.5);  // not before the lease expired
  const auto jobs = StoredJobs(dir.File("c.db"));
  EXPECT_EQ(jobs[0].attempts, 2);
  EXPECT_EQ(jobs[0].worker, "rescuer");
}

TEST(Coordinator, ASilentWorkerIsDeclaredDead) {
  qg::testing::TempDir dir;
  coord::CoordinatorOptions options;
  options.heartbeat_ms = 50;
  options.missed_heartbeats = 3;
  Cluster cluster(dir.File("c.db"), options);
  RawPeer peer(cluster.endpoint());
  ASSERT_EQ((*peer.Hello(kToken, "worker", "silent"))["type"], "welcome");
  EXPECT_EQ(cluster.Status()["workers"].size(), 1u);
  EXPECT_TRUE(peer.Closed());  // never beats: dropped
  EXPECT_TRUE(cluster.Status()["workers"].empty());
}

TEST(Coordinator, AGpuJobWaitsForAWorkerWithAGpu) {
  qg::testing::TempDir dir;
  Cluster cluster(dir.File("c.db"));
  cluster.AddWorker("cpu-only", {.cpus = 4, .gpus = 0});
  ASSERT_TRUE(cluster.Submit({{"name", "gpu"}, {"probe", {{"kind", "noop"}, {"count", 2}, {"gpus", 1}}}}));
  ASSERT_TRUE(cluster.Submit({{"name", "cpu"}, {"probe", {{"kind", "noop"}, {"count", 3}}}}));
  cluster.WaitFinished("cpu");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto status = cluster.Status();
  for (const auto& e : status["experiments"]) {
    if (e["name"] == "gpu") {
      EXPECT_EQ(e["pending"], 2) << e.dump();
    }
  }
  cluster.AddWorker("gpu-box", {.cpus = 4, .gpus = 1});
  EXPECT_EQ(cluster.WaitFinished("gpu")["completed"], 2);
  for (const auto& j : StoredJobs(dir.File("c.db"))) {
    if (j.resources["gpus"] == 1) {
      EXPECT_EQ(j.worker, "gpu-box");
    }
  }
}

TEST(Coordinator, FailingJobsAreRetriedThenFailedWithTheirError) {
  qg::testing::TempDir dir;
  coord::CoordinatorOptions options;
  options.retry.base_ms = 20;
  Cluster cluster(dir.File("c.db"), options);
  cluster.AddWorker("w");
  ASSERT_TRUE(cluster.Submit({{"name", "f"}, {"probe", {{"kind", "fail"}, {"count", 2}, {"max_attempts", 3}}}}));
  const auto done = cluster.WaitFinished("f");
  EXPECT_EQ(done["failed"], 2);
  ASSERT_EQ(done["failures"].size(), 2u);
  EXPECT_NE(done["failures"][0]["error"].get<std::string>().find("failed on purpose"), std::string::npos);
  for (const auto& j : StoredJobs(dir.File("c.db"))) EXPECT_EQ(j.attempts, 3);
}

TEST(Coordinator, SurvivesTenThousandFuzzedFramesAndKeepsServing) {
  qg::testing::TempDir dir;
  coord::CoordinatorOptions options;
  options.handshake_timeout_ms = 2000;
  Cluster cluster(dir.File("c.db"), options);
  cluster.AddWorker("good");
  ASSERT_TRUE(cluster.Submit({{"name", "during"}, {"probe", {{"kind", "noop"}, {"count", 200}}}}));
  std::mt19937 rng(42);
  auto bytes = [&](size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
  };
  auto header = [](uint32_t n) {
    return std::string{static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                       static_cast<char>(n)};
  };
  int sent = 0;
  while (sent < 10000) {
    // Some attacks come after a valid handshake, most before it.
    RawPeer peer(cluster.endpoint());
    const bool authenticated = rng() % 4 == 0;
    if (authenticated) {
      // Workers offering nothing, so no job is leased to them.
      auto welcome = peer.Hello(kToken, rng() % 2 ? "worker" : "client", "fuzz-" + std::to_string(sent), {{"cpus", 0}});
      if (!welcome || (*welcome)["type"] != "welcome") {
        ADD_FAILURE() << "a valid handshake was refused during the fuzzing";
        break;
      }
    } else {
      peer.Challenge();
    }
    for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n && sent < 10000; ++k, ++sent) {
      switch (rng() % 8) {
        case 0: peer.WriteRaw(bytes(1 + rng() % 64)); break;                        // noise
        case 1: peer.WriteRaw(header(0xffffffffu - rng() % 1000)); break;           // oversized
        case 2: peer.WriteRaw(header(100) + bytes(rng() % 100)); break;             // truncated
        case 3: peer.WriteRaw(header(0)); break;                                    // empty
        case 4: { auto p = bytes(rng() % 200 + 1); peer.WriteRaw(header(p.size()) + p); break; }  // not JSON
        case 5: peer.Write({{"type", bytes(8)}, {"x", rng()}}); break;              // unknown type
        case 6: peer.Write({{"type", "result"}, {"lease_id", bytes(4)}, {"run", {{"bogus", 1}}}}); break;
        default: peer.Write({{"type", "hello"}, {"protocol", rng() % 3}, {"role", "worker"}, {"name", bytes(300)}});
      }
    }
    peer.Close();
  }
  EXPECT_EQ(cluster.WaitFinished("during")["completed"], 200);
  // Still serving: a new sweep on the good worker.
  ASSERT_TRUE(cluster.Submit({{"name", "after"}, {"probe", {{"kind", "noop"}, {"count", 50}}}}));
  EXPECT_EQ(cluster.WaitFinished("after")["completed"], 50);
  EXPECT_EQ(cluster.Status()["workers"].size(), 1u);
}

TEST(Coordinator, CancelStopsAnExperiment) {
  qg::testing::TempDir dir;
  Cluster cluster(dir.File("c.db"));
  cluster.AddWorker("w");
  ASSERT_TRUE(cluster.Submit({{"name", "slow"}, {"probe", {{"kind", "sleep"}, {"count", 20}, {"seconds", 0.2}}}}));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto cancelled = protocol::Request(cluster.endpoint(), kToken, {{"type", "cancel"}, {"experiment", "slow"}});
  ASSERT_TRUE(cancelled);
  const auto e = cluster.WaitFinished("slow", 5);
  EXPECT_GE(e["cancelled"].get<int>(), 15);
  EXPECT_EQ(e["completed"].get<int>() + e["cancelled"].get<int>(), 20);
  auto unknown = protocol::Request(cluster.endpoint(), kToken, {{"type", "cancel"}, {"experiment", "nope"}});
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace qg::cluster
