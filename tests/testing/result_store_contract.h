// The ResultStore contract as tests written against the abstract type (c10d's
// StoreTestCommon shape): every implementation instantiates them with a
// factory. See storage/result_store.h for the contract itself.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "storage/result_store.h"
#include "tests/testing/record_fixtures.h"

namespace qg::testing {

using StoreFactory = std::function<std::unique_ptr<storage::ResultStore>()>;

class ResultStoreContract : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override { store_ = GetParam()(); }
  std::unique_ptr<storage::ResultStore> store_;
};

TEST_P(ResultStoreContract, ExperimentsAreCreatedOnceAndUpdated) {
  const auto id = store_->PutExperiment("paper", {{"v", 1}});
  ASSERT_TRUE(id) << id.error().ToString();
  EXPECT_EQ(*store_->PutExperiment("paper", {{"v", 2}}), *id);
  const auto found = *store_->GetExperiment("paper");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->spec["v"], 2);
  EXPECT_FALSE(*store_->GetExperiment("nope"));
  EXPECT_EQ(store_->ListExperiments()->size(), 1u);
}

TEST_P(ResultStoreContract, JobsRoundTripAndSyncIsIdempotent) {
  const int64_t e = *store_->PutExperiment("e", {});
  const auto train = MakeJob("train/seed0", "train", {{"epochs", 3}});
  const auto quant = MakeJob("quantize/ptq", "quantize", {{"strategy", "naive_ptq"}}, {"train/seed0"});
  ASSERT_TRUE(store_->SyncJobs(e, {train, quant}));
  ASSERT_TRUE(store_->SyncJobs(e, {train, quant}));
  const auto jobs = *store_->ListJobs(e);
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[1].key, "quantize/ptq");
  EXPECT_EQ(jobs[1].deps, (std::vector<std::string>{"train/seed0"}));
  EXPECT_EQ(jobs[1].config, quant.config);
  EXPECT_EQ(jobs[1].state, storage::JobState::kPending);
  auto running = jobs[0];
  running.state = storage::JobState::kRunning;
  running.attempts = 1;
  running.worker = "w1";
  running.lease_id = "L1";
  ASSERT_TRUE(store_->UpdateJob(running));
  ASSERT_TRUE(store_->SyncJobs(e, {train, quant}));  // a resubmit keeps a running job running
  const auto again = *store_->GetJob(running.id);
  EXPECT_EQ(again.state, storage::JobState::kRunning);
  EXPECT_EQ(again.worker, "w1");
  EXPECT_EQ(*store_->RequeueRunningJobs(), 1);
  EXPECT_EQ(store_->GetJob(running.id)->state, storage::JobState::kPending);
  EXPECT_EQ(store_->GetJob(999999).error().code, ErrorCode::kNotFound);
}

TEST_P(ResultStoreContract, CompletingStoresEverythingOnceAndResumesByHash) {
  const int64_t e = *store_->PutExperiment("e", {});
  const auto job = MakeJob("quantize/ptq", "quantize", {{"strategy", "naive_ptq"}});
  ASSERT_TRUE(store_->SyncJobs(e, {job}));
  const int64_t id = store_->ListJobs(e)->front().id;
  ASSERT_TRUE(store_->CompleteJob(id, MakeRun(job, 90.5)));
  ASSERT_TRUE(store_->CompleteJob(id, MakeRun(job, 11.0)));  // delivered twice: stored once
  const auto run = *store_->FindRun(job.config_hash);
  ASSERT_TRUE(run);
  EXPECT_DOUBLE_EQ(run->metrics.at("top1"), 90.5);
  EXPECT_EQ(run->documents.at("confusion")[0][0], 1);
  ASSERT_EQ(run->artifacts.size(), 1u);
  EXPECT_EQ(run->artifacts[0].sha256, "ab12");
  EXPECT_EQ(run->result["note"], "whole result");
  EXPECT_EQ(store_->GetJob(id)->state, storage::JobState::kCompleted);
  EXPECT_EQ(store_->RunsOfExperiment(e)->size(), 1u);

  // Another experiment with the same job finds its result without running it.
  const int64_t e2 = *store_->PutExperiment("e2", {});
  ASSERT_TRUE(store_->SyncJobs(e2, {job}));
  EXPECT_EQ(store_->ListJobs(e2)->front().state, storage::JobState::kCompleted);

  // --force: the run is forgotten and the job pends again.
  ASSERT_TRUE(store_->DeleteRun(job.config_hash));
  ASSERT_TRUE(store_->SyncJobs(e, {job}));
  EXPECT_EQ(store_->ListJobs(e)->front().state, storage::JobState::kPending);
  EXPECT_FALSE(*store_->FindRun(job.config_hash));
}

TEST_P(ResultStoreContract, ResultForAnotherConfigIsRefused) {
  const int64_t e = *store_->PutExperiment("e", {});
  const auto job = MakeJob("a", "noop", {{"x", 1}});
  const auto other = MakeJob("b", "noop", {{"x", 2}});
  ASSERT_TRUE(store_->SyncJobs(e, {job}));
  const auto r = store_->CompleteJob(store_->ListJobs(e)->front().id, MakeRun(other, 1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(*store_->FindRun(other.config_hash));
}

TEST_P(ResultStoreContract, ChangedConfigMakesTheJobPendingAgain) {
  const int64_t e = *store_->PutExperiment("e", {});
  auto job = MakeJob("train", "train", {{"epochs", 3}});
  ASSERT_TRUE(store_->SyncJobs(e, {job}));
  ASSERT_TRUE(store_->CompleteJob(store_->ListJobs(e)->front().id, MakeRun(job, 90)));
  job = MakeJob("train", "train", {{"epochs", 4}});
  ASSERT_TRUE(store_->SyncJobs(e, {job}));
  const auto jobs = *store_->ListJobs(e);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].state, storage::JobState::kPending);
  EXPECT_EQ(jobs[0].config_hash, job.config_hash);
}

}  // namespace qg::testing
