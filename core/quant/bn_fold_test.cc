#include "core/quant/bn_fold.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/models/model_registry.h"

namespace qg::quant {
namespace {

// Trained-looking BN statistics and affine parameters, so folding has work to do.
void RandomizeBatchNorm(models::GraphModuleImpl& m) {
  torch::NoGradGuard g;
  for (size_t i = 0; i < m.graph().nodes.size(); ++i) {
    if (auto bn = m.bn(static_cast<int>(i))) {
      bn->running_mean.uniform_(-0.5, 0.5);
      bn->running_var.uniform_(0.2, 3.0);
      bn->weight.uniform_(0.3, 1.7);
      bn->bias.uniform_(-0.3, 0.3);
    }
  }
}

class BnFold : public ::testing::TestWithParam<std::string> {};

TEST_P(BnFold, FoldedModelEqualsUnfoldedInEvalMode) {
  const bool cifar = GetParam() == "resnet18_cifar";
  const models::ModelOptions o{.in_channels = cifar ? 3 : 1, .image_size = cifar ? 32 : 28, .num_classes = 10};
  auto model = *models::CreateModel(GetParam(), o, 0);
  RandomizeBatchNorm(*model);
  model->eval();
  auto folded = FoldBatchNorm(model);
  ASSERT_TRUE(folded) << folded.error().ToString();
  int bns = 0;
  for (const auto& n : (*folded)->graph().nodes) bns += n.op == models::Op::kBatchNorm2d;
  EXPECT_EQ(bns, 0);
  EXPECT_EQ(CountFoldableBatchNorms(model->graph()), cifar ? 20 : 3);
  torch::NoGradGuard g;
  const auto x = torch::randn({4, o.in_channels, o.image_size, o.image_size});
  const auto a = model->forward(x), b = (*folded)->forward(x);
  const double rel = ((a - b).abs().max() / a.abs().max()).item<double>();
  EXPECT_LT(rel, 1e-5) << GetParam();
  EXPECT_EQ((*folded)->meta().transforms.back(), "bn_fold");
}

INSTANTIATE_TEST_SUITE_P(Models, BnFold, ::testing::Values("compact_cnn", "resnet18_cifar"));

}  // namespace
}  // namespace qg::quant
