// The NHWC max pool pass (internal/nhwc_max_pool.h) against LibTorch's
// quantized max_pool2d, byte for byte: channel counts below, between and
// above whole vectors, windows clipped by padding, ceil mode.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/quant/internal/nhwc_max_pool.h"

namespace qg::quant::internal {
namespace {

struct PoolCase {
  int64_t channels, height, width;
  std::array<int64_t, 2> kernel, stride, padding;
  bool ceil_mode;
};

TEST(NhwcMaxPool, EqualsLibTorchsQuantizedMaxPool) {
  torch::manual_seed(13);
  for (const PoolCase& k : {PoolCase{24, 48, 48, {3, 3}, {2, 2}, {1, 1}, false},
                           PoolCase{3, 9, 7, {2, 2}, {2, 2}, {0, 0}, false},
                           PoolCase{70, 11, 13, {3, 3}, {2, 2}, {0, 0}, true},
                           PoolCase{100, 8, 8, {3, 3}, {1, 1}, {1, 1}, false},
                           PoolCase{24, 7, 10, {3, 2}, {2, 1}, {1, 1}, true}}) {
    const auto x = at::quantize_per_tensor(
        torch::randn({2, k.channels, k.height, k.width}).contiguous(torch::MemoryFormat::ChannelsLast), 0.02, 120,
        torch::kQUInt8);
    ASSERT_TRUE(NhwcMaxPoolTakes(x));
    const auto expected = at::max_pool2d(x, {k.kernel[0], k.kernel[1]}, {k.stride[0], k.stride[1]},
                                         {k.padding[0], k.padding[1]}, {1, 1}, k.ceil_mode);
    const auto got = NhwcMaxPool(x, k.kernel, k.stride, k.padding, k.ceil_mode);
    SCOPED_TRACE(::testing::Message() << "channels " << k.channels << " " << k.height << "x" << k.width);
    ASSERT_EQ(got.sizes(), expected.sizes());
    EXPECT_EQ(got.q_scale(), expected.q_scale());
    EXPECT_EQ(got.q_zero_point(), expected.q_zero_point());
    EXPECT_TRUE(got.is_contiguous(torch::MemoryFormat::ChannelsLast));
    EXPECT_TRUE(torch::equal(got.int_repr().contiguous(), expected.int_repr().contiguous()));
  }
}

TEST(NhwcMaxPool, WholeVectorsAndOtherLayoutsStayOnLibTorch) {
  const auto x = at::quantize_per_tensor(torch::randn({1, 64, 4, 4}).contiguous(torch::MemoryFormat::ChannelsLast),
                                         0.02, 120, torch::kQUInt8);
  EXPECT_FALSE(NhwcMaxPoolTakes(x));
  const auto nchw = at::quantize_per_tensor(torch::randn({1, 24, 4, 4}), 0.02, 120, torch::kQUInt8);
  EXPECT_FALSE(NhwcMaxPoolTakes(nchw));
  EXPECT_FALSE(NhwcMaxPoolTakes(torch::randn({1, 24, 4, 4}).contiguous(torch::MemoryFormat::ChannelsLast)));
}

}  // namespace
}  // namespace qg::quant::internal
