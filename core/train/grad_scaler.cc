#include "core/train/grad_scaler.h"

namespace qg::train {

bool GradScaler::Unscale(const std::vector<torch::Tensor>& params) {
  torch::NoGradGuard no_grad;
  torch::Tensor bad;  // on the gradients' device: one host sync per step, not one per tensor
  for (const auto& p : params) {
    const auto& g = p.grad();
    if (!g.defined()) continue;
    g.mul_(1.0 / scale_);
    auto here = torch::logical_not(torch::isfinite(g)).any();
    bad = bad.defined() ? torch::logical_or(bad, here) : here;
  }
  last_finite_ = !bad.defined() || !bad.item<bool>();
  return last_finite_;
}

void GradScaler::Update() {
  if (!last_finite_) {
    scale_ *= options_.backoff_factor;
    clean_steps_ = 0;
    ++skipped_;
    return;
  }
  if (++clean_steps_ >= options_.growth_interval) {
    scale_ *= options_.growth_factor;
    clean_steps_ = 0;
  }
}

}  // namespace qg::train
