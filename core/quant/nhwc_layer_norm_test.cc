// The NHWC layer norm pass (internal/nhwc_layer_norm.h) against LibTorch's
// quantized::layer_norm, byte for byte: channel counts below, between and
// above whole vectors, several scales and zero points, pixels whose channels
// are all equal (variance 0).
#include "core/quant/internal/nhwc_layer_norm.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

namespace qg::quant::internal {
namespace {

// LibTorch's op over the last dim of the N,H,W,C view, back as N,C,H,W.
torch::Tensor LibTorchLayerNorm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                double eps, const QParams& out) {
  static const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("quantized::layer_norm", "");
  torch::jit::Stack stack{x.permute({0, 2, 3, 1}), std::vector<int64_t>{x.size(1)}, weight, bias, eps, out.scale,
                          out.zero_point};
  op.callBoxed(&stack);
  return stack.back().toTensor().permute({0, 3, 1, 2});
}

TEST(NhwcLayerNorm, EqualsLibTorchsQuantizedLayerNorm) {
  torch::manual_seed(17);
  struct Case {
    int64_t channels;
    double in_scale;
    int64_t in_zero_point;
    QParams out;
    double eps;
  };
  for (const Case& k : {Case{24, 0.04, 120, {0.03, 128}, 1e-6}, Case{3, 0.1, 0, {0.05, 100}, 1e-5},
                        Case{48, 0.02, 200, {0.02, 60}, 1e-6}, Case{64, 0.05, 128, {0.04, 128}, 1e-5},
                        Case{96, 0.03, 90, {0.025, 140}, 1e-6}, Case{100, 0.08, 10, {0.06, 255}, 1e-3}}) {
    SCOPED_TRACE(::testing::Message() << "channels " << k.channels);
    auto image = torch::randn({32, k.channels, 13, 11}) * 2 + 0.3;
    image.index_put_({0, torch::indexing::Slice(), 0, 0}, 0.7);  // one pixel of equal channels
    const auto x = at::quantize_per_tensor(image.contiguous(torch::MemoryFormat::ChannelsLast), k.in_scale,
                                           k.in_zero_point, torch::kQUInt8);
    const auto weight = torch::rand({k.channels}) + 0.5, bias = torch::randn({k.channels}) * 0.2;
    ASSERT_TRUE(NhwcLayerNormTakes(x, weight, bias));
    const auto expected = LibTorchLayerNorm(x, weight, bias, k.eps, k.out);
    const auto got = NhwcLayerNorm(x, weight, bias, k.eps, k.out);
    ASSERT_EQ(got.sizes(), expected.sizes());
    EXPECT_EQ(got.q_scale(), expected.q_scale());
    EXPECT_EQ(got.q_zero_point(), expected.q_zero_point());
    EXPECT_TRUE(got.is_contiguous(torch::MemoryFormat::ChannelsLast));
    const auto diff = (got.int_repr().to(torch::kInt) - expected.int_repr().to(torch::kInt)).abs();
    EXPECT_EQ(diff.ne(0).sum().item<int64_t>(), 0) << "largest difference " << diff.max().item<int>();
  }
}

TEST(NhwcLayerNorm, OtherLayoutsAndParametersStayOnLibTorch) {
  const auto weight = torch::ones({24}), bias = torch::zeros({24});
  const auto nchw = at::quantize_per_tensor(torch::randn({1, 24, 4, 4}), 0.02, 120, torch::kQUInt8);
  EXPECT_FALSE(NhwcLayerNormTakes(nchw, weight, bias));
  const auto x = at::quantize_per_tensor(torch::randn({1, 24, 4, 4}).contiguous(torch::MemoryFormat::ChannelsLast),
                                         0.02, 120, torch::kQUInt8);
  EXPECT_FALSE(NhwcLayerNormTakes(x, torch::ones({23}), bias));
  EXPECT_FALSE(NhwcLayerNormTakes(x, weight.to(torch::kDouble), bias));
  EXPECT_FALSE(
      NhwcLayerNormTakes(torch::randn({1, 24, 4, 4}).contiguous(torch::MemoryFormat::ChannelsLast), weight, bias));
}

}  // namespace
}  // namespace qg::quant::internal
