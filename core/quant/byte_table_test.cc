// Elementwise INT8 steps run as byte tables (internal/byte_table.h): the bytes
// LibTorch's own kernels write, on channels-last and contiguous tensors with
// ragged tails, alone and as SiLU (a sigmoid and the multiply by its input),
// and inside a QuantizedModel's Predict beside its step-by-step pass.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/quant/internal/byte_table.h"
#include "core/quant/internal/qstep.h"
#include "core/quant/quantized_model.h"

namespace qg::quant::internal {
namespace {

Step Activation(models::Op op, int in, int out, QParams q = {}) {
  Step s{.kind = StepKind::kActivation, .name = std::string(models::OpName(op)), .inputs = {in}, .output = out,
         .out = q};
  s.fn.op = op;
  s.fn.alpha = 0.1;
  return s;
}

Step Mul(int a, int b, int out, QParams q) {
  return Step{.kind = StepKind::kMul, .name = "mul", .inputs = {a, b}, .output = out, .out = q};
}

void ExpectSameBytes(const torch::Tensor& got, const torch::Tensor& expected) {
  ASSERT_TRUE(got.is_quantized());
  EXPECT_EQ(got.q_scale(), expected.q_scale());
  EXPECT_EQ(got.q_zero_point(), expected.q_zero_point());
  EXPECT_EQ(got.sizes(), expected.sizes());
  EXPECT_TRUE(torch::equal(got.int_repr().contiguous(), expected.int_repr().contiguous()));
}

// 3 x 37 x 5 x 7 = 3885 bytes: 60 full vectors of 64 and a tail of 45.
torch::Tensor Input(torch::MemoryFormat format) {
  torch::manual_seed(3);
  return at::quantize_per_tensor((torch::randn({3, 37, 5, 7}) * 3).contiguous(format), 0.047, 131, torch::kQUInt8);
}

TEST(ByteTable, EveryBytewiseStepWritesLibTorchsBytes) {
  for (auto format : {torch::MemoryFormat::ChannelsLast, torch::MemoryFormat::Contiguous}) {
    const auto x = Input(format);
    for (auto op : {models::Op::kSigmoid, models::Op::kHardSigmoid, models::Op::kHardSwish, models::Op::kLeakyReLU,
                    models::Op::kGELU}) {
      const Step s = Activation(op, 0, 1, QParams{0.031, 7});
      ASSERT_TRUE(IsBytewiseStep(s));
      std::vector<torch::Tensor> values{x, {}};
      RunStep(s, values);
      const ByteTable table = MakeByteTable({&s}, x.q_scale(), x.q_zero_point());
      ASSERT_TRUE(ByteTableFits(table, x));
      const auto looked_up = LookUpBytes(x, table);
      SCOPED_TRACE(std::string(models::OpName(op)));
      ExpectSameBytes(looked_up, values[1]);
      EXPECT_EQ(looked_up.suggest_memory_format(), format);
    }
  }
}

// SiLU, x * sigmoid(x), and hard swish as opset 13 exports it, x * hard sigmoid(x).
TEST(ByteTable, AnActivationAndTheMultiplyByItsInputAreOneTable) {
  const auto x = Input(torch::MemoryFormat::ChannelsLast);
  for (auto op : {models::Op::kSigmoid, models::Op::kHardSigmoid}) {
    const Step gate = Activation(op, 0, 1);
    const Step mul = Mul(0, 1, 2, QParams{0.029, 11});
    std::vector<torch::Tensor> values{x, {}, {}};
    RunStep(gate, values);
    RunStep(mul, values);
    const ByteTable table = MakeByteTable({&gate, &mul}, x.q_scale(), x.q_zero_point());
    SCOPED_TRACE(std::string(models::OpName(op)));
    ExpectSameBytes(LookUpBytes(x, table), values[2]);
  }
}

TEST(ByteTable, OtherStepsAndOtherInputsAreRefused) {
  Step slice = Activation(models::Op::kSlice, 0, 1);
  EXPECT_FALSE(IsBytewiseStep(slice));
  EXPECT_FALSE(IsBytewiseStep(Mul(0, 1, 2, {})));
  const auto x = Input(torch::MemoryFormat::ChannelsLast);
  const Step s = Activation(models::Op::kSigmoid, 0, 1);
  const ByteTable table = MakeByteTable({&s}, x.q_scale(), x.q_zero_point());
  EXPECT_FALSE(ByteTableFits(table, x.dequantize()));
  EXPECT_FALSE(ByteTableFits(table, at::quantize_per_tensor(x.dequantize(), 0.05, 131, torch::kQUInt8)));
  EXPECT_FALSE(ByteTableTakes(at::quantize_per_tensor(x.dequantize(), 0.05, 0, torch::kQInt8)));
}

// input -> quantize -> SiLU (sigmoid, multiply) -> hard swish; and a sigmoid
// read by something else than its input's multiply stays a table of its own.
TEST(ByteTable, PredictRunsTablesAndAgreesWithTheStepByStepPass) {
  std::vector<Step> steps;
  steps.push_back(Step{.kind = StepKind::kQuantizeInput, .name = "input", .inputs = {0}, .output = 0,
                       .out = QParams{0.05, 128}});
  steps.push_back(Activation(models::Op::kSigmoid, 0, 1));
  steps.back().name = "silu_sigmoid";
  steps.push_back(Mul(0, 1, 2, QParams{0.03, 10}));
  steps.back().name = "silu_mul";
  steps.push_back(Activation(models::Op::kHardSwish, 2, 3, QParams{0.02, 20}));
  steps.push_back(Activation(models::Op::kSigmoid, 3, 4));
  steps.back().name = "gate";
  steps.push_back(Mul(2, 4, 5, QParams{0.02, 5}));  // reads the gate, but not the gate's input
  steps.back().name = "gated";
  QuantizedModel model(steps, 6, 5, "onednn", {});
  EXPECT_EQ(model.ByteTableSteps(), (std::vector<std::string>{"silu_mul", "hard_swish", "gate"}));

  torch::manual_seed(5);
  const auto images = torch::randn({2, 16, 6, 6}).contiguous(torch::MemoryFormat::ChannelsLast);
  const auto step_by_step = model.RunKeepingValues(images)[5].dequantize();
  EXPECT_TRUE(torch::equal(model.Predict(images), step_by_step));
  EXPECT_TRUE(torch::equal(model.Predict(images), step_by_step));  // tables written once, reused

  const auto layers = model.PredictTimingLayers(images);
  std::vector<std::string> names, kinds;
  for (const auto& l : layers) {
    names.push_back(l.layer);
    kinds.push_back(l.kind);
    EXPECT_GE(l.ms, 0);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"input", "silu_mul", "hard_swish", "gate", "gated"}));
  EXPECT_EQ(kinds, (std::vector<std::string>{"quantize_input", "activation+mul (table)", "activation (table)",
                                             "activation (table)", "mul"}));
}

// A float input (a layer kept in FP32 before the step) has no bytes to look
// up: the step runs as LibTorch's kernel.
TEST(ByteTable, AFloatInputRunsTheStepsThemselves) {
  std::vector<Step> steps{Activation(models::Op::kSigmoid, 0, 1)};
  QuantizedModel model(steps, 2, 1, "onednn", {});
  const auto images = torch::randn({1, 3, 4, 4});
  EXPECT_TRUE(torch::allclose(model.Predict(images), torch::sigmoid(images)));
}

}  // namespace
}  // namespace qg::quant::internal
