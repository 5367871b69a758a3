#include "experiments/job_graph.h"

#include <gtest/gtest.h>

#include "tests/testing/record_fixtures.h"

namespace qg::exp {
namespace {

using qg::testing::MakeJob;
using storage::JobState;

std::vector<storage::JobRecord> Dag() {
  return {MakeJob("train", "train", {{"i", 0}}), MakeJob("q1", "quantize", {{"i", 1}}, {"train"}),
          MakeJob("q2", "quantize", {{"i", 2}}, {"train"}), MakeJob("export", "export", {{"i", 3}}, {"q1"})};
}

TEST(JobGraph, OnlyJobsWhoseDependenciesCompletedAreReady) {
  auto jobs = Dag();
  EXPECT_EQ(ReadyJobs(jobs, 0), (std::vector<size_t>{0}));
  jobs[0].state = JobState::kCompleted;
  EXPECT_EQ(ReadyJobs(jobs, 0), (std::vector<size_t>{1, 2}));
  jobs[1].state = JobState::kRunning;
  jobs[2].not_before_ms = 1000;  // backing off after a failure
  EXPECT_TRUE(ReadyJobs(jobs, 999).empty());
  EXPECT_EQ(ReadyJobs(jobs, 1000), (std::vector<size_t>{2}));
  jobs[1].state = JobState::kCompleted;
  EXPECT_EQ(ReadyJobs(jobs, 1000), (std::vector<size_t>{2, 3}));
}

TEST(JobGraph, FailedDependencyBlocksItsDependents) {
  auto jobs = Dag();
  jobs[0].state = JobState::kCompleted;
  jobs[1].state = JobState::kFailed;
  const auto blocked = BlockedJobs(jobs);
  ASSERT_EQ(blocked.size(), 1u);
  EXPECT_EQ(blocked[0].index, 3u);
  EXPECT_EQ(blocked[0].reason, "dependency 'q1' failed");
}

TEST(JobGraph, UnknownDependencyAndCyclesAreRejected) {
  auto jobs = Dag();
  EXPECT_TRUE(CheckDependencies(jobs));
  jobs[0].deps = {"export"};
  const auto cycle = CheckDependencies(jobs);
  ASSERT_FALSE(cycle);
  EXPECT_NE(cycle.error().message.find("dependency cycle"), std::string::npos);
  jobs[0].deps = {"nowhere"};
  EXPECT_EQ(CheckDependencies(jobs).error().message, "job 'train' depends on 'nowhere', which is not a job");
}

}  // namespace
}  // namespace qg::exp
