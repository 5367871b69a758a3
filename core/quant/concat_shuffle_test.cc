// A concat and the channel shuffle that alone reads it, as one pass
// (internal/concat_shuffle.h): the bytes LibTorch's quantized::cat and the
// shuffle step write, for inputs requantized or not, two and three inputs,
// and inside a QuantizedModel's Predict beside its step-by-step pass.
#include "core/quant/internal/concat_shuffle.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/quant/internal/qstep.h"
#include "core/quant/quantized_model.h"

namespace qg::quant::internal {
namespace {

Step Concat(std::vector<int> inputs, int out, QParams q) {
  return Step{.kind = StepKind::kConcat, .name = "cat", .inputs = std::move(inputs), .output = out, .out = q};
}

Step Shuffle(int in, int out, int64_t groups) {
  Step s{.kind = StepKind::kActivation, .name = "shuffle", .inputs = {in}, .output = out};
  s.fn.op = models::Op::kChannelShuffle;
  s.fn.groups = groups;
  return s;
}

torch::Tensor Image(int64_t channels, double scale, int64_t zero_point, int seed) {
  torch::manual_seed(seed);
  return at::quantize_per_tensor((torch::randn({3, channels, 5, 7}) * 2).contiguous(torch::MemoryFormat::ChannelsLast),
                                 scale, zero_point, torch::kQUInt8);
}

// The two steps one after the other, and the pass, on the same inputs.
void ExpectThePassWritesTheStepsBytes(const std::vector<torch::Tensor>& inputs, QParams out, int64_t groups) {
  SCOPED_TRACE(::testing::Message() << inputs.size() << " inputs, " << groups << " groups");
  std::vector<int> slots;
  std::vector<torch::Tensor> values;
  for (size_t k = 0; k < inputs.size(); ++k) slots.push_back(static_cast<int>(k)), values.push_back(inputs[k]);
  const int cat_slot = static_cast<int>(inputs.size());
  const Step concat = Concat(slots, cat_slot, out), shuffle = Shuffle(cat_slot, cat_slot + 1, groups);
  ASSERT_TRUE(ConcatShuffleFits(concat, shuffle));
  values.resize(inputs.size() + 2);
  RunStep(concat, values);
  RunStep(shuffle, values);
  const torch::Tensor& expected = values[cat_slot + 1];

  ASSERT_TRUE(ConcatShuffleTakes(inputs, groups));
  const auto tables = MakeConcatShuffleTables(concat, inputs, groups);
  ASSERT_TRUE(ConcatShuffleTablesFit(tables, inputs));
  const auto got = ConcatShuffle(inputs, tables, concat);
  EXPECT_TRUE(got.is_contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_EQ(got.q_scale(), expected.q_scale());
  EXPECT_EQ(got.q_zero_point(), expected.q_zero_point());
  EXPECT_EQ(got.sizes(), expected.sizes());
  const auto diff = (got.int_repr().to(torch::kInt) - expected.int_repr().to(torch::kInt)).abs();
  EXPECT_EQ(diff.max().item<int>(), 0) << diff.gt(0).sum().item<int64_t>() << " of " << diff.numel() << " bytes differ";
}

TEST(ConcatShuffle, WritesTheBytesOfTheConcatThenTheShuffle) {
  // ShuffleNet's stride-1 unit: the passthrough half and the branch, each
  // quantized its own way, shuffled in 2 groups.
  ExpectThePassWritesTheStepsBytes({Image(24, 0.05, 0, 1), Image(24, 0.031, 3, 2)}, {0.06, 1}, 2);
  // Nothing to requantize: the tables are the identity.
  ExpectThePassWritesTheStepsBytes({Image(24, 0.05, 7, 3), Image(24, 0.05, 7, 4)}, {0.05, 7}, 2);
  // Vector bodies and tails: 58 + 58 channels (shufflenet_v2_x1_0's second stage).
  ExpectThePassWritesTheStepsBytes({Image(58, 0.05, 0, 8), Image(58, 0.031, 3, 9)}, {0.06, 1}, 2);
  // Three inputs of unequal widths, 3 groups.
  ExpectThePassWritesTheStepsBytes({Image(5, 0.02, 128, 5), Image(9, 0.07, 40, 6), Image(13, 0.04, 0, 7)}, {0.05, 60},
                                   3);
}

TEST(ConcatShuffle, TakesOnlyChannelsLastQuint8ImagesOfOneShape) {
  const auto a = Image(8, 0.05, 0, 1), b = Image(8, 0.05, 0, 2);
  EXPECT_TRUE(ConcatShuffleTakes({a, b}, 2));
  EXPECT_FALSE(ConcatShuffleTakes({a, b.contiguous()}, 2));     // NCHW
  EXPECT_FALSE(ConcatShuffleTakes({a, b.narrow(2, 0, 4)}, 2));  // another height
  EXPECT_FALSE(ConcatShuffleTakes({a, b}, 3));                  // 16 channels in 3 groups
  EXPECT_FALSE(ConcatShuffleTakes({a, b.dequantize()}, 2));     // float
  EXPECT_FALSE(ConcatShuffleTakes({a, at::quantize_per_tensor(b.dequantize(), 0.05, 0, torch::kQInt8)}, 2));
  const Step concat = Concat({0, 1}, 2, {0.05, 0});
  const auto tables = MakeConcatShuffleTables(concat, {a, b}, 2);
  EXPECT_TRUE(ConcatShuffleTablesFit(tables, {a, b}));
  EXPECT_FALSE(ConcatShuffleTablesFit(tables, {a, at::quantize_per_tensor(b.dequantize(), 0.04, 0, torch::kQUInt8)}));
  EXPECT_FALSE(ConcatShuffleTablesFit(tables, {a, Image(16, 0.05, 0, 3)}));
}

// Two quantizations of a colour image (channels-last, quantize_input.h),
// concatenated and shuffled: Predict runs the pass, the step-by-step pass
// runs LibTorch's kernels, and they agree; a shuffle whose concat something
// else reads too stays two steps.
TEST(ConcatShuffle, PredictRunsThePassAndAgreesWithTheStepByStepPass) {
  std::vector<Step> steps;
  steps.push_back(
      Step{.kind = StepKind::kQuantizeInput, .name = "a", .inputs = {0}, .output = 1, .out = QParams{0.05, 128}});
  steps.push_back(
      Step{.kind = StepKind::kQuantizeInput, .name = "b", .inputs = {0}, .output = 2, .out = QParams{0.02, 100}});
  steps.push_back(Concat({1, 2}, 3, {0.04, 110}));
  steps.push_back(Shuffle(3, 4, 2));
  QuantizedModel model(steps, 5, 4, "onednn", {});
  EXPECT_EQ(model.ConcatShuffles(), std::vector<std::string>{"cat"});
  torch::manual_seed(6);
  const auto images = torch::randn({2, 3, 6, 5});
  const auto step_by_step = model.RunKeepingValues(images)[4].dequantize();
  EXPECT_TRUE(torch::equal(model.Predict(images), step_by_step));
  EXPECT_TRUE(torch::equal(model.Predict(images), step_by_step));  // tables written once, reused
  std::vector<std::string> kinds;
  for (const auto& l : model.PredictTimingLayers(images)) kinds.push_back(l.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"quantize_input", "quantize_input", "concat+channel_shuffle"}));

  steps.push_back(Concat({3, 4}, 5, {0.04, 110}));  // reads the concat beside the shuffle
  QuantizedModel both_read(steps, 6, 5, "onednn", {});
  EXPECT_TRUE(both_read.ConcatShuffles().empty());
  EXPECT_TRUE(torch::equal(both_read.Predict(images), both_read.RunKeepingValues(images)[5].dequantize()));
}

}  // namespace
}  // namespace qg::quant::internal
