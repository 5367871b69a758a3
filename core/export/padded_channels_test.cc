// The colour image padded to 4 channels (internal/padded_channels.h): the
// padded conv over the image with channels of its zero point computes the
// original conv's integers, for per-channel and per-tensor weights.
#include "core/export/internal/padded_channels.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace qg::onnx_export::internal {
namespace {

using quant::internal::Step;
using quant::internal::StepKind;

Step RgbConv(bool per_channel, int64_t weight_zero_point) {
  torch::manual_seed(5);
  Step s{.kind = StepKind::kConv, .name = "conv"};
  const auto w = torch::randn({8, 3, 3, 3});
  s.qweight = per_channel
                  ? at::quantize_per_channel(w, torch::full({8}, 0.02, torch::kDouble),
                                             torch::full({8}, weight_zero_point, torch::kLong), 0, torch::kQInt8)
                  : at::quantize_per_tensor(w, 0.02, weight_zero_point, torch::kQInt8);
  s.kernel = {3, 3};
  s.stride = {2, 2};
  s.padding = {1, 1};
  return s;
}

// What QLinearConv computes: sum of (x - x_zp) * (w - w_zp).
torch::Tensor IntegerConv(const torch::Tensor& image, int64_t image_zero_point, const Step& conv) {
  const auto w = conv.qweight.int_repr().to(torch::kFloat);
  const auto w_zp = conv.qweight.qscheme() == torch::kPerTensorAffine
                        ? torch::full({w.size(0)}, conv.qweight.q_zero_point(), torch::kFloat)
                        : conv.qweight.q_per_channel_zero_points().to(torch::kFloat);
  return torch::conv2d(image.to(torch::kFloat) - image_zero_point, w - w_zp.view({-1, 1, 1, 1}), {}, conv.stride,
                       conv.padding);
}

TEST(PaddedChannels, ThePaddedConvComputesTheOriginalsIntegers) {
  for (bool per_channel : {true, false}) {
    for (int64_t weight_zero_point : {0, 3}) {
      SCOPED_TRACE(::testing::Message() << (per_channel ? "per-channel" : "per-tensor") << ", weight zero point "
                                        << weight_zero_point);
      const Step conv = RgbConv(per_channel, weight_zero_point);
      ASSERT_TRUE(PadsInputChannels(conv));
      const Step padded = WithPaddedInputChannels(conv);
      ASSERT_EQ(padded.qweight.sizes(), (std::vector<int64_t>{8, kConvChannelMultiple, 3, 3}));
      EXPECT_EQ(padded.qweight.qscheme(), conv.qweight.qscheme());
      EXPECT_TRUE(torch::equal(padded.qweight.dequantize().narrow(1, 3, 1), torch::zeros({8, 1, 3, 3})));
      EXPECT_TRUE(torch::equal(padded.qweight.int_repr().narrow(1, 0, 3), conv.qweight.int_repr()));

      const int64_t zero_point = 117;
      const auto image = torch::randint(0, 256, {2, 3, 9, 10}, torch::kLong);
      const auto image4 = torch::cat({image, torch::full({2, 1, 9, 10}, zero_point, torch::kLong)}, 1);
      EXPECT_TRUE(torch::equal(IntegerConv(image4, zero_point, padded), IntegerConv(image, zero_point, conv)));
    }
  }
}

TEST(PaddedChannels, OnlyUngroupedConvsOverTwoOrThreeChannelsArePadded) {
  const Step rgb = RgbConv(true, 0);
  EXPECT_TRUE(PadsInputChannels(rgb));
  Step grey = rgb;
  grey.qweight = at::quantize_per_tensor(torch::randn({8, 1, 3, 3}), 0.02, 0, torch::kQInt8);
  EXPECT_FALSE(PadsInputChannels(grey));  // pixel groups take grayscale images
  Step four = rgb;
  four.qweight = at::quantize_per_tensor(torch::randn({8, 4, 3, 3}), 0.02, 0, torch::kQInt8);
  EXPECT_FALSE(PadsInputChannels(four));
  Step grouped = rgb;
  grouped.groups = 3;
  EXPECT_FALSE(PadsInputChannels(grouped));
  Step linear = rgb;
  linear.kind = StepKind::kLinear;
  EXPECT_FALSE(PadsInputChannels(linear));
}

}  // namespace
}  // namespace qg::onnx_export::internal
