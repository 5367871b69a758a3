// INT8 steps that move quantized bytes without arithmetic (channel shuffle,
// channel slice) against LibTorch's own ops on the same quantized tensor.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/quant/internal/qstep.h"

namespace qg::quant::internal {
namespace {

// Channel shuffle and slice move quantized bytes as they are: the same bytes
// and scale as LibTorch's own ops, channels-last in and out.
TEST(ChannelMoves, ShuffleAndSliceKeepTheBytesAndTheLayout) {
  torch::manual_seed(4);
  const auto x = torch::quantize_per_tensor(torch::randn({3, 12, 5, 5}), 0.02, 128, torch::kQUInt8)
                     .contiguous(torch::MemoryFormat::ChannelsLast);
  Step shuffle{.kind = StepKind::kActivation, .inputs = {0}, .output = 1};
  shuffle.fn = models::Node{.op = models::Op::kChannelShuffle, .groups = 3};
  std::vector<torch::Tensor> values{x, torch::Tensor()};
  RunStep(shuffle, values);
  const auto want = at::channel_shuffle(x.dequantize(), 3);
  EXPECT_TRUE(torch::equal(values[1].dequantize(), want));
  EXPECT_EQ(values[1].q_scale(), x.q_scale());
  EXPECT_TRUE(values[1].is_contiguous(torch::MemoryFormat::ChannelsLast));
  Step slice{.kind = StepKind::kActivation, .inputs = {0}, .output = 1};
  slice.fn = models::Node{.op = models::Op::kSlice, .in_channels = 12, .out_channels = 5, .start = 4};
  RunStep(slice, values);
  EXPECT_TRUE(torch::equal(values[1].int_repr(), x.int_repr().narrow(1, 4, 5)));
  EXPECT_TRUE(values[1].is_contiguous(torch::MemoryFormat::ChannelsLast));
}

}  // namespace
}  // namespace qg::quant::internal
