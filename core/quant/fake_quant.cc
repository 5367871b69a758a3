#include "core/quant/fake_quant.h"

#include <torch/torch.h>

namespace qg::quant {

FakeQuantHooks::FakeQuantHooks(const QuantPlan& plan, const QuantSpec& activation_spec, const ConvertOptions& weights)
    : activation_spec_(activation_spec), weights_(weights) {
  for (int point : plan.quant_points) {
    observers_[point] = std::move(*MakeObserver({.kind = "moving_average"}));
  }
  for (const auto& b : plan.blocks) {
    if (b.IsWeightLayer() && !weights.fp32_layers.count(b.name)) weight_nodes_.insert(b.main);
  }
}

torch::Tensor FakeQuantHooks::AfterNode(int node, const models::Node& n, torch::Tensor out) {
  const auto it = observers_.find(node);
  if (it == observers_.end()) return out;
  if (observing_ || it->second->empty()) it->second->Observe(out);
  const QParams q = it->second->Compute(activation_spec_);
  return torch::fake_quantize_per_tensor_affine(out, q.scale, q.zero_point, activation_spec_.QuantMin(),
                                                activation_spec_.QuantMax());
}

torch::Tensor FakeQuantHooks::Weight(int node, const models::Node& n, torch::Tensor weight) {
  if (!weight_nodes_.count(node)) return weight;
  const auto& spec = weights_.weight_spec;
  const auto flat = weight.detach().reshape({weight.size(0), -1});
  const auto lo = std::get<0>(flat.min(1)).clamp_max(0), hi = std::get<0>(flat.max(1)).clamp_min(0);
  const double levels = static_cast<double>(spec.QuantMax() - spec.QuantMin());
  torch::Tensor scale, zero;
  if (spec.scheme == QScheme::kSymmetric) {
    scale = torch::clamp_min(torch::maximum(-lo, hi) / (levels / 2), 1e-8);
    zero = torch::zeros({weight.size(0)}, torch::kInt32);
  } else {
    scale = torch::clamp_min((hi - lo) / levels, 1e-8);
    zero = torch::clamp(spec.QuantMin() - torch::round(lo / scale), spec.QuantMin(), spec.QuantMax()).to(torch::kInt32);
  }
  if (!weights_.per_channel) {
    scale = scale.max().expand({weight.size(0)}).contiguous();
    zero = torch::zeros({weight.size(0)}, torch::kInt32);
  }
  return torch::fake_quantize_per_channel_affine(weight, scale.to(torch::kFloat32), zero, 0, spec.QuantMin(),
                                                 spec.QuantMax());
}

ActivationQParams FakeQuantHooks::Compute() const {
  ActivationQParams q;
  for (const auto& [node, obs] : observers_) {
    if (!obs->empty()) q[node] = obs->Compute(activation_spec_);
  }
  return q;
}

}  // namespace qg::quant
