// Every INT8 step against a reference built from dequantize -> FP32 op ->
// requantize, on random inputs, for every engine this LibTorch supports: the
// results may differ by at most one quantization step.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <omp.h>
#include <torch/torch.h>

#include <algorithm>

#include "core/base/intra_op_threads.h"
#include "core/quant/engine.h"
#include "core/quant/internal/conv_pool.h"
#include "core/quant/internal/im2col.h"
#include "core/quant/internal/qstep.h"
#include "core/quant/internal/small_linear.h"

namespace qg::quant::internal {
namespace {

torch::Tensor RandomQuint8(std::vector<int64_t> shape, double scale, int64_t zp) {
  return at::quantize_per_tensor(torch::randn(shape), scale, zp, torch::kQUInt8);
}

QParams Covering(const torch::Tensor& y) {
  return ChooseQParams(y.min().item<double>(), y.max().item<double>(), QuantSpec{});
}

// Half the symmetric weight levels strategies give the current engine: 63.5
// (7 bits) where 8-bit ones would saturate its kernels on this CPU, else 127.5.
double WeightLevels() { return U8S8PairsSaturate(CurrentEngine()) ? 63.5 : 127.5; }

int64_t MaxStepDiff(const torch::Tensor& got, const torch::Tensor& expected) {
  EXPECT_TRUE(got.is_quantized());
  EXPECT_EQ(got.scalar_type(), torch::kQUInt8);
  EXPECT_DOUBLE_EQ(got.q_scale(), expected.q_scale());
  EXPECT_EQ(got.q_zero_point(), expected.q_zero_point());
  return (got.int_repr().to(torch::kInt32) - expected.int_repr().to(torch::kInt32)).abs().max().item<int64_t>();
}

torch::Tensor Requantize(const torch::Tensor& y, const QParams& q) {
  return at::quantize_per_tensor(y, q.scale, q.zero_point, torch::kQUInt8);
}

class Int8Step : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(UseEngine(GetParam()));
    torch::manual_seed(7);
  }
};

TEST_P(Int8Step, ConvAndConvReluMatchReference) {
  for (bool relu : {false, true}) {
    for (int64_t groups : {1, 2}) {
      const auto x = RandomQuint8({2, 8, 9, 9}, 0.03, 120);
      const auto w = torch::randn({16, 8 / groups, 3, 3}) * 0.2;
      const auto scales = (w.abs().flatten(1).amax(1) / WeightLevels()).to(torch::kDouble);
      const auto qw = at::quantize_per_channel(w, scales, torch::zeros({16}, torch::kLong), 0, torch::kQInt8);
      const auto bias = torch::randn({16}) * 0.1;
      auto y = torch::conv2d(x.dequantize(), qw.dequantize(), bias, {2, 2}, {1, 1}, {1, 1}, groups);
      if (relu) y = torch::relu(y);
      const QParams q = Covering(y);
      Step s{.kind = StepKind::kConv, .inputs = {0}, .output = 1, .out = q, .relu = relu};
      s.stride = {2, 2};
      s.padding = {1, 1};
      s.groups = groups;
      s.qweight = qw;
      s.bias = bias;
      PackWeights(s);
      std::vector<torch::Tensor> values{x, torch::Tensor()};
      RunStep(s, values);
      EXPECT_LE(MaxStepDiff(values[1], Requantize(y, q)), 1) << "relu " << relu << " groups " << groups;
    }
  }
}

// The worst case for a u8 x s8 kernel: every input 255 and every weight at
// the top of its range, so each pair of products sums to 2 * 255 * top. 7-bit
// weights (63: 32130) stay exact on every engine and CPU; 8-bit ones (127:
// 64770) do too where the engine does not saturate, and miss by many steps
// where it does (U8S8PairsSaturate): the reason strategies then take 7 bits.
TEST_P(Int8Step, SevenBitWeightsNeverSaturateAndEightBitOnesOnlyWhereTheEngineSays) {
  for (int64_t top : {63, 127}) {
    const auto x = at::_make_per_tensor_quantized_tensor(torch::full({1, 16, 4, 4}, 255, torch::kByte), 0.01, 0);
    const auto qw = at::_make_per_channel_quantized_tensor(torch::full({8, 16, 3, 3}, top, torch::kChar),
                                                           torch::full({8}, 0.001, torch::kDouble),
                                                           torch::zeros({8}, torch::kLong), 0);
    const auto y = torch::conv2d(x.dequantize(), qw.dequantize());
    const QParams q = Covering(y);
    Step s{.kind = StepKind::kConv, .inputs = {0}, .output = 1, .out = q};
    s.stride = {1, 1};
    s.padding = {0, 0};
    s.qweight = qw;
    PackWeights(s);
    std::vector<torch::Tensor> values{x, torch::Tensor()};
    RunStep(s, values);
    const int64_t diff = MaxStepDiff(values[1], Requantize(y, q));
    if (top == 63 || !U8S8PairsSaturate(GetParam())) {
      EXPECT_LE(diff, 1) << "weights up to " << top;
    } else {
      EXPECT_GT(diff, 10) << "8-bit weights on " << GetParam() << " without VNNI: saturation expected";
    }
  }
}

// A 3x3 conv over one input channel (the first layer of a grayscale model)
// runs as a 1x1 conv over the image's 9 taps on onednn where the CPU has
// AVX-512 VBMI: the same reference bound, and bit for bit the answer of the
// 3x3 kernel itself.
TEST_P(Int8Step, SingleChannelConvMatchesReferenceAndThe3x3Kernel) {
  for (int64_t pad : {0, 1}) {
    for (bool relu : {false, true}) {
      const auto x = RandomQuint8({3, 1, 11, 19}, 0.03, 117);
      const auto w = torch::randn({8, 1, 3, 3}) * 0.3;
      const auto scales = (w.abs().flatten(1).amax(1) / WeightLevels()).to(torch::kDouble);
      const auto qw = at::quantize_per_channel(w, scales, torch::zeros({8}, torch::kLong), 0, torch::kQInt8);
      const auto bias = torch::randn({8}) * 0.1;
      auto y = torch::conv2d(x.dequantize(), qw.dequantize(), bias, {1, 1}, {pad, pad});
      if (relu) y = torch::relu(y);
      const QParams q = Covering(y);
      Step s{.kind = StepKind::kConv, .inputs = {0}, .output = 1, .out = q, .relu = relu};
      s.padding = {pad, pad};
      s.qweight = qw;
      s.bias = bias;
      Step direct = s;
      PackWeights(s);
      PackWeights(direct, /*allow_im2col=*/false);
      EXPECT_EQ(s.im2col, GetParam() == "onednn" && FastIm2colSupported());
      EXPECT_FALSE(direct.im2col);
      std::vector<torch::Tensor> values{x, torch::Tensor()}, direct_values{x, torch::Tensor()};
      RunStep(s, values);
      RunStep(direct, direct_values);
      EXPECT_LE(MaxStepDiff(values[1], Requantize(y, q)), 1) << "pad " << pad << " relu " << relu;
      EXPECT_TRUE(torch::equal(values[1].int_repr(), direct_values[1].int_repr())) << "pad " << pad << " relu " << relu;
    }
  }
}

// The fused first block (internal/conv_pool.h) against LibTorch itself: the
// 3x3 conv on onednn's packed kernel, then at::max_pool2d, byte for byte.
TEST(ConvPool, EqualsOnednnConvThenMaxPoolBitForBit) {
  if (!HasAvx512Vnni() && !HasAvx2()) GTEST_SKIP() << "this CPU has neither AVX-512 VNNI nor AVX2";
  ASSERT_TRUE(UseEngine("onednn"));
  torch::manual_seed(5);
  struct Case {
    int64_t n, h, w, channels, pad, input_zp;
    bool relu, bias, per_channel;
  };
  const Case cases[] = {
      {4, 28, 28, 32, 1, 117, true, true, true},   {1, 28, 28, 32, 1, 0, true, true, true},
      {3, 11, 19, 16, 1, 255, false, true, true},  {2, 7, 6, 48, 0, 64, true, false, true},
      {2, 9, 9, 32, 0, 200, false, false, false},  {1, 4, 5, 16, 1, 3, true, true, false},
      {2, 6, 60, 16, 0, 90, true, true, true},     {1, 5, 70, 16, 1, 9, true, true, true},  // rows past one zmm
  };
  for (const Case& c : cases) {
    const std::string where = fmt::format("case n {} {}x{} C {} pad {} zp {} relu {} bias {} per_channel {}", c.n, c.h,
                                          c.w, c.channels, c.pad, c.input_zp, c.relu, c.bias, c.per_channel);
    const auto x = at::_make_per_tensor_quantized_tensor(
        torch::randint(0, 256, {c.n, 1, c.h, c.w}, torch::kInt).to(torch::kUInt8), 0.0173, c.input_zp);
    const auto w = torch::randn({c.channels, 1, 3, 3}) * 0.3;
    const auto qw = c.per_channel
                        ? at::quantize_per_channel(w, (w.abs().flatten(1).amax(1) / WeightLevels()).to(torch::kDouble),
                                                   torch::zeros({c.channels}, torch::kLong), 0, torch::kQInt8)
                        : at::quantize_per_tensor(w, w.abs().max().item<double>() / WeightLevels(), 0, torch::kQInt8);
    const auto bias = c.bias ? torch::randn({c.channels}) * 0.2 : torch::Tensor();
    auto y = torch::conv2d(x.dequantize(), qw.dequantize(), bias, {1, 1}, {c.pad, c.pad});
    if (c.relu) y = torch::relu(y);
    const QParams q = Covering(y);
    Step conv{.kind = StepKind::kConv, .inputs = {0}, .output = 1, .out = q, .relu = c.relu};
    conv.padding = {c.pad, c.pad};
    conv.qweight = qw;
    conv.bias = bias;
    ASSERT_TRUE(ConvPoolFits(conv)) << where;
    PackWeights(conv, /*allow_im2col=*/false);
    std::vector<torch::Tensor> values{x, torch::Tensor()};
    RunStep(conv, values);
    const auto expected = at::max_pool2d(values[1], {2, 2}, {2, 2}, {0, 0}, {1, 1}, false);
    const auto got = ConvPool(x, PrepareConvPool(qw, bias), c.pad, c.relu, q.scale, q.zero_point);
    ASSERT_EQ(got.sizes(), expected.sizes()) << where;
    EXPECT_TRUE(got.is_contiguous(c10::MemoryFormat::ChannelsLast)) << where;
    EXPECT_DOUBLE_EQ(got.q_scale(), q.scale);
    EXPECT_EQ(got.q_zero_point(), q.zero_point);
    const auto diff = (got.int_repr().to(torch::kInt32) - expected.int_repr().to(torch::kInt32)).abs();
    EXPECT_EQ(diff.gt(0).sum().item<int64_t>(), 0) << where << ": max diff " << diff.max().item<int>();
  }
}

TEST(ConvPool, FitsOnlySymmetricSingleChannel3x3ConvsOfWholeBlocks) {
  using Pair = std::array<int64_t, 2>;
  const Pair one{1, 1}, zero{0, 0}, two{2, 2};
  const auto conv = [](int64_t out, int64_t in, int64_t zp, Pair stride, Pair padding, Pair dilation) {
    Step s{.kind = StepKind::kConv};
    s.qweight = at::quantize_per_tensor(torch::randn({out, in, 3, 3}), 0.01, zp, torch::kQInt8);
    s.stride = stride;
    s.padding = padding;
    s.dilation = dilation;
    return s;
  };
  EXPECT_TRUE(ConvPoolFits(conv(32, 1, 0, one, one, one)));
  EXPECT_TRUE(ConvPoolFits(conv(16, 1, 0, one, zero, one)));
  EXPECT_FALSE(ConvPoolFits(conv(24, 1, 0, one, one, one)));  // not whole blocks of 16
  EXPECT_FALSE(ConvPoolFits(conv(32, 2, 0, one, one, one)));  // two input channels
  EXPECT_FALSE(ConvPoolFits(conv(32, 1, 3, one, one, one)));  // asymmetric weights
  EXPECT_FALSE(ConvPoolFits(conv(32, 1, 0, two, one, one)));  // stride 2
  EXPECT_FALSE(ConvPoolFits(conv(32, 1, 0, one, two, one)));  // padding 2
  EXPECT_FALSE(ConvPoolFits(conv(32, 1, 0, one, one, two)));  // dilation 2
}

// The small-batch linear (internal/small_linear.h) against LibTorch itself:
// onednn's packed linear, byte for byte.
TEST(SmallLinear, EqualsOnednnLinearBitForBit) {
  if (!HasAvx512Vnni() && !HasAvx2()) GTEST_SKIP() << "this CPU has neither AVX-512 VNNI nor AVX2";
  ASSERT_TRUE(UseEngine("onednn"));
  torch::manual_seed(9);
  struct Case {
    int64_t rows, in, out, input_zp;
    bool relu, bias, per_channel;
  };
  const Case cases[] = {
      {1, 1152, 256, 0, true, true, true},   {2, 1152, 256, 131, true, true, true},  // compact_cnn's fc1
      {1, 256, 10, 0, false, true, true},    {2, 256, 10, 255, false, true, false},  // and fc2
      {1, 30, 17, 77, true, false, true},    {2, 7, 200, 3, false, true, true},      // inputs not whole groups of 4
      {1, 1, 1, 250, false, true, false},    {2, 520, 144, 64, true, false, false},  // 9 blocks: 8, then 1
      {1, 64, 112, 19, false, true, true},                                           // 7 blocks: 4, 2, 1
      {64, 256, 10, 140, false, true, true}, {3, 1152, 256, 0, true, true, true},    // fc2 at 64 rows, fc1 at 3
  };
  for (const Case& c : cases) {
    const std::string where = fmt::format("case rows {} in {} out {} zp {} relu {} bias {} per_channel {}", c.rows,
                                          c.in, c.out, c.input_zp, c.relu, c.bias, c.per_channel);
    const auto x = at::_make_per_tensor_quantized_tensor(
        torch::randint(0, 256, {c.rows, c.in}, torch::kInt).to(torch::kUInt8), 0.0213, c.input_zp);
    const auto w = torch::randn({c.out, c.in}) * 0.05;
    const auto qw = c.per_channel
                        ? at::quantize_per_channel(w, (w.abs().amax(1) / WeightLevels()).to(torch::kDouble),
                                                   torch::zeros({c.out}, torch::kLong), 0, torch::kQInt8)
                        : at::quantize_per_tensor(w, w.abs().max().item<double>() / WeightLevels(), 0, torch::kQInt8);
    const auto bias = c.bias ? torch::randn({c.out}) * 0.3 : torch::Tensor();
    auto y = torch::linear(x.dequantize(), qw.dequantize(), bias);
    if (c.relu) y = torch::relu(y);
    const QParams q = Covering(y);
    Step linear{.kind = StepKind::kLinear, .inputs = {0}, .output = 1, .out = q, .relu = c.relu};
    linear.qweight = qw;
    linear.bias = bias;
    ASSERT_TRUE(SmallLinearFits(linear)) << where;
    PackWeights(linear);
    std::vector<torch::Tensor> values{x, torch::Tensor()};
    RunStep(linear, values);
    const auto weights = PrepareSmallLinear(qw, bias);
    ASSERT_TRUE(SmallLinearTakes(x, weights.in_features, c.out)) << where;
    const auto got = SmallLinear(x, weights, c.relu, q.scale, q.zero_point);
    ASSERT_EQ(got.sizes(), values[1].sizes()) << where;
    EXPECT_DOUBLE_EQ(got.q_scale(), q.scale);
    EXPECT_EQ(got.q_zero_point(), q.zero_point);
    const auto diff = (got.int_repr().to(torch::kInt32) - values[1].int_repr().to(torch::kInt32)).abs();
    EXPECT_EQ(diff.gt(0).sum().item<int64_t>(), 0) << where << ": max diff " << diff.max().item<int>();
    // Called again with other qparams, the layer's constants follow them.
    const auto again = SmallLinear(x, weights, c.relu, q.scale * 2, q.zero_point);
    std::vector<torch::Tensor> twice{x, torch::Tensor()};
    Step coarser = linear;
    coarser.out.scale = q.scale * 2;
    RunStep(coarser, twice);
    EXPECT_TRUE(torch::equal(again.int_repr(), twice[1].int_repr())) << where;
  }
}

TEST(SmallLinear, TakesOnlySmallContiguousQuint8MatricesOfSymmetricWeights) {
  const auto qw = at::quantize_per_tensor(torch::randn({10, 12}), 0.01, 0, torch::kQInt8);
  Step linear{.kind = StepKind::kLinear};
  linear.qweight = qw;
  EXPECT_TRUE(SmallLinearFits(linear));
  linear.qweight = at::quantize_per_tensor(torch::randn({10, 12}), 0.01, 3, torch::kQInt8);
  EXPECT_FALSE(SmallLinearFits(linear));  // asymmetric weights
  Step conv{.kind = StepKind::kConv};
  conv.qweight = at::quantize_per_tensor(torch::randn({10, 12, 1, 1}), 0.01, 0, torch::kQInt8);
  EXPECT_FALSE(SmallLinearFits(conv));

  // Without VNNI, only weights that no vpmaddubsw pair can saturate: 64 is
  // the limit (2 x 255 x 64 = 32640), 65 is past it.
  Step heavy{.kind = StepKind::kLinear}, light{.kind = StepKind::kLinear};
  heavy.qweight = at::quantize_per_tensor(torch::full({4, 8}, 0.65), 0.01, 0, torch::kQInt8);
  light.qweight = at::quantize_per_tensor(torch::full({4, 8}, -0.64), 0.01, 0, torch::kQInt8);
  EXPECT_FALSE(FitsU8S8Pairs(heavy.qweight));
  EXPECT_TRUE(FitsU8S8Pairs(light.qweight));
  EXPECT_EQ(SmallLinearRunsOnThisCpu(heavy), HasAvx512Vnni());
  EXPECT_EQ(SmallLinearRunsOnThisCpu(light), HasAvx512Vnni() || HasAvx2());

  const int64_t in = qw.size(1), out = qw.size(0);
  const int64_t most_rows = std::min(kSmallLinearMaxRows, kSmallLinearMultiplyAdds / (in * out));
  const auto rows = [](int64_t n, int64_t k) { return RandomQuint8({n, k}, 0.1, 128); };
  EXPECT_TRUE(SmallLinearTakes(rows(1, 12), in, out));
  EXPECT_TRUE(SmallLinearTakes(rows(most_rows, 12), in, out));
  EXPECT_FALSE(SmallLinearTakes(rows(most_rows + 1, 12), in, out));           // oneDNN's batch
  EXPECT_TRUE(SmallLinearTakes(rows(3, 1152), 1152, 256));                    // compact_cnn's fc1: 3 rows,
  EXPECT_FALSE(SmallLinearTakes(rows(4, 1152), 1152, 256));                   // not 4;
  EXPECT_TRUE(SmallLinearTakes(rows(64, 256), 256, 10));                      // its fc2: a batch of 64,
  EXPECT_FALSE(SmallLinearTakes(rows(65, 256), 256, 10));                     // not 65
  EXPECT_FALSE(SmallLinearTakes(rows(1, 11), in, out));                       // wrong width
  EXPECT_FALSE(SmallLinearTakes(rows(4, 12).t().contiguous().t(), in, out));  // not contiguous
  EXPECT_FALSE(SmallLinearTakes(RandomQuint8({1, 3, 4}, 0.1, 128), in, out));
  EXPECT_FALSE(SmallLinearTakes(torch::randn({1, 12}), in, out));
}

TEST(Im2col3x3, TapsEqualTheReferenceLoops) {
  if (!FastIm2colSupported()) GTEST_SKIP() << "this CPU has no AVX-512 VBMI";
  torch::manual_seed(11);
  // Widths around the 7-pixel chunks and past one 16-byte row load; zero
  // points at both ends of the range.
  for (int64_t width : {3, 4, 7, 8, 9, 15, 16, 17, 28, 64, 71}) {
    for (int64_t pad : {0, 1}) {
      for (int64_t zp : {0, 77, 255}) {
        const auto x = at::_make_per_tensor_quantized_tensor(
            torch::randint(0, 256, {2, 1, 5, width}, torch::kInt).to(torch::kUInt8), 0.1, zp);
        const auto got = Im2col3x3(x, pad), expected = Im2col3x3Reference(x, pad);
        ASSERT_EQ(got.sizes(), (std::vector<int64_t>{2, 9, 5 + 2 * pad - 2, width + 2 * pad - 2}));
        EXPECT_TRUE(got.is_contiguous(c10::MemoryFormat::ChannelsLast));
        EXPECT_EQ(got.q_zero_point(), zp);
        EXPECT_DOUBLE_EQ(got.q_scale(), 0.1);
        EXPECT_TRUE(torch::equal(got.int_repr(), expected.int_repr())) << "width " << width << " pad " << pad << " zp " << zp;
      }
    }
  }
  // A tap of the reference is the pixel it names, or the zero point outside.
  const auto x = at::_make_per_tensor_quantized_tensor(torch::arange(1, 13, torch::kInt).to(torch::kUInt8).view({1, 1, 3, 4}), 1.0, 200);
  const auto taps = Im2col3x3Reference(x, 1).int_repr();  // 1 x 9 x 3 x 4
  EXPECT_EQ(taps[0][4][1][2].item<int>(), 7);    // centre tap of pixel (1, 2)
  EXPECT_EQ(taps[0][0][0][0].item<int>(), 200);  // above-left of the corner
  EXPECT_EQ(taps[0][8][0][0].item<int>(), 6);    // below-right of the corner
}

TEST_P(Int8Step, LinearAndLinearReluMatchReference) {
  for (bool relu : {false, true}) {
    const auto x = RandomQuint8({5, 32}, 0.05, 128);
    const auto w = torch::randn({12, 32}) * 0.2;
    const auto scales = (w.abs().amax(1) / WeightLevels()).to(torch::kDouble);
    const auto qw = at::quantize_per_channel(w, scales, torch::zeros({12}, torch::kLong), 0, torch::kQInt8);
    const auto bias = torch::randn({12}) * 0.1;
    auto y = torch::linear(x.dequantize(), qw.dequantize(), bias);
    if (relu) y = torch::relu(y);
    const QParams q = Covering(y);
    Step s{.kind = StepKind::kLinear, .inputs = {0}, .output = 1, .out = q, .relu = relu};
    s.qweight = qw;
    s.bias = bias;
    PackWeights(s);
    std::vector<torch::Tensor> values{x, torch::Tensor()};
    RunStep(s, values);
    EXPECT_LE(MaxStepDiff(values[1], Requantize(y, q)), 1) << "relu " << relu;
  }
}

// onednn's packs keep a ready primitive for the first input shape and thread
// count only, so each gets packs of its own (up to kMaxShapes): the answer for
// a shape must not depend on which shapes ran before, nor on the cap.
TEST_P(Int8Step, ConvAndLinearAnswersDoNotDependOnShapesRunBefore) {
  const auto w = torch::randn({16, 4, 3, 3}) * 0.2;
  Step conv{.kind = StepKind::kConv, .name = "conv", .inputs = {0}, .output = 1, .out = {0.05, 60}, .relu = true};
  conv.padding = {1, 1};
  conv.qweight = at::quantize_per_channel(w, (w.abs().flatten(1).amax(1) / WeightLevels()).to(torch::kDouble),
                                          torch::zeros({16}, torch::kLong), 0, torch::kQInt8);
  conv.bias = torch::randn({16}) * 0.1;
  Step linear{.kind = StepKind::kLinear, .name = "linear", .inputs = {0}, .output = 1, .out = {0.05, 60}};
  linear.qweight = at::quantize_per_tensor(torch::randn({8, 20}) * 0.2, 0.004, 0, torch::kQInt8);
  PackWeights(conv);
  PackWeights(linear);
  auto run = [](const Step& s, const torch::Tensor& x) {
    std::vector<torch::Tensor> values{x, torch::Tensor()};
    RunStep(s, values);
    return values[1];
  };
  {
    // One shape on one thread and on two: packs of its own for each.
    const int threads = omp_get_max_threads();
    omp_set_num_threads(2);
    const auto x = RandomQuint8({1, 4, 6, 6}, 0.03, 120);
    const auto on_two = run(conv, x);
    torch::Tensor on_one;
    {
      const OneIntraOpThread one(true);
      on_one = run(conv, x);
    }
    EXPECT_TRUE(torch::equal(on_one.int_repr(), on_two.int_repr()));
    EXPECT_EQ(PackedShapeCount(conv), GetParam() == "onednn" ? 2u : 0u);
    omp_set_num_threads(threads);
  }
  const std::vector<int64_t> batches{1, 4, 1, 2, 3, 5, 6, 7, 8, 9, 4, 10, 11, 12, 13};  // two past the cap
  for (int64_t n : batches) {
    for (Step* s : {&conv, &linear}) {
      const auto x = s == &conv ? RandomQuint8({n, 4, 6, 6}, 0.03, 120) : RandomQuint8({n, 20}, 0.05, 128);
      Step fresh = *s;
      PackWeights(fresh);  // new packs that have seen no other shape
      EXPECT_TRUE(torch::equal(run(*s, x).int_repr(), run(fresh, x).int_repr())) << s->name << " batch " << n;
    }
  }
  const size_t expected = GetParam() == "onednn" ? PacksByShape::kMaxShapes : 0;
  EXPECT_EQ(PackedShapeCount(conv), expected);
  EXPECT_EQ(PackedShapeCount(linear), expected);
}

TEST_P(Int8Step, AddAndAddReluMatchReference) {
  for (bool relu : {false, true}) {
    const auto a = RandomQuint8({2, 4, 5, 5}, 0.02, 100), b = RandomQuint8({2, 4, 5, 5}, 0.04, 140);
    auto y = a.dequantize() + b.dequantize();
    if (relu) y = torch::relu(y);
    const QParams q = Covering(y);
    Step s{.kind = StepKind::kAdd, .inputs = {0, 1}, .output = 2, .out = q, .relu = relu};
    std::vector<torch::Tensor> values{a, b, torch::Tensor()};
    RunStep(s, values);
    EXPECT_LE(MaxStepDiff(values[2], Requantize(y, q)), 1);
  }
}

TEST_P(Int8Step, ConcatMatchesReference) {
  const auto a = RandomQuint8({2, 3, 4, 4}, 0.02, 100), b = RandomQuint8({2, 5, 4, 4}, 0.05, 30);
  const auto y = torch::cat({a.dequantize(), b.dequantize()}, 1);
  const QParams q = Covering(y);
  Step s{.kind = StepKind::kConcat, .inputs = {0, 1}, .output = 2, .out = q};
  std::vector<torch::Tensor> values{a, b, torch::Tensor()};
  RunStep(s, values);
  EXPECT_LE(MaxStepDiff(values[2], Requantize(y, q)), 1);
}

TEST_P(Int8Step, BatchNormMatchesReference) {
  for (bool relu : {false, true}) {
    const auto x = RandomQuint8({2, 6, 5, 5}, 0.03, 110);
    Step s{.kind = StepKind::kBatchNorm, .inputs = {0}, .output = 1, .relu = relu};
    s.weight = torch::rand({6}) + 0.5;
    s.bias = torch::randn({6}) * 0.1;
    s.bn_mean = torch::randn({6}) * 0.1;
    s.bn_var = torch::rand({6}) + 0.5;
    s.eps = 1e-5;
    auto y = torch::batch_norm(x.dequantize(), s.weight, s.bias, s.bn_mean, s.bn_var, false, 0.0, s.eps, false);
    if (relu) y = torch::relu(y);
    s.out = Covering(y);
    std::vector<torch::Tensor> values{x, torch::Tensor()};
    RunStep(s, values);
    EXPECT_LE(MaxStepDiff(values[1], Requantize(y, s.out)), 1);
  }
}

TEST_P(Int8Step, PoolingKeepsInputScaleAndMatchesReference) {
  const auto x = RandomQuint8({2, 4, 8, 8}, 0.03, 90);
  const QParams in{x.q_scale(), x.q_zero_point()};
  struct Case {
    StepKind kind;
    torch::Tensor expected;
  };
  const auto xf = x.dequantize();
  const Case cases[] = {
      {StepKind::kMaxPool, torch::max_pool2d(xf, {2, 2}, {2, 2})},
      {StepKind::kAvgPool, torch::avg_pool2d(xf, {3, 3}, {1, 1}, {1, 1})},
      {StepKind::kAdaptiveAvgPool, torch::adaptive_avg_pool2d(xf, {1, 1})},
  };
  for (const auto& c : cases) {
    Step s{.kind = c.kind, .inputs = {0}, .output = 1};
    s.kernel = c.kind == StepKind::kMaxPool ? std::array<int64_t, 2>{2, 2} : std::array<int64_t, 2>{3, 3};
    s.stride = c.kind == StepKind::kMaxPool ? std::array<int64_t, 2>{2, 2} : std::array<int64_t, 2>{1, 1};
    s.padding = c.kind == StepKind::kMaxPool ? std::array<int64_t, 2>{0, 0} : std::array<int64_t, 2>{1, 1};
    std::vector<torch::Tensor> values{x, torch::Tensor()};
    RunStep(s, values);
    EXPECT_LE(MaxStepDiff(values[1], Requantize(c.expected, in)), 1) << StepKindName(c.kind);
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, Int8Step, ::testing::ValuesIn(SupportedEngines()));

TEST(Engine, UnknownEngineListsTheSupportedOnes) {
  const auto r = UseEngine("fbgemm-turbo");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("quantization engine 'fbgemm-turbo' is not in this LibTorch build; supported: "),
            std::string::npos);
  EXPECT_FALSE(SupportedEngines().empty());
}

}  // namespace
}  // namespace qg::quant::internal
