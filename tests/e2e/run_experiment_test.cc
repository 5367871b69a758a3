// `quantgrid run` end to end on synthetic data: results, caching, resume after
// kill -9, determinism, bad specs.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/e2e/spec_run.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/temp_dir.h"

namespace qg {
namespace {

using qg::testing::RunQuantgrid;
using qg::testing::TempDir;

const char* kSpec = R"({
  "name": "tiny",
  "dataset": {"name": "synthetic"},
  "model": {"name": "compact_cnn"},
  "train": {"epochs": 2, "batch_size": 64},
  "seeds": [0],
  "grid": {"strategies": ["fp32", "naive_ptq", "bn_fold", "bias_correction", "fp16"], "calibration_sizes": [256]},
  "measure": {"batch_sizes": [1, 64], "runs": 10, "warmup_runs": 3}
})";

void WriteSpec(const TempDir& dir, const std::string& text = kSpec) { std::ofstream(dir.File("spec.json")) << text; }

std::vector<std::string> RunArgs(const TempDir& dir) { return qg::testing::RunSpecArgs(dir); }

std::vector<storage::RunRecord> StoredRuns(const TempDir& dir) { return qg::testing::StoredRuns(dir, "tiny"); }

TEST(RunExperiment, PrintsTheTableAndASecondRunRerunsNothing) {
  TempDir dir;
  WriteSpec(dir);
  const auto first = RunQuantgrid(RunArgs(dir), dir.path().string());
  ASSERT_EQ(first.exit_code, 0) << first.err;
  for (const char* row : {"| fp32 ", "| naive_ptq ", "| bn_fold ", "| bias_correction ", "| fp16 "}) {
    EXPECT_NE(first.out.find(row), std::string::npos) << row << "\n" << first.out;
  }
  EXPECT_EQ(StoredRuns(dir).size(), 6u);  // train + 5 strategies

  const auto second = RunQuantgrid(RunArgs(dir), dir.path().string());
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.out, first.out);  // the same table, from the stored results
  EXPECT_EQ(second.err.find("running"), std::string::npos) << second.err;
  EXPECT_LT(second.seconds, 10.0);
  EXPECT_EQ(StoredRuns(dir).size(), 6u);

  // table reads the same rows back, in every format.
  const auto csv = RunQuantgrid({"table", "--db", dir.File("q.db"), "--experiment", "tiny", "--format", "csv"},
                                dir.path().string());
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(csv.out.rfind("Strategy,Precision,", 0), 0u);
  const auto missing = RunQuantgrid({"table", "--db", dir.File("q.db"), "--experiment", "nope"}, dir.path().string());
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_EQ(missing.err, "quantgrid: not_found: experiment 'nope' is not in the database\n");

  // Each run names the CPU it timed on with the features that pick its
  // kernels. compare leaves out timings from another machine than the
  // baseline's, unless asked: a VM moved to another CPU is not a regression.
  for (const auto& run : StoredRuns(dir)) EXPECT_NE(run.cpu_model.find(" (family "), std::string::npos) << run.cpu_model;
  const auto json = RunQuantgrid({"table", "--db", dir.File("q.db"), "--experiment", "tiny", "--format", "json"},
                                 dir.path().string());
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto baseline = nlohmann::json::parse(json.out);
  ASSERT_TRUE(baseline["rows"][1].contains("timed_on")) << json.out;
  baseline["rows"][1]["latency_ms"] = 1e-6;  // every later night is far slower
  baseline["rows"][1]["timed_on"] = {"Another CPU (family 1, SSE, no VNNI), 64 threads"};
  std::ofstream(dir.File("baseline.json")) << baseline.dump();
  const std::vector<std::string> compare{"compare", "--db", dir.File("q.db"), "--baseline", dir.File("baseline.json")};
  const auto other = RunQuantgrid(compare, dir.path().string());
  EXPECT_EQ(other.exit_code, 0) << other.out << other.err;
  EXPECT_NE(other.out.find("not compared: the baseline was timed on Another CPU"), std::string::npos) << other.out;
  EXPECT_NE(other.out.find(" timing metric(s) not compared: this sweep was timed on another machine"), std::string::npos)
      << other.out;
  auto across = compare;
  across.push_back("--across-machines");
  const auto forced = RunQuantgrid(across, dir.path().string());
  EXPECT_NE(forced.exit_code, 0) << forced.out;
  EXPECT_NE(forced.err.find("1 regression(s) against baseline"), std::string::npos) << forced.err;
}

// The grid's ONNX step: export jobs for fp32, fp16 and naive_ptq, each stored
// with a checked ONNX artifact and ONNX Runtime rows in the table.
TEST(RunExperiment, OnnxExportStepAddsOnnxRuntimeRowsAndArtifacts) {
  TempDir dir;
  std::string spec = kSpec;
  spec.replace(spec.find("\"fp32\", \"naive_ptq\", \"bn_fold\", \"bias_correction\", \"fp16\""),
               std::string("\"fp32\", \"naive_ptq\", \"bn_fold\", \"bias_correction\", \"fp16\"").size(),
               "\"fp32\", \"naive_ptq\", \"fp16\"");
  spec.replace(spec.rfind('}'), 1, R"(, "export": {"onnx": true}})");
  WriteSpec(dir, spec);
  const auto run = RunQuantgrid(RunArgs(dir), dir.path().string());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("| fp32 [onnxruntime] "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("| naive_ptq [onnxruntime] "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("| fp16 [onnxruntime] "), std::string::npos) << run.out;
  int exports = 0;
  for (const auto& r : StoredRuns(dir)) {
    if (r.kind != "export") continue;
    ++exports;
    ASSERT_EQ(r.artifacts.size(), 1u) << r.job_key;
    EXPECT_EQ(r.artifacts[0].sha256.size(), 64u);
    EXPECT_TRUE(std::filesystem::exists(r.artifacts[0].path));
    EXPECT_EQ(r.artifacts[0].kind, r.job_key.find("naive_ptq") != std::string::npos ? "onnx_qdq_int8"
                                   : r.job_key.find("fp16") != std::string::npos    ? "onnx_fp16"
                                                                                    : "onnx_fp32");
    EXPECT_GE(r.metrics.at("output.top1_agreement"), 99.0) << r.job_key;  // vs the same model in LibTorch
    EXPECT_GT(r.metrics.at("top1"), 90.0) << r.job_key;
    EXPECT_GT(r.metrics.at("latency.cpu.b64.p50_ms"), 0.0) << r.job_key;
  }
  EXPECT_EQ(exports, 3);
}

TEST(RunExperiment, KilledHalfwayResumesWithoutRerunningOrDuplicating) {
  TempDir dir;
  WriteSpec(dir);
  auto child = qg::testing::StartQuantgrid(RunArgs(dir), dir.path().string(), dir.File("killed.log"));
  // Wait until training and at least one strategy are stored, then kill -9.
  std::vector<storage::RunRecord> before;
  for (int i = 0; i < 600 && before.size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (std::filesystem::exists(dir.File("q.db"))) {
      auto store = storage::SqliteResultStore::Open(dir.File("q.db"));
      if (store) {
        if (auto e = (*store)->GetExperiment("tiny"); e && *e) before = *(*store)->RunsOfExperiment((*e)->id);
      }
    }
  }
  ASSERT_GE(before.size(), 2u) << "the run did not get far enough";
  ::kill(child.id(), SIGKILL);
  child.wait();
  ASSERT_LT(StoredRuns(dir).size(), 6u) << "killed too late to test resuming";

  const auto resumed = RunQuantgrid(RunArgs(dir), dir.path().string());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const auto after = StoredRuns(dir);
  EXPECT_EQ(after.size(), 6u);  // every job once: no duplicate rows
  for (const auto& b : before) {
    const auto it = std::find_if(after.begin(), after.end(), [&](const auto& a) { return a.config_hash == b.config_hash; });
    ASSERT_NE(it, after.end());
    EXPECT_EQ(it->finished_ms, b.finished_ms) << b.job_key << " ran again";
    EXPECT_EQ(resumed.err.find("running " + b.job_key), std::string::npos) << b.job_key;
  }
}

TEST(RunExperiment, TwoFreshRunsGiveIdenticalAccuraciesAndModelFiles) {
  TempDir a, b;
  WriteSpec(a);
  WriteSpec(b);
  ASSERT_EQ(RunQuantgrid(RunArgs(a), a.path().string()).exit_code, 0);
  ASSERT_EQ(RunQuantgrid(RunArgs(b), b.path().string()).exit_code, 0);
  const auto ra = StoredRuns(a), rb = StoredRuns(b);
  ASSERT_EQ(ra.size(), rb.size());
  for (size_t i = 0; i < ra.size(); ++i) {
    EXPECT_EQ(ra[i].config_hash, rb[i].config_hash);
    EXPECT_EQ(ra[i].metrics.at("top1"), rb[i].metrics.at("top1")) << ra[i].job_key;
    ASSERT_EQ(ra[i].artifacts.size(), 1u);
    EXPECT_EQ(ra[i].artifacts[0].sha256, rb[i].artifacts[0].sha256) << ra[i].job_key;
  }
}

TEST(RunExperiment, BadSpecFailsBeforeAnyWorkWithTheJsonPath) {
  TempDir dir;
  std::string spec = kSpec;
  spec.replace(spec.find("\"calibration_sizes\""), 0, R"("observers": ["minmx"], )");
  WriteSpec(dir, spec);
  const auto r = RunQuantgrid(RunArgs(dir), dir.path().string());
  EXPECT_EQ(r.exit_code, 2);  // invalid_argument
  EXPECT_EQ(r.err, "quantgrid: invalid_argument: spec '" + dir.File("spec.json") +
                       "': grid.observers[0]: unknown \"minmx\"; known: minmax, moving_average, histogram, entropy, "
                       "mse\n");
  EXPECT_FALSE(std::filesystem::exists(dir.File("q.db")));
}

TEST(RunExperiment, AWorkerStartsTheRanksOfADataParallelTrainingJob) {
  TempDir dir;
  WriteSpec(dir, R"({
    "name": "tiny",
    "dataset": {"name": "synthetic"},
    "model": {"name": "compact_cnn"},
    "train": {"epochs": 1, "batch_size": 64, "processes": 2},
    "seeds": [0],
    "grid": {"strategies": ["fp32"]},
    "measure": {"batch_sizes": [1], "runs": 3, "warmup_runs": 1}
  })");
  const auto r = RunQuantgrid(RunArgs(dir), dir.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto runs = StoredRuns(dir);
  const auto train = std::find_if(runs.begin(), runs.end(), [](const auto& x) { return x.kind == "train"; });
  ASSERT_NE(train, runs.end());
  EXPECT_EQ(train->metrics.at("train_processes"), 2);
  ASSERT_EQ(train->artifacts.size(), 1u);  // one checkpoint, from rank 0
  // Each rank logged joining the group: rank 0 into the job's log, rank 1 beside it.
  const auto work = std::filesystem::path(train->artifacts[0].path).parent_path();
  auto slurp = [](const std::filesystem::path& p) {
    std::stringstream ss;
    ss << std::ifstream(p).rdbuf();
    return ss.str();
  };
  EXPECT_NE(slurp(work / "job.log").find("rank 0/2 (quantgrid)"), std::string::npos);
  EXPECT_NE(slurp(work / "job.log.rank1").find("rank 1/2 (quantgrid)"), std::string::npos);
}

}  // namespace
}  // namespace qg
