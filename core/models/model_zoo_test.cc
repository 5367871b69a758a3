#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/models/model_registry.h"

namespace qg::models {
namespace {

TEST(ModelZoo, ResNet18CifarHasExactlyTheReferenceParameterCount) {
  const auto m = CreateModel("resnet18_cifar", {.in_channels = 3, .image_size = 32, .num_classes = 10}, 0);
  ASSERT_TRUE(m) << m.error().ToString();
  EXPECT_EQ((*m)->ParameterCount(), 11'173'962);
}

TEST(ModelZoo, InceptionV3ParameterCountsWithAndWithoutAux) {
  const ModelOptions with_aux{.in_channels = 3, .image_size = 299, .num_classes = 1000, .aux_logits = true};
  const auto a = CreateModel("inception_v3", with_aux, 0);
  ASSERT_TRUE(a) << a.error().ToString();
  EXPECT_EQ((*a)->ParameterCount(), 27'161'264);
  auto without = with_aux;
  without.aux_logits = false;
  const auto b = CreateModel("inception_v3", without, 0);
  ASSERT_TRUE(b);
  EXPECT_EQ((*b)->ParameterCount(), 23'834'568);
}

TEST(ModelZoo, CompactCnnFollowsTheDataset) {
  auto fashion = CreateModel("compact_cnn", {.in_channels = 1, .image_size = 28, .num_classes = 10}, 0);
  auto cifar = CreateModel("compact_cnn", {.in_channels = 3, .image_size = 32, .num_classes = 10}, 0);
  ASSERT_TRUE(fashion && cifar);
  // conv 3x3: 288 + 18,432 + 73,728; BN: 2 x 224; fc1 1152x256 + 256; fc2 256x10 + 10
  EXPECT_EQ((*fashion)->ParameterCount(), 390'634);
  EXPECT_EQ((*cifar)->ParameterCount(), 390'634 + 576 + (2048 - 1152) * 256);
  torch::NoGradGuard g;
  (*fashion)->eval();
  EXPECT_EQ((*fashion)->forward(torch::randn({5, 1, 28, 28})).sizes(), (std::vector<int64_t>{5, 10}));
  (*cifar)->eval();
  EXPECT_EQ((*cifar)->forward(torch::randn({2, 3, 32, 32})).sizes(), (std::vector<int64_t>{2, 10}));
}

TEST(ModelZoo, ForwardShapes) {
  torch::NoGradGuard g;
  auto resnet = *CreateModel("resnet18_cifar", {.in_channels = 3, .image_size = 32, .num_classes = 10}, 0);
  resnet->eval();
  EXPECT_EQ(resnet->forward(torch::randn({2, 3, 32, 32})).sizes(), (std::vector<int64_t>{2, 10}));

  auto inception = *CreateModel("inception_v3", {.in_channels = 3, .image_size = 299, .num_classes = 1000,
                                                 .aux_logits = true}, 0);
  inception->eval();
  const auto eval_out = inception->ForwardAll(torch::randn({1, 3, 299, 299}));
  EXPECT_EQ(eval_out[0].sizes(), (std::vector<int64_t>{1, 1000}));
  EXPECT_FALSE(eval_out[1].defined());  // the auxiliary head is skipped at inference
  inception->train();
  const auto train_out = inception->ForwardAll(torch::randn({2, 3, 299, 299}));
  EXPECT_EQ(train_out[0].sizes(), (std::vector<int64_t>{2, 1000}));
  EXPECT_EQ(train_out[1].sizes(), (std::vector<int64_t>{2, 1000}));
}

TEST(ModelZoo, UnknownNameListsKnownOnesAndBadOptionsAreRejected) {
  const auto m = CreateModel("vgg16", {}, 0);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(m.error().message, "unknown model 'vgg16'; known: compact_cnn, inception_v3, resnet18_cifar");
  const auto small = CreateModel("inception_v3", {.in_channels = 1, .image_size = 28}, 0);
  ASSERT_FALSE(small);
  EXPECT_NE(small.error().message.find("at least 75x75"), std::string::npos);
}

TEST(ModelZoo, SameSeedSameWeights) {
  const ModelOptions o{.in_channels = 1, .image_size = 28};
  auto a = *CreateModel("compact_cnn", o, 3), b = *CreateModel("compact_cnn", o, 3), c = *CreateModel("compact_cnn", o, 4);
  const auto pa = a->parameters(), pb = b->parameters(), pc = c->parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i]));
  EXPECT_FALSE(torch::equal(pa[0], pc[0]));
}

}  // namespace
}  // namespace qg::models
