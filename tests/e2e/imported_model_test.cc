// A user's own model through `quantgrid run`: a spec whose model is an ONNX
// file (PyTorch's torch.onnx.export of the op zoo, tests/fixtures/), fine-tuned
// from its weights, quantized by a grid that includes QAT, printed, reported,
// and cached (experiments/grid_test.cc: a changed file changes every hash).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/e2e/spec_run.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/onnx_fixtures.h"
#include "tests/testing/temp_dir.h"

namespace qg {
namespace {

using qg::testing::RunQuantgrid;
using qg::testing::TempDir;

const char* kSpec = R"({
  "name": "mine",
  "dataset": {"name": "synthetic"},
  "model": {"onnx": "models/my_model.onnx"},
  "train": {"epochs": 1, "batch_size": 64, "lr": 0.01, "max_steps_per_epoch": 8},
  "seeds": [0],
  "grid": {"strategies": ["fp32", "naive_ptq", "bn_fold", "bias_correction",
                          {"name": "mpq", "params": {"selection_size": 256, "sensitivity_size": 64}},
                          {"name": "qat", "params": {"epochs": 1, "max_steps_per_epoch": 4}}, "fp16"],
           "calibration_sizes": [128]},
  "measure": {"batch_sizes": [1, 32], "runs": 5, "warmup_runs": 2}
})";

std::vector<std::string> RunArgs(const TempDir& dir) { return qg::testing::RunSpecArgs(dir); }

std::vector<storage::RunRecord> StoredRuns(const TempDir& dir) { return qg::testing::StoredRuns(dir, "mine"); }

TEST(ImportedModelExperiment, RunsTheGridWithQatReportsAndCachesByTheFilesHash) {
  std::string error;
  const std::string fixture = qg::testing::OnnxFixture("op_zoo", &error);
  ASSERT_FALSE(fixture.empty()) << error;
  TempDir dir;
  std::filesystem::create_directories(dir.File("models"));
  std::filesystem::copy_file(fixture, dir.File("models/my_model.onnx"));
  std::ofstream(dir.File("spec.json")) << kSpec;

  // Run from another folder: the model path is relative to the spec.
  const auto first = RunQuantgrid(RunArgs(dir), "/");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  for (const char* row : {"| fp32 ", "| naive_ptq ", "| bn_fold ", "| bias_correction ", "| mpq ", "| qat ", "| fp16 "}) {
    EXPECT_NE(first.out.find(row), std::string::npos) << row << "\n" << first.out;
  }
  EXPECT_NE(first.out.find("INT8 MACs (%)"), std::string::npos) << first.out;
  const auto runs = StoredRuns(dir);
  EXPECT_EQ(runs.size(), 8u);  // fine-tune + 7 strategies
  for (const auto& r : runs) {
    if (r.kind == "train") continue;
    const bool fp = r.job_key.find("fp32") != std::string::npos || r.job_key.find("fp16") != std::string::npos;
    const bool mixed = r.job_key.find("mpq") != std::string::npos;
    if (!fp && !mixed) {
      EXPECT_EQ(r.metrics.at("int8_mac_share"), 100.0) << r.job_key;
    }
    if (mixed) {
      EXPECT_GT(r.metrics.at("int8_mac_share"), 0.0) << r.job_key;
    }
    EXPECT_GT(r.metrics.at("latency.cpu.b32.p50_ms"), 0.0) << r.job_key;
  }

  const auto report = RunQuantgrid({"report", "--db", dir.File("q.db"), "--experiment", "mine", "--out",
                                    dir.File("report.html")},
                                   dir.path().string());
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_TRUE(std::filesystem::file_size(dir.File("report.html")) > 1000);

  const auto cached = RunQuantgrid(RunArgs(dir), "/");
  ASSERT_EQ(cached.exit_code, 0) << cached.err;
  EXPECT_EQ(cached.out, first.out);
  EXPECT_LT(cached.seconds, 10.0);
  EXPECT_EQ(StoredRuns(dir).size(), 8u);
}

}  // namespace
}  // namespace qg
