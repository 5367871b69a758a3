// The weight, bias and FP32 output of one conv or linear node, for the
// algorithms that work layer by layer (bias correction, CLE, AdaRound), and
// the FP32 form of the ReLU fused into a block or step.
#pragma once

#include <torch/torch.h>

#include <cmath>

#include "core/models/graph_module.h"

namespace qg::quant::internal {

// The node's live parameters (edits go into the model); an undefined bias
// when the layer has none.
inline torch::Tensor LayerWeight(const models::GraphModule& m, int node) {
  if (auto c = m->conv(node)) return c->weight;
  return m->linear(node)->weight;
}
inline torch::Tensor LayerBias(const models::GraphModule& m, int node) {
  if (auto c = m->conv(node)) return c->bias;
  return m->linear(node)->bias;
}

// The node's output for input `x` with weight `w` and bias `b` (may be undefined).
inline torch::Tensor LayerOutput(const models::Node& n, const torch::Tensor& x, const torch::Tensor& w,
                                 const torch::Tensor& b) {
  if (n.op == models::Op::kConv2d) {
    return torch::conv2d(x, w, b, {n.stride[0], n.stride[1]}, {n.padding[0], n.padding[1]},
                         {n.dilation[0], n.dilation[1]}, n.groups);
  }
  return torch::linear(x, w, b);
}

// A fused ReLU on FP32 values: a clamp at `relu_max` where that is finite (a
// fused ReLU6, quant_plan.h's Block::relu_max).
inline torch::Tensor FusedRelu(const torch::Tensor& y, double relu_max) {
  return std::isfinite(relu_max) ? torch::clamp(y, 0.0, relu_max) : torch::relu(y);
}

}  // namespace qg::quant::internal
