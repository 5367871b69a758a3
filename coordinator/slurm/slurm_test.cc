// The Slurm backend without a cluster: Slurm's output formats (captured from
// slurm-wlm 22.05 on deploy/slurm-local.sh), the sbatch scripts, and the
// backend's bookkeeping against a scripted SlurmCommands. The real cluster
// runs in tests/e2e/slurm_test.cc.
#include <gtest/gtest.h>

#include <set>

#include "coordinator/protocol/task_files.h"
#include "coordinator/slurm/sbatch_script.h"
#include "coordinator/slurm/slurm_backend.h"
#include "coordinator/slurm/fake_slurm.h"
#include "core/base/config_hash.h"
#include "core/base/fake_clock.h"
#include "core/base/files.h"
#include "storage/sqlite_result_store.h"
#include "tests/testing/temp_dir.h"

namespace qg::slurm {
namespace {

using storage::JobRecord;
using storage::JobState;

TEST(SlurmState, ParsesSqueueLinesOfArrayTasksAndPlainJobs) {
  const auto states = ParseSqueue("1_1|COMPLETED|None\n2|FAILED|NonZeroExitCode\n1_2|RUNNING|None\n"
                                  "3_[4-7]|PENDING|Dependency\ngarbage\n\n");
  ASSERT_EQ(states.size(), 3u);
  EXPECT_EQ(states.at(TaskId{1, 1}).state, "COMPLETED");
  EXPECT_EQ(states.at(TaskId{2, -1}).reason, "NonZeroExitCode");
  EXPECT_EQ(states.at(TaskId{1, 2}).state, "RUNNING");
  EXPECT_EQ((TaskId{12, 3}).ToString(), "12_3");
  EXPECT_EQ(TaskId::Parse("12_3"), (TaskId{12, 3}));
  EXPECT_FALSE(TaskId::Parse("12_[3-4]"));
}

TEST(SlurmState, ReadsTheJobCompletionLogByArrayTask) {
  const std::string log =
      "JobId=3 UserId=root(0) GroupId=root(0) Name=s.sh JobState=COMPLETED Partition=debug TimeLimit=UNLIMITED "
      "WorkDir=/tmp Account= QOS= ArrayJobId=1 ArrayTaskId=0 DerivedExitCode=0:0 ExitCode=0:0 \n"
      "JobId=5 UserId=root(0) Name=x JobState=TIMEOUT ArrayJobId=1 ArrayTaskId=2 ExitCode=0:15 \n"
      "JobId=2 UserId=root(0) Name=wrap JobState=FAILED DerivedExitCode=0:0 ExitCode=3:0 \n";
  const auto states = ParseJobCompLog(log);
  ASSERT_EQ(states.size(), 3u);
  EXPECT_EQ(states.at(TaskId{1, 0}).state, "COMPLETED");
  EXPECT_EQ(states.at(TaskId{1, 2}).state, "TIMEOUT");
  EXPECT_EQ(states.at(TaskId{2, -1}).reason, "ExitCode=3:0");
}

TEST(SlurmState, ReadsSacctAndMapsEveryStateToAPhase) {
  const auto states = ParseSacct("7_0|CANCELLED by 0\n7_1|OUT_OF_MEMORY\n");
  EXPECT_EQ(states.at(TaskId{7, 0}).state, "CANCELLED");
  EXPECT_EQ(states.at(TaskId{7, 0}).reason, "by 0");
  EXPECT_EQ(PhaseOf("PENDING"), Phase::kWaiting);
  EXPECT_EQ(PhaseOf("RUNNING"), Phase::kActive);
  EXPECT_EQ(PhaseOf("COMPLETING"), Phase::kActive);
  EXPECT_EQ(PhaseOf("COMPLETED"), Phase::kSucceeded);
  EXPECT_EQ(PhaseOf("CANCELLED"), Phase::kCancelled);
  for (const char* s : {"FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE"}) {
    EXPECT_EQ(PhaseOf(s), Phase::kFailed) << s;
  }
  EXPECT_EQ(PhaseOf("SOMETHING_NEW"), Phase::kUnknown);
}

TEST(SbatchScript, CarriesResourcesLimitsDependenciesAndAQuotedCommand) {
  ArrayScript s{.job_name = "qg-x-a1",
                .tasks = 3,
                .cpus = 2,
                .gpus = 1,
                .memory_mb = 4096,
                .time_limit_min = 90,
                .partition = "gpu",
                .extra_args = {"--constraint=avx512"},
                .after = {11, 12},
                .output = "/r/a1_%A_%a.log",
                .command = {"/usr/bin/quantgrid", "slurm-task", "--db", "/data/my runs/q.db"}};
  const std::string text = RenderSbatchScript(s);
  for (const char* line : {"#!/bin/bash\n", "#SBATCH --array=0-2\n", "#SBATCH --cpus-per-task=2\n",
                           "#SBATCH --gres=gpu:1\n", "#SBATCH --mem=4096M\n", "#SBATCH --time=90\n",
                           "#SBATCH --partition=gpu\n", "#SBATCH --dependency=afterany:11:12\n",
                           "#SBATCH --output=/r/a1_%A_%a.log\n", "#SBATCH --constraint=avx512\n",
                           "exec /usr/bin/quantgrid slurm-task --db '/data/my runs/q.db'\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << " missing from:\n" << text;
  }
  s.gpus = 0;
  s.after.clear();
  s.time_limit_min.reset();
  const std::string cpu_only = RenderSbatchScript(s);
  EXPECT_EQ(cpu_only.find("--gres"), std::string::npos);
  EXPECT_EQ(cpu_only.find("--dependency"), std::string::npos);
  EXPECT_EQ(cpu_only.find("--time"), std::string::npos);
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
}

TEST_F(SlurmBackendTest, SubmitsOneHeldArrayPerDepthAndReleasesThemOnceTheStoreKnowsEveryTask) {
  const auto sub = Submit(Grid(), {{"slurm", {{"time_limits", {{"noop", "1:00:00"}, {"train", 20}}}}}});
  ASSERT_TRUE(sub) << sub.error().ToString();
  EXPECT_EQ(sub->jobs, 4);
  ASSERT_EQ(sub->arrays.size(), 2u);
  EXPECT_EQ(sub->arrays[0].tasks, 1);
  EXPECT_EQ(sub->arrays[1].tasks, 3);
  ASSERT_EQ(slurm_.scripts.size(), 2u);
  EXPECT_NE(slurm_.scripts[0].find("--time=60\n"), std::string::npos);
  EXPECT_NE(slurm_.scripts[0].find("--cpus-per-task=2\n"), std::string::npos);
  EXPECT_EQ(slurm_.scripts[0].find("--dependency"), std::string::npos);
  EXPECT_NE(slurm_.scripts[1].find("--array=0-2\n"), std::string::npos);
  EXPECT_NE(slurm_.scripts[1].find("--time=60\n"), std::string::npos);
  EXPECT_NE(slurm_.scripts[1].find("--dependency=afterany:100\n"), std::string::npos);
  EXPECT_TRUE(slurm_.held.empty());
  EXPECT_EQ(slurm_.released, (std::vector<int64_t>{100, 101}));
  EXPECT_EQ(Stored("train/seed0").lease_id, "slurm:100_0");
  std::set<std::string> quantize_leases;
  for (const char* key : {"quantize/fp32", "quantize/naive_ptq", "quantize/fp16"}) {
    EXPECT_EQ(Stored(key).state, JobState::kPending);
    quantize_leases.insert(Stored(key).lease_id);
  }
  EXPECT_EQ(quantize_leases, (std::set<std::string>{"slurm:101_0", "slurm:101_1", "slurm:101_2"}));
}

TEST_F(SlurmBackendTest, ResubmittingSkipsStoredResultsAndTasksStillInSlurm) {
  ASSERT_TRUE(Submit(Grid()));
  // The training job finished; its dependents still wait in Slurm.
  const auto train = Stored("train/seed0");
  storage::RunRecord run{.config_hash = train.config_hash, .kind = "noop", .job_key = train.key};
  ASSERT_TRUE(store_->CompleteJob(train.id, run));
  for (int i = 0; i < 3; ++i) slurm_.live[TaskId{101, i}] = {"PENDING", "Dependency"};
  slurm_.live[TaskId{101, 2}] = {"FAILED", "NonZeroExitCode"};  // ...but one already failed
  const auto again = Submit(Grid());
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->cached, 1);
  EXPECT_EQ(again->queued, 2);
  ASSERT_EQ(again->arrays.size(), 1u) << "only the task Slurm lost runs again";
  EXPECT_EQ(again->arrays[0].tasks, 1);
  EXPECT_EQ(slurm_.scripts.back().find("--dependency"), std::string::npos) << "its dependency is done";
}

TEST_F(SlurmBackendTest, ARefusedSbatchCancelsWhatWasSubmittedAndRecordsNoTask) {
  slurm_.refuse_after = 1;
  const auto sub = Submit(Grid());
  ASSERT_FALSE(sub);
  EXPECT_NE(sub.error().ToString().find("gres"), std::string::npos);
  EXPECT_NE(sub.error().ToString().find("a1-w1-noop"), std::string::npos) << sub.error().ToString();
  ASSERT_EQ(slurm_.cancelled.size(), 1u);
  EXPECT_EQ(slurm_.cancelled[0], (TaskId{100, -1}));
  EXPECT_TRUE(slurm_.released.empty());
  EXPECT_EQ(Stored("train/seed0").lease_id, "");
}

TEST_F(SlurmBackendTest, RefreshRecordsWhatOnlySlurmKnows) {
  ASSERT_TRUE(Submit(Grid()));
  // train ran and finished; fp32 was killed at its time limit; naive_ptq was
  // scancel'ed outside quantgrid; fp16 exited 0 without a result.
  const auto train = Stored("train/seed0");
  ASSERT_TRUE(store_->CompleteJob(train.id, {.config_hash = train.config_hash, .kind = "noop", .job_key = train.key}));
  slurm_.live[TaskId{100, 0}] = {"COMPLETED", "None"};
  const auto lease = [&](const char* key) { return *SlurmBackend::TaskOf(Stored(key)); };
  slurm_.finished[lease("quantize/fp32")] = {"TIMEOUT", "ExitCode=0:15"};
  slurm_.live[lease("quantize/naive_ptq")] = {"CANCELLED", "None"};
  slurm_.live[lease("quantize/fp16")] = {"COMPLETED", "None"};
  const auto views = backend_->Refresh("grid");
  ASSERT_TRUE(views) << views.error().ToString();
  ASSERT_EQ(views->size(), 4u);
  EXPECT_EQ(Stored("train/seed0").state, JobState::kCompleted);
  EXPECT_EQ(Stored("quantize/fp32").state, JobState::kFailed);
  EXPECT_NE(Stored("quantize/fp32").last_error.find("TIMEOUT"), std::string::npos);
  EXPECT_EQ(Stored("quantize/naive_ptq").state, JobState::kCancelled);
  EXPECT_EQ(Stored("quantize/fp16").state, JobState::kFailed);
  EXPECT_NE(Stored("quantize/fp16").last_error.find("without storing a result"), std::string::npos);
  for (const auto& v : *views) {
    if (v.job.key == "quantize/fp32") {
      EXPECT_EQ(v.slurm_state, "TIMEOUT");
    }
  }
  EXPECT_FALSE(backend_->Refresh("nope"));
}

TEST_F(SlurmBackendTest, CancelMarksTheStoreThenScancelsOnlyTheNamedJob) {
  ASSERT_TRUE(Submit(Grid()));
  const auto n = backend_->Cancel("grid", "quantize/naive_ptq");
  ASSERT_TRUE(n) << n.error().ToString();
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(Stored("quantize/naive_ptq").state, JobState::kCancelled);
  EXPECT_EQ(Stored("quantize/fp32").state, JobState::kPending);
  ASSERT_EQ(slurm_.cancelled.size(), 1u);
  EXPECT_EQ(SlurmBackend::LeaseFor(slurm_.cancelled[0]), Stored("quantize/naive_ptq").lease_id);
  EXPECT_EQ(backend_->Cancel("grid", "quantize/naive_ptq").error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(backend_->Cancel("grid", "quantize/int4").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(*backend_->Cancel("grid"), 3);
}

// An export asks for the CPU that quantized its model (same_cpu_as): an
// array of its own could start on any node, so it runs after its quantize job
// in that job's task, which asks for what the more demanding of the two needs
// and for both jobs' time.
TEST_F(SlurmBackendTest, AJobThatAsksForItsDependencysCpuRunsInThatDependencysTask) {
  auto jobs = Grid();
  for (const char* name : {"fp32", "fp16"}) {
    const std::string quantize = std::string("quantize/") + name;
    jobs.push_back(Job(std::string("export/") + name, "noop", {quantize}, {{"cpus", 2}, {"same_cpu_as", quantize}}));
  }
  jobs.push_back(
      Job("export/naive_ptq", "noop", {"quantize/naive_ptq"}, {{"cpus", 4}, {"same_cpu_as", "quantize/naive_ptq"}}));
  const auto sub = Submit(jobs, {{"slurm", {{"time_limits", {{"noop", 30}}}}}});
  ASSERT_TRUE(sub) << sub.error().ToString();
  EXPECT_EQ(sub->jobs, 7);
  std::vector<std::string> names;
  for (const auto& a : sub->arrays) names.push_back(a.name);
  EXPECT_EQ(names, (std::vector<std::string>{"a0-w0-noop", "a1-w1-noop+noop", "a2-w1-noop+noop"}));
  EXPECT_EQ(sub->arrays[1].tasks, 2);
  EXPECT_EQ(Stored("export/fp32").lease_id, Stored("quantize/fp32").lease_id);
  EXPECT_EQ(Stored("export/fp16").lease_id, Stored("quantize/fp16").lease_id);
  EXPECT_EQ(Stored("export/naive_ptq").lease_id, Stored("quantize/naive_ptq").lease_id);
  EXPECT_EQ(Stored("export/naive_ptq").lease_id, "slurm:102_0");
  EXPECT_NE(slurm_.scripts[0].find("--time=30\n"), std::string::npos);
  EXPECT_NE(slurm_.scripts[1].find("--time=60\n"), std::string::npos) << "each task's own two jobs, not the array's";
  EXPECT_NE(slurm_.scripts[2].find("--time=60\n"), std::string::npos) << slurm_.scripts[2];
  EXPECT_NE(slurm_.scripts[2].find("--cpus-per-task=4\n"), std::string::npos) << slurm_.scripts[2];
  const auto manifest =
      nlohmann::json::parse(*ReadFile((dir_.path() / "slurm" / "grid" / "a2-w1-noop+noop.json").string()));
  const auto parsed = protocol::TaskManifest::FromJson(manifest, "a2");
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  ASSERT_EQ(parsed->tasks.size(), 1u);
  ASSERT_EQ(parsed->tasks[0].then.size(), 1u);
  EXPECT_EQ(parsed->tasks[0].then[0].job.key, "export/naive_ptq");
  EXPECT_EQ(parsed->tasks[0].then[0].dep_hashes.at("quantize/naive_ptq"), Stored("quantize/naive_ptq").config_hash);

  // Cancelling the export leaves the task to its quantize job; cancelling a
  // quantize job cancels its export too, and then the task.
  ASSERT_EQ(*backend_->Cancel("grid", "export/fp32"), 1);
  EXPECT_TRUE(slurm_.cancelled.empty()) << "quantize/fp32 still runs in that task";
  EXPECT_EQ(Stored("quantize/fp32").state, JobState::kPending);
  ASSERT_EQ(*backend_->Cancel("grid", "quantize/naive_ptq"), 2);
  EXPECT_EQ(Stored("export/naive_ptq").state, JobState::kCancelled);
  EXPECT_EQ(slurm_.cancelled, (std::vector<TaskId>{{102, 0}}));
}

// When its quantize job finished in an earlier submit, an export that runs
// again has no task to follow: it gets an array of its own.
TEST_F(SlurmBackendTest, AJobWhoseCpuDependencyIsDoneRunsInAnArrayOfItsOwn) {
  std::vector<JobRecord> jobs{
      Job("quantize/fp32", "noop"),
      Job("export/fp32", "noop", {"quantize/fp32"}, {{"cpus", 2}, {"same_cpu_as", "quantize/fp32"}})};
  ASSERT_TRUE(Submit(jobs));
  ASSERT_EQ(slurm_.scripts.size(), 1u);
  const auto quantize = Stored("quantize/fp32");
  ASSERT_TRUE(
      store_->CompleteJob(quantize.id, {.config_hash = quantize.config_hash, .kind = "noop", .job_key = quantize.key}));
  const auto again = Submit(jobs);
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->cached, 1);
  ASSERT_EQ(again->arrays.size(), 1u);
  EXPECT_EQ(again->arrays[0].name, "a0-w0-noop");
  EXPECT_EQ(Stored("export/fp32").lease_id, "slurm:101_0");
}

// A manifest's followers are one level deep: a follower that has followers
// of its own is a damaged manifest.
TEST(TaskManifest, RoundTripsFollowersAndRefusesThemNested) {
  protocol::TaskManifest m{.experiment = "grid", .artifact_root = "/r", .results_dir = "/r/results"};
  protocol::TaskEntry lead{.job = Job("quantize/fp32", "noop")}, next{.job = Job("export/fp32", "noop")};
  lead.job.id = 1;
  next.job.id = 2;
  next.job.deps = {"quantize/fp32"};
  next.dep_hashes["quantize/fp32"] = lead.job.config_hash;
  lead.then.push_back(next);
  m.tasks.push_back(lead);
  const auto back = protocol::TaskManifest::FromJson(m.ToJson(), "m.json");
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(back->ToJson(), m.ToJson());
  auto nested = m.ToJson();
  nested["tasks"][0]["then"][0]["then"] = nlohmann::json::array({nested["tasks"][0]["then"][0]});
  const auto refused = protocol::TaskManifest::FromJson(nested, "m.json");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kCorruption);
  EXPECT_NE(refused.error().message.find("manifest.tasks[0].then[0]"), std::string::npos) << refused.error().message;
  nested["tasks"][0]["then"] = "export/fp32";
  EXPECT_NE(protocol::TaskManifest::FromJson(nested, "m.json").error().message.find("then: must be a list"),
            std::string::npos);
}

}  // namespace
}  // namespace qg::slurm
