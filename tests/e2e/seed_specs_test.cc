// Every shipped seed study, end to end under --smoke: `quantgrid reproduce`
// runs the spec's whole DAG on a tiny slice of its stand-in dataset (no
// CIFAR-10 or ImageNet here) and prints our rows beside the published ones.
// The figures mean nothing at this size; what is checked is that each spec
// parses with the real catalog, every job kind it asks for runs, and the
// reproduction says what ran and what could not.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ostream>
#include <string>
#include <vector>

#include "core/base/build_info.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/temp_dir.h"

namespace qg {
namespace {

using qg::testing::RunQuantgrid;
using qg::testing::TempDir;

struct SeedCase {
  const char* name;
  std::vector<std::string> expected;  // in reproduce's output
};

// ctest names the case by its spec, not by its bytes.
void PrintTo(const SeedCase& c, std::ostream* os) { *os << c.name; }

class SeedSpec : public ::testing::TestWithParam<SeedCase> {};

TEST_P(SeedSpec, ReproducesUnderSmokeBesideThePublishedFigures) {
  const SeedCase& c = GetParam();
  TempDir dir;
  const std::string spec = std::string(kSourceDir) + "/experiments/" + c.name + ".json";
  const auto r = RunQuantgrid({"reproduce", spec, "--smoke", "--db", dir.File("q.db"), "--root", dir.File("runs")},
                              dir.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.out << "\n" << r.err;
  std::cout << r.out.substr(r.out.find("reproduced")) << "\n(" << r.seconds << " s)\n";
  EXPECT_NE(r.out.find("smoke run"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stand-in 'synthetic' runs"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("synthetic (stand-in for "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("accuracy differences are left out"), std::string::npos) << r.out;
  for (const auto& text : c.expected) EXPECT_NE(r.out.find(text), std::string::npos) << text << "\n" << r.out;
}

INSTANTIATE_TEST_SUITE_P(
    Shipped, SeedSpec,
    ::testing::Values(
        SeedCase{"seed-000", {"fp32 [onnxruntime]", "naive_ptq [onnxruntime]", "~75 %", "< 1 point"}},
        SeedCase{"seed-001", {"| fp32 ", "94.82", "42.63", "0.01 (inconsistent)", "2.33x", "in MiB"}},
        SeedCase{"seed-002", {"| qat ", "80.53", "44.77", "11.26", "no GPU here", "16.39"}},
        SeedCase{"seed-003", {"fp32 [onnxruntime]", "fp16 [onnxruntime]", "77.29", "93.45", "95.30", "47.70", "24.10", "1.03x"}}),
    [](const ::testing::TestParamInfo<SeedCase>& p) {
      std::string name = p.param.name;
      for (char& ch : name) ch = ch == '-' ? '_' : ch;
      return name;
    });

// seed-001's per-layer size table, from the smoke run's INT8 row.
TEST(SeedSpecs, TableLayersPrintsThePerLayerSizeTable) {
  TempDir dir;
  const std::string spec = std::string(kSourceDir) + "/experiments/seed-001.json";
  const auto run = RunQuantgrid({"run", spec, "--smoke", "--db", dir.File("q.db"), "--root", dir.File("runs")},
                                dir.path().string());
  ASSERT_EQ(run.exit_code, 0) << run.out << "\n" << run.err;
  const auto table = RunQuantgrid(
      {"table", "--db", dir.File("q.db"), "--experiment", "seed-001-smoke-synthetic", "--layers"}, dir.path().string());
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("Per-layer size: naive_ptq"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("| stem.conv "), std::string::npos) << table.out;
  const auto total = table.out.find("| total (weights and biases)");
  ASSERT_NE(total, std::string::npos) << table.out;
  const std::string line = table.out.substr(total, table.out.find('\n', total) - total);
  // "| total ... | <FP32 KB> | <INT8 KB> | ...": ResNet-18's ~44.7 MB of FP32 weights, a quarter of it as int8.
  std::vector<double> kb;
  for (size_t bar = line.find('|', 1); bar != std::string::npos && kb.size() < 2; bar = line.find('|', bar + 1)) {
    kb.push_back(std::atof(line.c_str() + bar + 1));
  }
  ASSERT_EQ(kb.size(), 2u) << line;
  EXPECT_NEAR(kb[0], 44680, 300) << line;
  EXPECT_NEAR(kb[1] / kb[0], 0.25, 0.01) << line;
}

}  // namespace
}  // namespace qg
