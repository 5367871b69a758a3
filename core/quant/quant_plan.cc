#include "core/quant/quant_plan.h"

#include <cmath>

namespace qg::quant {

using models::Op;

bool Block::Requantizes() const {
  switch (kind) {
    case BlockKind::kConv:
    case BlockKind::kLinear:
    case BlockKind::kBatchNorm:
    case BlockKind::kAdd:
    case BlockKind::kMul:
    case BlockKind::kConcat:
    case BlockKind::kLayerNorm:
      return true;
    case BlockKind::kActivation:
      // HardSwish takes its output scale; an FP32 fallback quantizes its output
      // (hard sigmoids that are not LibTorch's: see NeedsFp32Fallback).
      return op == Op::kHardSwish || op == Op::kHardSigmoid;
    default:
      return false;
  }
}

bool Block::NeedsFp32Fallback(const models::Node& node) const {
  return kind == BlockKind::kActivation && node.op == Op::kHardSigmoid &&
         (std::abs(node.alpha - 1.0 / 6.0) > 1e-6 || std::abs(node.beta - 0.5) > 1e-6);
}

std::string_view BlockKindName(BlockKind kind) {
  switch (kind) {
    case BlockKind::kConv: return "conv2d";
    case BlockKind::kLinear: return "linear";
    case BlockKind::kBatchNorm: return "batch_norm2d";
    case BlockKind::kAdd: return "add";
    case BlockKind::kConcat: return "concat";
    case BlockKind::kMaxPool: return "max_pool2d";
    case BlockKind::kAvgPool: return "avg_pool2d";
    case BlockKind::kAdaptiveAvgPool: return "adaptive_avg_pool2d";
    case BlockKind::kFlatten: return "flatten";
    case BlockKind::kReLU: return "relu";
    case BlockKind::kIdentity: return "identity";
    case BlockKind::kMul: return "mul";
    case BlockKind::kActivation: return "activation";
    case BlockKind::kLayerNorm: return "layer_norm";
  }
  return "?";
}

std::vector<std::string> QuantPlan::WeightLayers() const {
  std::vector<std::string> names;
  for (const auto& b : blocks) {
    if (b.IsWeightLayer()) names.push_back(b.name);
  }
  return names;
}

const Block* QuantPlan::FindBlock(const std::string& name) const {
  for (const auto& b : blocks) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

Result<QuantPlan> PlanQuantization(const models::Graph& g) {
  QG_RETURN_IF_ERROR(g.Validate());
  const auto consumers = g.Consumers();
  std::vector<char> needed(g.nodes.size(), 0);
  needed[g.outputs[0]] = 1;
  for (int i = static_cast<int>(g.nodes.size()) - 1; i >= 0; --i) {
    if (needed[i]) {
      for (int in : g.nodes[i].inputs) needed[in] = 1;
    }
  }
  QuantPlan plan;
  plan.prediction = g.outputs[0];
  plan.quant_points.push_back(0);
  std::vector<char> fused(g.nodes.size(), 0);
  for (size_t i = 1; i < g.nodes.size(); ++i) {
    if (!needed[i] || fused[i]) continue;
    const models::Node& n = g.nodes[i];
    Block b{.op = n.op, .name = n.name, .main = static_cast<int>(i), .output = static_cast<int>(i), .inputs = n.inputs};
    switch (n.op) {
      case Op::kConv2d: b.kind = BlockKind::kConv; break;
      case Op::kLinear: b.kind = BlockKind::kLinear; break;
      case Op::kBatchNorm2d: b.kind = BlockKind::kBatchNorm; break;
      case Op::kAdd: b.kind = BlockKind::kAdd; break;
      case Op::kConcat: b.kind = BlockKind::kConcat; break;
      case Op::kMaxPool2d: b.kind = BlockKind::kMaxPool; break;
      case Op::kAvgPool2d: b.kind = BlockKind::kAvgPool; break;
      case Op::kAdaptiveAvgPool2d: b.kind = BlockKind::kAdaptiveAvgPool; break;
      case Op::kFlatten: b.kind = BlockKind::kFlatten; break;
      case Op::kReLU: b.kind = BlockKind::kReLU; break;
      case Op::kDropout: b.kind = BlockKind::kIdentity; break;
      case Op::kMul: b.kind = BlockKind::kMul; break;
      case Op::kLayerNorm: b.kind = BlockKind::kLayerNorm; break;
      case Op::kClamp:
      case Op::kLeakyReLU:
      case Op::kSigmoid:
      case Op::kHardSigmoid:
      case Op::kHardSwish:
      case Op::kGELU:
      case Op::kChannelShuffle:
      case Op::kSlice: b.kind = BlockKind::kActivation; break;
      case Op::kInput:
        return Error::InvalidArgument("graph node '{}': a second input cannot be quantized", n.name);
    }
    // Fuse a following ReLU, or a clamp at 0 and above (ReLU6), that is the
    // only reader (not a graph output itself). The clamp's output is then the
    // quantization point: its observed range ends at the clamp's bound, so
    // the kernel's ReLU and saturation together are the clamp, and ONNX
    // Runtime fuses it into the conv instead of running it in float.
    const bool fusable = b.kind == BlockKind::kConv || b.kind == BlockKind::kLinear ||
                         b.kind == BlockKind::kBatchNorm || b.kind == BlockKind::kAdd;
    const bool is_prediction = static_cast<int>(i) == plan.prediction;
    if (fusable && !is_prediction && consumers[i].size() == 1) {
      const models::Node& next = g.nodes[consumers[i][0]];
      const bool relu6 = next.op == Op::kClamp && next.clamp_min == 0.0 && next.clamp_max > 0.0;
      if (next.op == Op::kReLU || relu6) {
        b.relu = true;
        if (relu6) b.relu_max = next.clamp_max;
        b.output = consumers[i][0];
        fused[b.output] = 1;
      }
    }
    if (b.Requantizes()) plan.quant_points.push_back(b.output);
    plan.blocks.push_back(std::move(b));
  }
  return plan;
}

}  // namespace qg::quant
