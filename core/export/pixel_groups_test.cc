#include "core/export/internal/pixel_groups.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace qg::onnx_export::internal {
namespace {

using quant::internal::Step;
using quant::internal::StepKind;

Step IntConv(int64_t channels, int64_t kernel_height, int64_t kernel_width, std::array<int64_t, 2> padding) {
  torch::manual_seed(3);
  Step s;
  s.kind = StepKind::kConv;
  s.name = "conv";
  const torch::Tensor scales = torch::rand({channels}, torch::kDouble) * 0.01 + 0.001;
  const torch::Tensor taps = torch::randint(-128, 128, {channels, 1, kernel_height, kernel_width}).to(torch::kFloat);
  s.qweight = torch::quantize_per_channel(taps * scales.to(torch::kFloat).reshape({channels, 1, 1, 1}), scales,
                                          torch::zeros({channels}, torch::kLong), 0, torch::kQInt8);
  s.bias = torch::randn({channels});
  s.kernel = {kernel_height, kernel_width};
  s.padding = padding;
  return s;
}

// The grouped conv over an image read as [N, H, W/4, 4], its output read back
// as [N, H', W, C], is the original conv: same integer products, exactly.
TEST(PixelGroups, TheGroupedConvComputesTheOriginalConvExactly) {
  struct Case {
    int64_t kh, kw;
    std::array<int64_t, 2> padding;
  };
  for (const Case& c : {Case{3, 3, {1, 1}}, Case{5, 5, {2, 2}}, Case{1, 1, {0, 0}}, Case{3, 3, {0, 1}},
                        Case{3, 9, {1, 4}}, Case{2, 11, {0, 5}}}) {
    SCOPED_TRACE(::testing::Message() << c.kh << "x" << c.kw << " pad " << c.padding[0] << "," << c.padding[1]);
    const Step conv = IntConv(6, c.kh, c.kw, c.padding);
    ASSERT_TRUE(CanGroupPixels(conv, 12));
    const Step grouped = GroupPixels(conv);
    const int64_t g = kPixelGroup;
    ASSERT_EQ(grouped.qweight.size(0), g * 6);
    ASSERT_EQ(grouped.qweight.size(1), g);
    EXPECT_EQ(grouped.kernel[0], c.kh);
    EXPECT_EQ(grouped.padding[0], c.padding[0]);

    const torch::Tensor image = torch::randint(0, 256, {2, 1, 7, 12}).to(torch::kFloat);
    const torch::Tensor expected = torch::conv2d(image, conv.qweight.int_repr().to(torch::kFloat), {}, 1,
                                                 {c.padding[0], c.padding[1]});
    const torch::Tensor groups = image.reshape({2, 7, 12 / g, g}).permute({0, 3, 1, 2});
    const torch::Tensor out = torch::conv2d(groups, grouped.qweight.int_repr().to(torch::kFloat), {}, 1,
                                            {grouped.padding[0], grouped.padding[1]});
    const int64_t height = expected.size(2);
    ASSERT_EQ(out.sizes(), (std::vector<int64_t>{2, g * 6, height, 12 / g}));
    const torch::Tensor back = out.permute({0, 2, 3, 1}).reshape({2, height, 12, 6}).permute({0, 3, 1, 2});
    EXPECT_TRUE(torch::equal(back, expected)) << (back - expected).abs().max().item<float>();

    // Channel j * C + c carries channel c's scale and bias.
    EXPECT_TRUE(torch::equal(grouped.qweight.q_per_channel_scales().reshape({g, 6}),
                             conv.qweight.q_per_channel_scales().reshape({1, 6}).expand({g, 6})));
    EXPECT_TRUE(torch::equal(grouped.bias.reshape({g, 6}), conv.bias.reshape({1, 6}).expand({g, 6})));
  }
}

// In kEvenThenOdd order, the output read as [N, H', W/2, 2C] and max pooled
// 2 wide is the original conv's output max pooled, read as [N, H'', W/2, C].
TEST(PixelGroups, PoolingPairsOfPixelsIsPoolingTheOriginalConv) {
  struct Case {
    int64_t kh, kw;
    std::array<int64_t, 2> padding;
    std::array<int64_t, 2> pool_kernel, pool_stride, pool_padding;
  };
  for (const Case& c : {Case{3, 3, {1, 1}, {2, 2}, {2, 2}, {0, 0}}, Case{5, 5, {2, 2}, {3, 2}, {1, 2}, {1, 0}},
                        Case{3, 9, {0, 4}, {1, 2}, {1, 2}, {0, 0}}}) {
    SCOPED_TRACE(::testing::Message() << c.kh << "x" << c.kw << " pool " << c.pool_kernel[0] << "x2");
    const Step conv = IntConv(6, c.kh, c.kw, c.padding);
    Step pool;
    pool.kind = StepKind::kMaxPool;
    pool.kernel = c.pool_kernel;
    pool.stride = c.pool_stride;
    pool.padding = c.pool_padding;
    ASSERT_TRUE(PoolsPixelPairs(pool));
    const Step grouped = GroupPixels(conv, PixelOrder::kEvenThenOdd);
    const int64_t g = kPixelGroup;

    const torch::Tensor image = torch::randint(0, 256, {2, 1, 8, 16}).to(torch::kFloat);
    auto max_pool = [&](const torch::Tensor& x) {
      return torch::max_pool2d(x, {c.pool_kernel[0], 2}, {c.pool_stride[0], 2}, {c.pool_padding[0], 0});
    };
    const torch::Tensor expected = max_pool(torch::conv2d(image, conv.qweight.int_repr().to(torch::kFloat), {}, 1,
                                                          {c.padding[0], c.padding[1]}));
    const torch::Tensor groups = image.reshape({2, 8, 16 / g, g}).permute({0, 3, 1, 2});
    const torch::Tensor out = torch::conv2d(groups, grouped.qweight.int_repr().to(torch::kFloat), {}, 1,
                                            {grouped.padding[0], grouped.padding[1]});
    const int64_t height = out.size(2);
    const torch::Tensor pairs = out.permute({0, 2, 3, 1}).reshape({2, height, 2 * 16 / g, g * 6 / 2});
    const torch::Tensor pooled = max_pool(pairs.permute({0, 3, 1, 2}));
    const torch::Tensor back = pooled.permute({0, 2, 3, 1}).reshape({2, pooled.size(2), 8, 6}).permute({0, 3, 1, 2});
    ASSERT_EQ(back.sizes(), expected.sizes());
    EXPECT_TRUE(torch::equal(back, expected)) << (back - expected).abs().max().item<float>();
  }
  Step pool;
  pool.kind = StepKind::kMaxPool;
  pool.kernel = {2, 3};
  pool.stride = {2, 2};
  EXPECT_FALSE(PoolsPixelPairs(pool));  // a window 3 wide overlaps the next pair
  pool.kernel = {2, 2};
  pool.padding = {0, 1};
  EXPECT_FALSE(PoolsPixelPairs(pool));
  pool.padding = {0, 0};
  pool.kind = StepKind::kAvgPool;
  EXPECT_FALSE(PoolsPixelPairs(pool));
}

TEST(PixelGroups, OnlyConvsOverOneChannelThatKeepTheWidthAreGrouped) {
  const Step conv = IntConv(4, 3, 3, {1, 1});
  EXPECT_TRUE(CanGroupPixels(conv, 28));
  EXPECT_FALSE(CanGroupPixels(conv, 30));  // width not a multiple of 4
  Step strided = conv;
  strided.stride = {2, 2};
  EXPECT_FALSE(CanGroupPixels(strided, 28));
  Step dilated = conv;
  dilated.dilation = {1, 2};
  EXPECT_FALSE(CanGroupPixels(dilated, 28));
  EXPECT_FALSE(CanGroupPixels(IntConv(4, 3, 3, {1, 0}), 28));  // narrows the width
  Step rgb = conv;
  rgb.qweight = torch::quantize_per_tensor(torch::randn({4, 3, 3, 3}), 0.01, 0, torch::kQInt8);
  EXPECT_FALSE(CanGroupPixels(rgb, 28));
  Step linear = conv;
  linear.kind = StepKind::kLinear;
  EXPECT_FALSE(CanGroupPixels(linear, 28));
}

}  // namespace
}  // namespace qg::onnx_export::internal
