#include "coordinator/job_queue.h"

#include <gtest/gtest.h>

#include "core/base/config_hash.h"
#include "core/base/fake_clock.h"
#include "storage/sqlite_result_store.h"
#include "tests/testing/temp_dir.h"

namespace qg::coord {
namespace {

using storage::JobRecord;
using storage::JobState;

JobRecord Job(const std::string& key, std::vector<std::string> deps = {}, nlohmann::json resources = {{"cpus", 1}}) {
  JobRecord j;
  j.key = key;
  j.kind = "noop";
  j.config = {{"key", key}};
  j.config_hash = ConfigHash(j.config);
  j.deps = std::move(deps);
  j.resources = std::move(resources);
  return j;
}

storage::RunRecord RunFor(const Lease& lease) {
  storage::RunRecord run;
  run.config_hash = lease.request.config_hash;
  run.kind = lease.request.kind;
  run.job_key = lease.request.key;
  return run;
}

class JobQueueTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    queue_.reset();
    store_ = std::move(*storage::SqliteResultStore::Open(dir_.File("q.db"), clock_, {}));
    queue_ = std::make_unique<JobQueue>(*store_, clock_, RetryPolicy{.base_ms = 1000, .max_ms = 4000}, "runs");
    ASSERT_TRUE(queue_->Recover());
  }
  std::optional<Lease> Next(protocol::Resources free = {.cpus = 4}) {
    auto lease = queue_->LeaseNext(free, "w1", 10000);
    EXPECT_TRUE(lease);
    return lease ? *lease : std::nullopt;
  }
  JobState StateOf(const std::string& key) {
    const auto jobs = *store_->ListJobs(std::nullopt);
    for (const auto& j : jobs) {
      if (j.key == key) return j.state;
    }
    ADD_FAILURE() << "no job " << key;
    return JobState::kCancelled;
  }

  qg::testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<storage::SqliteResultStore> store_;
  std::unique_ptr<JobQueue> queue_;
};

TEST_F(JobQueueTest, DependentsWaitAndReceiveTheirDependencyRuns) {
  ASSERT_TRUE(queue_->Submit("e", {}, {Job("train"), Job("quant", {"train"})}, false));
  auto train = Next();
  ASSERT_TRUE(train);
  EXPECT_EQ(train->request.key, "train");
  EXPECT_FALSE(Next());  // quant waits for train
  ASSERT_TRUE(*queue_->Complete(train->lease_id, RunFor(*train)));
  auto quant = Next();
  ASSERT_TRUE(quant);
  EXPECT_EQ(quant->request.key, "quant");
  ASSERT_EQ(quant->request.deps.count("train"), 1u);
  EXPECT_EQ(quant->request.deps.at("train").config_hash, train->request.config_hash);
  EXPECT_EQ(quant->request.work_dir, exp::JobWorkDir("runs", quant->request.config_hash));
}

// What a tune reads back between its rounds: each completed job's run under
// that job's key, and the keys of jobs that failed for good.
TEST_F(JobQueueTest, OutcomesGiveCompletedRunsByJobKeyAndFailedKeys) {
  EXPECT_EQ(queue_->Outcomes("e").error().code, ErrorCode::kNotFound);
  auto doomed = Job("doomed");
  doomed.max_attempts = 1;
  ASSERT_TRUE(queue_->Submit("e", {}, {Job("a"), doomed}, false));
  for (int i = 0; i < 2; ++i) {
    auto lease = Next();
    ASSERT_TRUE(lease);
    if (lease->request.key == "a") {
      ASSERT_TRUE(*queue_->Complete(lease->lease_id, RunFor(*lease)));
    } else {
      ASSERT_TRUE(*queue_->Fail(lease->lease_id, Error::Internal("boom")));
    }
  }
  auto out = queue_->Outcomes("e");
  ASSERT_TRUE(out);
  ASSERT_EQ(out->runs.size(), 1u);
  EXPECT_EQ(out->runs[0].job_key, "a");
  ASSERT_EQ(out->failed.size(), 1u);
  EXPECT_EQ(out->failed[0].first, "doomed");
  EXPECT_NE(out->failed[0].second.find("boom"), std::string::npos);
}

TEST_F(JobQueueTest, OnlyJobsThatFitTheFreeResourcesAreLeased) {
  ASSERT_TRUE(queue_->Submit("e", {}, {Job("gpu", {}, {{"cpus", 1}, {"gpus", 1}}), Job("cpu")}, false));
  auto first = Next({.cpus = 2, .gpus = 0});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->request.key, "cpu");
  EXPECT_FALSE(Next({.cpus = 2, .gpus = 0}));
  auto gpu = Next({.cpus = 2, .gpus = 1});
  ASSERT_TRUE(gpu);
  EXPECT_EQ(gpu->request.key, "gpu");
  EXPECT_EQ(gpu->need.gpus, 1);
}

// An export asks for the CPU that quantized its model (same_cpu_as): a
// worker of another CPU leaves it to a connected worker of that CPU that fits
// it, and takes it when there is none, so it never waits forever.
TEST_F(JobQueueTest, AJobThatAsksForItsDependencysCpuWaitsForAWorkerOfThatCpuIfOneIsHere) {
  ASSERT_TRUE(queue_->Submit("e", {}, {Job("quant"), Job("export", {"quant"}, {{"cpus", 2}, {"same_cpu_as", "quant"}})},
                             false));
  const protocol::Resources vnni{.cpus = 4, .cpu = "EPYC (family 26, AVX-512, VNNI)"};
  const protocol::Resources avx2{.cpus = 4, .cpu = "EPYC (family 25, AVX2, no VNNI)"};
  auto lease = [&](protocol::Resources free, const std::vector<protocol::Resources>& workers) {
    auto next = queue_->LeaseNext(free, free.cpu, 10000, workers);
    EXPECT_TRUE(next);
    return next && *next ? (*next)->request.key : std::string();
  };
  auto quant = *queue_->LeaseNext(vnni, "w-vnni", 10000, {vnni, avx2});
  ASSERT_TRUE(quant);
  auto run = RunFor(*quant);
  run.cpu_model = vnni.cpu;
  ASSERT_TRUE(*queue_->Complete(quant->lease_id, run));

  EXPECT_EQ(lease(avx2, {vnni, avx2}), "");  // the VNNI worker is here
  protocol::Resources busy = vnni;
  busy.cpus = 1;
  EXPECT_EQ(lease(busy, {vnni, avx2}), "");  // ... and busy: the export waits for it
  Reopen();                                  // a new coordinator reads the CPU from the stored run
  EXPECT_EQ(lease(avx2, {vnni, avx2}), "");
  protocol::Resources small = vnni;
  small.cpus = 1;
  EXPECT_EQ(lease(avx2, {small, avx2}), "export");  // no worker of that CPU could run it
  Reopen();
  EXPECT_EQ(lease(avx2, {avx2}), "export");  // none connected
  Reopen();
  EXPECT_EQ(lease(vnni, {vnni, avx2}), "export");
}

TEST_F(JobQueueTest, ExperimentsTakeTurns) {
  ASSERT_TRUE(queue_->Submit("a", {}, {Job("a1"), Job("a2"), Job("a3")}, false));
  ASSERT_TRUE(queue_->Submit("b", {}, {Job("b1"), Job("b2")}, false));
  std::string order;
  while (auto lease = Next()) order += lease->request.key + " ";
  EXPECT_EQ(order, "a1 b1 a2 b2 a3 ");
}

TEST_F(JobQueueTest, AResultCountsOnlyForTheCurrentLease) {
  ASSERT_TRUE(queue_->Submit("e", {}, {Job("j")}, false));
  auto first = Next();
  ASSERT_TRUE(first);
  clock_.Advance(std::chrono::seconds(11));
  auto expired = queue_->ExpireLeases();
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->size(), 1u);
  EXPECT_FALSE(Next());  // backing off
  clock_.Advance(std::chrono::seconds(2));
  auto second = Next();
  ASSERT_TRUE(second);
  EXPECT_NE(second->lease_id, first->lease_id);
  EXPECT_FALSE(*queue_->Complete(first->lease_id, RunFor(*first)));  // stale: dropped
  EXPECT_EQ(StateOf("j"), JobState::kRunning);
  EXPECT_TRUE(*queue_->Complete(second->lease_id, RunFor(*second)));
  EXPECT_FALSE(*queue_->Complete(second->lease_id, RunFor(*second)));  // delivered twice
  EXPECT_EQ(StateOf("j"), JobState::kCompleted);
  EXPECT_EQ(store_->RunsOfExperiment((*store_->GetExperiment("e"))->id)->size(), 1u);
  EXPECT_EQ(store_->GetJob(second->job_id)->attempts, 2);
}

TEST_F(JobQueueTest, HeartbeatsKeepALeaseAlive) {
  ASSERT_TRUE(queue_->Submit("e", {}, {Job("j")}, false));
  auto lease = Next();
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(std::chrono::seconds(6));
    EXPECT_TRUE(queue_->Renew(lease->lease_id, 10000));
    EXPECT_TRUE(queue_->ExpireLeases()->empty());
  }
  EXPECT_FALSE(queue_->Renew("no-such-lease", 10000));
}

TEST_F(JobQueueTest, FailuresBackOffThenFailAndCancelDependents) {
  auto j = Job("flaky");
  j.max_attempts = 3;
  ASSERT_TRUE(queue_->Submit("e", {}, {j, Job("after", {"flaky"}), Job("later", {"after"})}, false));
  std::vector<int64_t> waits;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    std::optional<Lease> lease;
    int64_t waited = 0;
    while (!(lease = Next())) {
      clock_.Advance(std::chrono::milliseconds(100));
      waited += 100;
    }
    waits.push_back(waited);
    ASSERT_TRUE(*queue_->Fail(lease->lease_id, Error::Internal("boom {}", attempt)));
  }
  EXPECT_EQ(waits, (std::vector<int64_t>{0, 1000, 2000}));  // exponential backoff
  EXPECT_EQ(StateOf("flaky"), JobState::kFailed);
  EXPECT_EQ(store_->ListJobs(std::nullopt)->front().last_error, "internal: boom 3");
  EXPECT_EQ(StateOf("after"), JobState::kCancelled);
  EXPECT_EQ(StateOf("later"), JobState::kCancelled);
  const auto summary = queue_->Summary();
  EXPECT_EQ(summary[0]["failed"], 1);
  EXPECT_EQ(summary[0]["cancelled"], 2);
  // Resubmitting gives failed jobs fresh attempts.
  ASSERT_TRUE(queue_->Submit("e", {}, {j, Job("after", {"flaky"}), Job("later", {"after"})}, false));
  EXPECT_EQ(StateOf("flaky"), JobState::kPending);
  EXPECT_TRUE(Next());
}

TEST_F(JobQueueTest, BadInputIsNotRetried) {
  ASSERT_TRUE(queue_->Submit("e", {}, {Job("j")}, false));
  auto lease = Next();
  ASSERT_TRUE(*queue_->Fail(lease->lease_id, Error::InvalidArgument("unknown model 'x'")));
  EXPECT_EQ(StateOf("j"), JobState::kFailed);
}

TEST_F(JobQueueTest, RecoveryRequeuesLeasedJobsAndKeepsCompletedOnes) {
  ASSERT_TRUE(queue_->Submit("e", {}, {Job("done"), Job("leased"), Job("waiting")}, false));
  auto done = Next();
  auto leased = Next();
  ASSERT_TRUE(*queue_->Complete(done->lease_id, RunFor(*done)));
  Reopen();  // the coordinator crashed with `leased` out
  EXPECT_EQ(StateOf("leased"), JobState::kPending);
  EXPECT_EQ(StateOf("done"), JobState::kCompleted);
  std::set<std::string> keys;
  while (auto lease = Next()) keys.insert(lease->request.key);
  EXPECT_EQ(keys, (std::set<std::string>{"leased", "waiting"}));
}

TEST_F(JobQueueTest, ResubmittingRerunsNothingThatIsStored) {
  ASSERT_TRUE(queue_->Submit("e", {}, {Job("a"), Job("b")}, false));
  while (auto lease = Next()) ASSERT_TRUE(*queue_->Complete(lease->lease_id, RunFor(*lease)));
  auto again = queue_->Submit("e", {}, {Job("a"), Job("b")}, false);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->cached, 2);
  EXPECT_FALSE(Next());
  // --force forgets the stored runs.
  auto forced = queue_->Submit("e", {}, {Job("a"), Job("b")}, true);
  EXPECT_EQ(forced->cached, 0);
  EXPECT_TRUE(Next());
}

TEST_F(JobQueueTest, CancelRevokesRunningAndDropsPending) {
  ASSERT_TRUE(queue_->Submit("e", {}, {Job("a"), Job("b")}, false));
  auto a = Next();
  auto revoked = queue_->Cancel("e");
  ASSERT_TRUE(revoked);
  EXPECT_EQ(*revoked, std::vector<std::string>{a->lease_id});
  EXPECT_EQ(StateOf("a"), JobState::kCancelled);
  EXPECT_EQ(StateOf("b"), JobState::kCancelled);
  EXPECT_FALSE(*queue_->Complete(a->lease_id, RunFor(*a)));
  EXPECT_EQ(queue_->Cancel("nope").error().code, ErrorCode::kNotFound);
}

TEST_F(JobQueueTest, ABadDagIsRefusedBeforeAnythingIsStored) {
  auto bad = queue_->Submit("e", {}, {Job("a", {"missing"})}, false);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(*store_->GetExperiment("e"));
  auto negative = queue_->Submit("e", {}, {Job("a", {}, {{"cpus", -1}})}, false);
  ASSERT_FALSE(negative);
  EXPECT_NE(negative.error().message.find("job 'a'"), std::string::npos);
}

}  // namespace
}  // namespace qg::coord
