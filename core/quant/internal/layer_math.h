// The weight, bias and FP32 output of one conv or linear node, for the
// algorithms that work layer by layer (bias correction, CLE, AdaRound).
#pragma once

#include <torch/torch.h>

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

}  // namespace qg::quant::internal
