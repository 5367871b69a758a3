// Channel shuffles and their slices as 1x1 convs that pick channels
// (internal/channel_picks.h): the channels LibTorch's own channel_shuffle
// moves, and a pick conv on LibTorch's INT8 kernels copies them exactly.
#include "core/export/internal/channel_picks.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/quant/engine.h"

namespace qg::onnx_export::internal {
namespace {

using quant::internal::Step;
using quant::internal::StepKind;

Step Shuffle(int64_t channels, int64_t groups) {
  Step s{.kind = StepKind::kActivation, .name = "shuffle", .inputs = {0}, .output = 1};
  s.fn = models::Node{
      .op = models::Op::kChannelShuffle, .in_channels = channels, .out_channels = channels, .groups = groups};
  return s;
}

TEST(ChannelPicks, AShuffleAndItsSlicesPickTheChannelsLibTorchsChannelShuffleMoves) {
  for (auto [channels, groups] : {std::pair<int64_t, int64_t>{48, 2}, {24, 3}, {5, 1}}) {
    const auto index = torch::arange(channels, torch::kFloat).view({1, channels, 1, 1});
    const auto moved = at::channel_shuffle(index, groups).flatten().to(torch::kLong);
    const std::vector<int64_t> expected(moved.data_ptr<int64_t>(), moved.data_ptr<int64_t>() + channels);
    EXPECT_EQ(PickedChannels(Shuffle(channels, groups)), expected) << channels << " channels, " << groups << " groups";
  }
  // ShuffleNetV2's split: each half of the shuffled channels.
  Step half{.kind = StepKind::kActivation, .name = "half", .inputs = {1}, .output = 2};
  half.fn = models::Node{.op = models::Op::kSlice, .in_channels = 6, .out_channels = 3, .start = 3};
  ASSERT_TRUE(IsChannelSlice(half));
  EXPECT_EQ(*PickedChannels(half, Shuffle(6, 2)), (std::vector<int64_t>{4, 2, 5}));
  // A slice past the shuffle's channels is refused, not cut short.
  half.fn.start = 4;
  const auto past = PickedChannels(half, Shuffle(6, 2));
  ASSERT_FALSE(past.has_value());
  EXPECT_NE(
      past.error().ToString().find("slice 'half' takes channels 4 to 7 of channel shuffle 'shuffle', which has 6"),
      std::string::npos)
      << past.error().ToString();
}

TEST(ChannelPicks, OnlyShufflesThatKnowTheirChannelsAreTaken) {
  EXPECT_TRUE(IsChannelShuffle(Shuffle(6, 2)));
  EXPECT_FALSE(IsChannelShuffle(Shuffle(0, 2)));  // channels unknown
  EXPECT_FALSE(IsChannelShuffle(Shuffle(6, 4)));  // not divisible
  EXPECT_TRUE(IsChannelShuffle(Shuffle(kMaxPickedChannels, 2)));
  EXPECT_FALSE(IsChannelShuffle(Shuffle(kMaxPickedChannels + 2, 2)));  // products beyond the Transposes' bytes
  Step fp32 = Shuffle(6, 2);
  fp32.kind = StepKind::kFp32Op;
  EXPECT_FALSE(IsChannelShuffle(fp32));
  EXPECT_FALSE(IsChannelSlice(fp32));
}

// Weight 1, scale 1 and the input's qparams out: LibTorch's quantized conv
// writes the picked bytes as they are, zero point and all.
TEST(ChannelPicks, APickConvCopiesTheBytesItPicksOnLibTorchsKernels) {
  for (const std::string& engine : quant::SupportedEngines()) {
    SCOPED_TRACE(engine);
    ASSERT_TRUE(quant::UseEngine(engine));
    torch::manual_seed(4);
    const auto x = at::quantize_per_tensor(
        (torch::randn({2, 12, 5, 6}) * 3).contiguous(torch::MemoryFormat::ChannelsLast), 0.05, 131, torch::kQUInt8);
    const std::vector<int64_t> picks = PickedChannels(Shuffle(12, 3));
    for (const auto& wanted : {picks, std::vector<int64_t>(picks.begin() + 6, picks.end())}) {
      Step conv = ChannelPickConv("pick", wanted, 12, {0.05, 131});
      conv.inputs = {0};
      conv.output = 1;
      quant::internal::PackWeights(conv);
      std::vector<torch::Tensor> values{x, torch::Tensor()};
      quant::internal::RunStep(conv, values);
      EXPECT_EQ(values[1].q_scale(), 0.05);
      EXPECT_EQ(values[1].q_zero_point(), 131);
      EXPECT_TRUE(torch::equal(values[1].int_repr(), x.int_repr().index_select(1, torch::tensor(wanted))));
    }
  }
}

}  // namespace
}  // namespace qg::onnx_export::internal
