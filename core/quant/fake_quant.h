// FakeQuantHooks: quantization-aware training. During forward passes every
// quantization point's activation goes through fake_quantize_per_tensor_affine
// (scale from a moving-average min/max observer, updated while training) and
// every weight layer's weight through fake_quantize_per_channel_affine
// (symmetric, from the weight's current range). LibTorch's fake-quant ops
// carry the straight-through estimator in their backward. After fine-tuning,
// the observers' ranges become the INT8 model's activation scales.
#pragma once

#include <map>
#include <memory>
#include <set>

#include "core/models/graph_module.h"
#include "core/quant/calibration.h"
#include "core/quant/convert.h"
#include "core/quant/quant_plan.h"

namespace qg::quant {

class FakeQuantHooks final : public models::ForwardHooks {
 public:
  FakeQuantHooks(const QuantPlan& plan, const QuantSpec& activation_spec, const ConvertOptions& weights);
  // Observers update only while this is true (training); inference just applies them.
  void set_observing(bool on) { observing_ = on; }
  torch::Tensor AfterNode(int node, const models::Node& n, torch::Tensor out) override;
  torch::Tensor Weight(int node, const models::Node& n, torch::Tensor weight) override;
  ActivationQParams Compute() const;

 private:
  QuantSpec activation_spec_;
  ConvertOptions weights_;
  std::map<int, std::unique_ptr<Observer>> observers_;
  std::set<int> weight_nodes_;  // weight layers that will run in INT8
  bool observing_ = true;
};

}  // namespace qg::quant
