// `quantgrid submit --backend slurm` on a real one-node Slurm cluster, brought
// up for this test by deploy/slurm-local.sh on ports of its own: a 4-job grid
// runs as sbatch job arrays, `status` shows Slurm's states while it runs, the
// rows land in SQLite, and cancelled jobs show as cancelled in both worlds; a
// tune runs its rounds as job arrays.
// One test, because each test is its own process and the cluster is shared.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <fstream>
#include <thread>

#include <csignal>

#include "core/base/files.h"
#include "storage/sqlite_result_store.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/temp_dir.h"

namespace qg {
namespace {

namespace bp = boost::process;
using qg::testing::RunQuantgrid;
using qg::testing::TempDir;

// What a log file says so far ("" when it is not there yet).
std::string Slurp(const std::string& path) { return ReadFile(path).value_or(""); }

// The cluster, up for the test's lifetime.
class LocalSlurm {
 public:
  explicit LocalSlurm(const TempDir& dir) : state_(dir.File("slurm")) {
    setenv("QG_SLURM_DIR", state_.c_str(), 1);
    setenv("QG_SLURM_CTLD_PORT", "6917", 1);  // not a developer's own cluster's ports
    setenv("QG_SLURM_D_PORT", "6918", 1);
    setenv("QG_SLURM_CPUS", "8", 1);  // probe tasks mostly wait on process start: 8 side by side
    setenv("SLURM_CONF", (state_ + "/slurm.conf").c_str(), 1);
    up_ = Script("up") == 0;
  }
  ~LocalSlurm() {
    if (up_) Script("down");
  }
  bool up() const { return up_; }
  const std::string& log() const { return log_; }

 private:
  int Script(const std::string& verb) {
    const std::string out = state_ + "-" + verb + ".log";
    const int rc = bp::system(bp::search_path("bash"), qg::testing::SourceDir() + "/deploy/slurm-local.sh", verb,
                              (bp::std_out & bp::std_err) > out);
    log_ += Slurp(out);
    return rc;
  }
  std::string state_;
  std::string log_;
  bool up_ = false;
};

TEST(Slurm, AGridRunsAsJobArraysIntoSqliteAndCancelledJobsShowAsCancelled) {
  if (bp::search_path("slurmctld").empty()) GTEST_SKIP() << "slurm-wlm is not installed (deploy/install-deps.sh)";
  if (geteuid() != 0 && bp::search_path("sudo").empty()) GTEST_SKIP() << "slurm daemons need root or sudo";
  TempDir dir;
  // Temporary folders are private (0700); munged runs as the munge user and
  // must reach its state folder inside this one.
  namespace fs = std::filesystem;
  fs::permissions(dir.path(), fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                                  fs::perms::others_exec, fs::perm_options::add);
  LocalSlurm cluster(dir);
  ASSERT_TRUE(cluster.up()) << cluster.log();
  const std::string cwd = dir.path().string();
  std::ofstream(dir.File("grid.json")) << R"({
    "name": "tiny-slurm",
    "dataset": {"name": "synthetic"},
    "model": {"name": "compact_cnn"},
    "train": {"epochs": 1, "batch_size": 64},
    "grid": {"strategies": ["fp32", "naive_ptq", "fp16"], "calibration_sizes": [128]},
    "measure": {"batch_sizes": [1], "runs": 5, "warmup_runs": 2},
    "export": {"onnx": true},
    "slurm": {"time_limits": {"train": "0:20:00", "default": 10}}
  })";
  const std::vector<std::string> where{"--backend", "slurm", "--db", dir.File("q.db"), "--root", dir.File("runs")};
  auto with = [&where](std::vector<std::string> args) {
    args.insert(args.end(), where.begin(), where.end());
    return args;
  };

  // Submit and wait in the background; meanwhile `status` must show Slurm's states.
  auto submit = qg::testing::StartQuantgrid(with({"submit", dir.File("grid.json"), "--wait", "--poll-seconds", "1"}),
                                            cwd, dir.File("submit.log"));
  std::string seen;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(8);
  while (submit.running() && std::chrono::steady_clock::now() < deadline) {
    const auto status = RunQuantgrid(with({"status", "--experiment", "tiny-slurm"}), cwd);
    if (status.exit_code == 0) seen += status.out;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (submit.running()) submit.terminate();
  submit.wait();
  const std::string log = Slurp(dir.File("submit.log"));
  ASSERT_EQ(submit.exit_code(), 0) << log << "\n" << cluster.log();
  EXPECT_NE(log.find("array"), std::string::npos) << log;
  EXPECT_NE(seen.find("| RUNNING "), std::string::npos) << "status never showed a RUNNING task:\n" << seen;
  EXPECT_NE(seen.find("| PENDING "), std::string::npos) << "quantize tasks wait on training:\n" << seen;
  for (const char* row : {"| fp32 ", "| naive_ptq ", "| fp16 "}) EXPECT_NE(log.find(row), std::string::npos) << log;
  // Each export ran in its quantize job's task (same_cpu_as), not in an array of its own.
  EXPECT_NE(log.find("quantize+export"), std::string::npos) << log;
  EXPECT_EQ(log.find("-export"), std::string::npos) << log;

  {
    auto store = *storage::SqliteResultStore::Open(dir.File("q.db"));
    const auto id = (*store->GetExperiment("tiny-slurm"))->id;
    EXPECT_EQ(store->RunsOfExperiment(id)->size(), 7u);  // train + 3 strategies + their 3 exports
    const auto jobs = store->ListJobs(id);
    ASSERT_EQ(jobs->size(), 7u);
    std::map<std::string, std::string> task_of;
    for (const auto& job : *jobs) {
      EXPECT_EQ(job.state, storage::JobState::kCompleted) << job.key << ": " << job.last_error;
      EXPECT_EQ(job.worker.rfind("slurm:", 0), 0u) << job.key << " ran on " << job.worker;
      task_of[job.key] = job.worker;
    }
    int exports = 0;
    for (const auto& [key, task] : task_of) {
      if (key.rfind("export/", 0) != 0) continue;
      ++exports;
      EXPECT_EQ(task, task_of["quantize/" + key.substr(7)]) << key;
    }
    EXPECT_EQ(exports, 3);
  }
  const auto done = RunQuantgrid(with({"status", "--experiment", "tiny-slurm"}), cwd);
  EXPECT_NE(done.out.find("7 completed"), std::string::npos) << done.out;
  EXPECT_NE(done.out.find("| COMPLETED "), std::string::npos) << done.out;
  const auto again = RunQuantgrid(with({"submit", dir.File("grid.json")}), cwd);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("7 jobs, 7 already done"), std::string::npos) << again.out;
  EXPECT_EQ(again.out.find("array"), std::string::npos) << "nothing is submitted again:\n" << again.out;

  // Cancel one running job, then the rest of its experiment.
  std::ofstream(dir.File("sleep.json")) << R"({"name": "sleepers", "probe": {"kind": "sleep", "count": 2,
                                              "seconds": 120, "cpus": 2}})";
  const auto sleepers = RunQuantgrid(with({"submit", dir.File("sleep.json")}), cwd);
  ASSERT_EQ(sleepers.exit_code, 0) << sleepers.err;
  std::string running_key;
  for (int i = 0; i < 120 && running_key.empty(); ++i) {
    const auto status = RunQuantgrid(with({"status", "--experiment", "sleepers", "--json"}), cwd);
    const auto doc = nlohmann::json::parse(status.out, nullptr, false);
    if (doc.is_array() && !doc.empty()) {
      for (const auto& job : doc[0]["jobs"]) {
        if (job["slurm_state"] == "RUNNING") running_key = job["key"];
      }
    }
    if (running_key.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ASSERT_FALSE(running_key.empty()) << "no sleeper started";
  const auto one = RunQuantgrid(with({"cancel", "sleepers", "--job", running_key}), cwd);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const auto rest = RunQuantgrid(with({"cancel", "sleepers"}), cwd);
  ASSERT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_NE(rest.out.find("1 job(s)"), std::string::npos) << rest.out;
  std::string final_status;
  for (int i = 0; i < 60; ++i) {  // scancel is asynchronous: wait for Slurm to say so
    final_status = RunQuantgrid(with({"status", "--experiment", "sleepers"}), cwd).out;
    size_t slurm_cancelled = 0;
    for (size_t at = 0; (at = final_status.find("| CANCELLED ", at)) != std::string::npos; ++at) ++slurm_cancelled;
    if (slurm_cancelled == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_NE(final_status.find("2 cancelled"), std::string::npos) << final_status;
  EXPECT_NE(final_status.find("| " + running_key + " | cancelled | "), std::string::npos) << final_status;
  const auto unknown = RunQuantgrid(with({"cancel", "sleepers", "--job", "sleep/9"}), cwd);
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_EQ(unknown.err, "quantgrid: not_found: experiment 'sleepers' has no job 'sleep/9'\n");

  // 200 probe tasks in one array, the database on the shared root. No task
  // opens it (their command carries no database); each leaves an outcome file,
  // and the client that ingests them is killed half-way: a later `status`
  // ingests the rest, nothing lost, nothing twice.
  std::ofstream(dir.File("sweep.json")) << R"({"name": "sweep", "probe": {"kind": "noop", "count": 200, "cpus": 1}})";
  auto ingester = qg::testing::StartQuantgrid(with({"submit", dir.File("sweep.json"), "--wait", "--poll-seconds", "1"}),
                                              cwd, dir.File("sweep.log"));
  const std::string outcomes = dir.File("runs") + "/slurm/sweep/results";
  auto count_outcomes = [&] {
    std::error_code ec;
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(outcomes, ec)) n += e.path().extension() == ".json";
    return n;
  };
  const auto sweep_deadline = std::chrono::steady_clock::now() + std::chrono::minutes(8);
  while (count_outcomes() < 60 && std::chrono::steady_clock::now() < sweep_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ::kill(ingester.id(), SIGKILL);  // mid-way, between two polls or inside one
  ingester.wait();
  while (count_outcomes() < 200 && std::chrono::steady_clock::now() < sweep_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ASSERT_EQ(count_outcomes(), 200) << Slurp(dir.File("sweep.log"));
  for (const auto& e : std::filesystem::directory_iterator(dir.File("runs") + "/slurm/sweep")) {
    if (e.path().extension() == ".sbatch") {
      EXPECT_EQ(Slurp(e.path().string()).find("--db"), std::string::npos) << e.path();
    }
  }
  for (int i = 0; i < 2; ++i) {  // ingest, then again: the second changes nothing
    const auto status = RunQuantgrid(with({"status", "--experiment", "sweep"}), cwd);
    EXPECT_NE(status.out.find("200 completed"), std::string::npos) << status.out << status.err;
  }
  {
    auto store = *storage::SqliteResultStore::Open(dir.File("q.db"));
    EXPECT_EQ(store->RunsOfExperiment((*store->GetExperiment("sweep"))->id)->size(), 200u);
  }
  const auto integrity = qg::testing::RunCommand({"sqlite3", dir.File("q.db"), "PRAGMA integrity_check"}, cwd);
  EXPECT_EQ(integrity.out, "ok\n") << integrity.err;

  // A tune runs its rounds as job arrays: each round submits what the search
  // asks for, then the search reads the store the tasks' outcomes land in.
  std::ofstream(dir.File("tune.json")) << R"({
    "name": "tiny-tune",
    "dataset": {"name": "synthetic", "synthetic": {"train": 512, "test": 256}},
    "model": {"name": "compact_cnn"},
    "train": {"epochs": 1, "batch_size": 64},
    "measure": {"batch_sizes": [8], "runs": 6, "warmup_runs": 2, "layer_mse_images": 0},
    "tune": {"space": {"strategies": ["naive_ptq", "bn_fold"], "calibration_sizes": [64]},
             "constraint": {"max_top1_drop": 5.0}, "objective": "size", "screen": {"eval_images": 128, "runs": 4}}
  })";
  const auto tune = RunQuantgrid(with({"tune", dir.File("tune.json"), "--poll-seconds", "1"}), cwd);
  ASSERT_EQ(tune.exit_code, 0) << tune.out << tune.err;
  EXPECT_NE(tune.out.find("Winner: bn_fold/"), std::string::npos) << tune.out;
  {
    auto store = *storage::SqliteResultStore::Open(dir.File("q.db"));
    const auto jobs = *store->ListJobs((*store->GetExperiment("tiny-tune"))->id);
    EXPECT_GE(jobs.size(), 5u);  // training, 3 screening jobs, FP32's full job, a wave
    for (const auto& job : jobs) {
      EXPECT_EQ(job.state, storage::JobState::kCompleted) << job.key << ": " << job.last_error;
      EXPECT_EQ(job.worker.rfind("slurm:", 0), 0u) << job.key << " ran on " << job.worker;
    }
  }

  // A spec whose sbatch options could inject a line is refused before anything is submitted.
  std::ofstream(dir.File("inject.json")) << R"({"name": "inject", "probe": {"kind": "noop", "count": 1},
                                               "slurm": {"extra_args": ["--comment=x\n#SBATCH --uid=0"]}})";
  const auto inject = RunQuantgrid(with({"submit", dir.File("inject.json")}), cwd);
  EXPECT_NE(inject.exit_code, 0);
  EXPECT_NE(inject.err.find("slurm.extra_args[0]"), std::string::npos) << inject.err;
}

}  // namespace
}  // namespace qg
