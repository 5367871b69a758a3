// The coordinator alone, on a fake clock: leases, heartbeats and retries move
// when the test moves time, never by sleeping through them. Peers speak the
// protocol by hand (tests/testing/raw_peer.h). Real workers and the embedded
// cluster are in cluster/cluster_test.cc.
#include "coordinator/coordinator.h"

#include <gtest/gtest.h>

#include "storage/sqlite_result_store.h"
#include "tests/testing/coordinator_harness.h"

namespace qg::coord {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using qg::testing::kHarnessToken;

class CoordinatorTest : public qg::testing::CoordinatorHarness {
 protected:
  std::vector<storage::JobRecord> StoredJobs() {
    auto store = *storage::SqliteResultStore::Open(dir_.File("c.db"), SystemClock::Instance(), {.read_only = true});
    return *store->ListJobs(std::nullopt);
  }
};

TEST_F(CoordinatorTest, ALostWorkersLeaseExpiresWhenTheClockSaysSoAndTheJobCompletesOnce) {
  Start();
  ASSERT_TRUE(Submit({{"name", "e"}, {"probe", {{"kind", "noop"}, {"count", 1}}}}));
  auto doomed = Worker("doomed");
  ASSERT_EQ((*doomed->Read())["type"], "lease");
  doomed->Close();  // dies holding the lease
  auto rescuer = Worker("rescuer");
  EXPECT_FALSE(rescuer->ReadWithin(200)) << "no lease before the old one expired (no fake time has passed)";
  Advance(milliseconds(1001));  // the lease expires: the job waits out its 50 ms backoff
  Advance(milliseconds(60));
  auto lease = rescuer->ReadWithin(5000);
  ASSERT_TRUE(lease);
  ASSERT_EQ((*lease)["type"], "lease");
  rescuer->Write(ResultFor(*lease));
  ASSERT_TRUE(WaitFor([&] { return Experiment("e").value("completed", 0) == 1; }));
  const auto jobs = StoredJobs();
  EXPECT_EQ(jobs[0].attempts, 2);
  EXPECT_EQ(jobs[0].worker, "rescuer");
}

TEST_F(CoordinatorTest, ASilentWorkerIsDeclaredDeadAfterItsMissedHeartbeatsOfClockTime) {
  Start();
  auto silent = Worker("silent");
  EXPECT_EQ(ClusterStatus()["workers"].size(), 1u);
  Advance(milliseconds(19900));  // 1000 missed beats of 20 ms: 20 s
  EXPECT_EQ(ClusterStatus()["workers"].size(), 1u);
  silent->Write({{"type", "heartbeat"}, {"running", json::array()}});
  std::this_thread::sleep_for(milliseconds(50));  // the beat arrives before time moves on
  Advance(milliseconds(19800));
  EXPECT_EQ(ClusterStatus()["workers"].size(), 1u) << "a beat moved its deadline on";
  Advance(milliseconds(300));
  EXPECT_TRUE(silent->Closed());
  EXPECT_TRUE(ClusterStatus()["workers"].empty());
}

TEST_F(CoordinatorTest, FailuresRetryAfterTheirBackoffThenFailWithTheirError) {
  auto options = DefaultOptions();
  options.retry = {.base_ms = 1000, .max_ms = 4000, .jitter = 0};
  Start(options);
  ASSERT_TRUE(Submit({{"name", "f"}, {"probe", {{"kind", "fail"}, {"count", 1}, {"max_attempts", 3}}}}));
  auto w = Worker("w");
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto lease = w->ReadWithin(3000);
    ASSERT_TRUE(lease) << "attempt " << attempt;
    w->Write({{"type", "result"}, {"lease_id", (*lease)["lease_id"]}, {"job_id", (*lease)["job_id"]},
              {"error", {{"code", "internal"}, {"message", "failed on purpose"}}}});
    if (attempt == 3) break;
    EXPECT_FALSE(w->ReadWithin(150)) << "attempt " << attempt + 1 << " came before its backoff";
    Advance(milliseconds(1000 << (attempt - 1)));
  }
  ASSERT_TRUE(WaitFor([&] { return Experiment("f").value("failed", 0) == 1; }));
  const auto e = Experiment("f");
  EXPECT_NE(e["failures"][0]["error"].get<std::string>().find("failed on purpose"), std::string::npos);
  EXPECT_EQ(StoredJobs()[0].attempts, 3);
}

// Leases and deaths run on steady time: an NTP step of the wall clock, an
// hour either way, expires no lease and kills no worker.
TEST_F(CoordinatorTest, AWallClockJumpOfAnHourLeavesEveryLeaseAlone) {
  Start();
  ASSERT_TRUE(Submit({{"name", "e"}, {"probe", {{"kind", "noop"}, {"count", 1}}}}));
  auto w = Worker("w");
  auto lease = w->Read();
  ASSERT_TRUE(lease);
  clock_.JumpWall(std::chrono::hours(1));
  Advance(milliseconds(500));
  clock_.JumpWall(-std::chrono::hours(2));
  Advance(milliseconds(400));
  EXPECT_EQ(Experiment("e")["running"], 1);
  EXPECT_EQ(ClusterStatus()["workers"].size(), 1u);
  w->Write(ResultFor(*lease));
  ASSERT_TRUE(WaitFor([&] { return Experiment("e").value("completed", 0) == 1; }));
  EXPECT_EQ(StoredJobs()[0].attempts, 1);
}

TEST_F(CoordinatorTest, AWrongOrMissingTokenIsRefusedAndGetsNoWork) {
  Start();
  ASSERT_TRUE(Submit({{"name", "e"}, {"probe", {{"kind", "noop"}, {"count", 5}}}}));
  {
    qg::testing::RawPeer peer(endpoint());
    auto reply = peer.Hello("wrong-token-0123456789", "worker", "intruder");
    ASSERT_TRUE(reply);
    EXPECT_EQ((*reply)["type"], "error");
    EXPECT_NE((*reply)["message"].get<std::string>().find("authentication failed"), std::string::npos);
    EXPECT_TRUE(peer.Closed());
  }
  {
    qg::testing::RawPeer peer(endpoint());
    peer.Challenge();
    peer.Write({{"type", "hello"}, {"protocol", 1}, {"role", "worker"}, {"name", "no-proof"}});
    EXPECT_EQ((*peer.Read())["type"], "error");
    EXPECT_TRUE(peer.Closed());
  }
  auto status = protocol::Request(endpoint(), "wrong-token-0123456789", {{"type", "status"}});
  EXPECT_EQ(status.error().code, ErrorCode::kUnauthenticated);
  EXPECT_TRUE(ClusterStatus()["workers"].empty());
  EXPECT_EQ(Experiment("e")["pending"], 5) << ClusterStatus().dump();
}

// An export asks for the CPU that quantized its model: over the wire, the
// coordinator leaves it to the worker that names that CPU in its hello, and
// gives it to another CPU only once that worker is gone.
TEST_F(CoordinatorTest, AJobOnItsDependencysCpuWaitsForThatCpusWorkerWhileItIsConnected) {
  Start();
  auto worker_on = [&](const std::string& name, int cpus, const std::string& cpu) {
    auto peer = std::make_unique<qg::testing::RawPeer>(endpoint());
    auto welcome = peer->Hello(kHarnessToken, "worker", name, {{"cpus", cpus}, {"cpu", cpu}});
    EXPECT_TRUE(welcome && (*welcome)["type"] == "welcome");
    return peer;
  };
  // The AVX2 worker joins first, so it is offered every job first; only the
  // VNNI worker fits the first job (2 cpus), which stands for the quantize job.
  auto avx2 = worker_on("avx2", 1, "EPYC (family 25, AVX2, no VNNI)");
  auto vnni = worker_on("vnni", 2, "EPYC (family 26, AVX-512, VNNI)");
  const json spec{{"name", "e"}, {"probe", {{"kind", "noop"}, {"count", 2}}}};
  auto jobs = *exp::ExpandProbeSpec(spec);
  jobs[0].resources["cpus"] = 2;
  jobs[1].resources = {{"cpus", 1}, {"same_cpu_as", jobs[0].key}};
  jobs[1].deps = {jobs[0].key};
  ASSERT_TRUE(protocol::Request(endpoint(), kHarnessToken, protocol::SubmitMessage("e", spec, jobs, false)));
  auto quantize = vnni->ReadWithin(5000);
  ASSERT_TRUE(quantize);
  ASSERT_EQ((*quantize)["request"]["key"], jobs[0].key);
  json result = ResultFor(*quantize);
  result["run"]["cpu_model"] = "EPYC (family 26, AVX-512, VNNI)";
  vnni->Write(result);

  auto exported = vnni->ReadWithin(5000);
  ASSERT_TRUE(exported);
  EXPECT_EQ((*exported)["request"]["key"], jobs[1].key);
  EXPECT_FALSE(avx2->ReadWithin(200)) << "the AVX2 worker got the export while the VNNI worker was connected";
  vnni->Close();  // dies holding the export: once its lease expires, the AVX2 worker runs it
  ASSERT_TRUE(WaitFor([&] { return ClusterStatus()["workers"].size() == 1; }));
  Advance(milliseconds(1001));
  Advance(milliseconds(60));
  auto rescued = avx2->ReadWithin(5000);
  ASSERT_TRUE(rescued);
  EXPECT_EQ((*rescued)["request"]["key"], jobs[1].key);
}

}  // namespace
}  // namespace qg::coord
