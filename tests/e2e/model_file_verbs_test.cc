// What a user does with the files a quantize job leaves: `eval` and
// `bench-latency` take the INT8 model file as they take FP32 and ONNX ones,
// `--layers` says where its passes spend their time, and verbs that need an
// FP32 model say so when given the INT8 one, and `check-export` compares the
// file's QDQ export in ONNX Runtime with it step by step.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "tests/testing/cli_runner.h"
#include "tests/testing/onnx_fixtures.h"
#include "tests/testing/temp_dir.h"

namespace qg {
namespace {

using qg::testing::RunQuantgrid;

TEST(ModelFileVerbs, EvalAndBenchLatencyTakeTheInt8FileAQuantizeJobWrote) {
  std::string error;
  const std::string onnx = qg::testing::OnnxFixture("op_zoo", &error);
  ASSERT_FALSE(onnx.empty()) << error;
  qg::testing::TempDir dir;
  const auto quantized = RunQuantgrid({"quantize", "--model-file", onnx, "--dataset", "synthetic", "--strategy",
                                       "bn_fold", "--batch-sizes", "1", "--eval-limit", "64", "--threads", "1",
                                       "--out", dir.File("q")},
                                      dir.path().string());
  ASSERT_EQ(quantized.exit_code, 0) << quantized.err;
  const std::string int8 = dir.File("q/model_int8.pt");
  const auto result = nlohmann::json::parse(std::ifstream(dir.File("q/result.json")));

  // The same images through the same INT8 kernels: the same accuracy.
  const auto eval = RunQuantgrid({"eval", "--model-file", int8, "--dataset", "synthetic", "--limit", "64",
                                  "--threads", "1", "--json"},
                                 dir.path().string());
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  const auto report = nlohmann::json::parse(eval.out);
  EXPECT_EQ(report["accuracy"]["count"], 64);
  EXPECT_DOUBLE_EQ(report["accuracy"]["top1"].get<double>(), result["measured"]["accuracy"]["top1"].get<double>());

  const auto bench = RunQuantgrid({"bench-latency", "--model-file", int8, "--batch-sizes", "2", "--runs", "3",
                                   "--warmup", "1", "--threads", "1", "--layers", "100"},
                                  dir.path().string());
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  EXPECT_NE(bench.out.find("| int8 (onednn) |     2 |"), std::string::npos) << bench.out;
  // 14: the ReLU6 after a conv runs inside it (quant_plan.cc), and the
  // channel shuffle with the concat it reads (internal/concat_shuffle.h).
  EXPECT_NE(bench.out.find("batch 2: the 14 slowest of 14 layers"), std::string::npos) << bench.out;
  EXPECT_NE(bench.out.find("| concat+channel_shuffle "), std::string::npos) << bench.out;
  EXPECT_NE(bench.out.find("| activation (table) "), std::string::npos) << bench.out;  // leaky ReLU, sigmoids
  EXPECT_EQ(bench.out.find(" more)"), std::string::npos) << bench.out;

  const auto eager = RunQuantgrid({"bench-latency", "--model-file", int8, "--path", "eager"}, dir.path().string());
  EXPECT_NE(eager.exit_code, 0);
  EXPECT_NE(eager.err.find("INT8 model files have one path"), std::string::npos) << eager.err;

  const auto fp32_layers = RunQuantgrid({"bench-latency", "--model-file", onnx, "--batch-sizes", "1", "--runs", "3",
                                         "--warmup", "1", "--threads", "1", "--layers", "2"},
                                        dir.path().string());
  ASSERT_EQ(fp32_layers.exit_code, 0) << fp32_layers.err;
  EXPECT_NE(fp32_layers.out.find("| compiled |"), std::string::npos) << fp32_layers.out;
  EXPECT_NE(fp32_layers.out.find("fp32, eager interpreter, channels-last, batch 1: the 2 slowest of"),
            std::string::npos)
      << fp32_layers.out;
  EXPECT_NE(fp32_layers.out.find(" more)"), std::string::npos) << fp32_layers.out;

  const auto requantize = RunQuantgrid({"quantize", "--model-file", int8, "--dataset", "synthetic", "--out",
                                        dir.File("again")},
                                       dir.path().string());
  EXPECT_NE(requantize.exit_code, 0);
  EXPECT_NE(requantize.err.find("is an INT8 model file"), std::string::npos) << requantize.err;

  // Its QDQ export in ONNX Runtime, step by step beside LibTorch.
  const auto checked = RunQuantgrid({"check-export", "--model-file", int8, "--dataset", "synthetic", "--images", "8",
                                     "--threads", "1", "--json"},
                                    dir.path().string());
  ASSERT_EQ(checked.exit_code, 0) << checked.err;
  const auto check = nlohmann::json::parse(checked.out);
  EXPECT_EQ(check["images"], 8);
  EXPECT_TRUE(check["first_divergence"].is_null()) << check.dump(2);
  ASSERT_GE(check["values"].size(), 10u);
  for (const auto& v : check["values"]) {
    if (v["comparable"]) {
      EXPECT_LE(v["own"]["max_steps"].get<int>(), 2) << v.dump();
    }
  }
  const auto table = RunQuantgrid({"check-export", "--model-file", int8, "--dataset", "synthetic", "--images", "4",
                                   "--threads", "1"},
                                  dir.path().string());
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("every compared step by itself is within 2 steps of its scale"), std::string::npos)
      << table.out;
  const auto not_int8 = RunQuantgrid({"check-export", "--model-file", onnx, "--dataset", "synthetic"}, dir.path().string());
  EXPECT_NE(not_int8.exit_code, 0);
  EXPECT_NE(not_int8.err.find("is not an INT8 model file"), std::string::npos) << not_int8.err;
}

}  // namespace
}  // namespace qg
