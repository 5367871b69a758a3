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

// DeviceModel is what GPU latency, fp16 on cuda and the trainer's validation
// run; on CPU it must answer as the eager interpreter does, and an fp32 one
// must leave integer buffers (batch-norm step counts) integers.
TEST(DeviceModel, Fp32OnCpuMatchesTheEagerInterpreterAndKeepsIntegerBuffers) {
  auto model = *CreateModel("compact_cnn", {.in_channels = 1, .image_size = 28, .num_classes = 10}, 0);
  RandomizeBatchNorm(*model);
  EagerFp32Model eager(model);
  const auto x = torch::randn({4, 1, 28, 28});
  const auto expected = eager.Predict(x);
  DeviceModel fp32(model, torch::Device(torch::kCPU));
  EXPECT_TRUE(torch::equal(fp32.Predict(x), expected));
  for (const auto& b : model->named_buffers()) {
    if (b.key().find("num_batches_tracked") != std::string::npos) {
      EXPECT_EQ(b.value().scalar_type(), torch::kLong) << b.key();
    }
  }
  EXPECT_EQ(fp32.Describe(), "fp32 weights and compute on cpu, eager interpreter");

  DeviceModel bf16(CloneModel(model), torch::Device(torch::kCPU), torch::kBFloat16);
  const auto half = bf16.Predict(x);
  EXPECT_EQ(half.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::allclose(half, expected, 0.1, 0.1)) << (half - expected).abs().max().item<float>();
  EXPECT_EQ(model->parameters()[0].scalar_type(), torch::kFloat32) << "the clone moved, not the original";
}

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
