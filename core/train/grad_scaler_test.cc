// AMP's loss scaling on CPU tensors (the same ops run on CUDA), and the
// training device checks a CPU build makes.
#include "core/train/grad_scaler.h"

#include <gtest/gtest.h>

#include "core/base/build_info.h"
#include "core/models/model_registry.h"
#include "core/train/train_options.h"
#include "core/train/trainer.h"
#include "core/data/dataset_registry.h"

namespace qg::train {
namespace {

torch::Tensor ParamWithGrad(std::vector<float> grad) {
  auto p = torch::zeros({static_cast<int64_t>(grad.size())}, torch::requires_grad());
  p.mutable_grad() = torch::tensor(grad);
  return p;
}

TEST(GradScaler, UnscalesGradientsAndKeepsTheScaleWhileTheyAreFinite) {
  GradScaler scaler({.init_scale = 1024, .growth_interval = 3});
  EXPECT_DOUBLE_EQ(scaler.Scale(torch::tensor(2.0f)).item<double>(), 2048.0);
  auto p = ParamWithGrad({1024.0f, -512.0f});
  ASSERT_TRUE(scaler.Unscale({p}));
  EXPECT_TRUE(torch::equal(p.grad(), torch::tensor({1.0f, -0.5f})));
  scaler.Update();
  scaler.Update();
  EXPECT_DOUBLE_EQ(scaler.scale(), 1024);
  scaler.Update();  // the third clean step in a row: grow
  EXPECT_DOUBLE_EQ(scaler.scale(), 2048);
}

TEST(GradScaler, AnInfOrNanGradientSkipsTheStepAndHalvesTheScale) {
  GradScaler scaler({.init_scale = 1024, .growth_interval = 2});
  for (float bad : {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
    auto fine = ParamWithGrad({1.0f});
    auto broken = ParamWithGrad({1.0f, bad});
    auto no_grad = torch::zeros({3}, torch::requires_grad());  // a parameter backward did not reach
    EXPECT_FALSE(scaler.Unscale({fine, no_grad, broken}));
    scaler.Update();
  }
  EXPECT_DOUBLE_EQ(scaler.scale(), 256);
  EXPECT_EQ(scaler.skipped_steps(), 2);
  auto p = ParamWithGrad({256.0f});
  EXPECT_TRUE(scaler.Unscale({p}));
  scaler.Update();
  EXPECT_DOUBLE_EQ(scaler.scale(), 256) << "growth counts clean steps since the last overflow";
}

TEST(TrainDevice, OptionsRejectAmpOffCudaAndUnknownDevices) {
  EXPECT_NE(TrainOptions::FromJson({{"amp", true}}).error().message.find("train.amp"), std::string::npos);
  EXPECT_NE(TrainOptions::FromJson({{"device", "tpu"}}).error().message.find("train.device: unknown \"tpu\""),
            std::string::npos);
  auto cuda = TrainOptions::FromJson({{"device", "cuda"}, {"amp", true}});
  ASSERT_TRUE(cuda);
  EXPECT_EQ(cuda->ToJson()["device"], "cuda");
  EXPECT_FALSE(TrainOptions{}.ToJson().contains("device")) << "CPU recipes keep their config hashes";
  EXPECT_FALSE(TrainOptions{}.ToJson().contains("amp"));
}

TEST(TrainDevice, CudaTrainingWithoutAGpuFailsWithTheReason) {
  if (QG_WITH_CUDA && torch::cuda::is_available()) GTEST_SKIP() << "a GPU is here";
  auto model = *models::CreateModel("compact_cnn", {.in_channels = 1, .image_size = 28, .num_classes = 10}, 0);
  TrainRun run{.options = *TrainOptions::FromJson({{"device", "cuda"}, {"amp", true}, {"epochs", 1}}),
               .train_set = data::OpenDataset({.name = "synthetic", .synthetic_train = 256, .synthetic_test = 64})->train};
  auto report = Train(model, run);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(report.error().message.find("train.device cuda"), std::string::npos) << report.error().message;
}

}  // namespace
}  // namespace qg::train
