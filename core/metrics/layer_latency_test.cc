#include "core/metrics/layer_latency.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace qg::metrics {
namespace {

// Reports layer times it is told, one pass after another.
class ScriptedLayers final : public models::InferenceModel {
 public:
  std::string Describe() const override { return "scripted"; }
  torch::Tensor Predict(const torch::Tensor& images) override {
    ++predictions;
    return torch::zeros({images.size(0), 10});
  }
  std::vector<models::LayerTime> PredictTimingLayers(const torch::Tensor& images) override {
    batches.push_back(images.size(0));
    return passes.at(timed++ % passes.size());
  }
  std::vector<std::vector<models::LayerTime>> passes;
  std::vector<int64_t> batches;
  size_t timed = 0;
  int predictions = 0;
};

TEST(MeasureLayerLatency, TakesEachLayersMedianInExecutionOrder) {
  ScriptedLayers model;
  model.passes = {{{"conv", "conv", 3.0}, {"pool", "max_pool", 1.0}},
                  {{"conv", "conv", 1.0}, {"pool", "max_pool", 9.0}},
                  {{"conv", "conv", 2.0}, {"pool", "max_pool", 2.0}}};
  auto timed = MeasureLayerLatency(model, {1, 4, 4}, {.batch_size = 5, .warmup_runs = 2, .runs = 3});
  ASSERT_TRUE(timed) << timed.error().ToString();
  ASSERT_EQ(timed->layers.size(), 2u);
  EXPECT_EQ(timed->layers[0].layer, "conv");
  EXPECT_EQ(timed->layers[0].kind, "conv");
  EXPECT_DOUBLE_EQ(timed->layers[0].ms, 2.0);
  EXPECT_EQ(timed->layers[1].layer, "pool");
  EXPECT_DOUBLE_EQ(timed->layers[1].ms, 2.0);
  EXPECT_GE(timed->pass_ms, 0);
  EXPECT_EQ(model.predictions, 2);  // warm-up
  EXPECT_EQ(model.batches, (std::vector<int64_t>{5, 5, 5}));
}

TEST(MeasureLayerLatency, RefusesLayersThatChangeBetweenPasses) {
  ScriptedLayers model;
  model.passes = {{{"conv", "conv", 1.0}}, {{"other", "conv", 1.0}}};
  auto timed = MeasureLayerLatency(model, {1, 4, 4}, {.warmup_runs = 0, .runs = 2});
  ASSERT_FALSE(timed);
  EXPECT_NE(timed.error().message.find("differ"), std::string::npos);
}

TEST(MeasureLayerLatency, AModelThatTimesOnlyAsAWholeHasNoLayers) {
  class Whole final : public models::InferenceModel {
   public:
    std::string Describe() const override { return "whole"; }
    torch::Tensor Predict(const torch::Tensor& images) override { return torch::zeros({images.size(0), 10}); }
  } model;
  auto timed = MeasureLayerLatency(model, {1, 4, 4}, {.warmup_runs = 0, .runs = 2});
  ASSERT_TRUE(timed) << timed.error().ToString();
  EXPECT_TRUE(timed->layers.empty());
}

}  // namespace
}  // namespace qg::metrics
