#include "core/train/trainer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/data/dataset_registry.h"
#include "core/models/model_registry.h"
#include "tests/testing/temp_dir.h"

namespace qg::train {
namespace {

using qg::testing::TempDir;

data::DatasetSplits Synthetic() {
  return *data::OpenDataset({.name = "synthetic", .synthetic_train = 512, .synthetic_test = 128, .seed = 2});
}

models::GraphModule NewModel(uint64_t seed = 0) {
  return *models::CreateModel("compact_cnn", {.in_channels = 1, .image_size = 28, .num_classes = 10}, seed);
}

bool SameWeights(const models::GraphModule& a, const models::GraphModule& b) {
  const auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    if (!torch::equal(pa[i], pb[i])) return false;
  }
  const auto ba = a->buffers(), bb = b->buffers();
  for (size_t i = 0; i < ba.size(); ++i) {
    if (!torch::equal(ba[i], bb[i])) return false;
  }
  return true;
}

TrainOptions Quick() {
  TrainOptions o;
  o.epochs = 3;
  o.batch_size = 64;
  o.lr = 0.05;
  o.seed = 1;
  return o;
}

TEST(Trainer, LearnsSyntheticDataAndReportsEachEpoch) {
  auto model = NewModel();
  auto o = Quick();
  o.val_size = 64;
  const auto report = Train(model, {.options = o, .train_set = Synthetic().train});
  ASSERT_TRUE(report) << report.error().ToString();
  ASSERT_EQ(report->epochs.size(), 3u);
  EXPECT_EQ(report->steps, 3 * 7);  // 448 examples / 64
  EXPECT_LT(report->epochs.back().train_loss, report->epochs.front().train_loss);
  EXPECT_GT(report->epochs.back().val_accuracy, 90.0);
  EXPECT_EQ(report->step_losses.size(), 21u);
  EXPECT_FALSE(model->is_training());
}

// An untrained model's loss is about ln 10 = 2.3: a bound of 1 stops the first step.
TEST(Trainer, AStepLossAboveStopAboveLossEndsTrainingAsDiverged) {
  auto model = NewModel();
  const auto report = Train(model, {.options = Quick(), .train_set = Synthetic().train, .stop_above_loss = 1.0});
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(report.error().message.find("training diverged at epoch 1 step 1 (loss 2."), std::string::npos)
      << report.error().message;
  auto unbounded = NewModel();
  EXPECT_TRUE(Train(unbounded, {.options = Quick(), .train_set = Synthetic().train, .stop_above_loss = 100.0}));
}

TEST(Trainer, SameSeedSameWeights) {
  auto a = NewModel(), b = NewModel();
  ASSERT_TRUE(Train(a, {.options = Quick(), .train_set = Synthetic().train}));
  ASSERT_TRUE(Train(b, {.options = Quick(), .train_set = Synthetic().train}));
  EXPECT_TRUE(SameWeights(a, b));
}

TEST(Trainer, ResumeContinuesBitExactly) {
  TempDir dir;
  const auto data = Synthetic();
  auto uninterrupted = NewModel();
  ASSERT_TRUE(Train(uninterrupted, {.options = Quick(), .train_set = data.train}));

  // A crash as epoch 2 begins: epoch 1's state is already on disk.
  struct CrashAtSecondEpoch : TrainObserver {
    void OnEpochBegin(int64_t epoch, int64_t, int64_t) override {
      if (epoch == 1) throw std::runtime_error("simulated crash");
    }
  } crash;
  const std::string state = dir.File("state.pt");
  auto crashed = NewModel();
  EXPECT_THROW(Train(crashed, {.options = Quick(), .train_set = data.train, .observer = &crash, .state_path = state}),
               std::runtime_error);

  // A new process: fresh weights from another seed, everything comes from the state.
  auto resumed = NewModel(/*seed=*/99);
  const auto report = Train(resumed, {.options = Quick(), .train_set = data.train, .state_path = state, .resume = true});
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_TRUE(report->resumed);
  EXPECT_EQ(report->epochs.size(), 3u);
  EXPECT_TRUE(SameWeights(uninterrupted, resumed));

  // A state file only resumes the recipe that wrote it.
  auto other = Quick();
  other.lr = 0.01;
  auto mismatch = NewModel();
  const auto refused = Train(mismatch, {.options = other, .train_set = data.train, .state_path = state, .resume = true});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);
}

TEST(Trainer, EarlyStoppingRestoresTheBestWeights) {
  auto model = NewModel();
  auto o = Quick();
  o.epochs = 6;
  o.lr = 2.0;  // unstable on purpose: validation accuracy will not keep rising
  o.val_size = 64;
  o.early_stopping_patience = 1;
  const auto report = Train(model, {.options = o, .train_set = Synthetic().train});
  if (!report) {
    EXPECT_EQ(report.error().code, ErrorCode::kFailedPrecondition);  // diverged: also a clear answer
    return;
  }
  if (report->stopped_early) {
    EXPECT_LT(report->epochs.size(), 6u);
  }
  EXPECT_GE(report->best_epoch, 0);
}

TEST(Trainer, RecipeValidationNamesTheField) {
  auto bad = TrainOptions::FromJson(nlohmann::json{{"lr", -1}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "train.lr: must be positive (got -1)");
  auto unknown = TrainOptions::FromJson(nlohmann::json{{"learning_rate", 0.1}});
  ASSERT_FALSE(unknown);
  // The wording every strict JSON reader shares (core/base/json_fields.h).
  EXPECT_EQ(unknown.error().message.rfind("train: unknown field \"learning_rate\"; known: epochs, batch_size, lr", 0),
            0u)
      << unknown.error().message;
  auto es = TrainOptions::FromJson(nlohmann::json{{"early_stopping_patience", 2}});
  ASSERT_FALSE(es);
  EXPECT_NE(es.error().message.find("needs val_size > 0"), std::string::npos);
}

}  // namespace
}  // namespace qg::train
