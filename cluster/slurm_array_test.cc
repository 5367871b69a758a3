// A Slurm array task (worker/slurm_task.h) and the backend that submitted it
// (coordinator/slurm), without a cluster: the task runs in this process on
// probe jobs, writes its outcome file, and the backend's Refresh ingests it
// into the store. No task opens the store. The real cluster runs in
// tests/e2e/slurm_test.cc.
#include <gtest/gtest.h>

#include <filesystem>

#include "coordinator/slurm/fake_slurm.h"
#include "coordinator/slurm/slurm_backend.h"
#include "core/base/config_hash.h"
#include "core/base/fake_clock.h"
#include "storage/sqlite_result_store.h"
#include "tests/testing/temp_dir.h"
#include "worker/slurm_task.h"

namespace qg::slurm {
namespace {

using storage::JobRecord;
using storage::JobState;

// The backend's fixture, plus running a task in this process.
class ArrayTaskTest : public SlurmBackendTest {
 protected:
  // Runs task `index` of array `array` (100, 101, ...), then ingests what it left.
  Status RunTask(int64_t array, int64_t index) {
    std::string manifest;
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path() / "slurm" / "grid")) {
      if (entry.path().extension() == ".json" &&
          entry.path().filename().string().rfind(fmt::format("a{}-", array - 100), 0) == 0) {
        manifest = entry.path().string();
      }
    }
    auto ran = worker::RunArrayTask({.manifest = manifest, .index = index, .host = "node1"});
    if (auto ingested = backend_->Refresh("grid"); !ingested) return ingested.error();
    return ran;
  }
};

TEST_F(ArrayTaskTest, RunsItsJobAndStoresTheResult) {
  ASSERT_TRUE(Submit(Grid()));
  ASSERT_TRUE(RunTask(100, 0));
  const auto train = Stored("train/seed0");
  EXPECT_EQ(train.state, JobState::kCompleted);
  EXPECT_EQ(train.attempts, 1);
  EXPECT_EQ(train.worker, "slurm:100_0@node1");
  EXPECT_EQ(SlurmBackend::TaskOf(train), (TaskId{100, 0})) << "the task is known after the lease ended";
  EXPECT_TRUE(*store_->FindRun(train.config_hash));
  ASSERT_TRUE(RunTask(101, 1));  // tasks follow the keys' order: fp16, fp32, naive_ptq
  EXPECT_EQ(Stored("quantize/fp32").state, JobState::kCompleted);
  EXPECT_EQ(RunTask(101, 7).error().code, ErrorCode::kInvalidArgument) << "index outside the manifest";
}

TEST_F(ArrayTaskTest, AFailingJobIsStoredAsFailedAndItsDependentsAreCancelledNotRun) {
  auto jobs = Grid();
  jobs[0].kind = "fail";
  ASSERT_TRUE(Submit(jobs));
  const auto failed = RunTask(100, 0);
  ASSERT_FALSE(failed);
  EXPECT_EQ(Stored("train/seed0").state, JobState::kFailed);
  EXPECT_FALSE(Stored("train/seed0").last_error.empty());
  ASSERT_TRUE(RunTask(101, 0)) << "a job whose dependency failed is not an error of its own";
  int cancelled = 0;
  for (const char* key : {"quantize/fp32", "quantize/naive_ptq", "quantize/fp16"}) {
    cancelled += Stored(key).state == JobState::kCancelled;
  }
  EXPECT_EQ(cancelled, 1);
}

// An export that follows its quantize job in the task runs after it, on the
// same host; one whose quantize job failed is cancelled, not run, and the task
// says the quantize job's error.
TEST_F(ArrayTaskTest, AJobThatFollowsRunsAfterItsDependencyOnTheSameHost) {
  auto jobs = Grid();
  jobs[2].kind = "fail";  // quantize/naive_ptq
  for (const char* name : {"fp32", "naive_ptq"}) {
    const std::string quantize = std::string("quantize/") + name;
    jobs.push_back(Job(std::string("export/") + name, "noop", {quantize}, {{"cpus", 2}, {"same_cpu_as", quantize}}));
  }
  ASSERT_TRUE(Submit(jobs));
  ASSERT_TRUE(RunTask(100, 0));
  ASSERT_TRUE(RunTask(103, 0));  // a3-w1-noop+noop: quantize/fp32, then export/fp32
  EXPECT_EQ(Stored("quantize/fp32").state, JobState::kCompleted);
  EXPECT_EQ(Stored("export/fp32").state, JobState::kCompleted);
  EXPECT_EQ(Stored("export/fp32").worker, "slurm:103_0@node1");
  EXPECT_EQ(Stored("quantize/fp16").state, JobState::kPending) << "another array's task";
  const auto failed = RunTask(101, 0);  // a1-w1-fail+noop
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().ToString().find("quantize/naive_ptq"), std::string::npos) << failed.error().ToString();
  EXPECT_EQ(Stored("quantize/naive_ptq").state, JobState::kFailed);
  EXPECT_EQ(Stored("export/naive_ptq").state, JobState::kCancelled);
  EXPECT_FALSE(*store_->FindRun(Stored("export/naive_ptq").config_hash));
}

TEST_F(ArrayTaskTest, ACancelledJobIsNotRun) {
  ASSERT_TRUE(Submit(Grid()));
  ASSERT_TRUE(backend_->Cancel("grid", "train/seed0"));
  ASSERT_TRUE(RunTask(100, 0));
  EXPECT_EQ(Stored("train/seed0").state, JobState::kCancelled);
  EXPECT_FALSE(*store_->FindRun(Stored("train/seed0").config_hash));
}

// The store has exactly one writer, the ingesting client: tasks leave files,
// an ingester killed half-way loses nothing (the files stay), and ingesting
// twice stores nothing twice.
TEST_F(ArrayTaskTest, IngestingIsIdempotentAndNoTaskWritesTheStore) {
  std::vector<JobRecord> jobs;
  for (int i = 0; i < 20; ++i) jobs.push_back(Job("probe/" + std::to_string(i), "noop"));
  ASSERT_TRUE(Submit(jobs));
  const auto before = std::filesystem::last_write_time(dir_.File("q.db"));
  for (int i = 0; i < 20; ++i) {
    std::string manifest = (dir_.path() / "slurm" / "grid" / "a0-w0-noop.json").string();
    ASSERT_TRUE(worker::RunArrayTask({.manifest = manifest, .index = i, .host = "node1"}));
  }
  EXPECT_EQ(std::filesystem::last_write_time(dir_.File("q.db")), before) << "a task touched the database";
  ASSERT_TRUE(backend_->Refresh("grid"));
  ASSERT_TRUE(backend_->Refresh("grid"));
  const int64_t id = (*store_->GetExperiment("grid"))->id;
  EXPECT_EQ(store_->RunsOfExperiment(id)->size(), 20u);
  const auto stored = store_->ListJobs(id);
  for (const auto& j : *stored) EXPECT_EQ(j.state, JobState::kCompleted) << j.key;
}

}  // namespace
}  // namespace qg::slurm
