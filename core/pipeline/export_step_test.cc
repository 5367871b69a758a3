// ExportStep on a model quantized for another CPU: a file with 8-bit weights
// (here: quantized on qnnpack, which never saturates) exported where u8 x s8
// pairs saturate (a CPU without VNNI, in onednn and ONNX Runtime alike) names
// the layers that saturate, in the result and in result.json, and runs its
// LibTorch reference on qnnpack, so that the agreement measures ONNX Runtime
// against what the model computes. A model quantized on this CPU's onednn
// (7-bit weights there) never saturates and keeps onednn.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/models/model_io.h"
#include "core/models/model_registry.h"
#include "core/pipeline/export_step.h"
#include "core/pipeline/quantize_step.h"
#include "core/quant/engine.h"
#include "core/quant/quantized_model.h"
#include "tests/testing/temp_dir.h"

namespace qg::pipeline {
namespace {

TEST(ExportStep, RunsItsLibTorchReferenceOnAnEngineThatDoesNotSaturateTheEightBitWeights) {
  qg::testing::TempDir dir;
  const std::string fp32 = dir.File("fp32.pt");
  ASSERT_TRUE(models::SaveModel(*models::CreateModel("compact_cnn", {}, 0), fp32));
  const data::DatasetSpec data{.name = "synthetic", .synthetic_train = 128, .synthetic_test = 32, .seed = 5};
  const MeasureOptions no_timing{.eval_batch_size = 32, .latency = {.batch_sizes = {}}};
  if (!quant::EngineSupported("qnnpack")) GTEST_SKIP() << "no qnnpack";

  for (const std::string quantized_on : {"qnnpack", "onednn"}) {
    SCOPED_TRACE(quantized_on);
    auto q = RunQuantizeStep({.fp32_model_path = fp32,
                              .dataset = data,
                              .strategy = "naive_ptq",
                              .params = {{"calibration_size", 128}},
                              .engine = quantized_on,
                              .measure = no_timing,
                              .out_dir = dir.File("q_" + quantized_on),
                              .layer_mse_images = 0});
    ASSERT_TRUE(q) << q.error().ToString();
    auto exported = RunExportStep({.model_path = q->model_path,
                                   .int8 = true,
                                   .engine = "onednn",
                                   .dataset = data,
                                   .measure = no_timing,
                                   .threads = 2,
                                   .out_dir = dir.File("export_" + quantized_on)});
    ASSERT_TRUE(exported) << exported.error().ToString();
    std::ifstream in(dir.File("export_" + quantized_on + "/result.json"));
    const auto stored = nlohmann::json::parse(in);
    EXPECT_EQ(stored.at("saturating_layers"), nlohmann::json(exported->saturating_layers));
    EXPECT_EQ(stored.at("reference_engine"), exported->reference_engine);
    // Checked step by step on 16 test images; where nothing saturates, every
    // step of the export is LibTorch's within a step or two.
    EXPECT_EQ(exported->step_check.images, 16);
    EXPECT_EQ(stored.at("step_check").at("images"), 16);
    if (exported->saturating_layers.empty()) {
      EXPECT_LE(exported->step_check.max_own_steps, 2);
      EXPECT_TRUE(exported->step_check.first_divergence.empty()) << exported->step_check.first_divergence;
    }
    // Symmetric 8-bit weights reach 127 in every INT8 layer: on a CPU
    // without VNNI, onednn (and ONNX Runtime) saturate them, and the
    // LibTorch reference moves to qnnpack.
    if (quantized_on == "qnnpack" && quant::U8S8PairsSaturate("onednn")) {
      const auto model = quant::QuantizedModel::Load(q->model_path, "onednn");
      ASSERT_TRUE(model) << model.error().ToString();
      EXPECT_EQ(exported->saturating_layers, (*model)->Int8Layers());
      EXPECT_FALSE(exported->saturating_layers.empty());
      EXPECT_EQ(exported->reference_engine, "qnnpack");
    } else {
      EXPECT_TRUE(exported->saturating_layers.empty());
      EXPECT_EQ(exported->reference_engine, "onednn");
    }
  }
}

}  // namespace
}  // namespace qg::pipeline
