// The export check (export_check.h): on exports that are right, every step by
// itself matches LibTorch's within one step of its scale; on an export made
// wrong on purpose, it names the one step that is wrong, though every later
// value of the whole run differs too.
#include "core/export/export_check.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>

#include "core/data/data_loader.h"
#include "core/export/export_test_models.h"
#include "core/quant/internal/qstep.h"
#include "tests/testing/temp_dir.h"

namespace qg::onnx_export {
namespace {

using qg::testing::TempDir;

models::ModelOptions OptionsFor(const std::string& name) {
  const bool cifar = name != "compact_cnn";
  return {.in_channels = cifar ? 3 : 1, .image_size = cifar ? 32 : 28, .num_classes = 10};
}

torch::Tensor TestImages(const data::DatasetSplits& splits) {
  data::DataLoader loader(splits.test, {.batch_size = 16, .prefetch = 0});
  return (**loader.Epoch(0)->Next()).images;
}

class ExportCheckOf : public ::testing::TestWithParam<const char*> {};

TEST_P(ExportCheckOf, EveryStepMatchesLibTorchWithinOneStepOfItsScale) {
  const std::string name = GetParam();
  TempDir dir;
  auto [splits, applied] = NaivePtqOnSynthetic(name, OptionsFor(name), 16, dir.File("ptq"));
  ASSERT_TRUE(applied) << applied.error().ToString();
  auto ort = OnnxRuntime::Find();
  ASSERT_TRUE(ort) << ort.error().ToString();
  auto check = CheckExportAgainstInt8(*applied->int8, *ort, TestImages(splits), 2);
  ASSERT_TRUE(check) << check.error().ToString();
  int comparable = 0;
  for (const auto& v : check->values) comparable += v.comparable;
  std::cout << name << ": " << comparable << " of " << check->values.size() << " values compared, own max "
            << MaxOwnSteps(*check) << " steps, top-1 agreement " << check->top1_agreement << " %\n";
  EXPECT_EQ(check->images, 16);
  // Every conv and linear, and the quantized image; compact_cnn's first conv
  // writes a layout of the export's own (pixel groups), read by its pool.
  EXPECT_GE(comparable, static_cast<int>(applied->int8->Int8Layers().size()) + (name == "compact_cnn" ? 0 : 1));
  EXPECT_LE(static_cast<int>(check->values.size()) - comparable, name == "compact_cnn" ? 1 : 0);
  EXPECT_EQ(FirstDivergence(*check, 1), nullptr) << FirstDivergence(*check, 1)->step;
  EXPECT_GE(check->top1_agreement, 75.0);  // random weights, 16 images: 93.75 / 100 % measured
}

INSTANTIATE_TEST_SUITE_P(Models, ExportCheckOf, ::testing::Values("compact_cnn", "resnet18_cifar"));

TEST(ExportCheck, NamesTheOneStepOfAFaultyExport) {
  TempDir dir;
  auto [splits, applied] = NaivePtqOnSynthetic("resnet18_cifar", OptionsFor("resnet18_cifar"), 16, dir.File("ptq"));
  ASSERT_TRUE(applied) << applied.error().ToString();
  quant::QuantizedModel& model = *applied->int8;
  const torch::Tensor images = TestImages(splits);
  auto exported = ExportQdqExposingInt8Values(model, model.RunKeepingValues(images));
  ASSERT_TRUE(exported) << exported.error().ToString();

  // The bias of the sixth conv, moved up by 2^16 of its int32 steps. The
  // export folds the conv's BatchNorm into it, so the BN's value is the
  // conv's output there.
  std::string conv, faulty;
  const auto& steps = model.steps();
  int convs = 0;
  for (size_t i = 0; i + 1 < steps.size(); ++i) {
    if (steps[i].kind == quant::internal::StepKind::kConv &&
        steps[i + 1].kind == quant::internal::StepKind::kBatchNorm && ++convs == 6) {
      conv = steps[i].name;
      faulty = steps[i + 1].name;
    }
  }
  ASSERT_FALSE(faulty.empty());
  bool changed = false;
  for (auto& init : *exported->model.mutable_graph()->mutable_initializer()) {
    if (init.name() != conv + ".bias:int32") continue;
    std::string& raw = *init.mutable_raw_data();
    for (size_t i = 0; i + 4 <= raw.size(); i += 4) {
      int32_t v;
      std::memcpy(&v, raw.data() + i, 4);
      v += 1 << 16;
      std::memcpy(raw.data() + i, &v, 4);
    }
    changed = true;
  }
  ASSERT_TRUE(changed) << "no initializer " << conv << ".bias:int32";

  auto ort = OnnxRuntime::Find();
  ASSERT_TRUE(ort) << ort.error().ToString();
  auto check = CheckExportedValues(model, *exported, *ort, images, 2);
  ASSERT_TRUE(check) << check.error().ToString();
  const ValueAgreement* first = FirstDivergence(*check, 1);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->step, faulty);
  EXPECT_GT(first->own.max_steps, 10);
  // Only that step differs by itself; the whole run differs after it.
  int diverging = 0, carried = 0;
  bool after = false;
  for (const auto& v : check->values) {
    diverging += v.comparable && static_cast<double>(v.own.max_steps) > 1 + v.allowed_steps;
    if (after && v.comparable && v.propagated.max_steps > 1) ++carried;
    after = after || v.step == faulty;
  }
  EXPECT_EQ(diverging, 1);
  EXPECT_GT(carried, 3);
}

}  // namespace
}  // namespace qg::onnx_export
