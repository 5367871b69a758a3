#include "core/models/fp32_inference.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/models/model_registry.h"

namespace qg::models {
namespace {

// Trained-looking BN statistics so the folded conv differs from the raw one.
void RandomizeBatchNorm(GraphModuleImpl& m) {
  torch::NoGradGuard g;
  for (size_t i = 0; i < m.graph().nodes.size(); ++i) {
    if (auto bn = m.bn(static_cast<int>(i))) {
      bn->running_mean.uniform_(-0.5, 0.5);
      bn->running_var.uniform_(0.5, 2.0);
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.uniform_(-0.2, 0.2);
    }
  }
}

class CompiledFp32 : public ::testing::TestWithParam<std::string> {};

TEST_P(CompiledFp32, MatchesTheEagerInterpreter) {
  const bool cifar = GetParam() != "compact_cnn";
  const ModelOptions o{.in_channels = cifar ? 3 : 1, .image_size = cifar ? 32 : 28, .num_classes = 10};
  auto model = *CreateModel(GetParam(), o, 0);
  RandomizeBatchNorm(*model);
  model->eval();
  auto compiled = CompiledFp32Model::Compile(model);
  ASSERT_TRUE(compiled) << compiled.error().ToString();
  EagerFp32Model eager(model);
  const auto x = torch::randn({3, o.in_channels, o.image_size, o.image_size});
  const auto a = eager.Predict(x), b = (*compiled)->Predict(x);
  EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-4)) << (a - b).abs().max().item<float>();
  EXPECT_NE((*compiled)->Describe().find("oneDNN"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Models, CompiledFp32, ::testing::Values("compact_cnn", "resnet18_cifar"));

TEST(EmitTorchScript, SkipsDropoutAndAuxiliaryHeads) {
  const auto g = *BuildGraph("inception_v3", {.in_channels = 3, .image_size = 299, .num_classes = 5, .aux_logits = true});
  const std::string src = EmitTorchScript(g);
  int convs = 0, aux_convs = 0;
  for (const auto& n : g.nodes) {
    if (n.op != Op::kConv2d) continue;
    ++convs;
    if (n.name.rfind("AuxLogits", 0) == 0) ++aux_convs;
  }
  int emitted = 0;
  for (size_t pos = 0; (pos = src.find("torch.conv2d(", pos)) != std::string::npos; ++pos) ++emitted;
  EXPECT_EQ(aux_convs, 2);
  EXPECT_EQ(emitted, convs - aux_convs);
  EXPECT_EQ(src.find("dropout"), std::string::npos);
  EXPECT_NE(src.find("torch.cat("), std::string::npos);
  EXPECT_NE(src.find("torch.batch_norm("), std::string::npos);
  EXPECT_NE(src.find(", 0.001, False)"), std::string::npos);  // BN eps written as a float literal
}

}  // namespace
}  // namespace qg::models
