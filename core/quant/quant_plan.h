// QuantPlan: how a Graph maps onto INT8 operators. Graph preparation finds the
// patterns the engine runs as one kernel: Conv2d(+ReLU), Linear(+ReLU),
// BatchNorm2d(+ReLU) (when BN was not folded), residual Add(+ReLU), Mul,
// Concat, LayerNorm. Pooling, Flatten, ReLU, Clamp, LeakyReLU, GELU, ChannelShuffle and Dropout
// pass quantized tensors through with their input's scale; Sigmoid and
// LibTorch's HardSigmoid write their kernels' fixed scale (1/256). Every block
// that writes a tensor of its own scale (conv, linear, BN, add, mul, concat, layer norm,
// HardSwish, and activations that fall back to FP32) has an output
// "quantization point" that calibration observes; so does the graph input.
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/models/graph.h"

namespace qg::quant {

enum class BlockKind {
  kConv,
  kLinear,
  kBatchNorm,
  kAdd,
  kConcat,
  kMaxPool,
  kAvgPool,
  kAdaptiveAvgPool,
  kFlatten,
  kReLU,
  kIdentity,
  kMul,         // elementwise product (broadcasting): quantized::mul
  kLayerNorm,   // over channels at each position: quantized::layer_norm
  kActivation,  // Clamp, LeakyReLU, Sigmoid, HardSigmoid, HardSwish, GELU, ChannelShuffle, Slice (`op` says which)
};

struct Block {
  BlockKind kind = BlockKind::kIdentity;
  models::Op op = models::Op::kInput;  // the main node's op
  std::string name;         // the main node's name: how users name layers
  int main = -1;            // the conv / linear / add ... node
  int output = -1;          // the node whose value the block produces (main, or its fused ReLU)
  bool relu = false;        // a ReLU fused into the kernel
  // A clamp at 0 and this bound (ReLU6) fused as a ReLU: the output's
  // qparams, observed after the clamp, end at or below it, so the kernel's
  // saturation clamps there. Infinity for a plain ReLU.
  double relu_max = std::numeric_limits<double>::infinity();
  std::vector<int> inputs;  // nodes whose values the block reads

  // Writes a tensor with its own scale (a quantization point).
  bool Requantizes() const;
  // An activation LibTorch has no INT8 kernel for (e.g. a HardSigmoid other
  // than LibTorch's): it runs in FP32 between a dequantize and a quantize.
  bool NeedsFp32Fallback(const models::Node& node) const;
  // Has weights: a "layer" in the sense of MPQ and bias correction.
  bool IsWeightLayer() const { return kind == BlockKind::kConv || kind == BlockKind::kLinear; }
};

struct QuantPlan {
  std::vector<Block> blocks;       // execution order; only what the prediction needs
  std::vector<int> quant_points;   // graph input + outputs of requantizing blocks
  int prediction = -1;             // node of the model's prediction

  std::vector<std::string> WeightLayers() const;
  const Block* FindBlock(const std::string& name) const;
};

std::string_view BlockKindName(BlockKind kind);
// InvalidArgument naming the node for an op the planner does not know.
Result<QuantPlan> PlanQuantization(const models::Graph& graph);

}  // namespace qg::quant
