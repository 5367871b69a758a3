// The squeeze-excitation multiply's own pass (internal/channel_mul.h) against
// LibTorch's quantized::mul, byte for byte, on every engine: channel counts
// that are and are not whole vectors, either operand order, gates and images
// of unrelated quantizations, outputs that clamp at both ends.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/quant/engine.h"
#include "core/quant/internal/channel_mul.h"
#include "core/quant/internal/qstep.h"

namespace qg::quant::internal {
namespace {

class ChannelMulTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { ASSERT_TRUE(UseEngine(GetParam())); }
};

torch::Tensor Quint8(const torch::Tensor& x, double scale, int64_t zero_point) {
  return at::quantize_per_tensor(x, scale, zero_point, torch::kQUInt8);
}

TEST_P(ChannelMulTest, EqualsQuantizedMulByteForByte) {
  torch::manual_seed(11);
  struct Case {
    int64_t n, c, h, w;
    double out_scale;
    int64_t out_zero_point;
  };
  // The small output scales push many products past 255 and below 0.
  for (const Case& k : {Case{2, 32, 7, 5, 0.02, 3}, Case{3, 19, 4, 4, 0.005, 128}, Case{1, 96, 6, 6, 0.0117, 250},
                       Case{4, 8, 3, 9, 0.05, 0}}) {
    const auto image = Quint8((torch::randn({k.n, k.c, k.h, k.w}) * 2).contiguous(torch::MemoryFormat::ChannelsLast),
                              0.037, 117);
    const auto gate = Quint8(torch::sigmoid(torch::randn({k.n, k.c, 1, 1}) * 3), 1.0 / 256, 0);
    ASSERT_TRUE(ChannelMulTakes(image, gate));
    Step mul{.kind = StepKind::kMul, .name = "se", .inputs = {0, 1}, .output = 2,
             .out = QParams{k.out_scale, k.out_zero_point}};
    const auto reference = c10::Dispatcher::singleton()
                               .findSchemaOrThrow("quantized::mul", "")
                               .typed<at::Tensor(at::Tensor, at::Tensor, double, int64_t)>()
                               .call(image, gate, k.out_scale, k.out_zero_point);
    for (bool gate_first : {false, true}) {
      std::vector<torch::Tensor> values{gate_first ? gate : image, gate_first ? image : gate, {}};
      RunStep(mul, values);
      const auto& got = values[2];
      SCOPED_TRACE(::testing::Message() << "c " << k.c << " gate first " << gate_first);
      ASSERT_TRUE(got.is_quantized());
      EXPECT_EQ(got.q_scale(), reference.q_scale());
      EXPECT_EQ(got.q_zero_point(), reference.q_zero_point());
      EXPECT_TRUE(got.is_contiguous(torch::MemoryFormat::ChannelsLast));
      const auto diff = (got.int_repr().to(torch::kInt32) - reference.int_repr().to(torch::kInt32)).abs();
      EXPECT_EQ(diff.max().item<int>(), 0) << diff.gt(0).sum().item<int64_t>() << " of " << diff.numel() << " differ";
      EXPECT_GT(got.int_repr().eq(255).sum().item<int64_t>() + got.int_repr().eq(0).sum().item<int64_t>(), 0);
    }
  }
}

TEST_P(ChannelMulTest, OtherShapesAndLayoutsAreLeftToQuantizedMul) {
  const auto image = Quint8(torch::rand({2, 8, 4, 4}).contiguous(torch::MemoryFormat::ChannelsLast), 0.01, 0);
  EXPECT_FALSE(ChannelMulTakes(image, Quint8(torch::rand({2, 8, 4, 4}), 0.01, 0)));  // not a gate
  EXPECT_FALSE(ChannelMulTakes(image, Quint8(torch::rand({1, 8, 1, 1}), 0.01, 0)));  // one gate for two images
  EXPECT_FALSE(ChannelMulTakes(image.contiguous(), Quint8(torch::rand({2, 8, 1, 1}), 0.01, 0)));  // NCHW
  EXPECT_FALSE(ChannelMulTakes(image, torch::rand({2, 8, 1, 1})));                            // float gate
}

INSTANTIATE_TEST_SUITE_P(Engines, ChannelMulTest, ::testing::ValuesIn(SupportedEngines()));

}  // namespace
}  // namespace qg::quant::internal
