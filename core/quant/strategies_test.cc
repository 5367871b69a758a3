#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/base/build_info.h"
#include "core/base/files.h"
#include "core/data/dataset_registry.h"
#include "core/metrics/evaluate.h"
#include "core/models/fp32_inference.h"
#include "core/models/model_io.h"
#include "core/models/model_registry.h"
#include "core/quant/bias_correction.h"
#include "core/quant/engine.h"
#include "core/quant/internal/qstep.h"
#include "core/quant/ptq.h"
#include "core/quant/qat.h"
#include "core/quant/quantized_model.h"
#include "core/quant/strategy.h"
#include "core/train/trainer.h"
#include "tests/testing/temp_dir.h"

namespace qg::quant {
namespace {

using qg::testing::TempDir;

class Strategies : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new data::DatasetSplits(
        *data::OpenDataset({.name = "synthetic", .synthetic_train = 1024, .synthetic_test = 256, .seed = 3}));
    auto model = *models::CreateModel("compact_cnn", {.in_channels = 1, .image_size = 28}, 0);
    train::TrainOptions o;
    o.epochs = 2;
    o.batch_size = 64;
    o.seed = 0;
    ASSERT_TRUE(train::Train(model, {.options = o, .train_set = data_->train}));
    model_ = new models::GraphModule(model);
  }
  static void TearDownTestSuite() {
    delete data_;
    delete model_;
  }

  double Top1(models::InferenceModel& m) {
    data::DataLoader loader(data_->test, {.batch_size = 128});
    return metrics::Evaluate(m, loader, "test")->report.top1;
  }

  static data::DatasetSplits* data_;
  static models::GraphModule* model_;
};

data::DatasetSplits* Strategies::data_ = nullptr;
models::GraphModule* Strategies::model_ = nullptr;

TEST_F(Strategies, EveryStrategyStaysWithinOnePointAndInt8FilesAreSmall) {
  TempDir dir;
  ASSERT_TRUE(models::SaveModel(*model_, dir.File("fp32.pt")));
  const int64_t fp32_bytes = *FileSize(dir.File("fp32.pt"));
  auto fp32 = *models::CompiledFp32Model::Compile(*model_);
  const double fp32_top1 = Top1(*fp32);
  ASSERT_GT(fp32_top1, 90.0);
  const std::map<std::string, nlohmann::json> params = {
      {"naive_ptq", {{"calibration_size", 256}}},
      {"bn_fold", {{"calibration_size", 256}}},
      {"bias_correction", {{"calibration_size", 256}}},
      {"mpq", {{"calibration_size", 256}, {"selection_size", 256}, {"sensitivity_size", 128}}},
      {"qat", {{"calibration_size", 256}, {"max_steps_per_epoch", 4}}},
      {"cle", {{"calibration_size", 256}}},
      {"adaround", {{"calibration_size", 256}, {"adaround_iterations", 100}}},
      {"fp16", nlohmann::json::object()},
      {"fp32", nlohmann::json::object()},
  };
  for (const auto& name : KnownStrategies()) {
    const Strategy* s = *FindStrategy(name);
    auto resolved = s->ResolveParams(params.at(name), name);
    ASSERT_TRUE(resolved) << resolved.error().ToString();
    const std::string out = dir.File(name);
    auto r = s->Apply({.fp32 = *model_, .train_set = data_->train, .engine = DefaultEngine(), .out_dir = out,
                       .seed = 0, .fp32_model_bytes = fp32_bytes},
                      *resolved);
    ASSERT_TRUE(r) << name << ": " << r.error().ToString();
    const double top1 = Top1(*r->model);
    EXPECT_NEAR(top1, fp32_top1, 1.0) << name;
    const double ratio = static_cast<double>(*FileSize(r->model_path)) / static_cast<double>(fp32_bytes);
    if (r->precision == "int8") {
      EXPECT_TRUE(r->int8 != nullptr);
      EXPECT_LE(ratio, 0.3) << name;
    } else if (name == "fp16") {
      EXPECT_LT(ratio, 0.55);
    }
  }
}

TEST_F(Strategies, MpqRecordsSensitivitiesAndTheFront) {
  TempDir dir;
  const Strategy* s = *FindStrategy("mpq");
  auto params = *s->ResolveParams({{"calibration_size", 128}, {"selection_size", 128}, {"sensitivity_size", 64},
                                   {"size_budget", 10.0}, {"accuracy_budget", 0.0}},
                                  "mpq");
  auto r = s->Apply({.fp32 = *model_, .train_set = data_->train, .engine = DefaultEngine(), .out_dir = dir.File("m"),
                     .fp32_model_bytes = 1'600'000},
                    params);
  ASSERT_TRUE(r) << r.error().ToString();
  const auto& d = r->details;
  ASSERT_EQ(d["sensitivity"].size(), 5u);
  ASSERT_EQ(d["pareto_front"].size(), 6u);
  // Most sensitive first.
  for (size_t i = 1; i < d["sensitivity"].size(); ++i) {
    EXPECT_GE(d["sensitivity"][i - 1]["relative_mse"].get<double>(), d["sensitivity"][i]["relative_mse"].get<double>());
  }
  // Everything FP32 is the biggest point of the front.
  EXPECT_GT(d["pareto_front"][5]["model_bytes"].get<int64_t>(), d["pareto_front"][0]["model_bytes"].get<int64_t>() * 3);
  EXPECT_EQ(r->int8->Fp32Layers().size(), d["chosen_fp32_count"].get<size_t>());
}

// W4: weights on a 16-level grid in int8 containers, run by the INT8 kernels.
TEST_F(Strategies, FourBitWeightsTakeAtMostSixteenValuesPerChannel) {
  TempDir dir;
  const Strategy* s = *FindStrategy("bn_fold");
  auto params = *s->ResolveParams({{"calibration_size", 256}, {"weight_bits", 4}}, "bn_fold");
  auto r = s->Apply({.fp32 = *model_, .train_set = data_->train, .engine = DefaultEngine(), .out_dir = dir.File("w4")},
                    params);
  ASSERT_TRUE(r) << r.error().ToString();
  auto loaded = QuantizedModel::Load(r->model_path);
  ASSERT_TRUE(loaded) << loaded.error().ToString();
  int layers = 0;
  for (const auto& step : (*loaded)->steps()) {
    if (!step.qweight.defined()) continue;
    ++layers;
    const auto values = step.qweight.int_repr().flatten(1);
    EXPECT_GE(values.min().item<int>(), -8) << step.name;
    EXPECT_LE(values.max().item<int>(), 7) << step.name;
    for (int64_t c = 0; c < values.size(0); ++c) {
      EXPECT_LE(std::get<0>(at::_unique(values[c])).numel(), 16) << step.name << " channel " << c;
    }
  }
  EXPECT_EQ(layers, 5);
  EXPECT_GT(Top1(*r->model), 50.0);
}

// AdaRound at W4A8 per tensor: every layer's output is closer to FP32 than
// with nearest rounding, and top-1 is no worse.
TEST_F(Strategies, AdaRoundBeatsNearestRoundingAtFourBits) {
  TempDir dir;
  const nlohmann::json w4{{"calibration_size", 256}, {"weight_bits", 4}, {"weight_granularity", "per_tensor"}};
  const Strategy* nearest_strategy = *FindStrategy("bn_fold");
  const Strategy* adaround_strategy = *FindStrategy("adaround");
  auto nearest = nearest_strategy->Apply({.fp32 = *model_, .train_set = data_->train, .engine = DefaultEngine(),
                                          .out_dir = dir.File("nearest")},
                                         *nearest_strategy->ResolveParams(w4, "bn_fold"));
  ASSERT_TRUE(nearest) << nearest.error().ToString();
  auto params = w4;
  params["adaround_iterations"] = 300;
  params["adaround_lr"] = 0.01;
  auto ada = adaround_strategy->Apply({.fp32 = *model_, .train_set = data_->train, .engine = DefaultEngine(),
                                       .out_dir = dir.File("adaround")},
                                      *adaround_strategy->ResolveParams(params, "adaround"));
  ASSERT_TRUE(ada) << ada.error().ToString();
  const auto& report = ada->details["adaround"];
  ASSERT_EQ(report.size(), 5u);
  int better = 0;
  for (const auto& layer : report) {
    std::cout << layer.dump() << "\n";
    EXPECT_LE(layer["output_mse_adaround"].get<double>(), layer["output_mse_nearest"].get<double>())
        << layer["layer"];
    better += layer["output_mse_adaround"].get<double>() < 0.9 * layer["output_mse_nearest"].get<double>();
  }
  // The first conv (288 weights on the raw image) has little to gain; the rest
  // measured 2-5x lower.
  EXPECT_GE(better, 4);
  const double top1_nearest = Top1(*nearest->model), top1_ada = Top1(*ada->model);
  std::cout << "W4A8 per-tensor top-1: nearest " << top1_nearest << " %, adaround " << top1_ada << " %\n";
  EXPECT_GE(top1_ada, top1_nearest - 0.5);
}

TEST(StrategyParams, ErrorsNameTheJsonPath) {
  const Strategy* ptq = *FindStrategy("naive_ptq");
  auto bad_observer = ptq->ResolveParams({{"observer", "minmx"}}, "grid.strategies[2]");
  ASSERT_FALSE(bad_observer);
  EXPECT_EQ(bad_observer.error().message,
            "grid.strategies[2].observer: unknown \"minmx\"; known: minmax, moving_average, histogram, entropy, mse");
  auto unknown = ptq->ResolveParams({{"obsrver", "minmax"}}, "grid.strategies[0]");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("grid.strategies[0]: unknown parameter \"obsrver\""), std::string::npos);
  auto range = ptq->ResolveParams({{"calibration_size", 0}}, "s");
  ASSERT_FALSE(range);
  EXPECT_EQ(range.error().message, "s.calibration_size: 0 is outside [1, 1000000]");
  auto type = ptq->ResolveParams({{"fold_bn", "yes"}}, "s");
  ASSERT_FALSE(type);
  EXPECT_EQ(type.error().message, "s.fold_bn: must be true or false");
  const auto unknown_strategy = FindStrategy("int4_magic");
  ASSERT_FALSE(unknown_strategy);
  EXPECT_EQ(unknown_strategy.error().message,
            "unknown strategy \"int4_magic\"; known: adaround, bias_correction, bn_fold, cle, fp16, fp32, mpq, naive_ptq, "
            "qat");
}

TEST(StrategyParams, DefaultsAreFilledSoHashesDoNotDependOnSpelling) {
  const Strategy* ptq = *FindStrategy("bn_fold");
  const auto a = *ptq->ResolveParams(nlohmann::json::object(), "s");
  const auto b = *ptq->ResolveParams({{"observer", "minmax"}, {"fold_bn", true}}, "s");
  EXPECT_EQ(a, b);
  EXPECT_EQ(a["fold_bn"], true);
  EXPECT_EQ((*(*FindStrategy("naive_ptq"))->ResolveParams({}, "s"))["fold_bn"], false);
}

// Bias correction exists to pull INT8 outputs towards FP32: on the very images
// it was fitted on, it must not push them further away.
TEST_F(Strategies, BiasCorrectionDoesNotMoveLogitsAwayFromFp32) {
  ASSERT_TRUE(UseEngine(DefaultEngine()));
  StrategyContext c{.fp32 = *model_, .train_set = data_->train, .engine = DefaultEngine(), .seed = 0};
  PtqParams p;
  p.calibration_size = 256;
  const auto prepared = *PrepareAndCalibrate(c, p);
  const auto loader = CalibrationLoader(c, p.calibration_size);
  auto plain = *Convert(prepared.model, prepared.plan, prepared.qparams, p.convert);
  auto corrected_biases = CorrectBiases(prepared, p.convert, loader);
  ASSERT_TRUE(corrected_biases) << corrected_biases.error().ToString();
  auto with = p.convert;
  with.bias_overrides = corrected_biases->biases;
  auto corrected = *Convert(prepared.model, prepared.plan, prepared.qparams, with);
  models::EagerFp32Model fp32(prepared.model);
  double mse_plain = 0, mse_corrected = 0;
  auto epoch = loader.Epoch(0);
  while (auto b = *epoch->Next()) {
    const auto ref = fp32.Predict(b->images);
    mse_plain += (plain->Predict(b->images) - ref).pow(2).mean().item<double>();
    mse_corrected += (corrected->Predict(b->images) - ref).pow(2).mean().item<double>();
  }
  EXPECT_LE(mse_corrected, mse_plain * 1.05) << "plain " << mse_plain << " corrected " << mse_corrected;
  EXPECT_EQ(corrected_biases->report.size(), 5u);
}

// On a GPU, fp32 and fp16 run the eager interpreter there (the frozen
// TorchScript path holds oneDNN weights that only run on CPU). Without one,
// each says why rather than timing a model that cannot run.
TEST_F(Strategies, Fp32AndFp16OnCudaWithoutAGpuSayWhy) {
  if (QG_WITH_CUDA && torch::cuda::is_available()) GTEST_SKIP() << "a GPU is here";
  TempDir dir;
  StrategyContext c{.fp32 = *model_, .train_set = data_->train, .device = "cuda", .out_dir = dir.path().string()};
  for (const std::string name : {"fp32", "fp16"}) {
    auto applied = (*FindStrategy(name))->Apply(c, nlohmann::json::object());
    ASSERT_FALSE(applied) << name;
    EXPECT_EQ(applied.error().code, ErrorCode::kFailedPrecondition) << name;
    EXPECT_NE(applied.error().message.find(name + " on cuda asked for"), std::string::npos) << applied.error().message;
  }
}

TEST(QatDivergence, KnowsALossThatWentTheWrongWay) {
  EXPECT_FALSE(FineTuneDiverged({}));
  EXPECT_FALSE(FineTuneDiverged({0.3, 0.5, 0.28, 0.25}));         // noisy, ends lower
  EXPECT_FALSE(FineTuneDiverged({0.01, 0.02, 0.05, 0.1}));        // tiny losses: the +0.1 margin
  EXPECT_TRUE(FineTuneDiverged({0.28, 3.0, 8.0, 9.7, 12.3}));     // the ResNet-18 at lr 0.005
  EXPECT_TRUE(FineTuneDiverged({0.3, 0.4, 0.5, std::nan("")}));  // non-finite at the end
  EXPECT_FALSE(FineTuneDiverged({0.3, 9.0, 0.3, 0.2}));           // a spike it recovered from
}

// A rate that blows up: the fine-tuning starts again from the calibrated
// weights at a tenth of it, keeps the one that worked, and records the other.
TEST_F(Strategies, QatBacksOffFromADivergingLearningRate) {
  TempDir dir;
  const Strategy* s = *FindStrategy("qat");
  auto params = *s->ResolveParams({{"calibration_size", 256}, {"max_steps_per_epoch", 8}, {"lr", 10.0}}, "qat");
  auto r = s->Apply({.fp32 = *model_, .train_set = data_->train, .engine = DefaultEngine(), .out_dir = dir.File("q"),
                     .seed = 0, .fp32_model_bytes = 1'600'000},
                    params);
  ASSERT_TRUE(r) << r.error().ToString();
  const auto& diverged = r->details["diverged_fine_tunes"];
  ASSERT_GE(diverged.size(), 1u);
  EXPECT_DOUBLE_EQ(diverged[0]["lr"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(r->details["fine_tune_lr"].get<double>(), 10.0 / std::pow(10.0, diverged.size()));
  auto fp32 = *models::CompiledFp32Model::Compile(*model_);
  EXPECT_NEAR(Top1(*r->model), Top1(*fp32), 1.0);
}

TEST_F(Strategies, QatThatDivergesAtEveryRateSaysSo) {
  ASSERT_TRUE(UseEngine(DefaultEngine()));
  StrategyContext c{.fp32 = *model_, .train_set = data_->train, .engine = DefaultEngine(), .seed = 0};
  PtqParams p;
  p.calibration_size = 256;
  auto prepared = *PrepareAndCalibrate(c, p);
  auto tuned = FineTuneQuantAware(c, prepared, p, {.lr = 10.0, .max_steps_per_epoch = 8, .max_backoffs = 0});
  ASSERT_FALSE(tuned);
  EXPECT_EQ(tuned.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(tuned.error().message.find("qat: fine-tuning diverged at every learning rate tried ([{"), std::string::npos)
      << tuned.error().message;
  EXPECT_NE(tuned.error().message.find("\"lr\":10.0"), std::string::npos) << tuned.error().message;
}

}  // namespace
}  // namespace qg::quant
