#include "core/metrics/output_diff.h"

#include <torch/torch.h>

#include <algorithm>

namespace qg::metrics {

OutputDiff CompareOutputs(const torch::Tensor& reference, const torch::Tensor& other) {
  const auto a = reference.to(torch::kFloat64), b = other.to(torch::kFloat64);
  const auto d = (a - b).abs();
  OutputDiff r;
  r.count = a.size(0);
  r.max_abs = d.max().item<double>();
  r.mean_abs = d.mean().item<double>();
  r.relative_mse = (d * d).mean().item<double>() / std::max(a.pow(2).mean().item<double>(), 1e-30);
  r.top1_agreement = 100.0 * a.argmax(1).eq(b.argmax(1)).to(torch::kFloat64).mean().item<double>();
  return r;
}

nlohmann::json OutputDiff::ToJson() const {
  return {{"count", count}, {"max_abs", max_abs}, {"mean_abs", mean_abs}, {"relative_mse", relative_mse},
          {"top1_agreement", top1_agreement}};
}

}  // namespace qg::metrics
