// The INT8 model's input step (internal/quantize_input.h): bit for bit what
// at::quantize_per_tensor gives, and colour images channels-last.
#include "core/quant/internal/quantize_input.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <utility>

#include "core/quant/internal/qstep.h"

namespace qg::quant::internal {
namespace {

// Quantizing the float input is exact, not within a step: bit for bit what
// at::quantize_per_tensor gives, on ties (x / scale = k + 0.5), out-of-range
// values, and inputs big enough to be split over threads.
TEST(QuantizeInputStep, IsBitIdenticalToQuantizePerTensor) {
  torch::manual_seed(3);
  for (const auto& [scale, zp] : {std::pair{0.0078125, 0}, {0.02, 128}, {0.0123, 37}, {1.0 / 255, 255}}) {
    for (int64_t n : {7, 784, 64 * 784}) {
      auto x = torch::randn({n}) * 3;
      const auto k = torch::randint(-300, 300, {n}).to(torch::kFloat);
      x.narrow(0, 0, n / 2).copy_((k.narrow(0, 0, n / 2) + 0.5) * static_cast<float>(scale));  // ties
      x = x.view({n, 1, 1, 1});
      Step s{.kind = StepKind::kQuantizeInput, .inputs = {}, .output = 1, .out = {scale, zp}};
      std::vector<torch::Tensor> values{x, torch::Tensor()};
      RunStep(s, values);
      const auto expected = at::quantize_per_tensor(x, scale, zp, torch::kQUInt8);
      ASSERT_TRUE(values[1].is_quantized());
      EXPECT_EQ(values[1].sizes(), x.sizes());
      EXPECT_DOUBLE_EQ(values[1].q_scale(), scale);
      EXPECT_EQ(values[1].q_zero_point(), zp);
      EXPECT_TRUE(torch::equal(values[1].int_repr(), expected.int_repr()))
          << "scale " << scale << " zp " << zp << " n " << n;
    }
  }
}

// Colour images come out channels-last with the same bytes at every index,
// in whole blocks and a last one of fewer pixels, not a multiple of 16 (31 x
// 29 = 899 = 512 + 387); other channel counts stay NCHW.
TEST(QuantizeInputStep, ColourImagesComeOutChannelsLastWithTheSameValues) {
  torch::manual_seed(4);
  for (int64_t channels : {1, 2, 3, 4}) {
    const auto x = torch::randn({5, channels, 31, 29}) * 2;
    Step s{.kind = StepKind::kQuantizeInput, .inputs = {}, .output = 1, .out = {0.0123, 114}};
    std::vector<torch::Tensor> values{x, torch::Tensor()};
    RunStep(s, values);
    const auto expected = at::quantize_per_tensor(x, 0.0123, 114, torch::kQUInt8);
    EXPECT_EQ(values[1].is_contiguous(torch::MemoryFormat::ChannelsLast) && !values[1].is_contiguous(), channels == 3)
        << channels;
    EXPECT_TRUE(torch::equal(values[1].int_repr(), expected.int_repr())) << channels << " channels";
    EXPECT_EQ(values[1].q_zero_point(), 114);
  }
}

}  // namespace
}  // namespace qg::quant::internal
